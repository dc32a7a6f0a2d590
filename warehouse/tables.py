"""What an integration produced in BigQuery, and its `Table` rows.

Two halves, so each can be run and measured alone:
- BigQuery (`register_tables`, `count_landed`): page through `tables.list` per dataset, keep the
  enabled tables, read each one's metadata with `tables.get` in a small thread pool. Every call
  has a bounded retry and timeout and runs off the event loop.
- Database (`TableStore`): upsert one page of metadata with one bulk statement, skip rows that
  did not change (a re-run writes nothing), delete rows of tables that disappeared.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.utils import timezone
from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from integrations.models import Integration, Table
from warehouse.bigquery import bigquery_client, call_options

if TYPE_CHECKING:
    from connectors.catalogue import Service
    from connectors.fivetran import SchemaConfig

# BigQuery's own maximum page for tables.list.
LIST_PAGE_SIZE = 1000
METADATA_WORKERS = 8
DELETE_CHUNK = 500

# BigQuery answers legacy SQL names in table schemas; we store standard SQL ones.
_STANDARD_SQL_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}

ProgressCallback = Callable[[int, int], Awaitable[None]]


def standard_sql_type(field_type: str) -> str:
    upper = field_type.upper()
    return _STANDARD_SQL_TYPES.get(upper, upper)


def is_system_table(name: str) -> bool:
    """Fivetran's own tables (fivetran_audit, fivetran_audit_warning, ...): never the user's data."""
    return name.lower().startswith("fivetran_")


def destination_tables(service: Service, schema_name: str, config: SchemaConfig) -> dict[str, list[str]]:
    """{dataset: [table names in the destination]} of the enabled tables (docs/reference/fivetran-api.md §5)."""
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


@dataclass(frozen=True)
class TableMetadata:
    """One landed table as read from BigQuery."""

    dataset: str
    name: str
    num_rows: int | None
    num_bytes: int | None
    modified: datetime | None
    columns: tuple[tuple[str, str], ...]

    @classmethod
    def from_bigquery(cls, table: bigquery.Table) -> TableMetadata:
        columns = tuple(
            (field.name, f"ARRAY<{standard_sql_type(field.field_type)}>" if field.mode == "REPEATED"
             else standard_sql_type(field.field_type))
            for field in table.schema
        )
        return cls(table.dataset_id, table.table_id, table.num_rows, table.num_bytes, table.modified, columns)

    def column_dicts(self) -> list[dict[str, str]]:
        return [{"name": name, "type": type_} for name, type_ in self.columns]


@dataclass
class Registration:
    registered: list[Table]
    missing: list[str]  # "dataset.table" of enabled tables not in BigQuery (yet)


class TableStore:
    """The database half of registration, for one integration. Synchronous: call off the loop."""

    def __init__(self, integration: Integration, project: str):
        self.integration = integration
        self.project = project
        self.seen: set[tuple[str, str]] = set()
        self._existing = {
            (dataset, name): (pk, (project_, num_rows, num_bytes, modified, columns))
            for pk, dataset, name, project_, num_rows, num_bytes, modified, columns in Table.objects.filter(
                integration=integration
            ).values_list("pk", "dataset", "name", "project", "num_rows", "num_bytes", "modified", "columns")
        }

    def save_page(self, page: Sequence[TableMetadata]) -> int:
        """Create or update the page's changed rows with one upsert statement; returns how many."""
        changed = []
        for meta in page:
            key = (meta.dataset, meta.name)
            self.seen.add(key)
            values = (self.project, meta.num_rows, meta.num_bytes, meta.modified, meta.column_dicts())
            existing = self._existing.get(key)
            if existing is None or existing[1] != values:
                changed.append(meta)
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
             columns_field.get_db_prep_save(meta.column_dicts(), connection), now, now)
            for meta in page
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(_upsert_sql(), rows)

    def remove_unseen(self) -> int:
        """Delete the rows of tables this run did not see (gone from BigQuery or no longer enabled)."""
        stale = [pk for key, (pk, _values) in self._existing.items() if key not in self.seen]
        for start in range(0, len(stale), DELETE_CHUNK):
            Table.objects.filter(pk__in=stale[start : start + DELETE_CHUNK]).delete()
        return len(stale)

    def registered(self) -> list[Table]:
        return list(Table.objects.filter(integration=self.integration))


@functools.cache
def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    field = Table._meta.get_field
    names = ["integration", "project", "dataset", "name", "num_rows", "num_bytes", "modified", "columns",
             "created_at", "updated_at"]
    columns = [quote(field(name).column) for name in names]
    key = columns[:1] + columns[2:4]
    updated = [column for column in columns[1:] if column not in key and column != quote("created_at")]
    return (
        f"INSERT INTO {quote(Table._meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{column} = excluded.{column}" for column in updated)
    )


