"""The set-up flow end to end: its Temporal workflow on the session's dev server, run by the real
worker code, against the Fivetran emulator (over HTTP) and the BigQuery stand-in (through the real
client)."""

import asyncio
from datetime import timedelta

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from integrations.engine import dispatch
from integrations.engine.dispatch import workflow_id_of
from integrations.models import Integration, SetupStep, Table
from integrations.setup.removal import integration_delete
from integrations.state import connect_card_return
from integrations.state import transitions as services
from integrations.state.event_schemas import frame_schema
from tests.support.flow_fixtures import Driver, start_setup
from warehouse.bigquery import make_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("setup_worker_running")]


def validate_all(events: list[dict]) -> None:
    for event in events:
        jsonschema.validate(event, frame_schema(event["type"]))


def types(events: list[dict]) -> list[str]:
    return [event["type"] for event in events]


start = start_setup


def connections_named(emulator, schema_name: str) -> list[dict]:
    response = emulator.api("GET", "/connections", params={"schema": schema_name, "limit": 1000})
    return [item for item in response.json()["data"]["items"] if item["schema"].split(".")[0] == schema_name]


async def test_hubspot_set_up_reaches_ready_with_registered_tables(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "hubspot")
    integration = await driver.until_waiting("connect_card")
    events = await driver.events()
    assert types(events) == ["step.started", "step.completed", "step.started", "action.required"]
    assert events[-1]["data"]["kind"] == "connect_card"
    assert events[-1]["data"]["url"].startswith(flow_emulator.url + "/connect-card/setup")

    await driver.return_from_card(flow_emulator)
    integration = await driver.until_waiting("select_tables")
    locked = [t for s in integration.source_schema["schemas"] for t in s["tables"] if t["locked"]]
    assert locked, "every sample has tables Fivetran will not let the user deselect"
    schema = integration.source_schema["schemas"][0]
    chosen = [t["name"] for t in schema["tables"] if not t["locked"]][:2]
    await driver.choose_tables({schema["name"]: chosen})

    integration = await driver.until_state("ready")
    events = await driver.events()
    validate_all(events)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    # The set-up's last word; its workflow then lives on as the connection's, which may speak already.
    after = types(events)[types(events).index("setup.completed") + 1 :]
    assert not [kind for kind in after if kind.startswith(("step.", "setup.", "action."))], after
    completed = [e["data"]["step"] for e in events if e["type"] == "step.completed"]
    assert completed == [
        "create_connection", "connect_card", "load_schema", "select_tables",
        "update_schema", "start_sync", "historical_sync", "register_tables",
    ]
    # What landed: the chosen tables plus the locked ones Fivetran always syncs, with real row counts.
    expected = {name for tables in integration.destination_tables.values() for name in tables}
    tables = [t async for t in Table.objects.filter(integration=integration)]
    assert {t.name for t in tables} == expected
    assert len(expected) >= len(chosen) + 1
    client = make_client(flow_settings.BIGQUERY_PROJECT, endpoint=flow_settings.BIGQUERY_API_ENDPOINT)
    for table in tables:
        assert table.num_rows == client.get_table(f"{table.project}.{table.dataset}.{table.name}").num_rows
    registered = [e for e in events if e["type"] == "tables.registered"]
    assert sum(len(e["data"]["tables"]) for e in registered) == len(tables)
    assert len(connections_named(flow_emulator, integration.schema_name)) == 1


async def test_database_connector_lands_one_dataset_per_schema(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "postgres")
    await driver.until_waiting("connect_card")
    await driver.return_from_card(flow_emulator)
    await driver.until_waiting("select_tables")
    selected = await driver.choose_tables()
    integration = await driver.until_state("ready")
    assert len(selected) >= 2
    datasets = set(integration.destination_tables)
    assert len(datasets) >= 2
    assert all(dataset.startswith(integration.schema_name + "_") for dataset in datasets)
    assert {t.dataset async for t in Table.objects.filter(integration=integration)} == datasets


async def test_single_table_connector_skips_table_selection(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "google_sheets")
    await driver.until_waiting("connect_card")
    await driver.return_from_card(flow_emulator)
    integration = await driver.until_state("ready")
    events = await driver.events()
    validate_all(events)
    assert [e["data"]["step"] for e in events if e["type"] == "step.skipped"] == ["select_tables"]
    assert await Table.objects.filter(integration=integration).acount() == 1


