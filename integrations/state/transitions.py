"""State changes of a set-up.

Each function is one transaction that writes the step row(s) and their event row(s) together and
returns the events; its async caller publishes them after the commit (`integrations.state.events.publish`).
No HTTP call happens in here. Each transition checks the step's state first, so an activity that
Temporal runs again (a retry, or a worker that was thought dead) never writes a second event for
the same transition.
"""



from django.db import transaction
from django.utils import timezone

from integrations.models import Integration, IntegrationEvent, SetupStep
from integrations.state.events import append_event
from integrations.wording import counted

Step = SetupStep.State
State = Integration.State


class Conflict(Exception):
    """The requested change does not fit the set-up's current state."""


Events = list[IntegrationEvent]


def _now():
    return timezone.now()


def _locked_step(step_id: int) -> SetupStep:
    return SetupStep.objects.select_for_update().get(pk=step_id)


def _set_state(integration_id: int, state: str, **fields) -> None:
    Integration.objects.filter(pk=integration_id).update(state=state, updated_at=_now(), **fields)


def _duration_ms(start, end) -> int | None:
    return int((end - start).total_seconds() * 1000) if start else None


# -- transitions made by the set-up activities -----------------------------------------------------------


def _start_attempt(step: SetupStep) -> IntegrationEvent:
    """The step's next attempt starts afresh: running, nothing left of the last attempt's words."""
    step.state = Step.RUNNING
    step.attempt += 1
    step.started_at = _now()
    step.finished_at = None
    step.error_code = step.error_message = step.message = ""
    step.progress_done = step.progress_total = None
    step.progress_unit = ""
    step.save()
    return append_event(step.integration_id, "step.started", {"step": step.name, "attempt": step.attempt})


@transaction.atomic
def step_begin(step_id: int) -> tuple[SetupStep, Events]:
    step = _locked_step(step_id)
    events = []
    if step.state == Step.PENDING:
        events.append(_start_attempt(step))
        _set_state(step.integration_id, State.RUNNING)
    return step, events


@transaction.atomic
def step_progress(step_id: int, *, done=None, total=None, unit: str = "", message: str = "") -> Events:
    step = _locked_step(step_id)
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
def step_save_scratch(step_id: int, *, scratch: dict) -> None:
    step = _locked_step(step_id)
    step.scratch = scratch
    step.save(update_fields=["scratch"])


@transaction.atomic
def step_check_later(step_id: int, *, scratch: dict | None) -> None:
    """The step is not finished; keep its bookkeeping for the next look (the workflow's timer)."""
    if scratch is not None:
        step = _locked_step(step_id)
        step.scratch = scratch
        step.save(update_fields=["scratch"])


@transaction.atomic
def step_complete(step_id: int, *, detail: dict, message: str = "", extra_events=(), skipped_reason=None) -> Events:
    """Finish a step (done, or skipped with a reason); the last one finishes the set-up."""
    step = _locked_step(step_id)
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
    step.scratch = {**step.scratch, "action": None}
    step.save()
    events += [append_event(integration_id, type, data) for type, data in extra_events]
    following = (
        SetupStep.objects.filter(integration_id=integration_id, position__gt=step.position)
        .order_by("position")
        .first()
    )
    if following is not None:
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
def step_wait_for_user(step_id: int, *, kind: str, url: str, message: str = "") -> Events:
    step = _locked_step(step_id)
    action = {"kind": kind, "url": url}
    # A new message (the user came back without finishing the card) is news even on the same link.
    unchanged = step.state == Step.WAITING_FOR_USER and step.scratch.get("action") == action and step.message == message
    step.state = Step.WAITING_FOR_USER
    step.message = message
    step.scratch = {**step.scratch, "action": action}
    step.save()
    _set_state(step.integration_id, State.WAITING_FOR_USER)
    if unchanged:
        return []
    return [append_event(step.integration_id, "action.required", {**action, "step": step.name, "message": message})]


@transaction.atomic
def step_fail(step_id: int, *, code: str, message: str, retryable: bool) -> Events:
    step = _locked_step(step_id)
    error = {"code": code, "message": message}
    if step.state == Step.FAILED and (step.error_code, step.error_message) == (code, message):
        return []  # recorded already (the activity ran again)
    step.state = Step.FAILED
    step.finished_at = _now()
    step.error_code, step.error_message = code, message
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
def selection_record(integration_id: int, selected: dict[str, list[str]], *, required: int = 0) -> Events:
    """The person's choice; `required` tables Fivetran syncs anyway count too (the picker's one count)."""
    step = current_step(integration_id)
    if step is None or step.name != "select_tables" or step.state != Step.WAITING_FOR_USER:
        raise Conflict("This integration is not waiting for a table selection.")
    Integration.objects.filter(pk=integration_id).update(selection=selected)
    count = sum(len(tables) for tables in selected.values()) + required
    return step_complete(step.pk, detail={"tables": count}, message=f"{counted(count, 'table')} chosen")


@transaction.atomic
def step_retry(integration_id: int) -> Events:
    """Start the failed step's next attempt now (the workflow runs it again as already started)."""
    step = current_step(integration_id)
    if step is None or step.state != Step.FAILED:
        raise Conflict("No step of this integration has failed.")
    step.scratch = {}
    event = _start_attempt(step)
    _set_state(integration_id, State.RUNNING)
    return [event]


@transaction.atomic
def integration_update(integration_id: int, **fields) -> Integration:
    Integration.objects.filter(pk=integration_id).update(updated_at=_now(), **fields)
    return Integration.objects.get(pk=integration_id)


def integration_watched(integration_id: int) -> None:
    """A socket is watching this integration (on connect, then every heartbeat)."""
    Integration.objects.filter(pk=integration_id).update(watched_at=_now())


def sync_reason_record(connection_id: str, reason: str) -> None:
    """Fivetran's words for a failed sync (its signed sync_end webhook): shown with the failure."""
    Integration.objects.filter(connection_id=connection_id).update(last_sync_reason=reason[:2000])
