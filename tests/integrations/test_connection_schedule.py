"""When the next sync is due and when a connection is stale, from its mirrored schedule."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from integrations.connection.mirrored import MirroredConnection
from integrations.connection.schedule import next_sync_at, seconds_until_stale, stale_after

UTC = timezone.utc
ENDED = datetime(2026, 5, 20, 10, 15, 30, tzinfo=UTC)
SCHEDULED = MirroredConnection(
    setup_state="connected", sync_state="scheduled", schedule_type="auto", sync_frequency=360, succeeded_at=ENDED
)


@pytest.mark.parametrize(
    "state, expected",
    [
        (SCHEDULED, ENDED + timedelta(hours=6)),
        # The last end counts, success or failure.
        (replace(SCHEDULED, failed_at=ENDED + timedelta(minutes=5)), ENDED + timedelta(hours=6, minutes=5)),
        (replace(SCHEDULED, succeeded_at=None, failed_at=ENDED), ENDED + timedelta(hours=6)),
        (replace(SCHEDULED, sync_frequency=15), ENDED + timedelta(minutes=15)),
        # A daily time is the first such time (UTC) after the last end.
        (replace(SCHEDULED, sync_frequency=1440, daily_sync_time="03:00"), datetime(2026, 5, 21, 3, 0, tzinfo=UTC)),
        (replace(SCHEDULED, sync_frequency=1440, daily_sync_time="23:00"), datetime(2026, 5, 20, 23, 0, tzinfo=UTC)),
        (replace(SCHEDULED, sync_frequency=1440), ENDED + timedelta(days=1)),
        (replace(SCHEDULED, sync_frequency=1440, daily_sync_time="noon"), ENDED + timedelta(days=1)),
        # The daily time is UTC whatever zone the last end comes in.
        (
            replace(
                SCHEDULED,
                sync_frequency=1440,
                daily_sync_time="03:00",
                succeeded_at=ENDED.astimezone(timezone(timedelta(hours=-9))),
            ),
            datetime(2026, 5, 21, 3, 0, tzinfo=UTC),
        ),
        # A rescheduled sync carries on when Fivetran says.
        (replace(SCHEDULED, sync_state="rescheduled", rescheduled_for=ENDED + timedelta(minutes=45)), ENDED + timedelta(minutes=45)),
        # Nothing is due.
        (replace(SCHEDULED, paused=True, sync_state="paused"), None),
        (replace(SCHEDULED, deleted=True), None),
        (replace(SCHEDULED, schedule_type="manual"), None),
        (replace(SCHEDULED, sync_state="syncing"), None),
        (replace(SCHEDULED, succeeded_at=None), None),
        (replace(SCHEDULED, sync_frequency=None), None),
    ],
)
def test_next_sync_at(state, expected):
    assert next_sync_at(state) == expected


@pytest.mark.parametrize(
    "frequency, hours", [(None, 24), (5, 24), (360, 24), (720, 24), (1440, 48)]
)
def test_stale_after_a_day_or_two_periods_whichever_is_longer(frequency, hours):
    assert stale_after(replace(SCHEDULED, sync_frequency=frequency)) == timedelta(hours=hours)


def test_seconds_until_stale_says_when_to_look_again():
    # 24 h after the last success (six-hourly syncs: two periods are shorter than a day).
    assert seconds_until_stale(SCHEDULED, ENDED + timedelta(hours=20)) == 4 * 3600
    # Two periods when they are longer than a day.
    weekly = replace(SCHEDULED, sync_frequency=1440 * 7)
    assert seconds_until_stale(weekly, ENDED + timedelta(days=13)) == 24 * 3600
    # Already stale, or never succeeded: nothing to wait for.
    assert seconds_until_stale(SCHEDULED, ENDED + timedelta(hours=25)) is None
    assert seconds_until_stale(replace(SCHEDULED, succeeded_at=None), ENDED) is None