async def test_crash_after_create_before_commit_adopts_the_connection(
    flow_settings, flow_emulator, team_user, monkeypatch
):
    """Fivetran created the connection but its id never reached our database: the activity's retry
    finds it under our unique schema name and adopts it, instead of paying for a second one."""
    real_update = services.integration_update
    crashed = []

    def crash_once(integration_id, **fields):
        if "connection_id" in fields and not crashed:
            crashed.append(fields["connection_id"])
            raise ConnectionError("the database went away")
        return real_update(integration_id, **fields)

    monkeypatch.setattr(services, "integration_update", crash_once)
    driver = await start(team_user, "stripe")
    integration = await driver.until_waiting("connect_card")
    assert crashed and integration.connection_id == crashed[0]
    assert len(connections_named(flow_emulator, integration.schema_name)) == 1
    events = await driver.events()
    assert types(events).count("step.completed") == 1
    assert [e["data"]["attempt"] for e in events if e["type"] == "step.started" and e["data"]["step"] == "create_connection"] == [1]


async def test_a_second_workflow_for_the_same_integration_is_refused(flow_settings, team_user):
    from temporalio.exceptions import WorkflowAlreadyStartedError

    driver = await start(team_user, "hubspot")
    with pytest.raises(WorkflowAlreadyStartedError):
        await dispatch.start_setup(driver.integration_id)


async def test_create_survives_rate_limit_and_server_errors(flow_settings, flow_emulator, team_user):
    flow_emulator.fault("rate_limit", path="/connections", times=1, retry_after=1)
    flow_emulator.fault("server_error", path="/connections", times=1, status=503)
    driver = await start(team_user, "zendesk")
    integration = await driver.until_waiting("connect_card")
    assert len(connections_named(flow_emulator, integration.schema_name)) == 1


async def through_table_choice(driver: Driver, emulator, fault: str | None = None, **options) -> None:
    await driver.connect_and_choose(emulator, fault, **options)


async def test_a_failed_sync_is_shown_as_retrying_then_completes(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "jira")
    await through_table_choice(driver, flow_emulator, "fail_sync", times=1)
    await driver.until_state("ready")
    messages = await driver.progress_messages()
    assert any("failed, Fivetran is retrying" in message for message in messages)


async def test_repeated_sync_failures_fail_the_step_and_retry_starts_attempt_two(
    flow_settings, flow_emulator, team_user
):
    flow_settings.SETUP_SYNC_FAILURE_LIMIT = 2
    driver = await start(team_user, "github")
    # Failures 1.2 s apart until the step gives up: however slow the machine, it sees two of them.
    await through_table_choice(driver, flow_emulator, "fail_sync", times=50)
    integration = await driver.until_state("failed")
    flow_emulator.clear_faults()
    events = await driver.events()
    failed = [e for e in events if e["type"] == "step.failed"]
    assert failed[-1]["data"]["step"] == "historical_sync"
    assert failed[-1]["data"]["error"]["code"] == "sync_failed"
    assert await Table.objects.filter(integration=integration).acount() == 0

    await dispatch.retry(integration.pk)
    await driver.until_state("ready")
    started = [e["data"] for e in await driver.events() if e["type"] == "step.started"]
    assert started[-2] == {"step": "historical_sync", "attempt": 2}


async def test_a_sync_that_never_finishes_times_out_as_a_failure(flow_settings, flow_emulator, team_user):
    flow_settings.SETUP_SYNC_TIMEOUT_SECONDS = 0
    driver = await start(team_user, "intercom")
    await through_table_choice(driver, flow_emulator)
    integration = await driver.until_state("failed")
    step = await integration.steps.aget(name="historical_sync")
    assert step.error_code == "sync_timeout"
    register = await integration.steps.aget(name="register_tables")
    assert register.state == SetupStep.State.PENDING
    assert await Table.objects.filter(integration=integration).acount() == 0


async def test_a_broken_connection_asks_to_reconnect_then_completes(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "salesforce")
    integration = await driver.until_waiting("connect_card")
    # Fivetran's sync_end webhook gives its words for the break (the status endpoint does not).
    await sync_to_async(services.sync_reason_record)(integration.connection_id, "access token was revoked")
    flow_emulator.fault("break", connection_id=integration.connection_id)
    await driver.return_from_card(flow_emulator)
    await driver.until_waiting("select_tables")
    await driver.choose_tables()
    await driver.until_waiting("historical_sync")
    actions = [e["data"] for e in await driver.events() if e["type"] == "action.required"]
    assert actions[-1]["kind"] == "reconnect"
    assert actions[-1]["message"] == "access token was revoked"  # Fivetran's words, not ours
    await driver.return_from_card(flow_emulator)
    await driver.until_state("ready")
    # The failure that broke it is behind the user once they reconnected: not "failed, retrying".
    reconnected_at = [e["seq"] for e in await driver.events() if e["type"] == "action.required"][-1]
    after = [e["data"]["message"] for e in await driver.events() if e["type"] == "step.progress" and e["seq"] > reconnected_at]
    assert not [message for message in after if "retrying" in message], after


