"""The scaled deployment as real processes: two daphnes and two `temporal_worker`s on PostgreSQL,
Redis and Temporal, the Fivetran emulator landing tables in the BigQuery stand-in. A websocket on
daphne A watches a set-up driven through daphne B while the worker running a step is killed with
SIGKILL in the middle of it: Temporal notices the missing heartbeat and the other worker runs the
step again."""

import asyncio
import json
import os
import signal
import time
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import httpx
import jsonschema
import psycopg
import pytest
import websockets

from integrations.engine.messages import workflow_id
from integrations.state.event_schemas import frame_schema
from integrations.vocabulary import STEP_NAMES
from tests.support.fivetran_fixtures import GROUP_ID
from tests.support.process_fixtures import (
    base_env,
    fresh_postgres_database,
    manage,
    spawn_daphne,
    spawn_worker,
    wait_http,
    wait_log,
    with_redis_db,
)
from tests.support.services import free_port

REDIS_DB = 13  # this test's own logical database: no other test's channel-layer keys
SLOW_SECONDS = 6.0  # the schema read the killed worker is stuck in
HEARTBEAT_SECONDS = 2.0
USERNAME, PASSWORD = "mp-user", "mp-password-123"

CREATE_ACCOUNT = f"""
from django.contrib.auth import get_user_model
from teams.models import Team
user = get_user_model().objects.create_user(username={USERNAME!r}, password={PASSWORD!r})
Team.objects.create(name="Multi-process").members.add(user)
"""


@pytest.fixture
def deployment(postgres_url, redis_url, flow_emulator, bigquery_standin, temporal_server, temporal_task_queue, tmp_path):
    """Migrated fresh database, an account, two daphnes and two workers; everything stopped after."""
    import redis

    redis_db_url = with_redis_db(redis_url, REDIS_DB)
    redis.Redis.from_url(redis_db_url).flushdb()
    port_a, port_b = free_port(), free_port()
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    processes = []
    with fresh_postgres_database(postgres_url) as database_url:
        env = base_env(
            DEBUG="1",
            VAR_DIR=str(var_dir),
            DATABASE_URL=database_url,
            REDIS_URL=redis_db_url,
            PUBLIC_URL=f"http://127.0.0.1:{port_b}",  # Connect Card returns come back through daphne B
            FIVETRAN_API_URL=flow_emulator.api_url,
            FIVETRAN_API_KEY=flow_emulator.api_key,
            FIVETRAN_API_SECRET=flow_emulator.api_secret,
            FIVETRAN_GROUP_ID=GROUP_ID,
            BIGQUERY_API_ENDPOINT=bigquery_standin.endpoint,
            BIGQUERY_PROJECT=bigquery_standin.project,
            SETUP_POLL_FIRST_SECONDS="0.2",
            SETUP_POLL_MAX_SECONDS="0.5",
            SETUP_ACTIVITY_HEARTBEAT_SECONDS=str(HEARTBEAT_SECONDS),
            TEMPORAL_ADDRESS=temporal_server.address,
            TEMPORAL_TASK_QUEUE=temporal_task_queue,
            SETUP_TABLES_GRACE_SECONDS="5",
            LOG_LEVEL="INFO",
        )
        env.pop("FIVETRAN_WEBHOOK_SECRET", None)  # no webhooks: the polling fallback finishes the sync
        try:
            manage(env, "migrate", "--no-input")
            manage(env, "shell", "-c", CREATE_ACCOUNT)
            processes = [
                spawn_daphne("daphne-a", port_a, env, tmp_path),
                spawn_daphne("daphne-b", port_b, env, tmp_path),
                spawn_worker("worker-1", env, tmp_path),
                spawn_worker("worker-2", env, tmp_path),
            ]
            daphne_a, daphne_b, *workers = processes
            wait_http(daphne_a)
            wait_http(daphne_b)
            for worker in workers:
                wait_log(worker, "Temporal worker started")
            yield {"db": database_url, "a": daphne_a, "b": daphne_b, "workers": workers}
        finally:
            for process in processes:
                process.stop()
            redis.Redis.from_url(redis_db_url).flushdb()


