"""Monthly Active Rows (MAR) from the Fivetran Platform Connector's `incremental_mar` table, as plain data.

Fivetran has no REST endpoint for MAR: its Platform Connector writes rows made active per table per
day into `incremental_mar` in the destination. A row has no connection id; it names its connection
by `connection_name` (the connection's schema name) and `destination_id` (the group). Monthly MAR
is the sum of `incremental_rows` per calendar month (UTC); paid MAR is where `free_type` is PAID.

One shared destination holds every tenant's rows, so every query here filters by connection name
and destination, and by a period of whole months. Values only ever travel as query parameters; the
table's name cannot be a parameter, so the project and dataset are checked as identifiers first.
A missing table (the Platform Connector has not synced yet) reads as no usage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from warehouse.bigquery import bigquery_client, call_options, setting

DEFAULT_DATASET = "fivetran_metadata"
TABLE = "incremental_mar"
TOP_TABLES = 10

_DATASET_NAME = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
# Project ids, with the legacy "domain.com:" prefix.
_PROJECT_NAME = re.compile(r"^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{0,62}$")

# A row is paid only when Fivetran says PAID; anything else (a free type, or none) is free.
_PAID = "SUM(IF(UPPER(free_type) = 'PAID', incremental_rows, 0))"
_FREE = "SUM(IF(UPPER(free_type) = 'PAID', 0, incremental_rows))"
_MONTH = "DATE_TRUNC(DATE(measured_date), MONTH)"
_IN_PERIOD = "measured_date >= @period_start AND measured_date < @period_end"


@dataclass(frozen=True)
class Period:
    """Whole calendar months: from the first day of `start`'s month up to, not including, `end`'s."""

    start: date
    end: date

    @classmethod
    def last_months(cls, count: int, today: date) -> Period:
        """`count` months ending with `today`'s month."""
        first = _add_months(today.replace(day=1), -(count - 1))
        return cls(first, _add_months(today.replace(day=1), 1))

    @classmethod
    def month(cls, month: date) -> Period:
        first = month.replace(day=1)
        return cls(first, _add_months(first, 1))

    def months(self) -> list[date]:
        months, month = [], self.start
        while month < self.end:
            months.append(month)
            month = _add_months(month, 1)
        return months

    def parameters(self) -> list[bigquery.ScalarQueryParameter]:
        return [
            bigquery.ScalarQueryParameter("period_start", "TIMESTAMP", _midnight(self.start)),
            bigquery.ScalarQueryParameter("period_end", "TIMESTAMP", _midnight(self.end)),
        ]


@dataclass(frozen=True)
class ConnectionRef:
    """How `incremental_mar` names one connection."""

    name: str  # the connection's schema name
    destination_id: str  # the Fivetran group


class PaidAndFree:
    """MAR split into paid and free; the total is always their sum (never stored, so it adds up)."""

    paid: int
    free: int

    @property
    def total(self) -> int:
        return self.paid + self.free


@dataclass(frozen=True)
class MonthUsage(PaidAndFree):
    month: date
    paid: int
    free: int


@dataclass(frozen=True)
class TableUsage(PaidAndFree):
    schema_name: str
    table_name: str
    paid: int
    free: int


@dataclass(frozen=True)
class TopTables(PaidAndFree):
    """The tables of one month with the most MAR, and what the month's other tables add up to."""

    month: date
    tables: list[TableUsage]
    table_count: int  # all the month's tables, shown or not
    paid: int  # the month's whole paid MAR, all tables
    free: int

    @property
    def other_tables(self) -> int:
        return self.table_count - len(self.tables)

    @property
    def other_paid(self) -> int:
        return self.paid - sum(table.paid for table in self.tables)

    @property
    def other_free(self) -> int:
        return self.free - sum(table.free for table in self.tables)

    @property
    def other_total(self) -> int:
        return self.other_paid + self.other_free


@dataclass(frozen=True)
class ConnectionMonthUsage(PaidAndFree):
    connection_name: str
    month: date
    paid: int
    free: int


@dataclass(frozen=True)
class ConnectionTableMonthUsage(PaidAndFree):
    connection_name: str
    month: date
    schema_name: str
    table_name: str
    paid: int
    free: int


@dataclass(frozen=True)
class Query:
    """Parameterised SQL, ready for `client.query` (the benchmark runs it too, to read bytes scanned)."""

    sql: str
    parameters: list

    def job_config(self) -> bigquery.QueryJobConfig:
        return bigquery.QueryJobConfig(query_parameters=self.parameters)


# --- the queries ------------------------------------------------------------------------------


def table_reference(project: str, dataset: str) -> str:
    """`project.dataset.incremental_mar`, quoted, after checking both names (they go into the SQL text)."""
    if not _PROJECT_NAME.match(project):
        raise ValueError(f"Not a BigQuery project id: {project!r}")
    if not _DATASET_NAME.match(dataset):
        raise ValueError(f"Not a BigQuery dataset name: {dataset!r}")
    return f"`{project}.{dataset}.{TABLE}`"


def _connection_parameters(connection: ConnectionRef) -> list[bigquery.ScalarQueryParameter]:
    return [
        bigquery.ScalarQueryParameter("connection_name", "STRING", connection.name),
        bigquery.ScalarQueryParameter("destination_id", "STRING", connection.destination_id),
    ]


