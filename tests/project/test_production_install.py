"""A production install leaves the `standins` extra out: the product must import and serve without it."""

import subprocess
import sys
import textwrap

import httpx

from tests.support.paths import REPO
from tests.support.process_fixtures import base_env, manage, spawn_daphne, wait_http
from tests.support.services import free_port

# What the `standins` extra brings, and the stand-ins themselves.
BLOCKED = ("standins", "starlette", "uvicorn", "bqemulator", "duckdb")

BLOCKER = textwrap.dedent(
    f"""
    # Loaded at interpreter start (sitecustomize): any import of a blocked package fails, as it
    # would where the package is not installed.
    import importlib.abc
    import sys

    BLOCKED = {BLOCKED!r}


    class _NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (blocked: not installed)", name=name)
            return None


    sys.meta_path.insert(0, _NotInstalled())
    """
)


def production_env(tmp_path) -> dict[str, str]:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    return base_env(
        PYTHONPATH=f"{blocker}:{REPO}",
        DEBUG="0",
        SECRET_KEY="a-long-random-production-secret-for-this-test-only",
        VAR_DIR=str(tmp_path / "var"),
        ALLOWED_HOSTS="127.0.0.1",
        # Real services by environment variables: nothing here needs the stand-ins.
        FIVETRAN_API_URL="https://api.fivetran.com/v1",
        FIVETRAN_API_KEY="key",
        FIVETRAN_API_SECRET="secret",
        BIGQUERY_API_ENDPOINT="https://bigquery.googleapis.com",
    )


def test_the_blocker_really_blocks(tmp_path):
    env = production_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", "import starlette"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "blocked: not installed" in result.stderr


def test_the_product_serves_without_the_standins_extra(tmp_path):
    env = production_env(tmp_path)
    manage(env, "migrate", "--noinput")
    manage(env, "check", "--deploy", "--fail-level", "ERROR")
    daphne = spawn_daphne("production", free_port(), env, tmp_path)
    try:
        wait_http(daphne)
        url = daphne.extra["url"]
        assert httpx.get(f"{url}/healthz", timeout=10).text == "ok"
        # Pages are served too (the login page; everything else asks for a session).
        assert httpx.get(f"{url}/accounts/login/", timeout=10).status_code == 200
        # And the emulator is not mounted.
        assert httpx.get(f"{url}/_emulator/fivetran/v1/groups", timeout=10).status_code == 404
    finally:
        daphne.stop()
    assert "blocked: not installed" not in daphne.log()
