"""Fivetran responses (the reference fixtures) parse into the client's frozen dataclasses."""

import copy
import dataclasses
import json
from datetime import datetime, timedelta, timezone

import pytest

from connectors.fivetran import (
    Connection,
    SchemaConfig,
    parse_connection,
    parse_connector_type,
    parse_destination,
    parse_schema_config,
    parse_timestamp,
    parse_webhook,
    schema_selection_patch,
)
from tests.support.paths import FIVETRAN_FIXTURES as FIXTURES

UTC = timezone.utc


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def data(name: str) -> dict:
    return fixture(name)["data"]


# (file, paused, setup_state, sync_state, update_state, is_historical_sync, succeeded?, failed?, task codes)
LIFECYCLE = [
    ("GET_connections_ID.1_created_incomplete.json", True, "incomplete", "paused", "on_schedule", True, False, False, ()),
    ("GET_connections_ID.2_connected_paused.json", True, "connected", "paused", "on_schedule", True, False, False, ()),
    ("GET_connections_ID.3_unpaused_scheduled.json", False, "connected", "scheduled", "on_schedule", True, False, False, ()),
    ("GET_connections_ID.4_historical_syncing.json", False, "connected", "syncing", "on_schedule", True, False, False, ()),
    ("GET_connections_ID.5_historical_done.json", False, "connected", "scheduled", "on_schedule", False, True, False, ()),
    ("GET_connections_ID.6_sync_failed_retrying.json", False, "connected", "scheduled", "delayed", True, False, True, ()),
    ("GET_connections_ID.7_broken_needs_action.json", False, "broken", "scheduled", "delayed", False, True, True, ("reconnect",)),
    ("GET_connections_ID.8_rescheduled.json", False, "connected", "rescheduled", "on_schedule", True, False, False, ()),
]


@pytest.mark.parametrize(
    "name, paused, setup_state, sync_state, update_state, historical, succeeded, failed, tasks", LIFECYCLE
)
def test_every_lifecycle_stage_parses(name, paused, setup_state, sync_state, update_state, historical, succeeded, failed, tasks):
    connection = parse_connection(data(name))

    assert isinstance(connection, Connection)
    assert (connection.id, connection.group_id, connection.service, connection.schema) == (
        "brisk_lantern",
        "larch_meadow",
        "hubspot",
        "u42_hubspot",
    )
    assert connection.paused is paused
    assert connection.status.setup_state == setup_state
    assert connection.status.sync_state == sync_state
    assert connection.status.update_state == update_state
    assert connection.status.is_historical_sync is historical
    assert (connection.succeeded_at is not None) is succeeded
    assert (connection.failed_at is not None) is failed
    assert tuple(task.code for task in connection.status.tasks) == tasks
    assert connection.created_at == datetime(2026, 5, 12, 9, 14, 3, 512804, tzinfo=UTC)
    assert connection.config == {"schema": "u42_hubspot"}


def test_broken_connection_carries_the_task_message():
    status = parse_connection(data("GET_connections_ID.7_broken_needs_action.json")).status
    assert status.tasks[0].message == "Reconnect"
    assert status.tasks[0].details is None


def test_failed_sync_keeps_its_warning_details():
    connection = parse_connection(data("GET_connections_ID.6_sync_failed_retrying.json"))
    assert connection.failed_at == datetime(2026, 5, 12, 10, 2, 19, 430557, tzinfo=UTC)
    assert connection.status.warnings[0].code == "example_warning_code"
    assert connection.status.warnings[0].details == {}


def test_rescheduled_connection_says_when():
    status = parse_connection(data("GET_connections_ID.8_rescheduled.json")).status
    assert status.rescheduled_for == datetime(2026, 5, 12, 11, 0, tzinfo=UTC)


def test_create_response_parses_as_a_paused_incomplete_connection():
    connection = parse_connection(data("POST_connections.response_201.json"))
    assert connection.paused is True
    assert connection.status.setup_state == "incomplete"
    assert connection.succeeded_at is None and connection.failed_at is None


