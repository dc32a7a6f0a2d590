"""The set-up workflow's activities: each runs one step function (integrations.setup.steps) or one
state change, writes the step row and its event rows in one transaction, and rings the channel
group after the commit, exactly as the web side does.

Every activity is safe to run again: the steps are idempotent and the transitions check the step's
state before they write, so a retried activity creates no second Fivetran connection, no second
`Table` row and no second event for the same transition. A transient failure (Fivetran's 429, 5xx,
timeouts, lost answers) is shown as progress and raised for Temporal's RetryPolicy to retry; a
failure Fivetran calls final becomes the step's recorded failure, for a person to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors.fivetran import FivetranError
from integrations.engine import messages as m
from integrations.engine.activity_support import db, gone, is_transient
from integrations.models import Integration, SetupStep
from integrations.setup.flow import STEP_BY_NAME
from integrations.setup.outcomes import CheckAgain, Done, Failed, Skipped, StepContext, WaitForUser
from integrations.setup.removal import integration_delete
from integrations.setup.selection import required_tables
from integrations.setup.steps import watch_landing as watch_landed_tables
from integrations.state import transitions
from integrations.state.events import publish
from integrations.state.transitions import Conflict

logger = logging.getLogger(__name__)

HEARTBEAT_EVERY_SECONDS = 5.0  # at most; a third of the heartbeat timeout when that is shorter


@contextlib.asynccontextmanager
async def _heartbeating():
    """Heartbeat while the activity works, so a dead worker is noticed within the heartbeat timeout."""

    timeout = activity.info().heartbeat_timeout
    # Three beats per timeout: a live worker never looks dead, even when one beat is late.
    every = min(HEARTBEAT_EVERY_SECONDS, timeout.total_seconds() / 3) if timeout else HEARTBEAT_EVERY_SECONDS

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    task = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        task.cancel()
        await db(close_old_connections)()


@activity.defn(name=m.RUN_STEP)
async def run_setup_step(run: m.StepRun) -> m.StepResult:
    async with _heartbeating():
        try:
            step = await db(SetupStep.objects.get)(integration_id=run.integration_id, name=run.step)
        except SetupStep.DoesNotExist:
            return m.StepResult("gone")
        step, events = await db(transitions.step_begin)(step.pk)
        await publish(events)
        try:
            integration = await db(Integration.objects.get)(pk=run.integration_id)
        except Integration.DoesNotExist:
            return m.StepResult("gone")

        context = _context(integration, step)
        try:
            outcome = await STEP_BY_NAME[step.name].run(context)
        except Integration.DoesNotExist:
            return m.StepResult("gone")
        except FivetranError as error:
            if is_transient(error):
                await context.report(message=f"Fivetran is not answering ({error.message or error.code}); trying again.")
                raise ApplicationError(
                    f"Fivetran: {error.message or error.code}", type="FivetranUnavailable"
                ) from error
            outcome = Failed(error.code or "fivetran_error", error.message or str(error))
            logger.info("step %s of integration %s: Fivetran refused (%s)", step.name, run.integration_id, error)
        return await _apply(step, outcome)


def _context(integration: Integration, step: SetupStep) -> StepContext:
    async def report(done=None, total=None, unit="", message=""):
        await publish(await db(transitions.step_progress)(step.pk, done=done, total=total, unit=unit, message=message))

    async def save_scratch(scratch: dict) -> None:
        await db(transitions.step_save_scratch)(step.pk, scratch=scratch)
        step.scratch = scratch

    return StepContext(integration=integration, step=step, report=report, save_scratch=save_scratch)


@activity.defn(name=m.WATCH_LANDING)
async def watch_landing(run: m.StepRun) -> float:
    """Report the tables landed so far; answer when to look again: soon while someone watches the
    set-up (a socket is open), slowly otherwise. Best effort: a failed look fails nothing."""
    async with _heartbeating():
        try:
            step = await db(SetupStep.objects.get)(integration_id=run.integration_id, name=run.step)
            integration = await db(Integration.objects.get)(pk=run.integration_id)
        except (SetupStep.DoesNotExist, Integration.DoesNotExist):
            return settings.SETUP_LANDING_IDLE_SECONDS
        if step.state == SetupStep.State.RUNNING:
            try:
                await watch_landed_tables(_context(integration, step))
            except Exception:
                logger.warning("could not look at the tables landing for integration %s", run.integration_id, exc_info=True)
        watched = integration.watched_at is not None and (
            timezone.now() - integration.watched_at
        ).total_seconds() <= 2 * settings.SETUP_HEARTBEAT_SECONDS + 5
        return settings.SETUP_LANDING_SECONDS if watched else settings.SETUP_LANDING_IDLE_SECONDS


async def _apply(step: SetupStep, outcome) -> m.StepResult:
    match outcome:
        case Done(detail=detail, message=message, events=extra):
            await publish(
                await db(transitions.step_complete)(step.pk, detail=detail, message=message, extra_events=extra)
            )
            return m.StepResult("done")
        case Skipped(reason=reason):
            await publish(await db(transitions.step_complete)(step.pk, detail={}, skipped_reason=reason))
            return m.StepResult("skipped")
        case WaitForUser(kind=kind, url=url, message=message, recheck_after=recheck_after):
            await publish(await db(transitions.step_wait_for_user)(step.pk, kind=kind, url=url, message=message))
            selectable = None
            if kind == "select_tables":
                integration = await db(Integration.objects.get)(pk=step.integration_id)
                selectable = _selectable(integration.source_schema)
            return m.StepResult("wait_for_user", action=kind, after_seconds=recheck_after, selectable=selectable)
        case CheckAgain(after_seconds=after, scratch=scratch):
            await db(transitions.step_check_later)(step.pk, scratch=scratch)
            return m.StepResult("check_again", after_seconds=after)
        case Failed(code=code, message=message, retryable=retryable):
            await publish(await db(transitions.step_fail)(step.pk, code=code, message=message, retryable=retryable))
            return m.StepResult("failed")
    raise TypeError(f"a step answered {outcome!r}")


def _selectable(source_schema: dict | None) -> dict[str, list[str]]:
    """{schema: [tables a person may choose]} for the workflow's validation of the table choice."""
    return {
        schema["name"]: [table["name"] for table in schema["tables"] if not table["locked"]]
        for schema in (source_schema or {}).get("schemas", [])
    }


