"""The history on the web: `GET /api/integrations/<id>/history` (session auth, another team's 404, bad
input 400), the connection page's History tab without JavaScript (its GET filter and "Older" link), and
the admin's support links (Fivetran's dashboard, Temporal's Web UI, the syncs and events)."""

import re
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from integrations.models import Integration
from teams.models import Team
from tests.support.flow_fixtures import new_integration
from tests.support.history_rows import EXPECTED, life, set_up, webhook

pytestmark = pytest.mark.django_db


def member(name: str) -> tuple:
    user = get_user_model().objects.create_user(username=name, password="pw")
    team = Team.objects.create(name=f"team of {name}")
    team.members.add(user)
    client = Client()
    client.force_login(user)
    return user, team, client


@pytest.fixture
def alice():
    return member("alice")


@pytest.fixture
def lived(alice) -> Integration:
    user, team, _client = alice
    integration = new_integration(team, user, "hubspot")
    set_up(integration)
    life(integration)
    Integration.objects.filter(pk=integration.pk).update(state=Integration.State.READY)
    return integration


def api(pk: int) -> str:
    return reverse("api-integration-history", args=[pk])


def test_the_api_answers_the_newest_page_then_older_ones(alice, lived):
    _user, _team, client = alice
    answer = client.get(api(lived.pk))
    assert answer.status_code == 200
    body = answer.json()
    assert [(entry["kind"], entry["title"]) for entry in body["entries"]] == EXPECTED
    assert body["older_before"] is None and body["older_url"] is None
    failed = next(entry for entry in body["entries"] if entry["title"] == "Sync failed")
    assert failed["kind_label"] == "Syncs" and failed["detail"] == "Example: access token was revoked"
    assert failed["sync"]["sync_id"] == webhook("sync_start")["sync_id"]
    assert failed["sync"]["started_at"] == "2026-05-12T09:31:45.201Z" and failed["sync"]["ended_at"] == "2026-05-14T16:42:05.118Z"
    resumed = next(entry for entry in body["entries"] if entry["title"] == "Resumed")
    assert (resumed["kind"], resumed["by"], resumed["detail"]) == ("pause", "ada", "Resumed")

    # Filtered by kind (repeated or comma-separated), paged by the cursor the answer gives.
    first = client.get(api(lived.pk), {"kind": ["health", "pause"]}).json()
    assert [entry["kind"] for entry in first["entries"]] == ["pause", "pause", "health", "health"]
    syncs = client.get(api(lived.pk), {"kind": "sync,schema"}).json()
    assert [entry["kind"] for entry in syncs["entries"]] == ["schema", "sync", "schema", "sync"]
    before = first["entries"][1]["seq"]
    older = client.get(api(lived.pk), {"kind": "health,pause", "before": before}).json()
    assert [entry["title"] for entry in older["entries"]] == ["Recovered: Healthy", "Needs reconnecting"]


def test_the_api_gives_the_older_page_s_address(alice, lived, monkeypatch):
    _user, _team, client = alice
    monkeypatch.setattr("integrations.state.history.PAGE_SIZE", 5)
    body = client.get(api(lived.pk), {"kind": "setup,sync,action,schema"}).json()
    assert len(body["entries"]) == 5
    url = urlparse(body["older_url"])
    assert url.path == api(lived.pk)
    assert parse_qs(url.query) == {"kind": ["action", "schema", "setup", "sync"], "before": [str(body["older_before"])]}
    rest = client.get(body["older_url"]).json()
    titles = [entry["title"] for entry in body["entries"] + rest["entries"]]
    assert titles == [title for kind, title in EXPECTED if kind in ("setup", "sync", "action", "schema")]


def test_another_team_s_integration_is_a_404_and_bad_input_a_400(alice, lived):
    _bob, _team, bob_client = member("bob")
    answer = bob_client.get(api(lived.pk))
    assert answer.status_code == 404 and answer.json() == {"error": "Not found."}
    assert bob_client.get(api(999_999)).status_code == 404
    assert Client().get(api(lived.pk)).status_code == 404  # not logged in: nothing to show

    _user, _team, client = alice
    for params, says in (
        ({"kind": "nope"}, "kind must be one of"),
        ({"kind": "sync,nope"}, "not nope"),
        ({"before": "x"}, "before must be a positive integer"),
        ({"before": "0"}, "before must be a positive integer"),
        ({"before": "-3"}, "before must be a positive integer"),
    ):
        answer = client.get(api(lived.pk), params)
        assert answer.status_code == 400 and says in answer.json()["error"], params
    assert client.post(api(lived.pk)).status_code == 405


