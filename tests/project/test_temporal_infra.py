"""The Temporal infrastructure (gyana/temporal/) against a real dev server: client settings, workers
and their drain, the dev server's start-up errors and its death with its parent, and replay."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import TLSConfig
from temporalio.workflow import NondeterminismError

from gyana.temporal.client import connect_options, get_client
from gyana.temporal.devserver import DevServerError, start_dev_server
from gyana.temporal.worker import start_in_process_worker
from tests.support.process_fixtures import REPO, base_env, spawn, wait_log
from tests.support.replay import record_history, replay_histories
from tests.support.services import free_port
from tests.support.temporal_sample import (
    ChangedGreetingWorkflow,
    Greeting,
    GreetingWorkflow,
    SlowStep,
    SlowWorkflow,
    WaitingWorkflow,
    compose_greeting,
    slow_step,
)


def child_env(**overrides: str) -> dict[str, str]:
    """base_env without the TEMPORAL_* variables of whoever runs the tests, plus `overrides`."""
    env = {key: value for key, value in base_env().items() if not key.startswith("TEMPORAL_")}
    env.update(overrides)
    return env


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")


# --------------------------------------------------------------------------------------------
# Client settings (no server needed)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def plain_settings(settings):
    settings.TEMPORAL_ADDRESS = "temporal.example.internal:7233"
    settings.TEMPORAL_NAMESPACE = "gyana-prod"
    settings.TEMPORAL_TLS = False
    settings.TEMPORAL_API_KEY = None
    settings.TEMPORAL_TLS_CLIENT_CERT_PATH = settings.TEMPORAL_TLS_CLIENT_KEY_PATH = None
    settings.TEMPORAL_TLS_SERVER_CA_CERT_PATH = settings.TEMPORAL_TLS_SERVER_NAME = None
    return settings


def test_plain_connection_has_no_tls_and_no_key(plain_settings):
    assert connect_options() == {
        "target_host": "temporal.example.internal:7233",
        "namespace": "gyana-prod",
        "api_key": None,
        "tls": False,
    }


def test_api_key_uses_tls_with_the_system_cas(plain_settings):
    plain_settings.TEMPORAL_API_KEY = "cloud-key"
    plain_settings.TEMPORAL_TLS = True
    options = connect_options()
    assert options["api_key"] == "cloud-key"
    assert options["tls"] is True


def test_api_key_without_tls_when_asked(plain_settings):
    plain_settings.TEMPORAL_API_KEY = "key-behind-a-tls-proxy"
    assert connect_options()["tls"] is False


def test_mtls_reads_the_certificate_key_and_ca(plain_settings, tmp_path):
    for name in ("client.pem", "client.key", "ca.pem"):
        (tmp_path / name).write_bytes(f"-- {name} --".encode())
    plain_settings.TEMPORAL_TLS = True
    plain_settings.TEMPORAL_TLS_CLIENT_CERT_PATH = str(tmp_path / "client.pem")
    plain_settings.TEMPORAL_TLS_CLIENT_KEY_PATH = str(tmp_path / "client.key")
    plain_settings.TEMPORAL_TLS_SERVER_CA_CERT_PATH = str(tmp_path / "ca.pem")
    plain_settings.TEMPORAL_TLS_SERVER_NAME = "temporal.example.internal"
    options = connect_options()
    assert options["api_key"] is None
    assert options["tls"] == TLSConfig(
        client_cert=b"-- client.pem --",
        client_private_key=b"-- client.key --",
        server_root_ca_cert=b"-- ca.pem --",
        domain="temporal.example.internal",
    )


def test_an_unreadable_certificate_says_which_setting(plain_settings, tmp_path):
    plain_settings.TEMPORAL_TLS = True
    plain_settings.TEMPORAL_TLS_CLIENT_CERT_PATH = str(tmp_path / "missing.pem")
    plain_settings.TEMPORAL_TLS_CLIENT_KEY_PATH = str(tmp_path / "missing.key")
    with pytest.raises(ImproperlyConfigured, match="TEMPORAL_TLS_CLIENT_CERT_PATH=.*missing.pem cannot be read"):
        connect_options()


def settings_in_a_fresh_process(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "PORT"))}
    clean.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="gyana.settings", **env)
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.TEMPORAL_EMBEDDED, s.TEMPORAL_ADDRESS, s.TEMPORAL_DEV_UI_PORT, s.TEMPORAL_TLS, s.TEMPORAL_TASK_QUEUE)"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PORT": "9000"}, "True 127.0.0.1:9033 9034 False integration-setup"),
        ({"TEMPORAL_ADDRESS": "t:7233", "TEMPORAL_API_KEY": "k"}, "False t:7233 8034 True integration-setup"),
        ({"TEMPORAL_ADDRESS": "t:7233", "TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "0"}, "False t:7233 8034 False integration-setup"),
        ({"TEMPORAL_ADDRESS": "t:7233", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/ca.pem", "TEMPORAL_TASK_QUEUE": "q"},
         "False t:7233 8034 True q"),
    ],
)
def test_settings_from_the_environment(tmp_path, env, expected):
    result = settings_in_a_fresh_process(tmp_path, **env)
    assert result.stdout.strip() == expected, result.stderr


def test_a_client_certificate_without_its_key_refuses_to_start(tmp_path):
    result = settings_in_a_fresh_process(tmp_path, TEMPORAL_ADDRESS="t:7233", TEMPORAL_TLS_CLIENT_CERT_PATH="/c.pem")
    assert result.returncode != 0
    assert "TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together" in result.stderr


# --------------------------------------------------------------------------------------------
# The client against the dev server
# --------------------------------------------------------------------------------------------


async def test_one_client_per_event_loop(temporal_settings, settings):
    first, second = await asyncio.gather(get_client(), get_client())
    assert first is second  # concurrent callers share one connect
    assert await get_client() is first
    assert await first.service_client.check_health()

    async def on_another_loop():
        client = await get_client()
        assert await client.service_client.check_health()
        return client

    other = await asyncio.to_thread(asyncio.run, on_another_loop())
    assert other is not first

    settings.TEMPORAL_NAMESPACE = "default"  # unchanged value: same client
    assert await get_client() is first


# --------------------------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------------------------


async def test_a_workflow_and_its_activity_run_on_an_in_process_worker(temporal_client, temporal_task_queue):
    worker = await start_in_process_worker([GreetingWorkflow], [compose_greeting], task_queue=temporal_task_queue)
    try:
        result = await temporal_client.execute_workflow(
            GreetingWorkflow.run, Greeting("Gyana"), id=f"greeting-{uuid.uuid4()}", task_queue=temporal_task_queue,
            execution_timeout=timedelta(seconds=30),
        )
        assert result == "Hello, Gyana!"
    finally:
        await worker.stop()
    assert not worker.running
    await worker.stop()  # idempotent


async def test_a_second_start_with_the_same_id_is_refused(temporal_client, temporal_task_queue):
    """One workflow per integration relies on this: the id is the lock."""
    workflow_id = f"integration-{uuid.uuid4()}"
    handle = await temporal_client.start_workflow(WaitingWorkflow.run, id=workflow_id, task_queue=temporal_task_queue)
    with pytest.raises(WorkflowAlreadyStartedError):
        await temporal_client.start_workflow(WaitingWorkflow.run, id=workflow_id, task_queue=temporal_task_queue)

    worker = await start_in_process_worker([WaitingWorkflow], task_queue=temporal_task_queue)
    try:
        await handle.signal(WaitingWorkflow.finish)
        assert await handle.result() == "finished"
        # Closed: REJECT_DUPLICATE still refuses the id; the default policy (ALLOW_DUPLICATE) would not.
        with pytest.raises(WorkflowAlreadyStartedError):
            await temporal_client.start_workflow(
                WaitingWorkflow.run, id=workflow_id, task_queue=temporal_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        again = await temporal_client.start_workflow(WaitingWorkflow.run, id=workflow_id, task_queue=temporal_task_queue)
        assert again.result_run_id != handle.result_run_id
        await again.signal(WaitingWorkflow.finish)
        assert await again.result() == "finished"
    finally:
        await worker.stop()


async def wait_for(condition, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        await asyncio.sleep(0.05)


async def test_sigterm_drains_the_running_activity_and_exits_0(
    temporal_server, temporal_client, temporal_task_queue, tmp_path
):
    env = child_env(
        TEMPORAL_ADDRESS=temporal_server.address,
        TEMPORAL_TASK_QUEUE=temporal_task_queue,
        TEMPORAL_WORKER_DRAIN_SECONDS="30",
        VAR_DIR=str(tmp_path / "var"),
    )
    worker = spawn(
        "temporal-worker",
        [sys.executable, "-c", "from tests.support.temporal_sample import worker_main; worker_main()"],
        env,
        tmp_path,
    )
    try:
        await asyncio.to_thread(wait_log, worker, "Temporal worker started")
        handle = await temporal_client.start_workflow(
            SlowWorkflow.run, SlowStep(str(tmp_path), seconds=3), id=f"slow-{uuid.uuid4()}",
            task_queue=temporal_task_queue,
        )
        await wait_for((tmp_path / "started").exists, what="activity started")
        worker.process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(worker.process.wait, 60)
        assert returncode == 0, worker.log()
        assert "SIGTERM: stopping the Temporal worker" in worker.log()
        assert (tmp_path / "finished").exists()
    finally:
        worker.stop()

    # The drained activity's result reached Temporal: a new worker only has to finish the workflow.
    events = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in events, events
    resumed = await start_in_process_worker([SlowWorkflow], [slow_step], task_queue=temporal_task_queue)
    try:
        assert await asyncio.wait_for(handle.result(), 30) == "finished"
    finally:
        await resumed.stop()
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


# --------------------------------------------------------------------------------------------
# The dev server
# --------------------------------------------------------------------------------------------


def test_a_busy_port_is_one_clear_line(temporal_server, tmp_path):
    port = int(temporal_server.address.rsplit(":", 1)[1])
    with pytest.raises(DevServerError) as raised:
        start_dev_server(port, log_path=tmp_path / "log")
    message = str(raised.value)
    assert "\n" not in message
    assert f"port {port} on 127.0.0.1 (Temporal dev server gRPC) is busy" in message


def test_a_missing_binary_is_one_clear_line(tmp_path):
    with pytest.raises(DevServerError, match="does not exist or is not executable") as raised:
        start_dev_server(free_port(), binary=tmp_path / "temporal", log_path=tmp_path / "log")
    assert "\n" not in str(raised.value)


def test_the_command_line_reports_a_busy_port_without_a_traceback(temporal_server, tmp_path):
    env = child_env(VAR_DIR=str(tmp_path), TEMPORAL_DEV_PORT=temporal_server.address.rsplit(":", 1)[1],
                    TEMPORAL_DEV_UI_PORT=str(free_port()))
    result = subprocess.run(
        [sys.executable, "-m", "gyana.temporal.devserver"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: port ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def process_gone(pid: int) -> bool:
    """Gone or a zombie (a container's init may never reap an orphan; a zombie runs nothing)."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


PARENT = """
import sys, time
from gyana.temporal.devserver import start_dev_server
server = start_dev_server(int(sys.argv[1]), log_path=sys.argv[2])
print(server.pid, flush=True)
time.sleep(600)
"""


@linux_only
@pytest.mark.parametrize("parent_signal", [signal.SIGKILL, signal.SIGTERM], ids=lambda signum: signum.name)
def test_the_dev_server_dies_with_its_parent(temporal_cli, tmp_path, parent_signal):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(free_port()), str(tmp_path / "server.log")],
        cwd=REPO, env=child_env(), stdout=subprocess.PIPE, text=True,
    )
    server_pid = None
    try:
        server_pid = int(parent.stdout.readline())
        # The pid we watch is the server itself (the shim exec'd into it), not a wrapper.
        assert os.path.basename(os.readlink(f"/proc/{server_pid}/exe")).startswith("temporal")
        parent.send_signal(parent_signal)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 15
        while not process_gone(server_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process_gone(server_pid), "the dev server outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if server_pid is not None and not process_gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------
# Replay
# --------------------------------------------------------------------------------------------


async def test_replay_passes_for_the_same_code_and_fails_for_an_incompatible_change(
    temporal_client, temporal_task_queue, tmp_path
):
    worker = await start_in_process_worker([GreetingWorkflow], [compose_greeting], task_queue=temporal_task_queue)
    try:
        handle = await temporal_client.start_workflow(
            GreetingWorkflow.run, Greeting("replay"), id=f"greeting-{uuid.uuid4()}", task_queue=temporal_task_queue
        )
        assert await handle.result() == "Hello, replay!"
    finally:
        await worker.stop()
    path = await record_history(handle, tmp_path / "histories" / "greeting.json")

    assert await replay_histories([path], [GreetingWorkflow]) == 1
    with pytest.raises(NondeterminismError) as raised:
        await replay_histories([path], [ChangedGreetingWorkflow])
    assert "while replaying greeting.json" in raised.value.__notes__