@activity.defn(name=m.RECORD_SELECTION)
async def record_selection(selection: m.Selection) -> bool:
    """Save the person's table choice and finish select_tables; False when it was saved already."""
    try:
        source_schema = await db(Integration.objects.values_list("source_schema", flat=True).get)(
            pk=selection.integration_id
        )
        required = len(required_tables(source_schema or {"schemas": []}))
        events = await db(transitions.selection_record)(selection.integration_id, selection.tables, required=required)
    except Integration.DoesNotExist:
        raise gone(selection.integration_id) from None
    except Conflict:
        return False  # a repeated Update (double click, two tabs): the first one counted
    finally:
        await db(close_old_connections)()
    await publish(events)
    return True


@activity.defn(name=m.RESTART_STEP)
async def restart_failed_step(integration_id: int) -> bool:
    """A person asked to retry: the failed step starts its next attempt (step.started at once)."""
    try:
        events = await db(transitions.step_retry)(integration_id)
    except Conflict:
        return False
    finally:
        await db(close_old_connections)()
    await publish(events)
    return True


@activity.defn(name=m.RECORD_FAILURE)
async def record_step_failure(failure: m.StepFailure) -> None:
    """Temporal's retries ran out: the step fails with the last error's words, for a person to retry."""
    try:
        step = await db(SetupStep.objects.get)(integration_id=failure.integration_id, name=failure.step)
    except SetupStep.DoesNotExist:
        raise gone(failure.integration_id) from None
    await publish(await db(transitions.step_fail)(step.pk, code=failure.code, message=failure.message, retryable=True))
    await db(close_old_connections)()


@activity.defn(name=m.ABANDON)
async def abandon_setup(integration_id: int) -> None:
    """Nobody finished the Connect Card in time: delete the Fivetran connection (it costs money
    while it exists) and the set-up with it."""
    try:
        integration = await db(Integration.objects.get)(pk=integration_id)
    except Integration.DoesNotExist:
        return
    logger.info("integration %s was abandoned on the Connect Card; deleting it", integration_id)
    await integration_delete(integration)
    await db(close_old_connections)()


ACTIVITIES = (run_setup_step, watch_landing, record_selection, restart_failed_step, record_step_failure, abandon_setup)
