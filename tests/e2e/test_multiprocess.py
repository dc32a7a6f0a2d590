"""The scaled deployment as real processes: two daphnes and `temporal_worker`s on PostgreSQL, Redis
and Temporal, the Fivetran emulator landing tables in the BigQuery stand-in. A websocket on daphne A
watches a set-up driven through daphne B while, in every one of its eight steps, the worker running
it is killed with SIGKILL in the middle of it (a replacement is started each time, as a supervisor
would): Temporal notices the missing heartbeat and another worker runs the step again."""

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
SLOW_SECONDS = 6.0  # the Fivetran call the killed worker is stuck in
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
            yield {"db": database_url, "a": daphne_a, "b": daphne_b, "workers": workers, "spawned": processes,
                   "env": env, "log_dir": tmp_path}
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


async def workflow_handle(database_url: str, integration_id: int):
    from temporalio.client import Client

    from gyana.temporal.client import connect_options

    client = await Client.connect(**connect_options())
    (schema_name,), = await asyncio.to_thread(
        query, database_url, "SELECT schema_name FROM integrations_integration WHERE id = %s", integration_id
    )
    return client.get_workflow_handle(workflow_id(integration_id, schema_name))


async def activity_worker(handle, timeout: float = 30.0) -> int:
    """The pid of the worker running the workflow's activity now (Temporal's own record)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pending in (await handle.describe()).raw_description.pending_activities:
            if pending.last_worker_identity and pending.state == 2:  # STARTED
                return int(pending.last_worker_identity.split("@", 1)[0])
        await asyncio.sleep(0.05)
    raise AssertionError("no worker ever ran the activity")


async def workflow_worker(handle) -> int:
    """The pid of the worker that ran the workflow's last task: the one holding it in its cache."""
    pid = None
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_task_started_event_attributes"):
            pid = int(event.workflow_task_started_event_attributes.identity.split("@", 1)[0])
    assert pid is not None
    return pid


