"""The websocket contract (docs/reference/event-protocol.md) on the real consumer and channel layer."""

import asyncio
import json

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import transaction

from connectors.catalogue import get_catalogue
from consumers.integration import IntegrationConsumer
from integrations.setup.flow import integration_create
from integrations.state.event_schemas import ERROR_FRAME, frame_schema
from integrations.state.events import append_event, publish
from teams.models import Team

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def make_member_and_integration(service="hubspot"):
    user = get_user_model().objects.create_user(username=f"u{Team.objects.count()}", password="pw")
    team = Team.objects.create(name="T")
    team.members.add(user)
    integration = integration_create(team=team, user=user, service=get_catalogue().get(service))
    return user, integration


@sync_to_async
def make_outsider():
    user = get_user_model().objects.create_user(username=f"out{Team.objects.count()}", password="pw")
    Team.objects.create(name="Other").members.add(user)
    return user


def _append(integration_id: int, count: int, start: int = 0):
    with transaction.atomic():
        return [
            append_event(integration_id, "step.progress", {"step": "historical_sync", "done": start + i, "total": None, "unit": "tables", "message": ""})
            for i in range(count)
        ]


async def emit(integration_id: int, count: int = 1, start: int = 0):
    """Write events the way the services do (rows in a transaction), then ring after commit."""
    events = await sync_to_async(_append)(integration_id, count, start)
    await publish(events)
    return events


def communicator(user, integration_id, query: str = "") -> WebsocketCommunicator:
    path = f"/ws/integrations/{integration_id}/" + (f"?since={query}" if query != "" else "")
    comm = WebsocketCommunicator(IntegrationConsumer.as_asgi(), path)
    comm.scope["user"] = user
    comm.scope["url_route"] = {"kwargs": {"integration_id": str(integration_id)}}
    return comm


async def receive(comm, timeout=3.0) -> dict:
    frame = json.loads(await comm.receive_from(timeout=timeout))
    if frame.get("type") != "error":
        jsonschema.validate(frame, frame_schema(frame["type"]))
    return frame


async def closed_with(comm) -> int:
    connected, _ = await comm.connect()
    assert connected  # custom close codes only exist after accept
    message = await comm.receive_output(timeout=3)
    assert message["type"] == "websocket.close"
    # End the consumer as the server would: left running, its task can block the loop's teardown.
    await comm.disconnect()
    return message["code"]


async def test_anonymous_is_closed_4401():
    from django.contrib.auth.models import AnonymousUser

    _, integration = await make_member_and_integration()
    assert await closed_with(communicator(AnonymousUser(), integration.pk)) == 4401


async def test_other_team_and_missing_integration_are_indistinguishable():
    _, integration = await make_member_and_integration()
    outsider = await make_outsider()
    assert await closed_with(communicator(outsider, integration.pk)) == 4404
    assert await closed_with(communicator(outsider, 999999)) == 4404
    assert await closed_with(communicator(outsider, "not-a-number")) == 4404


async def test_connect_without_since_sends_one_snapshot_then_live_events():
    user, integration = await make_member_and_integration()
    await emit(integration.pk, 2)
    comm = communicator(user, integration.pk)
    assert (await comm.connect())[0]
    snapshot = await receive(comm)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 2 and snapshot["data"]["reset"] is False
    assert [step["name"] for step in snapshot["data"]["steps"]][0] == "create_connection"
    await emit(integration.pk, 1)
    live = await receive(comm)
    assert (live["type"], live["seq"]) == ("step.progress", 3)
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_since_replays_missed_events_in_order():
    user, integration = await make_member_and_integration()
    events = await emit(integration.pk, 5)
    comm = communicator(user, integration.pk, "2")
    await comm.connect()
    frames = [await receive(comm) for _ in range(3)]
    assert [f["seq"] for f in frames] == [3, 4, 5]
    assert [f["id"] for f in frames] == [str(e.uuid) for e in events[2:]]
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


