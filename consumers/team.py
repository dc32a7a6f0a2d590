"""`/ws/integrations/`: the team socket. One summary line per integration of the user's teams
(integrations.state.summaries): a snapshot on connect, then a line each time one changes.

It joins the group of every integration it shows, so each event of theirs rings it; a ring makes it
re-read that integration's line and send it if it changed. Lines carry the whole current state, so a
lost ring loses nothing that the next one, or the periodic re-read, does not repair: every interval
the socket re-reads all lines, joins integrations created since, says which went, and sends what
changed. A `since` from a client cannot be replayed on this stream: it is answered with a snapshot
with `reset: true`, as the protocol allows.

It also joins its user's own group (notifications.kinds.user_group): a notification raised for
that user is sent as one `notification` frame, to them only. The notification's row is the truth
(the list page), the frame only a doorbell.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from consumers.membership import join_group
from integrations.state import summaries
from integrations.state.events import group_name, isoformat
from integrations.vocabulary import CLOSE_LIVE_FEED_LOST, CLOSE_NOT_LOGGED_IN, PROTOCOL_VERSION
from notifications.kinds import user_group

logger = logging.getLogger(__name__)


def frame(type: str, data: dict) -> dict:
    return {"v": PROTOCOL_VERSION, "id": str(uuid.uuid4()), "type": type, "time": isoformat(timezone.now()), "data": data}


class TeamConsumer(AsyncWebsocketConsumer):
    user = None

    async def connect(self):
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_LOGGED_IN)
            return
        self.user = user
        self.sent: dict[int, dict] = {}
        self.joined: set[int] = set()
        self.lock = asyncio.Lock()
        self.last_frame_at = time.monotonic()
        # Join first, then read: a change committed in between rings us and is re-read.
        lines = await database_sync_to_async(summaries.team_summaries)(user)
        if not await self._join(lines):
            await self.close(code=CLOSE_LIVE_FEED_LOST)
            return
        async with self.lock:
            self.sent = lines
            reset = b"since=" in self.scope.get("query_string", b"")
            await self._send(frame("snapshot", {"integrations": list(lines.values()), "reset": reset}))
        self.heartbeat = asyncio.ensure_future(self._keepalive())

    async def disconnect(self, code):
        if self.user is None:
            return
        heartbeat = getattr(self, "heartbeat", None)
        if heartbeat is not None:
            heartbeat.cancel()
        groups = [group_name(integration_id) for integration_id in getattr(self, "joined", ())] + [user_group(self.user.pk)]
        for group in groups:
            with contextlib.suppress(Exception):  # Redis down: memberships expire on their own
                await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data) if text_data else None
        except ValueError:
            message = None
        if isinstance(message, dict) and message.get("type") == "ping":
            await self._send(frame("heartbeat", {}))

    async def integration_event(self, message):
        """A ring from one of the integrations shown: re-read its line."""
        integration_id = int(message["event"]["integration"])
        line = await database_sync_to_async(summaries.summary_of)(self.user, integration_id)
        async with self.lock:
            await self._send_line(integration_id, line)

    async def notification_created(self, message):
        """A notification for this socket's user (notifications.delivery.services rings it after commit)."""
        await self._send(frame("notification", message["data"]))

    async def _send_line(self, integration_id: int, line: dict | None) -> None:
        if line is None:
            if self.sent.pop(integration_id, None) is not None:
                await self._send(frame("integration.removed", {"id": integration_id}))
            return
        if self.sent.get(integration_id) != line:
            self.sent[integration_id] = line
            await self._send(frame("integration.summary", line))

    async def _join(self, lines: dict[int, dict]) -> bool:
        interval = settings.SETUP_HEARTBEAT_SECONDS
        if not await join_group(self.channel_layer, user_group(self.user.pk), self.channel_name, interval):
            return False
        for integration_id in lines:
            if not await join_group(self.channel_layer, group_name(integration_id), self.channel_name, interval):
                return False
        self.joined |= set(lines)
        return True

    async def _send(self, message: dict) -> None:
        self.last_frame_at = time.monotonic()
        await self.send(text_data=json.dumps(message))

    async def _keepalive(self) -> None:
        try:
            interval = settings.SETUP_HEARTBEAT_SECONDS
            while True:
                await asyncio.sleep(interval)
                lines = await database_sync_to_async(summaries.team_summaries)(self.user)
                # Renew every membership (they expire; a restarted Redis forgot them), new ones too.
                if not await self._join(lines):
                    await self.close(code=CLOSE_LIVE_FEED_LOST)
                    return
                async with self.lock:
                    for integration_id in set(self.sent) | set(lines):
                        await self._send_line(integration_id, lines.get(integration_id))
                if time.monotonic() - self.last_frame_at >= interval * 0.9:
                    await self._send(frame("heartbeat", {}))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("the team socket's live updates stopped; closing it")
            with contextlib.suppress(Exception):
                await self.close(code=CLOSE_LIVE_FEED_LOST)
