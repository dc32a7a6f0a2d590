"""The emulator answers in the shapes of the reference fixtures: same keys (recursively), same JSON types.

Values differ (ids, times); shapes must not. Maps keyed by source names (schemas, tables, columns) are
compared entry by entry against the fixture's entries: each emulator entry must look like one of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from standins.fivetran.testing import EmulatorProcess, WebhookReceiver
from standins.fivetran.webhooks import signature
from tests.support.paths import FIVETRAN_FIXTURES as FIXTURES

GROUP = "embedded_group"
NAME_KEYED = {"schemas", "tables", "columns", "properties"}
# Keys the reference documents as conditional, so an object may carry them although a fixture does not:
# columns (§2.7, listed only sometimes), reason/reason_code (only when allowed is false),
# rescheduled_for (only when rescheduled). A key the fixture has is always required.
OPTIONAL_KEYS = {"columns", "reason", "reason_code", "rescheduled_for"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def shape_errors(actual: Any, expected: Any, path: str = "$", name_keyed: bool = False, lenient_nulls: bool = False) -> list[str]:
    """Differences in shape; `lenient_nulls` lets null and a value stand for each other (lists mix stages)."""
    def recurse(a: Any, e: Any, p: str, keyed: bool = False) -> list[str]:
        return shape_errors(a, e, p, keyed, lenient_nulls)

    if name_keyed:
        errors = []
        for key, value in actual.items():
            candidates = [recurse(value, option, f"{path}[{key!r}]") for option in expected.values()]
            if not any(not c for c in candidates):
                errors.append(f"{path}[{key!r}] matches no fixture entry: {min(candidates, key=len)}")
        return errors
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected object, got {type(actual).__name__}"]
        missing = set(expected) - set(actual)
        extra = set(actual) - set(expected) - OPTIONAL_KEYS
        if missing or extra:
            return [f"{path}: missing {sorted(missing)}, extra {sorted(extra)}"]
        errors = []
        for key in expected:
            errors += recurse(actual[key], expected[key], f"{path}.{key}", key in NAME_KEYED)
        return errors
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected list, got {type(actual).__name__}"]
        errors = []
        for index, item in enumerate(actual):
            if expected and all(recurse(item, option, f"{path}[{index}]") for option in expected):
                errors.append(f"{path}[{index}] matches no fixture item: {recurse(item, expected[0], path)}")
        return errors
    if lenient_nulls and (expected is None or actual is None):
        return []
    if expected is None:
        return [] if actual is None else [f"{path}: expected null, got {actual!r}"]
    if type(actual) is not type(expected):
        return [f"{path}: expected {type(expected).__name__}, got {type(actual).__name__} ({actual!r})"]
    return []


def assert_shape(actual: Any, fixture_name: str, *, lenient_nulls: bool = False) -> None:
    errors = shape_errors(actual, fixture(fixture_name), lenient_nulls=lenient_nulls)
    assert not errors, f"{fixture_name}:\n" + "\n".join(errors)


# --- a shared emulator and receiver ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(tmp_path_factory.mktemp("shapes"), sync_seconds=1.0).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


@pytest.fixture
def api(emulator) -> Iterator[httpx.Client]:
    with emulator.client() as client:
        yield client
        client.delete("/_control/faults")


_names = iter(range(1000))


def create(api: httpx.Client, service: str = "hubspot") -> httpx.Response:
    body = fixture("POST_connections.request.json") | {"group_id": GROUP, "service": service}
    name = f"shape_{next(_names)}_{int(time.time()) % 10000}"
    body["config"] = {"schema_prefix": name} if service == "postgres" else {"schema": name}
    response = api.post("/v1/connections", json=body)
    assert response.status_code == 201, response.text
    return response


def get(api: httpx.Client, connection_id: str) -> dict:
    return api.get(f"/v1/connections/{connection_id}").json()


def wait_until(api: httpx.Client, connection_id: str, predicate: Callable[[dict], bool], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = get(api, connection_id)
        if predicate(body["data"]):
            return body
        time.sleep(0.02)
    raise AssertionError(f"state not reached for {connection_id}")


def done(data: dict) -> bool:
    return data["status"]["is_historical_sync"] is False and data["succeeded_at"] is not None


# --- connections through their lifecycle -------------------------------------------------------------------------


def test_create_connect_card_and_the_happy_path_stages(api):
    created = create(api)
    assert_shape(created.json(), "POST_connections.response_201.json")
    connection_id = created.json()["data"]["id"]
    assert_shape(get(api, connection_id), "GET_connections_ID.1_created_incomplete.json")

    card = api.post(f"/v1/connections/{connection_id}/connect-card", json=fixture("POST_connections_ID_connect-card.request.json"))
    assert_shape(card.json(), "POST_connections_ID_connect-card.response.json")

    api.post(f"/_control/connections/{connection_id}/complete-card")
    assert_shape(get(api, connection_id), "GET_connections_ID.2_connected_paused.json")

    patched = api.patch(f"/v1/connections/{connection_id}", json=fixture("PATCH_connections_ID.request.json"))
    assert_shape(patched.json(), "PATCH_connections_ID.response.json")
    assert_shape(get(api, connection_id), "GET_connections_ID.3_unpaused_scheduled.json")
    syncing = wait_until(api, connection_id, lambda d: d["status"]["sync_state"] == "syncing")
    assert_shape(syncing, "GET_connections_ID.4_historical_syncing.json")
    assert_shape(wait_until(api, connection_id, done), "GET_connections_ID.5_historical_done.json")

    sync = api.post(f"/v1/connections/{connection_id}/sync", json=fixture("POST_connections_ID_sync.request.json"))
    assert_shape(sync.json(), "POST_connections_ID_sync.response.json")
    assert_shape(api.delete(f"/v1/connections/{connection_id}").json(), "DELETE_connections_ID.response.json")


def test_failure_stages(api):
    failing = create(api).json()["data"]["id"]
    api.post("/_control/faults", json={"kind": "fail_sync", "connection_id": failing, "times": 5})
    api.post(f"/_control/connections/{failing}/complete-card")
    api.patch(f"/v1/connections/{failing}", json={"paused": False})
    assert_shape(wait_until(api, failing, lambda d: d["failed_at"] is not None), "GET_connections_ID.6_sync_failed_retrying.json")

    breaking = create(api).json()["data"]["id"]
    api.post(f"/_control/connections/{breaking}/complete-card")
    api.patch(f"/v1/connections/{breaking}", json={"paused": False})
    wait_until(api, breaking, done)
    api.post("/_control/faults", json={"kind": "break", "connection_id": breaking})
    api.post(f"/v1/connections/{breaking}/sync", json={"force": True})
    broken = wait_until(api, breaking, lambda d: d["status"]["setup_state"] == "broken")
    assert_shape(broken, "GET_connections_ID.7_broken_needs_action.json")

    later = create(api).json()["data"]["id"]
    api.post("/_control/faults", json={"kind": "reschedule", "connection_id": later, "retry_after": 5})
    api.post(f"/_control/connections/{later}/complete-card")
    api.patch(f"/v1/connections/{later}", json={"paused": False})
    assert_shape(wait_until(api, later, lambda d: d["status"]["sync_state"] == "rescheduled"), "GET_connections_ID.8_rescheduled.json")


def test_lists_and_groups(api):
    for _ in range(3):
        create(api)
    # Other tests leave connections in every stage, so timestamps may be null or set here.
    listed = api.get("/v1/connections", params={"limit": 1000}).json()
    assert_shape(listed, "GET_connections.response.json", lenient_nulls=True)
    first_page = api.get(f"/v1/groups/{GROUP}/connections", params={"limit": 2}).json()
    assert "next_cursor" in first_page["data"]
    assert_shape(first_page, "GET_groups_ID_connections.response.json", lenient_nulls=True)
    assert_shape(api.get("/v1/groups").json(), "GET_groups.response.json")
    assert_shape(api.get(f"/v1/groups/{GROUP}").json(), "GET_groups_ID.response.json")
    assert_shape(api.get(f"/v1/destinations/{GROUP}").json(), "GET_destinations_ID.big_query.response.json")
    assert_shape(api.get("/v1/account/info").json(), "GET_account_info.response.json")


def test_metadata(api):
    assert_shape(api.get("/v1/metadata/connector-types", params={"limit": 4}).json(), "GET_metadata_connector-types.response.json")
    for service in ("hubspot", "postgres", "google_sheets"):
        assert_shape(api.get(f"/v1/metadata/connector-types/{service}").json(), "GET_metadata_connector-types_ID.response.json")


# --- schema config ----------------------------------------------------------------------------------------------


def test_schema_configs(api):
    hubspot = create(api).json()["data"]
    reloaded = api.post(f"/v1/connections/{hubspot['id']}/schemas/reload", json=fixture("POST_connections_ID_schemas_reload.request.json"))
    assert_shape(reloaded.json(), "POST_connections_ID_schemas_reload.response.json")
    assert_shape(api.get(f"/v1/connections/{hubspot['id']}/schemas").json(), "GET_connections_ID_schemas.hubspot.json")

    request = fixture("PATCH_connections_ID_schemas.request.json")
    request["schemas"] = {hubspot["schema"]: request["schemas"]["u42_hubspot"]}
    patched = api.patch(f"/v1/connections/{hubspot['id']}/schemas", json=request).json()
    assert_shape(patched, "PATCH_connections_ID_schemas.response.json")
    # The fixture pair also fixes the values the request changes.
    expected_tables = fixture("PATCH_connections_ID_schemas.response.json")["data"]["schemas"]["u42_hubspot"]["tables"]
    tables = patched["data"]["schemas"][hubspot["schema"]]["tables"]
    for name in ("engagement", "ticket", "email_event", "deal_pipeline", "form_submission"):
        assert tables[name]["enabled"] == expected_tables[name]["enabled"], name
    assert patched["data"]["schema_change_handling"] == "BLOCK_ALL"

    postgres = create(api, "postgres").json()["data"]
    api.post(f"/_control/connections/{postgres['id']}/complete-card")
    assert_shape(api.get(f"/v1/connections/{postgres['id']}/schemas").json(), "GET_connections_ID_schemas.postgres.json")

    resync = api.post(f"/v1/connections/{postgres['id']}/resync", json=fixture("POST_connections_ID_resync.request.json"))
    assert_shape(resync.json(), "POST_connections_ID_resync.response.json")


# --- errors ------------------------------------------------------------------------------------------------------


def test_error_envelopes(api):
    assert_shape(api.post("/v1/connections", json={"service": "hubspot"}).json(), "error.400_BadRequest.json")
    assert_shape(api.get("/v1/connections/no_such_conn").json(), "error.404_NotFound_Integration.json")
    assert api.get("/v1/connections/no_such_conn").json() == fixture("error.404_NotFound_Integration.json")
    fresh = create(api).json()["data"]["id"]
    assert_shape(api.get(f"/v1/connections/{fresh}/schemas").json(), "error.404_NotFound_SchemaConfig.json")
    api.post("/_control/faults", json={"kind": "rate_limit", "retry_after": 60})
    limited = api.get("/v1/groups")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    assert_shape(limited.json(), "error.429_TooManyRequests.json")


# --- webhooks ----------------------------------------------------------------------------------------------------


def test_webhook_management_shapes(api, receiver):
    group_request = fixture("POST_webhooks_group_ID.request.json") | {"url": receiver.url}
    group = api.post(f"/v1/webhooks/group/{GROUP}", json=group_request).json()
    assert_shape(group, "POST_webhooks_group_ID.response.json")
    account = api.post("/v1/webhooks/account", json=fixture("POST_webhooks_account.request.json")).json()
    assert_shape(account, "POST_webhooks_account.response.json")
    listed = api.get("/v1/webhooks").json()
    account_free = {"code": listed["code"], "data": {"items": [w for w in listed["data"]["items"] if w["type"] == "group"]}}
    assert_shape(account_free, "GET_webhooks.response.json")
    tested = api.post(f"/v1/webhooks/{group['data']['id']}/test", json=fixture("POST_webhooks_ID_test.request.json")).json()
    assert_shape(tested, "POST_webhooks_ID_test.response.json")
    api.delete(f"/v1/webhooks/{account['data']['id']}")


def test_webhook_payload_shapes(api, receiver):
    hook = api.post(f"/v1/webhooks/group/{GROUP}", json={"url": receiver.url, "events": ["sync_start", "sync_end"], "secret": "s3"}).json()
    connection_id = create(api).json()["data"]["id"]
    api.post("/_control/faults", json={"kind": "reschedule", "connection_id": connection_id, "retry_after": 1})
    api.post(f"/_control/connections/{connection_id}/complete-card")
    api.patch(f"/v1/connections/{connection_id}", json={"paused": False})
    wait_until(api, connection_id, done)
    api.post("/_control/faults", json={"kind": "break", "connection_id": connection_id})
    api.post(f"/v1/connections/{connection_id}/sync", json={"force": True})
    wait_until(api, connection_id, lambda d: d["status"]["setup_state"] == "broken")

    def payloads() -> list[dict]:
        items = [json.loads(item["body"]) for item in receiver.received]
        return [item for item in items if item["connector_id"] == connection_id]

    def statuses() -> set[str]:
        return {p["data"]["status"] for p in payloads() if p["event"] == "sync_end"}

    # Deliveries are asynchronous: wait for each kind rather than for a count.
    deadline = time.monotonic() + 15
    while not {"SUCCESSFUL", "RESCHEDULED", "FAILURE_WITH_TASK"} <= statuses() and time.monotonic() < deadline:
        time.sleep(0.05)
    by_status = {p["data"]["status"]: p for p in payloads() if p["event"] == "sync_end"}
    assert_shape(next(p for p in payloads() if p["event"] == "sync_start"), "webhook_payload.sync_start.json")
    assert_shape(by_status["SUCCESSFUL"], "webhook_payload.sync_end.successful.json")
    assert_shape(by_status["RESCHEDULED"], "webhook_payload.sync_end.rescheduled.json")
    assert_shape(by_status["FAILURE_WITH_TASK"], "webhook_payload.sync_end.failure_with_task.json")
    api.delete(f"/v1/webhooks/{hook['data']['id']}")


def test_signature_matches_the_worked_example():
    example = fixture("webhook_signature_example.json")
    assert signature(example["secret"], example["raw_body"].encode()) == example["header_value"]


def test_shape_comparison_catches_differences():
    # The comparator itself must be able to fail, or every test above proves nothing.
    good = fixture("GET_connections_ID.5_historical_done.json")
    assert not shape_errors(good, good)
    renamed = json.loads(json.dumps(good))
    renamed["data"]["status"]["syncState"] = renamed["data"]["status"].pop("sync_state")
    assert shape_errors(renamed, good)
    retyped = json.loads(json.dumps(good))
    retyped["data"]["sync_frequency"] = "360"
    assert shape_errors(retyped, good)
    nulled = json.loads(json.dumps(good))
    nulled["data"]["succeeded_at"] = None
    assert shape_errors(nulled, good)
    assert not shape_errors(nulled, good, lenient_nulls=True)
    extra_table = fixture("GET_connections_ID_schemas.hubspot.json")
    extra_table["data"]["schemas"]["u42_hubspot"]["tables"]["deal"]["surprise"] = 1
    assert shape_errors(extra_table, fixture("GET_connections_ID_schemas.hubspot.json"))
