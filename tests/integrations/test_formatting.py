"""One format for dates, sizes and preview cells (integrations/templatetags/formatting.py)."""

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from integrations.templatetags.formatting import cell, duration, table_size, when

UTC = dt.timezone.utc


def test_dates_read_the_same_everywhere_and_say_their_zone():
    assert when(dt.datetime(2024, 1, 1, 4, 14, tzinfo=UTC)) == "1 Jan 2024, 04:14 UTC"
    assert when(dt.datetime(2024, 1, 1, 4, 14, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == "1 Jan 2024, 02:14 UTC"
    assert when(None) == "—"


def test_preview_cells_print_as_bigquery_would():
    assert cell(Decimal("542.250000000")) == "542.25"
    assert cell(Decimal("100.000000000")) == "100"
    assert cell(Decimal("1E+2")) == "100"
    assert cell(dt.datetime(2024, 1, 1, 4, 14, tzinfo=UTC)) == "2024-01-01 04:14:00 UTC"
    assert cell(dt.date(2024, 1, 1)) == "2024-01-01"
    assert cell(True) == "true" and cell(0.5) == "0.5" and cell({"a": 1}) == '{"a": 1}'


def test_a_size_the_warehouse_did_not_measure_is_a_dash():
    def size(num_bytes, num_rows):
        return table_size(SimpleNamespace(num_bytes=num_bytes, num_rows=num_rows))

    assert size(None, 10) == "—"
    assert size(0, 10) == "—"  # rows but no bytes: not measured (the stand-in), never true in BigQuery
    assert size(0, 0) == "0\xa0bytes"  # an empty table really is empty
    assert size(2048, 10) == "2.0\xa0KB"


def test_a_duration_to_the_precision_people_care_about():
    assert [duration(s) for s in (0, 45, 60, 125, 3600, 3780, 90061)] == [
        "0 s", "45 s", "1 min", "2 min 5 s", "1 h", "1 h 3 min", "25 h 1 min",
    ]
    assert duration(None) == "—"
