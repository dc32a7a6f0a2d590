"""State changes of a set-up.

Each function is one transaction that writes the step row(s) and their event row(s) together and
returns the events; its async caller publishes them after the commit (`integrations.state.events.publish`).
No HTTP call happens in here. Transitions made by a worker are guarded by its lease: a worker that
lost its lease changes nothing (LeaseLost), so a step never completes twice.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from integrations.models import Integration, IntegrationEvent, SetupStep
from integrations.state.events import append_event
from integrations.wording import counted

Step = SetupStep.State
State = Integration.State


class LeaseLost(Exception):
    """Another worker owns this step now; the current run must stop without writing."""


class Conflict(Exception):
    """The requested change does not fit the set-up's current state."""


Events = list[IntegrationEvent]


def _now():
    return timezone.now()


def _locked_step(step_id: int, owner: str | None = None) -> SetupStep:
    step = SetupStep.objects.select_for_update().get(pk=step_id)
    if owner is not None and step.lease_owner != owner:
        raise LeaseLost(step_id)
    return step


def _set_state(integration_id: int, state: str, **fields) -> None:
    Integration.objects.filter(pk=integration_id).update(state=state, updated_at=_now(), **fields)


def _release(step: SetupStep) -> None:
    step.lease_owner = ""
    step.lease_until = None


def _duration_ms(start, end) -> int | None:
    return int((end - start).total_seconds() * 1000) if start else None


# -- transitions made by the worker that holds the lease ----------------------------------------------


@transaction.atomic
def step_begin(step_id: int, *, owner: str) -> tuple[SetupStep, Events]:
    step = _locked_step(step_id, owner)
    events = []
    if step.state == Step.PENDING:
        step.state = Step.RUNNING
        step.attempt += 1
        step.started_at = _now()
        step.finished_at = None
        step.error_code = step.error_message = step.message = ""
        step.progress_done = step.progress_total = None
        step.progress_unit = ""
        step.save()
        events.append(append_event(step.integration_id, "step.started", {"step": step.name, "attempt": step.attempt}))
        _set_state(step.integration_id, State.RUNNING)
    return step, events


@transaction.atomic
def step_progress(
    step_id: int, *, owner: str, done=None, total=None, unit: str = "", message: str = ""
) -> Events:
    step = _locked_step(step_id, owner)
    was_waiting = step.state == Step.WAITING_FOR_USER
    new = (done, total, unit or "", message or "")
    if new == (step.progress_done, step.progress_total, step.progress_unit, step.message) and not was_waiting:
        return []
    step.progress_done, step.progress_total, step.progress_unit, step.message = new
    if was_waiting:  # the user came back; the step is working again
        step.state = Step.RUNNING
        _set_state(step.integration_id, State.RUNNING)
    step.save()
    data = {"step": step.name, "done": done, "total": total, "unit": unit or None, "message": message}
    return [append_event(step.integration_id, "step.progress", data)]


@transaction.atomic
def step_save_scratch(step_id: int, *, owner: str, scratch: dict) -> None:
    step = _locked_step(step_id, owner)
    step.scratch = scratch
    step.save(update_fields=["scratch"])


@transaction.atomic
def step_check_later(step_id: int, *, owner: str, after_seconds: float, scratch: dict | None) -> None:
    step = _locked_step(step_id, owner)
    wanted = _now() + timedelta(seconds=after_seconds)
    # A webhook that arrived while this run was polling asked for an earlier check: keep it.
    step.due_at = min(step.due_at, wanted) if step.due_at else wanted
    if scratch is not None:
        step.scratch = scratch
    _release(step)
    step.save()


@transaction.atomic
def step_complete(
    step_id: int, *, owner: str | None, detail: dict, message: str = "", extra_events=(), skipped_reason=None
) -> Events:
    """Finish a step (done, or skipped with a reason) and make the next one due; the last finishes the set-up."""
    step = _locked_step(step_id, owner)
    now = _now()
    if step.state in (Step.DONE, Step.SKIPPED):
        return []
    integration_id = step.integration_id
    if skipped_reason is not None:
        step.state = Step.SKIPPED
        step.message = skipped_reason
        events = [append_event(integration_id, "step.skipped", {"step": step.name, "reason": skipped_reason})]
    else:
        step.state = Step.DONE
        step.message = message
        events = [
            append_event(
                integration_id,
                "step.completed",
                {
                    "step": step.name,
                    "duration_ms": _duration_ms(step.started_at, now) or 0,
                    "detail": detail,
                    "message": message,
                },
            )
        ]
    step.finished_at = now
    step.due_at = None
    step.scratch = {**step.scratch, "action": None}
    _release(step)
    step.save()
    events += [append_event(integration_id, type, data) for type, data in extra_events]
    following = (
        SetupStep.objects.filter(integration_id=integration_id, position__gt=step.position)
        .order_by("position")
        .first()
    )
    if following is not None:
        following.due_at = now
        following.save(update_fields=["due_at"])
        _set_state(integration_id, State.RUNNING)
        return events
    integration = Integration.objects.get(pk=integration_id)
    tables = integration.tables.count()
    _set_state(integration_id, State.READY, completed_at=now)
    events.append(
        append_event(
            integration_id,
            "setup.completed",
            {"duration_ms": _duration_ms(integration.created_at, now), "tables": tables},
        )
    )
    return events


