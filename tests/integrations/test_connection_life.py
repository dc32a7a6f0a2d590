"""A connection's life after its set-up, on the real stack: the set-up's workflow goes on as the
connection's (Temporal dev server, the worker in the test's loop, the Fivetran emulator landing in
the BigQuery stand-in), the JSON API's actions reach it as Updates, and the reconciliation finds
what no webhook said."""

import asyncio
import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from gyana.temporal.client import get_client
from integrations.engine.dispatch import workflow_id_of
from integrations.engine.schedules import ensure_schedule, schedule_id
from integrations.models import Sync
from teams.models import Team
from tests.support.flow_fixtures import Driver, start_setup

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("setup_worker_running")]


async def ready(team_user, emulator, service: str = "hubspot") -> Driver:
    driver = await start_setup(team_user, service)
    await driver.connect_and_choose(emulator)
    await driver.until_state("ready", timeout=60)
    return driver


async def until_event(driver: Driver, predicate, what: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in await driver.events():
            if predicate(event):
                return event
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {what}; events: {[e['type'] for e in await driver.events()]}")


async def until_integration(driver: Driver, predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        integration = await driver.state()
        if predicate(integration):
            return integration
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {what}; health {integration.health}, {integration.health_reason!r}")


async def logged_in(user) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(user)
    return client


async def patch(client: AsyncClient, url: str, body) -> object:
    return await client.patch(url, json.dumps(body), content_type="application/json")


async def test_after_ready_the_same_workflow_lives_on_as_the_connection(flow_settings, flow_emulator, team_user):
    driver = await ready(team_user, flow_emulator)
    handle = (await get_client()).get_workflow_handle(await workflow_id_of(driver.integration_id))
    # Ready is written by the last step's activity; the set-up's run then continues as new.
    deadline = time.monotonic() + 10
    while (description := await handle.describe()).workflow_type != "ConnectionLife":
        assert time.monotonic() < deadline, description.workflow_type
        await asyncio.sleep(0.05)
    assert description.status.name == "RUNNING"
    first_run = (await handle.fetch_history()).events
    assert first_run[0].workflow_execution_started_event_attributes.continued_execution_run_id
    updated = await until_event(driver, lambda e: e["type"] == "connection.updated", "connection.updated")
    assert updated["data"]["health"] == "healthy", updated["data"]
    integration = await driver.state()
    assert integration.health == "healthy" and integration.succeeded_at is not None
    assert integration.setup_state == "connected" and integration.sync_frequency


async def test_actions_through_the_api(flow_settings, flow_emulator, team_user):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    base = f"/api/integrations/{driver.integration_id}"
    client = await logged_in(user)

    synced = await client.post(f"{base}/sync/")
    assert synced.status_code == 200, synced.content
    assert synced.json()["message"] == "Sync started"
    action = await until_event(driver, lambda e: e["type"] == "connection.action", "connection.action")
    assert action["data"] == {"action": "sync", "by": user.username, "message": "Sync started"}
    # The sync Fivetran ran is recorded (from its status: this test runs without webhooks).
    await until_integration(driver, lambda i: i.health == "healthy", "healthy after the sync", timeout=60)

    for attempt in range(2):  # pausing twice is pausing once
        paused = await client.post(f"{base}/pause/")
        assert paused.status_code == 200, paused.content
    integration = await driver.state()
    assert integration.paused and integration.health == "paused"
    assert flow_emulator.api("GET", f"/connections/{integration.connection_id}").json()["data"]["paused"] is True
    assert (await client.post(f"{base}/resume/")).status_code == 200
    await until_integration(driver, lambda i: not i.paused and i.health != "paused", "resumed")

    changed = await patch(client, f"{base}/", {"sync_frequency": 60, "name": "CRM"})
    assert changed.status_code == 200, changed.content
    integration = await driver.state()
    assert integration.sync_frequency == 60 and integration.name == "CRM"
    assert flow_emulator.api("GET", f"/connections/{integration.connection_id}").json()["data"]["sync_frequency"] == 60

    refused = await patch(client, f"{base}/", {"sync_frequency": 7})
    assert refused.status_code == 400 and "1440" in refused.json()["error"]
    assert (await patch(client, f"{base}/", {"paused": True})).status_code == 400
    assert (await patch(client, f"{base}/", {"name": "  "})).status_code == 400

    actions = [e["data"]["action"] for e in await driver.events() if e["type"] == "connection.action"]
    assert actions == ["sync", "pause", "pause", "resume", "settings"]


async def test_actions_are_refused_to_another_team_and_before_the_set_up_is_done(flow_settings, flow_emulator, team_user):
    team, user = team_user
    driver = await start_setup(team_user, "hubspot")
    client = await logged_in(user)
    early = await client.post(f"/api/integrations/{driver.integration_id}/sync/")
    assert early.status_code == 409 and "not set up" in early.json()["error"]

    stranger = await sync_to_async(get_user_model().objects.create_user)(username="stranger", password="pw")
    other = await Team.objects.acreate(name="Other")
    await other.members.aadd(stranger)
    outsider = await logged_in(stranger)
    for path in ("sync/", "pause/", "resume/", "reconnect/"):
        assert (await outsider.post(f"/api/integrations/{driver.integration_id}/{path}")).status_code == 404
    assert (await patch(outsider, f"/api/integrations/{driver.integration_id}/", {"sync_frequency": 60})).status_code == 404


async def test_reconnect_answers_a_fresh_connect_card(flow_settings, flow_emulator, team_user):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    client = await logged_in(user)
    answer = await client.post(f"/api/integrations/{driver.integration_id}/reconnect/")
    assert answer.status_code == 200, answer.content
    url = answer.json()["url"]
    assert url.startswith(flow_emulator.url) and "redirect_uri" in url
    integration = await driver.state()
    assert integration.connect_card_uri == url and integration.return_nonce


async def test_syncs_become_sync_records(flow_settings, flow_emulator, team_user):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    # The first look records the historical sync (from Fivetran's status: no webhooks here).
    before = await until_integration(driver, lambda i: i.succeeded_at is not None, "mirrored")
    historical = await until_event(driver, lambda e: e["type"] == "sync.completed", "the historical sync's record")
    assert historical["data"]["status"] == "successful"
    client = await logged_in(user)
    assert (await client.post(f"/api/integrations/{driver.integration_id}/sync/")).status_code == 200
    # The workflow looks again while the sync runs, and sees the new success.
    after = await until_integration(
        driver, lambda i: i.succeeded_at and i.succeeded_at > before.succeeded_at, "the new success", timeout=60
    )
    assert after.health == "healthy"
    completed = [e for e in await driver.events() if e["type"] == "sync.completed"]
    assert len(completed) == 2 and completed[-1]["data"]["ended_at"] is not None
    assert await Sync.objects.filter(integration_id=driver.integration_id, status="successful").acount() == 2


async def test_the_reconciliation_finds_a_connection_deleted_in_fivetran(
    flow_settings, flow_emulator, team_user, temporal_task_queue
):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    integration = await until_integration(driver, lambda i: i.health == "healthy", "healthy")
    assert flow_emulator.api("DELETE", f"/connections/{integration.connection_id}").status_code == 200

    client = await get_client()
    await ensure_schedule(client, temporal_task_queue, timedelta(hours=1))
    schedule = client.get_schedule_handle(schedule_id(temporal_task_queue))
    try:
        await schedule.trigger()  # one pass now: one listing of the group, the moved ones told
        integration = await until_integration(driver, lambda i: i.health == "deleted", "deleted")
    finally:
        await schedule.delete()
    assert integration.health_reason
    refused = await (await logged_in(user)).post(f"/api/integrations/{driver.integration_id}/sync/")
    assert refused.status_code == 409 and "no longer exists" in refused.json()["error"]


async def test_the_connection_page_and_its_forms(flow_settings, flow_emulator, team_user):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    await until_integration(driver, lambda i: i.health == "healthy", "healthy")
    client = await logged_in(user)
    page = f"/integrations/{driver.integration_id}/"
    html = (await client.get(page)).content.decode()
    assert "Healthy" in html and "Sync now" in html and 'data-action="pause"' in html
    assert f"/ws/integrations/{driver.integration_id}/" in html and "connection-page.js" in html

    # Without JavaScript: the form posts, the workflow acts, the page comes back saying so.
    paused = await client.post(f"/integrations/{driver.integration_id}/actions/pause/", follow=True)
    body = paused.content.decode()
    assert "Paused" in body and "health--paused" in body
    assert (await client.post(f"/integrations/{driver.integration_id}/actions/explode/")).status_code == 404

    settings_tab = (await client.get(f"{page}?tab=settings")).content.decode()
    assert 'name="sync_frequency"' in settings_tab and "Every 6 hours" in settings_tab
    wrong = await client.post(f"/integrations/{driver.integration_id}/settings/", {"name": "X", "sync_frequency": "7"}, follow=True)
    assert "sync_frequency must be one of" in wrong.content.decode()
    saved = await client.post(
        f"/integrations/{driver.integration_id}/settings/", {"name": "Sales CRM", "sync_frequency": "60"}, follow=True
    )
    assert "Sales CRM" in saved.content.decode() and "Every hour" in saved.content.decode()

    schema_tab = (await client.get(f"{page}?tab=schema")).content.decode()
    integration = await driver.state()
    chosen = [f"{schema}.{table}" for schema, tables in integration.selection.items() for table in tables]
    assert all(f'value="{value}" checked' in schema_tab for value in chosen)
    assert (await client.get(f"{page}?tab=nope")).status_code == 404


async def test_one_table_resynced(flow_settings, flow_emulator, team_user):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    integration = await driver.state()
    table = await integration.tables.order_by("name").afirst()
    client = await logged_in(user)
    flow_emulator.clear_requests()
    answer = await client.post(f"/api/integrations/{driver.integration_id}/tables/{table.pk}/resync/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["table"] == table.name
    resyncs = [r for r in flow_emulator.requests() if r["method"] == "POST" and r["path"].endswith("/resync")]
    assert len(resyncs) == 1 and f"/connections/{integration.connection_id}/schemas/" in resyncs[0]["path"]
    assert (await client.post(f"/api/integrations/{driver.integration_id}/tables/999999/resync/")).status_code == 404


async def test_the_tables_synced_change_after_the_set_up(flow_settings, flow_emulator, team_user):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    integration = await driver.state()
    schema = next(s for s in integration.source_schema["schemas"] if any(not t["locked"] for t in s["tables"]))
    choosable = [t["name"] for t in schema["tables"] if not t["locked"]]
    chosen = integration.selection[schema["name"]]
    # One table fewer than chosen at set-up (or one more, if only one was chosen).
    wanted = chosen[:-1] if len(chosen) > 1 else choosable[:2]
    client = await logged_in(user)
    flow_emulator.clear_requests()
    answer = await client.post(
        f"/api/integrations/{driver.integration_id}/schema/", json.dumps({"selected": {schema["name"]: wanted}}),
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    selected = answer.json()["selected"]  # the choice, checked (the tables Fivetran requires stay in it)
    assert set(wanted) <= set(selected[schema["name"]])
    assert not (set(choosable) - set(wanted)) & set(selected[schema["name"]])
    integration = await driver.state()
    assert integration.selection == selected
    config = flow_emulator.api("GET", f"/connections/{integration.connection_id}/schemas").json()["data"]
    enabled = {name for name, table in config["schemas"][schema["name"]]["tables"].items() if table["enabled"]}
    assert set(wanted) <= enabled and not (set(choosable) - set(wanted)) & enabled
    # The newly enabled tables land with the sync it starts at once.
    assert any(r["method"] == "POST" and r["path"].endswith("/sync") for r in flow_emulator.requests())
    refused = await client.post(
        f"/api/integrations/{driver.integration_id}/schema/", json.dumps({"selected": {schema["name"]: ["no_such"]}}),
        content_type="application/json",
    )
    assert refused.status_code == 400


async def test_a_source_gaining_tables_after_the_set_up(flow_settings, flow_emulator, team_user):
    """After a sync the source's schema is re-read. The set-up's table choice blocks new tables
    (BLOCK_ALL): one waits unticked on the Schema tab until the user ticks it, then lands. Under
    ALLOW_ALL Fivetran enables a new table by itself: it lands and the Schema tab ticks it. Tables
    already listed report their new row counts."""
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    integration = await until_integration(driver, lambda i: i.health == "healthy" and i.succeeded_at, "healthy")
    connection_id = integration.connection_id
    client = await logged_in(user)

    flow_emulator.add_table(connection_id, "refund", columns=["id:INT64", "amount:NUMERIC"], rows=3)
    assert (await client.post(f"/api/integrations/{driver.integration_id}/sync/")).status_code == 200
    waiting = await until_event(driver, lambda e: e["type"] == "schema.changed", "schema.changed", timeout=60)
    schema = waiting["data"]["added"][0]["schema"]
    assert waiting["data"] == {"added": [{"schema": schema, "table": "refund", "enabled": False}], "waiting": 1}
    schema_tab = (await client.get(f"/integrations/{driver.integration_id}/?tab=schema")).content.decode()
    assert f'value="{schema}.refund"' in schema_tab and f'value="{schema}.refund" checked' not in schema_tab
    assert not await integration.tables.filter(name="refund").aexists()

    integration = await driver.state()
    selected = {name: list(tables) for name, tables in integration.selection.items()}
    selected[schema].append("refund")
    saved = await client.post(
        f"/api/integrations/{driver.integration_id}/schema/", json.dumps({"selected": selected}), content_type="application/json"
    )
    assert saved.status_code == 200, saved.content
    landed = await until_event(
        driver, lambda e: e["type"] == "tables.updated" and any(a["name"] == "refund" for a in e["data"]["added"]),
        "refund landing", timeout=60,
    )
    assert (await integration.tables.aget(name="refund")).num_rows == 3
    assert landed["data"]["count"] == await integration.tables.acount()
    # The incremental sync appended rows to tables already listed: their new figures are in the event.
    moved = {entry["name"]: entry["num_rows"] for entry in landed["data"]["updated"]}
    assert landed["data"]["updated_count"] == len(moved) > 0
    for name, rows in moved.items():
        assert (await integration.tables.aget(name=name)).num_rows == rows

    # ALLOW_ALL: Fivetran enables the new table by itself; it lands and the Schema tab ticks it.
    allowed = flow_emulator.api("PATCH", f"/connections/{connection_id}/schemas", json={"schema_change_handling": "ALLOW_ALL"})
    assert allowed.status_code == 200
    flow_emulator.add_table(connection_id, "invoice", columns=["id:INT64", "total:NUMERIC"], rows=4)
    assert (await client.post(f"/api/integrations/{driver.integration_id}/sync/")).status_code == 200
    enabled = await until_event(
        driver, lambda e: e["type"] == "schema.changed" and e["data"]["added"][0]["table"] == "invoice", "invoice", timeout=60
    )
    assert enabled["data"] == {"added": [{"schema": schema, "table": "invoice", "enabled": True}], "waiting": 0}
    await until_event(
        driver, lambda e: e["type"] == "tables.updated" and any(a["name"] == "invoice" for a in e["data"]["added"]),
        "invoice landing", timeout=60,
    )
    assert (await integration.tables.aget(name="invoice")).num_rows == 4
    integration = await driver.state()
    assert "invoice" in integration.selection[schema]
    schema_tab = (await client.get(f"/integrations/{driver.integration_id}/?tab=schema")).content.decode()
    assert f'value="{schema}.invoice" checked' in schema_tab
