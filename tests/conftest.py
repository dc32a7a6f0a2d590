"""Shared fixtures. Services a test needs are real; in CI (REQUIRE_SERVICES=1) a missing one fails."""

import os

import pytest

from tests.support.services import missing_service


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except Exception:
        missing_service(f"Redis at {url}")
    return url


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        missing_service("PostgreSQL (DATABASE_URL=postgres://...)")
    return url


@pytest.fixture(scope="session", autouse=True)
def _close_worker_thread_connections(django_db_setup):
    """Async tests reach the database through asgiref's single worker thread, whose connection
    would otherwise stay open and stop the test database from being dropped at the end."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)
