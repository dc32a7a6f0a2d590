"""Bench: many set-ups waiting in `historical_sync`, one worker process; its memory and Fivetran calls.

    python -m bench.flows_in_flight

N integrations (BENCH_FLOWS, default 5,000) are bulk-created with the ORM as they are right after
`start_sync`: six steps done, `historical_sync` running and due within its first poll interval,
`register_tables` pending. Each has a connection in the Fivetran emulator whose historical sync
runs (connected, unpaused) but never finishes in the window (--sync-seconds 10^7). The emulator's
connections are written straight into its store before it starts (creating 5,000 through the API
costs minutes: every create scans all connections for a schema clash).

ONE `manage.py runworker integration-setup` process then runs for a window with webhooks on
(FIVETRAN_WEBHOOK_SECRET set, so the fallback timer is SETUP_POLL_WITH_WEBHOOKS, 60 s doubling to
600 s) and every clock divided by BENCH_FLOWS_SCALE (default 60: one bench second is one minute).
The window (BENCH_FLOWS_WINDOW, default 60 s) is then one hour of each flow's first hour of waiting,
its busiest (checks at 0, 1, 3, 7, 15, 25, 35, 45, 55 minutes: 9).

Reported: the worker's RSS (target: under 300 MB with 5,000 waiting flows), and status calls
(GET /v1/connections/<id>, from the emulator's request log) per flow per hour (target ≤ 12), beside
the number the schedule asks for. Compressing time ×60 also multiplies the worker's load ×60, more
than one worker can serve for 5,000 flows: a worker that falls behind makes fewer calls, which is no
success. So when checks are left overdue at the end of the "load" phase, a "schedule" phase repeats
the window with as many flows as the measured throughput serves at half load, and the calls-per-hour
verdict comes from that phase. The worker's real-time capacity (throughput × 3,600 / checks per
flow per hour) is printed too. Database: SQLite in a temporary
VAR_DIR; channel layer: in-memory (one worker, nothing to deliver across processes).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

from bench._child import run_in_child

REPO = Path(__file__).resolve().parent.parent
TARGET_RSS_MB = 300
TARGET_CALLS_PER_HOUR = 12
POLL_FIRST, POLL_MAX = 60.0, 600.0  # settings.SETUP_POLL_WITH_WEBHOOKS defaults
SWEEP, LEASE = 5.0, 30.0  # SETUP_SWEEP_SECONDS, SETUP_LEASE_SECONDS defaults
SYNC_SECONDS = 10_000_000
SCHEMA_TABLES = ["contacts", "companies", "deals"]


def scheduled_checks(first_offset: float, window: float, first: float, longest: float) -> int:
    """Checks historical_sync makes in [0, window) when first due at `first_offset` (its backoff)."""
    count, at, interval = 0, first_offset, first / 2
    while at < window:
        count += 1
        interval = min(longest, interval * 2)
        at += interval
    return count


def seed_emulator_store(data_dir: Path, connections: list[tuple[str, str]]) -> None:
    """Connected, unpaused connections in the middle of their historical sync."""
    from standins.fivetran.clock import api_timestamp
    from standins.fivetran.connections import new_connection
    from standins.fivetran.services import load_services
    from standins.fivetran.store import CONNECTION, Store

    service = load_services()["hubspot"]
    store = Store(data_dir)
    store._db.execute("BEGIN")
    for connection_id, schema_name in connections:
        connection = new_connection(connection_id, service, "embedded_group", {"config": {"schema": schema_name}})
        connection.update(
            setup_state="connected",
            paused=False,
            sync={"id": str(uuid.uuid4()), "started_at": api_timestamp(), "landed": [], "scope": None,
                  "fault": None, "retry_after": None},
        )
        store.put(CONNECTION, connection_id, connection)
    store._db.execute("COMMIT")
    store.close()


def seed_flows(count: int, first_interval: float) -> list[tuple[str, str, float]]:
    """N integrations waiting in historical_sync; returns (connection id, schema, first check offset)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from integrations.models import Integration, SetupStep
    from integrations.setup.flow import STEPS
    from teams.models import Team

    user = get_user_model().objects.filter(username="bench").first()
    if user is None:
        user = get_user_model().objects.create_user(username="bench", password="bench-password")
    team, _ = Team.objects.get_or_create(name="Bench")
    team.members.add(user)
    now = timezone.now()
    flows = []
    with transaction.atomic():
        integrations = []
        for index in range(count):
            schema = f"t{team.pk}_hubspot_{index:06x}"
            connection_id = f"bench_{index:06d}"
            offset = first_interval * index / count  # spread over the first interval, as they arrived
            flows.append((connection_id, schema, offset))
            integrations.append(Integration(
                team=team, service="hubspot", name="HubSpot", schema_name=schema, created_by=user,
                connection_id=connection_id, state=Integration.State.RUNNING,
                destination_tables={schema: SCHEMA_TABLES}, selection={"hubspot": SCHEMA_TABLES},
            ))
        Integration.objects.bulk_create(integrations, batch_size=500)
        steps = []
        sync_position = [spec.name for spec in STEPS].index("historical_sync")
        for integration, (_, _, offset) in zip(integrations, flows):
            for position, spec in enumerate(STEPS):
                step = SetupStep(integration=integration, name=spec.name, position=position)
                if position < sync_position:
                    step.state, step.attempt, step.started_at, step.finished_at = "done", 1, now, now
                elif position == sync_position:
                    # Not due yet: `make_due` sets the clock going once the worker is up.
                    step.state, step.attempt, step.started_at = "running", 1, now
                steps.append(step)
        SetupStep.objects.bulk_create(steps, batch_size=2000)
    return flows


