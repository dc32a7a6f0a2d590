"""What the web side asks of an integration's workflow: start it, tell it the user came back from
the Connect Card or that Fivetran's webhook rang, hand it the table choice or a retry (Updates,
validated by the workflow before anything is recorded), stop it when the integration is deleted.
"""

from __future__ import annotations

import logging

from django.conf import settings
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from gyana.temporal.client import get_client
from integrations.engine import messages as m
from integrations.engine.workflow import IntegrationSetup
from integrations.models import Integration

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The workflow refused an Update; `conflict` when the set-up is not at that point (409), else
    the input is wrong (400)."""

    def __init__(self, message: str, *, conflict: bool):
        super().__init__(message)
        self.message = message
        self.conflict = conflict


async def workflow_id_of(integration_id: int) -> str:
    schema_name = await Integration.objects.values_list("schema_name", flat=True).aget(pk=integration_id)
    return m.workflow_id(integration_id, schema_name)


async def _handle(integration_id: int) -> WorkflowHandle:
    return (await get_client()).get_workflow_handle(await workflow_id_of(integration_id))


async def start_setup(integration_id: int) -> None:
    """Start the integration's workflow. Its id is derived from the integration, so Temporal itself
    refuses a second one, even after the first has finished."""
    params = m.SetupParams(
        integration_id=integration_id,
        abandon_after_seconds=settings.SETUP_ABANDON_HOURS * 3600,
        heartbeat_timeout_seconds=settings.SETUP_ACTIVITY_HEARTBEAT_SECONDS,
        landing_seconds=settings.SETUP_LANDING_SECONDS,
    )
    await (await get_client()).start_workflow(
        IntegrationSetup.run,
        params,
        id=await workflow_id_of(integration_id),
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


async def _signal(integration_id: int, name: str) -> bool:
    try:
        await (await _handle(integration_id)).signal(name)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:  # finished, or never started: nothing to tell
            return False
        raise
    return True


async def card_returned(integration_id: int) -> bool:
    return await _signal(integration_id, m.CARD_RETURNED)


async def fivetran_changed(integration_id: int) -> bool:
    return await _signal(integration_id, m.FIVETRAN_CHANGED)


async def _update(integration_id: int, name: str, *args) -> None:
    """Send an Update and return once the workflow has recorded it (or refused it, with its words);
    the steps that follow run on their own, so the API answers 202."""
    try:
        await (await _handle(integration_id)).execute_update(name, *args)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        if isinstance(cause, ApplicationError):
            raise Refused(cause.message, conflict=cause.type == m.NOT_WAITING) from error
        raise
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Refused("This integration's set-up is not running.", conflict=True) from error
        raise


async def select_tables(integration_id: int, tables: dict[str, list[str]]) -> None:
    await _update(integration_id, m.SELECT_TABLES, tables)


async def retry(integration_id: int) -> None:
    await _update(integration_id, m.RETRY)


async def stop_setup(integration_id: int) -> None:
    """The integration is being deleted: its workflow stops (already finished is fine)."""
    try:
        await (await _handle(integration_id)).terminate(reason="integration deleted")
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
