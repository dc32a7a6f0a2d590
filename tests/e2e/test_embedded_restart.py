"""The embedded default (`manage.py serve`, as `make run` starts it) killed with SIGKILL in the middle
of a historical sync, then started again: the set-up resumes from Temporal's state in VAR_DIR and
finishes, with one Fivetran connection and every step completed once. Killing `serve` also stops
its children (the kernel sends them SIGTERM), so the second start finds its ports and files free."""

import os
import re
import signal
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.support.browser_fixtures import server_env, start_serve, stop_serve, wait_for_health
from tests.support.paths import REPO
from tests.support.services import free_port

EMULATOR_AUTH = ("emulator-key", "emulator-secret")


def login(client: httpx.Client) -> dict:
    page = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    client.post("/accounts/login/", data={"username": "demo", "password": "demo", "csrfmiddlewaretoken": token})
    return {"X-CSRFToken": client.cookies["csrftoken"], "Referer": str(client.base_url)}


def snapshot(client: httpx.Client, pk: int) -> dict:
    return client.get(f"/api/integrations/{pk}/").json()


def until(client: httpx.Client, pk: int, predicate, what: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = snapshot(client, pk)
        except httpx.TransportError:
            state = None
        if state is not None and predicate(state):
            return state
        time.sleep(0.2)
    raise AssertionError(f"never {what}: {state}")


def step_state(state: dict, name: str) -> str:
    return next(step["state"] for step in state["steps"] if step["name"] == name)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children_of(pid: int) -> list[int]:
    result = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(line) for line in result.stdout.split()]


def test_killed_mid_sync_then_started_again_finishes(bigquery_standin, tmp_path):
    port = free_port()
    env = server_env(tmp_path, port, bigquery_standin)
    env["EMULATOR_SYNC_SECONDS"] = "6"
    log_path = tmp_path / "serve.log"
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, check=True, capture_output=True)
    base = f"http://127.0.0.1:{port}"
    first = start_serve(env, port, log_path)
    second = None
    try:
        wait_for_health(f"{base}/healthz", first, log_path)
        with httpx.Client(base_url=base, timeout=30) as client:
            headers = login(client)
            pk = client.post("/api/integrations/", json={"service": "hubspot"}, headers=headers).json()["id"]
            state = until(client, pk, lambda s: step_state(s, "connect_card") == "waiting_for_user", "on the card")
            card = next(step for step in state["steps"] if step["name"] == "connect_card")["action"]["url"]
            connection_id = client.get(f"/api/integrations/{pk}/events?since=0").json()[1]["data"]["detail"]["connection_id"]
            emulator = f"{base}/_emulator/fivetran"
            assert httpx.post(f"{emulator}/_control/connections/{connection_id}/complete-card", auth=EMULATOR_AUTH).is_success
            back = parse_qs(urlparse(card).query)["redirect_uri"][0]
            assert client.get(back.replace(base, "")).status_code == 302
            until(client, pk, lambda s: step_state(s, "select_tables") == "waiting_for_user", "choosing tables")
            schema = client.get(f"/api/integrations/{pk}/schema/").json()["schemas"][0]
            chosen = {schema["name"]: [table["name"] for table in schema["tables"]]}
            assert client.post(f"/api/integrations/{pk}/schema/", json={"selected": chosen}, headers=headers).status_code == 202
            until(client, pk, lambda s: step_state(s, "historical_sync") == "running", "syncing")

            children = children_of(first.pid)
            assert children, "serve started no children"
            os.kill(first.pid, signal.SIGKILL)  # no clean-up of its own: the kernel stops its children
            first.wait(timeout=10)
            deadline = time.monotonic() + 30
            while any(alive(child) for child in children):
                assert time.monotonic() < deadline, "a child of the killed serve is still running"
                time.sleep(0.2)

            second = start_serve(env, port, log_path)
            wait_for_health(f"{base}/healthz", second, log_path)
            final = until(client, pk, lambda s: s["state"] in ("ready", "failed"), "finished", timeout=120)
            assert final["state"] == "ready", final
            events = client.get(f"/api/integrations/{pk}/events?since=0").json()
            completed = [e["data"]["step"] for e in events if e["type"] == "step.completed"]
            assert sorted(completed) == sorted(set(completed)) and len(completed) == 8
            # One connection: the demo team's only integration, so every hubspot connection is ours.
            listing = httpx.get(f"{emulator}/v1/connections", params={"limit": 1000}, auth=EMULATOR_AUTH).json()
            assert [c["id"] for c in listing["data"]["items"] if c["service"] == "hubspot"] == [connection_id]
    finally:
        for process in (first, second):
            stop_serve(process)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_stopping_serve_stops_every_child(bigquery_standin, tmp_path, how):
    """`kill <pid>` (SIGTERM) or Ctrl-C (SIGINT) on `manage.py serve` leaves nothing running, and
    the next start on the same VAR_DIR and PORT works."""
    port = free_port()
    env = server_env(tmp_path, port, bigquery_standin)
    env.pop("BIGQUERY_API_ENDPOINT")  # serve starts its own stand-in too: it must stop with it
    env["BIGQUERY_STANDIN_PORT"] = str(free_port())
    log_path = tmp_path / "serve.log"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
    for attempt in range(2):
        process = start_serve(env, port, log_path)
        try:
            wait_for_health(f"http://127.0.0.1:{port}/healthz", process, log_path)
            children = children_of(process.pid)
            assert len(children) >= 3, children  # the stand-in, Temporal's dev server, daphne
            os.kill(process.pid, how)
            process.wait(timeout=60)
            assert not [child for child in children if alive(child)], log_path.read_text()[-2000:]
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