def make_due(flows: list[tuple[str, str, float]]) -> None:
    """Each flow's first check at now + its offset: the window's clock starts here."""
    from django.utils import timezone

    from integrations.models import SetupStep

    now = timezone.now()
    offsets = {connection_id: offset for connection_id, _, offset in flows}
    steps = list(SetupStep.objects.filter(name="historical_sync").select_related("integration"))
    for step in steps:
        step.due_at = now + timedelta(seconds=offsets[step.integration.connection_id])
    SetupStep.objects.bulk_update(steps, ["due_at"], batch_size=500)


def run_phase(label: str, count: int, scale: float, window: float, var_dir: Path, standin) -> dict:
    """Seed `count` waiting flows (after removing the previous phase's), run one worker for `window`."""
    from integrations.models import Integration
    from tests.support.fivetran_fixtures import running_emulator
    from tests.support.process_fixtures import rss_kib, spawn_worker, wait_log

    first, longest = POLL_FIRST / scale, POLL_MAX / scale
    Integration.objects.all().delete()
    started = time.monotonic()
    flows = seed_flows(count, first)
    emulator_dir = var_dir / f"emulator-{label}"
    seed_emulator_store(emulator_dir, [(connection_id, schema) for connection_id, schema, _ in flows])
    seeded_in = time.monotonic() - started
    with running_emulator(emulator_dir, sync_seconds=SYNC_SECONDS, bigquery_endpoint=standin.endpoint) as emulator:
        emulator.api("GET", "/account/info")  # restarts the sync drivers before we measure
        emulator.clear_requests()
        env = dict(os.environ)
        env.update(
            FIVETRAN_API_URL=emulator.api_url, FIVETRAN_API_KEY=emulator.api_key,
            FIVETRAN_API_SECRET=emulator.api_secret, FIVETRAN_GROUP_ID="embedded_group",
            FIVETRAN_WEBHOOK_SECRET="bench-webhook-secret",
            SETUP_POLL_FIRST_SECONDS=str(first), SETUP_POLL_MAX_SECONDS=str(longest),
            SETUP_SWEEP_SECONDS=str(SWEEP / scale), SETUP_LEASE_SECONDS=str(LEASE),
            LOG_LEVEL="INFO",
        )
        worker = spawn_worker(f"worker-{label}", env, var_dir)
        try:
            wait_log(worker, "set-up worker")
            time.sleep(1.0)
            idle_rss = rss_kib(worker.pid)[0]
            make_due(flows)
            window_started = time.monotonic()
            samples = []
            while time.monotonic() - window_started < window:
                time.sleep(min(5.0, window / 12))
                samples.append(rss_kib(worker.pid)[0])
            rss, peak = rss_kib(worker.pid)
            calls = [r for r in emulator.requests()
                     if r["method"] == "GET" and r["path"].count("/") == 3 and r["path"].startswith("/v1/connections/")]
        finally:
            worker.stop()
    hours = window * scale / 3600
    scheduled = sum(scheduled_checks(offset, window, first, longest) for _, _, offset in flows)
    return {
        "count": count, "seeded_in": seeded_in, "idle_rss": idle_rss, "rss": rss, "peak": peak, "samples": samples,
        "calls": len(calls), "per_flow_hour": len(calls) / count / hours, "scheduled": scheduled,
        "scheduled_per_flow_hour": scheduled / count / hours, "throughput": len(calls) / window,
        "overdue": _overdue_steps(),
    }


