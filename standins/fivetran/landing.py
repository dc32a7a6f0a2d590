"""Which tables a sync lands in the destination, and in what shape (docs/reference/fivetran-api.md §5)."""

from __future__ import annotations

from typing import Any

from .columns import full_columns, source_tables
from .samples import row_count
from .services import ServiceInfo
from .writer import LandedTable


def _dataset(service: ServiceInfo, connection: dict[str, Any], schema_doc: dict[str, Any]) -> str:
    config = connection["config"]
    if service.is_database:
        return f"{config['schema_prefix']}_{schema_doc['name_in_destination']}"
    return config["schema"]


def tables_to_land(
    service: ServiceInfo, connection: dict[str, Any], schema_config: dict[str, Any], scope: dict[str, list[str]] | None = None
) -> list[LandedTable]:
    """The enabled tables of enabled schemas (restricted to `scope` for a scoped resync), in source order."""
    source = source_tables(service, connection)
    landed = []
    for schema_name, schema_doc in schema_config["schemas"].items():
        if not schema_doc["enabled"]:
            continue
        for table_name, table_doc in schema_doc["tables"].items():
            if not table_doc["enabled"]:
                continue
            if scope is not None and table_name not in scope.get(schema_name, ()):
                continue
            # The schema config lists only edited columns; every other source column follows its table.
            source_table = source.get((schema_name, table_name))
            types = dict(source_table.columns) if source_table else {}
            columns = [
                (column["name_in_destination"], types.get(column_name, "STRING"))
                for column_name, column in full_columns(source_table, table_doc).items()
                if column["enabled"]
            ]
            if service.is_database or table_doc.get("sync_mode") == "SOFT_DELETE":
                columns.append(("_fivetran_deleted", "BOOL"))
            columns.append(("_fivetran_synced", "TIMESTAMP"))
            landed.append(
                LandedTable(
                    connection_id=connection["id"],
                    service=service.id,
                    dataset=_dataset(service, connection, schema_doc),
                    table=table_doc["name_in_destination"],
                    columns=tuple(columns),
                    row_count=source_table.rows if source_table and source_table.rows is not None
                    else row_count(service.id, schema_name, table_name),
                )
            )
    return landed
