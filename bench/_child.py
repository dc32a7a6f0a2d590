"""Run a bench module in a child process with Django settings of its own (a process can set up
Django only once, and `python -m bench` runs every bench in one process)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Settings the parent's environment must not leak into a bench.
OWN_PREFIXES = ("DATABASE_", "REDIS_", "FIVETRAN_", "SETUP_", "BIGQUERY_", "TEMPORAL_", "PUBLIC_URL", "VAR_DIR")


def run_in_child(module: str, **env_overrides: str) -> None:
    with tempfile.TemporaryDirectory(prefix=f"{module.rsplit('.', 1)[-1]}-") as var_dir:
        env = {key: value for key, value in os.environ.items() if not key.startswith(OWN_PREFIXES)}
        env.update(
            DJANGO_SETTINGS_MODULE="gyana.settings",
            VAR_DIR=var_dir,
            DATABASE_URL=f"sqlite:///{var_dir}/bench.sqlite3",
            # Never the embedded emulator; a bench that talks to Fivetran starts its own.
            FIVETRAN_API_URL="http://127.0.0.1:9/v1",
            DEBUG="1",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        env.update(env_overrides)
        subprocess.run([sys.executable, "-m", module, "--run"], cwd=REPO, env=env, check=True)
