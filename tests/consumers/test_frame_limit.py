"""A client frame over daphne's 1 MiB limit is answered with close code 1009 and a reason, not a cut
TCP connection (1006), by a real daphne as deployed (gyana/daphne_server.py)."""

import json
import uuid

import pytest
import websockets

from integrations.vocabulary import CLOSE_MESSAGE_TOO_BIG
from tests.support.live_socket import create_account, logged_in_session
from tests.support.process_fixtures import base_env, manage, spawn_daphne, wait_http
from tests.support.services import free_port

LIMIT = 1024 * 1024  # daphne's default --websocket-max-frame-size and --websocket-max-message-size


@pytest.fixture(scope="module")
def session(tmp_path_factory, temporal_server):
    var_dir = tmp_path_factory.mktemp("frame-limit")
    # The embedded default (SQLite, in-memory layer) without its in-process worker: nothing runs
    # (workflows go to a task queue no worker polls).
    env = base_env(
        DEBUG="1", VAR_DIR=str(var_dir), SETUP_WORKER_IN_PROCESS="0",
        TEMPORAL_ADDRESS=temporal_server.address, TEMPORAL_TASK_QUEUE=f"no-worker-{uuid.uuid4().hex}",
    )
    manage(env, "migrate", "--no-input")
    create_account(env)
    daphne = spawn_daphne("daphne", free_port(), env, var_dir)
    try:
        wait_http(daphne)
        yield logged_in_session(daphne.extra["url"])
        assert daphne.alive()
    finally:
        daphne.stop()


async def closed_after_sending(session, message) -> tuple[int | None, str]:
    # No compression: the frame on the wire is as big as the message.
    async with session.connect(compression=None, close_timeout=5) as socket:
        assert json.loads(await socket.recv())["type"] == "snapshot"
        try:
            await socket.send(message)
            await socket.recv()
        except websockets.ConnectionClosed:
            pass
        return socket.close_code, socket.close_reason


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("x" * (2 * LIMIT), id="one frame of 2 MiB"),
        pytest.param(["y" * (LIMIT // 2)] * 3, id="a message of three 512 KiB fragments"),
    ],
)
async def test_an_oversized_client_message_is_closed_with_1009_and_a_reason(session, message):
    code, reason = await closed_after_sending(session, message)
    assert code == CLOSE_MESSAGE_TOO_BIG
    assert "exceeds payload limit" in reason

    # The server is fine and the client may come back, resuming as usual.
    async with session.connect(since=0) as socket:
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv())["type"] == "heartbeat"


async def test_a_big_frame_under_the_limit_is_only_answered_with_an_error_frame(session):
    async with session.connect(compression=None) as socket:
        assert json.loads(await socket.recv())["type"] == "snapshot"
        await socket.send("z" * (LIMIT // 2))
        answer = json.loads(await socket.recv())
        assert (answer["type"], answer["data"]["code"]) == ("error", "bad_request")
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await socket.recv())["type"] == "heartbeat"
