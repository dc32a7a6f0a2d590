"""What landed in BigQuery: listing datasets and reading table metadata, as plain data.

Every call has a bounded retry and timeout and runs off the event loop. This module knows nothing
of the product's models: `integrations.state.tables` stores what it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from warehouse.bigquery import bigquery_client, call_options

# BigQuery's own maximum page for tables.list.
LIST_PAGE_SIZE = 1000
METADATA_WORKERS = 8

# BigQuery answers legacy SQL names in table schemas; we store standard SQL ones.
_STANDARD_SQL_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}



def standard_sql_type(field_type: str) -> str:
    upper = field_type.upper()
    return _STANDARD_SQL_TYPES.get(upper, upper)


def is_system_table(name: str) -> bool:
    """Fivetran's own tables (fivetran_audit, fivetran_audit_warning, ...): never the user's data."""
    return name.lower().startswith("fivetran_")


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


@dataclass(frozen=True)
class LandedPage:
    """One page of a dataset's listing: the expected tables found on it, with their metadata.

    A dataset's last page also names the expected tables BigQuery does not have (yet)."""

    project: str
    dataset: str
    tables: list[TableMetadata]
    missing: tuple[str, ...] = ()


def expected_count(expected: Mapping[str, Collection[str]]) -> int:
    return sum(len(names) for names in _wanted(expected).values())


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


async def newly_landed(expected: Mapping[str, Collection[str]], known: Collection[str]) -> list[TableMetadata]:
    """Expected tables that exist in BigQuery now and are not in `known` ("dataset.table"), with their
    metadata: one listing per dataset page, and one tables.get per newly landed table only."""
    wanted = _wanted(expected)
    client = await asyncio.to_thread(bigquery_client)  # credentials may read files or the network
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=METADATA_WORKERS, thread_name_prefix="bq-landing")
    try:
        found: list[TableMetadata] = []
        for dataset in sorted(wanted):
            names = wanted[dataset]
            async for page in _pages(client, f"{client.project}.{dataset}"):
                references = [
                    f"{client.project}.{dataset}.{item.table_id}"
                    for item in page
                    if item.table_id in names and f"{dataset}.{item.table_id}" not in known
                ]
                metadata = await asyncio.gather(
                    *(loop.run_in_executor(pool, _get_metadata, client, reference) for reference in references)
                )
                found.extend(meta for meta in metadata if meta is not None)
        return found
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(client.close)


async def landed_tables(expected: Mapping[str, Collection[str]]) -> AsyncIterator[LandedPage]:
    """Page through each expected dataset; read each expected table's metadata in a small pool.

    `expected` is {dataset: [table names]}; Fivetran's own tables are left out.
    """
    wanted = _wanted(expected)
    client = await asyncio.to_thread(bigquery_client)  # credentials may read files or the network
    project = client.project
    loop = asyncio.get_running_loop()
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
                found.update(meta.name for meta in landed)
                yield LandedPage(project, dataset, landed)
            absent = tuple(sorted(names - found))
            if absent:
                yield LandedPage(project, dataset, [], missing=absent)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(client.close)


PREVIEW_ROWS = 50


@dataclass(frozen=True)
class Preview:
    columns: list[str]
    rows: list[list]


async def preview_rows(reference: str, limit: int = PREVIEW_ROWS) -> Preview:
    """The first `limit` rows of `project.dataset.table`, read with tabledata.list (no query cost)."""

    def read() -> Preview:
        client = bigquery_client()
        try:
            rows = client.list_rows(reference, max_results=limit, **call_options())
            values = [list(row.values()) for row in rows]
            return Preview(columns=[field.name for field in rows.schema], rows=values)
        finally:
            client.close()

    return await asyncio.to_thread(read)
