"""`make run`: the whole product on its embedded defaults, in one command.

Starts what no environment variable points elsewhere: the local BigQuery stand-in (unless
BIGQUERY_API_ENDPOINT), Temporal's dev server (unless TEMPORAL_ADDRESS), then daphne, which mounts
the Fivetran emulator (unless FIVETRAN_API_URL) and runs the set-up's Temporal worker in-process
(unless REDIS_URL).

Any stop stops every child: Ctrl-C and SIGTERM end daphne first (its worker drains against a live
Temporal), then the dev server and the stand-in; if this process is killed outright, the kernel
sends each child SIGTERM (gyana.children).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gyana.children import dying_with_parent


class Stop(Exception):
    """SIGTERM or SIGHUP: stop like Ctrl-C."""


def _stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


class Command(BaseCommand):
    help = "Serve the product with daphne on PORT, with the embedded stand-ins and Temporal where none is configured."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args, host, port, **options):
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGHUP, _stop)
        env = dict(os.environ, PORT=str(port))
        started = []  # children to stop, in reverse order
        try:
            if not settings.BIGQUERY_API_ENDPOINT:
                standin = self._start_bigquery_standin()
                started.append(standin.stop)
                env["BIGQUERY_API_ENDPOINT"] = standin.endpoint
                self.stdout.write(f"BigQuery stand-in: {standin.endpoint}")
            if settings.TEMPORAL_EMBEDDED:
                temporal = self._start_temporal()
                started.append(temporal.stop)
                env["TEMPORAL_DEV_PORT"] = str(settings.TEMPORAL_DEV_PORT)
                self.stdout.write(f"Temporal dev server: {temporal.address} (Web UI: {temporal.ui_url})")
            daphne = subprocess.Popen(
                # daphne closing failed websockets with a close code (gyana/daphne_server.py)
                dying_with_parent(
                    [sys.executable, "-m", "gyana.daphne_server", "-b", host, "-p", str(port), "gyana.asgi:application"]
                ),
                env=env,
            )
            started.append(lambda: self._stop_daphne(daphne))
            url = f"http://{host}:{port}"
            self._wait_until_up(f"{url}/healthz", daphne)
            self.stdout.write(self.style.SUCCESS(f"\nGyana Connect is running at {url}/"))
            if settings.DEBUG:
                self.stdout.write("Log in as demo / demo. Press Ctrl-C to stop.\n")
            daphne.wait()
        except (KeyboardInterrupt, Stop):
            pass
        finally:
            for stop in reversed(started):
                stop()

    @staticmethod
    def _start_bigquery_standin():
        from gyana.embedded import start_bigquery_standin

        try:
            return start_bigquery_standin()
        except RuntimeError as error:
            # One clear line: the usual cause is another instance using the same VAR_DIR.
            first = str(error).splitlines()[0]
            raise CommandError(
                f"The BigQuery stand-in did not start ({first}). Is another `make run` using "
                f"{settings.VAR_DIR}? Stop it, or set another VAR_DIR and PORT."
            ) from None

    @staticmethod
    def _start_temporal():
        from gyana.temporal.devserver import DevServerError, start_embedded

        try:
            return start_embedded()
        except DevServerError as error:
            raise CommandError(f"Temporal's dev server did not start: {error}") from None

    @staticmethod
    def _stop_daphne(daphne: subprocess.Popen) -> None:
        if daphne.poll() is None:
            daphne.send_signal(signal.SIGTERM)
            try:
                daphne.wait(timeout=settings.TEMPORAL_WORKER_DRAIN_SECONDS + 5)
            except subprocess.TimeoutExpired:
                daphne.kill()
                daphne.wait()

    @staticmethod
    def _wait_until_up(url: str, process: subprocess.Popen) -> None:
        # The first request also starts the in-process set-up worker.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError(f"daphne exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError("daphne did not answer within 60 s")
