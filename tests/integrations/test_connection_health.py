"""A connection's health from its mirrored state: every kind, and which wins when several apply."""

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from connectors.fivetran import parse_connection
from integrations.connection.health import EndedSync, Health, connection_health
from integrations.connection.mirrored import MirroredConnection, Notice
from integrations.models import Integration
from integrations.vocabulary import (
    CONNECTION_HEALTH_EXPLANATIONS,
    CONNECTION_HEALTH_LABELS,
    ConnectionHealth,
    SyncStatus,
)
from tests.support.paths import FIVETRAN_FIXTURES

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)

# Synced an hour ago on the default six-hour schedule: nothing to say.
HEALTHY = MirroredConnection(
    setup_state="connected",
    sync_state="scheduled",
    update_state="on_schedule",
    schedule_type="auto",
    sync_frequency=360,
    succeeded_at=NOW - HOUR,
)
RECONNECT = (Notice("reconnect", "Reconnect"),)
BROKEN = replace(HEALTHY, setup_state="broken", tasks=RECONNECT, failed_at=NOW - HOUR / 2)
FAILED = replace(HEALTHY, failed_at=NOW - HOUR / 2, update_state="delayed")
REVOKED = EndedSync(SyncStatus.FAILED, "Access token was revoked", ended_at=NOW - HOUR / 2)
QUOTA = EndedSync(SyncStatus.RESCHEDULED, "Source API quota exhausted", ended_at=NOW - HOUR / 2)


def explained(kind: ConnectionHealth) -> tuple[ConnectionHealth, str]:
    return kind, CONNECTION_HEALTH_EXPLANATIONS[kind]


K = ConnectionHealth
CASES = [
    # (id, state, last sync, expected (kind, reason))
    ("healthy", HEALTHY, None, explained(K.HEALTHY)),
    ("healthy after an older failure", replace(HEALTHY, failed_at=NOW - 2 * HOUR), REVOKED, explained(K.HEALTHY)),
    # deleted
    ("deleted", replace(HEALTHY, deleted=True), None, explained(K.DELETED)),
    ("deleted beats broken", replace(BROKEN, deleted=True), REVOKED, explained(K.DELETED)),
    # broken
    ("broken says the task", BROKEN, None, (K.BROKEN, "Reconnect")),
    ("broken says why the last sync failed", BROKEN, REVOKED, (K.BROKEN, "Access token was revoked")),
    ("broken without words", replace(BROKEN, tasks=()), None, explained(K.BROKEN)),
    ("incomplete with a task", replace(HEALTHY, setup_state="incomplete", tasks=RECONNECT), None, (K.BROKEN, "Reconnect")),
    ("connected with a task", replace(HEALTHY, tasks=RECONNECT), None, (K.BROKEN, "Reconnect")),
    (
        "tasks said once each",
        replace(BROKEN, tasks=(*RECONNECT, Notice("reconnect", "Reconnect"), Notice("update_key", ""))),
        None,
        (K.BROKEN, "Reconnect; update_key"),
    ),
    ("broken beats paused (Fivetran pauses it)", replace(BROKEN, paused=True, sync_state="paused"), None, (K.BROKEN, "Reconnect")),
    ("broken beats not set up", replace(BROKEN, succeeded_at=None), None, (K.BROKEN, "Reconnect")),
    # not set up
    ("never read from Fivetran", MirroredConnection(), None, explained(K.NOT_SET_UP)),
    (
        "on the Connect Card (paused, incomplete)",
        replace(HEALTHY, setup_state="incomplete", paused=True, sync_state="paused", succeeded_at=None),
        None,
        explained(K.NOT_SET_UP),
    ),
    (
        "connected, paused by the set-up, never synced",
        replace(HEALTHY, paused=True, sync_state="paused", succeeded_at=None),
        None,
        explained(K.NOT_SET_UP),
    ),
    ("first sync scheduled", replace(HEALTHY, succeeded_at=None), None, explained(K.NOT_SET_UP)),
    ("unknown setup_state", replace(HEALTHY, setup_state="unknown"), None, explained(K.NOT_SET_UP)),
    # paused
    ("paused", replace(HEALTHY, paused=True, sync_state="paused"), None, explained(K.PAUSED)),
    ("paused beats failing", replace(FAILED, paused=True, sync_state="paused"), REVOKED, explained(K.PAUSED)),
    (
        "paused beats stale",
        replace(HEALTHY, paused=True, sync_state="paused", succeeded_at=NOW - 30 * 24 * HOUR),
        None,
        explained(K.PAUSED),
    ),
    # syncing
    ("syncing", replace(HEALTHY, sync_state="syncing"), None, explained(K.SYNCING)),
    (
        "the historical sync runs",
        replace(HEALTHY, sync_state="syncing", succeeded_at=None, is_historical_sync=True),
        None,
        explained(K.SYNCING),
    ),
    ("syncing beats failing", replace(FAILED, sync_state="syncing"), REVOKED, explained(K.SYNCING)),
    ("syncing beats stale", replace(HEALTHY, sync_state="syncing", succeeded_at=NOW - 72 * HOUR), None, explained(K.SYNCING)),
    # failing
    ("failing says Fivetran's reason", FAILED, REVOKED, (K.FAILING, "Access token was revoked")),
    (
        "failing says a warning without a reason",
        replace(FAILED, warnings=(Notice("sync_failed", "Emulated sync failure"),)),
        None,
        (K.FAILING, "Emulated sync failure"),
    ),
    ("failing without words", FAILED, None, explained(K.FAILING)),
    (
        "an older failure's reason does not explain a newer one",
        FAILED,
        replace(REVOKED, ended_at=NOW - 2 * HOUR),
        explained(K.FAILING),
    ),
    ("a rescheduled sync is no failure's reason", FAILED, QUOTA, explained(K.FAILING)),
    ("a cancelled sync's reason", FAILED, EndedSync(SyncStatus.CANCELLED, "Canceled by user"), (K.FAILING, "Canceled by user")),
    ("never succeeded, failed", replace(FAILED, succeeded_at=None), REVOKED, (K.FAILING, "Access token was revoked")),
    ("failing beats delayed", replace(FAILED, sync_state="rescheduled", rescheduled_for=NOW + HOUR), REVOKED, (K.FAILING, REVOKED.reason)),
    (
        "failing beats stale",
        replace(FAILED, succeeded_at=NOW - 72 * HOUR, failed_at=NOW - HOUR),
        None,
        explained(K.FAILING),
    ),
    # delayed
    (
        "rescheduled says Fivetran's reason",
        replace(HEALTHY, sync_state="rescheduled", rescheduled_for=NOW + HOUR),
        QUOTA,
        (K.DELAYED, "Source API quota exhausted"),
    ),
    ("rescheduled without words", replace(HEALTHY, sync_state="rescheduled"), None, explained(K.DELAYED)),
    ("data late", replace(HEALTHY, update_state="delayed"), None, explained(K.DELAYED)),
    (
        "the historical sync rescheduled",
        replace(HEALTHY, sync_state="rescheduled", succeeded_at=None, rescheduled_for=NOW + HOUR),
        QUOTA,
        (K.DELAYED, "Source API quota exhausted"),
    ),
    (
        "delayed beats stale",
        replace(HEALTHY, sync_state="rescheduled", succeeded_at=NOW - 72 * HOUR),
        None,
        explained(K.DELAYED),
    ),
    # stale: 24 h, or two sync periods when longer
    ("stale after a day", replace(HEALTHY, succeeded_at=NOW - 25 * HOUR), None, explained(K.STALE)),
    ("stale at exactly a day", replace(HEALTHY, succeeded_at=NOW - 24 * HOUR), None, explained(K.STALE)),
    ("not stale within a day", replace(HEALTHY, succeeded_at=NOW - 23 * HOUR), None, explained(K.HEALTHY)),
    ("daily: not stale within two days", replace(HEALTHY, sync_frequency=1440, succeeded_at=NOW - 47 * HOUR), None, explained(K.HEALTHY)),
    ("daily: stale after two days", replace(HEALTHY, sync_frequency=1440, succeeded_at=NOW - 49 * HOUR), None, explained(K.STALE)),
    ("no frequency: a day", replace(HEALTHY, sync_frequency=None, succeeded_at=NOW - 25 * HOUR), None, explained(K.STALE)),
]


