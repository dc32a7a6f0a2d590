"""What the web side asks of an integration's workflow: start it, tell it the user came back from
the Connect Card or that Fivetran's webhook rang, hand it the table choice or a retry (Updates,
validated by the workflow before anything is recorded), carry out a person's action on a Ready
connection (an Update to its life), stop it when the integration is deleted.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from gyana.temporal.client import get_client
from integrations.engine import messages as m
from integrations.engine.life import ConnectionLife
from integrations.engine.workflow import IntegrationSetup
from integrations.models import Integration
from integrations.vocabulary import IntegrationState

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The workflow refused an Update; `conflict` when the set-up is not at that point or Fivetran
    said no (409), `unavailable` when Fivetran kept failing (503), else the input is wrong (400)."""

    def __init__(self, message: str, *, conflict: bool, unavailable: bool = False):
        super().__init__(message)
        self.message = message
        self.conflict = conflict
        self.unavailable = unavailable

    @property
    def status(self) -> int:
        return 503 if self.unavailable else 409 if self.conflict else 400


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


def life_params(integration_id: int, events: list[m.FivetranEvent] | None = None) -> m.LifeParams:
    return m.LifeParams(
        integration_id,
        heartbeat_timeout_seconds=settings.SETUP_ACTIVITY_HEARTBEAT_SECONDS,
        look_every_seconds=settings.CONNECTION_LOOK_HOURS * 3600,
        events=events or [],
    )


async def ensure_life(integration_id: int, event: m.FivetranEvent | None = None) -> None:
    """A Ready integration whose workflow has ended (set up before its life was a workflow, or
    stopped by an operator) gets its life workflow, told about `event`; a running one is told."""
    await (await get_client()).start_workflow(
        ConnectionLife.run,
        life_params(integration_id),
        id=await workflow_id_of(integration_id),
        task_queue=settings.TEMPORAL_TASK_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=m.FIVETRAN_CHANGED,
        start_signal_args=[event] if event is not None else [],
    )


async def _signal(integration_id: int, name: str, *args) -> bool:
    try:
        await (await _handle(integration_id)).signal(name, *args)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:  # finished, or never started: nothing to tell
            return False
        raise
    return True


async def card_returned(integration_id: int) -> bool:
    return await _signal(integration_id, m.CARD_RETURNED)


async def fivetran_changed(integration_id: int, event: m.FivetranEvent | None = None) -> bool:
    """Tell the workflow to look now; a Ready integration without a running workflow gets one."""
    if await _signal(integration_id, m.FIVETRAN_CHANGED, event):
        return True
    if await Integration.objects.filter(pk=integration_id, state=IntegrationState.READY).aexists():
        await ensure_life(integration_id, event)
        return True
    return False


def _refusal(error: WorkflowUpdateFailedError) -> Refused:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        # Only our own BadRequest is the input's fault; anything else the workflow refuses (not at
        # that point, Fivetran said no, or no such Update: its set-up is over) is a conflict.
        return Refused(
            cause.message, conflict=cause.type != m.BAD_REQUEST, unavailable=cause.type == m.UNAVAILABLE
        )
    return Refused(str(cause or error), conflict=True)


async def _update(integration_id: int, name: str, *args) -> None:
    """Send an Update and return once the workflow has recorded it (or refused it, with its words);
    the steps that follow run on their own, so the API answers 202."""
    try:
        await (await _handle(integration_id)).execute_update(name, *args)
    except WorkflowUpdateFailedError as error:
        raise _refusal(error) from error
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise Refused("This integration's set-up is not running.", conflict=True) from error
        raise


async def select_tables(integration_id: int, tables: dict[str, list[str]]) -> None:
    await _update(integration_id, m.SELECT_TABLES, tables)


async def retry(integration_id: int) -> None:
    await _update(integration_id, m.RETRY)


async def act(integration_id: int, action: m.Action, *, wait_seconds: float = 20.0) -> m.ActionResult | None:
    """Carry out a person's action on a Ready connection: its result (Fivetran's answer applied), or
    None when it is accepted but still running after `wait_seconds` (it goes on, durably, and its
    outcome arrives as events). Refused (validation, or Fivetran's own refusal) raises Refused."""
    if not await Integration.objects.filter(pk=integration_id, state=IntegrationState.READY).aexists():
        raise Refused("This integration is not set up yet.", conflict=True)
    handle = await _handle(integration_id)
    try:
        try:
            update = await handle.start_update(
                m.CONNECTION_ACTION, action, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=m.ActionResult
            )
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            await ensure_life(integration_id)  # its workflow had ended: it lives again, then acts
            update = await handle.start_update(
                m.CONNECTION_ACTION, action, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=m.ActionResult
            )
        try:
            return await asyncio.wait_for(update.result(), wait_seconds)
        except asyncio.TimeoutError:
            return None
    except WorkflowUpdateFailedError as error:
        raise _refusal(error) from error


async def stop_setup(integration_id: int) -> None:
    """The integration is being deleted: its workflow stops (already finished is fine)."""
    try:
        await (await _handle(integration_id)).terminate(reason="integration deleted")
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
