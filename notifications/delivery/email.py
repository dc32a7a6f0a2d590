"""E-mailing notifications through Django's e-mail framework (EMAIL_URL: SMTP in production, files
under VAR_DIR by default), exactly once per notification: each row is claimed before its message
is sent and marked sent after; a send that fails releases the claim, and the caller fails so that
Temporal retries it. A retry sends only what is still unsent, so nobody gets the same e-mail twice.

A worker that dies between the send and the mark leaves a claim that expires after CLAIM_EXPIRES:
that one message may then go twice, the price of never losing one.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification

logger = logging.getLogger(__name__)

CLAIM_EXPIRES = timedelta(minutes=10)


class EmailsNotSent(Exception):
    """Some messages could not be sent now; their claims are released for the next attempt."""


def emails_send_pending(*, integration_id: int) -> int:
    """Send the integration's notifications whose e-mail is wanted and not sent yet. Answers how many
    were sent; raises EmailsNotSent (after sending all the others) when any could not be."""
    pending = list(
        Notification.objects.filter(integration_id=integration_id, email_wanted=True, emailed_at__isnull=True)
        .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=timezone.now() - CLAIM_EXPIRES))
        .values_list("pk", flat=True)
    )
    if not pending:
        return 0
    sent, failures = 0, []
    with get_connection() as connection:
        for pk in pending:
            notification = _claim(pk)
            if notification is None:
                continue  # another worker has it, or sent it meanwhile
            try:
                _message(notification, connection).send()
            except (smtplib.SMTPException, OSError) as error:
                Notification.objects.filter(pk=pk).update(email_claimed_at=None)
                failures.append(f"{notification.user.email}: {error}")
                continue
            Notification.objects.filter(pk=pk).update(emailed_at=timezone.now())
            sent += 1
    if failures:
        raise EmailsNotSent(f"{len(failures)} of {len(pending)} e-mails not sent: " + "; ".join(failures))
    return sent


def _claim(pk: int) -> Notification | None:
    now = timezone.now()
    claimed = (
        Notification.objects.filter(pk=pk, emailed_at__isnull=True)
        .filter(Q(email_claimed_at__isnull=True) | Q(email_claimed_at__lt=now - CLAIM_EXPIRES))
        .update(email_claimed_at=now)
    )
    return Notification.objects.select_related("user", "integration").get(pk=pk) if claimed else None


def _message(notification: Notification, connection) -> EmailMessage:
    body = (
        f"{notification.body}\n\n"
        f"Open it: {settings.PUBLIC_URL}{notification.link}\n\n"
        f"Choose what notifies you: {settings.PUBLIC_URL}{reverse('notifications:preferences')}\n"
    )
    return EmailMessage(
        subject=notification.title,
        body=body,
        to=[notification.user.email],
        connection=connection,
        headers={"X-Gyana-Notification": notification.key},
    )
