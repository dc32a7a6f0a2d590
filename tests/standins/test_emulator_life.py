"""A connection's life after its historical sync, as the emulator plays it (issue #12): schedule
settings, scheduled incremental syncs under a time scale, the webhooks of every sync and action, a
source gaining tables, table re-syncs, a connection deleted on Fivetran's side, faults per connection.

The emulator runs in a thread with a recording writer; its time scale makes Fivetran's minutes short.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from standins.fivetran.app import create_app
from standins.fivetran.clock import parse, seconds_to_hour_of_day
from standins.fivetran.testing import EmulatorProcess, ServerThread, WebhookReceiver
from standins.fivetran.writer import LandedTable

GROUP = "embedded_group"
AUTH = ("emulator-key", "emulator-secret")
SYNC_FREQUENCIES = (1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)


class RecordingWriter:
    def __init__(self) -> None:
        self.tables: list[LandedTable] = []

    async def write_table(self, table: LandedTable) -> None:
        self.tables.append(table)

    def of(self, connection_id: str) -> list[LandedTable]:
        return [table for table in self.tables if table.connection_id == connection_id]


class Emulator:
    def __init__(self, url: str, writer: RecordingWriter):
        self.url = url
        self.writer = writer


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[Emulator]:
    writer = RecordingWriter()
    app = create_app(data_dir=tmp_path_factory.mktemp("life"), sync_seconds=0.2, writer=writer, group_ids=(GROUP,))
    server = ServerThread(app).start()
    yield Emulator(server.url, writer)
    server.stop()


@pytest.fixture
def api(emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, auth=AUTH, timeout=15) as client:
        client.delete("/_control/faults")
        yield client
        client.delete("/_control/faults")
        client.put("/_control/clock", json={"time_scale": 1})


@pytest.fixture
def writer(emulator) -> RecordingWriter:
    return emulator.writer


@pytest.fixture
def receiver(api) -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    response = api.post(f"/v1/webhooks/group/{GROUP}", json={"url": hook.url, "events": EVENTS, "secret": "whsec_life"})
    assert response.status_code == 200, response.text
    yield hook
    api.delete(f"/v1/webhooks/{response.json()['data']['id']}")
    hook.stop()


EVENTS = ["sync_start", "sync_end", "connection_successful", "connection_failure", "create_connector", "pause_connector",
          "resume_connector", "edit_connector", "delete_connector", "force_update_connector", "resync_connector", "resync_table"]

_counter = iter(range(100_000))


def unique(prefix: str) -> str:
    return f"{prefix}_{next(_counter)}_{int(time.time() * 1000) % 100_000}"


def create(api: httpx.Client, service: str = "hubspot", **body: Any) -> dict[str, Any]:
    config = {"schema_prefix" if service == "postgres" else "schema": unique(service)}
    response = api.post("/v1/connections", json={"group_id": GROUP, "service": service, "paused": True,
                                                 "run_setup_tests": False, "config": config, **body})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def details(api: httpx.Client, connection_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/connections/{connection_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def patch(api: httpx.Client, connection_id: str, **body: Any) -> httpx.Response:
    return api.patch(f"/v1/connections/{connection_id}", json=body)


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def wait_for_state(api: httpx.Client, connection_id: str, predicate: Callable[[dict], bool], what: str, timeout: float = 15) -> dict:
    return wait_for(lambda: (data := details(api, connection_id)) and predicate(data) and data, what, timeout)


def historical_done(data: dict) -> bool:
    return data["status"]["is_historical_sync"] is False and data["succeeded_at"] is not None


def set_time_scale(api: httpx.Client, time_scale: float) -> None:
    response = api.put("/_control/clock", json={"time_scale": time_scale})
    assert response.status_code == 200, response.text
    assert response.json()["time_scale"] == time_scale


def state(api: httpx.Client, connection_id: str) -> dict[str, Any]:
    return api.get(f"/_control/connections/{connection_id}").json()


@pytest.fixture
def synced(api) -> Iterator[Callable[..., dict[str, Any]]]:
    """Makes connections through their historical sync; pauses them afterwards, so a fast schedule
    does not keep syncing into the next test."""
    made: list[str] = []

    def make(service: str = "hubspot", **body: Any) -> dict[str, Any]:
        created = create(api, service, **body)
        made.append(created["id"])
        assert api.post(f"/_control/connections/{created['id']}/complete-card").status_code == 200
        if body.get("schedule_type") == "manual":
            patch(api, created["id"], paused=False)
            api.post(f"/v1/connections/{created['id']}/sync", json={})
        else:
            patch(api, created["id"], paused=False)
        return wait_for_state(api, created["id"], historical_done, "historical sync")

    yield make
    for connection_id in made:
        patch(api, connection_id, paused=True)


def events_for(receiver: WebhookReceiver, connection_id: str, *names: str) -> list[dict]:
    events = [json.loads(item["body"]) for item in receiver.received]
    return [e for e in events if e.get("connector_id") == connection_id and (not names or e["event"] in names)]


def sync_ends(receiver: WebhookReceiver, connection_id: str) -> list[dict]:
    return events_for(receiver, connection_id, "sync_end")


def gap_seconds(earlier: dict, later: dict) -> float:
    return (parse(later["created"].replace("Z", "000Z")) - parse(earlier["created"].replace("Z", "000Z"))).total_seconds()


# --- schedule settings ----------------------------------------------------------------------------


def test_sync_frequency_takes_fivetrans_minutes_only(api):
    created = create(api)
    for minutes in SYNC_FREQUENCIES:
        response = patch(api, created["id"], sync_frequency=minutes)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["sync_frequency"] == minutes
        assert details(api, created["id"])["sync_frequency"] == minutes
    for bad in (7, 0, -5, 2880, True, 5.0, "60"):
        response = patch(api, created["id"], sync_frequency=bad)
        assert response.status_code == 400, bad
        assert set(response.json()) == {"code", "message"} and response.json()["code"] == "BadRequest"
        assert "sync_frequency" in response.json()["message"]
    # A refused PATCH changes nothing, not even its valid parts.
    assert patch(api, created["id"], sync_frequency=7, schedule_type="manual").status_code == 400
    after = details(api, created["id"])
    assert (after["sync_frequency"], after["schedule_type"]) == (1440, "auto")


def test_daily_sync_time_shows_only_with_a_daily_frequency(api):
    created = create(api)
    assert "daily_sync_time" not in created
    set_both = patch(api, created["id"], sync_frequency=1440, daily_sync_time="03:00").json()["data"]
    assert set_both["daily_sync_time"] == "03:00"
    hourly = patch(api, created["id"], sync_frequency=60).json()["data"]
    assert "daily_sync_time" not in hourly and "daily_sync_time" not in details(api, created["id"])
    assert patch(api, created["id"], sync_frequency=1440).json()["data"]["daily_sync_time"] == "03:00"
    for bad in ("3:00", "03:30", "24:00", 3):
        response = patch(api, created["id"], daily_sync_time=bad)
        assert response.status_code == 400 and response.json()["code"] == "BadRequest", bad
    assert details(api, created["id"])["daily_sync_time"] == "03:00"


# --- the schedule -------------------------------------------------------------------------------------


def test_clock_control_sets_and_refuses_time_scales(api):
    assert api.get("/_control/clock").json()["time_scale"] == 1
    set_time_scale(api, 60)
    assert api.get("/_control/clock").json()["time_scale"] == 60
    for bad in (0, -1, "fast", True, None):
        response = api.put("/_control/clock", json={"time_scale": bad})
        assert response.status_code == 400 and response.json()["code"] == "BadRequest", bad
    assert api.get("/_control/clock").json()["time_scale"] == 60


def test_incremental_syncs_follow_sync_frequency_and_land_new_rows(api, receiver, writer, synced):
    set_time_scale(api, 600)  # a 5-minute frequency: a sync every half second
    connection = synced(sync_frequency=5)
    connection_id = connection["id"]
    historical_end = connection["succeeded_at"]
    ends = wait_for(lambda: len(e := sync_ends(receiver, connection_id)) >= 4 and e, "three incremental syncs")
    patch(api, connection_id, paused=True)
    assert all(end["data"] == {"status": "SUCCESSFUL"} for end in ends)
    starts = events_for(receiver, connection_id, "sync_start")
    assert [start["sync_id"] for start in starts[:4]] == [end["sync_id"] for end in ends[:4]]
    # Each sync starts one period (300 s / 600 = 0.5 s real) after the one before it.
    for earlier, later in zip(starts[1:3], starts[2:4]):
        assert 0.45 <= gap_seconds(earlier, later) <= 1.5

    after = details(api, connection_id)
    assert after["succeeded_at"] > historical_end and after["failed_at"] is None
    assert after["status"]["is_historical_sync"] is False and after["status"]["update_state"] == "on_schedule"

    # The historical sync replaced each table; every later sync appended the rows the source gained.
    writes: dict[str, list[LandedTable]] = {}
    for table in writer.of(connection_id):
        writes.setdefault(table.table, []).append(table)
    grown = [name for name, tables in writes.items() if any(t.append for t in tables)]
    assert grown, "no table gained rows"
    for name in grown:
        first, *later = writes[name]
        assert first.append is False and first.first_row == 0 and first.row_count > 0
        total = first.row_count
        for table in later:
            assert table.append and table.first_row == total and 1 <= table.row_count <= 5
            total += table.row_count
        assert state(api, connection_id)["landed_tables"][f"{connection['schema']}.{name}"]["rows"] == total
    # A table empty at the source stays empty: it is landed once and never appended to.
    assert all(len(tables) == 1 for tables in writes.values() if tables[0].row_count == 0)


def test_a_new_frequency_or_time_scale_moves_the_next_sync(api, receiver, synced):
    set_time_scale(api, 600)
    connection_id = synced(sync_frequency=1440)["id"]  # daily: 144 s away even at this scale
    control = state(api, connection_id)
    waited = (parse(control["next_sync_at"]) - parse(control["last_sync_started_at"])).total_seconds()
    assert waited == pytest.approx(1440 * 60 / 600, abs=0.001)
    time.sleep(0.4)
    assert len(sync_ends(receiver, connection_id)) == 1

    patch(api, connection_id, sync_frequency=1)  # now overdue: the next sync starts at once
    wait_for(lambda: len(sync_ends(receiver, connection_id)) >= 2, "a sync at the new frequency", timeout=3)

    patch(api, connection_id, sync_frequency=60)
    set_time_scale(api, 1)  # an hour of real time away
    settled = len(sync_ends(receiver, connection_id))
    time.sleep(0.5)
    assert len(sync_ends(receiver, connection_id)) <= settled + 1  # at most the one already running
    set_time_scale(api, 36_000)  # 60 minutes in 0.1 s: the sleeping schedule wakes up
    wait_for(lambda: len(sync_ends(receiver, connection_id)) >= settled + 2, "a sync after the new time scale", timeout=3)


def test_daily_sync_time_sets_the_hour_of_the_next_sync(api, synced):
    set_time_scale(api, 3600)  # an hour per second
    connection = synced(sync_frequency=1440)
    hour = (parse(connection["succeeded_at"]).hour + 2) % 24
    daily = f"{hour:02d}:00"
    assert patch(api, connection["id"], daily_sync_time=daily).json()["data"]["daily_sync_time"] == daily
    control = state(api, connection["id"])
    started = parse(control["last_sync_started_at"])
    expected = seconds_to_hour_of_day(started, daily) / 3600
    assert 1 <= expected <= 3
    assert (parse(control["next_sync_at"]) - started).total_seconds() == pytest.approx(expected, abs=0.001)


def test_a_manual_schedule_syncs_only_when_asked(api, receiver, synced):
    set_time_scale(api, 600)
    connection_id = synced(schedule_type="manual", sync_frequency=5)["id"]
    assert state(api, connection_id)["next_sync_at"] is None
    time.sleep(0.7)  # more than one period
    assert len(sync_ends(receiver, connection_id)) == 1
    assert api.post(f"/v1/connections/{connection_id}/sync", json={}).status_code == 200
    wait_for(lambda: len(sync_ends(receiver, connection_id)) == 2, "the requested sync")
    time.sleep(0.7)
    assert len(sync_ends(receiver, connection_id)) == 2


def test_a_failed_incremental_sync_is_retried_on_schedule(api, receiver, synced):
    set_time_scale(api, 600)
    connection_id = synced(sync_frequency=5)["id"]
    api.post("/_control/faults", json={"kind": "fail_sync", "connection_id": connection_id})
    failed = wait_for_state(api, connection_id, lambda d: d["failed_at"] is not None, "a failed sync")
    assert failed["status"]["is_historical_sync"] is False and failed["status"]["update_state"] == "delayed"
    assert failed["status"]["setup_state"] == "connected" and failed["failed_at"] > failed["succeeded_at"]
    recovered = wait_for_state(api, connection_id, lambda d: d["succeeded_at"] > d["failed_at"], "the next sync")
    assert recovered["status"]["update_state"] == "on_schedule"

    def after_failure() -> tuple[dict, dict] | None:
        ends = sync_ends(receiver, connection_id)
        failures = [index for index, end in enumerate(ends) if end["data"]["status"] != "SUCCESSFUL"]
        return failures and len(ends) > failures[0] + 1 and (ends[failures[0]], ends[failures[0] + 1])

    failure, retry = wait_for(after_failure, "the webhooks of the failure and the retry")
    assert failure["data"] == {"status": "FAILURE", "reason": "Emulated sync failure"}
    assert retry["data"]["status"] == "SUCCESSFUL" and gap_seconds(failure, retry) >= 0.2


@pytest.fixture
def slow_syncs(tmp_path) -> Iterator[tuple[httpx.Client, WebhookReceiver]]:
    """An emulator whose syncs take a second, so a test can act while one runs; its schedule runs
    600 times faster than real time from the start."""
    server = ServerThread(create_app(data_dir=tmp_path, sync_seconds=1.0, time_scale=600, group_ids=(GROUP,))).start()
    hook = WebhookReceiver().start()
    with httpx.Client(base_url=server.url, auth=AUTH, timeout=15) as client:
        client.post(f"/v1/webhooks/group/{GROUP}", json={"url": hook.url, "events": EVENTS, "secret": "s"})
        yield client, hook
    hook.stop()
    server.stop()


def running_sync(api: httpx.Client, connection_id: str, *, historical: bool) -> str:
    sync = wait_for(lambda: (s := state(api, connection_id)["sync"]) and s["historical"] is historical and s, "a running sync")
    return sync["id"]


def ended(receiver: WebhookReceiver, connection_id: str, sync_id: str) -> dict:
    return wait_for(lambda: [e for e in sync_ends(receiver, connection_id) if e["sync_id"] == sync_id], f"the end of {sync_id}")[0]


def test_pause_or_force_cancels_the_running_sync(slow_syncs):
    api, receiver = slow_syncs
    assert api.get("/_control/clock").json()["time_scale"] == 600
    connection_id = create(api, sync_frequency=1)["id"]  # a period of 0.1 s: syncs follow each other
    api.post(f"/_control/connections/{connection_id}/complete-card")
    patch(api, connection_id, paused=False)
    running = running_sync(api, connection_id, historical=True)
    assert api.post(f"/v1/connections/{connection_id}/sync", json={"force": True}).status_code == 200
    # The forced sync stops the running one, which ends CANCELED, and starts again at once.
    assert ended(receiver, connection_id, running)["data"] == {"status": "CANCELED"}
    assert running_sync(api, connection_id, historical=True) != running
    wait_for_state(api, connection_id, historical_done, "the historical sync")

    running = running_sync(api, connection_id, historical=False)
    paused = patch(api, connection_id, paused=True).json()["data"]
    assert paused["status"]["sync_state"] == "paused"
    assert ended(receiver, connection_id, running)["data"] == {"status": "CANCELED"}
    assert state(api, connection_id)["next_sync_at"] is None
    settled = len(events_for(receiver, connection_id, "sync_start"))
    time.sleep(0.5)  # five periods: no sync while paused
    assert len(events_for(receiver, connection_id, "sync_start")) == settled

    patch(api, connection_id, paused=False)  # overdue: the next sync starts at once
    assert running_sync(api, connection_id, historical=False) != running


# --- webhooks of actions ------------------------------------------------------------------------------


def test_every_action_sends_its_signed_webhook(api, receiver):
    created = create(api)
    connection_id, schema = created["id"], created["schema"]
    api.post(f"/_control/connections/{connection_id}/complete-card")
    patch(api, connection_id, sync_frequency=60, schedule_type="auto")
    patch(api, connection_id, paused=False)
    wait_for_state(api, connection_id, historical_done, "the historical sync")
    assert api.post(f"/v1/connections/{connection_id}/sync", json={}).status_code == 200
    wait_for(lambda: len(sync_ends(receiver, connection_id)) == 2, "the requested sync")
    patch(api, connection_id, paused=True)
    assert api.post(f"/v1/connections/{connection_id}/schemas/{schema}/tables/contact/resync").status_code == 200
    assert api.delete(f"/v1/connections/{connection_id}").status_code == 200

    expected = ["create_connector", "connection_successful", "edit_connector", "resume_connector", "sync_start", "sync_end",
                "force_update_connector", "sync_start", "sync_end", "pause_connector", "resync_table", "delete_connector"]
    events = wait_for(lambda: len(e := events_for(receiver, connection_id)) >= len(expected) and e, "every webhook")
    assert [event["event"] for event in events] == expected
    by_name = {event["event"]: event for event in events}
    assert by_name["edit_connector"]["data"] == {"actor": "emulator@example.com", "properties": {"sync_frequency": 60}}
    assert by_name["force_update_connector"]["data"] == {"actor": "emulator@example.com", "force": False}
    assert by_name["resync_table"]["data"] == {"actor": "emulator@example.com", "schema": schema, "table": "contact"}
    for name in ("create_connector", "resume_connector", "pause_connector", "delete_connector"):
        assert by_name[name]["data"] == {"actor": "emulator@example.com"}
    for event in events:
        assert event["connector_id"] == connection_id and event["connector_name"] == schema
        assert event["connector_type"] == "hubspot" and event["destination_group_id"] == GROUP
        # Only the events of a sync carry its id.
        assert ("sync_id" in event) is (event["event"] in ("sync_start", "sync_end"))
    for item in receiver.received:
        body = json.loads(item["body"])
        if body.get("connector_id") == connection_id:
            expected_signature = hmac.new(b"whsec_life", item["body"], hashlib.sha256).hexdigest().upper()
            assert item["headers"]["x-fivetran-signature-256"] == expected_signature


def test_a_historical_resync_re_imports_every_table(api, receiver, writer, synced):
    connection = synced()
    connection_id = connection["id"]
    landed_once = len(writer.of(connection_id))
    resynced = patch(api, connection_id, is_historical_sync=True).json()["data"]
    assert resynced["status"]["is_historical_sync"] is True
    done = wait_for_state(api, connection_id, lambda d: historical_done(d) and d["succeeded_at"] > connection["succeeded_at"], "re-sync")
    assert done["status"]["sync_state"] == "scheduled"
    again = writer.of(connection_id)[landed_once:]
    assert [t.table for t in again] == [t.table for t in writer.of(connection_id)[:landed_once]]
    assert not any(t.append for t in again)
    last = ["resync_connector", "sync_start", "sync_end"]
    wait_for(lambda: [e["event"] for e in events_for(receiver, connection_id)][-3:] == last, "the re-sync's webhooks")

    database = synced("postgres")
    assert api.post(f"/v1/connections/{database['id']}/resync", json={"scope": {"public": ["orders"]}}).status_code == 200
    resync = wait_for(lambda: events_for(receiver, database["id"], "resync_connector"), "resync_connector")[0]
    assert resync["data"] == {"actor": "emulator@example.com", "scope": {"public": ["orders"]}}


# --- deleted on Fivetran's side -------------------------------------------------------------------------


def test_a_connection_deleted_on_fivetrans_side_answers_404_from_then_on(api, receiver, synced):
    set_time_scale(api, 600)
    connection = synced(sync_frequency=5)
    connection_id = connection["id"]
    deleted = api.delete(f"/_control/connections/{connection_id}")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": connection_id}

    not_found = {"code": "NotFound_Integration", "message": f"Cannot find entity 'Integration' with id '{connection_id}'"}
    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/sync"), ("GET", "/schemas"), ("DELETE", "")):
        response = api.request(method, f"/v1/connections/{connection_id}{path}", json={} if method != "GET" else None)
        assert response.status_code == 404 and response.json() == not_found, (method, path)
    assert connection_id not in [c["id"] for c in api.get("/v1/connections", params={"limit": 1000}).json()["data"]["items"]]
    assert api.delete(f"/_control/connections/{connection_id}").json()["code"] == "NotFound_Integration"

    end = wait_for(lambda: events_for(receiver, connection_id, "delete_connector"), "delete_connector")[0]
    assert end["data"] == {"actor": "emulator@example.com"}
    settled = len(events_for(receiver, connection_id))
    time.sleep(0.7)  # more than one period: its schedule died with it
    assert len(events_for(receiver, connection_id)) == settled


# --- a source gaining tables ----------------------------------------------------------------------------


def add_table(api: httpx.Client, connection_id: str, **body: Any) -> httpx.Response:
    return api.post(f"/_control/connections/{connection_id}/add-table", json=body)


def sync_now(api: httpx.Client, receiver: WebhookReceiver, connection_id: str) -> dict:
    """POST …/sync, then the sync_end webhook of the sync it started."""
    before = len(sync_ends(receiver, connection_id))
    assert api.post(f"/v1/connections/{connection_id}/sync", json={}).status_code == 200
    return wait_for(lambda: len(e := sync_ends(receiver, connection_id)) > before and e[before], "the sync's end")


def tables(api: httpx.Client, connection_id: str, schema: str) -> dict[str, dict]:
    return api.get(f"/v1/connections/{connection_id}/schemas").json()["data"]["schemas"][schema]["tables"]


def test_a_table_the_source_gains_is_synced_under_allow_all(api, receiver, writer, synced):
    connection = synced()
    connection_id, schema = connection["id"], connection["schema"]
    response = add_table(api, connection_id, table="Invoice Lines", columns=["id:INT64", "amount:NUMERIC", "note"], rows=7)
    assert response.status_code == 201, response.text
    assert response.json() == {"schema": schema, "table": "Invoice Lines", "rows": 7, "name_in_destination": "invoice_lines",
                               "columns": [["id", "INT64"], ["amount", "NUMERIC"], ["note", "STRING"]]}
    # Fivetran notices a new table when it next reads the source, at the next sync.
    assert "Invoice Lines" not in tables(api, connection_id, schema)

    landed_before = len(writer.of(connection_id))
    assert sync_now(api, receiver, connection_id)["data"] == {"status": "SUCCESSFUL"}
    table = tables(api, connection_id, schema)["Invoice Lines"]
    assert table["enabled"] is True and table["name_in_destination"] == "invoice_lines"
    assert table["enabled_patch_settings"] == {"allowed": True}
    written = {t.table: t for t in writer.of(connection_id)[landed_before:]}
    new = written["invoice_lines"]
    assert (new.append, new.first_row, new.row_count, new.dataset) == (False, 0, 7, schema)
    assert new.columns == (("id", "INT64"), ("amount", "NUMERIC"), ("note", "STRING"), ("_fivetran_synced", "TIMESTAMP"))
    assert all(t.append for name, t in written.items() if name != "invoice_lines")  # the rest: incremental
    columns = api.get(f"/v1/connections/{connection_id}/schemas/{schema}/tables/Invoice%20Lines/columns").json()["data"]["columns"]
    assert list(columns) == ["id", "amount", "note"] and columns["id"]["is_primary_key"] is True

    # It grows with the next sync like any other table.
    sync_now(api, receiver, connection_id)
    grown = [t for t in writer.of(connection_id) if t.table == "invoice_lines"][-1]
    assert grown.append and grown.first_row == 7


@pytest.mark.parametrize("handling", ["BLOCK_ALL", "ALLOW_COLUMNS"])
def test_a_new_table_waits_disabled_until_enabled_unless_allow_all(api, receiver, writer, synced, handling):
    connection = synced()
    connection_id, schema = connection["id"], connection["schema"]
    api.patch(f"/v1/connections/{connection_id}/schemas", json={"schema_change_handling": handling})
    assert add_table(api, connection_id, table="refund_note").status_code == 201
    sync_now(api, receiver, connection_id)
    table = tables(api, connection_id, schema)["refund_note"]
    assert table["enabled"] is False and table["enabled_patch_settings"] == {"allowed": True}
    assert "refund_note" not in [t.table for t in writer.of(connection_id)]

    # Enabled by the user, it is synced whole at the next sync while the others go on incrementally.
    api.patch(f"/v1/connections/{connection_id}/schemas", json={"schemas": {schema: {"tables": {"refund_note": {"enabled": True}}}}})
    landed_before = len(writer.of(connection_id))
    sync_now(api, receiver, connection_id)
    written = {t.table: t for t in writer.of(connection_id)[landed_before:]}
    assert (written["refund_note"].append, written["refund_note"].row_count) == (False, 20)
    assert [name for name, t in written.items() if not t.append] == ["refund_note"]


def test_a_database_source_gaining_a_schema_and_a_reload_seeing_it_first(api, synced):
    database = synced("postgres")  # database connections start with ALLOW_COLUMNS
    connection_id = database["id"]
    assert add_table(api, connection_id, schema="billing", table="invoices", columns=["invoice_id:INT64", "total"]).status_code == 201
    assert add_table(api, connection_id, table="coupons").json()["schema"] == "public"  # the first schema by default
    reloaded = api.post(f"/v1/connections/{connection_id}/schemas/reload", json={"exclude_mode": "PRESERVE"}).json()["data"]
    billing = reloaded["schemas"]["billing"]
    assert billing["enabled"] is False and billing["name_in_destination"] == "billing"
    assert billing["tables"]["invoices"]["enabled"] is False and billing["tables"]["invoices"]["sync_mode"] == "SOFT_DELETE"
    assert reloaded["schemas"]["public"]["tables"]["coupons"]["enabled"] is False
    assert reloaded["schemas"]["public"]["tables"]["customers"]["enabled"] is True  # existing choices kept


def test_add_table_refuses_what_no_source_could_gain(api, synced):
    connection = synced()
    connection_id = connection["id"]
    assert add_table(api, connection_id, table="contact").status_code == 409  # the sample already has it
    for bad in ({}, {"table": ""}, {"table": 5}, {"table": "t", "columns": []}, {"table": "t", "columns": ["a b"]},
                {"table": "t", "columns": ["a:VARCHAR"]}, {"table": "t", "columns": ["a", "a"]}, {"table": "t", "rows": -1},
                {"table": "t", "rows": True}):
        response = add_table(api, connection_id, **bad)
        assert response.status_code == 400 and response.json()["code"] == "BadRequest", bad
    sheet = api.post("/v1/connections", json={"group_id": GROUP, "service": "google_sheets",
                                              "config": {"schema": unique("sheet"), "table": "sheet"}}).json()["data"]
    assert add_table(api, sheet["id"], table="another").status_code == 400
    assert add_table(api, "no_such_connection", table="t").json()["code"] == "NotFound_Integration"


# --- table re-sync ---------------------------------------------------------------------------------------


def test_a_table_re_sync_re_lands_that_table_with_every_row(api, receiver, writer, synced):
    connection = synced()
    connection_id, schema = connection["id"], connection["schema"]
    for _ in range(2):
        sync_now(api, receiver, connection_id)
    # A table with rows (row counts hash the names; a few tables are empty at the source).
    first = next(t for t in writer.of(connection_id) if t.row_count > 0)
    name = first.table
    held = state(api, connection_id)["landed_tables"][f"{schema}.{name}"]["rows"]
    assert held > first.row_count  # two incremental syncs added rows

    landed_before = len(writer.of(connection_id))
    ends_before = len(sync_ends(receiver, connection_id))
    assert api.post(f"/v1/connections/{connection_id}/schemas/{schema}/tables/{name}/resync").json() == {
        "code": "Success", "message": "Table resync initiated"}
    wait_for(lambda: len(sync_ends(receiver, connection_id)) > ends_before, "the re-sync")
    again = writer.of(connection_id)[landed_before:]
    assert [(t.table, t.append, t.first_row, t.row_count) for t in again] == [(name, False, 0, held)]
    after = details(api, connection_id)
    assert after["status"]["is_historical_sync"] is False and after["status"]["sync_state"] == "scheduled"
    assert [e["event"] for e in events_for(receiver, connection_id)][-3:] == ["resync_table", "sync_start", "sync_end"]
    assert state(api, connection_id)["landed_tables"][f"{schema}.{name}"]["rows"] == held


# --- faults per connection --------------------------------------------------------------------------------


def test_sync_faults_hit_only_their_connection_and_the_schedule_goes_on(api, receiver, synced):
    set_time_scale(api, 600)
    broken_id, rescheduled_id, healthy_id = (synced(sync_frequency=5)["id"] for _ in range(3))
    api.post("/_control/faults", json={"kind": "break", "connection_id": broken_id})
    api.post("/_control/faults", json={"kind": "reschedule", "connection_id": rescheduled_id, "retry_after": 1})

    broken = wait_for_state(api, broken_id, lambda d: d["status"]["setup_state"] == "broken", "the break")
    assert broken["status"]["tasks"] == [{"code": "reconnect", "message": "Reconnect"}]
    assert broken["failed_at"] > broken["succeeded_at"] and broken["status"]["is_historical_sync"] is False
    failure = wait_for(lambda: [e for e in sync_ends(receiver, broken_id) if e["data"]["status"] != "SUCCESSFUL"], "its sync_end")[0]
    assert failure["data"] == {"status": "FAILURE_WITH_TASK", "reason": "Emulated: access token was revoked", "taskType": "reconnect"}
    wait_for(lambda: events_for(receiver, broken_id, "connection_failure"), "connection_failure")

    rescheduled = wait_for_state(api, rescheduled_id, lambda d: d["status"]["sync_state"] == "rescheduled", "the reschedule")
    assert rescheduled["status"]["rescheduled_for"] and rescheduled["status"]["setup_state"] == "connected"
    end = wait_for(lambda: [e for e in sync_ends(receiver, rescheduled_id) if e["data"]["status"] == "RESCHEDULED"], "RESCHEDULED")[0]
    assert end["data"]["reason"] and end["data"]["rescheduledAt"]

    # The healthy connection never noticed; the broken one waits for its user.
    healthy_before = len(sync_ends(receiver, healthy_id))
    broken_before = len(events_for(receiver, broken_id, "sync_start"))
    wait_for(lambda: len(sync_ends(receiver, healthy_id)) >= healthy_before + 2, "two more healthy syncs")
    assert all(e["data"]["status"] == "SUCCESSFUL" for e in sync_ends(receiver, healthy_id))
    assert len(events_for(receiver, broken_id, "sync_start")) == broken_before
    assert state(api, broken_id)["next_sync_at"] is None
    # The reschedule is over after its second: the connection syncs on.
    wait_for_state(api, rescheduled_id, lambda d: d["succeeded_at"] > rescheduled["succeeded_at"], "the rescheduled sync", timeout=5)

    # Reconnected through the Connect Card, the broken connection syncs again at once.
    repaired = api.post(f"/_control/connections/{broken_id}/complete-card").json()["data"]
    assert repaired["status"]["setup_state"] == "connected" and repaired["status"]["tasks"] == []
    assert repaired["status"]["update_state"] == "on_schedule"
    wait_for_state(api, broken_id, lambda d: d["succeeded_at"] > broken["failed_at"], "a sync after the repair")


# --- restart ----------------------------------------------------------------------------------------------


def test_the_schedule_survives_a_restart(tmp_path):
    first = EmulatorProcess(tmp_path, sync_seconds=0.2, extra=["--time-scale", "3600"]).start()
    try:
        with first.client() as api:
            created = create(api, sync_frequency=60)  # hourly: every second at ×3600
            api.post(f"/_control/connections/{created['id']}/complete-card")
            patch(api, created["id"], paused=False)
            before = wait_for_state(api, created["id"], historical_done, "the historical sync")
    finally:
        first.stop()
    second = EmulatorProcess(tmp_path, sync_seconds=0.2, port=first.port, extra=["--time-scale", "3600"]).start()
    try:
        with second.client() as api:
            assert api.get("/_control/clock").json()["time_scale"] == 3600
            # The first request after the restart picks the schedule up again from the stored state.
            wait_for_state(api, created["id"], lambda d: d["succeeded_at"] > before["succeeded_at"], "a scheduled sync", timeout=10)
            patch(api, created["id"], paused=True)
    finally:
        second.stop()
