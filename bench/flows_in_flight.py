"""Bench: many set-ups waiting in `historical_sync` on Temporal, ONE worker process; its memory, the
Temporal dev server's memory, and Fivetran status calls per waiting flow.

    python -m bench.flows_in_flight

How the flows get there (option (c) of issue #11: fewer flows, measured, and projected). The
IntegrationSetup workflow always starts at its first step, and the only honest way into the
historical sync is through the seven steps before it. That costs about half a CPU-second per set-up
between the worker and the dev server (eight activities, about ten workflow tasks, one Update, one
signal): 5,000 set-ups would take about 50 minutes on this shared 2-core machine (the fill prints
its rate), and the dev server alone needs minutes for their 90,000 tasks whatever the worker does.
A workflow input that starts at a given step would be a product change just for a bench. So
BENCH_FLOWS set-ups (default 200) go through the real workflow from the first step against the
emulator, the bench playing the user (Connect Card completed through the emulator's control API,
the signed return and the card_returned signal as the return page sends them, every table chosen
with the select_tables Update), and the figures for 5,000 are projected from measured slopes,
printed as projections:
  - worker: its RSS grows with the workflows held in its sticky cache, which the SDK bounds
    (max_cached_workflows: the product's TEMPORAL_MAX_CACHED_WORKFLOWS); beyond the bound more
    waiting flows cost replays instead of memory, so BENCH_FLOWS above the bound measures a worker
    that evicts;
  - dev server: its state (in memory here) grows with every workflow, so linearly.

Phases (the emulator's historical syncs never finish; webhooks on, FIVETRAN_WEBHOOK_SECRET set; one
worker process at a time, each a `manage.py temporal_worker`):
  fill        a worker with a one-day fallback timer, so that the flows already waiting do not look
              again while the others fill; N set-ups in two halves (the dev server's RSS after each
              gives its slope per flow). Then that worker stops.
  wake        a new worker (a restart: it holds no workflow), same clock. The bench wakes each flow
              once as Fivetran's webhook does (dispatch.fivetran_changed), BENCH_FLOWS_WAKE_RATE per
              second (default 8.3 = 5,000 flows / 600 s: the rate at which 5,000 flows waiting at the
              600 s interval wake their worker, and when they outnumber its cache every wake finds
              the workflow evicted), in two halves, reading the worker's RSS from /proc after each:
              its slope per cached flow. A woken flow is replayed, then looks; the woken → looked
              latency and the workflow tasks that timed out come from the histories.
  first hour  the N flows are stopped; a new worker with every clock divided by BENCH_FLOWS_SCALE
              (default 60: one bench second is one minute; the fallback timer SETUP_POLL_FIRST/
              MAX_SECONDS, 60→600 s, becomes 1→10 s); BENCH_FLOWS_FRESH (default 50) fresh set-ups go
              through the workflow, and each is watched for one compressed hour from its own first
              look, its busiest (looks at 0, 1, 3, 7, 15, 25, 35, 45, 55 min: 9). The emulator's
              request log has no times, so the bench reads it every 0.25 s and stamps what is new.

Honesty: compressing time ×60 multiplies the worker's work ×60, and a worker that falls behind makes
fewer calls, which is no success. So the hour ends by asking Temporal about every flow: a workflow
task or a status look that has waited for the worker more than 1 s is an overdue check, and a
calls-per-hour figure from a window with overdue checks gets no verdict. Likewise a wake phase whose
looks come more than 5 s after their wake-up (a replay and a look take well under a second on an idle
worker) fell behind, and so did a first hour whose looks end more than 5 s after their timer fired;
so does any phase with a workflow task that ran past its timeout.
Status calls are GET /v1/connections/<id> in the emulator's request log.
SQLite in a temporary VAR_DIR; in-memory channel layer (nobody watches); the dev server's state in
memory (its RSS holds all of it).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench._child import run_in_child
from bench._stack import WEBHOOK_SECRET, percentile

TARGET_RSS_MB = 300
TARGET_CALLS_PER_HOUR = 12
PROJECTED_FLOWS = 5000
POLL_FIRST, POLL_MAX = 60.0, 600.0  # the fallback timer with webhooks (SETUP_POLL_* defaults)
FILL_FALLBACK = 86400.0
ASK_AT_MOST = 500
OVERDUE_SECONDS = 1.0
LATE_LOOK_SECONDS = 5.0  # a replay and a look take well under a second on an idle worker
LOOK_TIMEOUT = 180.0


def scheduled_looks(window: float, first: float, longest: float) -> int:
    """Looks historical_sync makes in the `window` seconds from its first look (its backoff: first,
    2×first, … up to longest)."""
    count, at, interval = 0, 0.0, first / 2
    while at < window:
        count += 1
        interval = min(longest, interval * 2)
        at += interval
    return count


class StampedRequests:
    """The emulator's request log, each entry stamped with the time the bench first saw it (the log
    records no times; it is read every POLL_SECONDS, so a stamp is at most that late)."""

    POLL_SECONDS = 0.25

    def __init__(self, emulator):
        self.emulator = emulator
        self.stamped: list[tuple[float, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self):
        self.emulator.clear_requests()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            items = self.emulator.requests()
            now = time.time()
            self.stamped += [(now, item) for item in items[len(self.stamped):]]
            self._stop.wait(self.POLL_SECONDS)


def _is_status_call(request: dict) -> bool:
    path = request["path"]
    return request["method"] == "GET" and path.startswith("/v1/connections/") and path.count("/") == 3


@dataclass
class Health:
    """What Temporal says about the flows asked, at the end of a window."""

    asked: int = 0
    overdue: int = 0  # flows with a workflow task or a look waiting for the worker > OVERDUE_SECONDS
    oldest: float = 0.0
    # Workflow tasks in the flows' histories (since the phase began) that: ran past their 10 s
    # timeout (a busy worker); waited on a stopped worker's sticky queue until handed to another
    # (a restart); failed.
    ran_too_long: int = 0
    sticky_timeouts: int = 0
    task_failures: int = 0
    woken_to_looked: list[float] = field(default_factory=list)  # s, from a webhook's signal to the look's end
    timer_to_looked: list[float] = field(default_factory=list)  # s, from the fallback timer firing to the look's end

    def kept_up(self) -> bool:
        looks = self.woken_to_looked + self.timer_to_looked
        return (
            self.overdue <= max(1, self.asked // 100)
            and not percentile(looks, 0.99) > LATE_LOOK_SECONDS
            and not self.ran_too_long
        )

    def tasks(self) -> str:
        return (f"workflow tasks that ran past their timeout: {self.ran_too_long}, timed out on a stopped "
                f"worker's sticky queue: {self.sticky_timeouts}, failed: {self.task_failures}")


async def _ask_temporal(ids: list[int], since: float = 0.0) -> Health:
    """Ask about the flows (at most ASK_AT_MOST of them); history events before `since` are left out."""
    from temporalio.api.enums.v1 import EventType, PendingActivityState, TimeoutType

    from gyana.temporal.client import get_client
    from integrations.engine.dispatch import workflow_id_of
    from integrations.engine.messages import FIVETRAN_CHANGED

    client = await get_client()
    asked = random.Random(7).sample(ids, min(len(ids), ASK_AT_MOST))
    semaphore = asyncio.Semaphore(16)
    health = Health(asked=len(asked))
    now = time.time()

    def seconds(stamp) -> float:
        return stamp.ToDatetime().timestamp()

    async def ask(integration_id: int) -> None:
        handle = client.get_workflow_handle(await workflow_id_of(integration_id))
        async with semaphore:
            description = (await handle.describe()).raw_description
            history = await handle.fetch_history()
        waits = []
        if description.HasField("pending_workflow_task"):  # scheduled or running: no look yet
            waits.append(now - seconds(description.pending_workflow_task.scheduled_time))
        for pending in description.pending_activities:
            if pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED:
                # A retry still in its backoff is not waiting for the worker.
                waits.append(now - max(seconds(pending.scheduled_time), seconds(pending.next_attempt_schedule_time)))
        late = [wait for wait in waits if wait > OVERDUE_SECONDS]
        if late:
            health.overdue += 1
            health.oldest = max(health.oldest, *late)
        woken = None  # (the list it goes to, when) of the wake-up not yet followed by a look
        for event in history.events:
            if seconds(event.event_time) < since:
                continue
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                timeout = event.workflow_task_timed_out_event_attributes.timeout_type
                if timeout == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE:
                    health.ran_too_long += 1
                else:
                    health.sticky_timeouts += 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                health.task_failures += 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                if event.workflow_execution_signaled_event_attributes.signal_name == FIVETRAN_CHANGED:
                    woken = (health.woken_to_looked, seconds(event.event_time))
            elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
                woken = (health.timer_to_looked, seconds(event.event_time))
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED and woken is not None:
                woken[0].append(seconds(event.event_time) - woken[1])
                woken = None

    await asyncio.gather(*(ask(i) for i in asked))
    return health


async def _ring(ids: list[int], rate: float) -> None:
    """The webhook's effect (dispatch.fivetran_changed) for each flow, `rate` per second."""
    from integrations.engine import dispatch

    started = time.monotonic()
    tasks = []
    for index, integration_id in enumerate(ids):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(dispatch.fivetran_changed(integration_id)))
    await asyncio.gather(*tasks)


