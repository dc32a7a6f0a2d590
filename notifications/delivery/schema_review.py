"""A schema change waiting for review. Fivetran has no event for it: after a sync, tables that
appeared in the source since its schema was read are in Fivetran's schema config, disabled, when
the connection's `schema_change_handling` keeps new tables out (BLOCK_ALL, which the table choice
sets, or ALLOW_COLUMNS). The signal is that difference: choosable tables, disabled, that the schema
as read at the set-up (Integration.source_schema) does not have. Its key names the tables, so the
same waiting tables notify once and another new table notifies again."""

from __future__ import annotations

import hashlib

from connectors.fivetran import SchemaConfig
from notifications.delivery.notices import Notice, connection_link
from notifications.kinds import NotificationKind as Kind

# Fivetran's setting in plain words.
HANDLING_WORDS = {
    "BLOCK_ALL": "keeps new schemas, tables and columns out until someone enables them",
    "ALLOW_COLUMNS": "lets new columns in but keeps new schemas and tables out until someone enables them",
}
NAMED_TABLES = 5


def waiting_tables(source_schema: dict | None, config: SchemaConfig) -> list[tuple[str, str]]:
    """(schema, table) of the source's new tables that Fivetran left disabled, in name order."""
    known = {
        (schema["name"], table["name"]) for schema in (source_schema or {}).get("schemas", []) for table in schema["tables"]
    }
    return sorted(
        (schema.name, table.name)
        for schema in config.schemas.values()
        for table in schema.tables.values()
        if not table.enabled and table.patch_allowed and (schema.name, table.name) not in known
    )


def schema_review_notice(integration_id: int, name: str, waiting: list[tuple[str, str]], handling: str | None) -> Notice:
    digest = hashlib.sha256("\n".join(f"{s}.{t}" for s, t in waiting).encode()).hexdigest()[:16]
    named = ", ".join(f"{s}.{t}" for s, t in waiting[:NAMED_TABLES])
    more = f" and {len(waiting) - NAMED_TABLES} more" if len(waiting) > NAMED_TABLES else ""
    rule = HANDLING_WORDS.get(handling or "", "keeps new tables out until someone enables them")
    return Notice(
        Kind.SCHEMA_REVIEW,
        f"integration-{integration_id}:{Kind.SCHEMA_REVIEW.value}:{digest}",
        f"{name}: new tables wait for review",
        f"Fivetran found new tables in the source: {named}{more}. The connection {rule}: "
        "review them on its Schema tab.",
        connection_link(integration_id, "schema"),
    )
