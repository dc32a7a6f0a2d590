"""How many get_connection calls per second FivetranClient sustains against the emulator.

100 coroutines share one client, as the app's workers share get_client(). The same load is run
with a bare httpx.AsyncClient GET of the same URL in the same run, so the ratio is the client's
own overhead (parsing, retry bookkeeping), not the emulator's speed. Rounds alternate between the
two so that drift of the machine affects both alike.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from connectors.catalogue import get_catalogue
from connectors.fivetran import ACCEPT_V2, FivetranClient
from tests.support.fivetran_fixtures import GROUP_ID, Emulator, running_emulator

CONCURRENCY = 100
ROUND_SECONDS = 2.0
ROUNDS = 3
WARMUP_SECONDS = 0.5


async def _load(call, seconds: float) -> int:
    """Run `call` from CONCURRENCY coroutines for `seconds`; the number of calls completed."""
    done = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop_at:
            await call()
            done += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done


async def _measure(emulator: Emulator) -> tuple[float, float]:
    client = FivetranClient(emulator.api_url, emulator.api_key, emulator.api_secret, timeout=30.0)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # as FivetranClient's
    bare = httpx.AsyncClient(
        base_url=emulator.api_url, auth=(emulator.api_key, emulator.api_secret), timeout=30.0, limits=limits
    )
    try:
        connection, _ = await client.create_connection(
            group_id=GROUP_ID,
            service=get_catalogue().get("hubspot"),
            schema_name="bench_hubspot",
            redirect_uri="http://127.0.0.1/bench",
        )
        path = f"/connections/{connection.id}"

        async def bare_get() -> None:
            response = await bare.get(path, headers={"Accept": ACCEPT_V2})
            response.raise_for_status()
            response.json()

        async def client_get() -> None:
            await client.get_connection(connection.id)

        await _load(bare_get, WARMUP_SECONDS)
        await _load(client_get, WARMUP_SECONDS)
        totals = {"bare": [0, 0.0], "client": [0, 0.0]}
        for _ in range(ROUNDS):
            for name, call in (("bare", bare_get), ("client", client_get)):
                started = time.perf_counter()
                calls = await _load(call, ROUND_SECONDS)
                totals[name][0] += calls
                totals[name][1] += time.perf_counter() - started
        return totals["client"][0] / totals["client"][1], totals["bare"][0] / totals["bare"][1]
    finally:
        await client.aclose()
        await bare.aclose()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-fivetran-") as data_dir:
        with running_emulator(Path(data_dir), sync_seconds=600) as emulator:
            client_rate, bare_rate = asyncio.run(_measure(emulator))
    # Wall time per call at full load; the difference is what the client adds per call.
    overhead_us = (1 / client_rate - 1 / bare_rate) * 1e6
    print(f"FivetranClient.get_connection: {client_rate:8.0f} calls/s ({CONCURRENCY} coroutines)")
    print(f"bare httpx GET, same URL:      {bare_rate:8.0f} calls/s")
    print(f"ratio client/bare: {client_rate / bare_rate:.2f} ({overhead_us:+.0f} us per call at full load)")


if __name__ == "__main__":
    main()
