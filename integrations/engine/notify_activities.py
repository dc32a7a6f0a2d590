"""Notifying people, the workflows' durable path to them: after a transition the workflow runs
`notify_people`, which reads the integration's new event rows into notifications for its team
(notifications.delivery.services), looks for new tables waiting for review after a successful sync,
and e-mails what is still unsent. Safe to run again: each event notifies each person once, and an
e-mail that failed (the SMTP server's 451) makes the activity fail, so Temporal retries it and only
the unsent ones go."""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors.fivetran import FivetranError, get_client
from integrations.engine import messages as m
from integrations.engine.activity_support import db, is_transient
from integrations.models import Integration
from notifications.delivery import email, schema_review, services
from notifications.delivery.notices import Notice

logger = logging.getLogger(__name__)


async def _tables_waiting_for_review(integration: Integration) -> list[Notice]:
    """After a successful sync of a Ready connection: its new tables Fivetran left disabled."""
    if integration.state != Integration.State.READY or not integration.connection_id:
        return []
    if not await db(services.unread_successful_sync)(integration_id=integration.pk):
        return []
    try:
        config = await get_client().get_schema_config(integration.connection_id)
    except FivetranError as error:
        if is_transient(error):
            raise ApplicationError(f"Fivetran: {error.message or error.code}", type="FivetranUnavailable") from error
        return []  # deleted or broken: its own notice says so
    waiting = schema_review.waiting_tables(integration.source_schema, config)
    if not waiting:
        return []
    return [schema_review.schema_review_notice(integration.pk, integration.name, waiting, config.schema_change_handling)]


def _send_emails(integration_id: int) -> int:
    # In a thread of its own (SMTP blocks), with its own database connection, closed after.
    try:
        return email.emails_send_pending(integration_id=integration_id)
    finally:
        close_old_connections()


@activity.defn(name=m.NOTIFY)
async def notify_people(integration_id: int) -> int:
    """Raise the integration's notifications and e-mail them; answers how many e-mails went."""
    try:
        try:
            integration = await Integration.objects.aget(pk=integration_id)
        except Integration.DoesNotExist:
            return 0  # deleted: nobody is told about it any more
        found = await _tables_waiting_for_review(integration)
        made = await db(services.notifications_raise)(integration_id=integration_id, found=found)
        if made:
            logger.info("integration %s: %d notifications raised", integration_id, len(made))
    finally:
        await db(close_old_connections)()
    try:
        return await sync_to_async(_send_emails, thread_sensitive=False)(integration_id)
    except email.EmailsNotSent as error:
        raise ApplicationError(str(error), type="EmailsNotSent") from error


ACTIVITIES = (notify_people,)
