"""deploy/systemd/: the units the README's scaled deployment runs under, and the web unit's own
command line, which must serve and stop on SIGTERM well within the unit's TimeoutStopSec."""

import configparser
import shlex
import signal
import sys
import time

import httpx
import pytest

from tests.support.paths import REPO
from tests.support.process_fixtures import base_env, spawn, wait_http
from tests.support.services import free_port

UNITS = REPO / "deploy" / "systemd"
INSTALLED_PYTHON = "/opt/gyana-connect/.venv/bin/python"  # where the units expect the install


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read_string((UNITS / name).read_text())
    return parser


@pytest.mark.parametrize("name", ["gyana-web@.service", "gyana-worker@.service"])
def test_units_restart_on_failure_and_stop_gracefully(name):
    service = unit(name)["Service"]
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert int(service["TimeoutStopSec"]) >= 30
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["ExecStart"].startswith(INSTALLED_PYTHON + " ")
    assert unit(name)["Unit"]["StartLimitIntervalSec"] == "0"  # never stop restarting for good


def test_the_worker_runs_the_temporal_worker_command():
    assert unit("gyana-worker@.service")["Service"]["ExecStart"] == f"{INSTALLED_PYTHON} manage.py temporal_worker"


def test_the_readme_runs_the_deployment_under_these_units():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Scaled deployment", 1)[1].split("\n## ", 1)[0]
    for name in ("gyana-web@.service", "gyana-worker@.service", "systemctl stop"):
        assert name in section
    assert " &\n" not in section and "&   #" not in section  # nothing started in the background by hand


def test_the_web_units_command_serves_and_exits_promptly_on_sigterm(tmp_path):
    service = unit("gyana-web@.service")["Service"]
    port = free_port()
    command = shlex.split(service["ExecStart"].replace("%i", str(port)).replace("0.0.0.0", "127.0.0.1"))
    assert command[0] == INSTALLED_PYTHON
    command[0] = sys.executable  # this checkout's interpreter, in the repository as WorkingDirectory
    env = base_env(DEBUG="1", VAR_DIR=str(tmp_path), SETUP_WORKER_IN_PROCESS="0")
    web = spawn("web-unit", command, env, tmp_path)
    web.extra["url"] = f"http://127.0.0.1:{port}"
    try:
        wait_http(web)
        assert httpx.get(f"{web.extra['url']}/healthz", timeout=10).text == "ok"
        stopped_at = time.monotonic()
        web.process.send_signal(signal.SIGTERM)  # what `systemctl stop` sends (KillMode=mixed: daphne only)
        web.process.wait(timeout=float(service["TimeoutStopSec"]))
        assert time.monotonic() - stopped_at < float(service["TimeoutStopSec"]) / 2
        assert web.process.returncode == 0, web.log()[-3000:]
    finally:
        web.stop()
