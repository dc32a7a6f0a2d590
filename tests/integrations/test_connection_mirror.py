"""Mirroring Fivetran's connection on the Integration: fields, health and one `connection.updated` event
when something moved, against the real database (and, end to end, the Fivetran emulator)."""

import asyncio
import json
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from connectors.catalogue import get_catalogue
from connectors.fivetran import FivetranClient, FivetranError, parse_connection
from integrations.connection.mirror import mirror_connection, mirror_connection_gone
from integrations.connection.syncs import record_sync
from integrations.models import Integration, IntegrationEvent
from integrations.state.event_schemas import frame_schema
from integrations.state.events import envelope, group_name, publish
from integrations.vocabulary import CONNECTION_HEALTH_EXPLANATIONS, ConnectionHealth
from tests.support.fivetran_fixtures import GROUP_ID
from tests.support.flow_fixtures import new_integration
from tests.support.paths import FIVETRAN_FIXTURES

UTC = timezone.utc
HOUR = timedelta(hours=1)


def connection(stage: str, **changes):
    """A connection as Fivetran reports it at `stage` (tests/fixtures/fivetran), with top-level changes."""
    data = json.loads((FIVETRAN_FIXTURES / f"GET_connections_ID.{stage}.json").read_text())["data"]
    return parse_connection({**data, **changes})


def webhook(name: str) -> dict:
    return json.loads((FIVETRAN_FIXTURES / f"webhook_payload.{name}.json").read_text())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


DONE = connection("5_historical_done")
AFTER_DONE = DONE.succeeded_at + HOUR


def valid_frames(events: list[IntegrationEvent]) -> list[dict]:
    frames = [envelope(event) for event in events]
    for frame in frames:
        jsonschema.validate(frame, frame_schema(frame["type"]))
    return frames


@pytest.fixture
def integration(team_user) -> Integration:
    return new_integration(*team_user, "hubspot")


@pytest.mark.django_db
def test_the_first_look_mirrors_fivetran_and_tells_watchers_once(integration):
    result = mirror_connection(integration.pk, DONE, now=AFTER_DONE)

    integration.refresh_from_db()
    assert (integration.setup_state, integration.sync_state, integration.update_state) == ("connected", "scheduled", "on_schedule")
    assert (integration.paused, integration.schedule_type, integration.sync_frequency) == (False, "auto", 360)
    assert (integration.succeeded_at, integration.failed_at) == (DONE.succeeded_at, None)
    assert (integration.is_historical_sync, integration.tasks, integration.warnings) == (False, [], [])
    assert integration.status_checked_at == AFTER_DONE
    assert (integration.health, integration.health_reason) == ("healthy", CONNECTION_HEALTH_EXPLANATIONS[ConnectionHealth.HEALTHY])
    assert result.health.kind is ConnectionHealth.HEALTHY
    assert {"setup_state", "sync_state", "succeeded_at", "health"} <= set(result.changed)

    [frame] = valid_frames(result.events)
    assert frame["type"] == "connection.updated" and frame["seq"] == integration.last_seq
    assert frame["data"] == {
        "health": "healthy",
        "health_label": "Healthy",
        "reason": CONNECTION_HEALTH_EXPLANATIONS[ConnectionHealth.HEALTHY],
        "sync_state": "scheduled",
        "paused": False,
        "sync_frequency": 360,
        "succeeded_at": "2026-05-12T10:07:52.884Z",
        "failed_at": None,
        "next_sync_at": "2026-05-12T16:07:52.884Z",
    }


@pytest.mark.django_db
def test_the_same_connection_again_moves_nothing_and_writes_no_event(integration):
    mirror_connection(integration.pk, DONE, now=AFTER_DONE)
    later = AFTER_DONE + HOUR

    again = mirror_connection(integration.pk, DONE, now=later)

    assert (again.changed, again.events) == ({}, [])
    integration.refresh_from_db()
    assert integration.status_checked_at == later  # looked at, though nothing moved
    assert IntegrationEvent.objects.filter(integration=integration, type="connection.updated").count() == 1


@pytest.mark.django_db
def test_a_moved_field_is_reported_with_the_new_health(integration):
    mirror_connection(integration.pk, DONE, now=AFTER_DONE)

    result = mirror_connection(integration.pk, connection("5_historical_done", paused=True), now=AFTER_DONE)

    assert result.changed == {
        "paused": True,
        "health": "paused",
        "health_reason": CONNECTION_HEALTH_EXPLANATIONS[ConnectionHealth.PAUSED],
    }
    [frame] = valid_frames(result.events)
    assert (frame["data"]["health"], frame["data"]["paused"], frame["data"]["next_sync_at"]) == ("paused", True, None)


