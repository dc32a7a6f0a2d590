"""The Fivetran emulator's destination: writes each synced table into BigQuery (the stand-in).

Rows are synthetic and deterministic: every value derives from the column's name and type and
the row's index, so two syncs of the same table land the same data.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import uuid
import zlib
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_RETRY

from standins.fivetran import platform_tables
from standins.fivetran.clock import api_timestamp
from standins.fivetran.platform_log import MAR_KEY

if TYPE_CHECKING:
    from standins.fivetran.platform_log import PlatformBatch
    from standins.fivetran.writer import LandedTable

_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def synthetic_value(column: str, type_: str, index: int):
    """The value of `column` in row `index`: JSON-ready, stable across runs and processes."""
    seed = zlib.crc32(column.encode())
    if column == "_fivetran_deleted":
        return False
    match type_.upper():
        case "INT64" | "INTEGER":
            return seed % 1000 + index
        case "FLOAT64" | "FLOAT":
            return round((seed % 1000) / 10 + index * 1.5, 2)
        case "NUMERIC" | "BIGNUMERIC":
            return f"{seed % 1000 + index}.25"
        case "BOOL" | "BOOLEAN":
            return (seed + index) % 2 == 0
        case "TIMESTAMP":
            return (_EPOCH + timedelta(minutes=seed % 1440 + index)).isoformat()
        case "DATETIME":
            return (_EPOCH + timedelta(minutes=seed % 1440 + index)).replace(tzinfo=None).isoformat()
        case "DATE":
            return (date(2024, 1, 1) + timedelta(days=(seed + index) % 3650)).isoformat()
        case "JSON":
            return json.dumps({"column": column, "row": index})
        case _:
            return f"{column}_{index}"


def synthetic_ndjson(columns: tuple[tuple[str, str], ...], row_count: int, first_row: int = 0) -> bytes:
    lines = (
        json.dumps({name: synthetic_value(name, type_, index) for name, type_ in columns})
        for index in range(first_row, first_row + row_count)
    )
    return ("\n".join(lines) + "\n").encode()


class BigQueryWriter:
    """`DestinationWriter` (contracts C) writing into BigQuery through the real client."""

    def __init__(self, endpoint: str | None, project: str, *, location: str = "US", timeout: float = 30.0):
        self.project = project
        self.location = location
        self.timeout = timeout
        # The stand-in takes anonymous calls; a real endpoint uses the google-auth default chain.
        options = {"credentials": AnonymousCredentials(), "client_options": ClientOptions(api_endpoint=endpoint)}
        self._client = bigquery.Client(project=project, location=location, **(options if endpoint else {}))
        self._datasets_ready: set[str] = set()
        self._lock = threading.Lock()
        self._platform_ready = False
        # BigQuery refuses concurrent MERGEs into one table ("could not serialize access"): one at a time.
        self._mar_lock = threading.Lock()

    async def write_table(self, table: LandedTable) -> None:
        await asyncio.to_thread(self._write, table)

    async def write_platform(self, batch: PlatformBatch) -> None:
        await asyncio.to_thread(self._write_platform, batch)

    def close(self) -> None:
        self._client.close()

    def _write(self, landed: LandedTable) -> None:
        self._ensure_dataset(landed.dataset)
        schema = [bigquery.SchemaField(name, type_) for name, type_ in landed.columns]
        reference = f"{self.project}.{landed.dataset}.{landed.table}"
        if landed.append:
            # An incremental sync adds to the table; one dropped meanwhile in BigQuery comes back.
            table = self._client.create_table(bigquery.Table(reference, schema=schema), exists_ok=True, **self._call_options())
        else:
            # Fivetran replaces the table's contents on a re-sync; drop and create gives the same.
            self._client.delete_table(reference, not_found_ok=True, **self._call_options())
            table = self._client.create_table(bigquery.Table(reference, schema=schema), **self._call_options())
        if landed.row_count <= 0:
            return
        job_config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            schema=schema,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND if landed.append else bigquery.WriteDisposition.WRITE_TRUNCATE,
        )
        options = self._call_options()
        # No `size=`: the stand-in refuses multipart uploads, a resumable upload works everywhere.
        job = self._client.load_table_from_file(
            io.BytesIO(synthetic_ndjson(landed.columns, landed.row_count, landed.first_row)),
            table,
            job_config=job_config,
            location=self.location,
            timeout=options["timeout"],
        )
        job.result(**options)

    # --- the Platform Connector's tables (platform_tables.py) ----------------------------------------

    def _write_platform(self, batch: PlatformBatch) -> None:
        """Log and connection rows are appended with one load job each; MAR rows are added to their
        (table, day, free type) row with a MERGE, so counts stay right however many syncs a day has."""
        self._ensure_platform_tables()
        synced = api_timestamp()
        if batch.log:
            self._load(platform_tables.DATASET, "log", platform_tables.LOG,
                       [{**row, "_fivetran_synced": synced} for row in batch.log])
        if batch.connections:
            self._load(platform_tables.DATASET, "connection", platform_tables.CONNECTION,
                       [{**row, "_fivetran_synced": synced} for row in batch.connections])
        if batch.mar:
            self._merge_mar([{**row, "updated_at": synced, "_fivetran_synced": synced} for row in batch.mar])

    def _ensure_platform_tables(self) -> None:
        if self._platform_ready:
            return
        self._ensure_dataset(platform_tables.DATASET)
        for name, columns in platform_tables.TABLES.items():
            table = bigquery.Table(f"{self.project}.{platform_tables.DATASET}.{name}", schema=_schema(columns))
            self._client.create_table(table, exists_ok=True, **self._call_options())
        self._platform_ready = True

    def _load(self, dataset: str, table: str, columns: tuple[tuple[str, str], ...], rows: list[dict]) -> None:
        payload = ("\n".join(json.dumps(row) for row in rows) + "\n").encode()
        job_config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON, schema=_schema(columns),
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
        )
        options = self._call_options()
        job = self._client.load_table_from_file(
            io.BytesIO(payload), f"{self.project}.{dataset}.{table}", job_config=job_config,
            location=self.location, timeout=options["timeout"],
        )
        job.result(**options)

    def _merge_mar(self, rows: list[dict]) -> None:
        """Stage the rows with a load job, MERGE them into incremental_mar, drop the stage."""
        dataset = platform_tables.DATASET
        stage = f"_incremental_mar_stage_{uuid.uuid4().hex}"
        columns = platform_tables.INCREMENTAL_MAR
        names = [name for name, _type in columns]
        on = " AND ".join(f"target.{key} = stage.{key}" for key in MAR_KEY)
        sql = (
            f"MERGE `{self.project}.{dataset}.incremental_mar` AS target "
            f"USING `{self.project}.{dataset}.{stage}` AS stage ON {on} "
            "WHEN MATCHED THEN UPDATE SET incremental_rows = target.incremental_rows + stage.incremental_rows, "
            "sync_type = stage.sync_type, updated_at = stage.updated_at, _fivetran_synced = stage._fivetran_synced "
            f"WHEN NOT MATCHED THEN INSERT ({', '.join(names)}) VALUES ({', '.join(f'stage.{name}' for name in names)})"
        )
        reference = f"{self.project}.{dataset}.{stage}"
        self._client.create_table(bigquery.Table(reference, schema=_schema(columns)), **self._call_options())
        try:
            self._load(dataset, stage, columns, rows)
            with self._mar_lock:
                self._client.query(sql, location=self.location, **self._call_options()).result(**self._call_options())
        finally:
            self._client.delete_table(reference, not_found_ok=True, **self._call_options())

    def _ensure_dataset(self, dataset_id: str) -> None:
        with self._lock:
            if dataset_id in self._datasets_ready:
                return
        dataset = bigquery.Dataset(f"{self.project}.{dataset_id}")
        dataset.location = self.location
        self._client.create_dataset(dataset, exists_ok=True, **self._call_options())
        with self._lock:
            self._datasets_ready.add(dataset_id)

    def _call_options(self) -> dict:
        # Bounded: the library's default retries a 500 (the stand-in's answer to a bad row) for 600 s.
        retry = DEFAULT_RETRY.with_timeout(min(20.0, self.timeout * 2)).with_delay(initial=0.2, maximum=2.0)
        return {"retry": retry, "timeout": self.timeout}


def _schema(columns: tuple[tuple[str, str], ...]) -> list[bigquery.SchemaField]:
    return [bigquery.SchemaField(name, type_) for name, type_ in columns]