@pytest.mark.parametrize("since", ["99", "-1", "abc"])
async def test_unknown_since_gets_a_reset_snapshot(since):
    user, integration = await make_member_and_integration()
    await emit(integration.pk, 2)
    comm = communicator(user, integration.pk, since)
    await comm.connect()
    frame = await receive(comm)
    assert frame["type"] == "snapshot" and frame["data"]["reset"] is True and frame["seq"] == 2
    await comm.disconnect()


async def test_no_event_lost_or_duplicated_while_connecting_during_a_burst():
    user, integration = await make_member_and_integration()
    await emit(integration.pk, 3)
    total = 60

    async def burst():
        for i in range(total - 3):
            await emit(integration.pk, 1, start=i)
            await asyncio.sleep(0)

    comm = communicator(user, integration.pk, "1")
    producer = asyncio.ensure_future(burst())
    await comm.connect()
    seen = []
    while len(seen) < total - 1:
        seen.append((await receive(comm, timeout=5))["seq"])
    await producer
    assert seen == list(range(2, total + 1))
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_a_lost_doorbell_is_filled_from_the_rows():
    user, integration = await make_member_and_integration()
    comm = communicator(user, integration.pk)
    await comm.connect()
    assert (await receive(comm))["seq"] == 0
    await sync_to_async(_append)(integration.pk, 2)  # written, but nobody rang
    await emit(integration.pk, 1)
    assert [(await receive(comm))["seq"] for _ in range(3)] == [1, 2, 3]
    await comm.disconnect()


async def test_a_lost_doorbell_for_the_last_event_is_recovered_without_a_later_one(settings):
    settings.SETUP_HEARTBEAT_SECONDS = 0.2
    user, integration = await make_member_and_integration()
    comm = communicator(user, integration.pk)
    await comm.connect()
    assert (await receive(comm))["seq"] == 0
    await sync_to_async(_append)(integration.pk, 1)  # committed, but the doorbell never rang
    frame = await receive(comm, timeout=2)
    while frame["type"] == "heartbeat":
        frame = await receive(comm, timeout=2)
    assert (frame["type"], frame["seq"]) == ("step.progress", 1)
    await comm.disconnect()


async def test_ping_gets_a_heartbeat_and_a_bad_frame_an_error_without_closing():
    user, integration = await make_member_and_integration()
    comm = communicator(user, integration.pk)
    await comm.connect()
    await receive(comm)
    await comm.send_to(text_data='{"type": "ping"}')
    heartbeat = await receive(comm)
    assert heartbeat["type"] == "heartbeat" and "seq" not in heartbeat
    await comm.send_to(text_data="not json")
    error = await receive(comm)
    jsonschema.validate(error, ERROR_FRAME)
    assert error["data"]["code"] == "bad_request"
    await comm.send_to(text_data='{"type": "ping"}')
    assert (await receive(comm))["type"] == "heartbeat"
    await comm.disconnect()


async def test_idle_socket_gets_heartbeats(settings):
    settings.SETUP_HEARTBEAT_SECONDS = 0.2
    user, integration = await make_member_and_integration()
    comm = communicator(user, integration.pk)
    await comm.connect()
    await receive(comm)
    assert (await receive(comm, timeout=2))["type"] == "heartbeat"
    await comm.disconnect()


async def test_a_flooding_client_is_closed_4429():
    user, integration = await make_member_and_integration()
    comm = communicator(user, integration.pk)
    await comm.connect()
    await receive(comm)
    for _ in range(100):
        await comm.send_to(text_data='{"type": "ping"}')
    while True:
        message = await comm.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            assert message["code"] == 4429
            break
    await comm.disconnect()


async def test_a_foreign_origin_is_refused_by_the_application():
    from gyana.asgi import websocket_app

    _, integration = await make_member_and_integration()
    comm = WebsocketCommunicator(
        websocket_app, f"/ws/integrations/{integration.pk}/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, _ = await comm.connect()
    assert not connected
    # The refusing consumer (channels' WebsocketDenier) is still listening on the channel layer: end
    # it here rather than leave a blocking Redis receive for the loop's teardown to cancel.
    await comm.disconnect()
