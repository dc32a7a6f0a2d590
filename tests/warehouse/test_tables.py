"""Registering what an integration produced, against the stand-in with the real client."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connectors.catalogue import get_catalogue
from connectors.fivetran import parse_schema_config
from integrations.models import Integration, Table
from integrations.state.datasets import destination_tables
from integrations.state.tables import TableStore, register_tables
from teams.models import Team
from tests.support.bigquery_fixtures import MANY_TABLES, create_tables, unique_name
from tests.support.paths import FIVETRAN_FIXTURES as FIXTURES
from warehouse.bigquery import call_options
from warehouse.tables import TableMetadata, is_system_table, newly_landed, standard_sql_type

pytestmark = pytest.mark.django_db(transaction=True)


def schema_config(name: str):
    return parse_schema_config(json.loads((FIXTURES / f"GET_connections_ID_schemas.{name}.json").read_text())["data"])


def make_integration(service="hubspot", schema_name=None) -> Integration:
    team = Team.objects.create(name=unique_name("team"))
    return Integration.objects.create(team=team, service=service, name=service, schema_name=schema_name or unique_name("t1"))


acreate_integration = sync_to_async(make_integration)


@sync_to_async
def rows_of(integration):
    return list(Table.objects.filter(integration=integration).order_by("dataset", "name").values())


# --- mapping to datasets ----------------------------------------------------------------------


def test_app_connector_tables_land_in_the_schema_dataset():
    hubspot = get_catalogue().get("hubspot")
    tables = destination_tables(hubspot, "t1_hubspot_abcd", schema_config("hubspot"))
    assert list(tables) == ["t1_hubspot_abcd"]
    assert "contact" in tables["t1_hubspot_abcd"]
    assert "email_event" not in tables["t1_hubspot_abcd"]  # disabled
    assert len(tables["t1_hubspot_abcd"]) == 9


def test_database_connector_has_one_dataset_per_enabled_schema():
    postgres = get_catalogue().get("postgres")
    tables = destination_tables(postgres, "t1_postgres_abcd", schema_config("postgres"))
    assert tables == {"t1_postgres_abcd_public": ["customers", "orders", "order_items"]}


def test_single_table_connector_uses_its_static_table():
    sheets = get_catalogue().get("google_sheets")
    assert sheets.single_table
    tables = destination_tables(sheets, "t1_sheets_abcd", schema_config("hubspot"))
    assert tables == {"t1_sheets_abcd": [sheets.static_config["table"]]}


def test_types_are_normalised_and_system_tables_recognised():
    assert [standard_sql_type(t) for t in ("INTEGER", "FLOAT", "BOOLEAN", "RECORD", "STRING", "int64")] == [
        "INT64", "FLOAT64", "BOOL", "STRUCT", "STRING", "INT64",
    ]
    assert is_system_table("fivetran_audit") and is_system_table("fivetran_audit_warning")
    assert is_system_table("fivetran_anything") and not is_system_table("contact")


# --- registration ----------------------------------------------------------------------------


async def test_app_connector_registration(bigquery_settings, standin_client):
    integration = await acreate_integration()
    dataset = integration.schema_name
    await sync_to_async(create_tables)(
        standin_client, dataset, ["contact", "company", "email_event", "fivetran_audit", "fivetran_audit_warning"],
        columns=(("id", "INTEGER"), ("score", "FLOAT"), ("active", "BOOLEAN"), ("name", "STRING"),
                 ("_fivetran_synced", "TIMESTAMP")),
    )
    # fivetran_audit is ignored even when asked for; email_event exists but the user did not enable it.
    progress = []

    async def on_progress(done, total):
        progress.append((done, total))

    registration = await register_tables(
        integration, {dataset: ["contact", "company", "fivetran_audit"]}, on_progress=on_progress
    )
    assert sorted(t.name for t in registration.registered) == ["company", "contact"]
    assert registration.missing == []
    assert progress[0] == (0, 2) and progress[-1] == (2, 2)
    rows = await rows_of(integration)
    assert [(r["dataset"], r["name"], r["project"]) for r in rows] == [
        (dataset, "company", "local-project"), (dataset, "contact", "local-project"),
    ]
    assert rows[0]["columns"] == [
        {"name": "id", "type": "INT64"}, {"name": "score", "type": "FLOAT64"}, {"name": "active", "type": "BOOL"},
        {"name": "name", "type": "STRING"}, {"name": "_fivetran_synced", "type": "TIMESTAMP"},
    ]
    assert rows[0]["num_rows"] == 0 and rows[0]["modified"] is not None


async def test_database_connector_registration(bigquery_settings, standin_client):
    postgres = get_catalogue().get("postgres")
    integration = await acreate_integration("postgres")
    expected = destination_tables(postgres, integration.schema_name, schema_config("postgres"))
    dataset = f"{integration.schema_name}_public"
    await sync_to_async(create_tables)(standin_client, dataset, ["customers", "orders", "order_items", "audit_log"])
    registration = await register_tables(integration, expected)
    assert sorted((t.dataset, t.name) for t in registration.registered) == [
        (dataset, "customers"), (dataset, "order_items"), (dataset, "orders"),
    ]
    assert registration.missing == []


async def test_single_table_connector_registration(bigquery_settings, standin_client):
    sheets = get_catalogue().get("google_sheets")
    integration = await acreate_integration("google_sheets")
    expected = destination_tables(sheets, integration.schema_name, schema_config("hubspot"))
    table = sheets.static_config["table"]
    await sync_to_async(create_tables)(standin_client, integration.schema_name, [table])
    registration = await register_tables(integration, expected)
    assert [(t.dataset, t.name) for t in registration.registered] == [(integration.schema_name, table)]


async def test_late_tables_are_missing_then_registered(bigquery_settings, standin_client):
    integration = await acreate_integration()
    dataset = integration.schema_name
    expected = {dataset: ["contact", "deal"]}
    # Nothing yet: not even the dataset.
    registration = await register_tables(integration, expected)
    assert registration.registered == [] and registration.missing == [f"{dataset}.contact", f"{dataset}.deal"]
    assert await newly_landed(expected, known=set()) == []

    await sync_to_async(create_tables)(standin_client, dataset, ["contact"])
    registration = await register_tables(integration, expected)
    assert [t.name for t in registration.registered] == ["contact"]
    assert registration.missing == [f"{dataset}.deal"]
    assert [meta.name for meta in await newly_landed(expected, known=set())] == ["contact"]

    await sync_to_async(create_tables)(standin_client, dataset, ["deal"])
    registration = await register_tables(integration, expected)
    assert [t.name for t in registration.registered] == ["contact", "deal"]
    assert registration.missing == []
    # Only what is new since the last look, with its metadata (rows) read once.
    assert [meta.name for meta in await newly_landed(expected, known={f"{dataset}.contact"})] == ["deal"]


async def test_a_removed_table_is_marked_gone_and_comes_back(bigquery_settings, standin_client):
    integration = await acreate_integration()
    dataset = integration.schema_name
    await sync_to_async(create_tables)(standin_client, dataset, ["contact", "deal"])
    expected = {dataset: ["contact", "deal"]}
    first = await register_tables(integration, expected)
    kept = next(t.pk for t in first.registered if t.name == "contact")

    await sync_to_async(standin_client.delete_table)(f"local-project.{dataset}.deal", **call_options())
    second = await register_tables(integration, expected)
    assert [(t.pk, t.name) for t in second.registered] == [(kept, "contact")]
    assert second.missing == [f"{dataset}.deal"]
    assert [r["name"] for r in await rows_of(integration)] == ["contact"]

    # A table the user disabled is gone too, though it is still in BigQuery.
    third = await register_tables(integration, {dataset: ["deal"]})
    assert third.registered == []
    assert await rows_of(integration) == []
    # Gone, not deleted: the rows stay, marked, and a table that lands again is the same row.
    gone = {t.name: t for t in await sync_to_async(list)(Table.all_objects.filter(integration=integration))}
    assert set(gone) == {"contact", "deal"} and all(t.gone_at for t in gone.values())
    fourth = await register_tables(integration, {dataset: ["contact"]})
    assert [(t.pk, t.name, t.gone_at) for t in fourth.registered] == [(kept, "contact", None)]


async def test_rerunning_registration_changes_nothing(bigquery_settings, standin_client):
    integration = await acreate_integration()
    dataset = integration.schema_name
    await sync_to_async(create_tables)(standin_client, dataset, ["contact", "company", "deal"])
    expected = {dataset: ["contact", "company", "deal"]}
    await register_tables(integration, expected)
    before = await rows_of(integration)

    registration = await register_tables(integration, expected)
    after = await rows_of(integration)
    assert after == before  # same ids, same values, same updated_at: nothing was written
    assert len(registration.registered) == 3


async def test_more_than_a_thousand_tables_register_in_pages(bigquery_settings, many_tables_dataset):
    dataset, names = many_tables_dataset
    integration = await acreate_integration()
    progress = []

    async def on_progress(done, total):
        progress.append((done, total))

    registration = await register_tables(integration, {dataset: names}, on_progress=on_progress)
    assert len(registration.registered) == MANY_TABLES
    assert registration.missing == []
    # One report before the first page, one per page of 1,000.
    assert progress == [(0, MANY_TABLES), (1000, MANY_TABLES), (MANY_TABLES, MANY_TABLES)]


# --- the database half alone ------------------------------------------------------------------


def statements(captured) -> list[str]:
    """The captured SQL without transaction control (BEGIN, COMMIT, SAVEPOINT ...)."""
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
    return [query["sql"] for query in captured if not query["sql"].upper().startswith(control)]


def test_store_writes_a_page_in_bulk_and_skips_unchanged_rows():
    integration = make_integration()
    page = [TableMetadata("ds", f"t{index}", index, 0, None, (("id", "INT64"),)) for index in range(1000)]
    store = TableStore(integration, "p")
    with CaptureQueriesContext(connection) as queries:
        assert store.save_page(page) == 1000
    assert len(statements(queries)) == 1

    store = TableStore(integration, "p")
    changed = [*page[:999], TableMetadata("ds", "t999", 5, 0, None, (("id", "INT64"),))]
    with CaptureQueriesContext(connection) as queries:
        assert store.save_page(changed) == 1
        assert store.remove_unseen() == 0
    assert len(statements(queries)) == 1
    assert Table.objects.get(integration=integration, name="t999").num_rows == 5
    assert Table.objects.filter(integration=integration).count() == 1000
