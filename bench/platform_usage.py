"""Bench: the usage (MAR) queries on a year of incremental_mar, beside the naive query without filters.

    python -m bench.platform_usage

Its own BigQuery stand-in holds `fivetran_metadata.incremental_mar` with a year of daily MAR for
100 tables of each of BENCH_CONNECTIONS connections (default 10: the measured connection, four more
of its team, five of other tenants, plus two of the names in another destination), loaded with one
load job. Measured: each product query's time (median of BENCH_REPEATS runs, default 5), the naive
query's (one run: it takes minutes), and the bytes each job reports as processed (the stand-in reports
none; real BigQuery bills the columns read, so the product's gain there would come from clustering the
table by connection_name, which Fivetran decides):
  product: `monthly_usage` (one connection, 12 months), `top_tables` (one month) and
           `team_monthly_usage` (the team's five connections in one query): filtered and summed in SQL;
  naive:   `SELECT *` of the whole table, every row fetched and summed in Python.
Both give the same numbers (checked). No target is set: the ratios are printed for whoever reads them.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench._child import run_in_child

TABLES = 100
DAYS = 365
GROUP = "embedded_group"
DATASET = "fivetran_metadata"


def _rows(names: list[str], today: date):
    """A year of daily MAR per table: paid most days, a free historical load on each table's first day."""
    start = today - timedelta(days=DAYS - 1)
    for c, name in enumerate(names):
        for destination in (GROUP, "another_destination") if c < 2 else (GROUP,):
            for t in range(TABLES):
                for d in range(DAYS):
                    day = start + timedelta(days=d)
                    stamp = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).isoformat()
                    yield {
                        "connection_name": name, "destination_id": destination, "schema_name": "public",
                        "table_name": f"table_{t:03d}", "free_type": "HISTORICAL" if d == t % 30 else "PAID",
                        "measured_date": stamp, "incremental_rows": (t * 7 + d * 3 + c) % 500 + 1,
                        "sync_type": "HISTORICAL" if d == t % 30 else "INCREMENTAL",
                        "updated_at": stamp, "_fivetran_synced": stamp,
                    }


def _load(client, names: list[str], today: date) -> int:
    from google.cloud import bigquery

    from standins.fivetran.platform_tables import INCREMENTAL_MAR
    from warehouse.bigquery import call_options

    client.create_dataset(f"{client.project}.{DATASET}", exists_ok=True, **call_options())
    reference = f"{client.project}.{DATASET}.incremental_mar"
    schema = [bigquery.SchemaField(name, type_) for name, type_ in INCREMENTAL_MAR]
    client.create_table(bigquery.Table(reference, schema=schema), exists_ok=True, **call_options())
    body = io.BytesIO()
    count = 0
    for row in _rows(names, today):
        body.write(json.dumps(row).encode() + b"\n")
        count += 1
    body.seek(0)
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON, schema=schema)
    client.load_table_from_file(body, reference, job_config=config).result(timeout=600)
    return count


