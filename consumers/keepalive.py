"""What the team socket and the notifications socket share: their frame envelope, the answer to a
ping, and the keepalive.

Both are fed by channel-group rings whose memberships expire (and a restarted Redis forgets them),
so every interval each renews what it joined; a socket whose renewal became impossible is closed
with CLOSE_LIVE_FEED_LOST rather than left open and deaf, and its client reconnects. A socket idle
for the interval gets a heartbeat, so that proxies keep it and the client sees it is live.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from integrations.state.events import isoformat
from integrations.vocabulary import CLOSE_LIVE_FEED_LOST, HEARTBEAT, PROTOCOL_VERSION

logger = logging.getLogger(__name__)


def frame(type: str, data: dict) -> dict:
    """A frame without `seq`: each carries the whole of what it says (a line, a notification)."""
    return {"v": PROTOCOL_VERSION, "id": str(uuid.uuid4()), "type": type, "time": isoformat(timezone.now()), "data": data}


class KeptAliveConsumer(AsyncWebsocketConsumer):
    """A socket renewed every SETUP_HEARTBEAT_SECONDS. A subclass says what renewing means (`renew`),
    calls `start_keepalive()` once connected and `stop_keepalive()` on disconnect, and sends through
    `send_frame` so that the idle time is known."""

    keepalive: asyncio.Future | None = None
    last_frame_at = 0.0

    async def renew(self) -> bool:
        """Rejoin the groups and repair what a lost ring missed; False when Redis stayed unreachable."""
        raise NotImplementedError

    def start_keepalive(self) -> None:
        self.last_frame_at = time.monotonic()
        self.keepalive = asyncio.ensure_future(self._keepalive())

    def stop_keepalive(self) -> None:
        if self.keepalive is not None:
            self.keepalive.cancel()

    async def send_frame(self, message: dict) -> None:
        self.last_frame_at = time.monotonic()
        await self.send(text_data=json.dumps(message))

    async def receive(self, text_data=None, bytes_data=None):
        # The only client frame is a ping; anything else is ignored (these sockets have nothing to say about it).
        try:
            message = json.loads(text_data) if text_data else None
        except ValueError:
            message = None
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send_frame(frame(HEARTBEAT, {}))

    async def _keepalive(self) -> None:
        try:
            interval = settings.SETUP_HEARTBEAT_SECONDS
            while True:
                await asyncio.sleep(interval)
                if not await self.renew():
                    await self.close(code=CLOSE_LIVE_FEED_LOST)
                    return
                if time.monotonic() - self.last_frame_at >= interval * 0.9:
                    await self.send_frame(frame(HEARTBEAT, {}))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("the live updates of %s stopped; closing its socket", type(self).__name__)
            with contextlib.suppress(Exception):  # the socket may be gone already
                await self.close(code=CLOSE_LIVE_FEED_LOST)