async def until_fault_taken(emulator, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        faults = await asyncio.to_thread(
            httpx.get, f"{emulator.url}/_control/faults", auth=(emulator.api_key, emulator.api_secret)
        )
        if not faults.json()["items"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no worker made the slowed call")


class Workers:
    """The workers of the deployment: kill one, start its replacement (as systemd's Restart= would)."""

    def __init__(self, deployment):
        self.deployment = deployment
        self.killed: dict[str, float] = {}  # step → when its worker was killed

    async def kill(self, pid: int, step: str) -> None:
        victim = next(worker for worker in self.deployment["spawned"] if worker.pid == pid)
        os.kill(victim.pid, signal.SIGKILL)
        self.killed[step] = time.time()
        await asyncio.to_thread(victim.process.wait, 5)
        assert victim.process.returncode == -signal.SIGKILL
        replacement = spawn_worker(f"worker-after-{step}", self.deployment["env"], self.deployment["log_dir"])
        self.deployment["spawned"].append(replacement)
        self.deployment["workers"].append(replacement)

    async def kill_in_slowed_call(self, handle, emulator, step: str) -> None:
        """Kill the worker whose activity is inside the call slowed by the fault just added."""
        await until_fault_taken(emulator)
        await asyncio.sleep(0.3)  # well inside the slow call
        await self.kill(await activity_worker(handle), step)

    def alive(self) -> list:
        return [worker for worker in self.deployment["workers"] if worker.alive()]


async def waiters(database_url: str) -> int:
    rows = await asyncio.to_thread(
        query, database_url,
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    )
    return rows[0][0]


@pytest.mark.timeout(900)
async def test_two_daphnes_workers_killed_during_every_step(deployment, flow_emulator, temporal_settings):
    daphne_a, daphne_b = deployment["a"], deployment["b"]
    database_url = deployment["db"]
    a_url, b_url = daphne_a.extra["url"], daphne_b.extra["url"]
    workers = Workers(deployment)
    fault = flow_emulator.fault
    async with httpx.AsyncClient(timeout=60) as client:
        await login(client, a_url)  # one session, used on both daphnes
        csrf = {"X-CSRFToken": client.cookies["csrftoken"]}

        # create_connection: Fivetran creates the connection, and its answer is held while the
        # worker dies. The next worker must adopt that connection, not pay for a second one.
        await asyncio.to_thread(fault, "slow", path="/v1/connections", method="POST", after=True, delay=SLOW_SECONDS)
        created = await client.post(f"{b_url}/api/integrations/", json={"service": "hubspot"}, headers=csrf)
        assert created.status_code == 201, created.text
        integration_id = created.json()["id"]
        handle = await workflow_handle(database_url, integration_id)

        async with websockets.connect(
            f"ws://127.0.0.1:{a_url.rsplit(':', 1)[1]}/ws/integrations/{integration_id}/?since=0",
            additional_headers={"Cookie": f"sessionid={client.cookies['sessionid']}"},
            origin=a_url,
        ) as socket:
            watcher = Watcher(socket)
            await workers.kill_in_slowed_call(handle, flow_emulator, "create_connection")
            # connect_card: its status read of the connection (the only GET of /v1/connections/<id>
            # until then) hangs while the worker dies.
            await asyncio.to_thread(fault, "slow", path="/v1/connections/", method="GET", delay=SLOW_SECONDS)
            await workers.kill_in_slowed_call(handle, flow_emulator, "connect_card")

            card = await watcher.until(is_action("connect_card"), "Connect Card action", timeout=90)
            (connection_id,), = await asyncio.to_thread(
                query, database_url, "SELECT connection_id FROM integrations_integration WHERE id = %s", integration_id
            )
            # load_schema: the schema read hangs.
            await asyncio.to_thread(
                fault, "slow", path="/schemas", connection_id=connection_id, method="GET", delay=SLOW_SECONDS
            )
            await asyncio.to_thread(flow_emulator.complete_card, connection_id)
            return_url = parse_qs(urlparse(card["data"]["url"]).query)["redirect_uri"][0]
            assert return_url.startswith(b_url)
            back = await client.get(return_url)
            assert back.status_code == 302, back.text
            await workers.kill_in_slowed_call(handle, flow_emulator, "load_schema")

            # select_tables: the worker holding the waiting workflow dies; the choice (an Update)
            # reaches another one.
            await watcher.until(is_action("select_tables"), "table selection", timeout=90)
            await workers.kill(await workflow_worker(handle), "select_tables")
            schema = (await client.get(f"{b_url}/api/integrations/{integration_id}/schema/")).json()["schemas"][0]
            selected = {schema["name"]: [table["name"] for table in schema["tables"]][:2]}
            # update_schema: Fivetran applies the new selection; its answer is held while the worker dies.
            await asyncio.to_thread(
                fault, "slow", path="/schemas", connection_id=connection_id, method="PATCH", after=True,
                delay=SLOW_SECONDS,
            )
            chosen = await client.post(
                f"{b_url}/api/integrations/{integration_id}/schema/", json={"selected": selected}, headers=csrf
            )
            assert chosen.status_code == 202, chosen.text
            await workers.kill_in_slowed_call(handle, flow_emulator, "update_schema")

            # start_sync: Fivetran starts the sync; its answer is held while the worker dies.
            await asyncio.to_thread(
                fault, "slow", path="/sync", connection_id=connection_id, method="POST", after=True, delay=SLOW_SECONDS
            )
            await workers.kill_in_slowed_call(handle, flow_emulator, "start_sync")

            # historical_sync: its first status read hangs (start_sync's retry reads no status:
            # its baseline was recorded before the kill).
            await asyncio.to_thread(
                fault, "slow", path=f"/v1/connections/{connection_id}", method="GET", delay=SLOW_SECONDS
            )
            await workers.kill_in_slowed_call(handle, flow_emulator, "historical_sync")

            # register_tables talks to BigQuery only: hold its step row locked, so that the worker
            # that starts it waits inside the step, and kill that worker there.
            async with await psycopg.AsyncConnection.connect(database_url) as locker:
                async with locker.transaction():
                    await locker.execute(
                        "SELECT id FROM integrations_setupstep WHERE integration_id = %s AND name = 'register_tables' FOR UPDATE",
                        (integration_id,),
                    )
                    await watcher.until(
                        lambda f: f.get("type") == "step.completed" and f["data"]["step"] == "historical_sync",
                        "the historical sync's end", timeout=120,
                    )
                    deadline = time.monotonic() + 60
                    while not await waiters(database_url):
                        assert time.monotonic() < deadline, "no worker started register_tables"
                        await asyncio.sleep(0.05)
                    await workers.kill(await activity_worker(handle), "register_tables")

            await watcher.until(lambda f: f.get("type") == "setup.completed", "setup.completed", timeout=120)
            await asyncio.sleep(1.0)  # anything duplicated would arrive now
            frames = list(watcher.frames)

    assert list(workers.killed) == list(STEP_NAMES)
    # Every event reached the watcher on the other daphne exactly once, in order, valid.
    for frame in frames:
        jsonschema.validate(frame, frame_schema(frame["type"]))
    assert [frame["seq"] for frame in frames] == list(range(1, len(frames) + 1))
    rows = await asyncio.to_thread(
        query, database_url, "SELECT seq, uuid::text, type FROM integrations_integrationevent WHERE integration_id = %s ORDER BY seq", integration_id
    )
    assert [(frame["seq"], frame["id"], frame["type"]) for frame in frames] == [tuple(row) for row in rows]

    # The flow completed exactly once despite the kills: each step started once (taken over, not
    # restarted) and completed once, after its worker was killed.
    types = [frame["type"] for frame in frames]
    started = [f["data"] for f in frames if f["type"] == "step.started"]
    assert started == [{"step": step, "attempt": 1} for step in STEP_NAMES]
    completed = {f["data"]["step"]: f for f in frames if f["type"] == "step.completed"}
    assert [f["data"]["step"] for f in frames if f["type"] == "step.completed"] == list(STEP_NAMES)
    for step, killed_at in workers.killed.items():
        done_at = datetime.fromisoformat(completed[step]["time"].replace("Z", "+00:00")).timestamp()
        assert done_at > killed_at, step
    assert types.count("setup.completed") == 1
    # After Ready only the connection's life speaks (its first look at Fivetran's status).
    after = types[types.index("setup.completed") + 1 :]
    assert all(kind.startswith(("connection.", "sync.", "tables.updated")) for kind in after), after
    assert "step.failed" not in types
    assert [f["data"]["kind"] for f in frames if f["type"] == "action.required"] == ["connect_card", "select_tables"]
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
    assert next(f for f in frames if f["type"] == "setup.completed")["data"]["tables"] == len(tables)
    assert len(workers.alive()) == 2  # the survivors and the replacements, all still running
