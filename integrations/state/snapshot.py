"""Reads of a set-up: the snapshot (what a watcher needs to render from scratch) and event replay."""

from django.db.models import Sum

from integrations.models import Integration, IntegrationEvent, SetupStep
from integrations.state.events import envelope, isoformat
from integrations.vocabulary import CONNECTION_HEALTH_LABELS, STEP_LABELS

SNAPSHOT_TABLE_ROWS = 100


def step_view(step: SetupStep) -> dict:
    progress = None
    if step.progress_done is not None or step.progress_total is not None:
        progress = {"done": step.progress_done, "total": step.progress_total, "unit": step.progress_unit or None}
    error = {"code": step.error_code, "message": step.error_message} if step.error_code else None
    return {
        "name": step.name,
        "label": STEP_LABELS[step.name],
        "state": step.state,
        "started_at": isoformat(step.started_at),
        "finished_at": isoformat(step.finished_at),
        "attempt": step.attempt,
        "progress": progress,
        "message": step.message,
        "error": error,
        "action": step.scratch.get("action") if step.state == SetupStep.State.WAITING_FOR_USER else None,
    }


def snapshot(integration_id: int, *, reset: bool = False) -> tuple[int, dict]:
    """(seq, data): the state after event `seq`. Re-read until no event slipped in while reading."""
    for _ in range(5):
        integration = Integration.objects.get(pk=integration_id)
        steps = list(SetupStep.objects.filter(integration_id=integration_id).order_by("position"))
        tables = integration.tables.order_by("dataset", "name")
        total_rows = tables.aggregate(total=Sum("num_rows"))["total"] or 0
        rows = [
            {"name": t.name, "dataset": t.dataset, "num_rows": t.num_rows}
            for t in tables[:SNAPSHOT_TABLE_ROWS]
        ]
        count = tables.count()
        if Integration.objects.values_list("last_seq", flat=True).get(pk=integration_id) == integration.last_seq:
            break
    data = {
        "state": integration.state,
        "steps": [step_view(step) for step in steps],
        "tables": {"count": count, "rows": rows, "total_rows": total_rows},
        "connection": connection_view(integration),
        "reset": reset,
    }
    return integration.last_seq, data


def connection_view(integration: Integration) -> dict:
    """The connection as last mirrored from Fivetran (its health in the user's words); what
    `connection.updated` events then change."""
    return {
        "health": integration.health,
        "health_label": CONNECTION_HEALTH_LABELS.get(integration.health, integration.health),
        "reason": integration.health_reason,
        "sync_state": integration.sync_state,
        "paused": integration.paused,
        "sync_frequency": integration.sync_frequency,
        "succeeded_at": isoformat(integration.succeeded_at),
        "failed_at": isoformat(integration.failed_at),
    }


def last_seq(integration_id: int) -> int:
    return Integration.objects.values_list("last_seq", flat=True).get(pk=integration_id)


def events_since(integration_id: int, since: int) -> list[dict] | None:
    """Envelopes with seq > since, or None when they cannot be replayed exactly (unknown or pruned)."""
    if since < 0 or since > last_seq(integration_id):
        return None
    events = list(IntegrationEvent.objects.filter(integration_id=integration_id, seq__gt=since).order_by("seq"))
    if [event.seq for event in events] != list(range(since + 1, since + 1 + len(events))):
        return None
    return [envelope(event) for event in events]
