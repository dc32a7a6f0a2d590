"""The emulator answers as Fivetran's documentation says, for clients we did not write (issue #15).

Each test drives the emulator over HTTP the way a published client would (Basic auth, Fivetran's
paths under /v1/connections and the legacy /v1/connectors) and names the documentation page it
follows, as a path under fivetran.com.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from standins.fivetran.app import create_app
from standins.fivetran.testing import ServerThread, WebhookReceiver, free_port
from standins.fivetran.writer import LandedTable

GROUP = "embedded_group"
AUTH = ("emulator-key", "emulator-secret")
PREFIXES = ("/v1/connections", "/v1/connectors")


class RecordingWriter:
    def __init__(self) -> None:
        self.tables: list[LandedTable] = []

    async def write_table(self, table: LandedTable) -> None:
        self.tables.append(table)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[tuple[str, RecordingWriter]]:
    writer = RecordingWriter()
    app = create_app(data_dir=tmp_path_factory.mktemp("fidelity"), sync_seconds=0.3, writer=writer, group_ids=(GROUP,))
    server = ServerThread(app).start()
    yield server.url, writer
    server.stop()


@pytest.fixture
def api(emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator[0], auth=AUTH, timeout=15) as client:
        yield client


@pytest.fixture
def writer(emulator) -> RecordingWriter:
    return emulator[1]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def create(api: httpx.Client, service: str = "hubspot", **config: Any) -> dict[str, Any]:
    config = config or {"schema_prefix" if service == "postgres" else "schema": unique(service)}
    body = {"group_id": GROUP, "service": service, "paused": True, "run_setup_tests": False, "config": config}
    response = api.post("/v1/connections", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def connected(api: httpx.Client, service: str = "hubspot", **config: Any) -> dict[str, Any]:
    created = create(api, service, **config)
    assert api.post(f"/_control/connections/{created['id']}/complete-card").status_code == 200
    return created


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def details(api: httpx.Client, connection_id: str) -> dict[str, Any]:
    return api.get(f"/v1/connections/{connection_id}").json()["data"]


def synced(api: httpx.Client, created: dict[str, Any]) -> dict[str, Any]:
    """Unpause a connected connection and wait for its historical sync to finish."""
    api.patch(f"/v1/connections/{created['id']}", json={"paused": False})
    return wait_for(lambda: (d := details(api, created["id"]))["succeeded_at"] and not d["status"]["is_historical_sync"] and d,
                    "the historical sync")


# --- schema config: only edited columns; the columns endpoint has them all ---------------------------------------


def test_schema_config_leaves_out_unedited_columns(api):
    """docs/rest-api/api-reference/connection-schema/connection-schema-config: "Unedited columns (those
    following table defaults) are omitted from the response"; reload and PATCH answer the same way
    (…/reload-connector-schema-config, …/modify-connection-schema-config)."""
    created = connected(api)
    path = f"/v1/connections/{created['id']}/schemas"
    fetched = api.get(path).json()["data"]
    reloaded = api.post(f"{path}/reload", json={"exclude_mode": "PRESERVE"}).json()["data"]
    for config in (fetched, reloaded):
        tables = config["schemas"][created["schema"]]["tables"]
        assert tables and all("columns" not in table for table in tables.values())
        assert all(table["supports_columns_config"] is True for table in tables.values())

    schema = created["schema"]
    patched = api.patch(path, json={"schemas": {schema: {"tables": {"contact": {"columns": {"property_email": {"hashed": True}}}}}}})
    assert patched.status_code == 200, patched.text
    contact = patched.json()["data"]["schemas"][schema]["tables"]["contact"]
    assert list(contact["columns"]) == ["property_email"]
    assert contact["columns"]["property_email"]["hashed"] is True
    narrow = api.patch(f"{path}/{schema}/tables/deal/columns/property_amount", json={"enabled": False})
    assert list(narrow.json()["data"]["schemas"][schema]["tables"]["deal"]["columns"]) == ["property_amount"]
    again = api.get(path).json()["data"]["schemas"][schema]["tables"]
    assert list(again["contact"]["columns"]) == ["property_email"] and "columns" not in again["company"]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_columns_endpoint_lists_every_column_with_the_users_settings(api, prefix):
    """docs/developer-resources/rest-api/api-reference/connection-schema/connection-column-config:
    "the exhaustive real-time column list for a table"."""
    created = connected(api)
    schema = created["schema"]
    columns_path = f"{prefix}/{created['id']}/schemas/{schema}/tables/contact/columns"
    before = api.get(columns_path)
    assert before.status_code == 200, before.text
    columns = before.json()["data"]["columns"]
    assert {"id", "property_email", "property_firstname", "property_lastname", "is_deleted"} <= set(columns)
    assert columns["id"]["is_primary_key"] is True and columns["id"]["enabled_patch_settings"]["allowed"] is False
    assert all(column["enabled"] and not column["hashed"] for column in columns.values())
    assert all(set(column) >= {"name_in_destination", "enabled", "hashed", "is_primary_key"} for column in columns.values())

    api.patch(f"{prefix}/{created['id']}/schemas/{schema}/tables/contact/columns/property_email", json={"enabled": False})
    after = api.get(columns_path).json()["data"]["columns"]
    assert list(after) == list(columns)  # still every column, in source order
    assert after["property_email"]["enabled"] is False and after["property_firstname"]["enabled"] is True
    assert api.get(f"{prefix}/{created['id']}/schemas/{schema}/tables/nope/columns").json()["code"] == "NotFound_TableConfig"


def test_a_sync_lands_the_columns_nobody_edited(api, writer):
    """Unedited columns are "considered to be included in the sync by default"
    (docs/rest-api/api-reference/connection-schema/reload-connector-schema-config)."""
    created = connected(api)
    schema = created["schema"]
    api.patch(f"/v1/connections/{created['id']}/schemas/{schema}/tables/contact/columns/property_email", json={"enabled": False})
    synced(api, created)
    contact = next(t for t in writer.tables if t.connection_id == created["id"] and t.table == "contact")
    names = [name for name, _ in contact.columns]
    assert "property_email" not in names and {"id", "property_firstname", "is_deleted"} <= set(names)


def test_enable_new_by_default_follows_schema_change_handling(api):
    """docs/rest-api/api-reference/connection-schema/modify-connection-schema-config: the flag "is 'true'
    if you specify 'ALLOW_ALL'"; the reference fixture pairs BLOCK_ALL with false."""
    created = connected(api)
    path = f"/v1/connections/{created['id']}/schemas"
    blocked = api.patch(path, json={"schema_change_handling": "BLOCK_ALL"}).json()["data"]
    assert (blocked["schema_change_handling"], blocked["enable_new_by_default"]) == ("BLOCK_ALL", False)
    allowed = api.patch(path, json={"schema_change_handling": "ALLOW_ALL"}).json()["data"]
    assert (allowed["schema_change_handling"], allowed["enable_new_by_default"]) == ("ALLOW_ALL", True)


