"""A redis-server of the test's own, on a free port, that the test may stop, restart or cut off.

Never the shared Redis: killing its clients or restarting it would break every other test and
developer using it. No persistence, so a restart forgets everything, as a cache-only Redis does.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.services import free_port, missing_service

START_TIMEOUT = 10.0


class RedisServer:
    def __init__(self, executable: str, port: int, directory: Path):
        self.executable = executable
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        assert self.process is None, "already running"
        command = [
            self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.directory),
        ]
        with open(self.directory / "redis.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {self.log()[-2000:]}")
            with contextlib.suppress(redis.RedisError), self.client() as client:
                if client.ping():
                    return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT}s: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def kill_clients(self, client_type: str) -> None:
        """`CLIENT KILL TYPE <type>` (not this connection): what a failover or an operator does."""
        with self.client() as client:
            client.client_kill_filter(_type=client_type, skipme=True)

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def own_redis_server(directory: Path) -> Iterator[RedisServer]:
    executable = shutil.which("redis-server")
    if executable is None:
        missing_service("redis-server (apt-get install redis-server)")
    server = RedisServer(executable, free_port(), directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
