"""A connection's Logs: Fivetran's log lines (the Platform Connector's `log` table, read by
warehouse.platform_logs), in plain words, grouped under the sync they belong to. Shared by the
Logs tab and `GET /api/integrations/<id>/logs`.

Fivetran writes one line per routine (`message_event`) with JSON `message_data`; the words here say
what each routine means, and give Fivetran's own message where it has one (a warning, a failure).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from integrations.vocabulary import LOG_LEVEL_LABELS, SYNC_STATUS_LABELS, SyncStatus, sync_status_of_fivetran
from warehouse.platform_logs import BadLogQuery, LogLine, SyncSummary, log_page, sync_summaries

PAGE_SIZE = 100
RECENT_SYNCS = 20  # offered in the tab's sync filter


class LogsRequestError(ValueError):
    """Input the Logs cannot answer, in words for the person who sent it."""


@dataclass(frozen=True)
class LogsQuery:
    since: datetime | None = None
    level: str | None = None
    sync_id: str | None = None
    cursor: str | None = None


@dataclass(frozen=True)
class SyncHeading:
    sync_id: str
    started_at: datetime | None
    ended_at: datetime | None
    status: str  # ours (SyncStatus), `running` until its sync_end line
    status_label: str
    reason: str | None

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None


@dataclass(frozen=True)
class LogEntry:
    line: LogLine
    text: str

    @property
    def level_label(self) -> str:
        return LOG_LEVEL_LABELS.get(self.line.level, self.line.level)


@dataclass(frozen=True)
class LogGroup:
    """Lines of one sync next to each other on the page (sync None: lines outside any sync)."""

    sync: SyncHeading | None
    sync_id: str | None
    entries: list[LogEntry]


@dataclass(frozen=True)
class ConnectionLogs:
    groups: list[LogGroup]
    next_cursor: str | None

    @property
    def entries(self) -> list[LogEntry]:
        return [entry for group in self.groups for entry in group.entries]


def parse_logs_query(params: Mapping[str, str]) -> LogsQuery:
    """`since`, `level`, `sync`, `cursor` from a query string; empty means unset."""
    values = {key: (params.get(key) or "").strip() or None for key in ("since", "level", "sync", "cursor")}
    since = None
    if values["since"]:
        try:
            since = datetime.fromisoformat(values["since"])
        except ValueError:
            raise LogsRequestError("since must be a date and time such as 2026-01-31T12:00:00Z.") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
    level = values["level"].upper() if values["level"] else None
    if level is not None and level not in LOG_LEVEL_LABELS:
        raise LogsRequestError(f"level must be one of {', '.join(LOG_LEVEL_LABELS)}.")
    if values["sync"] and len(values["sync"]) > 200:
        raise LogsRequestError("sync must be a sync id from these logs.")
    return LogsQuery(since=since, level=level, sync_id=values["sync"], cursor=values["cursor"])


def connection_logs(*, connection_id: str | None, query: LogsQuery, page_size: int = PAGE_SIZE) -> ConnectionLogs:
    """One page of the connection's lines, newest first, with a heading for each sync on it."""
    if not connection_id:
        return ConnectionLogs(groups=[], next_cursor=None)
    try:
        page = log_page(connection_id=connection_id, since=query.since, level=query.level, sync_id=query.sync_id,
                        cursor=query.cursor, page_size=page_size)
    except BadLogQuery as bad:
        raise LogsRequestError(str(bad)) from None
    sync_ids = sorted({line.sync_id for line in page.lines if line.sync_id})
    headings = {summary.sync_id: heading(summary)
                for summary in sync_summaries(connection_id=connection_id, sync_ids=sync_ids, limit=len(sync_ids) or 1)}
    groups: list[LogGroup] = []
    for line in page.lines:
        if not groups or groups[-1].sync_id != line.sync_id:
            groups.append(LogGroup(sync=headings.get(line.sync_id), sync_id=line.sync_id, entries=[]))
        groups[-1].entries.append(LogEntry(line, line_text(line)))
    return ConnectionLogs(groups=groups, next_cursor=page.next_cursor)


def recent_syncs(*, connection_id: str | None, limit: int = RECENT_SYNCS) -> list[SyncHeading]:
    if not connection_id:
        return []
    return [heading(summary) for summary in sync_summaries(connection_id=connection_id, limit=limit)]


def heading(summary: SyncSummary) -> SyncHeading:
    status = sync_status_of_fivetran(summary.status) if summary.status else SyncStatus.RUNNING
    return SyncHeading(summary.sync_id, summary.started_at, summary.ended_at, status.value,
                       SYNC_STATUS_LABELS[status], summary.reason)


def _table(data: dict) -> str:
    return ".".join(part for part in (data.get("schema"), data.get("table")) if part)


def line_text(line: LogLine) -> str:
    """What the line says, in plain words."""
    data = line.message_data if isinstance(line.message_data, dict) else {}
    match line.message_event:
        case "sync_start":
            return "Sync started"
        case "sync_end":
            status = sync_status_of_fivetran(data.get("status"))
            said = f"Sync ended: {SYNC_STATUS_LABELS[status].lower()}"
            return f"{said}. {data['reason']}" if data.get("reason") else said
        case "write_to_table_start":
            return f"Writing {_table(data)}"
        case "write_to_table_end":
            return f"Finished writing {_table(data)}"
        case "records_modified":
            count = int(data.get("count") or 0)
            return f"{count:,} row{'' if count == 1 else 's'} written to {_table(data)}"
        case "sync_stats":
            seconds = data.get("total_time_s")
            return f"Sync took {seconds:g} s" if isinstance(seconds, (int, float)) else "Sync statistics"
        case "forced_resync_table":
            return f"Re-sync of {_table(data)} asked for"
        case "change_schema_config":
            if "table" in data:
                return f"Table {_table(data)} {'switched on' if data.get('enabled') else 'switched off'}"
            return "Schema settings changed"
    if data.get("message"):
        return str(data["message"])
    if line.message_data is None:
        return line.message_event.replace("_", " ").capitalize()
    return f"{line.message_event}: {line.message_data}"


def logs_json(logs: ConnectionLogs) -> dict:
    """The API's answer: the page's lines and the syncs they belong to."""
    syncs = {group.sync.sync_id: group.sync for group in logs.groups if group.sync}
    return {
        "lines": [
            {
                "id": entry.line.id,
                "time": entry.line.time_stamp.isoformat(),
                "level": entry.line.level,
                "level_label": entry.level_label,
                "event": entry.line.message_event,
                "text": entry.text,
                "data": entry.line.message_data,
                "sync_id": entry.line.sync_id,
            }
            for entry in logs.entries
        ],
        "syncs": [
            {
                "sync_id": sync.sync_id,
                "started_at": sync.started_at.isoformat() if sync.started_at else None,
                "ended_at": sync.ended_at.isoformat() if sync.ended_at else None,
                "duration_seconds": sync.duration_seconds,
                "status": sync.status,
                "status_label": sync.status_label,
                "reason": sync.reason,
            }
            for sync in syncs.values()
        ],
        "next_cursor": logs.next_cursor,
    }
