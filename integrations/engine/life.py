"""A connection's life after its set-up, as a Temporal workflow: the set-up workflow continues as
this one (same workflow id) once the integration is Ready, and it runs as long as the integration.

- It looks at the connection (`refresh_connection`: Fivetran's status mirrored into the database,
  syncs recorded, tables refreshed after a successful sync) when Fivetran's webhook or the
  reconciliation says something moved, and every `look_every_seconds` anyway.
- People's actions (Sync now, pause, resume, settings, schema, table re-sync, reconnect) are one
  Update, validated here and carried out by `act_on_connection`, retried on transient Fivetran
  errors; a refusal comes back in Fivetran's words.
- The history stays short: the workflow continues as new when Temporal suggests it, carrying the
  webhook events it has not looked at yet.

Workflow code must be deterministic: no Django, no settings; activities are called by name.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from integrations.engine import messages as m
    from integrations.engine.errors import failed_with, words
    from integrations.engine.notifying import notify_people

# Looking is always safe to repeat, and a Fivetran outage must not end a connection's life: retry
# for as long as it takes, backing off to ten minutes.
LOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[m.INTEGRATION_GONE],
)
# A person is waiting for the answer: a minute of retries, then say Fivetran is not answering.
ACTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=15),
    maximum_attempts=6,
    non_retryable_error_types=[m.INTEGRATION_GONE, m.NOT_POSSIBLE],
)
LOOK_TIMEOUT = timedelta(minutes=30)  # refreshing many thousand tables after a sync
ACTION_TIMEOUT = timedelta(minutes=2)
# Actions that need a connection Fivetran still has and can sync.
NEEDS_CONNECTION = frozenset(m.ACTIONS) - {"reconnect", "settings"}


@workflow.defn(name=m.LIFE_WORKFLOW)
class ConnectionLife:
    def __init__(self) -> None:
        self.params: m.LifeParams | None = None
        self.events: list[m.FivetranEvent] = []
        self.nudged = False
        self.view: m.ConnectionView | None = None

    @workflow.run
    async def run(self, params: m.LifeParams) -> str:
        self.params = params
        self.events = list(params.events)
        heartbeat = timedelta(seconds=params.heartbeat_timeout_seconds)
        while True:
            looked_at, self.events = self.events, []
            self.nudged = False
            try:
                self.view = await workflow.execute_activity(
                    m.REFRESH_CONNECTION,
                    m.Refresh(params.integration_id, looked_at),
                    result_type=m.ConnectionView,
                    start_to_close_timeout=LOOK_TIMEOUT,
                    heartbeat_timeout=heartbeat,
                    retry_policy=LOOK_RETRY,
                )
            except ActivityError as error:
                if failed_with(error, m.INTEGRATION_GONE):
                    return "gone"
                raise
            await notify_people(params.integration_id)  # what the look found: a break, failures, new tables
            if self.view.gone:
                return "gone"
            try:
                await workflow.wait_condition(
                    lambda: self.nudged, timeout=self.view.look_again_seconds or params.look_every_seconds
                )
            except asyncio.TimeoutError:
                pass
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(replace(params, events=self.events))

    # -- what Fivetran and the reconciliation send ---------------------------------------------------

    @workflow.signal(name=m.FIVETRAN_CHANGED)
    def fivetran_changed(self, event: m.FivetranEvent | None = None) -> None:
        """Something moved at Fivetran's (a signed webhook, or the reconciliation saw it): look now."""
        if event is not None and (event.sync_id or event.reason):
            self.events.append(event)
        self.nudged = True

    @workflow.signal(name=m.CARD_RETURNED)
    def card_returned(self) -> None:
        """The user came back from a reconnect's Connect Card: look now (the health clears)."""
        self.nudged = True

    # -- what people ask --------------------------------------------------------------------------

    @workflow.update(name=m.CONNECTION_ACTION)
    async def act(self, action: m.Action) -> m.ActionResult:
        try:
            result = await workflow.execute_activity(
                m.ACT_ON_CONNECTION,
                action,
                result_type=m.ActionResult,
                start_to_close_timeout=ACTION_TIMEOUT,
                retry_policy=ACTION_RETRY,
            )
        except ActivityError as error:
            if failed_with(error, m.NOT_POSSIBLE):
                raise ApplicationError(words(error), type=m.NOT_POSSIBLE) from None
            raise ApplicationError(f"Fivetran is not answering: {words(error)}", type=m.UNAVAILABLE) from None
        finally:
            self.nudged = True  # look at what the action left, whatever it was
        return result

    @act.validator
    def _validate_action(self, action: m.Action) -> None:
        if action.kind not in m.ACTIONS:
            raise ApplicationError(f"Unknown action {action.kind!r}.", type=m.BAD_REQUEST)
        if self.view is not None and self.view.deleted and action.kind in NEEDS_CONNECTION:
            raise ApplicationError("This connection no longer exists in Fivetran.", type=m.NOT_POSSIBLE)

