"""A connection's health: the one place that says what Fivetran's status means for the people who use it.

The first rule that holds wins, so each health hides the ones below it:

1. deleted     Fivetran no longer has the connection: nothing else it said still applies.
2. broken      setup_state `broken`, or any task (Fivetran asks the user to act, e.g. reconnect; it
               even pauses broken connections itself, so this comes before paused).
3. not_set_up  setup_state not `connected` yet (the Connect Card), or no sync has ended yet and none
               runs or waits (the set-up itself keeps the connection paused until its first sync).
4. paused      nothing syncs until someone resumes it, so failures and age are old news.
5. syncing     a sync runs now: it is Fivetran's answer to a failure or a delay, shown while it lasts.
6. failing     the last sync failed (failed_at after succeeded_at); Fivetran retries on its schedule.
7. delayed     sync_state `rescheduled` (waiting for the source's API quota) or update_state `delayed`
               (Fivetran says the data is late): a cause, so it comes before the symptom below.
8. stale       no success for 24 h or two sync periods, whichever is longer (schedule.stale_after).
9. healthy     otherwise.

The reason is Fivetran's own words where it has any, else the health's explanation from the
vocabulary: for broken and failing, the reason of the last sync when that sync failed (its sync_end
webhook says why, which the status does not; the set-up's page shows the same words), else the tasks'
or warnings' messages; for delayed, the reason of the last sync when it was rescheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from connectors.fivetran import Connection
from integrations.connection.mirrored import MirroredConnection, Notice
from integrations.connection.schedule import stale_after
from integrations.vocabulary import (
    CONNECTION_HEALTH_EXPLANATIONS,
    CONNECTION_HEALTH_LABELS,
    FAILED_SYNC_STATUSES,
    ConnectionHealth,
    SyncStatus,
)

if TYPE_CHECKING:
    from integrations.models import Integration

Kind = ConnectionHealth


@dataclass(frozen=True)
class Health:
    kind: ConnectionHealth
    reason: str

    @property
    def label(self) -> str:
        return CONNECTION_HEALTH_LABELS[self.kind]


@dataclass(frozen=True)
class EndedSync:
    """The connection's last ended sync, as its sync_end webhook told it (a `Sync` row)."""

    status: SyncStatus
    reason: str
    ended_at: datetime | None = None


def connection_health(
    connection: MirroredConnection | Connection | Integration,
    *,
    now: datetime,
    last_sync: EndedSync | None = None,
) -> Health:
    """What the connection's state means for people at `now` (see the module for the precedence).

    `connection` is Fivetran's connection as the client read it, the Integration's mirror of it, or a
    `MirroredConnection`; `last_sync` the last ended sync, whose reason is Fivetran's words for a
    failure or a delay. Pure: no query, no call, no clock of its own.
    """
    state = MirroredConnection.of(connection)
    failure_words = _reason_of(last_sync, FAILED_SYNC_STATUSES, state)

    if state.deleted:
        return _health(Kind.DELETED)
    if state.setup_state == "broken" or state.tasks:
        return _health(Kind.BROKEN, failure_words if _last_sync_failed(state) else "", _words(state.tasks))
    never_ended = state.succeeded_at is None and state.failed_at is None
    if state.setup_state != "connected" or (never_ended and state.sync_state not in ("syncing", "rescheduled")):
        return _health(Kind.NOT_SET_UP)
    if state.paused or state.sync_state == "paused":
        return _health(Kind.PAUSED)
    if state.sync_state == "syncing":
        return _health(Kind.SYNCING)
    if _last_sync_failed(state):
        return _health(Kind.FAILING, failure_words, _words(state.warnings))
    if state.sync_state == "rescheduled" or state.update_state == "delayed":
        return _health(Kind.DELAYED, _reason_of(last_sync, (SyncStatus.RESCHEDULED,), state))
    if state.succeeded_at is not None and now - state.succeeded_at >= stale_after(state):
        return _health(Kind.STALE)
    return _health(Kind.HEALTHY)


def _last_sync_failed(state: MirroredConnection) -> bool:
    # Fivetran's own timestamps, never our clock: the latest of its two ends says how the last sync went.
    return state.failed_at is not None and (state.succeeded_at is None or state.failed_at > state.succeeded_at)


def _reason_of(last_sync: EndedSync | None, statuses, state: MirroredConnection) -> str:
    """The last sync's reason if it ended so, and after the last success: an older failure's words
    must not explain a newer one whose webhook never came."""
    if last_sync is None or last_sync.status not in statuses:
        return ""
    if state.succeeded_at and last_sync.ended_at and last_sync.ended_at <= state.succeeded_at:
        return ""
    return last_sync.reason.strip()


def _words(notices: tuple[Notice, ...]) -> str:
    # Fivetran repeats itself across tasks (one per table, say): say each thing once.
    said = [notice.message or notice.code for notice in notices]
    return "; ".join(dict.fromkeys(words for words in said if words))


def _health(kind: ConnectionHealth, *reasons: str) -> Health:
    """The first of Fivetran's reasons that says anything, else the health's own explanation."""
    return Health(kind, next((reason for reason in reasons if reason), CONNECTION_HEALTH_EXPLANATIONS[kind]))
