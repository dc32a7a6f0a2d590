"""Notifying people, the workflows' durable path to them: after a transition the workflow runs
`notify_people`, which reads the integration's new event rows into notifications for its team
(notifications.delivery.services), and e-mails what is still unsent. Safe to run again: each event notifies each person once, and an
e-mail that failed (the SMTP server's 451) makes the activity fail, so Temporal retries it and only
the unsent ones go."""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from temporalio import activity
from temporalio.exceptions import ApplicationError

from integrations.engine import messages as m
from integrations.engine.activity_support import db
from integrations.models import Integration
from notifications.delivery import email, services

logger = logging.getLogger(__name__)


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
        if not await Integration.objects.filter(pk=integration_id).aexists():
            return 0  # deleted: nobody is told about it any more
        made = await db(services.notifications_raise)(integration_id=integration_id)
        if made:
            logger.info("integration %s: %d notifications raised", integration_id, len(made))
    finally:
        await db(close_old_connections)()
    try:
        return await sync_to_async(_send_emails, thread_sensitive=False)(integration_id)
    except email.EmailsNotSent as error:
        raise ApplicationError(str(error), type="EmailsNotSent") from error


ACTIVITIES = (notify_people,)