@pytest.mark.parametrize(
    "name", ["GET_connections.response.json", "GET_groups_ID_connections.response.json"]
)
def test_list_items_without_config_parse(name):
    connections = [parse_connection(item) for item in data(name)["items"]]
    assert [c.id for c in connections] == ["brisk_lantern", "amber_quarry"]
    assert connections[1].service == "postgres"
    assert connections[1].status.sync_state == "syncing"
    assert connections[0].config == {}


def test_the_schedule_parses():
    connection = parse_connection(data("GET_connections_ID.5_historical_done.json"))
    assert (connection.sync_frequency, connection.daily_sync_time, connection.schedule_type) == (360, None, "auto")

    raw = copy.deepcopy(data("GET_connections_ID.5_historical_done.json"))
    raw.update(sync_frequency=1440, daily_sync_time="03:00", schedule_type="manual")
    daily = parse_connection(raw)
    assert (daily.sync_frequency, daily.daily_sync_time, daily.schedule_type) == (1440, "03:00", "manual")


@pytest.mark.parametrize("frequency", [None, "360", True, 0, -5])
def test_a_null_or_mistyped_frequency_is_no_frequency(frequency):
    raw = {**data("GET_connections_ID.5_historical_done.json"), "sync_frequency": frequency}
    assert parse_connection(raw).sync_frequency is None
    assert parse_connection({"id": "bare"}).schedule_type == ""


def test_unknown_enum_values_are_kept_as_strings():
    raw = copy.deepcopy(data("GET_connections_ID.5_historical_done.json"))
    raw["status"].update(setup_state="quarantined", sync_state="warming_up", update_state="someday")
    status = parse_connection(raw).status
    assert (status.setup_state, status.sync_state, status.update_state) == ("quarantined", "warming_up", "someday")


def test_missing_optional_keys_are_tolerated():
    connection = parse_connection({"id": "bare"})
    assert connection.id == "bare"
    assert connection.created_at is None and connection.succeeded_at is None
    assert connection.status.setup_state == "unknown"
    assert connection.status.tasks == () and connection.status.rescheduled_for is None
    assert connection.config == {}