def _report(label: str, result: dict) -> None:
    mb = lambda kib: kib / 1024  # noqa: E731
    kept_up = _kept_up(result)
    print(f"[{label}] {result['count']} flows (seeded in {result['seeded_in']:.1f} s): "
          f"worker RSS {mb(result['idle_rss']):.0f} MB idle, {mb(result['rss']):.0f} MB at the end, "
          f"peak {mb(result['peak']):.0f} MB (samples {', '.join(f'{mb(s):.0f}' for s in result['samples'])})")
    print(f"[{label}] status calls {result['calls']} = {result['per_flow_hour']:.2f} per flow per hour "
          f"(schedule: {result['scheduled_per_flow_hour']:.2f}); {result['throughput']:.0f} checks/s; "
          f"{result['overdue']} checks overdue by > 1 s at the end; "
          f"{'kept up with the schedule' if kept_up else 'FELL BEHIND the compressed schedule'}")


def _kept_up(result: dict) -> bool:
    # Checks still overdue at the end mean a backlog; the call count alone would flatter a slow worker.
    return result["overdue"] <= max(1, result["count"] // 100)


def _run() -> None:
    import django
    from django.core.management import call_command

    from standins.bigquery.server import start_standin
    from tests.support.services import free_port

    count = int(os.environ.get("BENCH_FLOWS", "5000"))
    scale = float(os.environ.get("BENCH_FLOWS_SCALE", "60"))
    window = float(os.environ.get("BENCH_FLOWS_WINDOW", "60"))
    var_dir = Path(os.environ["VAR_DIR"])
    standin = start_standin(free_port(), var_dir / "bigquery", "local-project")
    try:
        os.environ.update(BIGQUERY_API_ENDPOINT=standin.endpoint, BIGQUERY_PROJECT="local-project")
        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        print(f"one worker, webhooks on, time ×{scale:g} (poll {POLL_FIRST / scale:g}→{POLL_MAX / scale:g} s, "
              f"sweep {SWEEP / scale:.3g} s), window {window:g} s = {window * scale / 60:g} min of each flow's "
              f"first (busiest) hour; SQLite, in-memory channel layer")
        load = run_phase("load", count, scale, window, var_dir, standin)
        _report("load", load)
        # Calls per flow per hour is a property of the schedule only when the worker keeps up; at ×scale
        # it has scale× the real work, so measure it again on as many flows as it can serve at half load.
        per_flow_rate = 9 * scale / 3600
        fitting = max(10, min(count, int(0.5 * load["throughput"] / per_flow_rate)))
        schedule = load
        if not _kept_up(load) and fitting < count:
            schedule = run_phase("schedule", fitting, scale, window, var_dir, standin)
            _report("schedule", schedule)
    finally:
        standin.stop()

    peak_mb = load["peak"] / 1024
    print(f"RSS with {count} waiting flows: peak {peak_mb:.0f} MB; target < {TARGET_RSS_MB} MB: "
          f"{'ok' if peak_mb < TARGET_RSS_MB else 'MISSED'}")
    print(f"status calls per flow per hour (worker keeping up, {schedule['count']} flows): "
          f"{schedule['per_flow_hour']:.2f}; target ≤ {TARGET_CALLS_PER_HOUR}: "
          f"{'ok' if schedule['per_flow_hour'] <= TARGET_CALLS_PER_HOUR else 'MISSED'}")
    print(f"one worker's measured throughput {load['throughput']:.0f} checks/s serves "
          f"{load['throughput'] * 3600 / 6:,.0f} flows waiting at the 600 s interval (6 checks/h), "
          f"{load['throughput'] * 3600 / 9:,.0f} in their first hour (9 checks/h) in real time")


def _overdue_steps() -> int:
    from django.utils import timezone

    from integrations.models import SetupStep

    return SetupStep.objects.filter(
        name="historical_sync", state="running", due_at__lt=timezone.now() - timedelta(seconds=1)
    ).count()


def main() -> None:
    run_in_child("bench.flows_in_flight")


if __name__ == "__main__":
    if sys.argv[1:] == ["--run"]:
        _run()
    else:
        main()
