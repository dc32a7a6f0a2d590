"""Notifications for staff: who was told what, when, whether it was read and e-mailed, and the page
it links to. Read-only: they are the record of what was sent."""

from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "user", "team", "integration", "created_at", "read_at", "emailed_at", "open_link"]
    list_filter = [
        "kind",
        ("read_at", admin.EmptyFieldListFilter),
        ("emailed_at", admin.EmptyFieldListFilter),
        "email_wanted",
        "in_app",
        "team",
        "created_at",
    ]
    list_select_related = ["user", "team", "integration"]
    search_fields = ["title", "body", "key", "user__username", "user__email", "integration__name", "team__name"]
    date_hierarchy = "created_at"
    fields = [
        "user", "team", "integration", "kind", "key", "title", "body", "open_link", "created_at", "read_at",
        "in_app", "email_wanted", "email_claimed_at", "emailed_at",
    ]
    readonly_fields = fields

    @admin.display(description="Link")
    def open_link(self, notification: Notification) -> str:
        return format_html('<a href="{}{}">{}</a>', settings.PUBLIC_URL, notification.link, notification.link)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
