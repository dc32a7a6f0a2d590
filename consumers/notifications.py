"""`/ws/notifications/`: a person's live notifications, on every page.

It joins only its user's own group (notifications.kinds.user_group) and reads nothing on connect:
a notification raised for that user (notifications.delivery.services rings the group after the
commit) is sent as one `notification` frame, to them only. The rows are the truth (the list page
and the header's count), the frame only a doorbell, so a ring missed while disconnected loses
nothing. Kept light on purpose: every open tab has one.
"""

import contextlib

from django.conf import settings

from consumers.keepalive import KeptAliveConsumer, frame
from consumers.membership import join_group
from integrations.vocabulary import CLOSE_LIVE_FEED_LOST, CLOSE_NOT_LOGGED_IN
from notifications.kinds import user_group


class NotificationConsumer(KeptAliveConsumer):
    user = None

    async def connect(self):
        # Custom close codes only reach the browser after accept().
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_LOGGED_IN)
            return
        self.user = user
        if not await self.renew():
            await self.close(code=CLOSE_LIVE_FEED_LOST)
            return
        self.start_keepalive()

    async def disconnect(self, code):
        if self.user is None:
            return
        self.stop_keepalive()
        with contextlib.suppress(Exception):  # Redis down: the membership expires on its own
            await self.channel_layer.group_discard(user_group(self.user.pk), self.channel_name)

    async def renew(self) -> bool:
        """(Re)join the user's group: the membership expires, and a restarted Redis forgot it."""
        return await join_group(
            self.channel_layer, user_group(self.user.pk), self.channel_name, settings.SETUP_HEARTBEAT_SECONDS
        )

    async def notification_created(self, message):
        """A `notification.created` ring of the user's group (notifications.delivery.services._ring)."""
        await self.send_frame(frame("notification", message["data"]))
