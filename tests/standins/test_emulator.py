"""The Fivetran emulator over real HTTP on loopback (a CLI subprocess, or uvicorn in a thread)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from standins.fivetran.app import create_app
from standins.fivetran.card import make_token
from standins.fivetran.samples import row_count, sample_source
from standins.fivetran.services import load_services
from standins.fivetran.testing import EmulatorProcess, ServerThread, WebhookReceiver
from standins.fivetran.writer import LandedTable
from tests.support.paths import REPO

GROUP = "embedded_group"
REDIRECT = "http://127.0.0.1:9/integrations/connections/17/authorized?next=%2Fdone&tab=setup"


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[EmulatorProcess]:
    process = EmulatorProcess(tmp_path_factory.mktemp("emulator"), sync_seconds=0.6).start()
    yield process
    process.stop()


@pytest.fixture
def api(emulator) -> Iterator[httpx.Client]:
    with emulator.client() as client:
        client.delete("/_control/faults")
        yield client
        client.delete("/_control/faults")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


_counter = iter(range(10_000))


def unique(prefix: str) -> str:
    return f"{prefix}_{next(_counter)}_{int(time.time() * 1000) % 100000}"


def create(api: httpx.Client, service: str = "hubspot", *, paused: bool = True, **config: Any) -> dict[str, Any]:
    services = load_services()
    if not config:
        config = {"schema_prefix" if services[service].is_database else "schema": unique(service)}
        if services[service].single_table:
            config["table"] = services[service].static_config["table"]
    body = {"group_id": GROUP, "service": service, "paused": paused, "run_setup_tests": False, "config": config,
            "connect_card_config": {"redirect_uri": REDIRECT, "hide_setup_guide": True}}
    response = api.post("/v1/connections", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def details(api: httpx.Client, connection_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/connections/{connection_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def wait_for(check: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.03)
    raise AssertionError(f"timed out waiting for {what}")


def wait_for_state(api: httpx.Client, connection_id: str, predicate: Callable[[dict], bool], what: str, timeout: float = 15) -> dict:
    def probe() -> dict | None:
        data = details(api, connection_id)
        return data if predicate(data) else None

    return wait_for(probe, timeout, what)


def historical_done(data: dict) -> bool:
    return data["status"]["is_historical_sync"] is False and data["succeeded_at"] is not None


def start_sync(api: httpx.Client, connection_id: str) -> None:
    assert api.post(f"/_control/connections/{connection_id}/complete-card").status_code == 200
    assert api.patch(f"/v1/connections/{connection_id}", json={"paused": False}).status_code == 200


def add_fault(api: httpx.Client, **fault: Any) -> None:
    response = api.post("/_control/faults", json=fault)
    assert response.status_code == 201, response.text


def webhook_for(api: httpx.Client, receiver: WebhookReceiver, secret: str = "whsec_test") -> dict:
    body = {"url": receiver.url, "events": ["sync_start", "sync_end", "connection_successful", "connection_failure"],
            "active": True, "secret": secret}
    response = api.post(f"/v1/webhooks/group/{GROUP}", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def events_for(receiver: WebhookReceiver, connection_id: str) -> list[dict]:
    return [json.loads(item["body"]) for item in receiver.received if json.loads(item["body"])["connector_id"] == connection_id]


def sync_ends(receiver: WebhookReceiver, connection_id: str) -> list[dict]:
    return [event for event in events_for(receiver, connection_id) if event["event"] == "sync_end"]


def decode_jwt_payload(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- auth, envelope, headers ----------------------------------------------------------------------


def test_requests_without_valid_basic_auth_get_a_401_envelope(emulator):
    for auth in (None, ("emulator-key", "wrong-secret"), ("someone-else", "emulator-secret")):
        with httpx.Client(base_url=emulator.url, auth=auth) as client:
            for path in ("/v1/connections", "/v1/groups", "/_control/requests"):
                response = client.get(path)
                assert response.status_code == 401
                # The real 401 code is unverified; the emulator's choice is "Unauthorized".
                assert response.json()["code"] == "Unauthorized"
                assert response.json()["message"]


def test_every_response_carries_rate_limit_headers(api):
    for response in (api.get("/v1/groups"), api.get("/v1/connections/nope"), httpx.get(f"{str(api.base_url).rstrip('/')}/v1/groups")):
        assert response.headers["X-Rate-Limit"] == "20000"
        assert 0 <= int(response.headers["X-Rate-Limit-Remaining"]) < 20000


# --- create, get, list ----------------------------------------------------------------------------


def test_create_returns_201_with_the_real_defaults_and_a_connect_card(api, emulator):
    body = {"group_id": GROUP, "service": "hubspot", "config": {"schema": unique("defaults")}}
    response = api.post("/v1/connections", json=body)
    assert response.status_code == 201
    assert response.json()["code"] == "Success"
    data = response.json()["data"]
    # Real defaults (§2.1): paused false, 360 minutes, auto; incomplete and scheduled right after creation.
    assert (data["paused"], data["sync_frequency"], data["schedule_type"]) == (False, 360, "auto")
    assert data["status"] == {"setup_state": "incomplete", "sync_state": "scheduled", "update_state": "on_schedule",
                              "is_historical_sync": True, "tasks": [], "warnings": []}
    assert data["succeeded_at"] is None and data["failed_at"] is None
    assert data["schema"] == body["config"]["schema"] and data["setup_tests"] == []
    assert "connect_card" not in data

    paused = create(api)
    assert paused["status"]["sync_state"] == "paused"
    card = paused["connect_card"]
    uri = urlparse(card["uri"])
    assert f"{uri.scheme}://{uri.netloc}" == emulator.url and uri.path == "/connect-card/setup"
    query = parse_qs(uri.query)
    assert query["auth"] == [card["token"]] and query["redirect_uri"] == [REDIRECT]
    assert decode_jwt_payload(card["token"])["d"]["connector"] == paused["id"]
    assert paused["connect_card_config"] == {"redirect_uri": REDIRECT, "hide_setup_guide": True}


def test_connection_schema_follows_the_service_kind(api):
    database = create(api, "postgres", schema_prefix=unique("pg"))
    assert database["schema"] == database["config"]["schema_prefix"]
    sheet = create(api, "google_sheets", schema="u1_sheet", table="sheets_table")
    assert sheet["schema"] == "u1_sheet.sheets_table"


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"service": "hubspot", "config": {"schema": "a"}}, "group_id"),
        ({"group_id": GROUP, "config": {"schema": "a"}}, "service"),
        ({"group_id": GROUP, "service": "no_such_service", "config": {"schema": "a"}}, "no_such_service"),
        ({"group_id": GROUP, "service": "hubspot", "config": {}}, "config.schema"),
        ({"group_id": GROUP, "service": "postgres", "config": {"schema": "a"}}, "config.schema_prefix"),
        ({"group_id": GROUP, "service": "google_sheets", "config": {"schema": "a"}}, "config.table"),
        ({"group_id": GROUP, "service": "hubspot", "config": {"schema": "bad name!"}}, "config.schema"),
        ({"group_id": GROUP, "service": "hubspot", "config": {"schema": "a"}, "sync_frequency": 7}, "sync_frequency"),
        ({"group_id": GROUP, "service": "hubspot", "config": {"schema": "a"},
          "connect_card_config": {"redirect_uri": "ftp://x"}}, "redirect_uri"),
    ],
)
def test_create_rejects_invalid_bodies_with_400_bad_request(api, body, fragment):
    response = api.post("/v1/connections", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == "BadRequest"
    assert fragment in response.json()["message"]


def test_create_in_an_unknown_group_or_with_a_taken_schema_is_refused(api):
    response = api.post("/v1/connections", json={"group_id": "nope", "service": "hubspot", "config": {"schema": "a"}})
    assert response.status_code == 404
    existing = create(api)
    again = api.post("/v1/connections", json={"group_id": GROUP, "service": "hubspot", "config": {"schema": existing["schema"]}})
    assert again.status_code == 409


@pytest.mark.parametrize("prefix", ["/v1/connections", "/v1/connectors"])
def test_both_prefixes_serve_the_same_connection(api, prefix):
    created = create(api)
    response = api.get(f"{prefix}/{created['id']}")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == created["id"]
    missing = api.get(f"{prefix}/no_such_conn")
    assert missing.status_code == 404
    assert missing.json() == {"code": "NotFound_Integration", "message": "Cannot find entity 'Integration' with id 'no_such_conn'"}


def test_list_paginates_with_cursors_and_omits_next_cursor_on_the_last_page(api):
    schemas = {create(api)["schema"] for _ in range(5)}
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, "group_id": GROUP} | ({"cursor": cursor} if cursor else {})
        data = api.get("/v1/connections", params=params).json()["data"]
        pages += 1
        seen += data["items"]
        assert all("config" not in item for item in data["items"])
        if "next_cursor" not in data:
            break
        cursor = data["next_cursor"]
        assert "=" not in cursor
        assert json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))) == {"skip": pages * 2}
    total = len(api.get("/v1/connections", params={"limit": 1000}).json()["data"]["items"])
    assert len(seen) == total and pages == (total + 1) // 2
    assert schemas <= {item["schema"] for item in seen}
    assert len({item["id"] for item in seen}) == total

    one = sorted(schemas)[0]
    filtered = api.get("/v1/connections", params={"schema": one}).json()["data"]["items"]
    assert [item["schema"] for item in filtered] == [one]
    legacy = api.get(f"/v1/groups/{GROUP}/connectors", params={"limit": 1000}).json()["data"]["items"]
    assert len(legacy) == total
    for bad in ({"limit": 0}, {"limit": 1001}, {"limit": "x"}, {"cursor": "!!"}):
        assert api.get("/v1/connections", params=bad).json()["code"] == "BadRequest"


# --- groups, destination, account, metadata --------------------------------------------------------


def test_groups_destination_and_account(api):
    groups = api.get("/v1/groups").json()["data"]
    assert [group["id"] for group in groups["items"]] == [GROUP] and "next_cursor" not in groups
    assert api.get(f"/v1/groups/{GROUP}").json()["data"]["id"] == GROUP
    assert api.get("/v1/groups/nope").status_code == 404
    destination = api.get(f"/v1/destinations/{GROUP}").json()["data"]
    assert destination["service"] == "big_query"
    assert destination["config"] == {"project_id": "local-project", "data_set_location": "US"}
    assert set(api.get("/v1/account/info").json()["data"]) == {"account_id", "account_name", "user_id"}


def test_metadata_lists_every_service_in_services_yaml(api):
    services = load_services()
    for spelling in ("connector-types", "connectors", "connections"):
        items = api.get(f"/v1/metadata/{spelling}", params={"limit": 1000}).json()["data"]["items"]
        assert {item["id"] for item in items} == set(services)
    hubspot = api.get("/v1/metadata/connector-types/hubspot").json()["data"]
    assert hubspot["type"] == services["hubspot"].category == "Marketing"
    assert hubspot["service_status"] == "general_availability"
    assert {"id": "API_CONFIGURABLE", "notes": ""} in hubspot["supported_features"]
    assert "schema" in hubspot["config"]["properties"]
    assert "schema_prefix" in api.get("/v1/metadata/connectors/postgres").json()["data"]["config"]["properties"]
    assert api.get("/v1/metadata/connector-types/nope").status_code == 404


# --- schema config ---------------------------------------------------------------------------------


def test_schema_config_is_missing_until_the_card_or_a_reload(api):
    created = create(api)
    response = api.get(f"/v1/connections/{created['id']}/schemas")
    assert response.status_code == 404
    assert response.json() == {"code": "NotFound_SchemaConfig", "message": f"Connection with id '{created['id']}' doesn't have schema config"}
    assert api.patch(f"/v1/connections/{created['id']}/schemas", json={}).json()["code"] == "NotFound_SchemaConfig"
    reloaded = api.post(f"/v1/connections/{created['id']}/schemas/reload", json={"exclude_mode": "PRESERVE"})
    assert reloaded.status_code == 200
    assert api.get(f"/v1/connections/{created['id']}/schemas").json()["data"] == reloaded.json()["data"]

    carded = create(api)
    api.post(f"/_control/connections/{carded['id']}/complete-card")
    schemas = api.get(f"/v1/connections/{carded['id']}/schemas").json()["data"]["schemas"]
    assert list(schemas) == [carded["schema"]]
    assert {"contact", "company", "deal", "engagement", "ticket", "owner", "email_event"} <= set(schemas[carded["schema"]]["tables"])


def test_reload_with_exclude_brings_new_objects_back_disabled(api):
    created = create(api, "postgres", schema_prefix=unique("pgx"))
    config = api.post(f"/v1/connections/{created['id']}/schemas/reload", json={"exclude_mode": "EXCLUDE"}).json()["data"]
    for schema in config["schemas"].values():
        assert schema["enabled"] is False
        for table in schema["tables"].values():
            assert table["enabled"] is (table["enabled_patch_settings"]["allowed"] is False)
    assert api.post(f"/v1/connections/{created['id']}/schemas/reload", json={"exclude_mode": "NOPE"}).status_code == 400


def test_patch_schemas_merges_and_guards_locked_and_unknown_objects(api):
    created = create(api)
    path = f"/v1/connections/{created['id']}/schemas"
    api.post(path + "/reload", json={})
    schema = created["schema"]
    patched = api.patch(path, json={"schema_change_handling": "BLOCK_ALL", "schemas": {schema: {"tables": {
        "engagement": {"enabled": False}, "email_event": {"enabled": True},
        "contact": {"columns": {"property_email": {"enabled": False, "hashed": True}}}}}}})
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    tables = data["schemas"][schema]["tables"]
    assert data["schema_change_handling"] == "BLOCK_ALL"
    assert tables["engagement"]["enabled"] is False and tables["email_event"]["enabled"] is True
    assert tables["ticket"]["enabled"] is True  # untouched keys keep their value
    assert tables["contact"]["columns"]["property_email"] | {} == tables["contact"]["columns"]["property_email"]
    assert tables["contact"]["columns"]["property_email"]["enabled"] is False

    locked = api.patch(path, json={"schemas": {schema: {"tables": {"deal_pipeline": {"enabled": False}}}}})
    assert locked.status_code == 400 and locked.json()["code"] == "BadRequest"
    assert "deal_pipeline" in locked.json()["message"]
    # Sending a locked table with its current value is harmless.
    assert api.patch(path, json={"schemas": {schema: {"tables": {"deal_pipeline": {"enabled": True}}}}}).status_code == 200
    # A refused PATCH changes nothing, not even its valid parts.
    api.patch(path, json={"schemas": {schema: {"tables": {"ticket": {"enabled": False}, "deal_pipeline": {"enabled": False}}}}})
    assert api.get(path).json()["data"]["schemas"][schema]["tables"]["ticket"]["enabled"] is True

    unknown_table = api.patch(path, json={"schemas": {schema: {"tables": {"nope": {"enabled": True}}}}})
    assert unknown_table.status_code == 404 and unknown_table.json()["code"] == "NotFound_TableConfig"
    unknown_schema = api.patch(path, json={"schemas": {"nope": {"enabled": True}}})
    assert unknown_schema.status_code == 404 and unknown_schema.json()["code"] == "NotFound_SchemaConfig"
    primary_key = api.patch(f"{path}/{schema}/tables/contact/columns/id", json={"enabled": False})
    assert primary_key.status_code == 400
    narrow = api.patch(f"{path}/{schema}/tables/ticket", json={"enabled": False})
    assert narrow.json()["data"]["schemas"][schema]["tables"]["ticket"]["enabled"] is False

    columns = api.get(f"{path}/{schema}/tables/contact/columns").json()["data"]["columns"]
    assert columns["id"]["is_primary_key"] is True and "property_email" in columns
    assert api.get(f"{path}/{schema}/tables/nope/columns").json()["code"] == "NotFound_TableConfig"


def test_database_schema_names_are_normalised_for_the_destination(api):
    created = create(api, "postgres", schema_prefix=unique("pgn"))
    schemas = api.post(f"/v1/connections/{created['id']}/schemas/reload", json={}).json()["data"]["schemas"]
    assert schemas["Sales Ops"]["name_in_destination"] == "sales_ops"
    assert schemas["Sales Ops"]["tables"]["Quota"]["name_in_destination"] == "quota"
    assert {"public", "Sales Ops"} <= set(schemas)
    assert {table.get("sync_mode") for table in schemas["public"]["tables"].values()} == {"SOFT_DELETE", "HISTORY"}
    quoted = api.patch(f"/v1/connections/{created['id']}/schemas/Sales%20Ops", json={"enabled": True})
    assert quoted.json()["data"]["schemas"]["Sales Ops"]["enabled"] is True


# --- Connect Card and lifecycle ------------------------------------------------------------------------


def test_connect_card_page_and_the_whole_lifecycle(api, emulator, receiver):
    webhook_for(api, receiver, secret="whsec_lifecycle")
    created = create(api)
    connection_id = created["id"]
    page = httpx.get(created["connect_card"]["uri"])
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "Save &amp; Test" in page.text and "Cancel" in page.text and "API key" in page.text

    cancel = httpx.post(created["connect_card"]["uri"], data={"auth": created["connect_card"]["token"], "action": "cancel"})
    assert cancel.status_code == 303 and cancel.headers["location"] == REDIRECT
    assert details(api, connection_id)["status"]["setup_state"] == "incomplete"

    submit = httpx.post(created["connect_card"]["uri"], data={
        "auth": created["connect_card"]["token"], "redirect_uri": REDIRECT, "api_key": "k", "action": "save"})
    assert submit.status_code == 303
    location = urlparse(submit.headers["location"])
    assert location.path == "/integrations/connections/17/authorized"
    assert parse_qs(location.query) == {"next": ["/done"], "tab": ["setup"], "id": [connection_id]}

    connected = details(api, connection_id)
    assert connected["status"]["setup_state"] == "connected"
    assert connected["paused"] is True and connected["status"]["sync_state"] == "paused"
    assert api.get(f"/v1/connections/{connection_id}/schemas").status_code == 200

    unpaused = api.patch(f"/v1/connections/{connection_id}", json={"paused": False, "run_setup_tests": False})
    assert unpaused.status_code == 200 and unpaused.json()["message"] == "Connection has been updated"
    assert unpaused.json()["data"]["status"]["sync_state"] == "scheduled"
    wait_for_state(api, connection_id, lambda d: d["status"]["sync_state"] == "syncing", "syncing")
    done = wait_for_state(api, connection_id, historical_done, "historical sync done")
    assert done["status"]["sync_state"] == "scheduled" and done["status"]["setup_state"] == "connected"
    assert done["failed_at"] is None

    events = wait_for(lambda: (e := events_for(receiver, connection_id)) and len(e) >= 3 and e, what="webhooks")
    assert [event["event"] for event in events] == ["connection_successful", "sync_start", "sync_end"]
    start, end = events[1], events[2]
    assert start["sync_id"] == end["sync_id"] and len(start["sync_id"]) == 36
    assert end["data"] == {"status": "SUCCESSFUL"}
    assert end["connector_name"] == created["schema"] and end["destination_group_id"] == GROUP
    for item in receiver.received:
        assert item["headers"]["content-type"] == "application/json"
        assert item["body"] == json.dumps(json.loads(item["body"]), separators=(",", ":")).encode()
        expected = hmac.new(b"whsec_lifecycle", item["body"], hashlib.sha256).hexdigest().upper()
        assert item["headers"]["x-fivetran-signature-256"] == expected


def test_connect_card_endpoint_and_bad_tokens(api, emulator):
    created = create(api)
    response = api.post(f"/v1/connectors/{created['id']}/connect-card",
                        json={"connect_card_config": {"redirect_uri": "https://app.example.com/back", "hide_setup_guide": False}})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["connector_id"] == created["id"]
    assert httpx.get(data["connect_card"]["uri"]).status_code == 200
    assert api.post(f"/v1/connections/{created['id']}/connect-card", json={}).status_code == 400

    forged = created["connect_card"]["token"][:-4] + "AAAA"
    assert httpx.get(f"{emulator.url}/connect-card/setup", params={"auth": forged, "redirect_uri": REDIRECT}).status_code == 400
    assert httpx.get(f"{emulator.url}/connect-card/setup", params={"redirect_uri": REDIRECT}).status_code == 400
    foreign = make_token("another-secret", connection_id=created["id"], group_id=GROUP)
    assert httpx.get(f"{emulator.url}/connect-card/setup", params={"auth": foreign, "redirect_uri": REDIRECT}).status_code == 400
    posted = httpx.post(f"{emulator.url}/connect-card/setup", data={"auth": forged, "action": "save", "api_key": "k"})
    assert posted.status_code == 400
    assert details(api, created["id"])["status"]["setup_state"] == "incomplete"
    api.delete(f"/v1/connections/{created['id']}")
    assert httpx.get(data["connect_card"]["uri"]).status_code == 400


def test_manual_sync_force_and_resync(api):
    created = create(api, "postgres", schema_prefix=unique("pgs"))
    connection_id = created["id"]
    # Ignored while not connected.
    assert api.post(f"/v1/connections/{connection_id}/sync", json={"force": False}).status_code == 200
    assert details(api, connection_id)["status"]["sync_state"] == "paused"
    start_sync(api, connection_id)
    wait_for_state(api, connection_id, historical_done, "first sync")

    first = details(api, connection_id)["succeeded_at"]
    response = api.post(f"/v1/connections/{connection_id}/sync", json={"force": False})
    assert response.json() == {"code": "Success", "message": f"Sync has been successfully triggered for connection with id '{connection_id}'"}
    wait_for_state(api, connection_id, lambda d: d["succeeded_at"] > first and d["status"]["sync_state"] == "scheduled", "second sync")
    second = details(api, connection_id)["succeeded_at"]
    assert api.post(f"/v1/connectors/{connection_id}/force").status_code == 200
    wait_for_state(api, connection_id, lambda d: d["succeeded_at"] > second and d["status"]["sync_state"] == "scheduled", "forced sync")

    assert api.post(f"/v1/connections/{connection_id}/resync", json={"scope": {}}).status_code == 400
    assert api.post(f"/v1/connections/{connection_id}/resync", json={"scope": {"public": []}}).status_code == 400
    resync = api.post(f"/v1/connections/{connection_id}/resync", json={"scope": {"public": ["orders"]}})
    assert resync.status_code == 200
    assert details(api, connection_id)["status"]["is_historical_sync"] is True
    wait_for_state(api, connection_id, historical_done, "resync")

    app_connection = create(api)
    refused = api.post(f"/v1/connections/{app_connection['id']}/resync", json={"scope": {app_connection["schema"]: ["deal"]}})
    assert refused.status_code == 400


def test_pausing_stops_a_sync_and_delete_removes_the_connection(api):
    slow = create(api)
    start_sync(api, slow["id"])
    wait_for_state(api, slow["id"], lambda d: d["status"]["sync_state"] == "syncing", "syncing")
    paused = api.patch(f"/v1/connections/{slow['id']}", json={"paused": True}).json()["data"]
    assert paused["status"]["sync_state"] == "paused"
    time.sleep(1.0)
    assert details(api, slow["id"])["status"]["is_historical_sync"] is True
    deleted = api.delete(f"/v1/connections/{slow['id']}")
    assert deleted.json() == {"code": "Success", "message": "Connection has been deleted"}
    assert api.get(f"/v1/connections/{slow['id']}").status_code == 404
    assert api.delete(f"/v1/connections/{slow['id']}").json()["code"] == "NotFound_Integration"


def test_setup_tests_endpoint(api):
    created = create(api)
    failed = api.post(f"/v1/connections/{created['id']}/test", json={}).json()["data"]["setup_tests"]
    assert failed[0]["status"] == "FAILED"
    api.post(f"/_control/connections/{created['id']}/complete-card")
    passed = api.post(f"/v1/connections/{created['id']}/test", json={}).json()["data"]["setup_tests"]
    assert passed[0]["status"] == "PASSED"


# --- webhooks -------------------------------------------------------------------------------------------


def test_webhook_management(api, receiver):
    insecure = api.post("/v1/webhooks/account", json={"url": "http://example.com/hook", "events": ["sync_end"]})
    assert insecure.status_code == 400 and insecure.json()["code"] == "BadRequest"
    assert api.post("/v1/webhooks/account", json={"url": "https://example.com/hook", "events": []}).status_code == 400
    assert api.post("/v1/webhooks/group/nope", json={"url": "https://example.com/h", "events": ["sync_end"]}).status_code == 404
    for loopback in ("http://localhost:9/h", "http://[::1]:9/h", "http://127.0.0.1:9/h"):
        response = api.post("/v1/webhooks/account", json={"url": loopback, "events": ["sync_end"], "active": False})
        assert response.status_code == 200, loopback
        api.delete(f"/v1/webhooks/{response.json()['data']['id']}")

    # Fivetran test-POSTs an active webhook's URL on creation, so it must point at a listener.
    account = api.post("/v1/webhooks/account", json={"url": receiver.url, "events": ["sync_end"], "secret": "s"})
    assert account.json()["message"] == "Account webhook has been created"
    assert account.json()["data"]["type"] == "account" and account.json()["data"]["secret"] == "******"
    group = webhook_for(api, receiver)
    assert group["type"] == "group" and group["group_id"] == GROUP and group["secret"] == "******"

    first = api.get("/v1/webhooks", params={"limit": 1}).json()["data"]
    assert len(first["items"]) == 1 and "next_cursor" in first
    assert api.get(f"/v1/webhooks/{group['id']}").json()["data"]["secret"] == "******"

    tested = api.post(f"/v1/webhooks/{group['id']}/test", json={"event": "sync_start"}).json()["data"]
    assert tested == {"succeed": True, "status": 200, "message": "OK"}
    dummy = json.loads(receiver.received[-1]["body"])
    assert dummy["event"] == "sync_start" and dummy["connector_id"] == "_connector_1"

    for webhook_id in (account.json()["data"]["id"], group["id"]):
        assert api.delete(f"/v1/webhooks/{webhook_id}").status_code == 200
        assert api.get(f"/v1/webhooks/{webhook_id}").status_code == 404


def test_failed_webhook_delivery_does_not_disturb_the_sync(api):
    refused = WebhookReceiver().start()
    try:
        hook = webhook_for(api, refused)  # created while it still answers 200 to the creation test
        refused.status = 500
        created = create(api)
        start_sync(api, created["id"])
        wait_for_state(api, created["id"], historical_done, "sync despite webhook failures")
        wait_for(lambda: len(events_for(refused, created["id"])) >= 3, what="deliveries")
        api.delete(f"/v1/webhooks/{hook['id']}")
    finally:
        refused.stop()


# --- faults -----------------------------------------------------------------------------------------------


def test_rate_limit_fault_answers_429_with_retry_after_then_recovers(api):
    add_fault(api, kind="rate_limit", times=2, retry_after=3)
    for _ in range(2):
        response = api.get("/v1/groups")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["code"] == "TooManyRequests"
    assert api.get("/v1/groups").status_code == 200


def test_server_error_and_slow_faults(api):
    add_fault(api, kind="server_error", status=502)
    response = api.get("/v1/groups")
    assert response.status_code == 502 and set(response.json()) == {"code", "message"}
    add_fault(api, kind="slow", delay=0.5)
    started = time.monotonic()
    assert api.get("/v1/groups").status_code == 200
    assert time.monotonic() - started >= 0.5


def test_faults_can_target_a_connection_or_a_path(api):
    one, two = create(api), create(api)
    add_fault(api, kind="server_error", connection_id=one["id"])
    assert api.get(f"/v1/connections/{two['id']}").status_code == 200
    assert api.get(f"/v1/connections/{one['id']}").status_code == 503
    add_fault(api, kind="rate_limit", path="/schemas")
    assert api.get(f"/v1/connections/{one['id']}").status_code == 200
    assert api.get(f"/v1/connections/{one['id']}/schemas").status_code == 429
    add_fault(api, kind="rate_limit")
    assert api.delete("/_control/faults").status_code == 200
    assert api.get("/v1/groups").status_code == 200
    assert api.post("/_control/faults", json={"kind": "nope"}).status_code == 400


def test_a_fault_can_match_one_http_method(api):
    created = create(api)
    path = f"/v1/connections/{created['id']}"
    add_fault(api, kind="server_error", connection_id=created["id"], method="patch")
    assert api.get(path).status_code == 200  # the GET passes, the fault waits for a PATCH
    assert api.patch(path, json={"sync_frequency": 60}).status_code == 503
    assert api.patch(path, json={"sync_frequency": 60}).status_code == 200
    for bad in ({"method": "FETCH"}, {"method": 5}):
        response = api.post("/_control/faults", json={"kind": "server_error", **bad})
        assert response.status_code == 400 and "method" in response.json()["message"]


def test_slow_after_lets_the_operation_happen_then_holds_the_answer(api, emulator):
    schema = unique("held")
    body = {"group_id": GROUP, "service": "hubspot", "paused": True, "config": {"schema": schema}}
    add_fault(api, kind="slow", delay=1.0, after=True, method="POST", path="/v1/connections")
    with httpx.Client(base_url=emulator.url, auth=emulator.auth, timeout=0.3) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            impatient.post("/v1/connections", json=body)
    # The client gave up, yet the connection exists: the answer was held, not the work.
    found = api.get("/v1/connections", params={"schema": schema}).json()["data"]["items"]
    assert [item["schema"] for item in found] == [schema]

    add_fault(api, kind="slow", delay=0.5, after=True, method="PATCH")
    started = time.monotonic()
    answer = api.patch(f"/v1/connections/{found[0]['id']}", json={"sync_frequency": 120})
    assert time.monotonic() - started >= 0.5
    assert answer.status_code == 200 and answer.json()["data"]["sync_frequency"] == 120
    for bad in ({"kind": "server_error", "after": True}, {"kind": "slow", "after": "yes"}):
        assert api.post("/_control/faults", json=bad).status_code == 400


def test_lose_response_performs_the_operation_then_answers_504(api):
    schema = unique("lost")
    add_fault(api, kind="lose_response", path="/v1/connections")
    response = api.post("/v1/connections", json={"group_id": GROUP, "service": "hubspot", "config": {"schema": schema}})
    assert response.status_code == 504
    found = api.get("/v1/connections", params={"group_id": GROUP, "schema": schema}).json()["data"]["items"]
    assert len(found) == 1


def test_request_log_counts_api_calls(api):
    api.delete("/_control/requests")
    api.get("/v1/groups")
    api.get("/v1/connections/nope")
    items = api.get("/_control/requests").json()["items"]
    assert items == [{"method": "GET", "path": "/v1/groups", "status": 200},
                     {"method": "GET", "path": "/v1/connections/nope", "status": 404}]
    api.delete("/_control/requests")
    assert api.get("/_control/requests").json()["items"] == []


def test_fail_sync_fault_sets_failed_at_and_retries(api, receiver):
    webhook_for(api, receiver)
    created = create(api)
    add_fault(api, kind="fail_sync", connection_id=created["id"])
    start_sync(api, created["id"])
    failed = wait_for_state(api, created["id"], lambda d: d["failed_at"] is not None, "failure")
    assert failed["succeeded_at"] is None and failed["status"]["is_historical_sync"] is True
    assert failed["status"]["update_state"] == "delayed" and failed["status"]["setup_state"] == "connected"
    done = wait_for_state(api, created["id"], historical_done, "retry")
    assert done["succeeded_at"] > done["failed_at"]
    ends = wait_for(lambda: (e := sync_ends(receiver, created["id"])) and len(e) >= 2 and e, what="two sync_end events")
    assert [end["data"]["status"] for end in ends[:2]] == ["FAILURE", "SUCCESSFUL"]


def test_break_fault_needs_the_card_again(api, receiver):
    webhook_for(api, receiver)
    created = create(api)
    add_fault(api, kind="break", connection_id=created["id"])
    start_sync(api, created["id"])
    broken = wait_for_state(api, created["id"], lambda d: d["status"]["setup_state"] == "broken", "broken")
    assert broken["status"]["tasks"] == [{"code": "reconnect", "message": "Reconnect"}]
    assert broken["failed_at"] is not None
    time.sleep(1.0)  # no retry while broken
    assert details(api, created["id"])["status"]["setup_state"] == "broken"
    end = wait_for(lambda: sync_ends(receiver, created["id"]), what="sync_end")[0]
    assert end["data"]["status"] == "FAILURE_WITH_TASK" and end["data"]["taskType"] == "reconnect"

    card = api.post(f"/v1/connections/{created['id']}/connect-card", json={"connect_card_config": {"redirect_uri": REDIRECT}})
    uri = card.json()["data"]["connect_card"]["uri"]
    submit = httpx.post(uri, data={"auth": card.json()["data"]["connect_card"]["token"], "api_key": "k", "action": "save"})
    assert submit.status_code == 303
    repaired = details(api, created["id"])
    assert repaired["status"]["setup_state"] == "connected" and repaired["status"]["tasks"] == []
    wait_for_state(api, created["id"], historical_done, "sync after repair")


def test_reschedule_fault_waits_then_continues(api, receiver):
    webhook_for(api, receiver)
    created = create(api)
    add_fault(api, kind="reschedule", connection_id=created["id"], retry_after=2)
    start_sync(api, created["id"])
    rescheduled = wait_for_state(api, created["id"], lambda d: d["status"]["sync_state"] == "rescheduled", "rescheduled")
    assert "rescheduled_for" in rescheduled["status"] and rescheduled["failed_at"] is None
    wait_for_state(api, created["id"], historical_done, "sync after reschedule")
    ends = wait_for(lambda: (e := sync_ends(receiver, created["id"])) and len(e) >= 2 and e, what="two sync_end events")
    events = events_for(receiver, created["id"])
    assert ends[0]["data"]["status"] == "RESCHEDULED" and "rescheduledAt" in ends[0]["data"]
    assert ends[-1]["data"]["status"] == "SUCCESSFUL"
    starts = [e["sync_id"] for e in events if e["event"] == "sync_start"]
    assert [e["sync_id"] for e in ends] == starts[: len(ends)]


# --- restart ------------------------------------------------------------------------------------------------


def test_state_survives_a_restart_and_an_unfinished_sync_resumes(tmp_path):
    first = EmulatorProcess(tmp_path, sync_seconds=30).start()
    try:
        with first.client() as api:
            done = create(api)
            api.post(f"/_control/connections/{done['id']}/complete-card")
            api.patch(f"/v1/connections/{done['id']}/schemas", json={"schemas": {done["schema"]: {"tables": {"ticket": {"enabled": False}}}}})
            running = create(api)
            start_sync(api, running["id"])
            wait_for_state(api, running["id"], lambda d: d["status"]["sync_state"] == "syncing", "syncing")
            hook = api.post("/v1/webhooks/account", json={"url": "https://example.com/h", "events": ["sync_end"], "active": False}).json()["data"]
    finally:
        first.stop()

    second = EmulatorProcess(tmp_path, sync_seconds=0.5, port=first.port).start()
    try:
        with second.client() as api:
            again = details(api, done["id"])
            assert again["status"]["setup_state"] == "connected" and again["created_at"] == done["created_at"]
            tables = api.get(f"/v1/connections/{done['id']}/schemas").json()["data"]["schemas"][done["schema"]]["tables"]
            assert tables["ticket"]["enabled"] is False
            assert api.get(f"/v1/webhooks/{hook['id']}").status_code == 200
            # The first request after the restart resumes the interrupted sync.
            wait_for_state(api, running["id"], historical_done, "resumed sync")
    finally:
        second.stop()


# --- the destination writer ------------------------------------------------------------------------------------


class RecordingWriter:
    def __init__(self) -> None:
        self.tables: list[LandedTable] = []

    async def write_table(self, table: LandedTable) -> None:
        self.tables.append(table)


@pytest.fixture
def in_process(tmp_path) -> Iterator[tuple[httpx.Client, RecordingWriter]]:
    writer = RecordingWriter()
    server = ServerThread(create_app(data_dir=tmp_path, sync_seconds=0.3, writer=writer)).start()
    with httpx.Client(base_url=server.url, auth=("emulator-key", "emulator-secret"), timeout=10) as client:
        yield client, writer
    server.stop()


def test_writer_receives_each_enabled_table_of_an_app_connection(in_process):
    api, writer = in_process
    created = create(api)
    api.post(f"/_control/connections/{created['id']}/complete-card")
    schema = created["schema"]
    api.patch(f"/v1/connections/{created['id']}/schemas", json={"schemas": {schema: {"tables": {
        "ticket": {"enabled": False}, "contact": {"columns": {"property_email": {"enabled": False}}}}}}})
    config = api.get(f"/v1/connections/{created['id']}/schemas").json()["data"]
    api.patch(f"/v1/connections/{created['id']}", json={"paused": False})
    wait_for_state(api, created["id"], historical_done, "sync")

    enabled = [name for name, table in config["schemas"][schema]["tables"].items() if table["enabled"]]
    assert [table.table for table in writer.tables] == enabled
    assert "ticket" not in enabled and "deal_pipeline" in enabled and "email_event" not in enabled
    contact = next(table for table in writer.tables if table.table == "contact")
    assert contact.dataset == schema and contact.connection_id == created["id"] and contact.service == "hubspot"
    names = [name for name, _ in contact.columns]
    assert "property_email" not in names and names[0] == "id" and names[-1] == "_fivetran_synced"
    assert "_fivetran_deleted" not in names  # app tables without SOFT_DELETE
    assert dict(contact.columns)["property_createdate"] == "TIMESTAMP"
    assert contact.row_count == row_count("hubspot", schema, "contact")


def test_writer_datasets_for_database_and_single_table_connectors(in_process):
    api, writer = in_process
    prefix = unique("pgw")
    database = create(api, "postgres", schema_prefix=prefix)
    api.post(f"/_control/connections/{database['id']}/complete-card")
    api.patch(f"/v1/connections/{database['id']}/schemas", json={"schemas": {"Sales Ops": {"enabled": True, "tables": {"Quota": {"enabled": True}}}}})
    sheet = create(api, "google_sheets", schema="u9_sheet", table="sheets_table")
    api.post(f"/_control/connections/{sheet['id']}/complete-card")
    for connection in (database, sheet):
        api.patch(f"/v1/connections/{connection['id']}", json={"paused": False})
    for connection in (database, sheet):
        wait_for_state(api, connection["id"], historical_done, "sync")

    landed = {(t.dataset, t.table): t for t in writer.tables}
    assert (f"{prefix}_public", "customers") in landed and (f"{prefix}_sales_ops", "quota") in landed
    assert (f"{prefix}_public", "audit_log") not in landed  # disabled by default
    assert all(dict(t.columns).get("_fivetran_deleted") == "BOOL" for t in writer.tables if t.service == "postgres")
    assert ("u9_sheet", "sheets_table") in landed
    assert [t.table for t in writer.tables if t.service == "google_sheets"] == ["sheets_table"]


# --- samples ---------------------------------------------------------------------------------------------------


def test_every_service_has_a_sample_with_a_locked_table_and_valid_types():
    counts = []
    for service in load_services().values():
        config = {"schema": "s", "schema_prefix": "p", "table": service.static_config.get("table", "t")}
        schemas = sample_source(service, config)
        tables = [table for schema in schemas for table in schema.tables]
        assert any(table.locked and table.enabled for table in tables), service.id
        assert any(not table.enabled for table in tables) or service.single_table, service.id
        if service.is_database:
            assert len(schemas) >= 2
        if service.single_table:
            assert len(schemas) == 1 and [t.name for t in tables] == [config["table"]]
        counts += [row_count(service.id, schema.name, table.name) for schema in schemas for table in schema.tables]
    assert 0 in counts and len(set(counts)) > 50
    assert row_count("stripe", "s", "charge") == row_count("stripe", "s", "charge")
    stripe = {t.name for t in sample_source(load_services()["stripe"], {"schema": "s"})[0].tables}
    assert {"charge", "customer", "invoice", "subscription", "refund", "payout"} <= stripe


# --- mounting and the CLI -----------------------------------------------------------------------------------------


def test_mounted_under_a_prefix_the_card_uri_and_log_use_it(tmp_path):
    from starlette.applications import Starlette
    from starlette.routing import Mount

    outer = Starlette(routes=[Mount("/_emulator/fivetran", app=create_app(data_dir=tmp_path, sync_seconds=0.2))])
    server = ServerThread(outer).start()
    try:
        with httpx.Client(base_url=f"{server.url}/_emulator/fivetran", auth=("emulator-key", "emulator-secret")) as api:
            created = create(api)
            uri = created["connect_card"]["uri"]
            assert uri.startswith(f"{server.url}/_emulator/fivetran/connect-card/setup?")
            submit = httpx.post(uri, data={"auth": created["connect_card"]["token"], "api_key": "k", "action": "save"})
            assert submit.status_code == 303 and f"id={created['id']}" in submit.headers["location"]
            assert details(api, created["id"])["status"]["setup_state"] == "connected"
            paths = [item["path"] for item in api.get("/_control/requests").json()["items"]]
            assert "/v1/connections" in paths and "/connect-card/setup" in paths
    finally:
        server.stop()


def test_cli_exits_with_a_clear_message_when_the_bigquery_writer_is_missing(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['standins.fivetran.destination'] = None\n"
        "from standins.fivetran.__main__ import main\n"
        f"main(['--data-dir', {str(tmp_path)!r}, '--bigquery-endpoint', 'http://127.0.0.1:9'])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "standins.fivetran.destination" in result.stderr and "Traceback" not in result.stderr
