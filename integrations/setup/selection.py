"""The table selection a user may make, checked against what Fivetran reported."""

import re

# A reason that is only a code (SYSTEM_TABLE) says nothing to people; a sentence does.
REASON_CODE = re.compile(r"^[A-Z0-9_]+$")


class SelectionError(ValueError):
    pass


def selectable_schemas(source_schema: dict) -> list[dict]:
    """Schemas and tables a user may choose from; tables Fivetran will not let them change are left out."""
    schemas = []
    for schema in source_schema["schemas"]:
        tables = [
            {"name": table["name"], "enabled": table["enabled"]}
            for table in schema["tables"]
            if not table["locked"]
        ]
        if tables:
            schemas.append({"name": schema["name"], "tables": tables})
    return schemas


# Fivetran's reason code for a table that no longer exists at the source.
DELETED = "DELETED"
CHOOSABLE, REQUIRED, UNAVAILABLE = "choosable", "required", "unavailable"


def table_role(schema: dict, table: dict) -> str | None:
    """What the picker does with a table: the user chooses it, Fivetran always syncs it (required),
    Fivetran will not sync it (unavailable), or None: deleted at the source, so not offered at all."""
    if not table["locked"]:
        return CHOOSABLE
    if table.get("reason") == DELETED:
        return None
    return REQUIRED if table["enabled"] and schema["enabled"] else UNAVAILABLE


def picker_schemas(source_schema: dict, *, schema_titles: bool = True) -> list[dict]:
    """Every table the table-selection page shows, with its role and Fivetran's reason for a lock.

    `schema_titles` False: the source has one schema named after our own dataset (an application
    connector), which means nothing to people, so its tables are titled plainly.
    """
    schemas = []
    for schema in source_schema["schemas"]:
        tables = []
        for table in schema["tables"]:
            role = table_role(schema, table)
            if role is None:
                continue
            tables.append(
                {
                    "name": table["name"],
                    "role": role,
                    "checked": table["enabled"] if role == CHOOSABLE else role == REQUIRED,
                    "reason": _reason_words(table.get("reason")) if role != CHOOSABLE else "",
                }
            )
        if tables:
            entry = {"name": schema["name"], "title": schema["name"], "tables": tables}
            entry["counts"] = picker_counts([entry])
            schemas.append(entry)
    if not schema_titles and len(schemas) == 1:
        schemas[0]["title"] = "Tables"
    return schemas


def _reason_words(reason: str | None) -> str:
    return "" if not reason or REASON_CODE.match(reason) else reason


def picker_counts(schemas: list[dict]) -> dict:
    """The one count people see: tables that will be synced (chosen plus required), of those offered."""
    tables = [table for schema in schemas for table in schema["tables"] if table["role"] != UNAVAILABLE]
    return {
        "synced": sum(1 for table in tables if table["checked"]),
        "offered": len(tables),
        "required": sum(1 for table in tables if table["role"] == REQUIRED),
    }


def deleted_count(source_schema: dict) -> int:
    return sum(
        1 for schema in source_schema["schemas"] for table in schema["tables"] if table_role(schema, table) is None
    )


def required_tables(source_schema: dict) -> list[dict]:
    """Tables Fivetran always syncs, with its reason: the JSON API's `required_tables`."""
    return [
        {"schema": schema["name"], "name": table["name"], "reason": table.get("reason") or ""}
        for schema in source_schema["schemas"]
        for table in schema["tables"]
        if table_role(schema, table) == REQUIRED
    ]


def locked_count(source_schema: dict) -> int:
    """Tables Fivetran always syncs: enabled ones the user may not deselect (in enabled schemas),
    not counting those deleted at the source."""
    return len(required_tables(source_schema))


def validate_selection(source_schema: dict, selected) -> dict[str, list[str]]:
    if not isinstance(selected, dict) or not all(
        isinstance(tables, list) and all(isinstance(name, str) for name in tables) for tables in selected.values()
    ):
        raise SelectionError('"selected" must map each schema name to a list of table names.')
    choosable = {schema["name"]: {t["name"] for t in schema["tables"]} for schema in selectable_schemas(source_schema)}
    known = {schema["name"]: {t["name"] for t in schema["tables"]} for schema in source_schema["schemas"]}
    clean = {}
    for schema, tables in selected.items():
        if schema not in known:
            raise SelectionError(f"Unknown schema {schema!r}.")
        for table in tables:
            if table not in known[schema]:
                raise SelectionError(f"Unknown table {table!r} in schema {schema!r}.")
            if table not in choosable.get(schema, set()):
                raise SelectionError(f"Table {schema}.{table} is always synced by Fivetran and cannot be chosen.")
        if tables:
            clean[schema] = sorted(set(tables))
    if not clean:
        raise SelectionError("Choose at least one table.")
    return clean
