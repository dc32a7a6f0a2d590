"""The connection life's activities (integrations.engine.life): look at the connection, act on it
for a person, and the reconciliation pass. Like the set-up's, each writes its rows and events in one
transaction and rings the channel group after the commit; each is safe to run again.

A transient Fivetran failure (timeouts, 429, 5xx) is raised for Temporal's RetryPolicy; a refusal is
raised as NotPossible with Fivetran's own words, which reach the person who asked.
"""

from __future__ import annotations

import logging
from datetime import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.urls import reverse
from django.utils import timezone
from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors.catalogue import get_catalogue
from connectors.fivetran import FivetranError, get_client
from integrations.connection.mirror import mirror_connection, mirror_connection_gone
from integrations.connection.mirrored import MirroredConnection
from integrations.connection.reconcile import moved_integrations
from integrations.connection.schedule import seconds_until_stale
from integrations.connection.syncs import SYNC_END, SYNC_START, record_sync, sync_asked_not_seen
from integrations.connection.tables import refresh_tables, source_of
from integrations.engine import dispatch
from integrations.engine import messages as m
from integrations.engine.activity_support import db, gone, is_transient
from integrations.models import Integration, Table
from integrations.setup.selection import validate_selection
from integrations.setup.steps import poll_intervals
from integrations.state import connect_card_return, transitions
from integrations.state.datasets import destination_tables
from integrations.state.events import append_event, publish
from integrations.state.source_schema import schema_summary
from integrations.vocabulary import ConnectionHealth

logger = logging.getLogger(__name__)


def _fivetran_failure(error: FivetranError) -> ApplicationError:
    """Retry what may pass by itself; refuse, in Fivetran's words, what will not."""
    words = error.message or error.code or str(error)
    if is_transient(error):
        return ApplicationError(f"Fivetran: {words}", type="FivetranUnavailable")
    return ApplicationError(words, type=m.NOT_POSSIBLE, non_retryable=True)


async def _integration(integration_id: int) -> Integration:
    try:
        return await Integration.objects.aget(pk=integration_id)
    except Integration.DoesNotExist:
        raise gone(integration_id) from None


# -- looking ----------------------------------------------------------------------------------------


def _when(created: str) -> datetime:
    try:
        at = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return timezone.now()
    return at if at.tzinfo else timezone.make_aware(at)


async def _record_webhooks(integration_id: int, events: list[m.FivetranEvent]) -> None:
    for event in events:
        if event.event not in (SYNC_START, SYNC_END):
            continue
        record = await db(record_sync)(
            integration_id, event=event.event, sync_id=event.sync_id, status=event.status, reason=event.reason,
            at=_when(event.created),
        )
        await publish(record.events)


async def _infer_syncs(integration_id: int, changed: dict) -> None:
    """Without webhooks, Fivetran's status is all there is: a sync seen starting, or a newer success
    or failure, becomes its record (no sync id; the status gives no reason)."""
    if changed.get("sync_state") == "syncing":
        await publish((await db(record_sync)(integration_id, event=SYNC_START, at=timezone.now())).events)
    for field, status in (("succeeded_at", "SUCCESSFUL"), ("failed_at", "FAILURE")):
        if changed.get(field):
            record = await db(record_sync)(integration_id, event=SYNC_END, status=status, at=changed[field])
            await publish(record.events)


def _look_again(integration_id: int, result) -> float | None:
    """Sooner than the regular look when something is due: while a sync runs, or one a person asked
    for has not shown yet (Fivetran starts it a moment later; without webhooks nothing else would
    tell), the set-up's fallback polls; when healthy, the moment it would turn stale with no sync
    succeeding (a dead schedule sends no webhook), so the health turns stale on time."""
    if result.health.kind == ConnectionHealth.SYNCING:
        return poll_intervals()[1]
    if sync_asked_not_seen(integration_id, timezone.now()):
        return poll_intervals()[0]
    if result.health.kind != ConnectionHealth.HEALTHY:
        return None
    integration = Integration.objects.get(pk=integration_id)
    left = seconds_until_stale(MirroredConnection.from_integration(integration), timezone.now())
    regular = settings.CONNECTION_LOOK_HOURS * 3600
    return max(left + 1, 60.0) if left is not None and left < regular else None


@activity.defn(name=m.REFRESH_CONNECTION)
async def refresh_connection(refresh: m.Refresh) -> m.ConnectionView:
    """Read the connection from Fivetran and mirror it; record the syncs; refresh the tables after a
    new success. Answers what the workflow needs for validating actions and timing its next look."""
    try:
        integration = await _integration(refresh.integration_id)
        await _record_webhooks(integration.pk, refresh.events)
        try:
            connection = await get_client().get_connection(integration.connection_id)
        except FivetranError as error:
            if not error.connection_missing:
                raise _fivetran_failure(error) from error
            result = await db(mirror_connection_gone)(integration.pk)
            await publish(result.events)
            return m.ConnectionView(health=result.health.kind.value, deleted=True)
        try:
            result = await db(mirror_connection)(integration.pk, connection)
        except Integration.DoesNotExist:
            raise gone(refresh.integration_id) from None
        await publish(result.events)
        if not settings.FIVETRAN_WEBHOOK_SECRET:
            await _infer_syncs(integration.pk, result.changed)
        if result.changed.get("succeeded_at"):
            try:
                await publish(await refresh_tables(integration))
            except FivetranError as error:
                raise _fivetran_failure(error) from error
        return m.ConnectionView(health=result.health.kind.value, look_again_seconds=await db(_look_again)(integration.pk, result))
    finally:
        await db(close_old_connections)()