async def test_a_rescheduled_sync_says_why_and_completes(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "shopify")
    await through_table_choice(driver, flow_emulator, "reschedule", retry_after=3)
    await driver.until_state("ready")
    messages = await driver.progress_messages()
    assert any("quota" in message for message in messages), messages


async def test_returning_without_finishing_the_card_offers_a_fresh_one(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "mailchimp")
    await driver.until_waiting("connect_card")
    first = (await driver.state()).connect_card_uri
    await driver.return_from_card(flow_emulator, complete=False)

    async def offered_again(integration):
        return integration.connect_card_uri != first

    await driver.run_until(offered_again)
    await driver.until_waiting("connect_card")
    actions = [e for e in await driver.events() if e["type"] == "action.required"]
    assert len(actions) == 2


async def test_a_replayed_or_forged_card_return_is_refused(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "amplitude")
    await driver.until_waiting("connect_card")
    await driver.return_from_card(flow_emulator)
    with pytest.raises(connect_card_return.InvalidReturn):
        await driver.return_from_card(flow_emulator)  # the same link again
    with pytest.raises(connect_card_return.InvalidReturn):
        await sync_to_async(connect_card_return.connect_card_returned)(driver.integration_id, "forged")


async def test_selection_is_refused_when_not_waiting_for_it(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "hubspot")
    await driver.until_waiting("connect_card")
    with pytest.raises(dispatch.Refused) as refused:
        await dispatch.select_tables(driver.integration_id, {"x": ["y"]})
    assert refused.value.conflict


async def test_the_workflow_refuses_tables_that_cannot_be_chosen(flow_settings, flow_emulator, team_user):
    driver = await start(team_user, "hubspot")
    await driver.until_waiting("connect_card")
    await driver.return_from_card(flow_emulator)
    integration = await driver.until_waiting("select_tables")
    schema = integration.source_schema["schemas"][0]["name"]
    with pytest.raises(dispatch.Refused) as refused:
        await dispatch.select_tables(driver.integration_id, {schema: ["no_such_table"]})
    assert not refused.value.conflict and "no_such_table" in refused.value.message
    with pytest.raises(dispatch.Refused):
        await dispatch.select_tables(driver.integration_id, {schema: []})
    assert (await driver.step("select_tables")).state == "waiting_for_user"  # nothing was recorded
    chosen = await driver.choose_tables()
    with pytest.raises(dispatch.Refused) as refused:
        await driver.choose_tables(chosen)  # sent again once taken: refused, changes nothing
    assert refused.value.conflict
    await driver.until_state("ready")
    assert types(await driver.events()).count("step.completed") == 8  # each step once


async def test_deleting_removes_the_fivetran_connection_even_when_its_id_was_never_saved(
    flow_settings, flow_emulator, team_user
):
    first, second = await start(team_user, "stripe"), await start(team_user, "stripe")
    for driver in (first, second):
        await driver.until_waiting("connect_card")
    lost = await second.state()
    await Integration.objects.filter(pk=lost.pk).aupdate(connection_id="")  # as after a crash
    for driver in (first, second):
        integration = await driver.state()
        await integration_delete(integration)
        assert not await Integration.objects.filter(pk=integration.pk).aexists()
        assert connections_named(flow_emulator, integration.schema_name) == []


async def test_a_set_up_abandoned_on_the_card_deletes_its_own_connection(flow_settings, flow_emulator, team_user):
    flow_settings.SETUP_ABANDON_HOURS = 1.5 / 3600  # the workflow's durable timer: 1.5 s here, 24 h by default
    old = await start(team_user, "jira")
    flow_settings.SETUP_ABANDON_HOURS = 24
    fresh = await start(team_user, "jira")
    for driver in (old, fresh):
        await driver.until_waiting("connect_card")
    old_schema = (await old.state()).schema_name
    deadline = asyncio.get_running_loop().time() + 30
    while await Integration.objects.filter(pk=old.integration_id).aexists():
        assert asyncio.get_running_loop().time() < deadline, "the abandoned set-up was never removed"
        await asyncio.sleep(0.1)
    assert connections_named(flow_emulator, old_schema) == []
    assert await Integration.objects.filter(pk=fresh.integration_id).aexists()
    assert len(connections_named(flow_emulator, (await fresh.state()).schema_name)) == 1


