"""The local BigQuery stand-in: bqemulator 1.4.0, launched offline, with its gaps fixed here only.

`python -m standins.bigquery.server --port P --data-dir DIR [--project local-project]` serves BigQuery's REST
API on 127.0.0.1:P with its data kept under DIR. `start_standin(...)` runs that as a subprocess.

This module is the one place that knows the stand-in differs from BigQuery. It imports no Django:
it runs in its own process, where bqemulator's start-up `logging.basicConfig(force=True)` cannot
touch the web server's logging.

Fixed here:
- Offline start: bqemulator runs `INSTALL spatial` (a download) at start. We make it `LOAD` the
  extension file shipped in the duckdb-extension-spatial wheel instead, and skip the optional
  `avro` download. DuckDB's extension directory and bqemulator's upload staging live under DIR.
- Paging: `tables.list` and `datasets.list` ignore `pageToken` and never send `nextPageToken`
  (1,200 tables list as 1,000), and list in insertion order. `PagingMiddleware` pages them like
  BigQuery: sorted by id, `maxResults` (default and cap 1,000), an opaque `nextPageToken`
  (a forged one answers 400), `totalItems` kept.
- Readiness: /readyz cannot tell which process answers, so a launcher whose stand-in died on a
  busy port would take another server for it. Every answer carries `x-standin-pid`, and
  `start_standin` waits for its own process's pid.
- Logging: bqemulator's start-up calls `logging.basicConfig(force=True)` and logs a few debug
  lines before its own level applies; running it as a subprocess keeps both out of the host.

Further gaps, left as they are (production code must not depend on them either way):
- `num_bytes` is always 0 and `modified` never changes after a write; DML `INSERT` leaves
  `num_rows` unchanged (streaming inserts and load jobs do update it).
- A wrong-typed row in `insert_rows_json` answers HTTP 500, which the client retries for its
  default 600 s: every call of ours passes an explicit `retry` and `timeout`.
- `load_table_from_json` and `load_table_from_file(..., size=N)` (multipart uploads) are refused:
  load NDJSON with `load_table_from_file` and no size (a resumable upload).
- `query_and_wait` returns an empty result on bad SQL instead of raising (`query().result()` raises).
- `__TABLES__` returns no rows; deleting a non-empty dataset answers 404 (BigQuery: 400).
- Column types come back as sent (`INT64`) where BigQuery answers legacy names (`INTEGER`):
  readers normalise types (the product normalises them).
- Only one process can open a data dir; a busy port makes the process exit (start_standin checks
  the process while it waits for /readyz).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode

LIST_PAGE_LIMIT = 1000
PID_HEADER = "x-standin-pid"
READY_TIMEOUT_SECONDS = 60.0
_REPO_ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------------------------
# Paging of tables.list / datasets.list
# --------------------------------------------------------------------------------------------


def _list_kind(method: str, path: str) -> tuple[str, str] | None:
    """(items key, id key) when the request is a tables.list or datasets.list call."""
    if method != "GET":
        return None
    parts = path.strip("/").split("/")
    # bigquery/v2/projects/{p}/datasets[/{d}/tables]
    if parts[:3] != ["bigquery", "v2", "projects"]:
        return None
    if len(parts) == 5 and parts[4] == "datasets":
        return "datasets", "datasetId"
    if len(parts) == 7 and parts[4] == "datasets" and parts[6] == "tables":
        return "tables", "tableId"
    return None


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str) -> int | None:
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        offset = int(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return offset if kind == "offset" and offset >= 0 else None


class PagingMiddleware:
    """ASGI middleware: asks the stand-in for the whole list, answers one BigQuery-style page."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_pid_header(send)
        kind = _list_kind(scope.get("method", ""), scope.get("path", ""))
        if kind is None:
            await self.app(scope, receive, send)
            return
        items_key, id_key = kind
        query = parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True)
        try:
            limit = min(int(query.pop("maxResults", [LIST_PAGE_LIMIT])[0]), LIST_PAGE_LIMIT)
        except ValueError:
            limit = LIST_PAGE_LIMIT
        limit = max(limit, 1)
        token = query.pop("pageToken", [""])[0]
        offset = _decode_token(token) if token else 0
        if offset is None:
            await _send_json(send, 400, {"error": {"code": 400, "message": "Invalid page token", "status": "INVALID_ARGUMENT",
                                                   "errors": [{"reason": "invalid", "message": "Invalid page token"}]}})
            return
        query["maxResults"] = [str(2**31 - 1)]
        inner_scope = dict(scope, query_string=urlencode(query, doseq=True).encode())

        status, headers, body = await _collect(self.app, inner_scope, receive)
        if status != 200:
            await _send_raw(send, status, headers, body)
            return
        payload = json.loads(body)
        items = sorted(payload.get(items_key) or [], key=lambda item: item.get(id_key) or item.get("id", ""))
        page = items[offset : offset + limit]
        payload[items_key] = page
        payload.pop("nextPageToken", None)
        if offset + limit < len(items):
            payload["nextPageToken"] = _encode_token(offset + limit)
        payload["totalItems"] = len(items)
        await _send_json(send, 200, payload)


