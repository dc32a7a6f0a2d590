"""A connection's and a team's usage (Monthly Active Rows) as people read it: every month of the
period (zeros where Fivetran reported nothing), paid and free, the top tables of one month, and the
team's connections side by side. The numbers come from Fivetran's log data (warehouse.platform_usage),
which has disagreed with Fivetran's own usage page: every view of them says it is an estimate.

The Usage tab, the team usage page, the JSON API and the CSV download all read through here.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils import timezone

from integrations.models import Integration
from warehouse import platform_usage as mar
from warehouse.platform_usage import ConnectionRef, MonthUsage, Period, TopTables

DEFAULT_MONTHS = 12
MAX_MONTHS = 36
ESTIMATE_NOTE = (
    "An estimate from Fivetran's log data (its Platform Connector): Fivetran's own usage page may "
    "count differently."
)
NO_USAGE_YET = (
    "No usage reported yet. Fivetran reports Monthly Active Rows through its Platform Connector, "
    "which syncs about once a day: the first figures appear after its next sync."
)
CSV_HEADER = ("connection", "fivetran_connection_id", "month", "schema", "table", "paid_mar", "free_mar", "total_mar")


class UsageInputError(ValueError):
    """A `months` or `month` that cannot be read, in words for the person who sent it."""


def parse_months(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_MONTHS
    try:
        months = int(value)
    except ValueError:
        raise UsageInputError(f"months must be a whole number from 1 to {MAX_MONTHS}.") from None
    if not 1 <= months <= MAX_MONTHS:
        raise UsageInputError(f"months must be a whole number from 1 to {MAX_MONTHS}.")
    return months


def parse_month(value: str | None, period: Period) -> date | None:
    """'YYYY-MM' within the period, or None for "the latest month with usage"."""
    if value in (None, ""):
        return None
    try:
        year, month = value.split("-")
        chosen = date(int(year), int(month), 1)
    except ValueError:
        raise UsageInputError("month must be a month written YYYY-MM, e.g. 2025-06.") from None
    if not period.start <= chosen < period.end:
        raise UsageInputError("month must be one of the months shown.")
    return chosen


def connection_ref(integration: Integration) -> ConnectionRef:
    # incremental_mar names a connection by its schema name in the group (our one destination).
    return ConnectionRef(integration.schema_name, settings.FIVETRAN_GROUP_ID)


def period_of(months: int, today: date | None = None) -> Period:
    return Period.last_months(months, today or timezone.now().date())


class _OverTheMonths:
    """Paid and free MAR summed over every month of the period (`self.months`)."""

    @property
    def paid(self) -> int:
        return sum(month.paid for month in self.months)

    @property
    def free(self) -> int:
        return sum(month.free for month in self.months)

    @property
    def total(self) -> int:
        return self.paid + self.free


@dataclass(frozen=True)
class ConnectionUsage(_OverTheMonths):
    period: Period
    months: list[MonthUsage]  # every month of the period, oldest first
    top: TopTables | None  # of the chosen month; None when there is no usage at all

    @property
    def has_usage(self) -> bool:
        return any(month.total for month in self.months)


def connection_usage(integration: Integration, *, months: int = DEFAULT_MONTHS, month: str | None = None,
                     today: date | None = None) -> ConnectionUsage:
    """The connection's MAR per month and the top tables of `month` (default: the latest with usage).
    Raises UsageInputError for a bad `month`. Two queries; no database access (safe off the loop)."""
    period = period_of(months, today)
    chosen = parse_month(month, period)
    reference = connection_ref(integration)
    by_month = _every_month(period, mar.monthly_usage(reference, period))
    if chosen is None:
        chosen = next((usage.month for usage in reversed(by_month) if usage.total), None)
    top = mar.top_tables(reference, chosen) if chosen is not None else None
    return ConnectionUsage(period, by_month, top)


@dataclass(frozen=True)
class ConnectionRow(_OverTheMonths):
    integration: Integration
    months: list[MonthUsage]  # every month of the period


@dataclass(frozen=True)
class TeamUsage:
    period: Period
    months: list[MonthUsage]  # the team's sum per month: each equals the sum of the rows' same month
    connections: list[ConnectionRow]  # most MAR first

    @property
    def has_usage(self) -> bool:
        return any(month.total for month in self.months)

    @property
    def total(self) -> int:
        return sum(month.total for month in self.months)


def team_usage(integrations: Iterable[Integration], *, months: int = DEFAULT_MONTHS,
               today: date | None = None) -> TeamUsage:
    """Every connection's MAR per month, read in one query for all of them."""
    period = period_of(months, today)
    integrations = list(integrations)
    by_name: dict[str, list[MonthUsage]] = {}
    for row in mar.team_monthly_usage([i.schema_name for i in integrations], settings.FIVETRAN_GROUP_ID, period):
        by_name.setdefault(row.connection_name, []).append(MonthUsage(row.month, row.paid, row.free))
    rows = [ConnectionRow(i, _every_month(period, by_name.get(i.schema_name, []))) for i in integrations]
    rows.sort(key=lambda row: (-row.total, row.integration.name))
    team_months = [
        MonthUsage(month, sum(row.months[index].paid for row in rows), sum(row.months[index].free for row in rows))
        for index, month in enumerate(period.months())
    ]
    return TeamUsage(period, team_months, rows)


