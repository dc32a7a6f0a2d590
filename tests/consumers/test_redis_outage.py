"""Redis drops its connections, restarts, or stays away: a real daphne on PostgreSQL and a
redis-server of the test's own. Every watcher must get every event, on the same socket or after
resuming with `since`; no socket may stay open without its live feed; daphne must not exit."""

import asyncio
import contextlib
import os
import uuid

import pytest

from integrations.vocabulary import CLOSE_LIVE_FEED_LOST
from tests.support.live_socket import ResumingWatcher, create_account, emit, logged_in_session
from tests.support.process_fixtures import base_env, fresh_postgres_database, manage, spawn_daphne, wait_http
from tests.support.redis_process import own_redis_server
from tests.support.services import free_port, missing_service

HEARTBEAT_SECONDS = 1.0  # the keepalive renews the group membership this often (30 s in production)
WATCHERS = 3  # one of them holds the process's blocking receive on Redis, the others do not
EVENT_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    with own_redis_server(tmp_path_factory.mktemp("own-redis")) as server:
        yield server


@pytest.fixture(scope="module")
def deployment(redis_server, tmp_path_factory, temporal_server):
    """A migrated database, an account, and one daphne on the test's own Redis."""
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgres"):
        missing_service("PostgreSQL (DATABASE_URL=postgres://...)")
    log_dir = tmp_path_factory.mktemp("outage")
    with fresh_postgres_database(server_url, prefix="outage") as database_url:
        env = base_env(
            DEBUG="1",
            VAR_DIR=str(log_dir),
            DATABASE_URL=database_url,
            REDIS_URL=redis_server.url,
            SETUP_WORKER_IN_PROCESS="0",  # no worker: the test writes the events itself
            TEMPORAL_ADDRESS=temporal_server.address,
            TEMPORAL_TASK_QUEUE=f"no-worker-{uuid.uuid4().hex}",  # workflows start; nobody runs them
            SETUP_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
        )
        manage(env, "migrate", "--no-input")
        create_account(env)
        daphne = spawn_daphne("daphne", free_port(), env, log_dir)
        try:
            wait_http(daphne)
            yield env, daphne
        finally:
            daphne.stop()


@pytest.fixture
def live(deployment, redis_server):
    """A fresh integration and a logged-in session; daphne must have survived the test."""
    env, daphne = deployment
    if redis_server.process is None:  # a test that failed half-way left it stopped
        redis_server.start()
    yield env, daphne, logged_in_session(daphne.extra["url"])
    assert daphne.alive(), daphne.log()[-3000:]


# Started inside each test, not in a fixture: async fixtures run on the session's event loop, and
# the watchers' tasks must run on the test's.
@contextlib.asynccontextmanager
async def watching(session):
    started = [ResumingWatcher(session, f"watcher-{n}") for n in range(WATCHERS)]
    try:
        for watcher in started:
            await watcher.until(lambda w: w.last_seq is not None, "the snapshot", timeout=10)
        await asyncio.sleep(HEARTBEAT_SECONDS * 1.5)  # every keepalive has run once
        yield started
    finally:
        for watcher in started:
            await watcher.stop()


async def all_receive(watchers, seq: int) -> None:
    await asyncio.gather(*(watcher.until_seq(seq, EVENT_TIMEOUT) for watcher in watchers))


@pytest.mark.parametrize("client_type", ["normal", "pubsub"])
async def test_killed_redis_connections_lose_no_socket_and_no_event(live, redis_server, client_type):
    env, daphne, session = live
    async with watching(session) as started:
        redis_server.kill_clients(client_type)
        seq = await asyncio.to_thread(emit, env, session.integration_id)
        await all_receive(started, seq)
        # Then Redis forgets the groups (a flush; a restart without persistence does the same): the
        # keepalives, whose connections were killed too, must still be renewing the memberships.
        await asyncio.sleep(HEARTBEAT_SECONDS * 1.5)
        with redis_server.client() as client:
            client.flushdb()
        seq = await asyncio.to_thread(emit, env, session.integration_id)
        await all_receive(started, seq)
    # Not even the socket whose consumer was blocked on the killed connection was closed.
    assert [watcher.closes for watcher in started] == [[]] * WATCHERS
    assert "Exception inside application" not in daphne.log()


async def test_a_redis_restart_forgets_the_groups_but_every_event_arrives(live, redis_server):
    env, daphne, session = live
    async with watching(session) as started:
        redis_server.stop()
        await asyncio.sleep(HEARTBEAT_SECONDS / 4)  # a restart: shorter than the membership's retry budget
        redis_server.start()  # without persistence: every group membership is gone
        seq = await asyncio.to_thread(emit, env, session.integration_id)
        await all_receive(started, seq)
    # Either the keepalive rejoined in time (same socket) or it gave up cleanly; never a crash.
    assert {code for watcher in started for code in watcher.closes} <= {CLOSE_LIVE_FEED_LOST}
    assert "Exception inside application" not in daphne.log()


async def test_a_long_outage_closes_sockets_with_4503_and_clients_resume_with_since(live, redis_server):
    env, daphne, session = live
    async with watching(session) as started:
        redis_server.stop()
        # Written while Redis is away: the doorbell fails (publish must not raise: the shell exits 0).
        during = await asyncio.to_thread(emit, env, session.integration_id)
        for watcher in started:
            # No socket stays open without its feed: each is closed with the code that says "resume".
            await watcher.until(lambda w: CLOSE_LIVE_FEED_LOST in w.closes, "close 4503", timeout=HEARTBEAT_SECONDS * 10)
        assert daphne.alive()
        redis_server.start()
        after = await asyncio.to_thread(emit, env, session.integration_id)
        await all_receive(started, after)
    for watcher in started:
        assert during in watcher.seqs and after in watcher.seqs  # replayed from the rows, in order
    assert "Exception inside application" not in daphne.log()


@pytest.mark.parametrize("outage", ["stopped", "connections killed"])
async def test_publish_never_raises_on_a_redis_outage(redis_server, settings, caplog, outage):
    from django.utils import timezone

    from integrations.models import IntegrationEvent
    from integrations.state.events import publish

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "gyana.channel_layer.RedisChannelLayer", "CONFIG": {"hosts": [redis_server.url]}}
    }
    events = [
        IntegrationEvent(integration_id=1, seq=seq, type="step.progress", time=timezone.now(), data={}) for seq in (1, 2)
    ]
    await publish(events[:1])  # the layer's connections now exist, to be cut
    try:
        if outage == "stopped":
            redis_server.stop()
        else:
            redis_server.kill_clients("normal")
        async with asyncio.timeout(20):
            await publish(events)
    finally:
        if redis_server.process is None:
            redis_server.start()
    if outage == "stopped":
        assert "could not publish event 1/2" in caplog.text
