"""Notifications, people's preferences for them, and how far each integration's events have been
read for them. Thin: the rules are in notifications.delivery."""

from django.conf import settings
from django.db import models

from notifications.kinds import KIND_LABELS, NotificationKind

KIND_CHOICES = [(kind.value, KIND_LABELS[kind]) for kind in NotificationKind]


class Notification(models.Model):
    """One notice to one person about one event of one integration."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="notifications")
    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=KIND_CHOICES)
    # The event it is about (integration, kind, the event's seq or what it names): unique per person,
    # so a retried activity or a replayed workflow notifies each person once per event.
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    body = models.TextField()
    # The page that fixes it (a path of this site).
    link = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # False when the person turned the in-app notice of this kind off but wants the e-mail: the row
    # then only keeps the e-mail's delivery, and no list, count or toast shows it.
    in_app = models.BooleanField(default=True)
    email_wanted = models.BooleanField(default=False)
    # Set while a worker sends the e-mail: a second worker (a retried activity) does not send it too.
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_notification_per_user_and_event")]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_unread"),
            models.Index(fields=["integration", "emailed_at"], name="notification_email_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class NotificationPreference(models.Model):
    """A person's choice for one kind; no row means both channels on (the default)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(max_length=30, choices=KIND_CHOICES)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_user_and_kind")]


class EventCursor(models.Model):
    """How far an integration's event rows have been read for notifications, and what that reading
    needs to remember: the health last seen (a notice when it becomes broken, not while it stays so)
    and the failed syncs in a row."""

    integration = models.OneToOneField(
        "integrations.Integration", on_delete=models.CASCADE, primary_key=True, related_name="notification_cursor"
    )
    seq = models.PositiveBigIntegerField(default=0)
    health = models.CharField(max_length=20, blank=True, default="")
    failed_syncs = models.PositiveIntegerField(default=0)
    last_failed_sync = models.BigIntegerField(null=True, blank=True)