def test_missing_schema_config_uses_the_connection_wording(api):
    """docs/rest-api/troubleshooting/missing-schema-config-error."""
    created = create(api)
    response = api.get(f"/v1/connections/{created['id']}/schemas")
    assert response.status_code == 404
    assert response.json() == {"code": "NotFound_SchemaConfig",
                               "message": f"Connection with id '{created['id']}' doesn't have schema config"}


# --- re-syncing chosen tables ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
def test_resync_tables_re_imports_just_those_tables(api, writer, prefix):
    """docs/developer-resources/rest-api/api-reference/connection-schema/resync-tables: the body maps a
    schema to its tables; the answer is 200 "Re-sync has been triggered successfully"."""
    created = connected(api, "postgres", schema_prefix=unique("pgr"))
    first = synced(api, created)
    writer.tables = [t for t in writer.tables if t.connection_id != created["id"]]

    response = api.post(f"{prefix}/{created['id']}/schemas/tables/resync", json={"public": ["orders", "customers"]})
    assert response.status_code == 200, response.text
    assert response.json() == {"code": "Success", "message": "Re-sync has been triggered successfully"}
    after = wait_for(lambda: (d := details(api, created["id"]))["succeeded_at"] != first["succeeded_at"] and d, "the re-sync")
    assert after["status"]["is_historical_sync"] is False  # the connection itself is not re-synced
    landed = sorted(t.table for t in writer.tables if t.connection_id == created["id"])
    assert landed == ["customers", "orders"]


