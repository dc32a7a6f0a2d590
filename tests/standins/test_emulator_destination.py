"""The emulator's BigQuery writer lands tables the registration then finds, and later syncs grow them."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async

from integrations.models import Integration
from integrations.state.tables import register_tables
from standins.fivetran.destination import BigQueryWriter, synthetic_ndjson, synthetic_value
from standins.fivetran.samples import row_count
from standins.fivetran.writer import LandedTable
from teams.models import Team
from tests.support.bigquery_fixtures import unique_name
from tests.support.fivetran_fixtures import running_emulator
from warehouse.bigquery import call_options

COLUMNS = (
    ("id", "INT64"),
    ("email", "STRING"),
    ("score", "FLOAT64"),
    ("active", "BOOL"),
    ("amount", "NUMERIC"),
    ("created_on", "DATE"),
    ("properties", "JSON"),
    ("_fivetran_synced", "TIMESTAMP"),
    ("_fivetran_deleted", "BOOL"),
)


def landed(dataset, table, row_count, columns=COLUMNS):
    return LandedTable(connection_id="conn_1", service="hubspot", dataset=dataset, table=table,
                       columns=columns, row_count=row_count)


@pytest.fixture
def writer(bigquery_standin):
    writer = BigQueryWriter(bigquery_standin.endpoint, bigquery_standin.project)
    yield writer
    writer.close()


def test_synthetic_rows_are_deterministic_and_typed():
    assert synthetic_ndjson(COLUMNS, 3) == synthetic_ndjson(COLUMNS, 3)
    assert synthetic_value("id", "INT64", 1) == synthetic_value("id", "INT64", 0) + 1
    assert synthetic_value("_fivetran_deleted", "BOOL", 7) is False
    assert synthetic_value("email", "STRING", 4) == "email_4"


async def test_writer_lands_columns_and_rows(writer, standin_client):
    dataset = unique_name("written")
    await asyncio.gather(writer.write_table(landed(dataset, "contact", 25)), writer.write_table(landed(dataset, "empty", 0)))

    contact = await sync_to_async(standin_client.get_table)(f"local-project.{dataset}.contact", **call_options())
    assert [(f.name, f.field_type) for f in contact.schema] == list(COLUMNS)
    assert contact.num_rows == 25
    rows = await sync_to_async(lambda: list(standin_client.list_rows(contact, max_results=50, **call_options())))()
    assert len(rows) == 25
    assert sorted(row["id"] for row in rows) == [synthetic_value("id", "INT64", i) for i in range(25)]
    assert all(row["_fivetran_deleted"] is False for row in rows)

    empty = await sync_to_async(standin_client.get_table)(f"local-project.{dataset}.empty", **call_options())
    assert empty.num_rows == 0
    dataset_info = await sync_to_async(standin_client.get_dataset)(dataset, **call_options())
    assert dataset_info.location == "US"


async def test_a_rewrite_replaces_the_table(writer, standin_client):
    dataset = unique_name("rewritten")
    await writer.write_table(landed(dataset, "deal", 10))
    await writer.write_table(landed(dataset, "deal", 4, columns=(("id", "INT64"), ("stage", "STRING"))))
    deal = await sync_to_async(standin_client.get_table)(f"local-project.{dataset}.deal", **call_options())
    assert [f.name for f in deal.schema] == ["id", "stage"]
    assert deal.num_rows == 4


@pytest.mark.django_db(transaction=True)
async def test_registration_finds_what_the_writer_wrote(writer, bigquery_settings):
    @sync_to_async
    def make():
        team = Team.objects.create(name="Acme")
        return Integration.objects.create(team=team, service="hubspot", name="HubSpot", schema_name=unique_name("t1_hubspot"))

    integration = await make()
    await writer.write_table(landed(integration.schema_name, "contact", 12))
    registration = await register_tables(integration, {integration.schema_name: ["contact", "deal"]})
    [contact] = registration.registered
    assert (contact.name, contact.num_rows) == ("contact", 12)
    assert {"name": "_fivetran_synced", "type": "TIMESTAMP"} in contact.columns
    assert registration.missing == [f"{integration.schema_name}.deal"]


async def test_an_incremental_write_appends_the_next_rows(writer, standin_client):
    dataset = unique_name("appended")
    await writer.write_table(landed(dataset, "deal", 10))
    await writer.write_table(LandedTable(connection_id="conn_1", service="hubspot", dataset=dataset, table="deal",
                                         columns=COLUMNS, row_count=3, first_row=10, append=True))
    deal = await sync_to_async(standin_client.get_table)(f"local-project.{dataset}.deal", **call_options())
    assert deal.num_rows == 13
    rows = await sync_to_async(lambda: list(standin_client.list_rows(deal, max_results=50, **call_options())))()
    assert sorted(row["id"] for row in rows) == [synthetic_value("id", "INT64", i) for i in range(13)]
    # An append to a table that is not there (dropped in BigQuery meanwhile) creates it.
    await writer.write_table(LandedTable(connection_id="conn_1", service="hubspot", dataset=dataset, table="fresh",
                                         columns=COLUMNS, row_count=2, first_row=5, append=True))
    fresh = await sync_to_async(standin_client.get_table)(f"local-project.{dataset}.fresh", **call_options())
    assert fresh.num_rows == 2


@pytest.fixture
def landing_emulator(bigquery_standin, tmp_path):
    with running_emulator(tmp_path, sync_seconds=0.3, time_scale=3600, bigquery_endpoint=bigquery_standin.endpoint,
                          bigquery_project=bigquery_standin.project) as emulator:
        yield emulator


def test_scheduled_syncs_land_new_rows_and_new_tables_in_bigquery(landing_emulator, standin_client):
    """The emulator as a process, writing into the BigQuery stand-in: an hourly schedule at ×3600."""
    emulator = landing_emulator
    schema = unique_name("grows")
    created = emulator.api("POST", "/connections", json={"group_id": "embedded_group", "service": "hubspot", "paused": True,
                                                          "sync_frequency": 60, "config": {"schema": schema}}).json()["data"]
    connection_id = created["id"]
    emulator.complete_card(connection_id)
    # Two tables with rows (and the one HubSpot will not let go) keep each sync into the stand-in short.
    tables = emulator.api("GET", f"/connections/{connection_id}/schemas").json()["data"]["schemas"][schema]["tables"]
    kept = [name for name, table in tables.items() if table["enabled"] and row_count("hubspot", schema, name) > 0][:2]
    off = {name: {"enabled": False} for name, table in tables.items() if name not in kept and table["enabled_patch_settings"]["allowed"]}
    emulator.api("PATCH", f"/connections/{connection_id}/schemas", json={"schemas": {schema: {"tables": off}}})
    emulator.api("PATCH", f"/connections/{connection_id}", json={"paused": False})

    def details() -> dict:
        return emulator.api("GET", f"/connections/{connection_id}").json()["data"]

    def landed() -> dict[str, int]:
        return {key: value["rows"] for key, value in emulator.connection_state(connection_id)["landed_tables"].items()}

    def wait(check, what: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := check():
                return result
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    historical = wait(lambda: details()["succeeded_at"], "the historical sync")
    first = landed()
    emulator.add_table(connection_id, "invoice", columns=["id:INT64", "total:NUMERIC"], rows=4)
    # A scheduled sync after the historical one reads the source's new table.
    wait(lambda: f"{schema}.invoice" in landed(), "a scheduled sync landing the new table")
    # A manual schedule stops further syncs, so what BigQuery holds can be compared with what landed.
    emulator.api("PATCH", f"/connections/{connection_id}", json={"schedule_type": "manual"})
    wait(lambda: details()["status"]["sync_state"] == "scheduled", "the last sync's end")
    assert details()["succeeded_at"] > historical
    grown = landed()
    assert grown[f"{schema}.invoice"] == 4
    for name in kept:
        key = f"{schema}.{name}"
        assert grown[key] > first[key]
        assert standin_client.get_table(f"local-project.{key}", **call_options()).num_rows == grown[key]
    invoice = standin_client.get_table(f"local-project.{schema}.invoice", **call_options())
    assert [f.name for f in invoice.schema] == ["id", "total", "_fivetran_synced"] and invoice.num_rows == 4