def _team_parameters(names: Sequence[str], destination_id: str) -> list:
    return [
        bigquery.ArrayQueryParameter("connection_names", "STRING", sorted(set(names))),
        bigquery.ScalarQueryParameter("destination_id", "STRING", destination_id),
    ]


def monthly_query(table: str, connection: ConnectionRef, period: Period) -> Query:
    sql = f"""
        SELECT {_MONTH} AS month, {_PAID} AS paid, {_FREE} AS free
        FROM {table}
        WHERE connection_name = @connection_name AND destination_id = @destination_id AND {_IN_PERIOD}
        GROUP BY month
        ORDER BY month"""
    return Query(sql, _connection_parameters(connection) + period.parameters())


def top_tables_query(table: str, connection: ConnectionRef, month: date, limit: int) -> Query:
    # The window sums run over every table of the month, before LIMIT: the rest is not lost.
    sql = f"""
        SELECT schema_name, table_name, {_PAID} AS paid, {_FREE} AS free,
               COUNT(*) OVER () AS table_count,
               SUM({_PAID}) OVER () AS month_paid,
               SUM({_FREE}) OVER () AS month_free
        FROM {table}
        WHERE connection_name = @connection_name AND destination_id = @destination_id AND {_IN_PERIOD}
        GROUP BY schema_name, table_name
        ORDER BY paid + free DESC, schema_name, table_name
        LIMIT @limit"""
    parameters = _connection_parameters(connection) + Period.month(month).parameters()
    return Query(sql, parameters + [bigquery.ScalarQueryParameter("limit", "INT64", limit)])


def team_monthly_query(table: str, names: Sequence[str], destination_id: str, period: Period) -> Query:
    sql = f"""
        SELECT connection_name, {_MONTH} AS month, {_PAID} AS paid, {_FREE} AS free
        FROM {table}
        WHERE connection_name IN UNNEST(@connection_names) AND destination_id = @destination_id AND {_IN_PERIOD}
        GROUP BY connection_name, month
        ORDER BY month, connection_name"""
    return Query(sql, _team_parameters(names, destination_id) + period.parameters())


def team_tables_query(table: str, names: Sequence[str], destination_id: str, period: Period) -> Query:
    sql = f"""
        SELECT connection_name, {_MONTH} AS month, schema_name, table_name, {_PAID} AS paid, {_FREE} AS free
        FROM {table}
        WHERE connection_name IN UNNEST(@connection_names) AND destination_id = @destination_id AND {_IN_PERIOD}
        GROUP BY connection_name, month, schema_name, table_name
        ORDER BY month, connection_name, schema_name, table_name"""
    return Query(sql, _team_parameters(names, destination_id) + period.parameters())


# --- reading them -----------------------------------------------------------------------------


def monthly_usage(connection: ConnectionRef, period: Period) -> list[MonthUsage]:
    """Paid and free MAR of one connection per month of `period`, oldest first; months without MAR left out."""
    return [
        MonthUsage(_as_date(row["month"]), _count(row["paid"]), _count(row["free"]))
        for row in _rows(lambda table: monthly_query(table, connection, period))
    ]


def top_tables(connection: ConnectionRef, month: date, limit: int = TOP_TABLES) -> TopTables:
    """The `limit` tables of one connection with the most MAR in `month`, largest first."""
    rows = list(_rows(lambda table: top_tables_query(table, connection, month, limit)))
    first = rows[0] if rows else {"table_count": 0, "month_paid": 0, "month_free": 0}
    return TopTables(
        month=month.replace(day=1),
        tables=[TableUsage(row["schema_name"], row["table_name"], _count(row["paid"]), _count(row["free"])) for row in rows],
        table_count=_count(first["table_count"]),
        paid=_count(first["month_paid"]),
        free=_count(first["month_free"]),
    )


def team_monthly_usage(names: Sequence[str], destination_id: str, period: Period) -> list[ConnectionMonthUsage]:
    """Paid and free MAR per connection per month, for all `names` in one query."""
    if not names:
        return []
    return [
        ConnectionMonthUsage(row["connection_name"], _as_date(row["month"]), _count(row["paid"]), _count(row["free"]))
        for row in _rows(lambda table: team_monthly_query(table, names, destination_id, period))
    ]


def team_table_usage(names: Sequence[str], destination_id: str, period: Period) -> Iterator[ConnectionTableMonthUsage]:
    """Per connection, table and month, as the result pages arrive (for a streamed download)."""
    if not names:
        return
    for row in _rows(lambda table: team_tables_query(table, names, destination_id, period)):
        yield ConnectionTableMonthUsage(
            row["connection_name"], _as_date(row["month"]), row["schema_name"], row["table_name"],
            _count(row["paid"]), _count(row["free"]),
        )


def _rows(build) -> Iterator[bigquery.Row]:
    """Run the query `build(table)` makes; rows page by page; nothing when the table does not exist yet."""
    client = bigquery_client()
    try:
        query = build(table_reference(client.project, setting("FIVETRAN_PLATFORM_DATASET", DEFAULT_DATASET)))
        options = call_options()
        try:
            job = client.query(query.sql, job_config=query.job_config(), **options)
            rows = job.result(**options)
        except NotFound:
            return
        yield from rows
    finally:
        client.close()


def _count(value) -> int:
    return int(value or 0)


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)
