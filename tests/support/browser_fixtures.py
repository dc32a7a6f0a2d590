"""The whole product as a user meets it, for the browser tests: `manage.py serve` in a subprocess on
its embedded defaults (SQLite, in-memory layer, in-process worker, Fivetran emulator mounted at
/_emulator/fivetran) writing into the session's BigQuery stand-in, and a headless Chromium.

Fixtures: `live_server_process` (session: the running server), `chromium` (session: a browser).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.services import free_port, missing_service

SCREENSHOTS = REPO / "var" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class ServerProcess:
    base_url: str
    env: dict
    log_path: Path
    process: subprocess.Popen

    def manage(self, *args: str) -> str:
        """Run a management command against the server's own database (same VAR_DIR and settings)."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(var_dir: Path, port: int, bigquery) -> dict:
    env = dict(os.environ)
    # The embedded default: SQLite under VAR_DIR, the in-memory layer and the in-process worker.
    for name in ("DATABASE_URL", "REDIS_URL", "FIVETRAN_API_URL", "PUBLIC_URL", "SETUP_WORKER_IN_PROCESS", "TEMPORAL_ADDRESS"):
        env.pop(name, None)
    env.update(
        VAR_DIR=str(var_dir),
        PORT=str(port),
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="gyana.settings",
        EMULATOR_SYNC_SECONDS="3",
        BIGQUERY_API_ENDPOINT=bigquery.endpoint,
        BIGQUERY_PROJECT=bigquery.project,
        SETUP_POLL_FIRST_SECONDS="1",
        SETUP_POLL_MAX_SECONDS="2",
        SETUP_TABLES_GRACE_SECONDS="10",
        SETUP_LANDING_SECONDS="0.5",  # a watched set-up shows its tables landing within the 3 s sync
        # Ports of their own: PORT + 33 may be any other test's free port.
        TEMPORAL_DEV_PORT=str(free_port()),
        TEMPORAL_DEV_UI_PORT=str(free_port()),
    )
    return env


def start_serve(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    """`manage.py serve` in its own process group: it starts daphne, the stand-ins and Temporal's dev
    server as children, and all of them must go at the end (stop_serve)."""
    with log_path.open("a") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def stop_serve(process: subprocess.Popen | None, timeout: float = 30) -> None:
    """SIGTERM to the whole group, as systemd would; SIGKILL if it does not end within `timeout`."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_health(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {timeout} s:\n{log_path.read_text()[-4000:]}")


def _require_static_files(base_url: str) -> None:
    # Without its CSS and JavaScript the flow page cannot go live: say so plainly, once.
    try:
        urllib.request.urlopen(f"{base_url}/static/js/flow-client.js", timeout=5).close()
    except OSError as exc:
        pytest.fail(f"`manage.py serve` does not serve /static/ ({exc}): the pages would have no CSS or JavaScript")


@pytest.fixture(scope="session")
def live_server_process(bigquery_standin):
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="browser-server-") as tmp:
        var_dir = Path(tmp)
        env = server_env(var_dir, port, bigquery_standin)
        log_path = var_dir / "server.log"
        for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env, check=True, capture_output=True)
        process = start_serve(env, port, log_path)
        server = ServerProcess(f"http://127.0.0.1:{port}", env, log_path, process)
        try:
            wait_for_health(f"{server.base_url}/healthz", process, log_path)
            _require_static_files(server.base_url)
            yield server
        finally:
            stop_serve(process, timeout=15)


# Module scope: the sync Playwright API keeps an event loop running in this thread while it is
# open, which would break every async test that comes after the browser tests.
@pytest.fixture(scope="module")
def chromium():
    executable = shutil.which("chromium")
    if executable is None:
        missing_service("Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot under var/screenshots/ (kept after the run, for people to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
