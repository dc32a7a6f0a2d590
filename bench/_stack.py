"""What the Temporal benches share: their own Temporal dev server, Fivetran emulator and BigQuery
stand-in (each started here and stopped on exit), Django set up against them, a bench account, a
driver that takes set-ups through the real workflow up to the historical sync, and the figures.

Everything runs in the bench's child process (bench._child), after its environment is set: Django
reads its settings once, at django.setup().
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

WEBHOOK_SECRET = "bench-webhook-secret"
NEVER_FINISHES = 10_000_000.0  # emulator sync seconds: a historical sync still running at the end


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size in MB, from /proc."""
    from tests.support.process_fixtures import rss_kib

    current, peak = rss_kib(pid)
    return current / 1024, peak / 1024


@dataclass
class Stack:
    var_dir: Path
    temporal: object  # gyana.temporal.devserver.DevServer
    emulator: object  # tests.support.fivetran_fixtures.Emulator

    def worker_env(self, **overrides: str) -> dict[str, str]:
        """The environment of a worker or daphne child: this process's own, which points at the stack."""
        return {**os.environ, **overrides}


@contextlib.contextmanager
def running_stack(var_dir: Path, *, sync_seconds: float = NEVER_FINISHES, **settings_env: str) -> Iterator[Stack]:
    """Start the dev server, the BigQuery stand-in and the emulator, point this process's settings at
    them (plus `settings_env`), set Django up and migrate. Everything stops on exit, in reverse order."""
    from gyana.temporal.devserver import start_dev_server
    from standins.bigquery.server import start_standin
    from tests.support.fivetran_fixtures import running_emulator
    from tests.support.services import free_port

    with contextlib.ExitStack() as stack:
        # State in memory, as the test suite runs it: about three times the workflow starts per
        # second of a state file on this machine, and its RSS then holds the whole database (an
        # upper bound for the embedded default, which keeps it in VAR_DIR/temporal.sqlite).
        temporal = start_dev_server(free_port(), log_path=var_dir / "temporal.log")
        stack.callback(temporal.stop)
        standin = start_standin(free_port(), var_dir / "bigquery", "local-project")
        stack.callback(standin.stop)
        emulator_dir = var_dir / "emulator"
        emulator_dir.mkdir()
        emulator = stack.enter_context(
            running_emulator(emulator_dir, sync_seconds=sync_seconds, bigquery_endpoint=standin.endpoint)
        )
        os.environ.update(
            TEMPORAL_ADDRESS=temporal.address,
            TEMPORAL_NAMESPACE=temporal.namespace,
            TEMPORAL_TLS="0",
            FIVETRAN_API_URL=emulator.api_url,
            FIVETRAN_API_KEY=emulator.api_key,
            FIVETRAN_API_SECRET=emulator.api_secret,
            FIVETRAN_GROUP_ID="embedded_group",
            BIGQUERY_API_ENDPOINT=standin.endpoint,
            BIGQUERY_PROJECT="local-project",
            **settings_env,
        )
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        yield Stack(var_dir, temporal, emulator)


def bench_account():
    """(team, user) that own the bench's integrations."""
    from django.contrib.auth import get_user_model

    from teams.models import Team

    user = get_user_model().objects.create_user(username="bench", password="bench-password")
    team = Team.objects.create(name="Bench")
    team.members.add(user)
    return team, user


def new_integrations(team, user, count: int, service_id: str = "hubspot") -> list[int]:
    from connectors.catalogue import get_catalogue
    from integrations.setup.flow import integration_create

    service = get_catalogue().get(service_id)
    return [integration_create(team=team, user=user, service=service).pk for _ in range(count)]