def test_results_are_frozen():
    connection = parse_connection(data("GET_connections_ID.2_connected_paused.json"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        connection.paused = False
    with pytest.raises(TypeError):
        connection.config["schema"] = "elsewhere"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-05-12T09:14:03.512804Z", datetime(2026, 5, 12, 9, 14, 3, 512804, tzinfo=UTC)),
        ("2026-05-12T09:41:08.583Z", datetime(2026, 5, 12, 9, 41, 8, 583000, tzinfo=UTC)),
        ("2026-05-12T09:14:03Z", datetime(2026, 5, 12, 9, 14, 3, tzinfo=UTC)),
        ("2026-05-12T11:14:03+02:00", datetime(2026, 5, 12, 9, 14, 3, tzinfo=UTC)),
        ("2026-05-12T09:14:03.5-01:30", datetime(2026, 5, 12, 10, 44, 3, 500000, tzinfo=UTC)),
        ("2026-05-12T09:14:03", datetime(2026, 5, 12, 9, 14, 3, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("last tuesday", None),
    ],
)
def test_timestamps_with_and_without_fractions_or_offsets(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)


def test_hubspot_schema_config_marks_locked_tables_and_columns():
    config = parse_schema_config(data("GET_connections_ID_schemas.hubspot.json"))
    assert isinstance(config, SchemaConfig)
    assert config.schema_change_handling == "ALLOW_ALL"
    assert list(config.schemas) == ["u42_hubspot"]
    tables = config.schemas["u42_hubspot"].tables
    assert len(tables) == 11
    assert tables["company"].patch_allowed and tables["company"].patch_reason is None
    assert not tables["deal_pipeline"].patch_allowed
    assert tables["deal_pipeline"].patch_reason == "The table does not support exclusion"
    assert not tables["form_submission"].patch_allowed
    assert tables["form_submission"].patch_reason == "DELETED"
    assert not tables["email_event"].enabled
    columns = tables["contact"].columns
    assert not columns["id"].patch_allowed and columns["property_email"].patch_allowed
    assert tables["company"].columns == {}


def test_postgres_schema_config_keeps_source_and_destination_names():
    config = parse_schema_config(data("GET_connections_ID_schemas.postgres.json"))
    assert config.schema_change_handling == "ALLOW_COLUMNS"
    sales = config.schemas["Sales Ops"]
    assert (sales.name, sales.name_in_destination, sales.enabled) == ("Sales Ops", "sales_ops", False)
    assert sales.tables["Quota"].name_in_destination == "quota"
    assert [t for t, table in config.schemas["public"].tables.items() if table.enabled] == [
        "customers",
        "orders",
        "order_items",
    ]


@pytest.mark.parametrize(
    "name", ["PATCH_connections_ID_schemas.response.json", "POST_connections_ID_schemas_reload.response.json"]
)
def test_schema_write_responses_parse(name):
    config = parse_schema_config(data(name))
    assert config.schemas
    for schema in config.schemas.values():
        for table_name, table in schema.tables.items():
            assert table.name == table_name


def test_webhooks_parse():
    created = parse_webhook(data("POST_webhooks_group_ID.response.json"))
    listed = [parse_webhook(item) for item in data("GET_webhooks.response.json")["items"]]
    assert listed == [created]
    assert created.type == "group" and created.group_id == "larch_meadow" and created.active
    assert created.events == ("sync_start", "sync_end", "connection_successful", "connection_failure")
    account = parse_webhook(data("POST_webhooks_account.response.json"))
    assert account.type == "account" and account.group_id is None


def test_connector_types_parse():
    types = [parse_connector_type(item) for item in data("GET_metadata_connector-types.response.json")["items"]]
    assert [t.id for t in types] == ["hubspot", "google_sheets", "postgres", "stripe"]
    assert types[2].type == "Database" and types[2].name == "Generic PostgreSQL"
    detail = parse_connector_type(data("GET_metadata_connector-types_ID.response.json"))
    assert detail.service_status == "general_availability"


def test_destination_parses_v2_and_v1_location():
    destination = parse_destination(data("GET_destinations_ID.big_query.response.json"))
    assert destination.project_id == "acme-analytics-prod"
    assert (destination.id, destination.service, destination.location) == ("larch_meadow", "big_query", "US")
    v1 = parse_destination({"id": "g", "service": "big_query", "config": {"project_id": "p", "location": "EU"}})
    assert v1.location == "EU"


# --- the PATCH body built from a selection -----------------------------------------------------


def hubspot() -> SchemaConfig:
    return parse_schema_config(data("GET_connections_ID_schemas.hubspot.json"))


def postgres() -> SchemaConfig:
    return parse_schema_config(data("GET_connections_ID_schemas.postgres.json"))


def test_selection_never_sends_locked_tables():
    body = schema_selection_patch(hubspot(), {"u42_hubspot": ["company", "deal_pipeline", "form_submission"]})
    tables = body["schemas"]["u42_hubspot"]["tables"]
    assert "deal_pipeline" not in tables and "form_submission" not in tables
    assert tables["company"] == {"enabled": True}
    assert tables["email_event"] == {"enabled": False}
    assert sum(t["enabled"] for t in tables.values()) == 1
    assert body["schema_change_handling"] == "BLOCK_ALL"


def test_selection_disables_schemas_left_without_tables():
    body = schema_selection_patch(postgres(), {"Sales Ops": ["Quota"]})
    assert body["schemas"]["public"] == {
        "enabled": False,
        "tables": {name: {"enabled": False} for name in ("customers", "orders", "order_items", "audit_log")},
    }
    assert body["schemas"]["Sales Ops"] == {"enabled": True, "tables": {"Quota": {"enabled": True}}}


@pytest.mark.parametrize(
    "selection, message",
    [
        ({"private": ["x"]}, "unknown schema 'private'"),
        ({"public": ["customers", "ghosts"]}, "unknown table(s) 'ghosts'"),
        ({"public": "customers"}, "collection of table names"),
    ],
)
def test_selection_rejects_unknown_names(selection, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        schema_selection_patch(postgres(), selection)
