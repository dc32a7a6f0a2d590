"""What an integration's events mean for the people of its team: one pure reading of the event rows,
in order, into notices. No query, no call: the caller gives the events and what the reading
remembers between passes (notifications.models.EventCursor), and stores what it answers.

- `setup.completed`                                  -> setup_ready
- `step.failed`                                      -> setup_failed (with Fivetran's words)
- `connection.updated` whose health becomes broken   -> connection_broken (once per break)
- the Nth `sync.failed` (status failed) in a row     -> syncs_failing; a successful sync starts again
  (a cancelled sync was stopped by a pause or a forced sync, a rescheduled one is Fivetran waiting:
  neither counts either way)
- `schema.changed` with tables waiting for a tick    -> schema_review (the connection's schema change
  handling kept the source's new tables out until someone enables them on the Schema tab)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from integrations.vocabulary import STEP_LABELS, ConnectionHealth, SyncStatus
from integrations.wording import counted
from notifications.kinds import NotificationKind as Kind


@dataclass(frozen=True)
class Notice:
    """One notification, before it is addressed to anyone. `key` names the event: the same event
    read again makes the same key, which each person receives once."""

    kind: Kind
    key: str
    title: str
    body: str
    link: str


@dataclass
class Reading:
    """What the reading remembers between events (and passes)."""

    health: str = ""
    failed_syncs: int = 0
    last_failed_sync: int | None = None


@dataclass(frozen=True)
class Subject:
    """The integration the events are about."""

    id: int
    name: str


def event_key(integration_id: int, kind: Kind, seq: int) -> str:
    return f"integration-{integration_id}:{kind.value}:{seq}"


def connection_link(integration_id: int, tab: str | None = None) -> str:
    path = reverse("integrations:connection", args=[integration_id])
    return f"{path}?tab={tab}" if tab else path


def read_events(subject: Subject, events, reading: Reading, *, failed_syncs_limit: int) -> list[Notice]:
    """The notices `events` (IntegrationEvent rows, in seq order) raise; updates `reading`."""
    notices = []
    for event in events:
        notice = _notice(subject, event.seq, event.type, event.data, reading, failed_syncs_limit)
        if notice is not None:
            notices.append(notice)
    return notices


def _notice(subject: Subject, seq: int, type: str, data: dict, reading: Reading, limit: int) -> Notice | None:
    if type == "setup.completed":
        return Notice(
            Kind.SETUP_READY,
            event_key(subject.id, Kind.SETUP_READY, seq),
            f"{subject.name} is ready",
            f"The first sync has landed: {counted(data.get('tables', 0), 'table')} in BigQuery.",
            connection_link(subject.id),
        )
    if type == "step.failed":
        error = data.get("error") or {}
        step = STEP_LABELS.get(data.get("step", ""), data.get("step", ""))
        then = "Retry it from the set-up page." if data.get("retryable", True) else "It cannot be retried."
        return Notice(
            Kind.SETUP_FAILED,
            event_key(subject.id, Kind.SETUP_FAILED, seq),
            f"{subject.name}: the set-up stopped",
            f"{step} failed: {error.get('message') or error.get('code') or 'no reason was given'}. {then}",
            reverse("integrations:flow", args=[subject.id]),
        )
    if type == "connection.updated":
        before, reading.health = reading.health, data.get("health", "")
        if reading.health == ConnectionHealth.BROKEN and before != ConnectionHealth.BROKEN:
            return Notice(
                Kind.CONNECTION_BROKEN,
                event_key(subject.id, Kind.CONNECTION_BROKEN, seq),
                f"{subject.name} needs reconnecting",
                f"{data.get('reason') or 'Fivetran cannot reach the source.'} Reconnect it in the connection's settings.",
                connection_link(subject.id, "settings"),
            )
        return None
    if type in ("sync.completed", "sync.failed"):
        return _sync_ended(subject, seq, data, reading, limit)
    if type == "schema.changed" and data.get("waiting"):
        return _schema_review(subject, seq, data)
    return None


NAMED_TABLES = 5


def _schema_review(subject: Subject, seq: int, data: dict) -> Notice:
    waiting = [f"{entry['schema']}.{entry['table']}" for entry in data["added"] if not entry["enabled"]]
    more = f" and {len(waiting) - NAMED_TABLES} more" if len(waiting) > NAMED_TABLES else ""
    return Notice(
        Kind.SCHEMA_REVIEW,
        event_key(subject.id, Kind.SCHEMA_REVIEW, seq),
        f"{subject.name}: new tables wait for review",
        f"Fivetran found new tables in the source: {', '.join(waiting[:NAMED_TABLES])}{more}. They are not "
        "synced until someone ticks them on the connection's Schema tab.",
        connection_link(subject.id, "schema"),
    )


def _sync_ended(subject: Subject, seq: int, data: dict, reading: Reading, limit: int) -> Notice | None:
    status = data.get("status")
    if status == SyncStatus.SUCCESSFUL:
        reading.failed_syncs, reading.last_failed_sync = 0, None
        return None
    if status != SyncStatus.FAILED or data.get("id") == reading.last_failed_sync:
        return None  # not a failure, or a later end of a sync counted already (Fivetran retried it)
    reading.failed_syncs += 1
    reading.last_failed_sync = data.get("id")
    if reading.failed_syncs != limit:
        return None  # one notice per run of failures, when it reaches the limit
    reason = (data.get("reason") or "").strip()
    said = f"Fivetran's reason for the last one: {reason}" if reason else "Fivetran gave no reason for the last one."
    return Notice(
        Kind.SYNCS_FAILING,
        event_key(subject.id, Kind.SYNCS_FAILING, seq),
        f"{subject.name}: {limit} syncs in a row failed",
        f"{said} Fivetran tries again on the connection's schedule.",
        connection_link(subject.id),
    )
