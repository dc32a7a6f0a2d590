"""MAR from the Platform Connector's incremental_mar, queried through the real client against the
stand-in: each figure equals a direct SQL sum of the seeded rows, months are calendar months (UTC),
paid is free_type PAID, and rows of other tenants (another connection, another destination) or
outside the period never count."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tests.support.bigquery_fixtures import unique_name
from tests.support.platform_mar import direct_sum, mar_row, seed_mar
from warehouse import platform_usage as mar
from warehouse.platform_usage import ConnectionRef, Period

GROUP = "usage_group"
OTHER_GROUP = "someone_elses_group"
PERIOD = Period(date(2025, 1, 1), date(2025, 7, 1))  # January to June 2025


def at(year, month, day, hour=0, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


@pytest.fixture
def platform_dataset(bigquery_settings, settings) -> str:
    settings.FIVETRAN_PLATFORM_DATASET = unique_name("fivetran_metadata")
    return settings.FIVETRAN_PLATFORM_DATASET


@pytest.fixture
def seeded(platform_dataset, standin_client):
    """One connection's MAR over months, with the rows that must not count beside it."""
    mine = unique_name("conn")
    rows = [
        # The last second of May and the first of June fall in their own months.
        mar_row(mine, GROUP, "orders", at(2025, 5, 31, 23, 59, 59), 40),
        mar_row(mine, GROUP, "orders", at(2025, 6, 1, 0, 0, 0), 7),
        mar_row(mine, GROUP, "orders", at(2025, 6, 15), 3),
        mar_row(mine, GROUP, "customers", at(2025, 6, 2), 500, free_type="HISTORICAL"),
        mar_row(mine, GROUP, "customers", at(2025, 6, 3), 11),
        mar_row(mine, GROUP, "events", at(2025, 6, 3), 90, schema="analytics"),
        mar_row(mine, GROUP, "line_items", at(2025, 6, 4), 1),
        mar_row(mine, GROUP, "orders", at(2025, 2, 10), 25, free_type="HISTORICAL"),
        # Outside the period: December 2024 and July 2025.
        mar_row(mine, GROUP, "orders", at(2024, 12, 31, 23, 59, 59), 1000),
        mar_row(mine, GROUP, "orders", at(2025, 7, 1), 2000),
        # Other tenants: the same name in another destination, another connection in ours.
        mar_row(mine, OTHER_GROUP, "orders", at(2025, 6, 5), 30000),
        mar_row(unique_name("conn"), GROUP, "orders", at(2025, 6, 5), 40000),
    ]
    reference = seed_mar(standin_client, platform_dataset, rows)
    return ConnectionRef(mine, GROUP), reference


def test_months_are_calendar_months_with_paid_and_free_equal_to_direct_sums(seeded, standin_client):
    connection, reference = seeded
    months = mar.monthly_usage(connection, PERIOD)
    assert [usage.month for usage in months] == [date(2025, 2, 1), date(2025, 5, 1), date(2025, 6, 1)]
    for usage in months:
        label = usage.month.strftime("%Y-%m")
        same = {"connection": connection.name, "destination": GROUP, "month": label}
        assert usage.paid == direct_sum(standin_client, reference, paid=True, **same)
        assert usage.free == direct_sum(standin_client, reference, paid=False, **same)
        assert usage.total == direct_sum(standin_client, reference, **same)
    # Worked out by hand too, so the direct query cannot agree with a shared mistake.
    assert [(u.paid, u.free) for u in months] == [(0, 25), (40, 0), (7 + 3 + 11 + 90 + 1, 500)]


def test_rows_outside_the_period_or_of_other_tenants_never_count(seeded):
    connection, _reference = seeded
    total = sum(usage.total for usage in mar.monthly_usage(connection, PERIOD))
    assert total == 25 + 40 + 612
    wider = Period(date(2024, 12, 1), date(2025, 8, 1))
    assert sum(usage.total for usage in mar.monthly_usage(connection, wider)) == total + 1000 + 2000
    assert mar.monthly_usage(ConnectionRef(connection.name, "no_such_group"), wider) == []


