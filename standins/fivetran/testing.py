"""Helpers for tests that need a running emulator or a webhook receiver on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """An ASGI app served by uvicorn on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server thread did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class EmulatorProcess:
    """`python -m standins.fivetran` as a subprocess, ready once it prints its listening line."""

    def __init__(self, data_dir: Path, *, sync_seconds: float = 0.5, port: int | None = None,
                 api_key: str = "emulator-key", api_secret: str = "emulator-secret", extra: list[str] | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [
            sys.executable, "-m", "standins.fivetran", "--host", "127.0.0.1", "--port", str(self.port),
            "--api-key", api_key, "--api-secret", api_secret, "--sync-seconds", str(sync_seconds),
            "--data-dir", str(data_dir), *(extra or []),
        ]
        self.auth = (api_key, api_secret)
        self.process: subprocess.Popen | None = None
        self.first_line = ""

    def start(self) -> "EmulatorProcess":
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(self.args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.first_line = self.process.stdout.readline().strip()
        if "listening on" not in self.first_line:
            self.stop()
            raise RuntimeError(f"emulator did not start: {self.first_line}")
        # Keep draining output so a chatty process never blocks on a full pipe.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        return self

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=self.auth, timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class WebhookReceiver:
    """Records every POST it gets: raw body and headers."""

    def __init__(self, status: int = 200):
        self.status = status
        self.received: list[dict[str, Any]] = []
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        self.server = ServerThread(app)
        self.url = f"{self.server.url}/hook"

    async def _hook(self, request: Request) -> Response:
        self.received.append({"body": await request.body(), "headers": dict(request.headers)})
        return Response("ok", status_code=self.status)

    def start(self) -> "WebhookReceiver":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
