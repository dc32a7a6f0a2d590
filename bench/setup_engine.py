"""Bench: the set-up engine on Temporal, beside bare Temporal workflows calling the same activity.

    python -m bench.setup_engine

Everything is its own: a Temporal dev server (state in memory), the Fivetran emulator (its historical
syncs never finish here), the BigQuery stand-in, SQLite in a temporary VAR_DIR, the Redis channel
layer (BENCH_REDIS_URL, default redis://127.0.0.1:6379/14, flushed: a logical database of its own),
daphne serving the product's ASGI app, and ONE worker process. The worker is built by
`gyana.temporal.worker.run_worker` exactly as `manage.py temporal_worker` builds it, with the
product's IntegrationSetup workflow and activities, plus the two bare workflows of bench/_bare.py:
they call the product's own `run_setup_step` activity by name and have none of the workflow's
logic. Both kinds share the worker, the server and the machine, and run in alternation, so drift of
this shared 2-core machine affects both alike.

(a) Set-ups started per second (BENCH_STARTS set-ups per round, default 100; 3 rounds of each kind,
    each kind first in turn).
    product: `dispatch.start_setup` for each (64 at a time), IntegrationSetup runs create_connection
             (a real POST to the emulator) and connect_card (a real GET, then the Connect Card offer);
    bare:    `start_workflow(BareFirstSteps)` for each, which runs the same two activities in a row.
    A round ends when every set-up of it is waiting on the Connect Card (its step row says so).
    Measured: set-ups per second through both steps, and the start calls alone. Target: bare rate /
    product rate ≤ 1.3.

(b) Webhook → re-check → frame (BENCH_WEBHOOK_SAMPLES per kind, default 200). 2 × BENCH_WEBHOOK_FLOWS
    set-ups (default 10 each) are taken through the real workflow to the historical sync (Connect
    Card completed through the emulator's control API, every table chosen); the fallback timer is an
    hour, so only the webhook makes them look. The bare half's IntegrationSetup is stopped and a
    BareRecheck workflow takes over. Each set-up is watched by a product websocket on daphne. For
    each sample the bench lands (or removes) one expected table in BigQuery, as Fivetran does while
    syncing, so that the next look has news, then takes t0 and:
      product: POSTs a signed Fivetran webhook to daphne's /webhooks/fivetran/ (the view checks the
               signature, finds the integration, signals its workflow; the workflow runs
               historical_sync, which reads Fivetran's status, counts the landed tables, commits
               the step.progress event and rings the channel group);
      bare:    sends the fivetran_changed signal itself; BareRecheck runs the same activity.
    Latency: t0 → the step.progress frame with the new count at the websocket (one process, one
    clock). Samples alternate between the kinds, one at a time. Target: product p50 and p99 each
    ≤ 1.3 × bare.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sys
import time
from pathlib import Path

from bench._child import run_in_child
from bench._frames import FrameClock
from bench._stack import WEBHOOK_SECRET

TARGET_RATIO = 1.3
ROUNDS = 3
START_CONCURRENCY = 64
FALLBACK_SECONDS = 3600.0  # the historical sync's fallback timer: never within the bench


# -- the worker process: the product's workflow and activities plus the bare baselines ---------------


def _worker() -> None:
    import django

    django.setup()
    from bench._bare import BARE_WORKFLOWS
    from gyana.temporal.worker import run_worker
    from integrations.engine.setup_activities import ACTIVITIES
    from integrations.engine.worker import WORKFLOWS

    asyncio.run(run_worker((*WORKFLOWS, *BARE_WORKFLOWS), ACTIVITIES))


# -- (a) starts ------------------------------------------------------------------------------------


async def _until_waiting_on_card(ids: list[int], timeout: float = 300.0) -> None:
    from integrations.models import SetupStep

    deadline = time.monotonic() + timeout
    query = SetupStep.objects.filter(integration_id__in=ids, name="connect_card", state="waiting_for_user")
    while await query.acount() < len(ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {await query.acount()} of {len(ids)} set-ups reached the Connect Card")
        await asyncio.sleep(0.05)


async def _starts_round(kind: str, ids: list[int]) -> tuple[float, float]:
    """(seconds until every start call returned, seconds until every set-up waits on the card)."""
    from django.conf import settings

    from bench._stack import start_all
    from gyana.temporal.client import get_client

    started_at = time.perf_counter()
    if kind == "product":
        await start_all(ids, START_CONCURRENCY)
    else:
        client = await get_client()
        semaphore = asyncio.Semaphore(START_CONCURRENCY)

        async def start(integration_id: int) -> None:
            async with semaphore:
                await client.start_workflow(
                    "BareFirstSteps", integration_id, id=f"bare-first-{integration_id}",
                    task_queue=settings.TEMPORAL_TASK_QUEUE,
                )

        await asyncio.gather(*(start(i) for i in ids))
    calls_done = time.perf_counter() - started_at
    await _until_waiting_on_card(ids)
    return calls_done, time.perf_counter() - started_at


def _measure_starts(team, user, count: int) -> dict:
    from bench._stack import new_integrations

    totals = {kind: {"count": 0, "calls": 0.0, "through": 0.0} for kind in ("product", "bare")}
    for round_ in range(ROUNDS):
        # Each kind goes first in turn: the emulator's create call slows as connections accumulate.
        for kind in ("product", "bare") if round_ % 2 == 0 else ("bare", "product"):
            ids = new_integrations(team, user, count)
            calls, through = asyncio.run(_starts_round(kind, ids))
            totals[kind]["count"] += count
            totals[kind]["calls"] += calls
            totals[kind]["through"] += through
    return {
        kind: {"calls_per_s": t["count"] / t["calls"], "per_s": t["count"] / t["through"]}
        for kind, t in totals.items()
    }


# -- (b) webhook → frame ---------------------------------------------------------------------------


def _progress_key(frame: dict):
    """A set-up's step.progress frame, by integration and tables done."""
    return (str(frame["integration"]), frame["data"]["done"]) if frame.get("type") == "step.progress" else None