@pytest.mark.django_db
def test_time_alone_makes_a_connection_stale(integration):
    mirror_connection(integration.pk, DONE, now=AFTER_DONE)

    result = mirror_connection(integration.pk, DONE, now=DONE.succeeded_at + 25 * HOUR)

    assert set(result.changed) == {"health", "health_reason"}
    [frame] = valid_frames(result.events)
    assert (frame["data"]["health"], frame["data"]["health_label"]) == ("stale", "Out of date")


@pytest.mark.django_db
def test_a_break_reads_in_fivetran_s_words_from_its_sync_end(integration):
    # The order a caller keeps: record the webhook, then mirror the status it made it read.
    mirror_connection(integration.pk, DONE, now=AFTER_DONE)
    payload = webhook("sync_end.failure_with_task")
    record_sync(
        integration.pk,
        event=payload["event"],
        sync_id=payload["sync_id"],
        status=payload["data"]["status"],
        reason=payload["data"]["reason"],
        at=at(payload["created"]),
    )
    broken = connection("7_broken_needs_action")

    result = mirror_connection(integration.pk, broken, now=broken.failed_at + HOUR)

    [frame] = valid_frames(result.events)
    assert (frame["data"]["health"], frame["data"]["reason"]) == ("broken", "Example: access token was revoked")
    integration.refresh_from_db()
    assert integration.tasks == [{"code": "reconnect", "message": "Reconnect"}]
    assert integration.health_reason == "Example: access token was revoked"


@pytest.mark.django_db
def test_a_connection_gone_from_fivetran_is_deleted_and_keeps_its_last_mirror(integration):
    mirror_connection(integration.pk, DONE, now=AFTER_DONE)

    gone = mirror_connection_gone(integration.pk, now=AFTER_DONE)
    again = mirror_connection_gone(integration.pk, now=AFTER_DONE + HOUR)

    assert set(gone.changed) == {"health", "health_reason"}
    [frame] = valid_frames(gone.events)
    assert (frame["data"]["health"], frame["data"]["next_sync_at"]) == ("deleted", None)
    assert (again.changed, again.events) == ({}, [])
    integration.refresh_from_db()
    assert (integration.health, integration.succeeded_at, integration.sync_frequency) == ("deleted", DONE.succeeded_at, 360)


@pytest.mark.django_db
def test_a_missing_integration_raises_and_writes_nothing():
    with pytest.raises(Integration.DoesNotExist):
        mirror_connection(0, DONE, now=AFTER_DONE)
    assert not IntegrationEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_watchers_hear_the_event_once_it_is_committed(integration):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(group_name(integration.pk), channel)
    try:
        result = await sync_to_async(mirror_connection)(integration.pk, DONE, now=AFTER_DONE)
        await publish(result.events)
        message = await asyncio.wait_for(layer.receive(channel), timeout=5)
    finally:
        await layer.group_discard(group_name(integration.pk), channel)
    assert message["event"] == envelope(result.events[0])
    jsonschema.validate(message["event"], frame_schema("connection.updated"))


# --- end to end: what the client reads from the emulator ----------------------------------------


@pytest_asyncio.fixture(loop_scope="function")
async def client(emulator):
    fivetran = FivetranClient(emulator.api_url, emulator.api_key, emulator.api_secret, timeout=5.0, backoff_base=0.01)
    yield fivetran
    await fivetran.aclose()


async def until(read, done, *, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await read()
        if done(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.2)


@pytest.mark.django_db(transaction=True)
async def test_a_connection_s_life_read_from_the_emulator(client, emulator, team_user):
    integration = await sync_to_async(new_integration)(*team_user, "hubspot")
    created, _ = await client.create_connection(
        group_id=GROUP_ID,
        service=get_catalogue().get("hubspot"),
        schema_name=integration.schema_name,
        redirect_uri="http://127.0.0.1:8000/return",
    )

    async def health_after_mirroring(connection) -> ConnectionHealth:
        return (await sync_to_async(mirror_connection)(integration.pk, connection)).health.kind

    assert await health_after_mirroring(created) is ConnectionHealth.NOT_SET_UP
    emulator.complete_card(created.id)
    await client.update_connection(created.id, paused=False, sync_frequency=60)
    synced = await until(lambda: client.get_connection(created.id), lambda c: c.succeeded_at is not None)
    assert await health_after_mirroring(synced) is ConnectionHealth.HEALTHY
    assert (await Integration.objects.aget(pk=integration.pk)).sync_frequency == 60

    assert await health_after_mirroring(await client.set_paused(created.id, True)) is ConnectionHealth.PAUSED

    await client.delete_connection(created.id)
    with pytest.raises(FivetranError) as raised:
        await client.get_connection(created.id)
    assert raised.value.connection_missing
    gone = await sync_to_async(mirror_connection_gone)(integration.pk)
    assert gone.health.kind is ConnectionHealth.DELETED
    types = [event.type async for event in IntegrationEvent.objects.filter(integration=integration).order_by("seq")]
    assert types == ["connection.updated"] * 4
