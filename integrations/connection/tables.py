"""Tables follow the warehouse: after a successful sync, the Table rows are refreshed from what
Fivetran now syncs and what BigQuery now holds (in bulk, idempotently: integrations.state.tables),
and one `tables.updated` event says which appeared and which went."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import transaction

from connectors.catalogue import get_catalogue
from connectors.fivetran import get_client
from integrations.models import Integration, IntegrationEvent, Table
from integrations.state import transitions
from integrations.state.datasets import destination_tables
from integrations.state.events import append_event
from integrations.state.tables import register_tables


async def refresh_tables(integration: Integration) -> list[IntegrationEvent]:
    """After a successful sync: what Fivetran now syncs, and what BigQuery now holds, into the Table
    rows (in bulk); a `tables.updated` event says what changed. Answers the events to publish after
    the commit. Fivetran's errors are the caller's to judge."""
    config = await get_client().get_schema_config(integration.connection_id)
    service = get_catalogue().get(integration.service)
    if service is None:
        return []
    expected = destination_tables(service, integration.schema_name, config)
    before = {(t.dataset, t.name) async for t in Table.objects.filter(integration=integration).only("dataset", "name")}
    if expected != integration.destination_tables:
        integration = await sync_to_async(transitions.integration_update)(integration.pk, destination_tables=expected)
    registration = await register_tables(integration, expected)
    after = {(table.dataset, table.name) for table in registration.registered}
    added, removed = sorted(after - before), sorted(before - after)
    if added or removed:
        data = {
            "count": len(after),
            "added": [{"dataset": dataset, "name": name} for dataset, name in added],
            "removed": [{"dataset": dataset, "name": name} for dataset, name in removed],
        }
        return await sync_to_async(_tables_updated)(integration.pk, data)
    return []


@transaction.atomic
def _tables_updated(integration_id: int, data: dict) -> list[IntegrationEvent]:
    return [append_event(integration_id, "tables.updated", data)]


def source_of(integration: Integration, table: Table) -> tuple[str, str] | None:
    """The source (schema, table) names Fivetran knows a BigQuery table by, from the schema as last
    read; None when the table is not one of the source's (or the schema was never read)."""
    service = get_catalogue().get(integration.service)
    for schema in (integration.source_schema or {}).get("schemas", []):
        prefixed = service is not None and service.requires_schema_prefix
        dataset = f"{integration.schema_name}_{schema['name_in_destination']}" if prefixed else integration.schema_name
        if dataset != table.dataset:
            continue
        for entry in schema["tables"]:
            if entry.get("name_in_destination", entry["name"]) == table.name:
                return schema["name"], entry["name"]
    return None
