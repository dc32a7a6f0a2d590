"""create_app(): the emulator as one ASGI app, standalone or mounted under a prefix (root_path)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from .account import Groups
from .api_routes import FivetranApi
from .card_routes import CardPage
from .context import Emulator
from .control_routes import ControlApi
from .faults import Faults
from .lifecycle import Lifecycle
from .middleware import EmulatorMiddleware, RequestLog
from .responses import ApiError, error_response
from .schema_routes import SchemaApi
from .services import load_services
from .store import Store
from .webhook_routes import WebhookApi
from .webhooks import Deliverer
from .writer import DestinationWriter, NullWriter, PlatformWriter

log = logging.getLogger(__name__)

HTTP_CODES = {404: "NotFound", 405: "MethodNotAllowed"}


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 500)
    return error_response(ApiError(status, HTTP_CODES.get(status, "BadRequest"), str(getattr(exc, "detail", "")) or "Error"))


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("emulator error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ApiError(500, "InternalServerError", "Internal emulator error"))


def create_app(
    *,
    api_key: str = "emulator-key",
    api_secret: str = "emulator-secret",
    data_dir: Path,
    sync_seconds: float = 20.0,
    time_scale: float = 1.0,
    writer: DestinationWriter | None = None,
    group_ids: Sequence[str] = ("embedded_group",),
    bigquery_project: str = "local-project",
) -> Starlette:
    store = Store(Path(data_dir))
    services = load_services()
    faults = Faults()
    deliverer = Deliverer(store)
    lifecycle = Lifecycle(store=store, services=services, faults=faults, deliverer=deliverer,
                          writer=writer or NullWriter(), sync_seconds=sync_seconds, time_scale=time_scale,
                          # A destination that can also hold the Platform Connector's tables gets them.
                          platform=writer if isinstance(writer, PlatformWriter) else None)
    request_log = RequestLog()
    emulator = Emulator(
        store=store, services=services, groups=Groups(store, tuple(group_ids), bigquery_project), faults=faults,
        deliverer=deliverer, lifecycle=lifecycle, request_log=request_log, api_secret=api_secret,
    )
    routes = [
        *FivetranApi(emulator).routes(), *SchemaApi(emulator).routes(), *WebhookApi(emulator).routes(),
        *CardPage(emulator).routes(), *ControlApi(emulator).routes(),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(EmulatorMiddleware, api_key=api_key, api_secret=api_secret, faults=faults,
                               lifecycle=lifecycle, request_log=request_log)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _server_error},
    )
    app.state.emulator = emulator
    return app
