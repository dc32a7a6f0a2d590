"""The Fivetran emulator as a real subprocess on a loopback port, and helpers for its control API.

Used by the Fivetran client tests (import the `emulator` fixture) and by bench/fivetran_client.py.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.paths import REPO
from tests.support.services import free_port

API_KEY = "test-key"
API_SECRET = "test-secret"
GROUP_ID = "embedded_group"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Emulator:
    url: str
    api_key: str
    api_secret: str

    @property
    def api_url(self) -> str:
        return f"{self.url}/v1"

    def _control(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(
            method, f"{self.url}{path}", auth=(self.api_key, self.api_secret), timeout=10, **kwargs
        )
        response.raise_for_status()
        return response

    def fault(self, kind: str, **options: Any) -> None:
        self._control("POST", "/_control/faults", json={"kind": kind, **options})

    def clear_faults(self) -> None:
        self._control("DELETE", "/_control/faults")

    def requests(self) -> list[dict[str, Any]]:
        return self._control("GET", "/_control/requests").json()["items"]

    def clear_requests(self) -> None:
        self._control("DELETE", "/_control/requests")

    def complete_card(self, connection_id: str) -> dict[str, Any]:
        return self._control("POST", f"/_control/connections/{connection_id}/complete-card").json()

    def add_table(self, connection_id: str, table: str, **options: Any) -> dict[str, Any]:
        """The connection's source gains `table` (options: schema, columns ["id:INT64", …], rows);
        Fivetran admits it at the next sync as the connection's schema_change_handling says."""
        return self._control("POST", f"/_control/connections/{connection_id}/add-table", json={"table": table, **options}).json()

    def delete_connection(self, connection_id: str) -> None:
        """Someone deletes the connection in Fivetran's dashboard: from then on it answers 404."""
        self._control("DELETE", f"/_control/connections/{connection_id}")

    def set_time_scale(self, time_scale: float) -> None:
        """Fivetran's schedule runs `time_scale` times faster (3600: an hourly connection syncs every second)."""
        self._control("PUT", "/_control/clock", json={"time_scale": time_scale})

    def connection_state(self, connection_id: str) -> dict[str, Any]:
        """What Fivetran does not show: next_sync_at, last_sync_started_at, the running sync, landed rows."""
        return self._control("GET", f"/_control/connections/{connection_id}").json()

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A raw API request, bypassing the client (to show what the client must not send)."""
        return httpx.request(
            method, f"{self.api_url}{path}", auth=(self.api_key, self.api_secret), timeout=10, **kwargs
        )


@contextlib.contextmanager
def running_emulator(
    data_dir: Path,
    *,
    sync_seconds: float = 2.0,
    time_scale: float = 1.0,
    bigquery_endpoint: str | None = None,
    bigquery_project: str = "local-project",
) -> Iterator[Emulator]:
    """Start `python -m standins.fivetran` on a free port; stop it on exit."""
    port = free_port()
    emulator = Emulator(url=f"http://127.0.0.1:{port}", api_key=API_KEY, api_secret=API_SECRET)
    log_path = Path(data_dir) / "emulator.log"
    command = [
        sys.executable,
        "-m",
        "standins.fivetran",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--api-key",
        API_KEY,
        "--api-secret",
        API_SECRET,
        "--sync-seconds",
        str(sync_seconds),
        "--time-scale",
        str(time_scale),
        "--data-dir",
        str(data_dir),
    ]
    if bigquery_endpoint:  # the emulator then writes what it syncs into this BigQuery (stand-in)
        command += ["--bigquery-endpoint", bigquery_endpoint, "--bigquery-project", bigquery_project]
    with open(log_path, "wb") as log:
        # A file, not a pipe: a full pipe would block the emulator's logging.
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        _wait_until_up(emulator, process, log_path)
        yield emulator
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(emulator: Emulator, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the emulator exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if emulator.api("GET", "/account/info").status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the emulator did not answer within {START_TIMEOUT}s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with tempfile.TemporaryDirectory(prefix="fivetran-emulator-") as data_dir:
        with running_emulator(Path(data_dir)) as running:
            yield running
