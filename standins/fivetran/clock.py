"""Timestamps in Fivetran's formats: microseconds in the API, milliseconds in webhooks (§1.6)."""

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
