"""Bench: registering 10,000 tables of one dataset, bulk (TableStore) against one row at a time.

    python -m bench.register_tables [--tables 10000] [--standin-tables 1100]

Runs on SQLite in a temporary VAR_DIR. The database half is fed table metadata directly (what
`register_tables` hands it page by page); a full run through the BigQuery stand-in follows with
fewer tables (BigQuery calls dominate there, not SQL). Target: bulk ≥ 20× faster than naive,
and O(1) SQL statements per page of 1,000 tables.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warehouse.tables import TableMetadata

TARGET_SPEEDUP = 20.0
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _setup_django(var_dir: Path, bigquery_endpoint: str | None) -> None:
    os.environ["VAR_DIR"] = str(var_dir)
    os.environ["DATABASE_URL"] = f"sqlite:///{var_dir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gyana.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    if bigquery_endpoint:
        os.environ["BIGQUERY_API_ENDPOINT"] = bigquery_endpoint
        os.environ["BIGQUERY_PROJECT"] = "local-project"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


class _StatementCounter(logging.Handler):
    """Counts SQL statements from django.db.backends' debug log: every thread, no 9,000 cap."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements = 0
        self.total = 0

    def emit(self, record):
        sql = getattr(record, "sql", None)
        if sql is None:
            return
        self.total += 1
        if not str(sql).lstrip().upper().startswith(_CONTROL):
            self.statements += 1


def _metadata(count: int):
    from warehouse.tables import TableMetadata

    modified = datetime(2024, 1, 1, tzinfo=timezone.utc)
    columns = (("id", "INT64"), ("name", "STRING"), ("_fivetran_synced", "TIMESTAMP"))
    return [
        TableMetadata("bench_dataset", f"table_{index:05d}", index * 10, index * 1024,
                      modified + timedelta(seconds=index), columns)
        for index in range(count)
    ]


def _integration(label: str):
    from integrations.models import Integration
    from teams.models import Team

    team = Team.objects.create(name=f"bench {label}")
    return Integration.objects.create(team=team, service="postgres", name=label, schema_name=f"bench_{label}")


def _measure(function):
    """(seconds, SQL statements without BEGIN/COMMIT, all statements, result) of one call."""
    from django.db import connection

    counter = _StatementCounter()
    logger = logging.getLogger("django.db.backends")
    previous, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(counter)
    forced = connection.force_debug_cursor
    connection.force_debug_cursor = True
    try:
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
    finally:
        connection.force_debug_cursor = forced
        logger.removeHandler(counter)
        logger.setLevel(previous)
        logger.propagate = propagate
    return elapsed, counter.statements, counter.total, result


def bench_database(count: int) -> float:
    from integrations.models import Table
    from integrations.state.tables import TableStore

    metadata = _metadata(count)
    pages = list(metadata_pages(metadata))

    def bulk(integration):
        def run():
            store = TableStore(integration, "local-project")
            written = sum(store.save_page(page) for page in pages)
            store.remove_unseen()
            return written
        return run

    def naive(integration):
        def run():
            for meta in metadata:
                Table.objects.update_or_create(
                    integration=integration, dataset=meta.dataset, name=meta.name,
                    defaults={"project": "local-project", "num_rows": meta.num_rows, "num_bytes": meta.num_bytes,
                              "modified": meta.modified, "columns": meta.column_dicts()},
                )
            return count
        return run

    bulk_integration = _integration("bulk")
    bulk_time, bulk_statements, bulk_total, written = _measure(bulk(bulk_integration))
    rerun_time, rerun_statements, _, rewritten = _measure(bulk(bulk_integration))
    naive_time, naive_statements, naive_total, _ = _measure(naive(_integration("naive")))
    assert Table.objects.filter(integration=bulk_integration).count() == count == written
    assert rewritten == 0

    speedup = naive_time / bulk_time
    print(f"database half, {count:,} tables in {len(pages)} pages of up to 1,000 (SQLite):")
    print(f"  bulk (TableStore)      {bulk_time:8.3f} s  {bulk_statements:6,} SQL statements "
          f"({bulk_total:,} with BEGIN/COMMIT), {bulk_statements / len(pages):.1f} per page")
    print(f"  bulk re-run, no change {rerun_time:8.3f} s  {rerun_statements:6,} SQL statements")
    print(f"  naive update_or_create {naive_time:8.3f} s  {naive_statements:6,} SQL statements ({naive_total:,} in all)")
    print(f"  speed-up {speedup:.1f}x (target >= {TARGET_SPEEDUP:.0f}x): {'OK' if speedup >= TARGET_SPEEDUP else 'BELOW TARGET'}")
    return speedup


def bench_full_run(count: int, endpoint: str) -> None:
    from asgiref.sync import async_to_sync
    from google.cloud import bigquery

    from integrations.state.tables import register_tables
    from warehouse.bigquery import bigquery_client, call_options

    integration = _integration("full")
    dataset = integration.schema_name
    client = bigquery_client()
    client.create_dataset(dataset, **call_options())
    schema = [bigquery.SchemaField("id", "INT64"), bigquery.SchemaField("_fivetran_synced", "TIMESTAMP")]
    started = time.perf_counter()
    for index in range(count):
        client.create_table(bigquery.Table(f"{client.project}.{dataset}.table_{index:05d}", schema=schema),
                            **call_options())
    client.create_table(bigquery.Table(f"{client.project}.{dataset}.fivetran_audit", schema=schema), **call_options())
    client.close()
    setup = time.perf_counter() - started
    expected = {dataset: [f"table_{index:05d}" for index in range(count)]}
    progress: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        progress.append((done, total))

    def run():
        return async_to_sync(register_tables)(integration, expected, on_progress=on_progress)

    elapsed, statements, _, registration = _measure(run)
    assert len(registration.registered) == count and not registration.missing
    print(f"full run through the stand-in at {endpoint}: {count:,} tables (+ fivetran_audit, ignored)")
    print(f"  created in {setup:.1f} s; registered in {elapsed:.2f} s "
          f"({count / elapsed:,.0f} tables/s, {statements} SQL statements, progress reports {len(progress)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.register_tables")
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--standin-tables", type=int, default=1_100, help="0 skips the stand-in run")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-register-") as tmp:
        var_dir = Path(tmp)
        standin = None
        if args.standin_tables:
            from standins.bigquery.server import start_standin

            standin = start_standin(_free_port(), var_dir / "bigquery", "local-project")
        try:
            _setup_django(var_dir, standin.endpoint if standin else None)
            speedup = bench_database(args.tables)
            if standin:
                bench_full_run(args.standin_tables, standin.endpoint)
        finally:
            if standin:
                standin.stop()
    return 0 if speedup >= TARGET_SPEEDUP else 1


if __name__ == "__main__":
    sys.exit(main())


def metadata_pages(metadata: Iterable[TableMetadata], size: int = 1000) -> Iterator[list[TableMetadata]]:
    """Split metadata into BigQuery tables.list-sized pages, as `register_tables` sees them."""
    page: list[TableMetadata] = []
    for meta in metadata:
        page.append(meta)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