@contextlib.contextmanager
def temporal_worker(stack: Stack, name: str = "worker", *, module: str | None = None, **env: str):
    """ONE worker process: `manage.py temporal_worker` as deployed, or `python -m <module> --worker`
    for a bench that adds baseline workflows to it; stopped (SIGTERM, drain) on exit."""
    from tests.support.process_fixtures import spawn, spawn_worker, wait_log

    env = stack.worker_env(LOG_LEVEL="INFO", **env)  # the "worker started" line is INFO
    if module is None:
        worker = spawn_worker(name, env, stack.var_dir)
    else:
        worker = spawn(name, [sys.executable, "-m", module, "--worker"], env, stack.var_dir)
    try:
        wait_log(worker, "Temporal worker started")
        yield worker
    finally:
        worker.stop(timeout=30)


async def start_all(integration_ids: list[int], concurrency: int = 64) -> float:
    """dispatch.start_setup for each, `concurrency` at a time; the seconds it took."""
    from integrations.engine import dispatch

    semaphore = asyncio.Semaphore(concurrency)

    async def start(integration_id: int) -> None:
        async with semaphore:
            await dispatch.start_setup(integration_id)

    started = time.perf_counter()
    await asyncio.gather(*(start(i) for i in integration_ids))
    return time.perf_counter() - started


async def drive_to_historical_sync(integration_ids: list[int], emulator, *, timeout: float, concurrency: int = 32):
    """Do what the user does for each started set-up until its historical sync has made its first
    check: complete the Connect Card (the emulator's control API), come back through the signed
    return (connect_card_returned + the card_returned signal, as the return page does) and choose
    every table (the select_tables Update). Returns {integration id: first check time (epoch s)}."""
    from asgiref.sync import sync_to_async

    from integrations.engine import dispatch
    from integrations.models import Integration, SetupStep
    from integrations.state import connect_card_return

    wanted = set(integration_ids)
    handled: set[tuple[int, str]] = set()
    semaphore = asyncio.Semaphore(concurrency)
    tasks: list[asyncio.Task] = []

    async def return_from_card(integration_id: int) -> None:
        async with semaphore:
            integration = await Integration.objects.aget(pk=integration_id)
            await asyncio.to_thread(emulator.complete_card, integration.connection_id)
            redirect_uri = parse_qs(urlparse(integration.connect_card_uri).query)["redirect_uri"][0]
            token = parse_qs(urlparse(redirect_uri).query)["token"][0]
            await sync_to_async(connect_card_return.connect_card_returned)(integration_id, token)
            await dispatch.card_returned(integration_id)

    async def choose_tables(integration_id: int) -> None:
        async with semaphore:
            integration = await Integration.objects.aget(pk=integration_id)
            selection = {
                schema["name"]: [table["name"] for table in schema["tables"] if not table["locked"]]
                for schema in integration.source_schema["schemas"]
            }
            await dispatch.select_tables(integration_id, {s: t for s, t in selection.items() if t})

    actions = {"connect_card": return_from_card, "select_tables": choose_tables}

    def waiting() -> list[tuple[int, str]]:
        return list(
            SetupStep.objects.filter(name__in=actions, state="waiting_for_user", integration_id__in=wanted)
            .values_list("integration_id", "name")
        )

    def first_checks() -> dict[int, float]:
        # historical_sync keeps its backoff in the step's scratch from its first check on.
        rows = SetupStep.objects.filter(
            name="historical_sync", integration_id__in=wanted, scratch__has_key="interval"
        ).values_list("integration_id", "started_at")
        return {integration_id: started_at.timestamp() for integration_id, started_at in rows}

    deadline = time.monotonic() + timeout
    while True:
        for key in await sync_to_async(waiting)():
            if key not in handled:
                handled.add(key)
                tasks.append(asyncio.ensure_future(actions[key[1]](key[0])))
        checked = await sync_to_async(first_checks)()
        if len(checked) == len(wanted):
            await asyncio.gather(*tasks)
            return checked
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"only {len(checked)} of {len(wanted)} set-ups reached the historical sync within {timeout:.0f} s"
            )
        for task in tasks:
            if task.done() and task.exception() is not None:
                raise task.exception()
        await asyncio.sleep(0.25)
