"""Raising notifications: read an integration's new event rows (and any notice found elsewhere),
address each notice to every member of the integration's team by their preferences, store one row
per person and event, and ring each person's channel group once the rows are committed. Plus what a
person does with them: mark read, mark all read, choose what notifies them.

The rows are the truth and the ring only a doorbell (a missed toast is still in the list). Reading
is idempotent: the cursor moves in the same transaction as the rows it made, and a key is stored
once per person, so a retried activity or a replayed workflow notifies nobody twice.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.models import Integration, IntegrationEvent
from integrations.state.events import isoformat
from notifications.delivery.notices import Notice, Reading, Subject, read_events
from notifications.kinds import KIND_LABELS, NotificationKind, user_group
from notifications.models import EventCursor, Notification, NotificationPreference

logger = logging.getLogger(__name__)

# Events read per pass: a long-unread integration is caught up over a few passes, in order.
EVENTS_PER_PASS = 1000


@transaction.atomic
def notifications_raise(*, integration_id: int) -> list[Notification]:
    """Read the integration's events since the last pass into notifications for its team. Answers the
    rows made (none when nothing was news)."""
    integration = Integration.objects.select_related("team").get(pk=integration_id)
    EventCursor.objects.get_or_create(integration_id=integration_id)
    cursor = EventCursor.objects.select_for_update().get(integration_id=integration_id)
    events = list(IntegrationEvent.objects.filter(integration_id=integration_id, seq__gt=cursor.seq).order_by("seq")[:EVENTS_PER_PASS])
    reading = Reading(cursor.health, cursor.failed_syncs, cursor.last_failed_sync)
    notices = read_events(
        Subject(integration.pk, integration.name), events, reading, failed_syncs_limit=settings.NOTIFY_FAILED_SYNCS
    )
    if events:
        cursor.seq = events[-1].seq
    cursor.health, cursor.failed_syncs, cursor.last_failed_sync = reading.health, reading.failed_syncs, reading.last_failed_sync
    cursor.save()
    made = _address(integration, notices)
    shown = [notification for notification in made if notification.in_app]
    if shown:
        transaction.on_commit(lambda: _ring(shown))
    return made


def _address(integration: Integration, notices: list[Notice]) -> list[Notification]:
    if not notices:
        return []
    members = list(integration.team.members.filter(is_active=True))
    chosen = {
        (preference.user_id, preference.kind): preference
        for preference in NotificationPreference.objects.filter(user__in=members, kind__in=[n.kind for n in notices])
    }
    known = set(
        Notification.objects.filter(user__in=members, key__in=[n.key for n in notices]).values_list("user_id", "key")
    )
    rows = []
    for notice in notices:
        for member in members:
            preference = chosen.get((member.pk, notice.kind.value))
            in_app = preference.in_app if preference else True
            email = preference.email if preference else True
            if (member.pk, notice.key) in known or not (in_app or email):
                continue
            known.add((member.pk, notice.key))
            rows.append(
                Notification(
                    user=member, team=integration.team, integration=integration, kind=notice.kind.value,
                    key=notice.key, title=notice.title, body=notice.body, link=notice.link,
                    in_app=in_app, email_wanted=email and bool(member.email),
                )
            )
    return Notification.objects.bulk_create(rows)


# -- the doorbell ---------------------------------------------------------------------------------


def notification_frame_data(notification: Notification, *, unread: int) -> dict:
    """The notifications socket's `notification` frame data (its JSON Schema: integrations/state/event_schemas.py)."""
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "kind_label": KIND_LABELS[NotificationKind(notification.kind)],
        "title": notification.title,
        "body": notification.body,
        "link": notification.link,
        "created_at": isoformat(notification.created_at),
        "unread": unread,
    }


def _ring(notifications: list[Notification]) -> None:
    """After the commit: tell each person's open sockets, with their unread count. The type
    `notification.created` calls consumers.notifications.NotificationConsumer.notification_created."""
    layer = get_channel_layer()
    for notification in notifications:
        data = notification_frame_data(notification, unread=unread_count(user=notification.user))
        try:
            async_to_sync(layer.group_send)(user_group(notification.user_id), {"type": "notification.created", "data": data})
        except Exception:  # the rows are safe: the list and the count show them on the next page
            logger.warning("could not ring user %s for notification %s", notification.user_id, notification.pk, exc_info=True)


# -- what a person sees and does ------------------------------------------------------------------


def visible_notifications(*, user):
    """A person's notifications, newest first: shown in-app, of the teams they are still in."""
    return Notification.objects.filter(user=user, in_app=True, team__members=user).select_related("integration")


def unread_count(*, user) -> int:
    return visible_notifications(user=user).filter(read_at__isnull=True).count()


def notification_mark_read(*, notification: Notification) -> None:
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())


def notifications_mark_all_read(*, user) -> int:
    return visible_notifications(user=user).filter(read_at__isnull=True).update(read_at=timezone.now())


def preferences_of(*, user) -> list[dict]:
    """Each kind with the person's choice for it (both channels on unless they said otherwise)."""
    chosen = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    return [
        {
            "kind": kind.value,
            "in_app": chosen[kind.value].in_app if kind.value in chosen else True,
            "email": chosen[kind.value].email if kind.value in chosen else True,
        }
        for kind in NotificationKind
    ]


@transaction.atomic
def preferences_update(*, user, choices: dict[str, dict[str, bool]]) -> None:
    """`choices`: {kind: {"in_app": bool, "email": bool}}. A kind or channel left out is turned off,
    as a form's unticked checkbox is; other keys are ignored."""
    for kind in NotificationKind:
        choice = choices.get(kind.value, {})
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind.value, defaults={"in_app": bool(choice.get("in_app")), "email": bool(choice.get("email"))}
        )