async def test_a_connect_card_about_to_expire_is_replaced(flow_settings, flow_emulator, team_user, temporal_client):
    driver = await start(team_user, "hubspot")
    integration = await driver.until_waiting("connect_card")
    # The workflow looks again on a durable timer before the link dies (a card lives one day).
    handle = temporal_client.get_workflow_handle(await workflow_id_of(integration.pk))
    for _ in range(100):  # the step wrote "waiting" just before the workflow set its timer
        history = await handle.fetch_history()
        timers = [e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() for e in history.events
                  if e.HasField("timer_started_event_attributes")]
        if timers:
            break
        await asyncio.sleep(0.1)
    assert timers and timedelta(hours=22) < max(timers) <= timedelta(hours=23)
    first = integration.connect_card_uri
    await Integration.objects.filter(pk=integration.pk).aupdate(
        connect_card_issued_at=timezone.now() - timedelta(hours=23, minutes=30)
    )
    await dispatch.card_returned(integration.pk)  # as the timer would, 23 h later

    async def replaced(integration):
        return integration.connect_card_uri != first

    integration = await driver.run_until(replaced)
    actions = [e["data"] for e in await driver.events() if e["type"] == "action.required"]
    assert [a["url"] for a in actions] == [first, integration.connect_card_uri]
    await driver.return_from_card(flow_emulator)  # the new link works
    await driver.until_waiting("select_tables")


async def test_time_waiting_for_a_reconnect_does_not_count_against_the_sync_limit(
    flow_settings, flow_emulator, team_user
):
    flow_settings.SETUP_SYNC_TIMEOUT_SECONDS = 3
    driver = await start(team_user, "google_sheets")  # one table: its sync fits well inside the limit
    integration = await driver.until_waiting("connect_card")
    flow_emulator.fault("break", connection_id=integration.connection_id)
    await driver.return_from_card(flow_emulator)
    await driver.until_waiting("historical_sync")
    await asyncio.sleep(3.2)  # the user takes longer than the whole limit to reconnect
    await driver.return_from_card(flow_emulator)
    integration = await driver.until_state("ready", "failed")
    step = await integration.steps.aget(name="historical_sync")
    assert integration.state == "ready", (step.error_code, step.error_message)


@pytest.fixture
def slow_emulator(flow_settings, bigquery_standin, tmp_path):
    """An emulator whose historical sync takes long enough to watch tables land one by one."""
    from connectors import fivetran
    from tests.support.fivetran_fixtures import running_emulator

    with running_emulator(
        tmp_path, sync_seconds=6, bigquery_endpoint=bigquery_standin.endpoint, bigquery_project=bigquery_standin.project
    ) as emulator:
        flow_settings.FIVETRAN_API_URL = emulator.api_url
        fivetran._clients.clear()
        yield emulator
        fivetran._clients.clear()


async def test_tables_land_one_by_one_while_someone_watches(flow_settings, slow_emulator, team_user):
    """With webhooks on, Fivetran's status is looked at rarely (the first look, then after a minute or
    the webhook); in between the page still sees the tables arrive, from BigQuery's metadata alone."""
    flow_settings.FIVETRAN_WEBHOOK_SECRET = "whsec_landing"  # the slow fallback timer of a webhook set-up
    flow_settings.SETUP_POLL_WITH_WEBHOOKS = (60.0, 600.0)
    flow_settings.SETUP_LANDING_SECONDS = 0.3
    driver = await start(team_user, "hubspot")
    await sync_to_async(services.integration_watched)(driver.integration_id)  # as an open socket does
    integration = await driver.until_waiting("connect_card")
    await driver.return_from_card(slow_emulator)
    await driver.until_waiting("select_tables")
    await driver.choose_tables()

    async def several_landed(integration):
        step = await integration.steps.aget(name="historical_sync")
        return (step.progress_done or 0) >= 4

    await driver.run_until(several_landed, timeout=60)
    progress = [e["data"] for e in await driver.events() if e["type"] == "step.progress" and e["data"]["step"] == "historical_sync"]
    counts = [p["done"] for p in progress]
    assert counts == sorted(counts) and len(set(counts)) >= 3, progress  # n of m moves, never back
    assert len({p["total"] for p in progress}) == 1  # one honest total
    assert any("Landed:" in p["message"] and "rows)" in p["message"] for p in progress)
    status_calls = [r for r in slow_emulator.requests() if r["method"] == "GET" and r["path"].endswith(integration.connection_id)]
    assert len(status_calls) <= 4, status_calls  # the landing is watched without asking Fivetran
    # The emulator cannot reach this test's webhook endpoint: ring as its sync_end webhook would.
    for _ in range(60):
        await dispatch.fivetran_changed(driver.integration_id)
        if (await driver.state()).state == "ready":
            break
        await asyncio.sleep(1)
    assert (await driver.state()).state == "ready"
