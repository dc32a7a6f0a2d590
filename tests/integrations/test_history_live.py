"""Every kind of history entry from a real run: the set-up's workflow on the Temporal dev server, the
Fivetran emulator landing in the BigQuery stand-in, and people's actions through the JSON API, which
the connection's workflow carries out and records."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from integrations.state.history import history_page
from integrations.vocabulary import HistoryKind
from tests.support.flow_fixtures import start_setup

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("setup_worker_running")]


async def entries(integration_id: int) -> list:
    return (await sync_to_async(history_page)(integration_id, size=100)).entries


async def until_entry(integration_id: int, predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [entry for entry in await entries(integration_id) if predicate(entry)]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no {what}: {[(e.kind, e.title) for e in await entries(integration_id)]}")


async def test_each_kind_from_a_real_run(flow_settings, flow_emulator, team_user):
    _team, user = team_user
    driver = await start_setup(team_user, "hubspot")
    await driver.connect_and_choose(flow_emulator)
    await driver.until_state("ready", timeout=60)
    pk = driver.integration_id
    await until_entry(pk, lambda e: e.title == "Set-up finished", "set-up end")
    client = AsyncClient()
    await client.aforce_login(user)

    assert (await client.post(f"/api/integrations/{pk}/pause/")).status_code == 200
    assert (await client.post(f"/api/integrations/{pk}/resume/")).status_code == 200
    paused = await until_entry(pk, lambda e: e.kind == HistoryKind.PAUSE and e.title == "Paused", "pause")
    assert paused.by == user.username
    await until_entry(pk, lambda e: e.kind == HistoryKind.PAUSE and e.title == "Resumed", "resume")

    integration = await driver.state()
    flow_emulator.fault("fail_sync", connection_id=integration.connection_id)
    assert (await client.post(f"/api/integrations/{pk}/sync/")).status_code == 200
    action = await until_entry(pk, lambda e: e.kind == HistoryKind.ACTION, "Sync now")
    assert (action.title, action.by, action.detail) == ("Sync now", user.username, "Sync started")
    failed = await until_entry(pk, lambda e: e.kind == HistoryKind.SYNC and e.sync.status == "failed", "failed sync")
    assert failed.sync.ended_at is not None
    broke = await until_entry(pk, lambda e: e.kind == HistoryKind.HEALTH, "break")
    assert (broke.title, broke.tone) == ("Sync failing", "bad")

    chosen = {schema: tables[:1] for schema, tables in integration.selection.items()}
    answer = await client.post(f"/api/integrations/{pk}/schema/", {"selected": chosen}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    schema = await until_entry(pk, lambda e: e.kind == HistoryKind.SCHEMA, "schema change")
    assert schema.by == user.username
    # The sync the change starts succeeds: the connection recovers.
    await until_entry(pk, lambda e: e.kind == HistoryKind.HEALTH and e.tone == "good", "recovery")

    kinds = {entry.kind for entry in await entries(pk)}
    assert kinds == set(HistoryKind)
