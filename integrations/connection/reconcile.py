"""The reconciliation's judgement: which Ready integrations' connections moved since they were last
mirrored, from one listing of the group's connections (no call per connection)."""

from __future__ import annotations

from collections.abc import Iterable

from connectors.fivetran import Connection
from integrations.connection.mirrored import COLUMNS, MirroredConnection
from integrations.models import Integration
from integrations.vocabulary import ConnectionHealth, IntegrationState

# What a listing item says that a watcher would see move. Tasks and warnings are not in Fivetran's
# listing items in every API version: a change of those alone waits for the webhook or the next look.
COMPARED = ("setup_state", "sync_state", "update_state", "paused", "sync_frequency", "succeeded_at", "failed_at")
assert set(COMPARED) <= set(COLUMNS)


def moved_integrations(listing: Iterable[Connection]) -> list[int]:
    """Ids of Ready integrations whose connection is listed with other values than they mirror, or is
    no longer listed (deleted on Fivetran's side, and not yet known as such)."""
    listed = {connection.id: MirroredConnection.from_connection(connection).columns() for connection in listing}
    moved = []
    rows = (
        Integration.objects.filter(state=IntegrationState.READY)
        .exclude(connection_id="")
        .values_list("pk", "connection_id", "health", *COMPARED)
        .order_by("pk")
    )
    for pk, connection_id, health, *values in rows.iterator(chunk_size=2000):
        now = listed.get(connection_id)
        if now is None:
            if health != ConnectionHealth.DELETED:
                moved.append(pk)
        elif any(now[name] != value for name, value in zip(COMPARED, values)):
            moved.append(pk)
    return moved
