"""The table selection a user may make, checked against what Fivetran reported."""


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


def locked_count(source_schema: dict) -> int:
    """Tables Fivetran always syncs: enabled ones the user may not deselect (in enabled schemas)."""
    return sum(
        1
        for schema in source_schema["schemas"]
        if schema["enabled"]
        for table in schema["tables"]
        if table["locked"] and table["enabled"]
    )


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