def team_usage_csv(integrations: Iterable[Integration], *, months: int = DEFAULT_MONTHS,
                   today: date | None = None) -> Iterator[str]:
    """The CSV download, one line at a time as BigQuery's result pages arrive: per connection, table
    and month. No database access once started (the integrations are read first)."""
    period = period_of(months, today)
    by_name = {integration.schema_name: integration for integration in integrations}
    line = _Line()
    writer = csv.writer(line)
    yield line.of(writer, CSV_HEADER)
    for row in mar.team_table_usage(list(by_name), settings.FIVETRAN_GROUP_ID, period):
        integration = by_name[row.connection_name]
        yield line.of(writer, (
            _text_cell(integration.name), integration.connection_id, row.month.strftime("%Y-%m"),
            _text_cell(row.schema_name), _text_cell(row.table_name), row.paid, row.free, row.total,
        ))


def csv_filename(months: int, today: date | None = None) -> str:
    period = period_of(months, today)
    last = period.months()[-1]
    return f"usage-{period.start:%Y-%m}-to-{last:%Y-%m}.csv"


def connection_usage_json(usage: ConnectionUsage) -> dict:
    top = usage.top
    return {
        "estimate": ESTIMATE_NOTE,
        "months": [_month_json(month) for month in usage.months],
        "paid": usage.paid,
        "free": usage.free,
        "total": usage.total,
        "top_tables": None if top is None else {
            "month": top.month.strftime("%Y-%m"),
            "tables": [
                {"schema": t.schema_name, "table": t.table_name, "paid": t.paid, "free": t.free, "total": t.total}
                for t in top.tables
            ],
            "other_tables": {"count": top.other_tables, "total": top.other_total},
            "table_count": top.table_count,
            "paid": top.paid,
            "free": top.free,
            "total": top.total,
        },
    }


def _month_json(month: MonthUsage) -> dict:
    return {"month": month.month.strftime("%Y-%m"), "paid": month.paid, "free": month.free, "total": month.total}


def _every_month(period: Period, reported: Iterable[MonthUsage]) -> list[MonthUsage]:
    found = {usage.month: usage for usage in reported}
    return [found.get(month, MonthUsage(month, 0, 0)) for month in period.months()]


def _text_cell(text: str) -> str:
    # A name people typed must not run as a formula when the file is opened in a spreadsheet.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Line:
    """A file-like target for csv.writer that hands back each line it was given (for streaming)."""

    def __init__(self):
        self.text = ""

    def write(self, text: str) -> None:
        self.text = text

    def of(self, writer, values) -> str:
        writer.writerow(values)
        return self.text
