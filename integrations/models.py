import uuid

from django.conf import settings
from django.db import models

from integrations.vocabulary import (
    CONNECTION_HEALTH_LABELS,
    INTEGRATION_STATE_LABELS,
    STEP_STATE_LABELS,
    SYNC_STATUS_LABELS,
    ConnectionHealth,
    IntegrationState,
    StepState,
    SyncStatus,
)


def _choices(name: str, states, labels) -> type[models.TextChoices]:
    # The states and their labels are declared once, in integrations.vocabulary.
    return models.TextChoices(name, [(state.name, (state.value, labels[state])) for state in states])


class Integration(models.Model):
    """One Fivetran connection of a team, landing in its own BigQuery dataset(s)."""

    State = _choices("State", IntegrationState, INTEGRATION_STATE_LABELS)
    Health = _choices("Health", ConnectionHealth, CONNECTION_HEALTH_LABELS)

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="integrations")
    service = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    connection_id = models.CharField(max_length=100, blank=True, default="")
    # Derived once at creation (team, service, random suffix) and never copied: two integrations
    # must never share a dataset.
    schema_name = models.CharField(max_length=100, unique=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Fivetran's own timestamps seen just before the sync started: completion is judged against
    # them, never against our clock.
    baseline_succeeded_at = models.DateTimeField(null=True, blank=True)
    baseline_failed_at = models.DateTimeField(null=True, blank=True)
    connect_card_uri = models.TextField(blank=True, default="")
    connect_card_issued_at = models.DateTimeField(null=True, blank=True)
    # Nonce of the one-time Connect Card return token; cleared when the token is used.
    return_nonce = models.CharField(max_length=64, blank=True, default="")
    # The user's choice: {"<source schema>": ["<source table>", ...]}.
    selection = models.JSONField(null=True, blank=True)
    # The source's schemas and tables as Fivetran reported them (locked tables flagged), for the
    # table-selection page: {"schemas": [{"name", "name_in_destination", "enabled", "tables": [...]}]}.
    source_schema = models.JSONField(null=True, blank=True)
    # What should land in BigQuery after the schema update: {"<dataset>": ["<table>", ...]}.
    destination_tables = models.JSONField(null=True, blank=True)
    # Fivetran's reason for the last failed sync, from its signed sync_end webhook (its own words).
    last_sync_reason = models.TextField(blank=True, default="")
    # When a socket last watched this integration: the tables landing are looked at more often then.
    watched_at = models.DateTimeField(null=True, blank=True)
    # Last event seq handed out; incremented in the same transaction as the event row.
    last_seq = models.PositiveBigIntegerField(default=0)

    # Fivetran's connection as last read (GET /v1/connections/{id} or the group's listing), written only by
    # integrations.connection.mirror. Fivetran's own strings are kept as they come ("" until first read).
    setup_state = models.CharField(max_length=30, blank=True, default="")
    sync_state = models.CharField(max_length=30, blank=True, default="")
    update_state = models.CharField(max_length=30, blank=True, default="")
    paused = models.BooleanField(default=False)
    # "auto" or "manual": with manual, Fivetran syncs only when asked, so no next sync can be foretold.
    schedule_type = models.CharField(max_length=20, blank=True, default="")
    sync_frequency = models.PositiveIntegerField(null=True, blank=True, help_text="minutes")
    daily_sync_time = models.CharField(max_length=5, blank=True, default="", help_text="HH:MM UTC")
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    is_historical_sync = models.BooleanField(default=False)
    rescheduled_for = models.DateTimeField(null=True, blank=True)
    # [{"code": ..., "message": ...}]: what Fivetran asks the user to do, and what it warns about.
    tasks = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    status_checked_at = models.DateTimeField(null=True, blank=True)
    # What people read, derived from the fields above (integrations.connection.health).
    health = models.CharField(max_length=20, choices=Health.choices, default=Health.NOT_SET_UP)
    health_reason = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name} ({self.service})"


class SetupStep(models.Model):
    """One step of an integration's set-up, as its watchers see it. Its workflow (Temporal) runs it."""

    State = _choices("State", StepState, STEP_STATE_LABELS)

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=50)
    position = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    attempt = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveIntegerField(null=True, blank=True)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    progress_unit = models.CharField(max_length=30, blank=True, default="")
    message = models.TextField(blank=True, default="")
    error_code = models.CharField(max_length=100, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # A step's own bookkeeping between runs (poll interval, failures seen, ...).
    scratch = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["integration_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "name"], name="unique_step_per_integration")
        ]

    def __str__(self) -> str:
        return f"{self.integration_id}:{self.name}:{self.state}"


class IntegrationEvent(models.Model):
    """The durable record of every event sent to watchers; replays come from here."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=50)
    time = models.DateTimeField()
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["integration_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "seq"], name="unique_event_seq")
        ]


class CurrentTables(models.Manager):
    """Tables still synced and in BigQuery: what pages, counts and events mean by an integration's tables."""

    def get_queryset(self):
        return super().get_queryset().filter(gone_at__isnull=True)


class Table(models.Model):
    """A BigQuery table an integration produced. A table that is no longer synced or no longer in
    BigQuery is marked gone, not deleted: its history stays, and it comes back if it lands again."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="tables")
    project = models.CharField(max_length=100)
    dataset = models.CharField(max_length=1024)
    name = models.CharField(max_length=1024)
    num_rows = models.BigIntegerField(null=True, blank=True)
    num_bytes = models.BigIntegerField(null=True, blank=True)
    modified = models.DateTimeField(null=True, blank=True)
    # [{"name": ..., "type": ...}] with BigQuery's standard SQL type names.
    columns = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = CurrentTables()
    all_objects = models.Manager()  # gone ones too

    class Meta:
        ordering = ["dataset", "name"]
        base_manager_name = "all_objects"
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "dataset", "name"], name="unique_table_per_integration"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project}.{self.dataset}.{self.name}"


class Sync(models.Model):
    """One Fivetran sync of an integration's connection, from its sync_start and sync_end webhooks."""

    Status = _choices("Status", SyncStatus, SYNC_STATUS_LABELS)

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="syncs")
    # Fivetran's id of the sync, shared by its sync_start and sync_end; blank when a webhook had none.
    sync_id = models.CharField(max_length=100, blank=True, default="")
    # Fivetran's times (the webhooks' `created`); started_at stays empty when the start was missed.
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    # Fivetran's own words for how the sync ended (its sync_end's `reason`), never ours.
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["integration_id", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "sync_id"],
                condition=~models.Q(sync_id=""),
                name="unique_sync_id_per_integration",
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration_id}:{self.sync_id or self.pk}:{self.status}"
