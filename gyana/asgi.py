"""The ASGI entry point: Django over http and the set-up websocket; in the embedded default also the
Fivetran emulator under EMULATOR_MOUNT and the set-up's Temporal worker inside this process."""

import asyncio
import logging
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gyana.settings")

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

# In DEBUG daphne serves static/ itself (make run is one process); in production a proxy or CDN
# serves the output of `collectstatic`.
django_http = ASGIStaticFilesHandler(get_asgi_application()) if settings.DEBUG else get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from consumers.routing import websocket_urlpatterns  # noqa: E402
from integrations.engine import worker as setup_worker  # noqa: E402

logger = logging.getLogger(__name__)


def mount(prefix: str, inner, outer):
    """Serve `inner` under `prefix` (ASGI root_path), everything else with `outer`."""

    async def app(scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == prefix or path.startswith(prefix + "/")):
            scope = {**scope, "root_path": scope.get("root_path", "") + prefix}
            return await inner(scope, receive, send)
        return await outer(scope, receive, send)

    return app


if settings.FIVETRAN_EMULATED:
    from gyana.embedded import fivetran_emulator_app

    http_app = mount(settings.EMULATOR_MOUNT, fivetran_emulator_app(), django_http)
else:
    http_app = django_http

websocket_app = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))

routes = ProtocolTypeRouter({"http": http_app, "websocket": websocket_app})

_embedded_started = False


async def _register_emulator_webhook() -> None:
    from integrations.setup.webhook_registration import ensure_webhook

    try:
        await ensure_webhook()
    except Exception:
        logger.warning("could not register the webhook with the emulator; polling only", exc_info=True)


async def application(scope, receive, send):
    # Daphne runs no ASGI lifespan, so the embedded parts start with the first connection.
    global _embedded_started
    if not _embedded_started and scope["type"] in ("http", "websocket"):
        _embedded_started = True
        if settings.SETUP_WORKER_IN_PROCESS:
            setup_worker.ensure_in_process()
        if settings.FIVETRAN_EMULATED and settings.FIVETRAN_WEBHOOK_SECRET:
            asyncio.ensure_future(_register_emulator_webhook())
    return await routes(scope, receive, send)
