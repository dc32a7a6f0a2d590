"""The baselines of bench.setup_engine and bench.connection_webhook: bare Temporal workflows that call the product's own set-up
activity (integrations.engine.setup_activities.run_setup_step, by name) with none of IntegrationSetup's
logic: no step loop, no waiting rules, no Updates, no retry bookkeeping, default retry policy.
Whatever the product spends beyond these is the engine's overhead.

Workflow code: imported again inside Temporal's sandbox, so it imports nothing but temporalio and
the plain messages module (passed through, as the product's workflow does).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from integrations.engine import messages as m

TIMEOUT = timedelta(minutes=5)


@workflow.defn(name="BareFirstSteps")
class BareFirstSteps:
    """A set-up's first two steps back to back: create the connection, then offer the Connect Card."""

    @workflow.run
    async def run(self, integration_id: int) -> None:
        for step in ("create_connection", "connect_card"):
            await workflow.execute_activity(
                m.RUN_STEP, m.StepRun(integration_id, step), result_type=m.StepResult, start_to_close_timeout=TIMEOUT
            )


@workflow.defn(name="BareRecheck")
class BareRecheck:
    """Each fivetran_changed signal runs the historical_sync step once (the activity publishes)."""

    def __init__(self) -> None:
        self.pending = 0

    @workflow.run
    async def run(self, integration_id: int) -> None:
        while True:
            await workflow.wait_condition(lambda: self.pending > 0)
            self.pending -= 1
            await workflow.execute_activity(
                m.RUN_STEP,
                m.StepRun(integration_id, "historical_sync"),
                result_type=m.StepResult,
                start_to_close_timeout=TIMEOUT,
            )

    @workflow.signal(name=m.FIVETRAN_CHANGED)
    def fivetran_changed(self) -> None:
        self.pending += 1



@workflow.defn(name="BareLife")
class BareLife:
    """The connection life's baseline: each fivetran_changed signal runs the product's own
    refresh_connection activity once with the webhook's event (which records the sync and publishes)."""

    def __init__(self) -> None:
        self.events: list[m.FivetranEvent] = []

    @workflow.run
    async def run(self, integration_id: int) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self.events))
            events, self.events = self.events, []
            await workflow.execute_activity(
                m.REFRESH_CONNECTION,
                m.Refresh(integration_id, events),
                result_type=m.ConnectionView,
                start_to_close_timeout=TIMEOUT,
            )

    @workflow.signal(name=m.FIVETRAN_CHANGED)
    def fivetran_changed(self, event: m.FivetranEvent) -> None:
        self.events.append(event)


BARE_WORKFLOWS = (BareFirstSteps, BareRecheck, BareLife)
