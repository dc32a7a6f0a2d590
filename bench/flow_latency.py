"""Bench: from a step's commit to the frame at a websocket client, against a bare channel layer.

    python -m bench.flow_latency

One daphne process with the Redis channel layer serves both the product's `/ws/integrations/<id>/`
and a bare consumer (`/ws/bare/<key>/`, defined below: join a group, forward what the group sends).
For each size W (1, 100, 1,000 watchers) the bench opens W product websockets, one per integration
(watchers spread over W integrations, as in a deployment where each user watches their own set-up),
and W bare websockets, one per bare group. It then alternates, round robin over the integrations:
  product: t0, then `transitions.step_progress` on a step the bench began (one transaction: step
           row + event row, commit), then `events.publish` — exactly what a set-up activity does;
  bare:    t0, then `channel_layer.group_send` of a frame of the same shape.
Latency is client receipt − t0 (one process, one clock). The product's t0 is taken just before the
COMMIT (the transition runs inside an outer `atomic` whose exit is the commit), so the product figure is
COMMIT + the thread hop back to the event loop + publish + daphne + client.
The polling row is analytic: an event lands uniformly inside a 1 s polling period, so it waits
U(0, 1 s) plus one HTTP request (measured here on the same daphne).

Database: SQLite in a temporary VAR_DIR. Redis: BENCH_REDIS_URL or redis://127.0.0.1:6379/14
(flushed; a logical database of its own). Smaller runs: BENCH_LATENCY_WATCHERS=1,100
BENCH_LATENCY_EVENTS=200. Target: product p99 within 1.5× of the bare p99 at each size.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench._child import run_in_child

TARGET_RATIO = 1.5
POLL_SECONDS = 1.0
RATE_PER_SECOND = 50  # events per second of each kind, as in the channels baseline
REPO = Path(__file__).resolve().parent.parent


# -- the bench-only ASGI app served by daphne ---------------------------------------------------------


def _bench_application():
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.routing import URLRouter
    from django.urls import path

    from gyana.asgi import application as product

    class BareConsumer(AsyncWebsocketConsumer):
        async def connect(self):
            self.group = f"bare.{self.scope['url_route']['kwargs']['key']}"
            await self.channel_layer.group_add(self.group, self.channel_name)
            await self.accept()

        async def disconnect(self, code):
            await self.channel_layer.group_discard(self.group, self.channel_name)

        async def bare_event(self, message):
            await self.send(text_data=json.dumps(message["event"]))

    bare = URLRouter([path("ws/bare/<str:key>/", BareConsumer.as_asgi())])

    async def app(scope, receive, send):
        if scope["type"] == "websocket" and scope["path"].startswith("/ws/bare/"):
            return await bare(scope, receive, send)
        return await product(scope, receive, send)

    return app


def __getattr__(name: str):
    # Built on first use so that `python -m bench` can import this module without Django set up.
    if name == "application":
        app = _bench_application()
        globals()["application"] = app
        return app
    raise AttributeError(name)


# -- measuring ----------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Watchers:
    """W product sockets and W bare sockets; records receipt − t0 for each frame."""

    def __init__(self):
        self.sent: dict[tuple, float] = {}
        self.latency = {"product": [], "bare": []}
        self.sockets = []
        self.readers = []

    async def open(self, url: str, headers: dict, origin: str, kind: str) -> None:
        import websockets

        socket = await websockets.connect(url, additional_headers=headers, origin=origin, max_queue=None)
        self.sockets.append(socket)
        self.readers.append(asyncio.ensure_future(self._read(socket, kind)))

    async def _read(self, socket, kind: str) -> None:
        async for message in socket:
            now = time.perf_counter()
            frame = json.loads(message)
            if kind == "product":
                if frame.get("type") != "step.progress":
                    continue
                key = ("product", frame["integration"], frame["data"]["done"])
            else:
                key = ("bare", frame["integration"], frame["data"]["done"])
            t0 = self.sent.pop(key, None)
            if t0 is not None:
                self.latency[kind].append((now - t0) * 1000)

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*(socket.close() for socket in self.sockets), return_exceptions=True)


def _progress_committed(step_id: int, done: int):
    """`transitions.step_progress` as a set-up activity calls it, inside an outer transaction so that
    the timestamp is taken just before the COMMIT (the transition's own atomic block becomes a savepoint)."""
    from django.db import transaction

    from integrations.state import transitions

    with transaction.atomic():
        events = transitions.step_progress(step_id, done=done, total=None, unit="rows", message="bench")
        committing_at = time.perf_counter()
    return events, committing_at


async def _measure(size, integrations, step_ids, base, cookie, events, counter):
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from integrations.models import IntegrationEvent
    from integrations.state.events import envelope, publish

    host = base.removeprefix("http://")
    headers = {"Cookie": f"sessionid={cookie}"}
    watchers = Watchers()
    chosen = list(zip(integrations[:size], step_ids[:size]))
    for start in range(0, size, 50):  # connect in batches: daphne and SQLite take handshakes in turn
        batch = chosen[start : start + 50]
        await asyncio.gather(
            *(watchers.open(f"ws://{host}/ws/integrations/{i}/", headers, base, "product") for i, _ in batch),
            *(watchers.open(f"ws://{host}/ws/bare/{i}/", {}, base, "bare") for i, _ in batch),
        )
    await asyncio.sleep(0.5)  # snapshots delivered, groups joined
    layer = get_channel_layer()
    progress = sync_to_async(_progress_committed, thread_sensitive=True)
    template = envelope(IntegrationEvent(integration_id=0, seq=1, type="step.progress", data={}))
    interval = 1.0 / RATE_PER_SECOND
    for k in range(events):
        integration_id, step_id = chosen[k % size]
        counter[0] += 1
        done = counter[0]
        key = ("product", str(integration_id), done)
        watchers.sent[key] = time.perf_counter()  # replaced by the stamp taken just before the COMMIT
        events, committing_at = await progress(step_id, done)
        watchers.sent[key] = committing_at
        await publish(events)
        await asyncio.sleep(interval / 2)
        frame = {
            **template,
            "integration": str(integration_id),
            "seq": done,
            "data": {"step": "create_connection", "done": done, "total": None, "unit": "rows", "message": "bench"},
        }
        watchers.sent[("bare", str(integration_id), done)] = time.perf_counter()
        await layer.group_send(f"bare.{integration_id}", {"type": "bare.event", "event": frame})
        await asyncio.sleep(interval / 2)
    deadline = time.monotonic() + 10
    while watchers.sent and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    lost = len(watchers.sent)
    await watchers.close()
    return watchers.latency, lost


async def _poll_request_ms(base, cookie, integration_id) -> float:
    import httpx

    async with httpx.AsyncClient(base_url=base, cookies={"sessionid": cookie}, timeout=10) as client:
        timings = []
        for _ in range(50):
            started = time.perf_counter()
            response = await client.get(f"/api/integrations/{integration_id}/events", params={"since": 10**6 - 1})
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 410), response.text
        return statistics.median(timings)


