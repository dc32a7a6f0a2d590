"""Timestamps in Fivetran's formats (microseconds in the API, milliseconds in webhooks, §1.6), and the
schedule's arithmetic.

Timestamps are always wall-clock UTC, so a client compares them with its own clock. Only the waits
of Fivetran's schedule run faster under a time scale (lifecycle.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def api_timestamp(moment: datetime | None = None) -> str:
    return (moment or now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def webhook_timestamp(moment: datetime | None = None) -> str:
    moment = moment or now()
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def seconds_until(timestamp: str) -> float:
    return (parse(timestamp) - now()).total_seconds()


def in_seconds(seconds: float) -> str:
    return api_timestamp(now() + timedelta(seconds=seconds))


def seconds_to_hour_of_day(moment: datetime, hour_minute: str) -> float:
    """From `moment` to the next time the UTC clock reads `hour_minute` ("HH:MM"), never zero."""
    hour, minute = (int(part) for part in hour_minute.split(":"))
    target = moment.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= moment:
        target += timedelta(days=1)
    return (target - moment).total_seconds()


def check_time_scale(value: object) -> float:
    """How many times faster than real time Fivetran's schedule runs: a positive, finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"time_scale must be a positive number, not {value!r}")
    return float(value)
