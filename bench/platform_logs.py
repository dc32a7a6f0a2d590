"""Bench: the Logs query (warehouse.platform_logs) on a big Platform Connector `log` table in the
BigQuery stand-in, beside the naive query without filters, in the same run.

    python -m bench.platform_logs [--rows 1000000] [--connections 500] [--repeat 5] [--read-all]

Its own stand-in, loaded with `--rows` generated lines (syncs of 12-14 lines, every fifth failing,
spread over `--connections` connections) by one load job of NDJSON. Measured, median of `--repeat`:
  product: one connection's first page of 100 (newest first), its 10th page (keyset cursor), its
           errors only (level SEVERE) and one sync's lines, each a parameterised query;
  naive:   the page query without filters (no WHERE: newest 100 lines of every tenant), and with
           --read-all the naive way to get the connection's page without a WHERE: read every row,
           newest first, keep the connection's first 100 in Python (about 100 s a million rows here,
           so left out of the default run, which stays under two minutes).
Bytes scanned: job.total_bytes_processed where the stand-in reports it (it answers 0: said so).
Real BigQuery bills the columns a query reads in every row unless the table is partitioned or
clustered, so there the filters save reading time, not bytes; the ratio printed is time.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

PAGE = 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rows(total: int, connections: int):
    from tests.support.platform_rows import connection_syncs

    per_connection = total // connections
    made = 0
    for number in range(connections):
        want = per_connection if number < connections - 1 else total - made
        for row in connection_syncs(f"conn_{number:05d}", want // 12 + 1):
            if want == 0:
                break
            want -= 1
            made += 1
            yield row


def _timed(repeat: int, run):
    """(median seconds, last result) of `repeat` runs of `run()`."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _bytes(client, sql: str, parameters) -> int | None:
    from google.cloud import bigquery

    from warehouse.bigquery import call_options

    job = client.query(sql, job_config=bigquery.QueryJobConfig(query_parameters=parameters), **call_options(timeout=600))
    job.result(**call_options(timeout=600))
    return job.total_bytes_processed


def run(args) -> None:
    from google.cloud import bigquery

    from standins.bigquery.server import start_standin
    from tests.support.platform_rows import load_log
    from warehouse.bigquery import call_options, make_client
    from warehouse.platform_logs import DEFAULT_DATASET, log_page

    with tempfile.TemporaryDirectory(prefix="bench-platform-logs-") as tmp:
        standin = start_standin(_free_port(), Path(tmp) / "bigquery", "local-project")
        client = make_client("local-project", endpoint=standin.endpoint)
        try:
            started = time.perf_counter()
            loaded = load_log(client, DEFAULT_DATASET, _rows(args.rows, args.connections))
            print(f"loaded {loaded:,} log rows of {args.connections:,} connections in one load job: "
                  f"{time.perf_counter() - started:.1f} s")
            connection = f"conn_{args.connections // 2:05d}"
            table = f"`{client.project}.{DEFAULT_DATASET}.log`"

            def page(**filters):
                return log_page(connection_id=connection, page_size=PAGE, client=client, **filters)

            first_time, first = _timed(args.repeat, page)
            cursor = first.next_cursor
            for _ in range(8):
                cursor = page(cursor=cursor).next_cursor
            deep_time, _deep = _timed(args.repeat, lambda: page(cursor=cursor))
            severe_time, severe = _timed(args.repeat, lambda: page(level="SEVERE"))
            one_sync = first.lines[0].sync_id
            sync_time, _sync = _timed(args.repeat, lambda: page(sync_id=one_sync))

            columns = "id, time_stamp, event, message_event, message_data, sync_id, connection_id"
            naive_sql = f"SELECT {columns} FROM {table} ORDER BY time_stamp DESC, id DESC"

            def naive_page():
                job = client.query(f"{naive_sql} LIMIT {PAGE + 1}", **call_options(timeout=600))
                return list(job.result(**call_options(timeout=600)))

            def read_all():
                kept = []
                rows = client.query(naive_sql, **call_options(timeout=600)).result(page_size=10_000, **call_options(timeout=600))
                for row in rows:
                    if row["connection_id"] == connection:
                        kept.append(row["id"])
                return kept[:PAGE]

            naive_time, _naive = _timed(args.repeat, naive_page)
            read_all_time = None
            if args.read_all:
                read_all_time, naive_ids = _timed(1, read_all)
                assert naive_ids == [line.id for line in first.lines], "the naive page and the product's differ"

            filtered_bytes = _bytes(client, f"SELECT id FROM {table} WHERE connection_id = @c ORDER BY time_stamp DESC LIMIT 101",
                                    [bigquery.ScalarQueryParameter("c", "STRING", connection)])
            naive_bytes = _bytes(client, naive_sql, [])

            print(f"one connection of {args.connections:,}, pages of {PAGE} (median of {args.repeat}):")
            for label, seconds in (("first page", first_time), ("10th page (keyset)", deep_time),
                                   (f"errors only ({len(severe.lines)} lines)", severe_time), ("one sync", sync_time)):
                said = f"  product {label:<26} {seconds * 1000:9.1f} ms   naive page/product {naive_time / seconds:5.2f}x"
                if read_all_time:
                    said += f"   read-all/product {read_all_time / seconds:7.1f}x"
                print(said)
            print(f"  naive page, no WHERE (every tenant's newest 100) {naive_time * 1000:9.1f} ms")
            if read_all_time:
                print(f"  naive read-all, filtered in Python            {read_all_time * 1000:9.1f} ms")
            if filtered_bytes or naive_bytes:
                ratio = f"{naive_bytes / filtered_bytes:.1f}x" if filtered_bytes else "n/a"
                print(f"bytes scanned: product {filtered_bytes:,}, naive {naive_bytes:,} ({ratio})")
            else:
                print("bytes scanned: not reported (the stand-in answers total_bytes_processed = 0)")
        finally:
            client.close()
            standin.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.platform_logs")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--read-all", action="store_true", help="also time reading every row and filtering in Python")
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
