"""What can notify people, declared once: the kinds, and the words the preferences page, the list
and the admin show for them. Plain Python: importing this loads no Django model."""

from enum import StrEnum


class NotificationKind(StrEnum):
    SETUP_READY = "setup_ready"
    SETUP_FAILED = "setup_failed"
    CONNECTION_BROKEN = "connection_broken"
    SYNCS_FAILING = "syncs_failing"
    SCHEMA_REVIEW = "schema_review"


KIND_LABELS = {
    NotificationKind.SETUP_READY: "A set-up is ready",
    NotificationKind.SETUP_FAILED: "A set-up stopped on a failure",
    NotificationKind.CONNECTION_BROKEN: "A connection needs reconnecting",
    NotificationKind.SYNCS_FAILING: "Syncs keep failing",
    NotificationKind.SCHEMA_REVIEW: "New tables wait for review",
}
KIND_EXPLANATIONS = {
    NotificationKind.SETUP_READY: "The first sync has landed and the tables are in BigQuery.",
    NotificationKind.SETUP_FAILED: "A set-up step failed and waits for someone to retry it.",
    NotificationKind.CONNECTION_BROKEN: "Fivetran lost access to the source and needs the account connected again.",
    NotificationKind.SYNCS_FAILING: "Several syncs in a row failed (how many is a setting of this site).",
    NotificationKind.SCHEMA_REVIEW: "The source has new tables that are not synced until someone enables them.",
}

# The per-user channel group a person's live notifications ring (the notifications socket joins it).
def user_group(user_id: int) -> str:
    return f"notifications.user.{user_id}"
