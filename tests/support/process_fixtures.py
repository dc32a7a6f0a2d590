"""Helpers for tests and benches that run the product as real processes: a throw-away PostgreSQL
database, `manage.py` commands, and daphne / temporal_worker processes logging to files."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx

from tests.support.paths import REPO

START_TIMEOUT = 30.0


def with_database(url: str, name: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{name}"))


def with_redis_db(url: str, db: int) -> str:
    """The same Redis server, another logical database: keys of other tests never mix with ours."""
    parts = urlparse(url)
    return urlunparse(parts._replace(path=f"/{db}"))


@contextlib.contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "mp") -> Iterator[str]:
    """CREATE a new database on the server of `server_url`; DROP it (forcing out clients) after."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_env(**overrides: str) -> dict[str, str]:
    """The parent's environment without anything that would point a child at another instance."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "FIVETRAN_", "BIGQUERY_", "SETUP_", "TEMPORAL_", "PUBLIC_URL", "VAR_DIR"))
    }
    env.update(DJANGO_SETTINGS_MODULE="gyana.settings", PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Process:
    name: str
    process: subprocess.Popen
    log_path: Path
    extra: dict = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def spawn(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> Process:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        # A file, not a pipe: a pipe nobody reads fills up and blocks the child's logging.
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Process(name, process, log_path)


def spawn_daphne(name: str, port: int, env: dict[str, str], log_dir: Path, app: str = "gyana.asgi:application") -> Process:
    # daphne as deployed: gyana.daphne_server is daphne closing failed websockets with a frame.
    command = [sys.executable, "-m", "gyana.daphne_server", "-b", "127.0.0.1", "-p", str(port), app]
    process = spawn(name, command, env, log_dir)
    process.extra["url"] = f"http://127.0.0.1:{port}"
    return process


def spawn_worker(name: str, env: dict[str, str], log_dir: Path) -> Process:
    return spawn(name, [sys.executable, "manage.py", "temporal_worker"], env, log_dir)


def wait_http(process: Process, path: str = "/healthz", timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited with {process.process.returncode}:\n{process.log()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(process.extra["url"] + path, timeout=2).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not answer within {timeout}s:\n{process.log()[-3000:]}")


def wait_log(process: Process, text: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in process.log():
            return
        if not process.alive():
            raise RuntimeError(f"{process.name} exited with {process.process.returncode}:\n{process.log()[-3000:]}")
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} never logged {text!r}:\n{process.log()[-3000:]}")


def rss_kib(pid: int) -> tuple[int, int]:
    """(current, peak) resident set size of a process in KiB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]
