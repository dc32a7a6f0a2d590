"""The set-up pages rendered by the server (Django test client): right before any JavaScript runs."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import escape

from connectors.catalogue import get_catalogue
from integrations.models import Integration, SetupStep, Table
from integrations.setup.flow import STEPS, integration_create
from teams.models import Team

pytestmark = pytest.mark.django_db

SOURCE_SCHEMA = {
    "schemas": [
        {
            "name": "crm",
            "name_in_destination": "crm",
            "enabled": True,
            "tables": [
                {"name": "contacts", "name_in_destination": "contacts", "enabled": True, "locked": False, "reason": None},
                {"name": "deals", "name_in_destination": "deals", "enabled": False, "locked": False, "reason": None},
                {"name": "audit_log", "name_in_destination": "audit_log", "enabled": True, "locked": True, "reason": "SYSTEM_TABLE"},
            ],
        },
        {
            "name": "internal",
            "name_in_destination": "internal",
            "enabled": True,
            "tables": [
                {"name": "sync_state", "name_in_destination": "sync_state", "enabled": True, "locked": True, "reason": "DELETED"},
            ],
        },
    ]
}


def member(username: str, team_name: str):
    user = get_user_model().objects.create_user(username=username, password="pw")
    team = Team.objects.create(name=team_name)
    team.members.add(user)
    return team, user


@pytest.fixture
def owner():
    return member("owner", "Owners")


@pytest.fixture
def integration(owner) -> Integration:
    team, user = owner
    return integration_create(team=team, user=user, service=get_catalogue().get("hubspot"))


def set_step(integration: Integration, name: str, **fields) -> None:
    SetupStep.objects.filter(integration=integration, name=name).update(**fields)


def step_item(html: str, name: str) -> str:
    match = re.search(rf'<li class="step[^"]*" data-step="{name}".*?</li>', html, re.S)
    assert match, f"no step {name} in the page"
    return match.group(0)


def phase_item(html: str, name: str) -> str:
    match = re.search(rf'<li class="phase[^"]*" data-phase="{name}".*?</details>', html, re.S)
    assert match, f"no phase {name} in the page"
    return match.group(0)


def test_flow_page_renders_every_step_from_the_snapshot(client, owner, integration):
    now = timezone.now()
    set_step(integration, "create_connection", state="done", attempt=1, started_at=now, finished_at=now)
    set_step(
        integration,
        "connect_card",
        state="waiting_for_user",
        attempt=1,
        started_at=now,
        message="Connect your account to continue.",
        scratch={"action": {"kind": "connect_card", "url": "http://card.example/setup?auth=x"}},
    )
    Integration.objects.filter(pk=integration.pk).update(state="waiting_for_user")
    client.force_login(owner[1])

    response = client.get(f"/integrations/{integration.pk}/flow/")

    assert response.status_code == 200
    html = response.content.decode()
    positions = [html.index(f'data-step="{spec.name}"') for spec in STEPS]
    assert positions == sorted(positions), "steps are in the declared order"
    for spec in STEPS:
        assert escape(spec.label) in step_item(html, spec.name)
    assert 'data-state="done"' in step_item(html, "create_connection")
    assert "Waiting for you" in step_item(html, "connect_card")
    # People read phases: the first is theirs to act on, with the step's action as its button.
    waiting = phase_item(html, "authorise")
    assert 'aria-current="step"' in waiting and 'data-state="waiting_for_user"' in waiting
    assert "Your turn" in waiting
    assert 'href="http://card.example/setup?auth=x"' in waiting and ">Connect your account</a>" in waiting
    assert 'aria-current' not in phase_item(html, "choose_data")
    assert 'data-state="pending"' in phase_item(html, "choose_data")
    assert 'data-state="pending"' in step_item(html, "load_schema")
    # The eight steps are details on demand; the plain phase labels come first.
    assert [label for label in re.findall(r'<h2 class="phase__label">(.*?)</h2>', html)] == [
        "Connect your account", "Choose your data", "First sync"
    ]
    assert "Waiting for you" in re.search(r'data-role="flow-state"[^>]*>(.*?)</span>', html, re.S).group(1)
    # The client resumes from the seq the page was rendered at, and starts from the same snapshot.
    assert f'data-seq="{Integration.objects.get(pk=integration.pk).last_seq}"' in html
    snapshot = json.loads(re.search(r'<script id="flow-snapshot" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert [step["name"] for step in snapshot["steps"]] == [spec.name for spec in STEPS]
    assert 'aria-live="polite"' in html
    assert "csrfmiddlewaretoken" in html


def test_failed_step_shows_fivetran_message_and_retry(client, owner, integration):
    set_step(
        integration,
        "create_connection",
        state="failed",
        attempt=2,
        started_at=timezone.now(),
        error_code="fivetran_error",
        error_message="Fivetran says: the group does not exist",
    )
    client.force_login(owner[1])

    html = client.get(f"/integrations/{integration.pk}/flow/").content.decode()

    assert "Fivetran says: the group does not exist" in step_item(html, "create_connection")
    failed = phase_item(html, "authorise")
    assert "the group does not exist" in failed and 'data-role="problem-hint" hidden' in failed
    # Retry is the one thing to do: the primary button.
    assert re.search(r'<button type="button" class="button button--primary" data-role="retry"', failed)
    assert f'data-retry-url="/api/integrations/{integration.pk}/retry/"' in html


def test_progress_and_ready_tables(client, owner, integration):
    now = timezone.now()
    for spec in STEPS:
        set_step(integration, spec.name, state="done", attempt=1, started_at=now, finished_at=now)
    set_step(integration, "historical_sync", progress_done=2, progress_total=5, progress_unit="tables", state="running", finished_at=None)
    Table.objects.create(integration=integration, project="p", dataset="t1_hubspot", name="contacts", num_rows=120)
    client.force_login(owner[1])

    html = client.get(f"/integrations/{integration.pk}/flow/").content.decode()
    running = phase_item(html, "first_sync")
    assert '<progress max="5" value="2"' in running and "2 of 5 tables" in running

    Integration.objects.filter(pk=integration.pk).update(state="ready")
    set_step(integration, "historical_sync", state="done", finished_at=now)
    html = client.get(f"/integrations/{integration.pk}/flow/").content.decode()
    tables = re.search(r'data-role="tables".*?</section>', html, re.S).group(0)
    assert "hidden" not in tables.split(">")[0]
    assert "contacts" in tables and "120" in tables
    assert f'href="/integrations/{integration.pk}/"' in tables
    assert "aria-current" not in html


def test_flow_page_requires_login(client, integration):
    response = client.get(f"/integrations/{integration.pk}/flow/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_another_teams_user_gets_404_for_the_pages(client, integration):
    _, outsider = member("outsider", "Others")
    client.force_login(outsider)
    assert client.get(f"/integrations/{integration.pk}/flow/").status_code == 404
    Integration.objects.filter(pk=integration.pk).update(source_schema=SOURCE_SCHEMA)
    assert client.get(f"/integrations/{integration.pk}/setup/").status_code == 404
    assert client.get(f"/integrations/{integration.pk + 1000}/flow/").status_code == 404


def test_setup_page_shows_required_tables_and_hides_deleted_ones(client, owner, integration):
    Integration.objects.filter(pk=integration.pk).update(source_schema=SOURCE_SCHEMA)
    client.force_login(owner[1])

    response = client.get(f"/integrations/{integration.pk}/setup/")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<input type="checkbox" name="crm" value="contacts" checked>', html)
    assert re.search(r'<input type="checkbox" name="crm" value="deals">', html)
    # The table Fivetran requires is named, ticked and cannot be unticked; a deleted one is not offered.
    assert re.search(r'<input type="checkbox" name="crm" value="audit_log" checked disabled aria-describedby="why-1-3">', html)
    assert re.search(r'id="why-1-3">Required by Fivetran</span>', html)
    assert "sync_state" not in html
    assert 'data-schema="internal"' not in html, "a schema with only deleted tables has nothing to show"
    assert "Fivetran always syncs 1 table: it is ticked and cannot be unticked." in html
    assert "Not shown: 1 table deleted at the source." in html
    # One count: what will be synced (chosen plus required), of what is offered.
    assert "2 of 3 tables will be synced" in html
    assert f'data-api-url="/api/integrations/{integration.pk}/schema/"' in html
    assert f'data-flow-url="/integrations/{integration.pk}/flow/"' in html
    assert 'type="search"' in html
    assert "<noscript>" in html


def test_setup_page_without_locked_tables_has_no_note(client, owner, integration):
    schema = {"schemas": [{**SOURCE_SCHEMA["schemas"][0], "tables": SOURCE_SCHEMA["schemas"][0]["tables"][:2]}]}
    Integration.objects.filter(pk=integration.pk).update(source_schema=schema)
    client.force_login(owner[1])
    html = client.get(f"/integrations/{integration.pk}/setup/").content.decode()
    assert "always syncs" not in html


def test_setup_page_before_the_schema_is_known_returns_to_the_flow(client, owner, integration):
    client.force_login(owner[1])
    response = client.get(f"/integrations/{integration.pk}/setup/")
    assert response.status_code == 302 and response["Location"] == f"/integrations/{integration.pk}/flow/"


def test_list_page_shows_only_the_teams_integrations(client, owner, integration):
    other_team, other_user = member("other", "Others")
    theirs = integration_create(team=other_team, user=other_user, service=get_catalogue().get("stripe"))
    Integration.objects.filter(pk=integration.pk).update(state="ready")
    client.force_login(owner[1])

    html = client.get("/integrations/").content.decode()

    # A ready integration opens its connection page, with its health; the set-up stays one click away there.
    assert f'href="/integrations/{integration.pk}/"' in html
    assert f'href="/integrations/{integration.pk}/flow/"' not in html
    assert "health-badge--not_set_up" in html and "Not set up yet" in html
    assert f'data-integration="{theirs.pk}"' not in html
    assert 'data-team-socket="/ws/integrations/"' in html
    # The toasts listen on the light notifications socket, not on a second team socket.
    assert 'data-notifications-socket="/ws/notifications/"' in html


def test_list_page_requires_login(client):
    assert client.get("/integrations/").status_code == 302


@pytest.mark.parametrize("form", ["actions/sync/", "settings/", "schema/", "tables/3/resync/"])
def test_a_logged_out_form_post_logs_in_and_comes_back_to_the_page(client, form):
    # The forms' addresses take POST only: after logging in, the visitor is sent to the page.
    answer = client.post(f"/integrations/7/{form}")
    assert answer.status_code == 302
    assert answer["Location"].endswith("?next=/integrations/7/")