async def _until_each_looked(emulator, ids: list[int]) -> int:
    """Wait (at most LOOK_TIMEOUT) until each flow has read its connection's status once since the
    emulator's request log was cleared; the number that have not."""
    from integrations.models import Integration

    wanted = {c async for c in Integration.objects.filter(pk__in=ids).values_list("connection_id", flat=True)}
    deadline = time.monotonic() + LOOK_TIMEOUT
    while True:
        seen = {r["path"].rsplit("/", 1)[1] for r in await asyncio.to_thread(emulator.requests) if _is_status_call(r)}
        missing = len(wanted - seen)
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.25)


async def _stop_all(ids: list[int]) -> None:
    from integrations.engine import dispatch

    semaphore = asyncio.Semaphore(64)

    async def stop(integration_id: int) -> None:
        async with semaphore:
            await dispatch.stop_setup(integration_id)

    await asyncio.gather(*(stop(i) for i in ids))


def _fill(stack, team, user, count: int) -> tuple[list[int], float, dict[int, float]]:
    """`count` set-ups through the real workflow to their first look: (ids, seconds, first look times)."""
    from bench._stack import drive_to_historical_sync, new_integrations, start_all

    ids = new_integrations(team, user, count)

    async def drive():
        started = time.perf_counter()
        await start_all(ids)
        first_looks = await drive_to_historical_sync(ids, stack.emulator, timeout=1800)
        return time.perf_counter() - started, first_looks

    seconds, first_looks = asyncio.run(drive())
    return ids, seconds, first_looks


