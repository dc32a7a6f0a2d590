"""Small workflows and activities for the Temporal infrastructure tests (tests/test_temporal_infra.py).

Like every workflow module, this one is imported again inside the workflow sandbox for each
workflow run: it imports no Django and no model at module level, and runs nothing on import.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)


@dataclass
class Greeting:
    name: str


@dataclass
class SlowStep:
    marker_dir: str
    seconds: float


@activity.defn
async def compose_greeting(greeting: Greeting) -> str:
    return f"Hello, {greeting.name}!"


@activity.defn
def slow_step(step: SlowStep) -> str:
    """Sync on purpose (runs in the worker's thread pool); leaves files saying it started and finished."""
    marker_dir = Path(step.marker_dir)
    (marker_dir / "started").touch()
    time.sleep(step.seconds)
    (marker_dir / "finished").touch()
    return "finished"


@workflow.defn
class GreetingWorkflow:
    @workflow.run
    async def run(self, greeting: Greeting) -> str:
        return await workflow.execute_activity(
            compose_greeting, greeting, start_to_close_timeout=timedelta(seconds=10), retry_policy=ONE_ATTEMPT
        )


@workflow.defn(name="GreetingWorkflow")
class ChangedGreetingWorkflow:
    """GreetingWorkflow after an incompatible change (a timer before the activity): replaying a
    history of the original must fail."""

    @workflow.run
    async def run(self, greeting: Greeting) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return await workflow.execute_activity(
            compose_greeting, greeting, start_to_close_timeout=timedelta(seconds=10), retry_policy=ONE_ATTEMPT
        )


@workflow.defn
class WaitingWorkflow:
    """Runs until signalled: a workflow that is still open."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.finished)
        return "finished"


@workflow.defn
class SlowWorkflow:
    @workflow.run
    async def run(self, step: SlowStep) -> str:
        return await workflow.execute_activity(
            slow_step, step, start_to_close_timeout=timedelta(seconds=60), retry_policy=ONE_ATTEMPT
        )


def worker_main() -> None:
    """A worker process for these workflows, configured by the TEMPORAL_* environment variables."""
    import asyncio
    import logging

    from gyana.temporal.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(run_worker([GreetingWorkflow, SlowWorkflow], [compose_greeting, slow_step]))
