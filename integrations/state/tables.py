"""The `Table` rows of an integration: what landed in BigQuery, stored in bulk and idempotently.

Upsert one page of metadata with one statement, skip rows that did not change (a re-run writes
nothing), delete rows of tables that disappeared. The BigQuery half is `warehouse.tables`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.utils import timezone

from integrations.models import Integration, Table
from warehouse.tables import TableMetadata, expected_count, landed_tables

DELETE_CHUNK = 500

ProgressCallback = Callable[[int, int], Awaitable[None]]


@dataclass
class Registration:
    registered: list[Table]
    missing: list[str]  # "dataset.table" of enabled tables not in BigQuery (yet)
    updated: list[TableMetadata]  # tables listed before whose rows, size, last change or columns moved


class TableStore:
    """The database half of registration, for one integration. Synchronous: call off the loop."""

    def __init__(self, integration: Integration, project: str):
        self.integration = integration
        self.project = project
        self.seen: set[tuple[str, str]] = set()
        self.updated: list[TableMetadata] = []  # tables already listed whose rows, size or date moved
        # Gone ones too: a table that lands again is the same row, back (its gone_at cleared).
        self._existing = {
            (dataset, name): (pk, (project_, num_rows, num_bytes, modified, columns), gone_at is not None)
            for pk, dataset, name, project_, num_rows, num_bytes, modified, columns, gone_at in Table.all_objects.filter(
                integration=integration
            ).values_list("pk", "dataset", "name", "project", "num_rows", "num_bytes", "modified", "columns", "gone_at")
        }

    def save_page(self, page: Sequence[TableMetadata]) -> int:
        """Create or update the page's changed rows with one upsert statement; returns how many."""
        changed = []
        for meta in page:
            key = (meta.dataset, meta.name)
            self.seen.add(key)
            values = (self.project, meta.num_rows, meta.num_bytes, meta.modified, meta.column_dicts())
            existing = self._existing.get(key)
            if existing is None or existing[1] != values or existing[2]:
                changed.append(meta)
                if existing is not None and not existing[2]:
                    self.updated.append(meta)
        if changed:
            self._upsert(changed)
        return len(changed)

    def _upsert(self, page: Sequence[TableMetadata]) -> None:
        # One prepared INSERT ... ON CONFLICT DO UPDATE executed for the page (SQLite and
        # PostgreSQL). bulk_create(update_conflicts=True) does the same but spends ~90% of its time
        # compiling every value in Python and, on SQLite, splits a page into 99-row statements.
        ops = connection.ops
        columns_field = Table._meta.get_field("columns")
        now = ops.adapt_datetimefield_value(timezone.now())
        rows = [
            (self.integration.pk, self.project, meta.dataset, meta.name, meta.num_rows, meta.num_bytes,
             ops.adapt_datetimefield_value(meta.modified),
             columns_field.get_db_prep_save(meta.column_dicts(), connection), now, now, None)
            for meta in page
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(_upsert_sql(), rows)

    def remove_unseen(self) -> int:
        """Mark gone the tables this run did not see (gone from BigQuery or no longer enabled); their
        rows stay (BigQuery keeps a disabled table's data). Returns how many went now."""
        stale = [pk for key, (pk, _values, gone) in self._existing.items() if key not in self.seen and not gone]
        now = timezone.now()
        for start in range(0, len(stale), DELETE_CHUNK):
            Table.all_objects.filter(pk__in=stale[start : start + DELETE_CHUNK]).update(gone_at=now)
        return len(stale)

    def registered(self) -> list[Table]:
        return list(Table.objects.filter(integration=self.integration))


@functools.cache
def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    field = Table._meta.get_field
    names = ["integration", "project", "dataset", "name", "num_rows", "num_bytes", "modified", "columns",
             "created_at", "updated_at", "gone_at"]
    columns = [quote(field(name).column) for name in names]
    key = columns[:1] + columns[2:4]
    updated = [column for column in columns[1:] if column not in key and column != quote("created_at")]
    return (
        f"INSERT INTO {quote(Table._meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in updated)
    )


async def register_tables(
    integration: Integration,
    expected: Mapping[str, Collection[str]],
    *,
    on_progress: ProgressCallback | None = None,
) -> Registration:
    """Create/update the integration's `Table` rows from BigQuery; delete rows of vanished tables.

    `expected` is `destination_tables(...)`. Progress counts expected tables settled (registered,
    or known missing once their dataset is fully listed): `on_progress(done, total)` once at the
    start and after each page, ending at (total, total).
    """
    total = expected_count(expected)
    done = 0
    missing: list[str] = []
    store: TableStore | None = None

    async def report() -> None:
        if on_progress is not None:
            await on_progress(done, total)

    await report()
    async for page in landed_tables(expected):
        if store is None:
            store = await sync_to_async(TableStore)(integration, page.project)
        await sync_to_async(store.save_page)(page.tables)
        missing.extend(f"{page.dataset}.{name}" for name in page.missing)
        done += len(page.tables) + len(page.missing)
        await report()
    if store is None:  # nothing expected: every row left is stale
        store = await sync_to_async(TableStore)(integration, "")
    await sync_to_async(store.remove_unseen)()
    registered = await sync_to_async(store.registered)()
    return Registration(registered=registered, missing=missing, updated=store.updated)
