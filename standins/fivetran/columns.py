"""A table's columns: the source's columns, with the settings a user has made laid over them.

Fivetran's schema config lists only the columns whose state a user has set; unedited columns follow
their table and are omitted (docs/developer-resources/rest-api/api-reference/connection-schema/
connection-schema-config). The full list comes from GET …/schemas/{schema}/tables/{table}/columns
(…/connection-schema/connection-column-config), which reads the source: here, the sample source.
"""

from __future__ import annotations

from typing import Any

from .samples import SampleTable, connection_source, destination_name
from .services import ServiceInfo

PRIMARY_KEY_REASON = "The column does not support exclusion as it is a Primary Key"

SourceTables = dict[tuple[str, str], SampleTable]


def source_tables(service: ServiceInfo, connection: dict[str, Any]) -> SourceTables:
    """Every (schema, table) the connection's source holds now."""
    return {(schema.name, table.name): table for schema in connection_source(service, connection) for table in schema.tables}


def default_column(name: str, *, primary_key: bool) -> dict[str, Any]:
    """A column as the source presents it before anyone edits it; the primary key cannot be excluded."""
    settings: dict[str, Any] = {"allowed": True}
    if primary_key:
        settings = {"allowed": False, "reason_code": "SYSTEM_COLUMN", "reason": PRIMARY_KEY_REASON}
    return {
        "name_in_destination": destination_name(name),
        "enabled": True,
        "hashed": False,
        "is_primary_key": primary_key,
        "enabled_patch_settings": settings,
    }


def source_defaults(table: SampleTable | None) -> dict[str, dict[str, Any]]:
    if table is None:
        return {}
    return {name: default_column(name, primary_key=index == 0) for index, (name, _type) in enumerate(table.columns)}


def full_columns(table: SampleTable | None, table_doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """All columns of a table, in source order, each with the user's setting if there is one."""
    edited = table_doc.get("columns") or {}
    columns = source_defaults(table)
    for name, column in edited.items():
        columns[name] = column
    return columns
