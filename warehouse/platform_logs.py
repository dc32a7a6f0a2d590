"""A connection's log lines from the Fivetran Platform Connector's `log` table, as plain data.

The dataset (setting FIVETRAN_PLATFORM_DATASET) holds every tenant's rows, so every query is filtered
by `connection_id`. Values only ever travel as query parameters; the one name in the SQL text, the
dataset, is checked to be an identifier. Newest first, paged by keyset on (time_stamp, id): a page
costs the same however deep it is, and lines written meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime

from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from warehouse.bigquery import bigquery_client, call_options, setting

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DEFAULT_DATASET = "fivetran_metadata"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")


class BadLogQuery(ValueError):
    """The request cannot be answered as asked (a forged cursor, a page size out of range); says why."""


@dataclass(frozen=True)
class LogLine:
    id: str
    time_stamp: datetime
    level: str  # Fivetran's `event`: INFO, WARNING or SEVERE (integrations.vocabulary.LOG_LEVEL_LABELS)
    message_event: str
    message_data: dict | list | str | None  # parsed JSON when it is JSON, else as written
    sync_id: str | None


@dataclass(frozen=True)
class LogPage:
    lines: list[LogLine]
    next_cursor: str | None  # the page after this one, None on the last


@dataclass(frozen=True)
class SyncSummary:
    """A sync as its lines tell it: `sync_start`, and `sync_end` with its status and reason."""

    sync_id: str
    started_at: datetime | None
    ended_at: datetime | None
    status: str | None  # Fivetran's: SUCCESSFUL, FAILURE, FAILURE_WITH_TASK, RESCHEDULED, CANCELED; None while running
    reason: str | None


def dataset_name() -> str:
    name = setting("FIVETRAN_PLATFORM_DATASET", DEFAULT_DATASET)
    if not _IDENTIFIER.match(name or ""):
        raise ValueError(f"FIVETRAN_PLATFORM_DATASET must be a BigQuery dataset id, not {name!r}")
    return name


def _table(client: bigquery.Client, table: str) -> str:
    return f"`{client.project}.{dataset_name()}.{table}`"


def encode_cursor(line: LogLine) -> str:
    raw = json.dumps([line.time_stamp.isoformat(), line.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, line_id = json.loads(raw)
        moment = datetime.fromisoformat(stamp)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadLogQuery("The cursor is not one this server gave out.") from None
    if not isinstance(line_id, str) or moment.tzinfo is None:
        raise BadLogQuery("The cursor is not one this server gave out.")
    return moment, line_id


def _parsed(message_data: str | None):
    if message_data is None:
        return None
    try:
        return json.loads(message_data)
    except ValueError:
        return message_data


def log_page(
    *,
    connection_id: str,
    since: datetime | None = None,
    level: str | None = None,
    sync_id: str | None = None,
    cursor: str | None = None,
    page_size: int = PAGE_SIZE,
    client: bigquery.Client | None = None,
) -> LogPage:
    """One page of the connection's lines, newest first."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadLogQuery(f"The page size must be 1 to {MAX_PAGE_SIZE}.")
    conditions = ["connection_id = @connection_id"]
    parameters = [bigquery.ScalarQueryParameter("connection_id", "STRING", connection_id)]
    if since is not None:
        conditions.append("time_stamp >= @since")
        parameters.append(bigquery.ScalarQueryParameter("since", "TIMESTAMP", since))
    if level is not None:
        conditions.append("event = @level")
        parameters.append(bigquery.ScalarQueryParameter("level", "STRING", level))
    if sync_id is not None:
        conditions.append("sync_id = @sync_id")
        parameters.append(bigquery.ScalarQueryParameter("sync_id", "STRING", sync_id))
    if cursor is not None:
        after_stamp, after_id = decode_cursor(cursor)
        conditions.append("(time_stamp < @after_stamp OR (time_stamp = @after_stamp AND id < @after_id))")
        parameters += [bigquery.ScalarQueryParameter("after_stamp", "TIMESTAMP", after_stamp),
                       bigquery.ScalarQueryParameter("after_id", "STRING", after_id)]
    # One more than a page: whether there is a next page, without counting.
    parameters.append(bigquery.ScalarQueryParameter("limit", "INT64", page_size + 1))

    def run(client: bigquery.Client) -> LogPage:
        sql = (
            f"SELECT id, time_stamp, event, message_event, message_data, sync_id FROM {_table(client, 'log')} "
            f"WHERE {' AND '.join(conditions)} ORDER BY time_stamp DESC, id DESC LIMIT @limit"
        )
        rows = _query(client, sql, parameters)
        lines = [
            LogLine(row["id"], row["time_stamp"], row["event"], row["message_event"], _parsed(row["message_data"]), row["sync_id"])
            for row in rows[:page_size]
        ]
        return LogPage(lines, encode_cursor(lines[-1]) if len(rows) > page_size else None)

    return _with_client(client, run)


def sync_summaries(
    *, connection_id: str, sync_ids: list[str] | None = None, limit: int = 50, client: bigquery.Client | None = None
) -> list[SyncSummary]:
    """The connection's syncs, newest first: those named, or the latest `limit`."""
    conditions = ["connection_id = @connection_id", "sync_id IS NOT NULL", "message_event IN ('sync_start', 'sync_end')"]
    parameters = [bigquery.ScalarQueryParameter("connection_id", "STRING", connection_id),
                  bigquery.ScalarQueryParameter("limit", "INT64", limit)]
    if sync_ids is not None:
        if not sync_ids:
            return []
        conditions.append("sync_id IN UNNEST(@sync_ids)")
        parameters.append(bigquery.ArrayQueryParameter("sync_ids", "STRING", sorted(set(sync_ids))))

    def run(client: bigquery.Client) -> list[SyncSummary]:
        sql = (
            "SELECT sync_id,"
            " MIN(IF(message_event = 'sync_start', time_stamp, NULL)) AS started_at,"
            " MAX(IF(message_event = 'sync_end', time_stamp, NULL)) AS ended_at,"
            " MAX(IF(message_event = 'sync_end', JSON_VALUE(message_data, '$.status'), NULL)) AS status,"
            " MAX(IF(message_event = 'sync_end', JSON_VALUE(message_data, '$.reason'), NULL)) AS reason"
            f" FROM {_table(client, 'log')} WHERE {' AND '.join(conditions)}"
            " GROUP BY sync_id ORDER BY COALESCE(started_at, ended_at) DESC, sync_id DESC LIMIT @limit"
        )
        return [SyncSummary(**dict(row.items())) for row in _query(client, sql, parameters)]

    return _with_client(client, run)


def _query(client: bigquery.Client, sql: str, parameters: list) -> list:
    try:
        job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=parameters), **call_options())
        return list(job.result(**call_options()))
    except NotFound:  # the Platform Connector has not written its first sync yet: no lines
        return []


def _with_client(client: bigquery.Client | None, run):
    if client is not None:
        return run(client)
    own = bigquery_client()
    try:
        return run(own)
    finally:
        own.close()
