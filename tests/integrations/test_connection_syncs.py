"""Fivetran's sync webhooks recorded as `Sync` rows with their events, idempotently, on the real database."""

import json
import threading
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
from django.db import IntegrityError, close_old_connections, transaction

from integrations.connection.syncs import SYNC_ASKED_WINDOW, record_sync, sync_asked_not_seen
from integrations.models import Integration, IntegrationEvent, Sync
from integrations.state.event_schemas import frame_schema
from integrations.state.events import append_event, envelope
from tests.support.flow_fixtures import new_integration
from tests.support.paths import FIVETRAN_FIXTURES

T0 = datetime(2026, 5, 12, 9, 31, 45, 201000, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
SYNC_ID = "6f1d2c8e-4b7a-4e35-9d0a-2f5c1b7e9a44"


@pytest.fixture
def integration(team_user) -> Integration:
    return new_integration(*team_user, "hubspot")


def webhook(integration: Integration, name: str):
    """Record one of the reference webhook payloads (tests/fixtures/fivetran) as a caller would."""
    payload = json.loads((FIVETRAN_FIXTURES / f"webhook_payload.{name}.json").read_text())
    data = payload.get("data") or {}
    return record_sync(
        integration.pk,
        event=payload["event"],
        sync_id=payload.get("sync_id") or "",
        status=data.get("status") or "",
        reason=data.get("reason") or "",
        at=datetime.fromisoformat(payload["created"]),
    )


def start(integration, at=T0, sync_id=SYNC_ID):
    return record_sync(integration.pk, event="sync_start", sync_id=sync_id, at=at)


def end(integration, status="SUCCESSFUL", at=T0 + 10 * MINUTE, sync_id=SYNC_ID, reason=""):
    return record_sync(integration.pk, event="sync_end", sync_id=sync_id, status=status, reason=reason, at=at)


def frames(integration) -> list[dict]:
    events = IntegrationEvent.objects.filter(integration=integration).order_by("seq")
    result = [envelope(event) for event in events]
    for frame in result:
        jsonschema.validate(frame, frame_schema(frame["type"]))
    return result


def types(integration) -> list[str]:
    return [frame["type"] for frame in frames(integration)]


pytestmark = pytest.mark.django_db


def test_a_sync_from_start_to_end_is_one_row_and_two_events(integration):
    started = webhook(integration, "sync_start")
    ended = webhook(integration, "sync_end.successful")

    sync = Sync.objects.get(integration=integration)
    assert started.sync.pk == ended.sync.pk == sync.pk
    assert (sync.sync_id, sync.status, sync.reason) == (SYNC_ID, "successful", "")
    assert (sync.started_at, sync.ended_at) == (T0, datetime(2026, 5, 12, 10, 7, 53, 21000, tzinfo=timezone.utc))
    assert types(integration) == ["sync.started", "sync.completed"]
    assert frames(integration)[-1]["data"] == {
        "id": sync.pk,
        "sync_id": SYNC_ID,
        "status": "successful",
        "started_at": "2026-05-12T09:31:45.201Z",
        "ended_at": "2026-05-12T10:07:53.021Z",
        "reason": "",
    }


@pytest.mark.parametrize(
    "name, status, event, reason",
    [
        ("sync_end.failure_with_task", "failed", "sync.failed", "Example: access token was revoked"),
        ("sync_end.rescheduled", "rescheduled", "sync.completed", "Example: source API quota exhausted"),
    ],
)
def test_an_end_keeps_fivetran_s_status_and_words(integration, name, status, event, reason):
    start(integration)
    webhook(integration, name)
    sync = Sync.objects.get(integration=integration)
    assert (sync.status, sync.reason) == (status, reason)
    assert types(integration) == ["sync.started", event]
    assert frames(integration)[-1]["data"]["reason"] == reason


@pytest.mark.parametrize(
    "fivetran, ours, event",
    [("CANCELED", "cancelled", "sync.failed"), ("FAILURE", "failed", "sync.failed"), ("NEW_STATUS", "failed", "sync.failed")],
)
def test_every_other_end_is_a_failure(integration, fivetran, ours, event):
    start(integration)
    end(integration, fivetran, reason="Fivetran's words")
    assert Sync.objects.get(integration=integration).status == ours
    assert types(integration)[-1] == event


def test_the_same_webhooks_twice_make_one_row_and_one_event_each(integration):
    for _ in range(2):
        webhook(integration, "sync_start")
    for _ in range(2):
        repeat = webhook(integration, "sync_end.failure_with_task")
    assert repeat.events == []
    assert Sync.objects.filter(integration=integration).count() == 1
    assert types(integration) == ["sync.started", "sync.failed"]


def test_an_end_whose_start_was_missed_still_makes_its_row(integration):
    webhook(integration, "sync_end.successful")
    sync = Sync.objects.get(integration=integration)
    assert (sync.status, sync.started_at) == ("successful", None)
    assert types(integration) == ["sync.completed"]


def test_a_start_delivered_after_its_end_fills_in_the_start_and_says_nothing(integration):
    end(integration, at=T0 + 10 * MINUTE)
    late = start(integration, at=T0)
    sync = Sync.objects.get(integration=integration)
    assert late.events == []
    assert (sync.status, sync.started_at, sync.ended_at) == ("successful", T0, T0 + 10 * MINUTE)
    assert types(integration) == ["sync.completed"]


def test_a_rescheduled_sync_carrying_on_under_its_id_runs_again(integration):
    start(integration, at=T0)
    end(integration, "RESCHEDULED", at=T0 + MINUTE, reason="quota")
    start(integration, at=T0 + 60 * MINUTE)
    sync = Sync.objects.get(integration=integration)
    assert (sync.status, sync.ended_at, sync.reason, sync.started_at) == ("running", None, "", T0)
    end(integration, at=T0 + 70 * MINUTE)
    assert Sync.objects.get(integration=integration).status == "successful"
    assert types(integration) == ["sync.started", "sync.completed", "sync.started", "sync.completed"]


def test_a_later_end_of_the_same_sync_wins_and_an_older_one_changes_nothing(integration):
    start(integration)
    end(integration, "FAILURE", at=T0 + 5 * MINUTE, reason="timeout")
    end(integration, "SUCCESSFUL", at=T0 + 9 * MINUTE)  # Fivetran retried it
    stale = end(integration, "FAILURE", at=T0 + 5 * MINUTE, reason="timeout")  # the first end, redelivered
    sync = Sync.objects.get(integration=integration)
    assert stale.events == []
    assert (sync.status, sync.reason, sync.ended_at) == ("successful", "", T0 + 9 * MINUTE)
    assert types(integration) == ["sync.started", "sync.failed", "sync.completed"]


def test_webhooks_without_a_sync_id_pair_up_by_time(integration):
    for _ in range(2):
        start(integration, at=T0, sync_id="")
    for _ in range(2):
        end(integration, at=T0 + 3 * MINUTE, sync_id="")
    start(integration, at=T0 + 60 * MINUTE, sync_id="")

    first, second = Sync.objects.filter(integration=integration).order_by("pk")
    assert (first.sync_id, first.status, first.started_at, first.ended_at) == ("", "successful", T0, T0 + 3 * MINUTE)
    assert (second.status, second.started_at) == ("running", T0 + 60 * MINUTE)
    assert types(integration) == ["sync.started", "sync.completed", "sync.started"]
    assert frames(integration)[0]["data"]["sync_id"] is None


def test_each_integration_has_its_own_syncs(integration, team_user):
    other = new_integration(*team_user, "hubspot")
    start(integration)
    start(other)
    assert Sync.objects.filter(sync_id=SYNC_ID).count() == 2
    # Fivetran's id is unique within one integration: the database refuses a second row.
    with pytest.raises(IntegrityError), transaction.atomic():
        Sync.objects.create(integration=integration, sync_id=SYNC_ID)
    # Without an id there is nothing to be unique about.
    Sync.objects.create(integration=integration)
    Sync.objects.create(integration=integration)


def test_a_long_reason_is_cut_and_other_events_are_refused(integration):
    start(integration)
    end(integration, "FAILURE", reason="x" * 10_000)
    assert len(Sync.objects.get(integration=integration).reason) == 2000
    with pytest.raises(ValueError):
        record_sync(integration.pk, event="pause_connector", at=T0)
    with pytest.raises(Integration.DoesNotExist):
        record_sync(0, event="sync_start", sync_id=SYNC_ID, at=T0)


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_a_webhook_at_once_make_one_row_and_one_event(integration):
    # Fivetran's retry and its first delivery, or an activity run twice, on two connections at once.
    barrier = threading.Barrier(4)
    failures = []

    def deliver():
        try:
            barrier.wait(timeout=30)
            webhook(integration, "sync_end.failure_with_task")
        except Exception as error:  # reported below: a thread's exception would be lost
            failures.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert Sync.objects.filter(integration=integration).count() == 1
    assert types(integration) == ["sync.failed"]


@pytest.mark.django_db
def test_a_sync_asked_for_is_watched_until_one_shows(integration):
    """Without webhooks the life looks again soon after Sync now until a sync starts or ends (Fivetran
    starts it a moment after answering), not only at its regular six-hourly look."""
    now = datetime.now(timezone.utc)
    assert not sync_asked_not_seen(integration.pk, now)
    with transaction.atomic():
        append_event(integration.pk, "connection.action", {"action": "pause", "by": "ada", "message": "Paused"})
    assert not sync_asked_not_seen(integration.pk, now)  # a pause asks for no sync
    with transaction.atomic():
        append_event(integration.pk, "connection.action", {"action": "sync", "by": "ada", "message": "Sync started"})
    assert sync_asked_not_seen(integration.pk, now)
    assert not sync_asked_not_seen(integration.pk, now + 2 * SYNC_ASKED_WINDOW)  # asked long ago: given up
    record_sync(integration.pk, event="sync_start", at=datetime.now(timezone.utc))
    assert not sync_asked_not_seen(integration.pk, now)
