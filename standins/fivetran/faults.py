"""Injected faults (test control API, not Fivetran's): API-level ones and sync-level ones."""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

from .responses import bad_request

API_KINDS = ("rate_limit", "server_error", "slow", "lose_response")
SYNC_KINDS = ("fail_sync", "break", "reschedule")
HTTP_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


@dataclass
class Fault:
    id: int
    kind: str
    connection_id: str | None = None
    times: int = 1
    retry_after: int = 1
    status: int = 503
    delay: float = 0.0
    path: str | None = None
    # Only requests with this HTTP method match (None: any), so a test can slow the PATCH of a
    # connection without touching the GETs that poll it.
    method: str | None = None
    # For `slow`: the operation happens at once and only its answer is held for `delay` seconds, as
    # when Fivetran has done the work but the response is slow to arrive (a client timeout then
    # retries something already done).
    after: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, body: dict[str, Any]) -> Fault:
        kind = body.get("kind")
        if kind not in API_KINDS + SYNC_KINDS:
            raise bad_request(f"Unknown fault kind {kind!r}; expected one of {', '.join(API_KINDS + SYNC_KINDS)}")
        try:
            fault = Fault(
                id=next(self._ids),
                kind=kind,
                connection_id=body.get("connection_id"),
                times=int(body.get("times", 1)),
                retry_after=int(body.get("retry_after", 1)),
                status=int(body.get("status", 503)),
                delay=float(body.get("delay", 0)),
                path=body.get("path"),
                method=body.get("method"),
                after=body.get("after", False),
            )
        except (TypeError, ValueError) as exc:
            raise bad_request(f"Invalid fault: {exc}") from exc
        if fault.times < 1:
            raise bad_request("'times' must be at least 1")
        if fault.method is not None:
            if not isinstance(fault.method, str) or fault.method.upper() not in HTTP_METHODS:
                raise bad_request(f"'method' must be one of {', '.join(HTTP_METHODS)}")
            fault.method = fault.method.upper()
        if not isinstance(fault.after, bool):
            raise bad_request("'after' must be a boolean")
        if fault.after and kind != "slow":
            raise bad_request("'after' applies to kind 'slow' only")
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def all(self) -> list[Fault]:
        return list(self._faults)

    def _consume(self, fault: Fault) -> Fault:
        fault.times -= 1
        if fault.times <= 0:
            self._faults.remove(fault)
        return fault

    def take_api_fault(self, method: str, path: str) -> Fault | None:
        """The fault for an API request, matched to a connection by any path segment equal to its id."""
        segments = set(path.split("/"))
        for fault in self._faults:
            if fault.kind not in API_KINDS:
                continue
            if fault.method is not None and fault.method != method.upper():
                continue
            if fault.connection_id is not None and fault.connection_id not in segments:
                continue
            if fault.path is not None and fault.path not in path:
                continue
            return self._consume(fault)
        return None

    def take_sync_fault(self, connection_id: str) -> Fault | None:
        for fault in self._faults:
            if fault.kind in SYNC_KINDS and fault.connection_id in (None, connection_id):
                return self._consume(fault)
        return None