def _run() -> None:

    from bench._stack import bench_account, rss_mb, running_stack, temporal_worker, verdict

    count = int(os.environ.get("BENCH_FLOWS", "200"))
    scale = float(os.environ.get("BENCH_FLOWS_SCALE", "60"))
    wake_rate = float(os.environ.get("BENCH_FLOWS_WAKE_RATE", str(round(PROJECTED_FLOWS / POLL_MAX, 1))))
    fresh = min(count, int(os.environ.get("BENCH_FLOWS_FRESH", "50")))
    first, longest = POLL_FIRST / scale, POLL_MAX / scale
    var_dir = Path(os.environ["VAR_DIR"])
    day = str(FILL_FALLBACK)
    one_day = dict(SETUP_POLL_FIRST_SECONDS=day, SETUP_POLL_MAX_SECONDS=day)
    half = count // 2
    hour = 3600 / scale

    with running_stack(var_dir, FIVETRAN_WEBHOOK_SECRET=WEBHOOK_SECRET) as stack:
        from django.conf import settings  # read once the stack has pointed the settings at itself

        cache = settings.TEMPORAL_MAX_CACHED_WORKFLOWS
        team, user = bench_account()
        server_idle = rss_mb(stack.temporal.pid)[0]
        print(f"{count} set-ups through the real workflow to the historical sync, webhooks on; SQLite, dev server "
              f"in memory, emulator syncs never finish; one worker process at a time")

        with temporal_worker(stack, "worker-fill", **one_day):
            ids, fill_seconds, _ = _fill(stack, team, user, half)
            server_half = rss_mb(stack.temporal.pid)[0]
            more, seconds, _ = _fill(stack, team, user, count - half)
            ids, fill_seconds = ids + more, fill_seconds + seconds
        server_filled = rss_mb(stack.temporal.pid)[0]

        restarted_at = time.time()
        with temporal_worker(stack, "worker-restarted", **one_day) as worker:
            time.sleep(1.0)
            worker_idle = rss_mb(worker.pid)[0]
            rss_at, woken = [], []
            for part in (ids[:half], ids[half:]):
                stack.emulator.clear_requests()
                started = time.monotonic()
                asyncio.run(_ring(part, wake_rate))
                missing = asyncio.run(_until_each_looked(stack.emulator, part))
                woken.append((time.monotonic() - started, missing))
                rss_at.append(rss_mb(worker.pid)[0])
            worker_peak = rss_mb(worker.pid)[1]
            wake_health = asyncio.run(_ask_temporal(ids, since=restarted_at))
        asyncio.run(_stop_all(ids))

        with temporal_worker(
            stack, "worker-compressed", SETUP_POLL_FIRST_SECONDS=str(first), SETUP_POLL_MAX_SECONDS=str(longest)
        ):
            with StampedRequests(stack.emulator) as log:
                fresh_ids, _, first_looks = _fill(stack, team, user, fresh)
                # Each flow is watched for the hour after its own first look.
                time.sleep(max(0.0, max(first_looks.values()) + hour - time.time()) + 2 * log.POLL_SECONDS)
                hour_health = asyncio.run(_ask_temporal(fresh_ids))
            from integrations.models import Integration  # Django is set up by now

            connections = dict(Integration.objects.filter(pk__in=fresh_ids).values_list("pk", "connection_id"))
            first_hour_calls = [
                sum(1 for at, request in log.stamped
                    if _is_status_call(request) and request["path"].endswith(f"/{connections[i]}")
                    and first_looks[i] <= at < first_looks[i] + hour)
                for i in fresh_ids
            ]

    print(f"[fill] {count} set-ups through seven steps to their first look in {fill_seconds:.0f} s "
          f"({count / fill_seconds:.1f}/s); dev server RSS {server_idle:.0f} MB idle, {server_half:.0f} MB "
          f"with {half} flows, {server_filled:.0f} MB with {count}")
    lags = wake_health.woken_to_looked
    wake_kept_up = not any(missing for _, missing in woken) and wake_health.kept_up()
    print(f"[wake] a restarted worker (RSS {worker_idle:.0f} MB, holding no workflow), every flow woken once at "
          f"{wake_rate:g}/s as the webhook does; each is replayed, then looks: "
          + "; ".join(f"{len(part)} woken, the last looked {took:.0f} s after the first was woken"
                      + (f" (NOT {missing} of them, after {LOOK_TIMEOUT:g} s)" if missing else "")
                      for part, (took, missing) in zip((ids[:half], ids[half:]), woken))
          + f"; woken → looked p50 {percentile(lags, 0.5):.1f} s, p99 {percentile(lags, 0.99):.1f} s; "
          f"{wake_health.tasks()}; "
          f"{'kept up' if wake_kept_up else 'FELL BEHIND the wake-ups'}")
    mb_per_flow = (rss_at[1] - rss_at[0]) / max(1, count - half)
    print(f"[wake] worker RSS {worker_idle:.0f} MB idle, {rss_at[0]:.0f} MB holding {half} flows, {rss_at[1]:.0f} MB "
          f"holding {count} ({mb_per_flow * 1024:.0f} KB per cached flow, second half); peak {worker_peak:.0f} MB")
    rate = sum(first_hour_calls) / fresh
    looked = hour_health.timer_to_looked
    print(f"[first hour] the {count} flows stopped; a worker with every clock ÷{scale:g} (fallback "
          f"{first:g}→{longest:g} s); {fresh} fresh set-ups through the workflow, each watched for {hour:g} s = "
          f"one hour from its first look: status calls per flow {rate:.2f} (min {min(first_hour_calls)}, max "
          f"{max(first_hour_calls)}; the schedule: {scheduled_looks(hour, first, longest)}, if looks took no time: "
          f"each interval starts when the last look ends, and at ×{scale:g} a look's second is a minute, so the last "
          f"look of the hour can slip past it); timer fired → looked p50 "
          f"{percentile(looked, 0.5):.2f} s, p99 {percentile(looked, 0.99):.2f} s; "
          f"{hour_health.overdue} of "
          f"{hour_health.asked} with a check overdue by > {OVERDUE_SECONDS:g} s at the end (oldest "
          f"{hour_health.oldest:.1f} s); {hour_health.tasks()}: "
          f"{'kept up' if hour_health.kept_up() else 'FELL BEHIND'}")

    cached = min(PROJECTED_FLOWS, cache)
    projected_worker = rss_at[1] + mb_per_flow * max(0, cached - count)
    server_per_flow = (server_filled - server_half) / max(1, count - half)
    projected_server = server_filled + server_per_flow * (PROJECTED_FLOWS - count)
    print(f"worker RSS, measured holding {count} waiting flows: peak {worker_peak:.0f} MB; "
          f"target < {TARGET_RSS_MB} MB: {verdict(worker_peak < TARGET_RSS_MB)}")
    print(f"worker RSS, PROJECTED for {PROJECTED_FLOWS:,} waiting flows (the SDK caches at most {cache:,} "
          f"workflows: {rss_at[1]:.0f} MB + {max(0, cached - count)} × {mb_per_flow * 1024:.0f} KB): "
          f"{projected_worker:.0f} MB; target < {TARGET_RSS_MB} MB: {verdict(projected_worker < TARGET_RSS_MB)}")
    print(f"dev server RSS: {server_idle:.0f} MB idle, {server_filled:.0f} MB with {count} flows; "
          f"{server_per_flow * 1024:.0f} KB per flow (second half); PROJECTED for {PROJECTED_FLOWS:,}: "
          f"{projected_server:.0f} MB (no target)")
    if hour_health.kept_up():
        print(f"status calls per flow per hour (first hour, the busiest): {rate:.2f}; "
              f"target ≤ {TARGET_CALLS_PER_HOUR}: {verdict(rate <= TARGET_CALLS_PER_HOUR)}")
    else:
        print(f"status calls per flow per hour (first hour): {rate:.2f}, but the worker fell behind: no verdict")
    print(f"{PROJECTED_FLOWS:,} flows waiting at the 600 s interval wake a worker "
          f"{PROJECTED_FLOWS / POLL_MAX:.1f} times a second, and with more flows than its cache ({cache:,}) every "
          f"wake is a replay: at {wake_rate:g}/s this worker {'kept up' if wake_kept_up else 'FELL BEHIND'} "
          f"(p99 woken → looked {percentile(lags, 0.99):.1f} s)")


def main() -> None:
    run_in_child(
        "bench.flows_in_flight", DEBUG="0", SECRET_KEY="bench-only-secret-key-not-for-production-0123456789"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--run"]:
        _run()
    else:
        main()