def query(database_url: str, sql: str, *params):
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, params).fetchall()


async def login(client: httpx.AsyncClient, base: str) -> None:
    page = await client.get(f"{base}/accounts/login/")
    token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = await client.post(
        f"{base}/accounts/login/", data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302, response.text
    assert client.cookies.get("sessionid")


class Watcher:
    """A websocket client that records every frame it receives."""

    def __init__(self, socket):
        self.socket = socket
        self.frames: list[dict] = []
        self.task = asyncio.ensure_future(self._read())

    async def _read(self):
        async for message in self.socket:
            self.frames.append(json.loads(message))

    async def until(self, predicate, what: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames:
                if predicate(frame):
                    return frame
            if self.task.done():
                raise AssertionError(f"the websocket closed while waiting for {what}: {self.task.exception()!r}")
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {what} within {timeout}s; frames: {[f.get('type') for f in self.frames]}")


def is_action(kind: str):
    return lambda frame: frame.get("type") == "action.required" and frame["data"]["kind"] == kind


async def worker_running(database_url: str, integration_id: int, step: str, timeout: float = 20.0) -> int:
    """The pid of the worker running `step` of the integration's workflow (Temporal's own record)."""
    from temporalio.client import Client

    from gyana.temporal.client import connect_options

    client = await Client.connect(**connect_options())
    (schema_name,), = await asyncio.to_thread(
        query, database_url, "SELECT schema_name FROM integrations_integration WHERE id = %s", integration_id
    )
    handle = client.get_workflow_handle(workflow_id(integration_id, schema_name))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pending in (await handle.describe()).raw_description.pending_activities:
            if pending.last_worker_identity and pending.state == 2:  # STARTED
                return int(pending.last_worker_identity.split("@", 1)[0])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no worker ever ran {step}")


async def until_fault_taken(emulator, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        faults = await asyncio.to_thread(
            httpx.get, f"{emulator.url}/_control/faults", auth=(emulator.api_key, emulator.api_secret)
        )
        if not faults.json()["items"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no worker read the schema")


async def test_two_daphnes_two_workers_one_killed_mid_step(deployment, flow_emulator, temporal_settings):
    daphne_a, daphne_b, workers = deployment["a"], deployment["b"], deployment["workers"]
    database_url = deployment["db"]
    a_url, b_url = daphne_a.extra["url"], daphne_b.extra["url"]
    async with httpx.AsyncClient(timeout=15) as client:
        await login(client, a_url)  # one session, used on both daphnes
        csrf = {"X-CSRFToken": client.cookies["csrftoken"]}

        created = await client.post(f"{b_url}/api/integrations/", json={"service": "hubspot"}, headers=csrf)
        assert created.status_code == 201, created.text
        integration_id = created.json()["id"]

        async with websockets.connect(
            f"ws://127.0.0.1:{a_url.rsplit(':', 1)[1]}/ws/integrations/{integration_id}/?since=0",
            additional_headers={"Cookie": f"sessionid={client.cookies['sessionid']}"},
            origin=a_url,
        ) as socket:
            watcher = Watcher(socket)
            card = await watcher.until(is_action("connect_card"), "Connect Card action")
            connection_id = (
                await asyncio.to_thread(
                    query, database_url, "SELECT connection_id FROM integrations_integration WHERE id = %s", integration_id
                )
            )[0][0]
            # The next schema read of this connection hangs: the worker running load_schema is mid-call.
            await asyncio.to_thread(
                flow_emulator.fault, "slow", path="/schemas", connection_id=connection_id, delay=SLOW_SECONDS
            )
            await asyncio.to_thread(flow_emulator.complete_card, connection_id)
            return_url = parse_qs(urlparse(card["data"]["url"]).query)["redirect_uri"][0]
            assert return_url.startswith(b_url)
            back = await client.get(return_url)
            assert back.status_code == 302, back.text

            pid = await worker_running(database_url, integration_id, "load_schema")
            victim = next(worker for worker in workers if worker.pid == pid)
            survivor = next(worker for worker in workers if worker is not victim)
            await until_fault_taken(flow_emulator)  # the worker's schema read has reached the emulator
            await asyncio.sleep(0.3)  # and is now inside the slow call
            os.kill(victim.pid, signal.SIGKILL)
            killed_at = time.time()
            await asyncio.to_thread(victim.process.wait, 5)
            assert victim.process.returncode == -signal.SIGKILL

            # The survivor takes over after the heartbeat timeout, and the workflow's next task after
            # the dead worker's sticky queue times out: seconds, more on a busy machine.
            await watcher.until(is_action("select_tables"), "table selection", timeout=SLOW_SECONDS + 60)
            assert survivor.alive()
            schema = (await client.get(f"{b_url}/api/integrations/{integration_id}/schema/")).json()["schemas"][0]
            selected = {schema["name"]: [table["name"] for table in schema["tables"]][:2]}
            chosen = await client.post(
                f"{b_url}/api/integrations/{integration_id}/schema/", json={"selected": selected}, headers=csrf
            )
            assert chosen.status_code == 202, chosen.text

            await watcher.until(lambda f: f.get("type") == "setup.completed", "setup.completed", timeout=40)
            await asyncio.sleep(1.0)  # anything duplicated would arrive now
            frames = list(watcher.frames)

    # Every event reached the watcher on the other daphne exactly once, in order, valid.
    for frame in frames:
        jsonschema.validate(frame, frame_schema(frame["type"]))
    assert [frame["seq"] for frame in frames] == list(range(1, len(frames) + 1))
    rows = await asyncio.to_thread(
        query, database_url, "SELECT seq, uuid::text, type FROM integrations_integrationevent WHERE integration_id = %s ORDER BY seq", integration_id
    )
    assert [(frame["seq"], frame["id"], frame["type"]) for frame in frames] == [tuple(row) for row in rows]

    # The flow completed exactly once despite the kill.
    types = [frame["type"] for frame in frames]
    assert [f["data"]["step"] for f in frames if f["type"] == "step.completed"] == list(STEP_NAMES)
    assert types.count("setup.completed") == 1 and types[-1] == "setup.completed"
    assert "step.failed" not in types
    schema_started = [f["data"] for f in frames if f["type"] == "step.started" and f["data"]["step"] == "load_schema"]
    assert schema_started == [{"step": "load_schema", "attempt": 1}]  # taken over, not restarted
    load_done = next(f for f in frames if f["type"] == "step.completed" and f["data"]["step"] == "load_schema")
    assert datetime.fromisoformat(load_done["time"].replace("Z", "+00:00")).timestamp() > killed_at
    (schema_name, state), = await asyncio.to_thread(
        query, database_url, "SELECT schema_name, state FROM integrations_integration WHERE id = %s", integration_id
    )
    assert state == "ready"
    listing = (await asyncio.to_thread(flow_emulator.api, "GET", "/connections", params={"limit": 1000})).json()
    assert [c["id"] for c in listing["data"]["items"] if c["schema"].split(".")[0] == schema_name] == [connection_id]
    tables = await asyncio.to_thread(
        query, database_url, "SELECT dataset, name FROM integrations_table WHERE integration_id = %s", integration_id
    )
    registered = [(t["dataset"], t["name"]) for f in frames if f["type"] == "tables.registered" for t in f["data"]["tables"]]
    assert len(tables) >= 3  # two chosen tables plus the locked ones Fivetran always syncs
    assert sorted(registered) == sorted(tuple(t) for t in tables)
    assert frames[-1]["data"]["tables"] == len(tables)
    assert all(worker.alive() for worker in workers if worker is not victim)