def test_resync_tables_refuses_bad_bodies_and_unknown_tables(api):
    created = connected(api)
    path = f"/v1/connections/{created['id']}/schemas/tables/resync"
    for body in ({}, {created["schema"]: []}, {created["schema"]: "contact"}):
        refused = api.post(path, json=body)
        assert refused.status_code == 400 and refused.json()["code"] == "BadRequest", body
    unknown = api.post(path, json={created["schema"]: ["contact", "nope"]})
    assert unknown.status_code == 404 and unknown.json()["code"] == "NotFound_TableConfig"
    missing = api.post("/v1/connections/no_such_connection/schemas/tables/resync", json={"s": ["t"]})
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound_Integration"
    # The single-table form go-fivetran calls.
    single = api.post(f"/v1/connections/{created['id']}/schemas/{created['schema']}/tables/contact/resync")
    assert single.status_code == 200 and single.json() == {"code": "Success", "message": "Table resync initiated"}


# --- webhooks: one test POST on creation and activation ------------------------------------------------------------


def webhook_body(url: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "events": ["sync_start", "sync_end"], "secret": "whsec_fidelity", **extra}


def webhook_ids(api: httpx.Client) -> set[str]:
    return {w["id"] for w in api.get("/v1/webhooks", params={"limit": 1000}).json()["data"]["items"]}


def test_creating_a_webhook_sends_one_signed_test_post(api, receiver):
    """docs/rest-api/webhooks ("URL"): "During the webhook creation or activation, we perform a single POST
    request to the specified URL with a testing payload"; its shape is in
    docs/rest-api/troubleshooting/sync-id-field-required-error."""
    created = api.post(f"/v1/webhooks/group/{GROUP}", json=webhook_body(receiver.url))
    assert created.status_code == 200, created.text
    assert len(receiver.received) == 1
    raw, headers = receiver.received[0]["body"], receiver.received[0]["headers"]
    payload = json.loads(raw)
    assert payload["event"] == "test_event" and payload["connector_id"] == "_connector_1"
    assert {"created", "connector_type"} <= set(payload) and "sync_id" not in payload
    expected = hmac.new(b"whsec_fidelity", raw, hashlib.sha256).hexdigest()
    assert headers["x-fivetran-signature-256"].lower() == expected
    api.delete(f"/v1/webhooks/{created.json()['data']['id']}")


@pytest.mark.parametrize("scope", ["account", f"group/{GROUP}"])
def test_a_webhook_whose_url_fails_the_test_is_not_created(api, scope):
    """docs/rest-api/webhooks ("URL"): unreachable, or an unsuccessful status, gives 400 and no webhook."""
    before = webhook_ids(api)
    unreachable = api.post(f"/v1/webhooks/{scope}", json=webhook_body(f"http://127.0.0.1:{free_port()}/hook"))
    assert unreachable.status_code == 400 and unreachable.json()["code"] == "BadRequest"
    failing = WebhookReceiver(status=500).start()
    try:
        refused = api.post(f"/v1/webhooks/{scope}", json=webhook_body(failing.url))
    finally:
        failing.stop()
    assert refused.status_code == 400 and refused.json()["code"] == "BadRequest"
    assert len(failing.received) == 1
    assert webhook_ids(api) == before


