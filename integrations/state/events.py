"""Events: written as rows in the transaction that makes the change, then rung on the channel layer.

The row is the truth; the group message is only a doorbell that carries a copy of it. Watchers that
miss a message recover from the rows (see consumers/integration.py).
"""

import logging
import uuid
from datetime import timezone as dt_timezone

from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import Integration, IntegrationEvent
from integrations.vocabulary import PROTOCOL_VERSION

logger = logging.getLogger(__name__)



def group_name(integration_id: int) -> str:
    return f"integration.{integration_id}"


def isoformat(moment) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt_timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def append_event(integration_id: int, type: str, data: dict) -> IntegrationEvent:
    """Append an event row with the next gap-free seq. Must run inside the change's transaction."""
    assert transaction.get_connection().in_atomic_block, "events are written with their change"
    # The UPDATE row-locks the integration until commit, so seqs are handed out one at a time and a
    # rolled-back change takes its seq with it: no gaps, no duplicates.
    Integration.objects.filter(pk=integration_id).update(last_seq=F("last_seq") + 1)
    seq = Integration.objects.values_list("last_seq", flat=True).get(pk=integration_id)
    return IntegrationEvent.objects.create(
        integration_id=integration_id, seq=seq, type=type, time=timezone.now(), data=data
    )


def envelope(event: IntegrationEvent) -> dict:
    return {
        "v": PROTOCOL_VERSION,
        "id": str(event.uuid),
        "seq": event.seq,
        "type": event.type,
        "time": isoformat(event.time),
        "integration": str(event.integration_id),
        "data": event.data,
    }


def unsequenced_envelope(integration_id: int, type: str, data: dict, *, seq: int | None = None) -> dict:
    """A frame that is not an event row: heartbeats (no seq) and snapshots (seq of the last event)."""
    frame = {
        "v": PROTOCOL_VERSION,
        "id": str(uuid.uuid4()),
        "type": type,
        "time": isoformat(timezone.now()),
        "integration": str(integration_id),
        "data": data,
    }
    if seq is not None:
        frame["seq"] = seq
    return frame


async def publish(events: list[IntegrationEvent]) -> None:
    """Ring each event's group. Call only after the transaction that wrote them has committed."""
    layer = get_channel_layer()
    for event in events:
        try:
            await layer.group_send(
                group_name(event.integration_id), {"type": "integration.event", "event": envelope(event)}
            )
        except Exception:  # the doorbell may fail; the rows are already safe and will be replayed
            logger.warning("could not publish event %s/%s", event.integration_id, event.seq, exc_info=True)