class Landing:
    """Lands or removes one expected table of a set-up in BigQuery, as Fivetran's sync does."""

    def __init__(self):
        from warehouse.bigquery import bigquery_client

        self.client = bigquery_client()
        self.landed: dict[int, bool] = {}

    def toggle(self, integration) -> int:
        """The landed count the next look will report."""
        from google.cloud import bigquery

        dataset, tables = next(iter(integration.destination_tables.items()))
        reference = f"{self.client.project}.{dataset}.{tables[0]}"
        if self.landed.get(integration.pk):
            self.client.delete_table(reference, not_found_ok=True)
        else:
            self.client.create_dataset(f"{self.client.project}.{dataset}", exists_ok=True)
            self.client.create_table(bigquery.Table(reference, schema=[bigquery.SchemaField("id", "INTEGER")]))
        self.landed[integration.pk] = not self.landed.get(integration.pk)
        return int(self.landed[integration.pk])


def _signed(body: bytes) -> str:
    from django.conf import settings

    return hmac.new(settings.FIVETRAN_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest().upper()


async def _measure_webhooks(stack, daphne_url: str, cookie: str, product_ids, bare_ids, samples: int) -> dict:
    import httpx
    from asgiref.sync import sync_to_async
    from django.conf import settings

    from gyana.temporal.client import get_client
    from integrations.engine import dispatch
    from integrations.models import Integration

    client = await get_client()
    # The bare half: the product's workflow stops, the bare one takes over the same set-up.
    for integration_id in bare_ids:
        await dispatch.stop_setup(integration_id)
        await client.start_workflow(
            "BareRecheck", integration_id, id=f"bare-recheck-{integration_id}",
            task_queue=settings.TEMPORAL_TASK_QUEUE,
        )
    integrations = {i.pk: i async for i in Integration.objects.filter(pk__in=[*product_ids, *bare_ids])}
    sockets = FrameClock(_progress_key)
    host = daphne_url.removeprefix("http://")
    for integration_id in integrations:
        await sockets.open(f"ws://{host}/ws/integrations/{integration_id}/", cookie, daphne_url)
    await asyncio.sleep(0.5)  # snapshots delivered, groups joined
    landing = await sync_to_async(Landing)()
    latency = {"product": [], "bare": []}
    answers = []  # the webhook's own answer time (POST → 204)
    async with httpx.AsyncClient(base_url=daphne_url, timeout=30) as http:
        for k in range(samples):
            for kind, ids in (("product", product_ids), ("bare", bare_ids)):
                integration = integrations[ids[k % len(ids)]]
                done = await asyncio.to_thread(landing.toggle, integration)
                frame_at = sockets.expect((str(integration.pk), done))
                if kind == "product":
                    body = json.dumps({
                        "event": "sync_end", "connector_id": integration.connection_id,
                        "connector_type": integration.service, "data": {"status": "SUCCESSFUL"},
                    }).encode()
                    t0 = time.perf_counter()
                    response = await http.post(
                        "/webhooks/fivetran/", content=body,
                        headers={"Content-Type": "application/json", "X-Fivetran-Signature-256": _signed(body)},
                    )
                    answers.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 204, response.text
                else:
                    t0 = time.perf_counter()
                    await client.get_workflow_handle(f"bare-recheck-{integration.pk}").signal("fivetran_changed")
                try:
                    received = await asyncio.wait_for(frame_at, timeout=30)
                except TimeoutError:
                    raise RuntimeError(f"no step.progress frame for {kind} set-up {integration.pk}") from None
                latency[kind].append((received - t0) * 1000)
                await asyncio.sleep(0.05)
    await sockets.close()
    return {**latency, "answers": answers}


def _prepare_waiting(stack, team, user, count: int) -> list[int]:
    from bench._stack import drive_to_historical_sync, new_integrations, start_all

    ids = new_integrations(team, user, count)

    async def drive():
        await start_all(ids)
        await drive_to_historical_sync(ids, stack.emulator, timeout=300)

    asyncio.run(drive())
    return ids


# -- the run ---------------------------------------------------------------------------------------


def _run() -> None:
    import redis

    from bench._stack import bench_account, percentile, running_stack, temporal_worker, verdict
    from tests.support.process_fixtures import spawn_daphne, wait_http
    from tests.support.services import free_port

    starts = int(os.environ.get("BENCH_STARTS", "100"))
    samples = int(os.environ.get("BENCH_WEBHOOK_SAMPLES", "200"))
    flows = int(os.environ.get("BENCH_WEBHOOK_FLOWS", "10"))
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    var_dir = Path(os.environ["VAR_DIR"])
    settings_env = dict(
        SETUP_POLL_FIRST_SECONDS=str(FALLBACK_SECONDS), SETUP_POLL_MAX_SECONDS=str(FALLBACK_SECONDS),
    )
    try:
        with running_stack(var_dir, **settings_env) as stack:
            from django.test import Client

            team, user = bench_account()
            with temporal_worker(stack, module="bench.setup_engine"):
                started = _measure_starts(team, user, starts)
                ids = _prepare_waiting(stack, team, user, 2 * flows)
                daphne = spawn_daphne("daphne", free_port(), stack.worker_env(), var_dir)
                try:
                    wait_http(daphne)
                    browser = Client()
                    browser.force_login(user)
                    cookie = browser.cookies["sessionid"].value
                    webhooks = asyncio.run(
                        _measure_webhooks(stack, daphne.extra["url"], cookie, ids[:flows], ids[flows:], samples)
                    )
                finally:
                    daphne.stop()
    finally:
        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    print(f"(a) set-ups started per second: {ROUNDS} rounds × {starts} set-ups of each kind, alternating; "
          f"one worker process, dev server in memory, SQLite, emulator")
    product, bare = started["product"], started["bare"]
    ratio = bare["per_s"] / product["per_s"]
    print(f"    through create_connection + connect_card: product (dispatch.start_setup → IntegrationSetup) "
          f"{product['per_s']:.1f}/s, bare (BareFirstSteps) {bare['per_s']:.1f}/s")
    print(f"    start calls alone: product {product['calls_per_s']:.0f}/s, bare {bare['calls_per_s']:.0f}/s")
    print(f"    overhead (bare rate / product rate) {ratio:.2f}×; "
          f"target ≤ {TARGET_RATIO}: {verdict(ratio <= TARGET_RATIO)}")

    print(f"(b) webhook → re-check → frame: {samples} samples of each kind, alternating, over {flows} set-ups "
          f"each waiting in historical_sync; daphne, Redis channel layer")
    rows = []
    for kind in ("product", "bare"):
        values = webhooks[kind]
        rows.append((percentile(values, 0.5), percentile(values, 0.99)))
        label = "product (signed POST → daphne → signal → IntegrationSetup)" if kind == "product" else \
            "bare (signal → BareRecheck)"
        print(f"    {label}: p50 {rows[-1][0]:.1f} ms, p99 {rows[-1][1]:.1f} ms, max {max(values):.1f} ms")
    print(f"    the webhook's own answer (POST → 204, includes the signal): p50 "
          f"{percentile(webhooks['answers'], 0.5):.1f} ms, p99 {percentile(webhooks['answers'], 0.99):.1f} ms")
    for name, index in (("p50", 0), ("p99", 1)):
        ratio = rows[0][index] / rows[1][index]
        print(f"    {name} ratio product/bare {ratio:.2f}×; target ≤ {TARGET_RATIO}: {verdict(ratio <= TARGET_RATIO)}")


def main() -> None:
    run_in_child(
        "bench.setup_engine",
        DEBUG="0",
        SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        FIVETRAN_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--run"]:
        _run()
    elif sys.argv[1:] == ["--worker"]:
        _worker()
    else:
        main()
