"""Product websockets for the benches that time a frame's arrival: a waiter per expected frame,
resolved with the moment (time.perf_counter) the frame came in."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Hashable


class FrameClock:
    """`key_of(frame)` names the frame a waiter may expect (None: not one of those);
    `expect(key)` answers a future set to the moment that frame arrives on any socket opened here."""

    def __init__(self, key_of: Callable[[dict], Hashable | None]):
        self.key_of = key_of
        self.waiting: dict[Hashable, asyncio.Future] = {}
        self.sockets, self.readers = [], []

    async def open(self, url: str, cookie: str, origin: str) -> None:
        import websockets

        socket = await websockets.connect(url, additional_headers={"Cookie": f"sessionid={cookie}"}, origin=origin)
        self.sockets.append(socket)
        self.readers.append(asyncio.ensure_future(self._read(socket)))

    async def _read(self, socket) -> None:
        async for message in socket:
            now = time.perf_counter()
            key = self.key_of(json.loads(message))
            waiter = self.waiting.get(key) if key is not None else None
            if waiter is not None and not waiter.done():
                waiter.set_result(now)

    def expect(self, key: Hashable) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        return future

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(socket.close() for socket in self.sockets), return_exceptions=True)
