"""Fivetran's syncs as records: its `sync_start` and `sync_end` webhooks become one `Sync` row each
sync, with a `sync.started`, `sync.completed` or `sync.failed` event.

Webhooks come late, twice, out of order or not at all (Fivetran retries for a day; an activity may
run again), so recording is idempotent: the same webhook again changes nothing and writes no event,
a start after its end is a late copy (unless it is later than the end: a rescheduled sync carrying
on), and an end whose start was missed still makes its row. Like the set-up's transitions, this is
one transaction, makes no call, and returns the events for its async caller to publish after the
commit (`integrations.state.events.publish`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from integrations.models import Integration, IntegrationEvent, Sync
from integrations.state.events import append_event, isoformat
from integrations.vocabulary import FAILED_SYNC_STATUSES, SyncStatus, sync_status_of_fivetran

# Fivetran's webhook event names.
SYNC_START = "sync_start"
SYNC_END = "sync_end"

SYNC_STARTED = "sync.started"
SYNC_COMPLETED = "sync.completed"
SYNC_FAILED = "sync.failed"

# Fivetran's reasons can carry a whole Java stack trace; the frame must stay small.
REASON_LIMIT = 2000


@dataclass(frozen=True)
class SyncRecord:
    """The sync's row as it now is, and the event rows written (none when nothing was news)."""

    sync: Sync
    events: list[IntegrationEvent]


@transaction.atomic
def record_sync(
    integration_id: int,
    *,
    event: str,
    sync_id: str = "",
    status: str = "",
    reason: str = "",
    at: datetime,
) -> SyncRecord:
    """Record one of Fivetran's sync webhooks for the integration.

    `event` is the webhook's `event` ("sync_start" or "sync_end"), `sync_id` its `sync_id` ("" when it
    had none), `status` and `reason` its `data.status` and `data.reason` (sync_end only: Fivetran's
    own values and words, mapped by `integrations.vocabulary.sync_status_of_fivetran`), and `at` its
    `created` time. Raises ValueError for another event and Integration.DoesNotExist when the
    integration is gone.
    """
    if event not in (SYNC_START, SYNC_END):
        raise ValueError(f"not a sync webhook: {event!r}")
    # One webhook at a time per integration: two copies of one webhook arriving together must not
    # both find no row and both write one.
    Integration.objects.select_for_update().only("pk").get(pk=integration_id)
    sync_id = (sync_id or "").strip()
    reason = (reason or "").strip()[:REASON_LIMIT]
    if event == SYNC_START:
        return _started(integration_id, sync_id, at)
    return _ended(integration_id, sync_id, sync_status_of_fivetran(status), reason, at)


def _started(integration_id: int, sync_id: str, at: datetime) -> SyncRecord:
    syncs = Sync.objects.filter(integration_id=integration_id, sync_id=sync_id)
    # Without Fivetran's id, only the webhook's own time tells a copy from another sync.
    sync = syncs.first() if sync_id else syncs.filter(started_at=at).first()
    if sync is None:
        sync = Sync.objects.create(integration_id=integration_id, sync_id=sync_id, started_at=at)
        return SyncRecord(sync, [_event(SYNC_STARTED, sync)])
    if sync.status != SyncStatus.RUNNING and sync.ended_at is not None and at > sync.ended_at:
        # Started again after it ended: a rescheduled sync carrying on under its own id.
        sync.status, sync.ended_at, sync.reason = SyncStatus.RUNNING, None, ""
        sync.save(update_fields=["status", "ended_at", "reason", "updated_at"])
        return SyncRecord(sync, [_event(SYNC_STARTED, sync)])
    if sync.started_at is None:
        # The start arrives after its end: keep when it began; the end has been told already.
        sync.started_at = at
        sync.save(update_fields=["started_at", "updated_at"])
    return SyncRecord(sync, [])


def _ended(integration_id: int, sync_id: str, status: SyncStatus, reason: str, at: datetime) -> SyncRecord:
    sync = _ending(integration_id, sync_id, at)
    if sync is None:
        # The start was missed (or came before we knew the connection): the end still makes the row.
        sync = Sync.objects.create(
            integration_id=integration_id, sync_id=sync_id, ended_at=at, status=status, reason=reason
        )
        return SyncRecord(sync, [_event(_ended_event(status), sync)])
    if sync.status != SyncStatus.RUNNING and sync.ended_at is not None and at <= sync.ended_at:
        return SyncRecord(sync, [])  # this end, or an older one, was recorded already
    # Running, or a later end of the same sync (Fivetran retried it): this end is the news.
    sync.status, sync.ended_at, sync.reason = status, at, reason
    sync.save(update_fields=["status", "ended_at", "reason", "updated_at"])
    return SyncRecord(sync, [_event(_ended_event(status), sync)])


def _ending(integration_id: int, sync_id: str, at: datetime) -> Sync | None:
    """The row a sync_end closes: the sync of that id; without an id, the same end recorded already,
    else the latest sync without an id still running that started by then."""
    syncs = Sync.objects.filter(integration_id=integration_id, sync_id=sync_id)
    if sync_id:
        return syncs.first()
    return (
        syncs.filter(ended_at=at).first()
        or syncs.filter(status=SyncStatus.RUNNING, started_at__lte=at).order_by("-started_at", "-pk").first()
    )


def _ended_event(status: SyncStatus) -> str:
    # A rescheduled sync is no failure: Fivetran carries on by itself (FAILED_SYNC_STATUSES says why).
    return SYNC_FAILED if status in FAILED_SYNC_STATUSES else SYNC_COMPLETED


def _event(type: str, sync: Sync) -> IntegrationEvent:
    return append_event(
        sync.integration_id,
        type,
        {
            "id": sync.pk,
            "sync_id": sync.sync_id or None,
            "status": str(sync.status),
            "started_at": isoformat(sync.started_at),
            "ended_at": isoformat(sync.ended_at),
            "reason": sync.reason,
        },
    )


# Actions that ask Fivetran for a sync, and how long after one the connection's life keeps watching
# for it to show.
SYNC_STARTING_ACTIONS = ("sync", "schema", "resync_table")
SYNC_ASKED_WINDOW = timedelta(minutes=10)


def sync_asked_not_seen(integration_id: int, now: datetime) -> bool:
    """A person asked for a sync within SYNC_ASKED_WINDOW, and no sync has started or ended since
    (Fivetran starts it a moment after answering: until it shows, the life looks again soon)."""
    asked = (
        IntegrationEvent.objects.filter(
            integration_id=integration_id, type="connection.action", data__action__in=SYNC_STARTING_ACTIONS,
            time__gte=now - SYNC_ASKED_WINDOW,
        )
        .order_by("-seq")
        .values_list("time", flat=True)
        .first()
    )
    if asked is None:
        return False
    return not Sync.objects.filter(integration_id=integration_id).filter(
        Q(started_at__gte=asked) | Q(ended_at__gte=asked) | Q(created_at__gte=asked)
    ).exists()
