"""Rows of the Platform Connector's `log` table made up for tests and the bench, loaded into the stand-in
with one load job (columns from standins/fivetran/platform_tables.py, as the emulator writes them)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from google.cloud import bigquery

from standins.fivetran import platform_tables
from warehouse.bigquery import call_options

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
TABLES_PER_SYNC = 3


def sync_lines(connection_id: str, sync_id: str, started: datetime, *, failed: bool = False) -> list[dict]:
    """The lines of one sync, a second apart: start, three tables, stats, end (a failure adds SEVERE)."""
    lines: list[tuple[str, str, dict | None]] = [("INFO", "sync_start", None)]
    for index in range(TABLES_PER_SYNC):
        table = {"schema": "crm", "table": f"table_{index}"}
        lines += [("INFO", "write_to_table_start", table),
                  ("INFO", "records_modified", {**table, "operationType": "REPLACED_OR_INSERTED", "count": index + 1}),
                  ("INFO", "write_to_table_end", table)]
    if failed:
        lines += [("WARNING", "warning", {"type": "sync_failed", "message": "Source API answered 500"}),
                  ("SEVERE", "error", {"type": "FAILURE", "message": "Source API answered 500"})]
    lines.append(("INFO", "sync_stats", {"total_time_s": len(lines)}))
    lines.append(("INFO", "sync_end", {"status": "FAILURE", "reason": "Source API answered 500"} if failed
                  else {"status": "SUCCESSFUL"}))
    return [
        {
            "id": f"{sync_id}-{position:02d}",
            "time_stamp": (started + timedelta(seconds=position)).isoformat(),
            "connection_id": connection_id,
            "connector_id": connection_id,
            "event": level,
            "message_event": message_event,
            "message_data": json.dumps(data) if data is not None else None,
            "transformation_id": None,
            "sync_id": sync_id,
            "_fivetran_synced": (started + timedelta(hours=1)).isoformat(),
        }
        for position, (level, message_event, data) in enumerate(lines)
    ]


def connection_syncs(connection_id: str, syncs: int, *, every: timedelta = timedelta(hours=1),
                     fail_every: int = 5) -> Iterator[dict]:
    """`syncs` syncs of one connection, an `every` apart from START; every `fail_every`-th fails."""
    for number in range(syncs):
        yield from sync_lines(connection_id, f"{connection_id}-s{number:05d}", START + every * number,
                              failed=fail_every > 0 and number % fail_every == fail_every - 1)


def load_log(client: bigquery.Client, dataset: str, rows: Iterable[dict]) -> int:
    """Create `dataset.log` if needed and append `rows` with one load job; how many were loaded."""
    client.create_dataset(f"{client.project}.{dataset}", exists_ok=True, **call_options())
    schema = [bigquery.SchemaField(name, type_) for name, type_ in platform_tables.LOG]
    table = client.create_table(bigquery.Table(f"{client.project}.{dataset}.log", schema=schema), exists_ok=True,
                                **call_options())
    count = 0
    # A file, not memory: a million rows are a few hundred MB of NDJSON.
    with tempfile.TemporaryDirectory(prefix="platform-rows-") as folder:
        path = Path(folder) / "log.ndjson"
        with path.open("wb") as out:
            for row in rows:
                out.write(json.dumps(row, separators=(",", ":")).encode() + b"\n")
                count += 1
        config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON, schema=schema)
        options = call_options(timeout=600)
        with path.open("rb") as upload:
            # No size=: the stand-in takes resumable uploads only.
            client.load_table_from_file(upload, table, job_config=config, timeout=options["timeout"]).result(**options)
    return count
