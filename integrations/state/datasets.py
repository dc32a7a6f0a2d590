"""Which BigQuery datasets and tables a Fivetran schema config lands (docs/reference/fivetran-api.md §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connectors.catalogue import Service
    from connectors.fivetran import SchemaConfig


def destination_tables(service: Service, schema_name: str, config: SchemaConfig) -> dict[str, list[str]]:
    """{dataset: [table names in the destination]} of the enabled tables."""
    if service.single_table:
        return {schema_name: [service.static_config["table"]]}
    datasets: dict[str, list[str]] = {}
    for schema in config.schemas.values():
        if not schema.enabled:
            continue
        dataset = f"{schema_name}_{schema.name_in_destination}" if service.requires_schema_prefix else schema_name
        names = [table.name_in_destination for table in schema.tables.values() if table.enabled]
        if names:
            bucket = datasets.setdefault(dataset, [])
            bucket.extend(name for name in names if name not in bucket)
    return datasets
