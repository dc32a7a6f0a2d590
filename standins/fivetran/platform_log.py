"""What the Fivetran Platform Connector would write about the emulator's connections: rows of its
`log`, `incremental_mar` and `connection` tables (columns in platform_tables.py), as plain dicts
ready for a load job. Pure functions: the lifecycle decides when, the destination writes them.

Choices where Fivetran documents no more than the names (fivetran-post-setup §2.2, dbt_fivetran_log):
- `message_data` is JSON text; `records_modified` carries {"schema", "table", "operationType",
  "count"}, `sync_end` {"status", "reason"?}, `sync_stats` Fivetran's time and volume keys.
- A failed sync writes one SEVERE line (`message_event` "error") with Fivetran's reason before its
  `sync_end`; a warning Fivetran reports is a WARNING line (`message_event` "warning").
- `schema` / `schema_name` is the destination dataset the table landed in (what a user finds in
  BigQuery, and what incremental_mar names for database connectors: `<prefix>_<schema>`).
- MAR: the rows a sync wrote per table count as that day's active rows. A table copied whole (the
  historical sync, a re-sync, a newly enabled table) is free (`free_type` FREE, the value dbt's
  staging model reads), rows an incremental sync adds are PAID.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .clock import api_timestamp, now, parse

INFO, WARNING, SEVERE = "INFO", "WARNING", "SEVERE"
PAID, FREE = "PAID", "FREE"
HISTORICAL, INCREMENTAL = "HISTORICAL", "INCREMENTAL"


@dataclass(frozen=True)
class PlatformBatch:
    """One write of the Platform Connector's tables: log lines appended, MAR added to its day's row,
    connection rows appended (the latest `_fivetran_synced` per connection is current)."""

    log: tuple[dict[str, Any], ...] = ()
    mar: tuple[dict[str, Any], ...] = ()
    connections: tuple[dict[str, Any], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.log or self.mar or self.connections)


def _iso(moment: datetime) -> str:
    return api_timestamp(moment)


def log_line(connection: dict[str, Any], message_event: str, data: dict[str, Any] | None = None, *,
             event: str = INFO, sync_id: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    """One `log` row, minus `_fivetran_synced` (set when the batch is written)."""
    return {
        "id": str(uuid.uuid4()),
        "time_stamp": _iso(at or now()),
        "connection_id": connection["id"],
        "connector_id": connection["id"],
        "event": event,
        "message_event": message_event,
        "message_data": json.dumps(data, separators=(",", ":")) if data is not None else None,
        "transformation_id": None,
        "sync_id": sync_id,
    }


def table_lines(connection: dict[str, Any], sync_id: str, schema: str, table: str, count: int) -> list[dict[str, Any]]:
    """What a sync logs for one table it wrote."""
    lines = [log_line(connection, "write_to_table_start", {"schema": schema, "table": table}, sync_id=sync_id)]
    if count > 0:
        lines.append(log_line(connection, "records_modified", {
            "schema": schema, "table": table, "operationType": "REPLACED_OR_INSERTED", "count": count,
        }, sync_id=sync_id))
    lines.append(log_line(connection, "write_to_table_end", {"schema": schema, "table": table}, sync_id=sync_id))
    return lines


def end_lines(connection: dict[str, Any], sync: dict[str, Any], status: dict[str, Any]) -> list[dict[str, Any]]:
    """The lines that close a sync: a SEVERE line for a failure, `sync_stats`, then `sync_end`."""
    sync_id = sync["id"]
    lines = []
    if status["status"] not in ("SUCCESSFUL", "RESCHEDULED", "CANCELED"):
        lines.append(log_line(connection, "error", {"type": status["status"], "message": status.get("reason") or ""},
                              event=SEVERE, sync_id=sync_id))
    if status["status"] != "CANCELED":
        seconds = round((now() - parse(sync["started_at"])).total_seconds(), 3)
        written = sum(json.loads(line["message_data"])["count"] for line in sync.get("log", ())
                      if line["message_event"] == "records_modified")
        lines.append(log_line(connection, "sync_stats", {
            "extract_time_s": round(seconds * 0.4, 3), "extract_volume_mb": round(written * 0.001, 3),
            "process_time_s": round(seconds * 0.2, 3), "process_volume_mb": round(written * 0.001, 3),
            "load_time_s": round(seconds * 0.4, 3), "load_volume_mb": round(written * 0.001, 3),
            "total_time_s": seconds,
        }, sync_id=sync_id))
    end = {"status": status["status"], **({"reason": status["reason"]} if status.get("reason") else {})}
    lines.append(log_line(connection, "sync_end", end, sync_id=sync_id))
    return lines


def warning_lines(connection: dict[str, Any], warnings: Iterable[dict[str, Any]], sync_id: str | None) -> list[dict[str, Any]]:
    return [log_line(connection, "warning", {"type": warning["code"], "message": warning["message"]},
                     event=WARNING, sync_id=sync_id) for warning in warnings]


def mar_row(connection: dict[str, Any], schema: str, table: str, count: int, *, whole: bool) -> dict[str, Any]:
    """Today's incremental_mar row for rows a sync wrote into one table. A table copied whole (the
    historical sync, a re-sync, a newly enabled table) is free; rows an incremental sync adds are paid."""
    return {
        "connection_name": connection["schema"],
        "destination_id": connection["group_id"],
        "schema_name": schema,
        "table_name": table,
        "free_type": FREE if whole else PAID,
        "measured_date": now().strftime("%Y-%m-%dT00:00:00.000000Z"),
        "incremental_rows": count,
        "sync_type": HISTORICAL if whole else INCREMENTAL,
    }


MAR_KEY = ("connection_name", "destination_id", "schema_name", "table_name", "measured_date", "free_type")


def summed_mar(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per table, day and free type, as Fivetran keeps incremental_mar."""
    totals: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[name] for name in MAR_KEY)
        if key in totals:
            totals[key] = {**totals[key], "incremental_rows": totals[key]["incremental_rows"] + row["incremental_rows"]}
        else:
            totals[key] = dict(row)
    return list(totals.values())


def schema_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What a schema config change switched on or off: a schema, or a table (source names)."""
    changes = []
    old_schemas = (before or {}).get("schemas", {})
    for schema_name, schema in after.get("schemas", {}).items():
        old = old_schemas.get(schema_name, {})
        if old.get("enabled") != schema.get("enabled"):
            changes.append({"schema": schema_name, "enabled": schema.get("enabled")})
        for table_name, table in schema.get("tables", {}).items():
            if old.get("tables", {}).get(table_name, {}).get("enabled") != table.get("enabled"):
                changes.append({"schema": schema_name, "table": table_name, "enabled": table.get("enabled")})
    return changes


def connection_row(connection: dict[str, Any], *, deleted: bool = False) -> dict[str, Any]:
    """The connection as the Platform Connector's `connection` table shows it now."""
    return {
        "connection_id": connection["id"],
        "connection_name": connection["schema"],
        "connector_type_id": connection["service"],
        "destination_id": connection["group_id"],
        "paused": bool(connection["paused"]),
        "signed_up": connection["created_at"],
        "_fivetran_deleted": deleted,
    }
