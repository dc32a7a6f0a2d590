"""Start-up configuration: production mistakes stop the process with a message that says what to do."""

import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO


def start_django(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "SECRET_KEY", "FIVETRAN_", "ALLOW_"))}
    clean.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="gyana.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=REPO, env=clean, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("secret", [None, "development-only-secret-key-never-use-in-production"])
def test_debug_off_refuses_a_missing_or_development_secret_key(tmp_path, secret):
    env = {"DEBUG": "0", "FIVETRAN_API_URL": "https://api.fivetran.com/v1"}
    if secret:
        env["SECRET_KEY"] = secret
    result = start_django(tmp_path, **env)
    assert result.returncode != 0
    assert "SECRET_KEY is missing (or is the development default) while DEBUG is off" in result.stderr


def test_debug_off_refuses_to_serve_the_emulator_unless_asked(tmp_path):
    result = start_django(tmp_path, DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "FIVETRAN_API_URL is not set while DEBUG is off" in result.stderr
    assert start_django(tmp_path, DEBUG="0", SECRET_KEY="x" * 50, ALLOW_EMULATOR="1").stdout.strip() == "started"


def test_production_settings_start(tmp_path):
    result = start_django(
        tmp_path, DEBUG="0", SECRET_KEY="x" * 50, FIVETRAN_API_URL="https://api.fivetran.com/v1"
    )
    assert result.stdout.strip() == "started", result.stderr