def test_the_history_tab_without_javascript(alice, lived):
    _user, _team, client = alice
    page = f"/integrations/{lived.pk}/"
    html = client.get(page, {"tab": "history"}).content.decode()
    assert 'href="?tab=history"' in html and 'aria-current="page">History<' in html
    titles = [unescape(title) for title in re.findall(r'class="history-entry__title">([^<]+)<', html)]
    assert [(kind, title) for kind, title in EXPECTED] == list(zip(re.findall(r'data-kind="(\w+)"', html), titles))
    # A failed sync: Fivetran's words, and its log lines one click away.
    failed = html[html.index("Sync failed"):]
    failed = failed[: failed.index("</li>")]
    assert "Example: access token was revoked" in failed
    assert f'href="?tab=logs&amp;sync={webhook("sync_start")["sync_id"]}"' in failed
    assert "data-history-live" in html

    # The filter is a GET form; the newest page has no "Newest" link, an older one has.
    form = html[html.index('<form method="get" class="history-filter">'):]
    assert 'name="tab" value="history"' in form[: form.index("</form>")]
    syncs = client.get(page, {"tab": "history", "kind": "sync"}).content.decode()
    assert re.findall(r'data-kind="(\w+)"', syncs) == ["sync", "sync"]
    assert '<option value="sync" selected>' in syncs


def test_the_history_tab_pages_with_older_links(alice, lived, monkeypatch):
    _user, _team, client = alice
    monkeypatch.setattr("integrations.state.history.PAGE_SIZE", 4)
    page = f"/integrations/{lived.pk}/"
    seen, url = [], f"{page}?tab=history&kind=setup&kind=sync"
    while url:
        html = client.get(url).content.decode()
        seen += re.findall(r'class="history-entry__title">([^<]+)<', html)
        older = re.search(r'<a href="([^"]+)" rel="next"', html)
        url = page + unescape(older.group(1)) if older else None
        if seen and len(seen) > 4:
            assert "data-history-live" not in html and ">Newest<" in html  # an older page is not live
    assert [unescape(title) for title in seen] == [title for kind, title in EXPECTED if kind in ("setup", "sync")]
    assert client.get(page, {"tab": "history", "kind": "nope"}).status_code == 404
    assert client.get(page, {"tab": "history", "before": "x"}).status_code == 404


def test_the_admin_links_to_fivetran_temporal_and_the_syncs(lived, client, settings):
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(staff)
    Integration.objects.filter(pk=lived.pk).update(connection_id="brisk_lantern")
    settings.FIVETRAN_GROUP_ID = "larch_meadow"
    settings.TEMPORAL_UI_URL = "http://temporal-ui.example:8080"
    settings.TEMPORAL_NAMESPACE = "gyana"
    workflow = f"integration-{lived.pk}-{lived.schema_name}"

    html = client.get(reverse("admin:integrations_integration_change", args=[lived.pk])).content.decode()
    assert (
        f'href="https://fivetran.com/dashboard/connectors/hubspot/{lived.schema_name}?requiredGroup=larch_meadow"'
        in html
    )
    assert f'href="http://temporal-ui.example:8080/namespaces/gyana/workflows/{workflow}"' in html
    syncs = f'{reverse("admin:integrations_sync_changelist")}?integration__id__exact={lived.pk}'
    events = f'{reverse("admin:integrations_integrationevent_changelist")}?integration__id__exact={lived.pk}'
    assert f'href="{syncs}"' in html and f'href="{events}"' in html
    assert "Example: access token was revoked" in html  # the recent syncs, with Fivetran's reason
    listed = client.get(syncs).content.decode()
    assert webhook("sync_start")["sync_id"] in listed and "second" in listed
    assert client.get(events).status_code == 200
    changelist = client.get(reverse("admin:integrations_integration_changelist")).content.decode()
    assert "Open in Fivetran" in changelist and workflow in changelist

    # No Web UI known (a cluster without TEMPORAL_UI_URL): the workflow id alone, for the CLI.
    settings.TEMPORAL_UI_URL = ""
    html = client.get(reverse("admin:integrations_integration_change", args=[lived.pk])).content.decode()
    assert workflow in html and "/namespaces/" not in html