def test_an_inactive_webhook_is_tested_when_it_is_activated(api, receiver):
    """docs/rest-api/webhooks ("URL"): "You can skip this check by setting active to false during the
    webhook creation, but we still perform this test during the webhook activation"."""
    dead = f"http://127.0.0.1:{free_port()}/hook"
    created = api.post("/v1/webhooks/account", json=webhook_body(dead, active=False))
    assert created.status_code == 200, created.text
    webhook_id = created.json()["data"]["id"]
    try:
        activated = api.patch(f"/v1/webhooks/{webhook_id}", json={"active": True})
        assert activated.status_code == 400 and activated.json()["code"] == "BadRequest"
        assert api.get(f"/v1/webhooks/{webhook_id}").json()["data"]["active"] is False  # unchanged

        moved = api.patch(f"/v1/webhooks/{webhook_id}", json={"url": receiver.url, "active": True})
        assert moved.status_code == 200, moved.text
        assert moved.json()["data"]["active"] is True and len(receiver.received) == 1

        receiver.status = 503
        retested = api.patch(f"/v1/webhooks/{webhook_id}", json={"run_tests": True})
        assert retested.status_code == 400
        assert api.patch(f"/v1/webhooks/{webhook_id}", json={"events": ["sync_end"]}).status_code == 200
    finally:
        api.delete(f"/v1/webhooks/{webhook_id}")


def test_testing_a_webhook_needs_an_event(api, receiver):
    """docs/rest-api/api-reference/webhooks/test-webhook: `event` is a required field; the dummy payload
    is for connector `_connector_1`."""
    webhook_id = api.post(f"/v1/webhooks/group/{GROUP}", json=webhook_body(receiver.url)).json()["data"]["id"]
    try:
        missing = api.post(f"/v1/webhooks/{webhook_id}/test", json={})
        assert missing.status_code == 400 and missing.json()["code"] == "BadRequest"
        tested = api.post(f"/v1/webhooks/{webhook_id}/test", json={"event": "sync_end"})
        assert tested.json()["data"] == {"succeed": True, "status": 200, "message": "OK"}
        assert json.loads(receiver.received[-1]["body"])["connector_id"] == "_connector_1"
    finally:
        api.delete(f"/v1/webhooks/{webhook_id}")


# --- listing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("listing", ["connections", "connectors"])
def test_group_connections_filter_by_schema(api, listing):
    """docs/rest-api/api-reference/groups/list-all-connectors-in-group: `schema` is "the name used both as
    the connection's name within the Fivetran system and as the source schema's name"."""
    first, second = create(api), create(api)
    path = f"/v1/groups/{GROUP}/{listing}"
    only = api.get(path, params={"schema": first["schema"]}).json()["data"]
    assert [item["id"] for item in only["items"]] == [first["id"]] and "next_cursor" not in only
    assert [item["id"] for item in api.get(path, params={"schema": second["schema"]}).json()["data"]["items"]] == [second["id"]]
    assert api.get(path, params={"schema": "no_such_schema"}).json()["data"]["items"] == []
    assert len(api.get(path, params={"limit": 1000}).json()["data"]["items"]) >= 2


