"""The set-up of one integration as a Temporal workflow: the steps of integrations.vocabulary in
order, each run by an activity, with the waiting done here, durably.

- A step that waits for the user (the Connect Card, the table choice, a reconnect) waits for a
  signal (`card_returned`, `fivetran_changed`) or the Update `select_tables`, and on a timer when
  the step asks to look again anyway (a Connect Card link is renewed before it expires).
- A step that waits on Fivetran (the historical sync) sleeps on a durable timer with the backoff
  the step chose, and Fivetran's webhook (`fivetran_changed`) cuts the sleep short.
- Once Ready, it continues as the connection's life (integrations.engine.life), same workflow id.
- Transient failures (timeouts, 429, 5xx, lost answers) are retried by the activity's RetryPolicy
  and shown as progress; a failure Fivetran calls final is recorded by the step and waits for a
  person's `retry` Update. A set-up abandoned on the Connect Card deletes its own connection.

Workflow code must be deterministic: it imports no Django and reads no settings (they arrive in
SetupParams); activities are called by name.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from integrations.engine import messages as m
    from integrations.engine.errors import failed_with, words
    from integrations.engine.notifying import notify_people
    from integrations.vocabulary import STEP_NAMES

# Transient failures: back off from 1 s to 5 min, for about two hours in all, then hand the step
# to a person (recorded as failed, with the last error's words).
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=30,
    non_retryable_error_types=[m.INTEGRATION_GONE],
)
BOOKKEEPING_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=[m.INTEGRATION_GONE])
# One step's run: the longest is registering many thousand tables. A worker that dies is noticed by
# its missing heartbeat long before this.
STEP_TIMEOUT = timedelta(minutes=30)
BOOKKEEPING_TIMEOUT = timedelta(minutes=1)


@workflow.defn(name=m.SETUP_WORKFLOW)
class IntegrationSetup:
    def __init__(self) -> None:
        self.integration_id = 0
        self.heartbeat_timeout = timedelta(seconds=60)
        self.step = ""  # the step being run or waited on
        self.waiting_for = ""  # the action the user is asked for, while waiting on one
        self.selectable: dict[str, list[str]] = {}
        self.nudged = False  # a signal asked to look again now
        self.selection_taken = False
        self.running = False  # the current step's activity is in flight
        self.failed = False  # the current step failed for good: only a person's retry moves it
        self.retry_taken = False
        self.sync_events: list[m.FivetranEvent] = []

    # -- the flow ---------------------------------------------------------------------------------

    @workflow.run
    async def run(self, params: m.SetupParams) -> str:
        self.integration_id = params.integration_id
        self.heartbeat_timeout = timedelta(seconds=params.heartbeat_timeout_seconds)
        for step in STEP_NAMES:
            self.step = step
            finished = await self._run_step(step, params)
            if finished is not None:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return finished
        self.step = ""
        await notify_people(self.integration_id)  # the set-up is ready
        await workflow.wait_condition(workflow.all_handlers_finished)
        if workflow.patched(m.PATCH_CONNECTION_LIFE):
            # Ready: the same workflow id goes on as the connection's life, with a fresh history.
            workflow.continue_as_new(
                m.LifeParams(params.integration_id, params.heartbeat_timeout_seconds, events=self.sync_events),
                workflow=m.LIFE_WORKFLOW,
            )
        return "ready"

    async def _run_step(self, step: str, params: m.SetupParams) -> str | None:
        """Run `step` until it is done or skipped (None), or the set-up ends ("gone", "abandoned")."""
        waiting_on_card_since = None
        while True:
            self.nudged = False
            self.running = True
            try:
                result = await workflow.execute_activity(
                    m.RUN_STEP,
                    m.StepRun(self.integration_id, step),
                    result_type=m.StepResult,
                    start_to_close_timeout=STEP_TIMEOUT,
                    heartbeat_timeout=self.heartbeat_timeout,
                    retry_policy=STEP_RETRY,
                )
            except ActivityError as error:
                if failed_with(error, m.INTEGRATION_GONE):
                    return "gone"
                # The retries ran out: a person decides, with the last error's words in front of them.
                await self._bookkeeping(
                    m.RECORD_FAILURE,
                    m.StepFailure(self.integration_id, step, "unavailable", words(error)),
                )
                result = m.StepResult("failed")
            finally:
                self.running = False
            if result.kind in ("done", "skipped"):
                return None
            if result.kind == "gone":
                return "gone"
            if result.kind == "failed":
                await self._wait_for_retry()
                continue
            if result.selectable is not None:
                self.selectable = result.selectable
            if result.kind == "wait_for_user":
                if step == "select_tables":
                    if await self._wait_for_selection():
                        return None
                    continue
                timeout = result.after_seconds
                if step == "connect_card":
                    waiting_on_card_since = waiting_on_card_since or workflow.now()
                    left = params.abandon_after_seconds - (workflow.now() - waiting_on_card_since).total_seconds()
                    if left <= 0:
                        await self._bookkeeping(m.ABANDON, self.integration_id)
                        return "abandoned"
                    timeout = min(timeout, left) if timeout else left
                await self._wait_for_user(result.action, timeout)
                continue
            # check_again: Fivetran is working; look again on the step's own backoff, or when told.
            if step == "historical_sync" and workflow.patched(m.PATCH_WATCH_LANDING):
                await self._watch_landing_until(result.after_seconds or 60.0, params.landing_seconds)
            else:
                await self._sleep_unless_nudged(result.after_seconds or 60.0)

    async def _wait_for_user(self, action: str, timeout: float | None) -> None:
        self.waiting_for = action
        try:
            await self._sleep_unless_nudged(timeout)
        finally:
            self.waiting_for = ""

    async def _wait_for_selection(self) -> bool:
        self.waiting_for = "select_tables"
        try:
            await workflow.wait_condition(lambda: self.selection_taken)
        finally:
            self.waiting_for = ""
        await workflow.wait_condition(workflow.all_handlers_finished)
        return True

    async def _wait_for_retry(self) -> None:
        self.failed = True
        try:
            # A person's Retry is accepted while the team is being told (`failed` is already set).
            await notify_people(self.integration_id)
            await workflow.wait_condition(lambda: self.retry_taken)
            await workflow.wait_condition(workflow.all_handlers_finished)
        finally:
            self.failed = False
            self.retry_taken = False

    async def _watch_landing_until(self, timeout: float, first_look: float) -> None:
        """Until Fivetran's status is due again (or the webhook rings): look at the tables landing in
        BigQuery, a cheap metadata listing, every few seconds while someone watches, slowly otherwise."""
        due = workflow.now() + timedelta(seconds=timeout)
        interval = first_look
        while (left := (due - workflow.now()).total_seconds()) > 0:
            try:
                await workflow.wait_condition(lambda: self.nudged, timeout=min(left, interval))
            except asyncio.TimeoutError:
                pass
            else:
                self.nudged = False
                return
            if (due - workflow.now()).total_seconds() <= 0:
                return
            interval = await workflow.execute_activity(
                m.WATCH_LANDING,
                m.StepRun(self.integration_id, "historical_sync"),
                result_type=float,
                start_to_close_timeout=BOOKKEEPING_TIMEOUT,
                retry_policy=BOOKKEEPING_RETRY,
            )

    async def _sleep_unless_nudged(self, timeout: float | None) -> None:
        try:
            await workflow.wait_condition(lambda: self.nudged, timeout=timeout)
        except asyncio.TimeoutError:
            pass
        self.nudged = False

    async def _bookkeeping(self, activity: str, argument) -> object:
        return await workflow.execute_activity(
            activity, argument, start_to_close_timeout=BOOKKEEPING_TIMEOUT, retry_policy=BOOKKEEPING_RETRY
        )

    # -- what people and Fivetran send ------------------------------------------------------------

    @workflow.signal(name=m.CARD_RETURNED)
    def card_returned(self) -> None:
        """The user came back from the Connect Card (the signed return was checked by the web side)."""
        self.nudged = True

    @workflow.signal(name=m.FIVETRAN_CHANGED)
    def fivetran_changed(self, event: m.FivetranEvent | None = None) -> None:
        """Fivetran's signed webhook said something changed: look now instead of on the timer. Its syncs
        (the historical one) are handed to the connection's life, which records them at its first look."""
        if event is not None and (event.sync_id or event.reason):
            self.sync_events.append(event)
        self.nudged = True

    # The step's activity writes "waiting" (or "failed") to the database before the workflow hears
    # its result: a person quick enough to act in between is not refused. The validators accept
    # while the step's activity is still in flight; the handlers then wait for its result.

    @workflow.update(name=m.SELECT_TABLES)
    async def select_tables(self, tables: dict[str, list[str]]) -> None:
        await workflow.wait_condition(
            lambda: self.selection_taken or self.waiting_for == "select_tables" or self.step != "select_tables"
        )
        if self.selection_taken:
            return  # a repeat (double click, two tabs): the first one counted
        if self.step != "select_tables":
            raise ApplicationError("This integration is not waiting for a table selection.", type=m.NOT_WAITING)
        for schema, names in tables.items():
            allowed = set(self.selectable.get(schema, ()))
            unknown = sorted(name for name in names if name not in allowed)
            if unknown:
                raise ApplicationError(f"Not a table you can choose in {schema}: {', '.join(unknown)}", type=m.BAD_REQUEST)
        self.selection_taken = True
        await self._bookkeeping(m.RECORD_SELECTION, m.Selection(self.integration_id, tables))

    @select_tables.validator
    def _validate_selection(self, tables: dict[str, list[str]]) -> None:
        if self.step != "select_tables" or self.selection_taken:
            raise ApplicationError("This integration is not waiting for a table selection.", type=m.NOT_WAITING)
        if not any(tables.values()):
            raise ApplicationError("Choose at least one table.", type=m.BAD_REQUEST)

    @workflow.update(name=m.RETRY)
    async def retry(self) -> None:
        await workflow.wait_condition(lambda: self.failed or not self.running)
        if self.retry_taken:
            return  # a repeat: the first one restarted the step
        if not self.failed:
            raise ApplicationError("No step of this integration has failed.", type=m.NOT_WAITING)
        self.retry_taken = True
        await self._bookkeeping(m.RESTART_STEP, self.integration_id)

    @retry.validator
    def _validate_retry(self) -> None:
        if not (self.failed or self.running) or self.retry_taken:
            raise ApplicationError("No step of this integration has failed.", type=m.NOT_WAITING)

