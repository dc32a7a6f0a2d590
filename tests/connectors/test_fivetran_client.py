"""FivetranClient against the Fivetran emulator, a real subprocess answering HTTP on loopback.

Faults (429, 5xx, lost responses, slow answers) are injected through the emulator's control API
and the calls the client really made are read back from its request log.
"""

import asyncio
import base64
import json
import logging
import math
import threading
import time
import uuid

import httpx
import pytest
import pytest_asyncio

from connectors.catalogue import get_catalogue
from connectors.fivetran import (
    ACCEPT_JSON,
    ACCEPT_V2,
    Connection,
    FivetranClient,
    FivetranError,
    SchemaConfig,
    get_client,
)
from standins.fivetran.testing import WebhookReceiver
from tests.support.fivetran_fixtures import GROUP_ID, Emulator
from tests.support.services import free_port

REDIRECT_URI = "http://127.0.0.1:8000/integrations/connections/1/authorized"


@pytest.fixture(autouse=True)
def clean_emulator(request):
    if "emulator" in request.fixturenames:
        emu = request.getfixturevalue("emulator")
        emu.clear_faults()
        emu.clear_requests()
    yield


# The test's own loop: the client's pooled connections belong to the loop that opened them.
@pytest_asyncio.fixture(loop_scope="function")
async def client(emulator: Emulator):
    fivetran = FivetranClient(
        emulator.api_url,
        emulator.api_key,
        emulator.api_secret,
        timeout=5.0,
        max_attempts=4,
        max_retry_seconds=10.0,
        backoff_base=0.01,
    )
    yield fivetran
    await fivetran.aclose()


def service(service_id: str):
    found = get_catalogue().get(service_id)
    assert found is not None, service_id
    return found