def test_list_users_answers_like_fivetran(api):
    """docs/rest-api/users ("List All Users"), the call behind an Airflow Fivetran connection's Test button."""
    response = api.get("/v1/users", headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["items"] and "next_cursor" not in data
    user = data["items"][0]
    assert {"id", "email", "given_name", "family_name", "verified", "invited", "picture", "phone", "role",
            "logged_in_at", "created_at", "active"} <= set(user)
    paged = api.get("/v1/users", params={"limit": 1}).json()["data"]
    assert paged["items"] == [user]
    # A connection's connected_by is one of the account's users.
    created = create(api)
    assert api.get(f"/v1/users/{created['connected_by']}").json()["data"] == user
    assert api.get("/v1/users/nobody").status_code == 404
    assert httpx.get(f"{str(api.base_url).rstrip('/')}/v1/users").status_code == 401


# --- a client we did not write ---------------------------------------------------------------------------------------


def test_a_dagster_style_client_on_the_legacy_paths(api):
    """The request pattern of dagster-fivetran's client: legacy /v1/connectors paths, a JSON string
    body under `Content-Type: application/json;version=2`, `data` unwrapped from every answer, POST
    …/force with no body after switching to the manual schedule, then polling for succeeded_at.
    (docs/rest-api/api-reference/connections/sync-connection: with schedule_type manual, syncs
    happen only when asked for.)"""
    headers = {"User-Agent": "a-third-party-client/1.0", "Content-Type": "application/json;version=2"}

    def call(method: str, endpoint: str, data: str | None = None) -> dict[str, Any]:
        response = api.request(method, f"/v1/{endpoint}", headers=headers, content=data)
        assert response.is_success, response.text
        body = response.json()
        return body["data"] if "data" in body else body

    created = connected(api)
    first = synced(api, created)
    connector_id = created["id"]
    assert any(item["id"] == connector_id for item in call("GET", f"groups/{GROUP}/connectors?limit=1000")["items"])
    schemas = call("GET", f"connectors/{connector_id}/schemas")["schemas"]
    assert "columns" not in schemas[created["schema"]]["tables"]["contact"]
    columns = call("GET", f"connectors/{connector_id}/schemas/{created['schema']}/tables/contact/columns")["columns"]
    assert "property_email" in columns
    assert call("GET", f"destinations/{GROUP}")["config"]["project_id"]

    assert call("PATCH", f"connectors/{connector_id}", json.dumps({"schedule_type": "manual"}))["schedule_type"] == "manual"
    assert call("POST", f"connectors/{connector_id}/force")["code"] == "Success"
    done = wait_for(lambda: (d := call("GET", f"connectors/{connector_id}"))["succeeded_at"] != first["succeeded_at"] and d,
                    "the forced sync")
    assert done["status"]["setup_state"] == "connected" and done["paused"] is False
    resync = call("POST", f"connectors/{connector_id}/schemas/tables/resync", json.dumps({created["schema"]: ["contact"]}))
    assert resync == {"code": "Success", "message": "Re-sync has been triggered successfully"}


# --- the catalogue's service ids -------------------------------------------------------------------------------------


def test_catalogue_ids_are_fivetrans_connector_types(api):
    """Gong, Help Scout and SurveyMonkey are `gongio`, `helpscout` and `survey_monkey` in Fivetran's
    connector types (the OpenAPI definition's NewConnectorRequestV1 services)."""
    listed = {item["id"] for item in api.get("/v1/metadata/connector-types", params={"limit": 1000}).json()["data"]["items"]}
    assert {"gongio", "helpscout", "survey_monkey"} <= listed
    assert not {"gong", "help_scout", "surveymonkey"} & listed
    created = create(api, "gongio")
    assert created["service"] == "gongio"


# --- the product registers its webhook through that test ------------------------------------------------------------


async def test_the_products_webhook_endpoint_passes_the_creation_test(emulator, settings, transactional_db):
    """ensure_webhook (run at start-up) registers our endpoint with the emulator, which first POSTs its
    signed test event there: the product's view must answer it 2xx or registration fails with 400."""
    from django.core.asgi import get_asgi_application

    from connectors import fivetran
    from integrations.setup.webhook_registration import ensure_webhook

    product = ServerThread(get_asgi_application()).start()
    settings.PUBLIC_URL = product.url
    settings.FIVETRAN_API_URL = f"{emulator[0]}/v1"
    settings.FIVETRAN_API_KEY, settings.FIVETRAN_API_SECRET = AUTH
    settings.FIVETRAN_GROUP_ID = GROUP
    settings.FIVETRAN_WEBHOOK_SECRET = "whsec_product"
    fivetran._clients.clear()  # the shared client is rebuilt from these settings
    try:
        webhook_id = await ensure_webhook()
        async with httpx.AsyncClient(base_url=emulator[0], auth=AUTH) as api:
            webhook = (await api.get(f"/v1/webhooks/{webhook_id}")).json()["data"]
            assert webhook["url"] == f"{product.url}/webhooks/fivetran/" and webhook["active"] is True
            assert await ensure_webhook() == webhook_id  # found, not created twice
            await api.delete(f"/v1/webhooks/{webhook_id}")
    finally:
        await fivetran.get_client().aclose()
        fivetran._clients.clear()
        product.stop()
