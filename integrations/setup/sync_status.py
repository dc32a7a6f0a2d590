"""The one place that reads a Fivetran connection's status and says what it means for our set-up.

The webhook, the fallback timer and the steps all go through `assess` (docs/reference/fivetran-api.md §4). Fivetran's
own timestamps are compared with the baseline taken before the sync started, never with our clock.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from connectors.fivetran import Connection


class SyncVerdict(str, Enum):
    NEEDS_CARD = "needs_card"  # the Connect Card was never completed
    NEEDS_RECONNECT = "needs_reconnect"  # broken, or Fivetran asks the user for something
    PAUSED = "paused"  # we expected it to run
    FAILED_RETRYING = "failed_retrying"  # a sync attempt failed; Fivetran retries on its schedule
    RESCHEDULED = "rescheduled"  # waiting for the source's API quota: not an error
    IN_PROGRESS = "in_progress"
    DONE = "done"


@dataclass(frozen=True)
class Assessment:
    verdict: SyncVerdict
    message: str


def _newer(moment: datetime | None, *others: datetime | None) -> bool:
    if moment is None:
        return False
    return all(other is None or moment > other for other in others)


def assess(connection: Connection, *, baseline_succeeded_at=None, baseline_failed_at=None) -> Assessment:
    status = connection.status
    task_text = "; ".join(task.message or task.code for task in status.tasks)
    if status.setup_state == "broken" or status.tasks:
        return Assessment(
            SyncVerdict.NEEDS_RECONNECT, task_text or "Fivetran can no longer reach the source: reconnect it."
        )
    if status.setup_state != "connected":
        return Assessment(SyncVerdict.NEEDS_CARD, "The account is not connected yet.")
    if (
        not status.is_historical_sync
        and _newer(connection.succeeded_at, baseline_succeeded_at, baseline_failed_at)
    ):
        return Assessment(SyncVerdict.DONE, "The historical sync has finished.")
    if _newer(connection.failed_at, baseline_failed_at, baseline_succeeded_at, connection.succeeded_at):
        warnings = "; ".join(w.message or w.code for w in status.warnings)
        return Assessment(
            SyncVerdict.FAILED_RETRYING,
            "The sync failed, Fivetran is retrying" + (f": {warnings}" if warnings else "."),
        )
    if connection.paused:
        return Assessment(SyncVerdict.PAUSED, "The connection is paused.")
    if status.sync_state == "rescheduled":
        when = status.rescheduled_for.strftime("%H:%M UTC") if status.rescheduled_for else "later"
        return Assessment(
            SyncVerdict.RESCHEDULED, f"Waiting for the source's API quota; Fivetran resumes at {when}."
        )
    if status.sync_state == "syncing":
        return Assessment(SyncVerdict.IN_PROGRESS, "Fivetran is copying the history.")
    return Assessment(SyncVerdict.IN_PROGRESS, "The sync is scheduled to start.")