# -- acting for a person ----------------------------------------------------------------------------


async def _reconnect_card(integration: Integration) -> str:
    """A fresh Connect Card for the same connection; its signed one-time return comes back to us."""
    integration = await db(connect_card_return.return_nonce_renew)(integration.pk)
    path = reverse("integrations:authorized", args=[integration.pk])
    redirect_uri = f"{settings.PUBLIC_URL}{path}?token={connect_card_return.return_token(integration)}"
    card = await get_client().connect_card(integration.connection_id, redirect_uri=redirect_uri)
    await db(transitions.integration_update)(integration.pk, connect_card_uri=card, connect_card_issued_at=timezone.now())
    return card


async def _carry_out(integration: Integration, action: m.Action) -> m.ActionResult:
    client = get_client()
    connection_id = integration.connection_id
    arguments = action.arguments
    if action.kind == "sync":
        await client.sync(connection_id)
        return m.ActionResult("Sync started")
    if action.kind in ("pause", "resume"):
        await client.set_paused(connection_id, action.kind == "pause")
        return m.ActionResult("Paused" if action.kind == "pause" else "Resumed")
    if action.kind == "settings":
        said = []
        if "sync_frequency" in arguments:
            await client.update_connection(connection_id, sync_frequency=arguments["sync_frequency"])
            said.append(f"syncs every {arguments['sync_frequency']} minutes")
        if "name" in arguments:
            await db(transitions.integration_update)(integration.pk, name=arguments["name"])
            said.append(f"renamed to {arguments['name']}")
        return m.ActionResult("Saved: " + ", ".join(said), {key: arguments[key] for key in arguments})
    if action.kind == "schema":
        if integration.source_schema is None:
            raise ApplicationError("The schema has not been loaded yet.", type=m.NOT_POSSIBLE, non_retryable=True)
        try:
            selected = validate_selection(integration.source_schema, arguments.get("selected"))
        except ValueError as error:
            raise ApplicationError(str(error), type=m.NOT_POSSIBLE, non_retryable=True) from None
        config = await client.get_schema_config(connection_id)
        config = await client.update_schema_config(connection_id, config, selected)
        service = get_catalogue().get(integration.service)
        expected = destination_tables(service, integration.schema_name, config) if service else {}
        await db(transitions.integration_update)(
            integration.pk, selection=selected, destination_tables=expected, source_schema=schema_summary(config)
        )
        await client.sync(connection_id)  # newly enabled tables land with the next sync: start it now
        count = sum(len(tables) for tables in expected.values())
        return m.ActionResult(f"Saved: {count} tables will be synced", {"selected": selected})
    if action.kind == "resync_table":
        table = await Table.objects.filter(integration=integration, pk=arguments.get("table_id")).afirst()
        source = await sync_to_async(source_of)(integration, table) if table else None
        if source is None:
            raise ApplicationError("Fivetran does not know this table as one of the source's.", type=m.NOT_POSSIBLE, non_retryable=True)
        await client.resync_table(connection_id, *source)
        return m.ActionResult(f"Re-syncing {table.name}: Fivetran copies it again from the start", {"table": table.name})
    if action.kind == "reconnect":
        return m.ActionResult("Open the Connect Card to reconnect", {"url": await _reconnect_card(integration)})
    raise ApplicationError(f"Unknown action {action.kind!r}.", type=m.NOT_POSSIBLE, non_retryable=True)


@activity.defn(name=m.ACT_ON_CONNECTION)
async def act_on_connection(action: m.Action) -> m.ActionResult:
    try:
        integration = await _integration(action.integration_id)
        try:
            result = await _carry_out(integration, action)
            # What the action left, at once: the page need not wait for the next look.
            connection = await get_client().get_connection(integration.connection_id)
        except FivetranError as error:
            raise _fivetran_failure(error) from error
        mirrored = await db(mirror_connection)(integration.pk, connection)
        said = await db(_action_taken)(integration.pk, action, result.message)
        await publish(said + mirrored.events)
        logger.info("integration %s: %s by user %s: %s", integration.pk, action.kind, action.user_id, result.message)
        return result
    finally:
        await db(close_old_connections)()


@transaction.atomic
def _action_taken(integration_id: int, action: m.Action, message: str) -> list:
    """The action, who asked for it and what came of it: the connection's history (`connection.action`)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=action.user_id).first() if action.user_id else None
    by = user.get_username() if user else None
    return [append_event(integration_id, "connection.action", {"action": action.kind, "by": by, "message": message})]


# -- the reconciliation pass ------------------------------------------------------------------------


@activity.defn(name=m.RECONCILE_CONNECTIONS)
async def reconcile_connections() -> int:
    """One paged listing of the group's connections; every Ready integration whose mirrored state
    differs from it (or whose connection is no longer listed) is told to look. Answers how many."""
    try:
        try:
            listing = await get_client().list_connections(settings.FIVETRAN_GROUP_ID, page_size=1000)
        except FivetranError as error:
            raise _fivetran_failure(error) from error
        activity.heartbeat()
        moved = await db(moved_integrations)(listing)
        for integration_id in moved:
            await dispatch.fivetran_changed(integration_id)
            activity.heartbeat()
        if moved:
            logger.info("reconciliation: %d of the group's connections moved", len(moved))
        return len(moved)
    finally:
        await db(close_old_connections)()


ACTIVITIES = (refresh_connection, act_on_connection, reconcile_connections)
