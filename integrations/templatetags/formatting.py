"""One format for each kind of value on every page: dates, sizes and the cells of a table preview."""

import datetime as dt
import json
from decimal import Decimal

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

register = template.Library()

DASH = "—"


@register.filter
def when(moment) -> str:
    """'3 Dec 2026, 14:05 UTC': day-month-year reads the same everywhere, and the zone is said."""
    if not moment:
        return DASH
    if isinstance(moment, dt.datetime):
        if timezone.is_aware(moment):
            moment = moment.astimezone(dt.timezone.utc)
        return f"{moment.day} {moment:%b %Y, %H:%M} UTC"
    return f"{moment.day} {moment:%b %Y}"


@register.filter
def table_size(table) -> str:
    """The table's size, or a dash when the warehouse did not measure it: None, or 0 bytes for a
    table that has rows (BigQuery itself never reports that; the local stand-in does). An empty
    table is really 0 bytes."""
    size, rows = table.num_bytes, table.num_rows
    if size is None or (size == 0 and rows):
        return DASH
    return filesizeformat(size)


@register.filter
def cell(value) -> str:
    """A preview cell as BigQuery would print it: ISO dates and times, decimals without padding."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        # NUMERIC comes back with all nine decimals ("542.250000000"): show 542.25.
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


@register.filter
def clock(moment) -> str:
    """'14:05:09 UTC': a log line's time, to the second (its sync's heading says the day)."""
    if not isinstance(moment, dt.datetime):
        return DASH
    return f"{moment.astimezone(dt.timezone.utc):%H:%M:%S} UTC"


@register.filter
def duration(seconds) -> str:
    """'45 s', '2 min 5 s', '1 h 3 min': how long something took, to the precision people care about."""
    if seconds is None:
        return DASH
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"