def _with_pid_header(send):
    """Name the answering process, so a launcher never mistakes another server on its port for its own."""
    pid = str(os.getpid()).encode()

    async def send_with_pid(message):
        if message["type"] == "http.response.start":
            message = dict(message, headers=[*message.get("headers", []), (PID_HEADER.encode(), pid)])
        await send(message)

    return send_with_pid


async def _collect(app, scope, receive) -> tuple[int, list, bytes]:
    started: dict = {}
    chunks: list[bytes] = []

    async def capture(message):
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return started.get("status", 500), list(started.get("headers", [])), b"".join(chunks)


async def _send_raw(send, status: int, headers: list, body: bytes) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send, status: int, payload: dict) -> None:
    await _send_raw(send, status, [(b"content-type", b"application/json")], json.dumps(payload).encode())


# --------------------------------------------------------------------------------------------
# Offline start
# --------------------------------------------------------------------------------------------


def spatial_extension_path() -> Path:
    """The spatial extension file inside the installed duckdb-extension-spatial wheel."""
    import duckdb
    import duckdb_extension_spatial

    root = Path(duckdb_extension_spatial.__file__).resolve().parent
    candidates = sorted(root.rglob("*.duckdb_extension"))
    matching = [path for path in candidates if f"v{duckdb.__version__}" in path.parts]
    found = matching or candidates
    if not found:
        raise RuntimeError(f"no .duckdb_extension file under {root}: reinstall duckdb-extension-spatial")
    return found[0]


def _patch_bqemulator(data_dir: Path) -> None:
    """Make bqemulator load spatial from the wheel and serve through PagingMiddleware."""
    import duckdb
    from bqemulator import server as bq_server
    from bqemulator.domain.errors import InternalError
    from bqemulator.storage.engine import DuckDBEngine
    from bqemulator.types import geography

    extension = str(spatial_extension_path()).replace("'", "''")
    extension_dir = str(data_dir / "duckdb_extensions").replace("'", "''")

    def load_spatial(connection) -> None:
        connection.execute(f"SET extension_directory = '{extension_dir}'")
        connection.execute(f"LOAD '{extension}'")

    def engine_load_spatial(self) -> None:
        if self._connection is None:
            raise InternalError("DuckDBEngine not started")
        load_spatial(self._connection)

    conversion = {}

    def ensure_conv_conn():
        with geography._CONV_LOCK:
            if "conn" not in conversion:
                connection = duckdb.connect(":memory:")
                load_spatial(connection)
                conversion["conn"] = connection
            return conversion["conn"]

    DuckDBEngine._load_spatial = engine_load_spatial
    geography._ensure_conv_conn = ensure_conv_conn
    original_create_app = bq_server.create_app
    bq_server.create_app = lambda context: PagingMiddleware(original_create_app(context))


def serve(port: int, data_dir: Path, project: str, log_level: str = "warning") -> None:
    """Run the stand-in in this process until SIGINT/SIGTERM."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _patch_bqemulator(data_dir)
    from bqemulator.config import PersistenceMode, Settings
    from bqemulator.server import run_forever

    settings = Settings(
        rest_host="127.0.0.1",
        rest_port=port,
        grpc_host="127.0.0.1",
        grpc_port=0,
        persistence_mode=PersistenceMode.PERSISTENT,
        data_dir=data_dir,
        default_project_id=project,
        enable_format_extensions=False,
        upload_staging_dir=data_dir / "uploads",
        log_level=log_level,
        metrics_enabled=False,
    )
    run_forever(settings)


# --------------------------------------------------------------------------------------------
# Subprocess API
# --------------------------------------------------------------------------------------------


@dataclass
class StandIn:
    """A running stand-in process."""

    port: int
    data_dir: Path
    project: str
    process: subprocess.Popen = field(repr=False)
    log_path: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_standin(port: int, data_dir: Path | str, project: str = "local-project", *,
                  timeout: float = READY_TIMEOUT_SECONDS, launcher=None) -> StandIn:
    """Start the stand-in as a subprocess and return once it answers /readyz.

    `launcher(command) -> command` may wrap the command line (e.g. so the child dies with its parent).
    """
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "standin.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("BQEMU_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
    with open(log_path, "ab") as log:
        command = [sys.executable, "-m", "standins.bigquery.server", "--port", str(port),
                   "--data-dir", str(data_dir), "--project", project]
        process = subprocess.Popen(
            launcher(command) if launcher else command,
            cwd=data_dir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    standin = StandIn(port=port, data_dir=data_dir, project=project, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"BigQuery stand-in exited with {process.returncode}:\n{standin.log_tail()}")
        try:
            with urllib.request.urlopen(f"{standin.endpoint}/readyz", timeout=2) as response:
                if response.status == 200 and response.headers.get(PID_HEADER) == str(process.pid):
                    return standin
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            standin.stop()
            raise RuntimeError(f"BigQuery stand-in not ready after {timeout:.0f} s:\n{standin.log_tail()}")
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m standins.bigquery.server", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--project", default="local-project")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    serve(args.port, args.data_dir, args.project, args.log_level)


if __name__ == "__main__":
    main()