def test_top_tables_of_a_month_largest_first_with_the_rest_adding_up(seeded, standin_client):
    connection, reference = seeded
    top = mar.top_tables(connection, date(2025, 6, 20), limit=2)
    assert top.month == date(2025, 6, 1)
    assert [(t.schema_name, t.table_name, t.paid, t.free) for t in top.tables] == [
        ("public", "customers", 11, 500), ("analytics", "events", 90, 0),
    ]
    for table in top.tables:
        assert table.total == direct_sum(standin_client, reference, connection=connection.name, destination=GROUP,
                                         month="2025-06", table=table.table_name)
    assert top.table_count == 4
    assert (top.paid, top.free) == (112, 500)
    assert top.total == direct_sum(standin_client, reference, connection=connection.name, destination=GROUP,
                                   month="2025-06")
    assert (top.other_tables, top.other_paid, top.other_free) == (2, 10 + 1, 0)
    assert sum(t.total for t in top.tables) + top.other_total == top.total

    empty = mar.top_tables(connection, date(2025, 3, 1))
    assert (empty.tables, empty.table_count, empty.total, empty.other_total) == ([], 0, 0, 0)


def test_team_usage_reads_every_connection_in_one_query(platform_dataset, standin_client, monkeypatch):
    names = [unique_name("team_conn") for _ in range(3)]
    rows = [
        mar_row(name, GROUP, f"table_{t}", at(2025, month, 3 + t), (index + 1) * 100 + month * 10 + t,
                free_type="PAID" if t else "HISTORICAL")
        for index, name in enumerate(names) for month in (3, 4) for t in range(3)
    ]
    rows.append(mar_row(names[0], OTHER_GROUP, "table_0", at(2025, 3, 3), 99999))
    rows.append(mar_row(unique_name("not_ours"), GROUP, "table_0", at(2025, 3, 3), 88888))
    seed_mar(standin_client, platform_dataset, rows)

    queries = []
    real_client = mar.bigquery_client

    def counting_client():
        client = real_client()
        query = client.query
        client.query = lambda *args, **kwargs: queries.append(args[0]) or query(*args, **kwargs)
        return client

    monkeypatch.setattr(mar, "bigquery_client", counting_client)
    team = mar.team_monthly_usage(names, GROUP, PERIOD)
    assert len(queries) == 1
    monkeypatch.undo()

    assert {(row.connection_name, row.month) for row in team} == {
        (name, date(2025, month, 1)) for name in names for month in (3, 4)
    }
    for name in names:
        alone = mar.monthly_usage(ConnectionRef(name, GROUP), PERIOD)
        assert [(u.month, u.paid, u.free) for u in alone] == [
            (row.month, row.paid, row.free) for row in team if row.connection_name == name
        ]
    tables = list(mar.team_table_usage(names, GROUP, PERIOD))
    assert len(tables) == 3 * 2 * 3
    assert sum(row.total for row in tables) == sum(row.total for row in team) == sum(
        r["incremental_rows"] for r in rows if r["connection_name"] in names and r["destination_id"] == GROUP
    )
    assert mar.team_monthly_usage([], GROUP, PERIOD) == [] and list(mar.team_table_usage([], GROUP, PERIOD)) == []


def test_no_table_yet_reads_as_no_usage(platform_dataset):
    # The Platform Connector has not synced: neither the dataset nor the table exists.
    connection = ConnectionRef("anything", GROUP)
    assert mar.monthly_usage(connection, PERIOD) == []
    assert mar.top_tables(connection, date(2025, 6, 1)).tables == []
    assert mar.team_monthly_usage(["anything"], GROUP, PERIOD) == []


def test_names_written_into_the_sql_are_checked():
    assert mar.table_reference("local-project", "fivetran_metadata") == "`local-project.fivetran_metadata.incremental_mar`"
    assert mar.table_reference("example.com:my-project", "log_2") == "`example.com:my-project.log_2.incremental_mar`"
    for project, dataset in [("local-project", "x`; DROP TABLE y; --"), ("a` b", "fivetran_metadata"),
                             ("local-project", ""), ("local-project", "fivetran.metadata")]:
        with pytest.raises(ValueError):
            mar.table_reference(project, dataset)


def test_periods_are_whole_calendar_months():
    period = Period.last_months(12, date(2025, 3, 31))
    assert (period.start, period.end) == (date(2024, 4, 1), date(2025, 4, 1))
    assert len(period.months()) == 12 and period.months()[-1] == date(2025, 3, 1)
    assert Period.last_months(1, date(2024, 12, 5)).months() == [date(2024, 12, 1)]
    assert Period.month(date(2024, 12, 31)) == Period(date(2024, 12, 1), date(2025, 1, 1))
