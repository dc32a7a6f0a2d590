"""The emulator's parts, shared by the route modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from .account import Groups
from .faults import Faults
from .lifecycle import Lifecycle
from .middleware import RequestLog
from .responses import connection_not_found
from .services import ServiceInfo
from .store import CONNECTION, Store
from .webhooks import Deliverer


@dataclass
class Emulator:
    store: Store
    services: dict[str, ServiceInfo]
    groups: Groups
    faults: Faults
    deliverer: Deliverer
    lifecycle: Lifecycle
    request_log: RequestLog
    api_secret: str

    def connection(self, connection_id: str) -> dict[str, Any]:
        connection = self.store.get(CONNECTION, connection_id)
        if connection is None:
            raise connection_not_found(connection_id)
        return connection


def base_url(request: Request) -> str:
    """Where this emulator is reachable from the caller, honouring a mount prefix (ASGI root_path)."""
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}"
