"""The Logs API and tab through Django's test client, reading Platform Connector rows loaded into the
BigQuery stand-in: one team's connection only, filters, paging, 400 for bad input, 404 for another team."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from integrations.connection.logs import line_text
from integrations.models import Integration
from teams.models import Team
from tests.support.bigquery_fixtures import unique_name
from tests.support.platform_rows import START, connection_syncs, load_log
from warehouse.bigquery import make_client
from warehouse.platform_logs import LogLine

pytestmark = pytest.mark.django_db(transaction=True)

SYNCS = 30  # 30 syncs of 12 or 14 lines: more than one page of 100


@pytest.fixture(scope="module")
def platform_dataset(bigquery_standin):
    client = make_client(bigquery_standin.project, endpoint=bigquery_standin.endpoint)
    dataset = unique_name("platform_api")
    rows = list(connection_syncs("olive_orchard", SYNCS)) + list(connection_syncs("other_tenant", 3))
    load_log(client, dataset, rows)
    client.close()
    return dataset, [row for row in rows if row["connection_id"] == "olive_orchard"]


@pytest.fixture
def lines(platform_dataset, bigquery_settings, settings):
    settings.FIVETRAN_PLATFORM_DATASET = platform_dataset[0]
    return sorted(platform_dataset[1], key=lambda row: (row["time_stamp"], row["id"]), reverse=True)


def member(name: str) -> tuple:
    user = get_user_model().objects.create_user(username=name, password="pw")
    team = Team.objects.create(name=f"team of {name}")
    team.members.add(user)
    client = Client()
    client.force_login(user)
    return team, client


@pytest.fixture
def alice():
    team, client = member("alice")
    integration = Integration.objects.create(team=team, service="hubspot", name="CRM", schema_name=unique_name("t"),
                                             connection_id="olive_orchard", state=Integration.State.READY)
    return integration, client


def test_the_api_pages_through_the_connections_lines(alice, lines):
    integration, client = alice
    seen, url = [], f"/api/integrations/{integration.pk}/logs"
    while url:
        answer = client.get(url).json()
        seen += answer["lines"]
        assert {sync["sync_id"] for sync in answer["syncs"]} == {line["sync_id"] for line in answer["lines"]}
        url = f"/api/integrations/{integration.pk}/logs?cursor={answer['next_cursor']}" if answer["next_cursor"] else None
    assert [line["id"] for line in seen] == [row["id"] for row in lines]
    assert len(seen) > 100
    first = client.get(f"/api/integrations/{integration.pk}/logs").json()
    # The newest sync (every fifth fails) ended with Fivetran's reason: 14 lines a second apart.
    assert first["lines"][0]["text"] == "Sync ended: failed. Source API answered 500"
    assert first["syncs"][0]["duration_seconds"] == 13 and first["syncs"][0]["status_label"] == "Failed"
    assert [line["text"] for line in first["lines"] if line["event"] == "records_modified"][:3] == [
        "3 rows written to crm.table_2", "2 rows written to crm.table_1", "1 row written to crm.table_0"]


def test_the_api_filters_by_level_sync_and_time(alice, lines):
    integration, client = alice
    base = f"/api/integrations/{integration.pk}/logs"
    severe = client.get(base, {"level": "severe"}).json()["lines"]
    assert [line["sync_id"] for line in severe] == [row["sync_id"] for row in lines if row["event"] == "SEVERE"]
    assert {line["text"] for line in severe} == {"Source API answered 500"}
    one = client.get(base, {"sync": "olive_orchard-s00004"}).json()
    assert [line["id"] for line in one["lines"]] == [row["id"] for row in lines if row["sync_id"] == "olive_orchard-s00004"]
    [sync] = one["syncs"]
    assert (sync["status"], sync["reason"]) == ("failed", "Source API answered 500")
    since = (START + timedelta(hours=SYNCS - 2)).isoformat()
    recent = client.get(base, {"since": since}).json()["lines"]
    assert {line["sync_id"] for line in recent} == {f"olive_orchard-s{SYNCS - 2:05d}", f"olive_orchard-s{SYNCS - 1:05d}"}


def test_bad_input_is_a_400_with_a_reason_and_another_team_a_404(alice, lines):
    integration, client = alice
    base = f"/api/integrations/{integration.pk}/logs"
    for query, said in (({"since": "yesterday"}, "since"), ({"level": "DEBUG"}, "level"), ({"cursor": "forged"}, "cursor")):
        response = client.get(base, query)
        assert response.status_code == 400 and said in response.json()["error"], query
    _team, bob = member("bob")
    assert bob.get(base).status_code == 404
    assert bob.get(base).json() == {"error": "Not found."}
    assert Client().get(base).status_code == 404


def test_the_tab_groups_lines_under_their_sync_and_filters_without_javascript(alice, lines):
    integration, client = alice
    page = client.get(f"/integrations/{integration.pk}/", {"tab": "logs"}).content.decode()
    assert page.count('<tr data-line="') == 100
    groups = re.findall(r'<section class="log-group" data-sync-id="([^"]*)"', page)
    assert groups == sorted(set(groups), reverse=True) and groups[0] == f"olive_orchard-s{SYNCS - 1:05d}"
    assert "Older lines" in page and "cursor=" in page

    failed = client.get(f"/integrations/{integration.pk}/", {"tab": "logs", "sync": "olive_orchard-s00004"}).content.decode()
    assert re.findall(r'data-sync-id="([^"]*)"', failed) == ["olive_orchard-s00004"]
    assert "Source API answered 500" in failed and "took 13 s" in failed
    errors = client.get(f"/integrations/{integration.pk}/", {"tab": "logs", "level": "SEVERE"}).content.decode()
    assert errors.count('data-level="SEVERE"') == errors.count('<tr data-line="') == SYNCS // 5
    bad = client.get(f"/integrations/{integration.pk}/", {"tab": "logs", "since": "soon"})
    assert bad.status_code == 200 and "since must be a date" in bad.content.decode()


@pytest.mark.parametrize("event, data, said", [
    ("sync_start", None, "Sync started"),
    ("sync_end", {"status": "RESCHEDULED", "reason": "Source API quota exhausted"}, "Sync ended: rescheduled. Source API quota exhausted"),
    ("records_modified", {"schema": "crm", "table": "deal", "count": 12345}, "12,345 rows written to crm.deal"),
    ("sync_stats", {"total_time_s": 0.5}, "Sync took 0.5 s"),
    ("change_schema_config", {"schema": "crm", "table": "deal", "enabled": False}, "Table crm.deal switched off"),
    ("forced_resync_table", {"schema": "crm", "table": "deal"}, "Re-sync of crm.deal asked for"),
    ("warning", {"type": "sync_failed", "message": "Quota nearly used"}, "Quota nearly used"),
    ("extract_summary", None, "Extract summary"),
    ("api_call", "not json", "api_call: not json"),
])
def test_each_line_is_said_in_plain_words(event, data, said):
    assert line_text(LogLine("1", datetime.now(timezone.utc), "INFO", event, data, None)) == said
