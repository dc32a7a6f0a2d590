"""Everything around the handlers: auth, injected API faults, the request log, rate-limit headers,
and the lazy restart of sync drivers on the first request."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import time
from typing import Any

from starlette.routing import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import Faults
from .lifecycle import Lifecycle
from .responses import ApiError, error_response

RATE_LIMIT_PER_HOUR = 20_000  # the documented account-wide limit (§1.5)
SERVER_ERROR_CODES = {500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}


class RequestLog:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, method: str, path: str, status: int) -> None:
        self.items.append({"method": method, "path": path, "status": status})

    def clear(self) -> None:
        self.items.clear()


class RateCounter:
    def __init__(self) -> None:
        self._window = 0
        self._count = 0

    def hit(self) -> int:
        window = int(time.time() // 3600)
        if window != self._window:
            self._window, self._count = window, 0
        self._count += 1
        return max(RATE_LIMIT_PER_HOUR - self._count, 0)


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, *, api_key: str, api_secret: str, faults: Faults, lifecycle: Lifecycle,
                 request_log: RequestLog):
        self.app = app
        self.faults = faults
        self.lifecycle = lifecycle
        self.request_log = request_log
        self.rate = RateCounter()
        self._expected = "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()

    def _authorised(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"").decode("latin-1")
        try:
            return hmac.compare_digest(given.encode(), self._expected.encode())
        except (TypeError, binascii.Error):
            return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.lifecycle.resume_all()
        path = get_route_path(scope)
        control = path.startswith("/_control")
        remaining = self.rate.hit()
        status_seen = {"status": 500}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-rate-limit", str(RATE_LIMIT_PER_HOUR).encode()))
                headers.append((b"x-rate-limit-remaining", str(remaining).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._dispatch(scope, receive, send_with_headers, path, control)
        finally:
            if not control:
                self.request_log.add(scope["method"], path, status_seen["status"])

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send, path: str, control: bool) -> None:
        if path.startswith("/v1") or control:
            if not self._authorised(scope):
                # Fivetran's 401 `code` string is unverified (docs/reference/fivetran-api.md §1.3); "Unauthorized" is our choice.
                error = ApiError(401, "Unauthorized", "Invalid API key or secret", {"WWW-Authenticate": 'Basic realm="Fivetran"'})
                await error_response(error)(scope, receive, send)
                return
        fault = self.faults.take_api_fault(scope["method"], path) if path.startswith("/v1") else None
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "rate_limit":
            error = ApiError(429, "TooManyRequests", f"No more than {RATE_LIMIT_PER_HOUR} requests can be made hourly",
                             {"Retry-After": str(fault.retry_after)})
            await error_response(error)(scope, receive, send)
        elif fault.kind == "server_error":
            code = SERVER_ERROR_CODES.get(fault.status, "InternalServerError")
            await error_response(ApiError(fault.status, code, "Emulated server error"))(scope, receive, send)
        elif fault.kind == "slow" and fault.after:
            await self._hold_response(scope, receive, send, fault.delay)
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        elif fault.kind == "lose_response":
            await self._lose_response(scope, receive, send)

    async def _hold_response(self, scope: Scope, receive: Receive, send: Send, delay: float) -> None:
        """The operation happens now; its whole answer goes out `delay` seconds later."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        await asyncio.sleep(delay)
        for message in held:
            await send(message)

    async def _lose_response(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The operation happens, the answer never arrives: a gateway timeout instead."""
        async def discard(message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
        await error_response(ApiError(504, "GatewayTimeout", "Emulated lost response"))(scope, receive, send)
