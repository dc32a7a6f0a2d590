"""The Temporal Schedules of a deployment: the reconciliation pass (integrations.engine.reconcile).

A Schedule belongs to a task queue (one per deployment); `ensure_schedule` creates it, or brings an
existing one to the current settings, whenever a worker process starts.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)

from integrations.engine import messages as m
from integrations.engine.reconcile import ReconcileConnections


def schedule_id(task_queue: str) -> str:
    return f"{m.RECONCILE_SCHEDULE_ID}-{task_queue}"


async def ensure_schedule(client: Client, task_queue: str, every: timedelta) -> None:
    """Create the reconciliation Schedule of `task_queue`, or update it to `every`."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            ReconcileConnections.run, id=f"reconcile-connections-{task_queue}", task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        # A pass still running (a slow Fivetran) is not doubled: the next one waits its turn.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id(task_queue), schedule)
    except ScheduleAlreadyRunningError:
        await client.get_schedule_handle(schedule_id(task_queue)).update(lambda _old: ScheduleUpdate(schedule=schedule))