@pytest.mark.parametrize("state, last_sync, expected", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_health(state, last_sync, expected):
    health = connection_health(state, now=NOW, last_sync=last_sync)
    assert (health.kind, health.reason) == expected
    assert health.label == CONNECTION_HEALTH_LABELS[expected[0]]


def test_every_kind_is_covered():
    assert {expected[0] for *_, expected in CASES} == set(ConnectionHealth)


def fixture_connection(name: str):
    return parse_connection(json.loads((FIVETRAN_FIXTURES / f"GET_connections_ID.{name}.json").read_text())["data"])


@pytest.mark.parametrize(
    "name, kind",
    [
        ("1_created_incomplete", K.NOT_SET_UP),
        ("2_connected_paused", K.NOT_SET_UP),
        ("3_unpaused_scheduled", K.NOT_SET_UP),
        ("4_historical_syncing", K.SYNCING),
        ("5_historical_done", K.HEALTHY),
        ("6_sync_failed_retrying", K.FAILING),
        ("7_broken_needs_action", K.BROKEN),
        ("8_rescheduled", K.DELAYED),
    ],
)
def test_health_of_each_stage_fivetran_reports(name, kind):
    connection = fixture_connection(name)
    # Just after the fixtures' syncs, so none is stale.
    now = (connection.succeeded_at or connection.failed_at or connection.created_at) + HOUR
    assert connection_health(connection, now=now).kind is kind


def test_the_same_health_from_the_client_s_connection_and_from_the_integration_s_mirror():
    connection = fixture_connection("7_broken_needs_action")
    integration = Integration(**MirroredConnection.from_connection(connection).columns())
    from_client = connection_health(connection, now=NOW)
    assert from_client == connection_health(integration, now=NOW) == Health(K.BROKEN, "Reconnect")


def test_an_integration_already_deleted_on_fivetran_s_side_stays_deleted():
    integration = Integration(**HEALTHY.columns(), health=K.DELETED)
    assert connection_health(integration, now=NOW).kind is K.DELETED
