"""The set-up's rows for staff: mostly to look at, since the flow engine owns them.

The step rows are the workers' queue and the event rows are what watchers replay, so a hand edit
would bypass both: steps, events, tables and syncs are read-only here, and so is the mirror of
Fivetran's connection (an edit would be overwritten by the next look at Fivetran anyway). Integrations are neither added
(the flow creates them with their steps) nor deleted here (deleting one must delete its Fivetran
connection first: the integrations page or DELETE /api/integrations/<id>/ do that); only the name
is editable.

For support, each integration links to its connection in Fivetran's dashboard, to its workflow in
Temporal's Web UI, and to its syncs and events here (the event list is its whole history, read-only).
"""

from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from connectors.fivetran import dashboard_url
from gyana.temporal.web_ui import workflow_url
from integrations.engine.messages import workflow_id
from integrations.models import Integration, IntegrationEvent, SetupStep, Sync, Table

RECENT_SYNCS = 10


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SetupStepInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SetupStep
    fields = ["position", "name", "state", "attempt", "started_at", "finished_at", "error_code", "message"]
    readonly_fields = fields
    ordering = ["position"]
    extra = 0
    show_change_link = True


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = [
        "name", "service", "team", "state", "health", "connection_id", "table_count", "created_by", "created_at",
        "fivetran_link", "temporal_link",
    ]
    list_filter = ["state", "health", "service", "created_at"]
    list_select_related = ["team", "created_by"]
    search_fields = ["name", "service", "connection_id", "schema_name", "team__name", "created_by__username"]
    date_hierarchy = "created_at"
    fields = [
        "name", "fivetran_link", "temporal_link", "syncs_and_events", "recent_syncs",
        "team", "service", "state", "connection_id", "schema_name", "created_by", "created_at",
        "updated_at", "completed_at", "baseline_succeeded_at", "baseline_failed_at", "connect_card_uri",
        "connect_card_issued_at", "selection", "source_schema", "destination_tables", "last_seq",
        # Fivetran's connection as last read, and the health it gives.
        "health", "health_reason", "status_checked_at", "setup_state", "sync_state", "update_state", "paused",
        "schedule_type", "sync_frequency", "daily_sync_time", "succeeded_at", "failed_at", "is_historical_sync",
        "rescheduled_for", "tasks", "warnings",
    ]
    readonly_fields = [name for name in fields if name != "name"]
    inlines = [SetupStepInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(table_count=Count("tables"))

    @admin.display(description="tables", ordering="table_count")
    def table_count(self, integration):
        return integration.table_count

    @admin.display(description="Fivetran")
    def fivetran_link(self, integration):
        if not integration.connection_id:
            return "—"  # not created in Fivetran yet
        url = dashboard_url(service=integration.service, schema=integration.schema_name, group_id=settings.FIVETRAN_GROUP_ID)
        return format_html('<a href="{}" target="_blank" rel="noopener">Open in Fivetran</a>', url)

    @admin.display(description="Temporal workflow")
    def temporal_link(self, integration):
        workflow = workflow_id(integration.pk, integration.schema_name)
        url = workflow_url(workflow)
        if url is None:
            return workflow  # no Web UI address known (TEMPORAL_UI_URL): the id, for `temporal workflow show`
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, workflow)

    @admin.display(description="Syncs and events")
    def syncs_and_events(self, integration):
        syncs = reverse("admin:integrations_sync_changelist")
        events = reverse("admin:integrations_integrationevent_changelist")
        return format_html(
            '<a href="{}?integration__id__exact={}">All syncs</a> · <a href="{}?integration__id__exact={}">All events</a>',
            syncs, integration.pk, events, integration.pk,
        )

    @admin.display(description="Recent syncs")
    def recent_syncs(self, integration):
        syncs = integration.syncs.order_by("-created_at")[:RECENT_SYNCS]
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((s.sync_id or "—", s.get_status_display(), s.started_at or "—", s.ended_at or "—", s.reason) for s in syncs),
        )
        if not rows:
            return "None yet"
        return format_html(
            "<table><thead><tr><th>Fivetran sync id</th><th>Status</th><th>Started</th><th>Ended</th><th>Reason</th></tr>"
            "</thead><tbody>{}</tbody></table>", rows,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Write only what the form changed: a worker may have moved the state or last_seq since
        # this page loaded, and a full-row save would put the old values back.
        if change:
            obj.save(update_fields=[*form.changed_data, "updated_at"])
        else:
            super().save_model(request, obj, form, change)


@admin.register(SetupStep)
class SetupStepAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["integration", "position", "name", "state", "attempt", "error_code"]
    list_filter = ["state", "name", "error_code"]
    list_select_related = ["integration"]
    search_fields = ["integration__name", "integration__connection_id", "name", "error_code"]


@admin.register(IntegrationEvent)
class IntegrationEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # An append-only log: watchers replay it by seq, so it is never edited or pruned by hand.
    list_display = ["integration", "seq", "type", "time"]
    list_filter = ["type", "time"]
    list_select_related = ["integration"]
    search_fields = ["integration__name", "integration__connection_id", "type", "=uuid"]
    ordering = ["-id"]
    # The log grows with every set-up: skip the extra COUNT(*) of the whole table on each page.
    show_full_result_count = False


@admin.register(Sync)
class SyncAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Fivetran's account of its syncs (its webhooks): an edit here would rewrite what Fivetran said.
    list_display = ["integration", "sync_id", "status", "started_at", "ended_at", "reason"]
    list_filter = ["status", "ended_at", "integration__service"]
    list_select_related = ["integration"]
    search_fields = ["integration__name", "integration__connection_id", "sync_id", "reason"]
    ordering = ["-id"]
    # One row per sync of every connection, for years: skip the COUNT(*) of the whole table.
    show_full_result_count = False


@admin.register(Table)
class TableAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # A copy of what BigQuery reports, reconciled by the register_tables step: an edit here would lie.
    list_display = ["name", "dataset", "project", "integration", "num_rows", "num_bytes", "modified"]
    list_filter = ["project", "modified"]
    list_select_related = ["integration"]
    search_fields = ["name", "dataset", "integration__name"]
    show_full_result_count = False