@transaction.atomic
def step_wait_for_user(
    step_id: int, *, owner: str, kind: str, url: str, message: str = "", recheck_after: float | None = None
) -> Events:
    step = _locked_step(step_id, owner)
    action = {"kind": kind, "url": url}
    unchanged = step.state == Step.WAITING_FOR_USER and step.scratch.get("action") == action
    step.state = Step.WAITING_FOR_USER
    # Normally the user's return wakes the step; a Connect Card link also expires, so look again
    # before it does and offer a fresh one.
    step.due_at = _now() + timedelta(seconds=recheck_after) if recheck_after else None
    step.message = message
    step.scratch = {**step.scratch, "action": action}
    _release(step)
    step.save()
    _set_state(step.integration_id, State.WAITING_FOR_USER)
    if unchanged:
        return []
    return [append_event(step.integration_id, "action.required", {**action, "step": step.name, "message": message})]


@transaction.atomic
def step_fail(step_id: int, *, owner: str, code: str, message: str, retryable: bool) -> Events:
    step = _locked_step(step_id, owner)
    error = {"code": code, "message": message}
    step.state = Step.FAILED
    step.finished_at = _now()
    step.due_at = None
    step.error_code, step.error_message = code, message
    _release(step)
    step.save()
    _set_state(step.integration_id, State.FAILED)
    events = [append_event(step.integration_id, "step.failed", {"step": step.name, "error": error, "retryable": retryable})]
    if not retryable:
        events.append(append_event(step.integration_id, "setup.failed", {"step": step.name, "error": error}))
    return events


# -- changes asked for by people and by Fivetran ------------------------------------------------------


def current_step(integration_id: int) -> SetupStep | None:
    return (
        SetupStep.objects.select_for_update()
        .filter(integration_id=integration_id)
        .exclude(state__in=[Step.DONE, Step.SKIPPED])
        .order_by("position")
        .first()
    )


@transaction.atomic
def selection_record(integration_id: int, selected: dict[str, list[str]]) -> Events:
    step = current_step(integration_id)
    if step is None or step.name != "select_tables" or step.state != Step.WAITING_FOR_USER:
        raise Conflict("This integration is not waiting for a table selection.")
    Integration.objects.filter(pk=integration_id).update(selection=selected)
    count = sum(len(tables) for tables in selected.values())
    return step_complete(step.pk, owner=None, detail={"tables": count}, message=f"{counted(count, 'table')} selected")


@transaction.atomic
def step_retry(integration_id: int) -> Events:
    """Start the failed step's next attempt now (the worker picks it up as already started)."""
    step = current_step(integration_id)
    if step is None or step.state != Step.FAILED:
        raise Conflict("No step of this integration has failed.")
    step.state = Step.RUNNING
    step.attempt += 1
    step.started_at = _now()
    step.finished_at = None
    step.due_at = _now()
    step.error_code = step.error_message = step.message = ""
    step.progress_done = step.progress_total = None
    step.progress_unit = ""
    step.scratch = {}
    _release(step)
    step.save()
    _set_state(integration_id, State.RUNNING)
    return [append_event(integration_id, "step.started", {"step": step.name, "attempt": step.attempt})]


@transaction.atomic
def sync_status_changed(connection_id: str) -> bool:
    """Fivetran told us something changed: re-check the waiting sync now instead of on the timer."""
    step = (
        SetupStep.objects.select_for_update()
        .filter(integration__connection_id=connection_id, name="historical_sync", state=Step.RUNNING)
        .first()
    )
    if step is None:
        return False
    step.due_at = _now()
    step.save(update_fields=["due_at"])
    return True


@transaction.atomic
def integration_update(integration_id: int, **fields) -> Integration:
    Integration.objects.filter(pk=integration_id).update(updated_at=_now(), **fields)
    return Integration.objects.get(pk=integration_id)