def _prepare(count: int):
    """`count` integrations, each with its first step begun by the bench as its activity would
    (no workflow runs here: the bench itself plays the activity that reports progress)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from connectors.catalogue import get_catalogue
    from integrations.models import SetupStep
    from integrations.setup.flow import integration_create
    from integrations.state import transitions
    from teams.models import Team

    user = get_user_model().objects.create_user(username="bench", password="bench-password")
    team = Team.objects.create(name="Bench")
    team.members.add(user)
    service = get_catalogue().get("hubspot")
    integrations = [integration_create(team=team, user=user, service=service).pk for _ in range(count)]
    first_steps = dict(
        SetupStep.objects.filter(integration_id__in=integrations, position=0).values_list("integration_id", "pk")
    )
    for step_id in first_steps.values():
        transitions.step_begin(step_id)
    client = Client()
    client.force_login(user)
    return integrations, [first_steps[i] for i in integrations], client.cookies["sessionid"].value


def _run() -> None:
    import django
    import redis
    from django.core.management import call_command

    from tests.support.process_fixtures import spawn_daphne, wait_http
    from tests.support.services import free_port

    sizes = [int(s) for s in os.environ.get("BENCH_LATENCY_WATCHERS", "1,100,1000").split(",") if s.strip()]
    events = int(os.environ.get("BENCH_LATENCY_EVENTS", "400"))
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    integrations, step_ids, cookie = _prepare(max(sizes))

    port = free_port()
    daphne = spawn_daphne("daphne", port, dict(os.environ), Path(os.environ["VAR_DIR"]), app="bench.flow_latency:application")
    try:
        wait_http(daphne)
        base = daphne.extra["url"]
        print(f"{len(integrations)} integrations, {events} events of each kind per size, "
              f"{RATE_PER_SECOND}/s each, watchers spread one per integration; SQLite, Redis core layer")
        counter = [0]
        rows = []
        for size in sizes:
            latency, lost = asyncio.run(_measure(size, integrations, step_ids, base, cookie, events, counter))
            rows.append((size, latency, lost))
        poll_ms = asyncio.run(_poll_request_ms(base, cookie, integrations[0]))
    finally:
        daphne.stop()
        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()

    print(f"{'watchers':>8} | {'product p50':>11} {'p99':>8} | {'bare p50':>8} {'p99':>8} | "
          f"{'p99 ratio':>9} (target ≤ {TARGET_RATIO}) | {'poll 1 s mean':>13} | lost")
    for size, latency, lost in rows:
        product, bare = latency["product"], latency["bare"]
        p50, p99 = _percentile(product, 0.5), _percentile(product, 0.99)
        b50, b99 = _percentile(bare, 0.5), _percentile(bare, 0.99)
        poll_mean = POLL_SECONDS * 1000 / 2 + poll_ms
        ratio = p99 / b99
        verdict = "OK" if ratio <= TARGET_RATIO else "MISSED"
        print(f"{size:>8} | {p50:>8.1f} ms {p99:>5.1f} ms | {b50:>5.1f} ms {b99:>5.1f} ms | "
              f"{ratio:>8.2f}× {verdict:>14} | {poll_mean:>10.0f} ms | {lost}")
    print(f"polling every {POLL_SECONDS:.0f} s (analytic, uniform arrival): mean {POLL_SECONDS * 500 + poll_ms:.0f} ms, "
          f"p50 {POLL_SECONDS * 500 + poll_ms:.0f} ms, p99 {POLL_SECONDS * 990 + poll_ms:.0f} ms "
          f"(one request measured: {poll_ms:.1f} ms median)")
    for size, latency, _ in rows:
        mean = statistics.mean(latency["product"])
        print(f"  {size} watchers: websocket mean {mean:.1f} ms = {(POLL_SECONDS * 500 + poll_ms) / mean:.0f}× "
              f"faster than polling every second")


def main() -> None:
    run_in_child("bench.flow_latency", REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))


if __name__ == "__main__":
    if sys.argv[1:] == ["--run"]:
        _run()
    else:
        main()
