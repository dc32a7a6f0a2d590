"""Bench: one reconciliation pass over BENCH_CONNECTIONS connections (default 3,000), beside the naive
pass that asks Fivetran about each connection in turn, in the same run, and the figure for 10,000.

    python -m bench.reconcile

Its own Fivetran emulator holding that many connections of one group (created through its API),
SQLite in a temporary VAR_DIR with one Ready integration mirroring each, 1% of them out of date (a
missed sync_end webhook). Measured, for each pass: the Fivetran calls it makes (the emulator's
request log) and its time, up to knowing which integrations moved (telling their workflows is one
signal each, the same for both).
  product: `list_connections` of the group (pages of 1,000) + `moved_integrations` (one query);
  naive:   `get_connection` for every integration (20 at a time) and the same comparison.
Target: at most 1 Fivetran call per 100 connections. The emulator's creates slow down with every
connection it holds (3,000 take about two minutes here, 10,000 would take half an hour), so 10,000 is
projected: the product's pass makes one call per page of 1,000, which the measured run confirms.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from bench._child import run_in_child

TARGET_CALLS_PER_100 = 1.0
PROJECTED = 10_000
PAGE = 1000
STALE_SHARE = 0.01


async def _create(emulator, count: int) -> list[str]:
    import httpx

    ids: list[str] = []
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(auth=(emulator.api_key, emulator.api_secret), timeout=60) as http:

        async def one(i: int) -> None:
            async with limit:
                response = await http.post(
                    f"{emulator.api_url}/connections",
                    json={"group_id": "embedded_group", "service": "hubspot", "paused": True,
                          "config": {"schema": f"bench_{i:05d}"}},
                )
                response.raise_for_status()
                ids.append(response.json()["data"]["id"])

        await asyncio.gather(*(one(i) for i in range(count)))
    return ids


def _integrations(listing) -> list[int]:
    """One Ready integration per connection, mirroring it; every hundredth one is out of date."""
    from datetime import timedelta

    from integrations.connection.mirrored import MirroredConnection
    from integrations.models import Integration
    from teams.models import Team

    team = Team.objects.create(name="Bench")
    rows = []
    stale = set(range(0, len(listing), int(1 / STALE_SHARE)))
    for i, connection in enumerate(listing):
        columns = MirroredConnection.from_connection(connection).columns()
        if i in stale:
            columns["sync_state"] = "syncing"  # the sync_end webhook that would have said otherwise was missed
            columns["failed_at"] = (connection.failed_at or connection.created_at) - timedelta(days=1)
        rows.append(Integration(team=team, service="hubspot", name=f"bench {i}", connection_id=connection.id,
                                schema_name=connection.schema.split(".")[0], state="ready", **columns))
    Integration.objects.bulk_create(rows, batch_size=2000)
    return sorted(Integration.objects.filter(connection_id__in=[listing[i].id for i in stale]).values_list("pk", flat=True))


def _run() -> None:
    from bench._stack import running_stack

    count = int(os.environ.get("BENCH_CONNECTIONS", "3000"))
    with running_stack(Path(os.environ["VAR_DIR"])) as stack:
        from asgiref.sync import sync_to_async

        from connectors.fivetran import get_client
        from integrations.connection.reconcile import moved_integrations
        from integrations.models import Integration

        emulator = stack.emulator

        async def main() -> None:
            started = time.perf_counter()
            await _create(emulator, count)
            client = get_client()
            listing = await client.list_connections("embedded_group", page_size=1000)
            expected = await sync_to_async(_integrations)(listing)
            print(f"{count:,} connections created in the emulator and mirrored by Ready integrations "
                  f"({len(expected)} out of date) in {time.perf_counter() - started:.0f} s")

            emulator.clear_requests()
            t0 = time.perf_counter()
            fresh = await client.list_connections("embedded_group", page_size=1000)
            moved = await sync_to_async(moved_integrations)(fresh)
            product_seconds = time.perf_counter() - t0
            product_calls = len(emulator.requests())
            assert moved == expected, (len(moved), len(expected))

            emulator.clear_requests()
            limit = asyncio.Semaphore(20)
            ids = await sync_to_async(lambda: list(Integration.objects.values_list("connection_id", flat=True)))()

            async def one(connection_id: str):
                async with limit:
                    return await client.get_connection(connection_id)

            t0 = time.perf_counter()
            each = await asyncio.gather(*(one(connection_id) for connection_id in ids))
            naive_moved = await sync_to_async(moved_integrations)(each)  # the same comparison
            naive_seconds = time.perf_counter() - t0
            naive_calls = len(emulator.requests())
            assert naive_moved == expected

            per_100 = product_calls / count * 100
            print(f"product pass: {product_calls} Fivetran calls ({per_100:.2f} per 100 connections) in "
                  f"{product_seconds:.2f} s; found the {len(moved)} that moved")
            print(f"naive pass:   {naive_calls:,} Fivetran calls ({naive_calls / count * 100:.0f} per 100) in "
                  f"{naive_seconds:.2f} s")
            print(f"ratio naive/product: calls ×{naive_calls / max(1, product_calls):.0f}, "
                  f"time ×{naive_seconds / product_seconds:.1f}")
            assert product_calls == -(-count // PAGE), "one call per page of 1,000"
            projected = -(-PROJECTED // PAGE) / PROJECTED * 100
            print(f"calls per 100 connections: {per_100:.2f} measured; {projected:.2f} PROJECTED for {PROJECTED:,} "
                  f"({-(-PROJECTED // PAGE)} pages); target ≤ {TARGET_CALLS_PER_100:g}: "
                  f"{'OK' if max(per_100, projected) <= TARGET_CALLS_PER_100 else 'MISSED'}")

        asyncio.run(main())


def main() -> None:
    run_in_child("bench.reconcile", DEBUG="0", SECRET_KEY="bench-only-secret-key-not-for-production-0123456789")


if __name__ == "__main__":
    if sys.argv[1:] == ["--run"]:
        _run()
    else:
        main()
