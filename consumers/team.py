"""`/ws/integrations/`: the team socket. One summary line per integration of the user's teams
(integrations.state.summaries): a snapshot on connect, then a line each time one changes.

It joins the group of every integration it shows, so each event of theirs rings it; a ring makes it
re-read that integration's line and send it if it changed. Lines carry the whole current state, so a
lost ring loses nothing that the next one, or the periodic re-read, does not repair: every interval
the socket re-reads all lines, joins integrations created since, says which went, and sends what
changed. A `since` from a client cannot be replayed on this stream: it is answered with a snapshot
with `reset: true`, as the protocol allows.

A person's notifications have a socket of their own (consumers/notifications.py): this one is
heavy, and every page would otherwise open it only to hear them.
"""

import asyncio
import contextlib

from channels.db import database_sync_to_async
from django.conf import settings

from consumers.keepalive import KeptAliveConsumer, frame
from consumers.membership import join_group
from integrations.state import summaries
from integrations.state.events import group_name
from integrations.vocabulary import CLOSE_LIVE_FEED_LOST, CLOSE_NOT_LOGGED_IN


class TeamConsumer(KeptAliveConsumer):
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
        # Join first, then read: a change committed in between rings us and is re-read.
        lines = await database_sync_to_async(summaries.team_summaries)(user)
        if not await self._join(lines):
            await self.close(code=CLOSE_LIVE_FEED_LOST)
            return
        async with self.lock:
            self.sent = lines
            reset = b"since=" in self.scope.get("query_string", b"")
            await self.send_frame(frame("snapshot", {"integrations": list(lines.values()), "reset": reset}))
        self.start_keepalive()

    async def disconnect(self, code):
        if self.user is None:
            return
        self.stop_keepalive()
        for integration_id in getattr(self, "joined", ()):
            with contextlib.suppress(Exception):  # Redis down: memberships expire on their own
                await self.channel_layer.group_discard(group_name(integration_id), self.channel_name)

    async def integration_event(self, message):
        """A ring from one of the integrations shown: re-read its line."""
        integration_id = int(message["event"]["integration"])
        line = await database_sync_to_async(summaries.summary_of)(self.user, integration_id)
        async with self.lock:
            await self._send_line(integration_id, line)

    async def renew(self) -> bool:
        """Re-read every line: renew every membership (they expire; a restarted Redis forgot them),
        join integrations created since, and send what changed."""
        lines = await database_sync_to_async(summaries.team_summaries)(self.user)
        if not await self._join(lines):
            return False
        async with self.lock:
            for integration_id in set(self.sent) | set(lines):
                await self._send_line(integration_id, lines.get(integration_id))
        return True

    async def _send_line(self, integration_id: int, line: dict | None) -> None:
        if line is None:
            if self.sent.pop(integration_id, None) is not None:
                await self.send_frame(frame("integration.removed", {"id": integration_id}))
            return
        if self.sent.get(integration_id) != line:
            self.sent[integration_id] = line
            await self.send_frame(frame("integration.summary", line))

    async def _join(self, lines: dict[int, dict]) -> bool:
        interval = settings.SETUP_HEARTBEAT_SECONDS
        for integration_id in lines:
            if not await join_group(self.channel_layer, group_name(integration_id), self.channel_name, interval):
                return False
        self.joined |= set(lines)
        return True
