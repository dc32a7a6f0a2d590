"""Real services for the tests: in CI (REQUIRE_SERVICES=1) a missing one fails the run, never skips."""

import os
import socket

import pytest

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def missing_service(what: str) -> None:
    """Fail loudly in CI, skip on a developer machine without the service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but is not available")
    pytest.skip(f"{what} not available")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
