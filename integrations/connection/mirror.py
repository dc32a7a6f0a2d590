"""Apply what Fivetran says about a connection to its Integration: the mirrored fields and the health,
with one `connection.updated` event when anything people could see has moved.

Callers read Fivetran first (GET /v1/connections/{id}, or one page of the group's listing for many),
then call one of these; each is one transaction and returns the events for its async caller to publish
after the commit (`integrations.state.events.publish`), like the set-up's transitions. Record a sync's
webhook (`integrations.connection.syncs.record_sync`) before mirroring the status it made you read, so
the health can quote Fivetran's reason for it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.fivetran import Connection
from integrations.connection.health import EndedSync, Health, connection_health
from integrations.connection.mirrored import COLUMNS, MirroredConnection
from integrations.connection.schedule import next_sync_at
from integrations.models import Integration, IntegrationEvent, Sync
from integrations.state.events import append_event, isoformat
from integrations.vocabulary import SyncStatus

CONNECTION_UPDATED = "connection.updated"


@dataclass(frozen=True)
class MirrorResult:
    """What moved ({Integration field: new value}; empty when nothing did), the health now, and the
    event rows written (none when nothing moved) for the caller to publish after the commit."""

    changed: dict[str, Any]
    health: Health
    events: list[IntegrationEvent]


@transaction.atomic
def mirror_connection(integration_id: int, connection: Connection, *, now: datetime | None = None) -> MirrorResult:
    """Mirror Fivetran's `connection` (as the client read it) on the integration and re-judge its health
    at `now` (default: the clock). Safe to repeat: the same connection read twice changes nothing the
    second time and writes no event. Raises Integration.DoesNotExist when the integration is gone."""
    return _apply(integration_id, connection, now=now or timezone.now())


@transaction.atomic
def mirror_connection_gone(integration_id: int, *, now: datetime | None = None) -> MirrorResult:
    """Fivetran no longer has the integration's connection (404 NotFound_Integration, or missing from
    the group's listing): its health becomes deleted; the last mirrored fields are kept as they were."""
    return _apply(integration_id, None, now=now or timezone.now())


def _apply(integration_id: int, connection: Connection | None, *, now: datetime) -> MirrorResult:
    """Mirror `connection`, or None: Fivetran has it no more."""
    # Locked until commit: a webhook and a reconciliation pass mirroring at once must not both see
    # the old values and both write an event for the same change.
    locked = Integration.objects.select_for_update().only(*COLUMNS, "health", "health_reason")
    integration = locked.get(pk=integration_id)
    if connection is None:
        mirrored = replace(MirroredConnection.from_integration(integration), deleted=True)
    else:
        mirrored = MirroredConnection.from_connection(connection)
    health = connection_health(mirrored, now=now, last_sync=_last_ended_sync(integration_id))
    wanted = {**mirrored.columns(), "health": health.kind.value, "health_reason": health.reason}
    changed = {name: value for name, value in wanted.items() if getattr(integration, name) != value}
    # Checked is news for staff (when did we last look), not for watchers: it alone writes no event.
    Integration.objects.filter(pk=integration_id).update(
        status_checked_at=now, **({**changed, "updated_at": now} if changed else {})
    )
    if not changed:
        return MirrorResult(changed={}, health=health, events=[])
    event = append_event(integration_id, CONNECTION_UPDATED, connection_updated_data(mirrored, health))
    return MirrorResult(changed=changed, health=health, events=[event])


def connection_updated_data(mirrored: MirroredConnection, health: Health) -> dict[str, Any]:
    """The `connection.updated` event's data (its JSON Schema is in integrations/state/event_schemas.py)."""
    return {
        "health": health.kind.value,
        "health_label": health.label,
        "reason": health.reason,
        "sync_state": mirrored.sync_state,
        "paused": mirrored.paused,
        "sync_frequency": mirrored.sync_frequency,
        "succeeded_at": isoformat(mirrored.succeeded_at),
        "failed_at": isoformat(mirrored.failed_at),
        "next_sync_at": isoformat(next_sync_at(mirrored)),
    }


def _last_ended_sync(integration_id: int) -> EndedSync | None:
    sync = (
        Sync.objects.filter(integration_id=integration_id, ended_at__isnull=False)
        .exclude(status=SyncStatus.RUNNING)
        .order_by("-ended_at", "-pk")
        .only("status", "reason", "ended_at")
        .first()
    )
    return EndedSync(SyncStatus(sync.status), sync.reason, sync.ended_at) if sync else None
