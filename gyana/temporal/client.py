"""The Temporal client, from the TEMPORAL_* settings.

`await get_client()` is the one way product code reaches Temporal: one connected client per event
loop, shared by every caller on that loop. `connect_options()` builds the keyword arguments of
`Client.connect` (address, namespace, TLS or API key) and is what the settings tests check.

Why one per loop and not one per process: a connected client's RPCs can be awaited from any loop,
but connecting is not (the SDK's connect lock is an asyncio.Lock, bound to the loop that first
waits on it), and loops come and go (`asyncio.run` in a management command, a loop per test).
Keying by loop in a WeakKeyDictionary drops a loop's client with the loop.

Payloads use the SDK's default data converter: JSON for dataclasses, dicts, lists, str, int,
float, bool, None, datetime (as ISO strings) and UUIDs. Workflow and activity arguments should be
dataclasses of such values, with type hints so they decode back into dataclasses; pass model ids,
never Django model instances. (The pydantic converter would need pydantic as a dependency of the
product, for nothing that dataclasses cannot say.)
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from temporalio.client import Client
from temporalio.service import TLSConfig

# The settings a client depends on: when one changes (tests), the next get_client() reconnects.
_SETTING_NAMES = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_TLS",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_SERVER_NAME",
)


def _read(setting: str) -> bytes | None:
    path = getattr(settings, setting)
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise ImproperlyConfigured(f"{setting}={path} cannot be read: {error.strerror}") from None


def connect_options() -> dict[str, Any]:
    """Keyword arguments for `temporalio.client.Client.connect`, from the settings.

    No TLS: tls=False (the dev server, or a cluster behind a TLS-terminating proxy). TLS with
    nothing but the system's CAs (Temporal Cloud with an API key, TEMPORAL_TLS=1 alone): tls=True.
    Any certificate, CA or server name: a TLSConfig carrying them (self-hosted mTLS).
    """
    tls: bool | TLSConfig = bool(settings.TEMPORAL_TLS)
    if tls:
        cert = _read("TEMPORAL_TLS_CLIENT_CERT_PATH")
        key = _read("TEMPORAL_TLS_CLIENT_KEY_PATH")
        ca = _read("TEMPORAL_TLS_SERVER_CA_CERT_PATH")
        if bool(cert) != bool(key):
            raise ImproperlyConfigured(
                "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together (mTLS): set both or neither."
            )
        if cert or ca or settings.TEMPORAL_TLS_SERVER_NAME:
            tls = TLSConfig(
                client_cert=cert,
                client_private_key=key,
                server_root_ca_cert=ca,
                domain=settings.TEMPORAL_TLS_SERVER_NAME or None,
            )
    return {
        "target_host": settings.TEMPORAL_ADDRESS,
        "namespace": settings.TEMPORAL_NAMESPACE,
        "api_key": settings.TEMPORAL_API_KEY or None,
        "tls": tls,
    }


async def connect() -> Client:
    """A new client from the settings (not cached: a worker process may want its own)."""
    return await Client.connect(**connect_options())


@dataclass
class _Entry:
    key: tuple
    client: Client | None = None
    connecting: asyncio.Task | None = None


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Entry] = weakref.WeakKeyDictionary()


async def get_client() -> Client:
    """The connected client of the running event loop, connecting on first use.

    Callers that arrive while the first connect is under way wait for it rather than opening their
    own; a failed connect is not remembered, so the next call tries again.
    """
    loop = asyncio.get_running_loop()
    key = tuple(getattr(settings, name) for name in _SETTING_NAMES)
    entry = _clients.get(loop)
    if entry is None or entry.key != key:
        entry = _Entry(key, connecting=loop.create_task(connect()))
        _clients[loop] = entry
    if entry.client is not None:
        return entry.client
    task = entry.connecting
    try:
        # shield: one caller being cancelled must not cancel the connect the others wait for.
        client = await asyncio.shield(task)
    except BaseException:
        if _clients.get(loop) is entry and task.done():
            del _clients[loop]
        raise
    if _clients.get(loop) is entry:
        # Drop the task: it holds its loop, and a value that holds its key is never collected.
        entry.client, entry.connecting = client, None
    return client


def forget_clients() -> None:
    """Drop every cached client (tests that change settings get a new one anyway)."""
    _clients.clear()
