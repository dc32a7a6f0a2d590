"""A connection's life after its historical sync, as the emulator plays it (issue #12): schedule
settings, scheduled incremental syncs under a time scale, the webhooks of every sync and action, a
source gaining tables, table re-syncs, a connection deleted on Fivetran's side, faults per connection.

The emulator runs in a thread with a recording writer; its time scale makes Fivetran's minutes short.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from standins.fivetran.app import create_app
from standins.fivetran.testing import ServerThread, WebhookReceiver
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
