"""Missed webhooks are caught here: a Temporal Schedule runs `ReconcileConnections` every
RECONCILE_MINUTES, whose one activity lists the group's connections from Fivetran (paged, a
thousand per call) and tells only the connections whose state moved since they last looked.

The Schedule itself: integrations.engine.schedules.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from integrations.engine import messages as m

PASS_TIMEOUT = timedelta(minutes=10)


@workflow.defn(name=m.RECONCILE_WORKFLOW)
class ReconcileConnections:
    @workflow.run
    async def run(self) -> int:
        """One pass; answers how many connections were told to look."""
        return await workflow.execute_activity(
            m.RECONCILE_CONNECTIONS,
            start_to_close_timeout=PASS_TIMEOUT,
            heartbeat_timeout=timedelta(minutes=2),
            # The next pass comes anyway: a few tries, then leave it to the Schedule.
            retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=5)),
            result_type=int,
        )

