"""A connection's history as the product writes it, for the history tests: the set-up's transitions, the
sync records of Fivetran's webhooks and the mirror of its status (recorded fixtures under
tests/fixtures/fivetran), and the rows the connection's workflow writes for a person's action and after
a sync's tables changed."""

import json
from datetime import datetime, timedelta

from django.db import transaction

from connectors.fivetran import parse_connection
from integrations.connection.mirror import mirror_connection
from integrations.connection.syncs import record_sync
from integrations.models import SetupStep
from integrations.state import transitions
from integrations.state.events import append_event
from tests.support.paths import FIVETRAN_FIXTURES

HOUR = timedelta(hours=1)


def fixture(stage: str) -> dict:
    return json.loads((FIVETRAN_FIXTURES / f"GET_connections_ID.{stage}.json").read_text())["data"]


def fivetran_connection(stage: str, **changes):
    """A connection as Fivetran reports it at `stage` (tests/fixtures/fivetran), with top-level changes."""
    return parse_connection({**fixture(stage), **changes})


def webhook(name: str) -> dict:
    return json.loads((FIVETRAN_FIXTURES / f"webhook_payload.{name}.json").read_text())


def record_webhook(integration_id: int, name: str, **changes) -> None:
    payload = {**webhook(name), **changes}
    data = payload.get("data", {})
    record_sync(
        integration_id, event=payload["event"], sync_id=payload["sync_id"], status=data.get("status", ""),
        reason=data.get("reason", ""), at=datetime.fromisoformat(payload["created"]),
    )


@transaction.atomic
def person_acted(integration_id: int, action: str, by: str, message: str) -> None:
    # The row the connection's workflow writes after carrying out a person's action (life_activities).
    append_event(integration_id, "connection.action", {"action": action, "by": by, "message": message})


@transaction.atomic
def tables_changed(integration_id: int, added: list[str], removed: list[str], count: int) -> None:
    # The row integrations.connection.tables writes after a successful sync.
    append_event(
        integration_id, "tables.updated",
        {
            "count": count,
            "added": [{"dataset": "crm", "name": name} for name in added],
            "removed": [{"dataset": "crm", "name": name} for name in removed],
            "updated": [],
            "updated_count": 0,
        },
    )


def step(integration, name: str) -> int:
    return SetupStep.objects.get(integration=integration, name=name).pk


def set_up(integration) -> None:
    """The first steps of a set-up, with progress ticks, a wait for the user and a failed attempt."""
    created = step(integration, "create_connection")
    transitions.step_begin(created)
    transitions.step_progress(created, done=1, total=2, unit="calls", message="Asking Fivetran")
    transitions.step_complete(created, detail={}, message="Fivetran connection created")
    card = step(integration, "connect_card")
    transitions.step_begin(card)
    transitions.step_wait_for_user(card, kind="connect_card", url="https://fivetran.example/card", message="")
    transitions.step_complete(card, detail={})
    schema = step(integration, "load_schema")
    transitions.step_begin(schema)
    transitions.step_fail(schema, code="Unavailable", message="Fivetran could not read the source", retryable=True)


def life(integration) -> None:
    """After the set-up: healthy, a sync that fails and breaks the connection, a reconnect, a pause from
    Fivetran's side, a person's resume, Sync now, a change of tables and a sync that succeeds."""
    done = fivetran_connection("5_historical_done")
    mirror_connection(integration.pk, done, now=done.succeeded_at + HOUR)  # not set up -> healthy: no entry
    record_webhook(integration.pk, "sync_start")
    syncing = fivetran_connection("5_historical_done", status={**fixture("5_historical_done")["status"], "sync_state": "syncing"})
    mirror_connection(integration.pk, syncing, now=done.succeeded_at + HOUR)  # syncing passes by: no entry
    record_webhook(integration.pk, "sync_end.failure_with_task")
    broken = fivetran_connection("7_broken_needs_action")
    mirror_connection(integration.pk, broken, now=broken.failed_at + HOUR)
    recovered = fivetran_connection("5_historical_done", succeeded_at="2026-05-15T08:00:00.000Z")
    mirror_connection(integration.pk, recovered, now=recovered.succeeded_at + HOUR)
    paused = fivetran_connection("5_historical_done", succeeded_at="2026-05-15T08:00:00.000Z", paused=True)
    mirror_connection(integration.pk, paused, now=recovered.succeeded_at + HOUR)  # from Fivetran's dashboard
    # A person's resume: the workflow mirrors what it left, then says who did it (seq + 1).
    mirror_connection(integration.pk, recovered, now=recovered.succeeded_at + HOUR)
    person_acted(integration.pk, "resume", "ada", "Resumed")
    person_acted(integration.pk, "sync", "ada", "Sync started")
    person_acted(integration.pk, "schema", "bob", "Saved: 3 tables will be synced")
    record_webhook(integration.pk, "sync_start", sync_id="second", created="2026-05-15T09:00:00.000Z")
    record_webhook(integration.pk, "sync_end.successful", sync_id="second", created="2026-05-15T09:02:05.000Z")
    tables_changed(integration.pk, added=["deals", "owners"], removed=["tickets"], count=3)


def titles(page) -> list[tuple[str, str]]:
    return [(str(entry.kind), entry.title) for entry in page.entries]


EXPECTED = [  # newest first
    ("schema", "Tables changed"),
    ("sync", "Sync succeeded"),
    ("schema", "Tables synced changed"),
    ("action", "Sync now"),
    ("pause", "Resumed"),
    ("pause", "Paused"),
    ("health", "Recovered: Healthy"),
    ("health", "Needs reconnecting"),
    ("sync", "Sync failed"),
    ("setup", "Read the source's schema: failed"),
    ("setup", "Connect your account: done"),
    ("setup", "Connect your account: waiting for you"),
    ("setup", "Create the Fivetran connection: done"),
]
