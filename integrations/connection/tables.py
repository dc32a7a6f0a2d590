"""Tables follow the warehouse: after a successful sync, the Table rows are refreshed from what
Fivetran now syncs and what BigQuery now holds (in bulk, idempotently: integrations.state.tables),
and one `tables.updated` event says which appeared, which went and whose rows, size or date moved.
The source's schema is re-read at the same time: tables the source gained are announced by one
`schema.changed` event, with those Fivetran's schema_change_handling left for the user to tick."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import transaction

from connectors.catalogue import get_catalogue
from connectors.fivetran import get_client
from integrations.models import Integration, IntegrationEvent, Table
from integrations.state import transitions
from integrations.state.datasets import destination_tables
from integrations.state.events import append_event
from integrations.state.source_schema import new_tables, schema_summary, with_new_enabled
from integrations.state.tables import register_tables
from warehouse.tables import TableMetadata

UPDATED_LISTED = 100


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
    integration, written = await sync_to_async(_schema_seen)(integration.pk, schema_summary(config), expected)
    registration = await register_tables(integration, expected)
    after = {(table.dataset, table.name) for table in registration.registered}
    added, removed = sorted(after - before), sorted(before - after)
    updated = sorted(registration.updated, key=lambda meta: (meta.dataset, meta.name))
    events = {}
    if added or removed or updated:
        data = {
            "count": len(after),
            "added": [{"dataset": dataset, "name": name} for dataset, name in added],
            "removed": [{"dataset": dataset, "name": name} for dataset, name in removed],
            # The first UPDATED_LISTED with their new figures (a frame stays small with 10,000 tables);
            # `updated_count` says how many moved in all.
            "updated": [_figures(meta) for meta in updated[:UPDATED_LISTED]],
            "updated_count": len(updated),
        }
        events["tables.updated"] = data
    return written + (await sync_to_async(_append)(integration.pk, events) if events else [])


@transaction.atomic
def _schema_seen(integration_id: int, summary: dict, expected: dict) -> tuple[Integration, list[IntegrationEvent]]:
    """Keep the source's schema as Fivetran now tells it; tables it gained are told by one
    `schema.changed` event, in the same transaction (a retry finds them known and tells nothing twice).
    Locked and read afresh: a person changing the tables meanwhile (the schema action) is not undone."""
    integration = Integration.objects.select_for_update().get(pk=integration_id)
    gained = new_tables(integration.source_schema, summary) if integration.source_schema is not None else []
    changes = {}
    if expected != integration.destination_tables:
        changes["destination_tables"] = expected
    if summary != integration.source_schema:
        changes["source_schema"] = summary
    if gained and integration.selection is not None:
        changes["selection"] = with_new_enabled(integration.selection, gained)
    if changes:
        integration = transitions.integration_update(integration_id, **changes)
    if not gained:
        return integration, []
    waiting = sum(1 for entry in gained if not entry["enabled"])
    return integration, [append_event(integration_id, "schema.changed", {"added": gained, "waiting": waiting})]


def _figures(meta: TableMetadata) -> dict:
    return {
        "dataset": meta.dataset,
        "name": meta.name,
        "num_rows": meta.num_rows,
        "num_bytes": meta.num_bytes,
        "modified": meta.modified.isoformat() if meta.modified else None,
    }


@transaction.atomic
def _append(integration_id: int, events: dict[str, dict]) -> list[IntegrationEvent]:
    return [append_event(integration_id, kind, data) for kind, data in events.items()]


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
