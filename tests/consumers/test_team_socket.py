"""The team socket (/ws/integrations/) on the real consumer and channel layer: a snapshot of the
user's teams' integrations, then a line each time one changes; nothing of another team, and no
notifications (they have a socket of their own: test_notifications_socket.py)."""

import json

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import transaction

from connectors.catalogue import get_catalogue
from consumers.team import TeamConsumer
from integrations.models import Integration
from integrations.setup.flow import integration_create
from integrations.state.event_schemas import team_frame_schema
from integrations.state.events import append_event, publish
from notifications.kinds import user_group
from teams.models import Team

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def member_with_integrations(name: str, count: int):
    user = get_user_model().objects.create_user(username=name, password="pw")
    team = Team.objects.create(name=f"team of {name}")
    team.members.add(user)
    made = [integration_create(team=team, user=user, service=get_catalogue().get("hubspot")) for _ in range(count)]
    return user, made


def communicator(user, query: str = "") -> WebsocketCommunicator:
    comm = WebsocketCommunicator(TeamConsumer.as_asgi(), "/ws/integrations/" + query)
    comm.scope["user"] = user
    return comm


async def receive(comm) -> dict:
    frame = json.loads(await comm.receive_from(timeout=3))
    jsonschema.validate(frame, team_frame_schema(frame["type"]))
    return frame


@sync_to_async
def becomes_ready_and_healthy(integration_id: int):
    """What the connection's workflow does: the rows change and an event is written, in one transaction."""
    with transaction.atomic():
        Integration.objects.filter(pk=integration_id).update(state="ready", health="failing", health_reason="Token revoked")
        return [append_event(integration_id, "connection.updated", {
            "health": "failing", "health_label": "Sync failing", "reason": "Token revoked", "sync_state": "scheduled",
            "paused": False, "sync_frequency": 360, "succeeded_at": None, "failed_at": None, "next_sync_at": None,
        })]


async def test_snapshot_then_a_changed_line_and_nothing_of_another_team():
    alice, (first, second) = await member_with_integrations("alice-team", 2)
    bob, (theirs,) = await member_with_integrations("bob-team", 1)
    comm = communicator(alice)
    connected, _ = await comm.connect()
    assert connected
    snapshot = await receive(comm)
    assert snapshot["type"] == "snapshot" and snapshot["data"]["reset"] is False
    assert [line["id"] for line in snapshot["data"]["integrations"]] == [first.pk, second.pk]
    assert all(line["health"] is None and line["url"].endswith("/flow/") for line in snapshot["data"]["integrations"])

    await publish(await becomes_ready_and_healthy(theirs.pk))  # another team's: never shown
    await publish(await becomes_ready_and_healthy(second.pk))
    line = await receive(comm)
    assert line["type"] == "integration.summary"
    assert line["data"]["id"] == second.pk and line["data"]["state"] == "ready"
    assert line["data"]["health"] == "failing" and line["data"]["health_label"] == "Sync failing"
    assert line["data"]["reason"] == "Token revoked" and line["data"]["url"] == f"/integrations/{second.pk}/"
    assert await comm.receive_nothing(timeout=0.5)  # the same line again is not news
    await comm.disconnect()


async def test_anonymous_is_refused_and_since_gets_a_reset_snapshot():
    from django.contrib.auth.models import AnonymousUser

    comm = communicator(AnonymousUser())
    connected, _ = await comm.connect()
    assert connected
    closed = await comm.receive_output(timeout=3)
    assert closed["type"] == "websocket.close" and closed["code"] == 4401
    await comm.disconnect()  # end the consumer as the server would, before the loop's teardown

    alice, _ = await member_with_integrations("carol-team", 1)
    comm = communicator(alice, "?since=12")
    comm.scope["query_string"] = b"since=12"
    await comm.connect()
    assert (await receive(comm))["data"]["reset"] is True
    await comm.disconnect()


async def test_a_ring_of_the_users_notifications_is_not_for_this_socket():
    alice, _ = await member_with_integrations("dave-team", 1)
    comm = communicator(alice)
    await comm.connect()
    await receive(comm)
    # What notifications.delivery.services rings when a notification is raised for alice.
    await get_channel_layer().group_send(user_group(alice.pk), {"type": "notification.created", "data": {"id": 1}})
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_the_keepalive_rereads_the_lines_and_heartbeats_an_idle_socket(settings):
    settings.SETUP_HEARTBEAT_SECONDS = 0.2
    erin, (first,) = await member_with_integrations("erin-team", 1)
    comm = communicator(erin)
    await comm.connect()
    assert [line["id"] for line in (await receive(comm))["data"]["integrations"]] == [first.pk]
    # Created after the snapshot, in a group this socket has not joined: only the re-read finds it.
    team = await sync_to_async(lambda: erin.teams.get())()
    later = await sync_to_async(integration_create)(team=team, user=erin, service=get_catalogue().get("stripe"))
    line = await receive(comm)
    assert line["type"] == "integration.summary" and line["data"]["id"] == later.pk
    assert (await receive(comm))["type"] == "heartbeat"
    await comm.disconnect()