def _wanted(expected: Mapping[str, Collection[str]]) -> dict[str, set[str]]:
    return {dataset: {name for name in names if not is_system_table(name)} for dataset, names in expected.items()}


def _list_pages(client: bigquery.Client, dataset: str) -> Iterator[list[bigquery.table.TableListItem]]:
    """Pages of tables.list, each one HTTP call; nothing when the dataset does not exist."""
    iterator = client.list_tables(dataset, page_size=LIST_PAGE_SIZE, **call_options())
    pages = iterator.pages
    while True:
        try:
            page = next(pages)
        except StopIteration:
            return
        except NotFound:
            return
        yield list(page)


async def _pages(client: bigquery.Client, dataset: str):
    """Async iteration over `_list_pages`, each page fetched in a worker thread."""
    pages = _list_pages(client, dataset)
    done = object()
    while (page := await asyncio.to_thread(next, pages, done)) is not done:
        yield page


def _get_metadata(client: bigquery.Client, reference: str) -> TableMetadata | None:
    try:
        return TableMetadata.from_bigquery(client.get_table(reference, **call_options()))
    except NotFound:  # deleted between tables.list and tables.get
        return None


async def count_landed(expected: Mapping[str, Collection[str]]) -> int:
    """How many of the expected tables exist in BigQuery now."""
    client = await asyncio.to_thread(bigquery_client)  # credentials may read files or the network
    try:
        landed = 0
        for dataset, names in _wanted(expected).items():
            if not names:
                continue
            async for page in _pages(client, f"{client.project}.{dataset}"):
                landed += sum(1 for item in page if item.table_id in names)
        return landed
    finally:
        await asyncio.to_thread(client.close)


async def register_tables(
    integration: Integration,
    expected: Mapping[str, Collection[str]],
    *,
    on_progress: ProgressCallback | None = None,
) -> Registration:
    """Create/update the integration's `Table` rows from BigQuery; delete rows of vanished tables.

    `expected` is `destination_tables(...)`. Progress counts expected tables settled (registered,
    or known missing once their dataset is fully listed): `on_progress(done, total)` once at the
    start, after each page and after each dataset, ending at (total, total).
    """
    wanted = _wanted(expected)
    total = sum(len(names) for names in wanted.values())
    done = 0

    async def report() -> None:
        if on_progress is not None:
            await on_progress(done, total)

    client = await asyncio.to_thread(bigquery_client)  # credentials may read files or the network
    project = client.project
    store = await sync_to_async(TableStore)(integration, project)
    missing: list[str] = []
    loop = asyncio.get_running_loop()
    await report()
    try:
        # Not a `with` block: its exit waits for in-flight calls on the event loop's thread.
        pool = ThreadPoolExecutor(max_workers=METADATA_WORKERS, thread_name_prefix="bq-tables")
        try:
            for dataset in sorted(wanted):
                names = wanted[dataset]
                if not names:
                    continue
                found: set[str] = set()
                async for page in _pages(client, f"{project}.{dataset}"):
                    references = [f"{project}.{dataset}.{item.table_id}" for item in page if item.table_id in names]
                    metadata = await asyncio.gather(
                        *(loop.run_in_executor(pool, _get_metadata, client, reference) for reference in references)
                    )
                    landed = [meta for meta in metadata if meta is not None]
                    await sync_to_async(store.save_page)(landed)
                    found.update(meta.name for meta in landed)
                    done += len(landed)
                    await report()
                absent = sorted(names - found)
                missing.extend(f"{dataset}.{name}" for name in absent)
                if absent:
                    done += len(absent)
                    await report()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        await sync_to_async(store.remove_unseen)()
        registered = await sync_to_async(store.registered)()
    finally:
        await asyncio.to_thread(client.close)
    return Registration(registered=registered, missing=missing)


def metadata_pages(metadata: Iterable[TableMetadata], size: int = LIST_PAGE_SIZE) -> Iterator[list[TableMetadata]]:
    """Split metadata into list-sized pages, as `register_tables` sees them (used by the bench)."""
    page: list[TableMetadata] = []
    for meta in metadata:
        page.append(meta)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


PREVIEW_ROWS = 50


@dataclass(frozen=True)
class Preview:
    columns: list[str]
    rows: list[list]


async def preview_rows(table: Table, limit: int = PREVIEW_ROWS) -> Preview:
    """The first `limit` rows of a registered table, read with tabledata.list (no query cost)."""

    def read() -> Preview:
        client = bigquery_client()
        try:
            reference = f"{table.project}.{table.dataset}.{table.name}"
            rows = client.list_rows(reference, max_results=limit, **call_options())
            values = [list(row.values()) for row in rows]
            return Preview(columns=[field.name for field in rows.schema], rows=values)
        finally:
            client.close()

    return await asyncio.to_thread(read)
