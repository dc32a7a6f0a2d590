"""Records the workflow histories the replay test replays (tests/fixtures/temporal/). Not collected
by default (the file name does not start with test_); run it after a deliberate change of the
workflow's history, and keep the old files too, so running set-ups stay replayable:

    .venv/bin/python -m pytest tests/integrations/record_histories.py

Each scenario runs a real set-up (emulator, BigQuery stand-in, Temporal dev server, the worker) to
its end and writes the finished workflow's history as JSON.
"""

import asyncio

import pytest
from django.test import AsyncClient

from gyana.temporal.client import get_client
from integrations.engine import dispatch
from integrations.engine.dispatch import workflow_id_of
from tests.support.flow_fixtures import Driver, start_setup
from tests.support.paths import FIXTURES
from tests.support.replay import record_history

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("setup_worker_running")]

HISTORIES = FIXTURES / "temporal"


start = start_setup


async def setup_run(driver: Driver):
    """The set-up's run, once it has continued as the connection's life (its history then is whole)."""
    client = await get_client()
    workflow_id = await workflow_id_of(driver.integration_id)
    while True:
        life = await client.get_workflow_handle(workflow_id).fetch_history()
        started = life.events[0].workflow_execution_started_event_attributes
        if started.workflow_type.name == "ConnectionLife":
            return client.get_workflow_handle(workflow_id, run_id=started.continued_execution_run_id)
        await asyncio.sleep(0.1)


async def finish_and_record(driver: Driver, name: str) -> None:
    await driver.until_state("ready")
    await record_history(await setup_run(driver), HISTORIES / f"{name}.json")


async def connect_and_choose(driver: Driver, emulator, fault: str | None = None, **options) -> None:
    await driver.connect_and_choose(emulator, fault, **options)


async def test_record_a_complete_set_up(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "hubspot")
    await connect_and_choose(driver, flow_emulator)
    await finish_and_record(driver, "complete")


async def test_record_a_failed_and_retried_set_up(flow_settings, flow_emulator, team_user):
    flow_settings.SETUP_SYNC_TIMEOUT_SECONDS = 0  # the historical sync fails for good at once
    driver = await start(team_user, "github")
    await connect_and_choose(driver, flow_emulator)
    await driver.until_state("failed")
    flow_settings.SETUP_SYNC_TIMEOUT_SECONDS = 3600
    await dispatch.retry(driver.integration_id)
    await finish_and_record(driver, "failed_then_retried")


async def test_record_a_broken_then_reconnected_set_up(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "salesforce")
    await connect_and_choose(driver, flow_emulator, "break")
    await driver.until_waiting("historical_sync")
    await driver.return_from_card(flow_emulator)
    await finish_and_record(driver, "broken_then_reconnected")


async def test_record_a_set_up_watched_while_its_tables_land(flow_settings, flow_emulator, team_user):
    """After the watch-landing patch: landing looks between the status polls."""
    flow_settings.SETUP_POLL_WITHOUT_WEBHOOKS = (1.0, 1.0)
    flow_settings.SETUP_LANDING_SECONDS = 0.1
    driver = await start(team_user, "hubspot")
    await connect_and_choose(driver, flow_emulator)
    await finish_and_record(driver, "complete_watched_landing")


async def test_record_a_set_up_that_lives_on_and_acted_upon(flow_settings, flow_emulator, team_user):
    """After the connection-life patch: the set-up continues as new, and the life takes actions."""
    driver = await start(team_user, "hubspot")
    await connect_and_choose(driver, flow_emulator)
    await finish_and_record(driver, "complete_then_life")
    client = AsyncClient()
    await client.aforce_login(team_user[1])
    for action in ("sync", "pause", "resume"):
        assert (await client.post(f"/api/integrations/{driver.integration_id}/{action}/")).status_code == 200
    life = (await get_client()).get_workflow_handle(await workflow_id_of(driver.integration_id))
    await asyncio.sleep(1.0)  # the looks the actions asked for
    await record_history(life, HISTORIES / "life_with_actions.json")
