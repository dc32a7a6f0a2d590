"""`/ws/integrations/<id>/`: streams one integration's set-up events (../docs/asyncapi.yaml).

Authorise, join `integration.<id>`, send a snapshot or a replay from `since`, then forward. The group
message is a doorbell carrying a copy of the event row: a frame already sent is dropped, and a gap
(a lost doorbell) is filled from the database, so nothing is lost or duplicated.

Redis may drop its connections or restart (forgetting the groups): the membership is renewed with
retries (consumers/membership.py), and a socket that cannot be kept live is closed with
CLOSE_LIVE_FEED_LOST so that its client resumes with `since`, never left open without events.
"""

import asyncio
import contextlib
import json
import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http import Http404

from consumers.membership import join_group
from integrations.models import Integration
from integrations.state import snapshot as selectors
from integrations.state import transitions
from integrations.state.events import group_name, unsequenced_envelope
from integrations.vocabulary import CLOSE_FLOODING, CLOSE_LIVE_FEED_LOST, CLOSE_NOT_FOUND, CLOSE_NOT_LOGGED_IN
from teams.access import team_object_or_404

logger = logging.getLogger(__name__)

FLOOD_BURST = 20  # client frames allowed at once
FLOOD_RATE = 5.0  # client frames per second sustained


@database_sync_to_async
def _authorised_integration_id(user, integration_id: str) -> int | None:
    try:
        return team_object_or_404(Integration.objects, user, pk=int(integration_id)).pk
    except (Http404, ValueError):
        return None


class IntegrationConsumer(AsyncWebsocketConsumer):
    integration_id: int | None = None

    async def connect(self):
        # Custom close codes only reach the browser after accept().
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_LOGGED_IN)
            return
        self.integration_id = await _authorised_integration_id(
            user, self.scope["url_route"]["kwargs"]["integration_id"]
        )
        if self.integration_id is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.last_sent = 0
        self.send_lock = asyncio.Lock()
        self.tokens, self.tokens_at = float(FLOOD_BURST), time.monotonic()
        self.last_frame_at = time.monotonic()
        # Join first, then read: an event committed in between arrives both ways and is de-duplicated.
        if not await self._join():
            await self.close(code=CLOSE_LIVE_FEED_LOST)
            return
        await self._send_initial(self._since())
        await self._mark_watched()
        self.heartbeat = asyncio.ensure_future(self._keepalive())

    async def disconnect(self, code):
        if self.integration_id is None:
            return
        heartbeat = getattr(self, "heartbeat", None)
        if heartbeat is not None:
            heartbeat.cancel()
        try:
            await self.channel_layer.group_discard(group_name(self.integration_id), self.channel_name)
        except Exception as error:  # Redis is down: the membership expires on its own, the socket is gone
            logger.info("could not leave %s: %s", group_name(self.integration_id), error)

    async def _join(self) -> bool:
        return await join_group(
            self.channel_layer, group_name(self.integration_id), self.channel_name, settings.SETUP_HEARTBEAT_SECONDS
        )

    # -- client frames ---------------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.integration_id is None:
            return
        if self._flooding():
            await self.close(code=CLOSE_FLOODING)
            return
        try:
            frame = json.loads(text_data) if text_data is not None else None
        except ValueError:
            frame = None
        if isinstance(frame, dict) and frame.get("type") == "ping":
            await self._send_frame(unsequenced_envelope(self.integration_id, "heartbeat", {}))
            return
        await self._send_frame(
            {
                "type": "error",
                "data": {"code": "bad_request", "message": 'The only client frame is {"type": "ping"}.'},
            }
        )

    def _flooding(self) -> bool:
        now = time.monotonic()
        self.tokens = min(FLOOD_BURST, self.tokens + (now - self.tokens_at) * FLOOD_RATE)
        self.tokens_at = now
        self.tokens -= 1
        return self.tokens < 0

    # -- server frames -------------------------------------------------------------------------------

    def _since(self) -> int | None:
        query = dict(
            part.split("=", 1) for part in self.scope.get("query_string", b"").decode().split("&") if "=" in part
        )
        try:
            return int(query["since"]) if "since" in query else None
        except ValueError:
            return -1  # unreadable: answered with a reset snapshot

    async def _send_initial(self, since: int | None) -> None:
        async with self.send_lock:
            if since is not None:
                replay = await database_sync_to_async(selectors.events_since)(self.integration_id, since)
                if replay is not None:
                    self.last_sent = since
                    for frame in replay:
                        await self._send_event(frame)
                    return
            seq, data = await database_sync_to_async(selectors.snapshot)(
                self.integration_id, reset=since is not None
            )
            await self._send_frame(unsequenced_envelope(self.integration_id, "snapshot", data, seq=seq))
            self.last_sent = seq

    async def integration_event(self, message):
        """A doorbell from the group, with a copy of the event row."""
        event = message["event"]
        async with self.send_lock:
            if event["seq"] <= self.last_sent:
                return
            if event["seq"] == self.last_sent + 1:
                await self._send_event(event)
                return
            # A doorbell was lost: fill the gap from the rows, in order.
            missed = await database_sync_to_async(selectors.events_since)(self.integration_id, self.last_sent)
            for frame in missed or []:
                await self._send_event(frame)

    async def _send_event(self, frame: dict) -> None:
        if frame["seq"] <= self.last_sent:
            return
        await self._send_frame(frame)
        self.last_sent = frame["seq"]

    async def _send_frame(self, frame: dict) -> None:
        self.last_frame_at = time.monotonic()
        await self.send(text_data=json.dumps(frame))

    async def _mark_watched(self) -> None:
        # Someone is looking: the set-up shows the tables landing more often (best effort).
        try:
            await database_sync_to_async(transitions.integration_watched)(self.integration_id)
        except Exception:
            logger.warning("could not mark integration %s as watched", self.integration_id, exc_info=True)

    async def _keepalive(self) -> None:
        """Keep the socket live; if that becomes impossible, close it so that the client resumes
        with `since`: a socket that still answers pings but gets no events must never be left."""
        try:
            await self._keep_live()
        except Exception:  # not CancelledError: that is disconnect() stopping it
            logger.exception("live updates of integration %s stopped; closing its socket", self.integration_id)
            with contextlib.suppress(Exception):  # the socket may be gone already
                await self.close(code=CLOSE_LIVE_FEED_LOST)

    async def _keep_live(self) -> None:
        """Every interval: renew the group membership (it expires, and a restarted Redis has lost
        it), catch up from the rows (a doorbell for the *last* events may have been lost, and no
        later one would reveal the gap), and send a heartbeat if the socket was idle."""
        interval = settings.SETUP_HEARTBEAT_SECONDS
        while True:
            await asyncio.sleep(interval)
            if not await self._join():
                await self.close(code=CLOSE_LIVE_FEED_LOST)
                return
            async with self.send_lock:
                last_seq = await database_sync_to_async(selectors.last_seq)(self.integration_id)
                if last_seq > self.last_sent:
                    missed = await database_sync_to_async(selectors.events_since)(self.integration_id, self.last_sent)
                    for frame in missed or []:
                        await self._send_event(frame)
            await self._mark_watched()
            if time.monotonic() - self.last_frame_at >= interval * 0.9:
                await self._send_frame(unsequenced_envelope(self.integration_id, "heartbeat", {}))
