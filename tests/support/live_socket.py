"""The user's side of the websocket against real daphne processes: an account, a logged-in session,
an integration created through the JSON API, event rows written (and rung) by the product's own
code in a `manage.py shell`, and a watcher that resumes after a close the way FlowClient does."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx
import websockets

from integrations.vocabulary import BACK_OFF_CLOSE_CODES, FINAL_CLOSE_CODES
from tests.support.process_fixtures import manage

USERNAME, PASSWORD = "socket-user", "socket-password-123"

CREATE_ACCOUNT = f"""
from django.contrib.auth import get_user_model
from teams.models import Team
user = get_user_model().objects.create_user(username={USERNAME!r}, password={PASSWORD!r})
Team.objects.create(name="Sockets").members.add(user)
"""

# The way the set-up writes an event: the row in a transaction, the doorbell after the commit.
EMIT = """
from asgiref.sync import async_to_sync
from django.db import transaction
from integrations.state.events import append_event, publish
with transaction.atomic():
    event = append_event({integration_id}, "step.progress",
                         {{"step": "historical_sync", "done": 1, "total": None, "unit": "tables", "message": "test"}})
async_to_sync(publish)([event])
print(event.seq)
"""


@dataclass
class Session:
    base_url: str
    session_id: str
    integration_id: int

    def socket_url(self, since: int | None = None) -> str:
        url = self.base_url.replace("http://", "ws://") + f"/ws/integrations/{self.integration_id}/"
        return url if since is None else f"{url}?since={since}"

    def connect(self, since: int | None = None, **options):
        return websockets.connect(
            self.socket_url(since),
            additional_headers={"Cookie": f"sessionid={self.session_id}"},
            origin=self.base_url,
            open_timeout=10,
            **options,
        )


def create_account(env: dict[str, str]) -> None:
    manage(env, "shell", "-c", CREATE_ACCOUNT)


def logged_in_session(base_url: str) -> Session:
    """Log in through the login page and start a set-up through the JSON API, as the browser does."""
    with httpx.Client(base_url=base_url, timeout=15) as client:
        page = client.get("/accounts/login/")
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        login = client.post("/accounts/login/", data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token})
        assert login.status_code == 302, login.text
        created = client.post(
            "/api/integrations/", json={"service": "hubspot"}, headers={"X-CSRFToken": client.cookies["csrftoken"]}
        )
        assert created.status_code == 201, created.text
        return Session(base_url, client.cookies["sessionid"], created.json()["id"])


def emit(env: dict[str, str], integration_id: int) -> int:
    """Write one event row and ring its group in another process; its seq."""
    return int(manage(env, "shell", "-c", EMIT.format(integration_id=integration_id)).strip().splitlines()[-1])


class ResumingWatcher:
    """Reads frames; when the socket closes with a code that is not final, reconnects with
    `?since=<last seq>` after a short backoff, as static/js/flow-client.js does."""

    def __init__(self, session: Session, name: str):
        self.session = session
        self.name = name
        self.last_seq: int | None = None
        self.seqs: list[int] = []
        self.closes: list[int | None] = []
        self.opened = 0
        self.socket = None
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        attempts = 0
        while True:
            socket = None
            try:
                async with self.session.connect(self.last_seq) as socket:
                    self.socket, self.opened = socket, self.opened + 1
                    async for message in socket:
                        attempts = 0
                        self._apply(json.loads(message))
            except (OSError, websockets.InvalidHandshake, websockets.ConnectionClosed, TimeoutError):
                pass  # refused, or closed with a code other than 1000/1001: a client retries either way
            code = socket.close_code if socket is not None else None
            self.socket = None
            self.closes.append(code)
            if code in FINAL_CLOSE_CODES:
                return
            attempts += 1
            await asyncio.sleep(5.0 if code in BACK_OFF_CLOSE_CODES else min(2.0, 0.1 * 2**attempts))

    def _apply(self, frame: dict) -> None:
        if frame.get("type") == "snapshot":
            self.last_seq = frame["seq"]
        elif "seq" in frame and (self.last_seq is None or frame["seq"] > self.last_seq):
            assert self.last_seq is None or frame["seq"] == self.last_seq + 1, (self.name, self.last_seq, frame)
            self.last_seq = frame["seq"]
            self.seqs.append(frame["seq"])

    async def until(self, predicate, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if self.task.done():
                raise AssertionError(f"{self.name} stopped while waiting for {what}: closes {self.closes}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {what} within {timeout}s; seqs {self.seqs}, closes {self.closes}")
            await asyncio.sleep(0.05)

    async def until_seq(self, seq: int, timeout: float) -> None:
        await self.until(lambda w: w.last_seq is not None and w.last_seq >= seq, f"seq {seq}", timeout)

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
