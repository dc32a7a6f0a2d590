"""Workflow side of notifying people (both workflows call it after a transition): run the
`notify_people` activity (integrations.engine.notify_activities). Deterministic, no Django.

Behind `workflow.patched(PATCH_NOTIFY)`: histories recorded before it replay without the activity.
A notification is never worth stopping a set-up or a connection's life for: when the retries run
out (an SMTP server down for minutes) the workflow goes on, and the next call sends what is unsent.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from integrations.engine import messages as m
    from integrations.engine.errors import words

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=8,
)
NOTIFY_TIMEOUT = timedelta(minutes=2)


async def notify_people(integration_id: int) -> None:
    if not workflow.patched(m.PATCH_NOTIFY):
        return
    try:
        await workflow.execute_activity(
            m.NOTIFY, integration_id, start_to_close_timeout=NOTIFY_TIMEOUT, retry_policy=NOTIFY_RETRY
        )
    except ActivityError as error:
        workflow.logger.warning("integration %s: notifying people failed for now: %s", integration_id, words(error))
