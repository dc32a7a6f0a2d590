"""`make run`: the whole product on its embedded defaults, in one command.

Starts the local BigQuery stand-in unless BIGQUERY_API_ENDPOINT is set, then daphne (which mounts
the Fivetran emulator unless FIVETRAN_API_URL is set, and runs the set-up worker in-process unless
REDIS_URL is set).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the product with daphne on PORT (and the BigQuery stand-in when none is configured)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.PORT)

    def handle(self, *args, host, port, **options):
        env = dict(os.environ, PORT=str(port))
        standin = None
        if not settings.BIGQUERY_API_ENDPOINT:
            from gyana.embedded import start_bigquery_standin

            standin = start_bigquery_standin()
            env["BIGQUERY_API_ENDPOINT"] = standin.endpoint
            self.stdout.write(f"BigQuery stand-in: {standin.endpoint}")
        daphne = subprocess.Popen(
            # daphne closing failed websockets with a frame (gyana/daphne_server.py)
            [sys.executable, "-m", "gyana.daphne_server", "-b", host, "-p", str(port), "gyana.asgi:application"],
            env=env,
        )
        try:
            url = f"http://{host}:{port}"
            self._wait_until_up(f"{url}/healthz", daphne)
            self.stdout.write(self.style.SUCCESS(f"\nGyana Connect is running at {url}/"))
            if settings.DEBUG:
                self.stdout.write("Log in as demo / demo. Press Ctrl-C to stop.\n")
            daphne.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if daphne.poll() is None:
                daphne.send_signal(signal.SIGTERM)
                daphne.wait(timeout=10)
            if standin is not None:
                standin.stop()

    @staticmethod
    def _wait_until_up(url: str, process: subprocess.Popen) -> None:
        # The first request also starts the in-process set-up worker.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"daphne exited with code {process.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("daphne did not answer within 60 s")