def unique_schema(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def api_calls(emu: Emulator, method: str, path_part: str) -> list[dict]:
    return [r for r in emu.requests() if r["method"] == method and path_part in r["path"]]


async def new_connection(client: FivetranClient, service_id: str = "hubspot") -> Connection:
    connection, _ = await client.create_connection(
        group_id=GROUP_ID, service=service(service_id), schema_name=unique_schema(), redirect_uri=REDIRECT_URI
    )
    return connection


async def connected(client: FivetranClient, emu: Emulator, service_id: str = "hubspot") -> Connection:
    connection = await new_connection(client, service_id)
    emu.complete_card(connection.id)
    return connection


# --- operations ------------------------------------------------------------------------------


async def test_create_connection_is_paused_awaiting_its_connect_card(client, emulator):
    schema = unique_schema("hub")
    connection, card_uri = await client.create_connection(
        group_id=GROUP_ID, service=service("hubspot"), schema_name=schema, redirect_uri=REDIRECT_URI
    )

    assert connection.schema == schema and connection.service == "hubspot" and connection.group_id == GROUP_ID
    assert connection.paused is True
    assert connection.status.setup_state == "incomplete"
    assert connection.config["schema"] == schema
    assert card_uri.startswith(emulator.url) and "/connect-card/setup" in card_uri and "auth=" in card_uri
    assert len(api_calls(emulator, "POST", "/v1/connections")) == 1
    fetched = await client.get_connection(connection.id)
    assert fetched.paused is True and fetched.id == connection.id


async def test_create_database_connection_uses_a_schema_prefix(client):
    schema = unique_schema("pg")
    connection, _ = await client.create_connection(
        group_id=GROUP_ID, service=service("postgres"), schema_name=schema, redirect_uri=REDIRECT_URI
    )
    assert connection.config.get("schema_prefix") == schema
    assert "schema" not in connection.config


async def test_find_connection_by_group_and_schema(client):
    connection = await new_connection(client)
    found = await client.find_connection(group_id=GROUP_ID, schema_name=connection.schema)
    assert found is not None and found.id == connection.id
    assert await client.find_connection(group_id=GROUP_ID, schema_name=unique_schema("none")) is None


async def test_connect_card_gives_a_fresh_uri(client, emulator):
    connection = await new_connection(client)
    uri = await client.connect_card(connection.id, redirect_uri=REDIRECT_URI)
    assert uri.startswith(emulator.url) and "auth=" in uri


async def test_get_connection_follows_the_lifecycle(client, emulator):
    connection = await new_connection(client)
    emulator.complete_card(connection.id)
    fetched = await client.get_connection(connection.id)
    assert fetched.status.setup_state == "connected"
    assert fetched.paused is True
    assert fetched.created_at is not None and fetched.created_at.tzinfo is not None


async def test_set_paused_both_ways(client, emulator):
    connection = await connected(client, emulator)
    unpaused = await client.set_paused(connection.id, False)
    assert unpaused.paused is False and unpaused.status.sync_state != "paused"
    paused = await client.set_paused(connection.id, True)
    assert paused.paused is True and paused.status.sync_state == "paused"
    assert (await client.get_connection(connection.id)).paused is True


async def test_sync_and_resync_are_accepted(client, emulator):
    connection = await connected(client, emulator, "postgres")
    await client.set_paused(connection.id, False)
    await client.sync(connection.id)
    await client.sync(connection.id, force=True)
    await client.resync(connection.id)
    await client.resync(connection.id, {"public": ["orders"]})
    calls = emulator.requests()
    assert [c["status"] for c in calls if c["path"].endswith(("/sync", "/resync"))] == [200, 200, 200, 200]
    assert (await client.get_connection(connection.id)).status.is_historical_sync is True


async def test_resync_with_an_empty_scope_is_refused_before_any_call(client, emulator):
    with pytest.raises(ValueError):
        await client.resync("anything", {})
    assert emulator.requests() == []


async def test_a_new_connection_carries_fivetrans_default_schedule(client):
    connection = await new_connection(client)
    assert (connection.sync_frequency, connection.schedule_type, connection.daily_sync_time) == (360, "auto", None)


async def test_update_connection_changes_only_what_it_is_given(client, emulator):
    connection = await connected(client, emulator)

    daily = await client.update_connection(connection.id, sync_frequency=1440, daily_sync_time="03:00")
    assert (daily.sync_frequency, daily.daily_sync_time, daily.paused) == (1440, "03:00", True)

    # Unpausing alone leaves the schedule as it was: the body carries only the argument given.
    resumed = await client.update_connection(connection.id, paused=False)
    assert (resumed.paused, resumed.sync_frequency, resumed.daily_sync_time) == (False, 1440, "03:00")
    hourly = await client.update_connection(connection.id, sync_frequency=60)
    assert (hourly.sync_frequency, hourly.paused) == (60, False)

    fetched = await client.get_connection(connection.id)
    assert (fetched.sync_frequency, fetched.paused) == (60, False)
    patches = api_calls(emulator, "PATCH", f"/v1/connections/{connection.id}")
    assert [call["status"] for call in patches] == [200, 200, 200]


async def test_update_connection_refuses_nothing_to_change_and_unknown_frequencies_before_any_call(client, emulator):
    for arguments in ({}, {"sync_frequency": 7}, {"sync_frequency": True}):
        with pytest.raises(ValueError):
            await client.update_connection("anything", **arguments)
    assert emulator.requests() == []


async def test_update_connection_passes_on_fivetrans_refusal(client, emulator):
    connection = await connected(client, emulator)
    with pytest.raises(FivetranError) as raised:
        await client.update_connection(connection.id, daily_sync_time="03:30")
    assert raised.value.status == 400
    assert (await client.get_connection(connection.id)).daily_sync_time is None


async def test_resync_table_asks_for_that_one_table(client, emulator):
    connection = await connected(client, emulator, "postgres")
    await client.get_schema_config(connection.id)
    emulator.clear_requests()

    await client.resync_table(connection.id, "public", "orders")
    # A source name with a space reaches Fivetran as one path segment.
    await client.resync_table(connection.id, "Sales Ops", "Quota")

    calls = api_calls(emulator, "POST", "/resync")
    assert [(call["path"], call["status"]) for call in calls] == [
        (f"/v1/connections/{connection.id}/schemas/public/tables/orders/resync", 200),
        (f"/v1/connections/{connection.id}/schemas/Sales Ops/tables/Quota/resync", 200),
    ]


async def test_resync_table_of_an_unknown_table_raises(client, emulator):
    connection = await connected(client, emulator, "postgres")
    await client.get_schema_config(connection.id)
    with pytest.raises(FivetranError) as raised:
        await client.resync_table(connection.id, "public", "no_such_table")
    assert raised.value.status == 404


async def test_delete_connection(client, emulator):
    connection = await new_connection(client)
    await client.delete_connection(connection.id)
    with pytest.raises(FivetranError) as raised:
        await client.get_connection(connection.id)
    assert raised.value.status == 404 and raised.value.code == "NotFound_Integration"


async def test_delete_of_an_unknown_connection_raises(client):
    with pytest.raises(FivetranError) as raised:
        await client.delete_connection("no_such_connection")
    assert raised.value.status == 404


async def test_list_connections_reads_every_page(client, emulator):
    created = {(await new_connection(client)).id for _ in range(7)}
    everything = await client.list_connections(GROUP_ID, page_size=1000)
    emulator.clear_requests()

    paged = await client.list_connections(GROUP_ID, page_size=3)

    assert [c.id for c in paged] == [c.id for c in everything]
    assert created <= {c.id for c in paged}
    assert len({c.id for c in paged}) == len(paged)
    pages = api_calls(emulator, "GET", "/connections")
    assert len(pages) == math.ceil(len(everything) / 3) >= 3


async def test_list_connector_types_reads_every_page(client, emulator):
    everything = await client.list_connector_types(page_size=1000)
    emulator.clear_requests()
    paged = await client.list_connector_types(page_size=2)
    assert paged == everything and len(paged) > 2
    assert {"hubspot", "postgres"} <= {t.id for t in paged}
    assert len(api_calls(emulator, "GET", "/metadata/")) == math.ceil(len(everything) / 2)


async def test_get_destination(client):
    destination = await client.get_destination(GROUP_ID)
    assert destination.id == GROUP_ID
    assert destination.service in ("big_query", "managed_big_query")
    assert destination.project_id


async def test_group_webhooks_create_and_list(client):
    # Fivetran test-POSTs the URL before it creates the webhook, so something must answer there.
    receiver = WebhookReceiver().start()
    try:
        url = f"{receiver.url}?hook={uuid.uuid4().hex}"
        webhook = await client.create_group_webhook(
            GROUP_ID, url=url, events=["sync_start", "sync_end"], secret="whsec_test"
        )
    finally:
        receiver.stop()
    assert (webhook.type, webhook.group_id, webhook.url) == ("group", GROUP_ID, url)
    assert webhook.events == ("sync_start", "sync_end")
    # One test POST before creating it (other tests' syncs in the shared emulator may post more).
    assert sum(b'"test_event"' in post["body"] for post in receiver.received) == 1
    assert webhook.id in {w.id for w in await client.list_webhooks()}


# --- schema config -------------------------------------------------------------------------


async def test_get_schema_config_falls_back_to_reload_when_fivetran_has_none(client, emulator):
    connection = await new_connection(client)
    emulator.clear_requests()

    config = await client.get_schema_config(connection.id)

    assert isinstance(config, SchemaConfig) and config.schemas
    calls = [(c["method"], c["path"].rsplit("/", 1)[-1], c["status"]) for c in emulator.requests()]
    assert calls == [("GET", "schemas", 404), ("POST", "reload", 200)]


async def test_get_schema_config_after_the_card_needs_no_reload(client, emulator):
    connection = await connected(client, emulator)
    emulator.clear_requests()
    config = await client.get_schema_config(connection.id)
    assert config.schemas
    assert [(c["method"], c["status"]) for c in emulator.requests()] == [("GET", 200)]


def locked_and_free(config: SchemaConfig) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    locked, free = [], []
    for schema in config.schemas.values():
        for table in schema.tables.values():
            (free if table.patch_allowed else locked).append((schema.name, table.name))
    return locked, free


async def test_the_emulator_rejects_a_patch_of_a_locked_table(client, emulator):
    """The premise of the next test: sending a locked table would fail the whole PATCH."""
    connection = await connected(client, emulator)
    config = await client.get_schema_config(connection.id)
    locked, _ = locked_and_free(config)
    assert locked, "the emulator's hubspot schema should have a table Fivetran locks"
    schema, table = locked[0]
    emulator.clear_requests()

    response = emulator.api(
        "PATCH",
        f"/connections/{connection.id}/schemas",
        json={"schemas": {schema: {"tables": {table: {"enabled": False}}}}},
    )
    assert response.status_code == 400 and response.json()["code"] == "BadRequest"


async def test_update_schema_config_enables_exactly_the_selection(client, emulator):
    connection = await connected(client, emulator)
    config = await client.get_schema_config(connection.id)
    locked, free = locked_and_free(config)
    assert locked and len(free) >= 3
    chosen = free[:2]
    # Locked tables keep their state whatever the selection says: the enabled ones are left out
    # of it (not "deselected"), the disabled ones are put in it (not "selected").
    locked_off = [(s, t) for s, t in locked if not config.schemas[s].tables[t].enabled]
    assert locked_off and len(locked_off) < len(locked), "expected locked tables both on and off"
    selection: dict[str, list[str]] = {}
    for schema, table in [*chosen, *locked_off]:
        selection.setdefault(schema, []).append(table)

    updated = await client.update_schema_config(connection.id, config, selection)
    stored = await client.get_schema_config(connection.id)

    assert stored == updated
    assert stored.schema_change_handling == "BLOCK_ALL"
    for schema_name, table_name in free:
        assert stored.schemas[schema_name].tables[table_name].enabled is ((schema_name, table_name) in chosen)
    for schema_name, table_name in locked:
        before = config.schemas[schema_name].tables[table_name]
        assert stored.schemas[schema_name].tables[table_name].enabled is before.enabled


async def test_update_schema_config_disables_schemas_left_empty(client, emulator):
    connection = await connected(client, emulator, "postgres")
    config = await client.get_schema_config(connection.id)
    assert len(config.schemas) >= 2, "the emulator's postgres source should have several schemas"
    kept, *dropped = list(config.schemas)
    table = next(t.name for t in config.schemas[kept].tables.values() if t.patch_allowed)

    await client.update_schema_config(connection.id, config, {kept: [table]})
    stored = await client.get_schema_config(connection.id)

    assert stored.schemas[kept].enabled is True
    assert [name for name, t in stored.schemas[kept].tables.items() if t.enabled and t.patch_allowed] == [table]
    for name in dropped:
        assert stored.schemas[name].enabled is False
        assert not any(t.enabled for t in stored.schemas[name].tables.values() if t.patch_allowed)


async def test_update_schema_config_refuses_unknown_names_before_any_call(client, emulator):
    connection = await connected(client, emulator)
    config = await client.get_schema_config(connection.id)
    schema = next(iter(config.schemas))
    emulator.clear_requests()
    with pytest.raises(ValueError):
        await client.update_schema_config(connection.id, config, {schema: ["no_such_table"]})
    with pytest.raises(ValueError):
        await client.update_schema_config(connection.id, config, {"no_such_schema": []})
    assert emulator.requests() == []


# --- errors --------------------------------------------------------------------------------


async def test_wrong_credentials_raise_401_without_retry(emulator):
    wrong = FivetranClient(emulator.api_url, emulator.api_key, "not-the-secret", backoff_base=0.01)
    try:
        with pytest.raises(FivetranError) as raised:
            await wrong.get_connection("anything")
    finally:
        await wrong.aclose()
    assert raised.value.status == 401 and raised.value.code
    assert [c["status"] for c in emulator.requests()] == [401]


async def test_unknown_connection_is_404_not_found_integration_with_one_call(client, emulator):
    with pytest.raises(FivetranError) as raised:
        await client.get_connection("no_such_conn")
    error = raised.value
    assert (error.status, error.code) == (404, "NotFound_Integration")
    assert "no_such_conn" in error.message and "NotFound_Integration" in str(error)
    assert len(emulator.requests()) == 1


async def test_bad_request_is_raised_with_one_call(client, emulator):
    connection = await connected(client, emulator)
    config = await client.get_schema_config(connection.id)
    locked, _ = locked_and_free(config)
    schema, table = locked[0]
    emulator.clear_requests()
    with pytest.raises(FivetranError) as raised:
        await client._call(
            "PATCH",
            f"/connections/{connection.id}/schemas",
            accept=ACCEPT_JSON,
            body={"schemas": {schema: {"tables": {table: {"enabled": False}}}}},
        )
    assert (raised.value.status, raised.value.code) == (400, "BadRequest")
    assert len(emulator.requests()) == 1


async def test_invalid_create_is_a_bad_request(client, emulator):
    with pytest.raises(FivetranError) as raised:
        await client._call("POST", "/connections", accept=ACCEPT_V2, body={"service": "hubspot"})
    assert (raised.value.status, raised.value.code) == (400, "BadRequest")
    assert len(emulator.requests()) == 1


# --- retries -------------------------------------------------------------------------------


async def test_rate_limit_waits_retry_after_then_succeeds(client, emulator, caplog):
    connection = await new_connection(client)
    emulator.fault("rate_limit", times=1, retry_after=1)
    emulator.clear_requests()
    started = time.monotonic()

    with caplog.at_level(logging.WARNING, logger="connectors.fivetran"):
        fetched = await client.get_connection(connection.id)

    assert time.monotonic() - started >= 1.0
    assert fetched.id == connection.id
    assert [c["status"] for c in emulator.requests()] == [429, 200]
    assert any("429" in record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)


async def test_retry_after_is_capped_by_the_retry_budget(emulator):
    impatient = FivetranClient(
        emulator.api_url, emulator.api_key, emulator.api_secret, max_retry_seconds=0.5, backoff_base=0.01
    )
    emulator.fault("rate_limit", times=10, retry_after=30)
    started = time.monotonic()
    try:
        with pytest.raises(FivetranError) as raised:
            await impatient.get_destination(GROUP_ID)
    finally:
        await impatient.aclose()
    assert time.monotonic() - started < 5
    assert (raised.value.status, raised.value.code) == (429, "TooManyRequests")
    assert [c["status"] for c in emulator.requests()] == [429, 429]


async def test_server_errors_are_retried_then_succeed(client, emulator):
    emulator.fault("server_error", times=2, status=503)
    destination = await client.get_destination(GROUP_ID)
    assert destination.id == GROUP_ID
    assert [c["status"] for c in emulator.requests()] == [503, 503, 200]


async def test_server_errors_beyond_the_budget_raise(emulator):
    fivetran = FivetranClient(emulator.api_url, emulator.api_key, emulator.api_secret, max_attempts=3, backoff_base=0.01)
    emulator.fault("server_error", times=10, status=502)
    try:
        with pytest.raises(FivetranError) as raised:
            await fivetran.get_destination(GROUP_ID)
    finally:
        await fivetran.aclose()
    assert raised.value.status == 502
    assert [c["status"] for c in emulator.requests()] == [502, 502, 502]


async def test_read_timeouts_are_retried(emulator):
    fivetran = FivetranClient(emulator.api_url, emulator.api_key, emulator.api_secret, timeout=0.5, backoff_base=0.01)
    emulator.fault("slow", times=1, delay=2.0)
    try:
        destination = await fivetran.get_destination(GROUP_ID)
    finally:
        await fivetran.aclose()
    assert destination.id == GROUP_ID
    await asyncio.sleep(2.0)  # let the slow answer finish so it is in the request log
    assert len(api_calls(emulator, "GET", "/destinations/")) == 2


async def test_connect_errors_are_retried_then_raise_unavailable():
    closed_port = free_port()  # nothing listens there
    fivetran = FivetranClient(f"http://127.0.0.1:{closed_port}/v1", "k", "s", max_attempts=3, backoff_base=0.01)
    try:
        with pytest.raises(FivetranError) as raised:
            await fivetran.get_connection("anything")
    finally:
        await fivetran.aclose()
    assert raised.value.status is None and raised.value.code == "Unavailable"


async def test_a_lost_create_response_never_creates_a_second_connection(client, emulator):
    schema = unique_schema("lost")
    emulator.fault("lose_response", path="/connections", times=1)

    connection, card_uri = await client.create_connection(
        group_id=GROUP_ID, service=service("hubspot"), schema_name=schema, redirect_uri=REDIRECT_URI
    )

    same_schema = [c for c in await client.list_connections(GROUP_ID) if c.schema == schema]
    assert [c.id for c in same_schema] == [connection.id]
    assert card_uri.startswith(emulator.url) and "auth=" in card_uri
    creates = api_calls(emulator, "POST", "/v1/connections")
    assert [c["status"] for c in creates if c["path"].rstrip("/").endswith("/connections")] == [504]


async def test_create_retries_when_nothing_was_created(client, emulator):
    schema = unique_schema("retry")
    emulator.fault("server_error", path="/connections", times=1, status=503)
    connection, _ = await client.create_connection(
        group_id=GROUP_ID, service=service("hubspot"), schema_name=schema, redirect_uri=REDIRECT_URI
    )
    assert connection.schema == schema
    posts = [c["status"] for c in api_calls(emulator, "POST", "/v1/connections") if c["path"].endswith("/connections")]
    assert posts == [503, 201]
    assert [c.id for c in await client.list_connections(GROUP_ID) if c.schema == schema] == [connection.id]


# --- headers (the emulator ignores them, so they are checked at the transport) ---------------


async def test_every_call_sends_auth_user_agent_and_the_right_accept_header():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": "Success", "data": {"id": "x", "items": [], "schemas": {}}})

    fivetran = FivetranClient("https://api.example/v1", "key", "secret", transport=httpx.MockTransport(answer))
    try:
        await fivetran.get_connection("c1")
        await fivetran.set_paused("c1", True)
        await fivetran.get_schema_config("c1")
        await fivetran.list_webhooks()
        await fivetran.get_destination("g1")
        await fivetran.list_connector_types()
    finally:
        await fivetran.aclose()

    accepts = [(r.method, r.url.path, r.headers["Accept"]) for r in seen]
    assert accepts == [
        ("GET", "/v1/connections/c1", ACCEPT_V2),
        ("PATCH", "/v1/connections/c1", ACCEPT_V2),
        ("GET", "/v1/connections/c1/schemas", ACCEPT_JSON),
        ("GET", "/v1/webhooks", ACCEPT_JSON),
        ("GET", "/v1/destinations/g1", ACCEPT_V2),
        ("GET", "/v1/metadata/connector-types", ACCEPT_V2),
    ]
    credentials = base64.b64encode(b"key:secret").decode()
    for request in seen:
        assert request.headers["Authorization"] == f"Basic {credentials}"
        assert request.headers["User-Agent"].startswith("gyana-connect/")
    patch = seen[1]
    assert patch.headers["Content-Type"] == "application/json"
    assert json.loads(patch.content) == {"paused": True, "run_setup_tests": False}


async def test_an_error_without_fivetrans_envelope_still_carries_the_status():
    fivetran = FivetranClient(
        "https://api.example/v1",
        "key",
        "secret",
        max_attempts=2,
        backoff_base=0.01,
        transport=httpx.MockTransport(lambda request: httpx.Response(502, text="<html>Bad gateway</html>")),
    )
    try:
        with pytest.raises(FivetranError) as raised:
            await fivetran.get_connection("c1")
    finally:
        await fivetran.aclose()
    assert (raised.value.status, raised.value.code) == (502, "HTTP502")
    assert "Bad gateway" in raised.value.message


# --- the shared client ---------------------------------------------------------------------


async def test_get_client_is_shared_within_a_loop_and_separate_across_loops():
    mine = get_client()
    assert get_client() is mine

    other: list[FivetranClient] = []

    def in_another_loop():
        async def fetch():
            client = get_client()
            await client.aclose()
            return client

        other.append(asyncio.run(fetch()))

    thread = threading.Thread(target=in_another_loop)
    thread.start()
    thread.join()
    assert other and other[0] is not mine
    await mine.aclose()
    assert get_client() is not mine  # a closed client is replaced, not handed out
    await get_client().aclose()
