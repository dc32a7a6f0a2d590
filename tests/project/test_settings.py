"""Start-up configuration: the embedded default loads, and a bad value or a production mistake stops the process
with a message that names the variable and says what to do."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.support.paths import REPO

# Every variable the README's Configuration table documents, so a child starts from the defaults.
README = (REPO / "README.md").read_text()
CONFIGURATION = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
DOCUMENTED = {
    name
    for row in CONFIGURATION.splitlines()
    if row.startswith("| `")
    for name in re.findall(r"`([A-Z_]+)`", row.split("|")[1])
}


def run_child(tmp_path, code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in DOCUMENTED}
    clean.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="gyana.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=clean, capture_output=True, text=True, timeout=60
    )


def start_django(tmp_path, **env) -> subprocess.CompletedProcess:
    return run_child(tmp_path, "import django; django.setup(); print('started')", env)


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


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("SETUP_ABANDON_HOURS", "abc", "Not a valid number."),
        ("SETUP_SYNC_FAILURE_LIMIT", "2.5", "Not a valid integer."),
        ("PORT", "x", "Not a valid integer."),
        ("DEBUG", "maybe", "Not a valid boolean."),
        ("ALLOW_EMULATOR", "sure", "Not a valid boolean."),
        ("DATABASE_URL", "notaurl", "Not a valid database URL."),
        ("DATABASE_URL", "postgres://app:hunter2@db:port_not_int/app", "Not a valid database URL."),
        ("FIVETRAN_API_URL", "api.fivetran.com/v1", "Not a valid URL."),
        ("TEMPORAL_UI_URL", "temporal-ui:8080", "Not a valid URL."),
        ("LOG_LEVEL", "LOUD", "Not a valid log level."),
        # A dataset id goes into the Logs and Usage queries' SQL text: only a name is accepted.
        ("FIVETRAN_PLATFORM_DATASET", "fivetran_metadata`; DROP TABLE x", "Not a BigQuery dataset name."),
        ("EMAIL_URL", "smtp://app:hunter2@mail:port_not_int", "Not a valid email URL."),
        ("NOTIFY_FAILED_SYNCS", "many", "Not a valid integer."),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, name, value, reason):
    result = start_django(tmp_path, **{name: value})
    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "ImproperlyConfigured: Invalid environment variables" in result.stderr
    assert f"  {name}: {reason}" in result.stderr
    # The message is ours, not a bare ValueError from int()/float() or a parser deep down.
    assert "\nValueError" not in result.stderr
    assert "Traceback" in result.stderr and result.stderr.count("Traceback") == 1
    # A value can hold a password: it is never echoed.
    assert "hunter2" not in result.stderr


def test_every_bad_variable_is_reported_at_once(tmp_path):
    result = start_django(tmp_path, PORT="x", DEBUG="maybe", DATABASE_URL="notaurl", SETUP_POLL_FIRST_SECONDS="soon")
    assert result.returncode != 0
    for line in ("PORT: Not a valid integer.", "DEBUG: Not a valid boolean.", "DATABASE_URL: Not a valid database URL.",
                 "SETUP_POLL_FIRST_SECONDS: Not a valid number."):
        assert f"  {line}\n" in result.stderr + "\n"
    # Read twice (with and without webhooks), still reported once; and the refusals below the
    # check do not mask it (DEBUG=maybe is not "DEBUG off").
    assert result.stderr.count("SETUP_POLL_FIRST_SECONDS") == 1
    assert "SECRET_KEY is missing" not in result.stderr


# What a child process ends up with, as JSON: the plain settings plus the parts of the nested ones that matter.
SHOW = """
import json, django
from django.conf import settings as s
django.setup()
plain = {name: getattr(s, name) for name in NAMES}
print(json.dumps(plain | {
    "DB": s.DATABASES["default"]["ENGINE"], "DB_NAME": str(s.DATABASES["default"]["NAME"]),
    "LAYER": s.CHANNEL_LAYERS["default"]["BACKEND"], "LOG_LEVEL": s.LOGGING["root"]["level"],
}))
"""


def show_settings(tmp_path, **env) -> dict:
    names = [name for name in EMBEDDED_DEFAULT if name not in ("DB", "LAYER", "LOG_LEVEL")]
    result = run_child(tmp_path, f"NAMES = {names!r}\n{SHOW}", env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


EMBEDDED_DEFAULT = {
    "DEBUG": True,
    "PORT": 8000,
    "SECRET_KEY": "development-only-secret-key-never-use-in-production",
    "ALLOWED_HOSTS": ["127.0.0.1", "localhost", "[::1]"],
    "CSRF_TRUSTED_ORIGINS": [],
    "PUBLIC_URL": "http://127.0.0.1:8000",
    "TEMPORAL_UI_URL": "http://127.0.0.1:8034",
    "FIVETRAN_EMULATED": True,
    "FIVETRAN_API_URL": "http://127.0.0.1:8000/_emulator/fivetran/v1",
    "FIVETRAN_API_KEY": "emulator-key",
    "FIVETRAN_WEBHOOK_SECRET": "emulator-webhook-secret",
    "BIGQUERY_API_ENDPOINT": None,
    "BIGQUERY_STANDIN_PORT": 8050,
    "SHOW_INTERNAL_SERVICES": True,
    "SETUP_WORKER_IN_PROCESS": True,
    "SETUP_ABANDON_HOURS": 24.0,
    "SETUP_SYNC_FAILURE_LIMIT": 3,
    "SETUP_SYNC_TIMEOUT_SECONDS": 86400.0,
    "SETUP_POLL_WITH_WEBHOOKS": [60.0, 600.0],
    "SETUP_POLL_WITHOUT_WEBHOOKS": [15.0, 300.0],
    "REDIS_URL": None,
    "DB": "django.db.backends.sqlite3",
    "LAYER": "channels.layers.InMemoryChannelLayer",
    "LOG_LEVEL": "INFO",
}


def test_the_embedded_default_loads(tmp_path):
    shown = show_settings(tmp_path)
    assert shown.pop("DB_NAME") == str(tmp_path.resolve() / "db.sqlite3")
    assert shown == EMBEDDED_DEFAULT


def test_an_empty_variable_means_its_default(tmp_path):
    # As `PORT=` in a compose file or an env file: unset, not a bad value.
    empty = dict.fromkeys(["DEBUG", "PORT", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "FIVETRAN_API_URL",
                           "PUBLIC_URL", "SETUP_ABANDON_HOURS", "BIGQUERY_STANDIN_PORT", "LOG_LEVEL"], "")
    shown = show_settings(tmp_path, **empty)
    shown.pop("DB_NAME")
    assert shown == EMBEDDED_DEFAULT


def test_values_are_typed_and_derived_defaults_follow(tmp_path):
    shown = show_settings(
        tmp_path, PORT="9000", DEBUG="false", SECRET_KEY="k" * 50, ALLOW_EMULATOR="1",
        ALLOWED_HOSTS="app.example.com, www.example.com,", SETUP_POLL_FIRST_SECONDS="5", LOG_LEVEL="debug",
        DATABASE_URL="postgres://app@db:5432/app", REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert shown["PORT"] == 9000 and shown["BIGQUERY_STANDIN_PORT"] == 9050
    assert shown["PUBLIC_URL"] == "http://127.0.0.1:9000"
    assert shown["DEBUG"] is False and shown["SHOW_INTERNAL_SERVICES"] is False
    assert shown["ALLOWED_HOSTS"] == ["app.example.com", "www.example.com"]
    assert shown["SETUP_POLL_WITH_WEBHOOKS"] == [5.0, 600.0] and shown["SETUP_POLL_WITHOUT_WEBHOOKS"] == [5.0, 300.0]
    assert shown["DB"] == "django.db.backends.postgresql"
    assert shown["LAYER"] == "gyana.channel_layer.RedisChannelLayer" and shown["SETUP_WORKER_IN_PROCESS"] is False
    assert shown["LOG_LEVEL"] == 10


def test_the_temporal_web_ui_is_the_dev_server_s_unless_told(tmp_path):
    assert show_settings(tmp_path, TEMPORAL_DEV_UI_PORT="9100")["TEMPORAL_UI_URL"] == "http://127.0.0.1:9100"
    # A cluster's Web UI is wherever its operators put it: unknown unless told.
    assert show_settings(tmp_path, TEMPORAL_ADDRESS="temporal:7233")["TEMPORAL_UI_URL"] == ""
    told = show_settings(tmp_path, TEMPORAL_ADDRESS="temporal:7233", TEMPORAL_UI_URL="https://temporal-ui.example/")
    assert told["TEMPORAL_UI_URL"] == "https://temporal-ui.example"


def test_the_readme_documents_every_variable_the_settings_read():
    from gyana import settings

    assert set(settings.env.dump()) == DOCUMENTED
