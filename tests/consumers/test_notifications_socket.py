"""The notifications socket (/ws/notifications/) on the real consumer and channel layer (Redis):
a notification raised for its user arrives as one `notification` frame, another user's never; a
ping is answered, an idle socket gets heartbeats; a logged-out visitor and a foreign origin are
refused as on the other sockets."""

import json

import jsonschema
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from connectors.catalogue import get_catalogue
from consumers.notifications import NotificationConsumer
from integrations.setup.flow import integration_create
from integrations.state.event_schemas import notifications_frame_schema
from integrations.state.transitions import step_fail
from integrations.vocabulary import CLOSE_NOT_LOGGED_IN, NOTIFICATIONS_WEBSOCKET_PATH
from notifications.delivery.services import notifications_raise
from teams.models import Team

pytestmark = pytest.mark.django_db(transaction=True)


@sync_to_async
def member(name: str):
    user = get_user_model().objects.create_user(username=name, password="pw")
    team = Team.objects.create(name=f"team of {name}")
    team.members.add(user)
    return user, team


@sync_to_async
def failed_setup_raised(user, team, name: str):
    """A set-up step fails and the notifier runs, as the set-up's workflow does: the ring goes out
    when the transaction commits."""
    integration = integration_create(team=team, user=user, service=get_catalogue().get("hubspot"))
    integration.name = name
    integration.save(update_fields=["name"])
    step_fail(integration.steps.get(name="create_connection").pk, code="Unauthorized", message="Invalid API key", retryable=True)
    return integration, notifications_raise(integration_id=integration.pk)


def communicator(user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(NotificationConsumer.as_asgi(), NOTIFICATIONS_WEBSOCKET_PATH)
    comm.scope["user"] = user
    return comm


async def receive(comm, timeout: float = 3) -> dict:
    frame = json.loads(await comm.receive_from(timeout=timeout))
    jsonschema.validate(frame, notifications_frame_schema(frame["type"]))
    return frame


async def test_a_notification_for_the_user_arrives_and_another_users_does_not():
    alice, alices_team = await member("alice-notify")
    bob, bobs_team = await member("bob-notify")
    comm = communicator(alice)
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_nothing(timeout=0.3)  # nothing to say until something is raised

    await failed_setup_raised(bob, bobs_team, "Bob's CRM")  # rings bob's group only
    _, [made] = await failed_setup_raised(alice, alices_team, "Alice's CRM")
    frame = await receive(comm)
    assert frame["type"] == "notification"
    assert frame["data"]["id"] == made.pk and frame["data"]["kind"] == "setup_failed"
    assert "Alice's CRM" in frame["data"]["title"] and "Invalid API key" in frame["data"]["body"]
    assert frame["data"]["unread"] == 1
    assert await comm.receive_nothing(timeout=0.5)  # bob's never came
    await comm.disconnect()


async def test_a_ping_is_answered_and_an_idle_socket_gets_heartbeats(settings):
    settings.SETUP_HEARTBEAT_SECONDS = 0.2
    alice, _ = await member("carol-notify")
    comm = communicator(alice)
    await comm.connect()
    await comm.send_to(text_data='{"type": "ping"}')
    assert (await receive(comm))["type"] == "heartbeat"
    assert (await receive(comm, timeout=2))["type"] == "heartbeat"  # the keepalive's, unasked
    await comm.disconnect()


async def test_a_logged_out_visitor_is_refused_4401():
    comm = communicator(AnonymousUser())
    connected, _ = await comm.connect()
    assert connected  # accepted first: a custom close code only reaches the browser after the handshake
    closed = await comm.receive_output(timeout=3)
    assert closed["type"] == "websocket.close" and closed["code"] == CLOSE_NOT_LOGGED_IN
    await comm.disconnect()  # end the consumer as the server would, before the loop's teardown


async def test_the_application_routes_it_and_refuses_a_foreign_origin():
    from gyana.asgi import websocket_app

    comm = WebsocketCommunicator(websocket_app, NOTIFICATIONS_WEBSOCKET_PATH, headers=[(b"origin", b"http://evil.example")])
    connected, _ = await comm.connect()
    assert not connected
    await comm.disconnect()  # end channels' WebsocketDenier rather than leave its Redis receive open

    # The same path from this site's own origin reaches the consumer (no session: refused 4401, not denied).
    comm = WebsocketCommunicator(websocket_app, NOTIFICATIONS_WEBSOCKET_PATH, headers=[(b"origin", b"http://localhost")])
    connected, _ = await comm.connect()
    assert connected
    closed = await comm.receive_output(timeout=3)
    assert closed["type"] == "websocket.close" and closed["code"] == CLOSE_NOT_LOGGED_IN
    await comm.disconnect()
