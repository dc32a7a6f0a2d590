"""The source's schema as we keep it (`Integration.source_schema`): what Fivetran last said the source
holds, which tables are enabled, and which ones users may not change. The set-up's table picker, the
Schema tab and the JSON API read it; the set-up writes it first, each look after a sync refreshes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.fivetran import SchemaConfig


def schema_summary(config: SchemaConfig) -> dict:
    """What the table-selection page and the JSON API show; locked tables are kept but flagged."""
    return {
        "schemas": [
            {
                "name": schema.name,
                "name_in_destination": schema.name_in_destination,
                "enabled": schema.enabled,
                "tables": [
                    {
                        "name": table.name,
                        "name_in_destination": table.name_in_destination,
                        "enabled": table.enabled,
                        "locked": not table.patch_allowed,
                        "reason": table.patch_reason,
                    }
                    for table in schema.tables.values()
                ],
            }
            for schema in config.schemas.values()
        ]
    }


def selectable_count(summary: dict) -> int:
    return sum(1 for schema in summary["schemas"] for table in schema["tables"] if not table["locked"])


def new_tables(before: dict | None, after: dict) -> list[dict]:
    """The tables `after` lists that `before` did not: what the source gained since the last read.
    Each as {"schema", "table", "enabled"}; Fivetran's schema_change_handling decided `enabled`."""
    known = {(schema["name"], table["name"]) for schema in (before or {}).get("schemas", []) for table in schema["tables"]}
    return [
        {"schema": schema["name"], "table": table["name"], "enabled": bool(schema["enabled"] and table["enabled"])}
        for schema in after["schemas"]
        for table in schema["tables"]
        if (schema["name"], table["name"]) not in known
    ]


def with_new_enabled(selection: dict | None, added: list[dict]) -> dict | None:
    """The user's last choice plus the new tables Fivetran enabled by itself (ALLOW_ALL), so the Schema
    tab ticks what is really synced. None stays None (the set-up never asked: Fivetran decides)."""
    if selection is None:
        return None
    chosen = {schema: list(tables) for schema, tables in selection.items()}
    for entry in added:
        if entry["enabled"] and entry["table"] not in chosen.setdefault(entry["schema"], []):
            chosen[entry["schema"]].append(entry["table"])
    return chosen
