"""When a connection's syncs are due, from its mirrored schedule: the next sync people are told to expect,
and how long without a success makes a connection stale. Pure functions of Fivetran's own timestamps."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from integrations.connection.mirrored import MirroredConnection

# Stale means no success for a day, or for two sync periods when they are longer than half a day.
STALE_AT_LEAST = timedelta(hours=24)
STALE_PERIODS = 2

_DAILY_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def stale_after(connection: MirroredConnection) -> timedelta:
    """How long without a successful sync makes the connection stale: 24 h or two sync periods,
    whichever is longer (a connection without a frequency gets the 24 h)."""
    periods = timedelta(minutes=(connection.sync_frequency or 0) * STALE_PERIODS)
    return max(STALE_AT_LEAST, periods)


def seconds_until_stale(connection: MirroredConnection, now: datetime) -> float | None:
    """How long until this healthy connection turns stale if no sync succeeds meanwhile (None when it
    has never succeeded, or is already stale): when to look again without any webhook."""
    if connection.succeeded_at is None:
        return None
    left = (connection.succeeded_at + stale_after(connection) - now).total_seconds()
    return left if left > 0 else None


def next_sync_at(connection: MirroredConnection) -> datetime | None:
    """When Fivetran should start the next sync, as far as its status lets us tell; None when no sync is
    planned (deleted, paused, a manual schedule) or nothing can be foretold (running now, never ended).

    A rescheduled sync carries on at Fivetran's `rescheduled_for`. Otherwise the next sync is one period
    after the last one ended (success or failure), or with a daily time the first such time after it.
    Fivetran counts periods from a sync's start and adds up to an hour of its own, so this is an estimate
    (and may be in the past when a sync is late).
    """
    if connection.deleted or connection.paused or connection.sync_state == "paused":
        return None
    if connection.sync_state == "rescheduled":
        return connection.rescheduled_for
    # With a manual schedule Fivetran syncs only when asked (POST …/sync), so nothing is due.
    if connection.schedule_type == "manual" or connection.sync_state == "syncing":
        return None
    ends = [moment for moment in (connection.succeeded_at, connection.failed_at) if moment is not None]
    if not ends or not connection.sync_frequency:
        return None
    last_end = max(ends).astimezone(timezone.utc)  # daily_sync_time is UTC
    daily = _DAILY_TIME.fullmatch(connection.daily_sync_time or "")
    if connection.sync_frequency == 1440 and daily:
        due = last_end.replace(hour=int(daily[1]), minute=int(daily[2]), second=0, microsecond=0)
        return due if due > last_end else due + timedelta(days=1)
    return last_end + timedelta(minutes=connection.sync_frequency)
