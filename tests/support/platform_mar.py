"""The Platform Connector's `incremental_mar` table in the BigQuery stand-in, for the usage tests:
created with the columns the emulator writes (standins.fivetran.platform_tables) and seeded with
rows of the test's own through the real client. Expected numbers are read back with direct SQL.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from google.cloud import bigquery

from standins.fivetran.platform_tables import INCREMENTAL_MAR
from warehouse.bigquery import call_options

INSERT_BATCH = 5000


def create_mar_table(client: bigquery.Client, dataset: str) -> str:
    client.create_dataset(f"{client.project}.{dataset}", exists_ok=True, **call_options())
    reference = f"{client.project}.{dataset}.incremental_mar"
    schema = [bigquery.SchemaField(name, type_) for name, type_ in INCREMENTAL_MAR]
    client.create_table(bigquery.Table(reference, schema=schema), exists_ok=True, **call_options())
    return reference


def mar_row(connection: str, destination: str, table: str, measured: datetime | date, rows: int,
            free_type: str = "PAID", schema: str = "public") -> dict:
    if not isinstance(measured, datetime):
        measured = datetime(measured.year, measured.month, measured.day, 12, tzinfo=timezone.utc)
    stamp = measured.isoformat()
    return {
        "connection_name": connection, "destination_id": destination, "schema_name": schema, "table_name": table,
        "free_type": free_type, "measured_date": stamp, "incremental_rows": rows,
        "sync_type": "HISTORICAL" if free_type != "PAID" else "INCREMENTAL",
        "updated_at": stamp, "_fivetran_synced": stamp,
    }


def seed_mar(client: bigquery.Client, dataset: str, rows: list[dict]) -> str:
    reference = create_mar_table(client, dataset)
    for start in range(0, len(rows), INSERT_BATCH):
        errors = client.insert_rows_json(reference, rows[start:start + INSERT_BATCH], **call_options())
        assert not errors, errors
    return reference


def direct_sum(client: bigquery.Client, reference: str, *, connection: str, destination: str,
               month: str | None = None, paid: bool | None = None, table: str | None = None) -> int:
    """SUM(incremental_rows) written out by hand: the figure the product's numbers must equal."""
    conditions = ["connection_name = @connection", "destination_id = @destination"]
    parameters = [
        bigquery.ScalarQueryParameter("connection", "STRING", connection),
        bigquery.ScalarQueryParameter("destination", "STRING", destination),
    ]
    if month is not None:
        conditions.append("FORMAT_TIMESTAMP('%Y-%m', measured_date) = @month")
        parameters.append(bigquery.ScalarQueryParameter("month", "STRING", month))
    if paid is not None:
        conditions.append("free_type = 'PAID'" if paid else "free_type != 'PAID'")
    if table is not None:
        conditions.append("table_name = @table")
        parameters.append(bigquery.ScalarQueryParameter("table", "STRING", table))
    sql = f"SELECT COALESCE(SUM(incremental_rows), 0) AS total FROM `{reference}` WHERE {' AND '.join(conditions)}"
    job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=parameters), **call_options())
    return int(next(iter(job.result(**call_options())))["total"])


def ready_integration_on(server, name: str, schema_name: str) -> int:
    """A Ready integration of the demo team in the live server's own database (no set-up run: the
    usage pages read only its schema name), by a management command against that database."""
    code = (
        "from integrations.models import Integration; from teams.models import Team; "
        f"i = Integration.objects.create(team=Team.objects.get(name='Demo'), service='hubspot', name={name!r}, "
        f"schema_name={schema_name!r}, state='ready', connection_id={schema_name + '_id'!r}); print(i.pk)"
    )
    return int(server.manage("shell", "--no-imports", "-c", code).strip().splitlines()[-1])