def _timed(function, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _bytes(client, query) -> int | None:
    job = client.query(query.sql, job_config=query.job_config())
    job.result()
    return job.total_bytes_processed


def _run() -> None:
    from standins.bigquery.server import start_standin
    from tests.support.services import free_port

    repeats = int(os.environ.get("BENCH_REPEATS", "5"))
    connections = int(os.environ.get("BENCH_CONNECTIONS", "10"))
    standin = start_standin(free_port(), Path(os.environ["VAR_DIR"]) / "bigquery", "local-project")
    try:
        os.environ.update(BIGQUERY_API_ENDPOINT=standin.endpoint, BIGQUERY_PROJECT="local-project")
        import django

        django.setup()
        from warehouse import platform_usage as mar
        from warehouse.bigquery import bigquery_client

        client = bigquery_client()
        names = [f"bench_conn_{c:02d}" for c in range(connections)]
        mine, team = names[0], names[:5]
        today = datetime.now(timezone.utc).date()
        started = time.perf_counter()
        count = _load(client, names, today)
        print(f"{count:,} incremental_mar rows loaded ({connections} connections × {TABLES} tables × {DAYS} days, "
              f"two names also in another destination) in {time.perf_counter() - started:.0f} s")

        period = mar.Period.last_months(12, today)
        reference = mar.ConnectionRef(mine, GROUP)
        table = mar.table_reference(client.project, DATASET)
        month = period.months()[-2]

        monthly_s, monthly = _timed(lambda: mar.monthly_usage(reference, period), repeats)
        top_s, top = _timed(lambda: mar.top_tables(reference, month), repeats)
        team_s, team_rows = _timed(lambda: mar.team_monthly_usage(team, GROUP, period), repeats)

        def naive():
            """Every row of the table, filtered and summed in Python."""
            rows = client.query(f"SELECT * FROM {table}").result()
            per_connection_month: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
            for row in rows:
                day = row["measured_date"].date()
                if row["destination_id"] != GROUP or not period.start <= day < period.end:
                    continue
                sums = per_connection_month[(row["connection_name"], day.replace(day=1))]
                sums[0 if row["free_type"] == "PAID" else 1] += row["incremental_rows"]
            return per_connection_month

        naive_s, naive_sums = _timed(naive, 1)  # minutes a run: once is enough to compare
        assert [(u.month, u.paid, u.free) for u in monthly] == sorted(
            (m, s[0], s[1]) for (name, m), s in naive_sums.items() if name == mine
        ), "the product and the naive sum disagree"
        assert sorted((r.connection_name, r.month, r.paid, r.free) for r in team_rows) == sorted(
            (name, m, s[0], s[1]) for (name, m), s in naive_sums.items() if name in team
        )

        scanned = {
            "monthly": _bytes(client, mar.monthly_query(table, reference, period)),
            "top tables": _bytes(client, mar.top_tables_query(table, reference, month, mar.TOP_TABLES)),
            "team": _bytes(client, mar.team_monthly_query(table, team, GROUP, period)),
            "naive": _bytes(client, mar.Query(f"SELECT * FROM {table}", [])),
        }
        print(f"product monthly_usage (1 connection, 12 months): {monthly_s * 1000:.0f} ms, {len(monthly)} months")
        print(f"product top_tables (1 connection, 1 month):      {top_s * 1000:.0f} ms, "
              f"{len(top.tables)} of {top.table_count} tables")
        print(f"product team_monthly_usage ({len(team)} connections):      {team_s * 1000:.0f} ms, "
              f"{len(team_rows)} rows, one query")
        print(f"naive SELECT * summed in Python:                 {naive_s * 1000:.0f} ms, {count:,} rows fetched")
        print(f"ratio naive/product: monthly ×{naive_s / monthly_s:.1f}, top tables ×{naive_s / top_s:.1f}, "
              f"team ×{naive_s / team_s:.1f}")
        if not any(scanned.values()):
            # bqemulator answers 0 (or nothing) for every job: no figure to compare.
            print(f"bytes scanned: not measured, the stand-in reports total_bytes_processed as {scanned['naive']} for "
                  "every query (BigQuery reports the bytes of the columns read, whatever the WHERE)")
        else:
            print("bytes scanned (total_bytes_processed): " + ", ".join(
                f"{name} {value if value is not None else 'not reported'}" for name, value in scanned.items()))
            if scanned["naive"] and all(scanned[n] for n in ("monthly", "team")):
                print(f"ratio naive/product bytes: monthly ×{scanned['naive'] / scanned['monthly']:.1f}, "
                      f"team ×{scanned['naive'] / scanned['team']:.1f}")
        client.close()
    finally:
        standin.stop()


def main() -> None:
    run_in_child("bench.platform_usage")


if __name__ == "__main__":
    if sys.argv[1:] == ["--run"]:
        _run()
    else:
        main()
