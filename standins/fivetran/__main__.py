"""python -m standins.fivetran: serve the emulator with uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import uvicorn

from .app import create_app
from .writer import DestinationWriter


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m standins.fivetran", description="Local Fivetran REST API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default="emulator-key")
    parser.add_argument("--api-secret", default="emulator-secret")
    parser.add_argument("--sync-seconds", type=float, default=20.0)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="run Fivetran's schedule (sync_frequency, daily_sync_time) this many times faster than real time")
    parser.add_argument("--data-dir", type=Path, default=Path("./var/fivetran-emulator"))
    parser.add_argument("--group-id", action="append", dest="group_ids", help="a group (destination) id; repeatable")
    parser.add_argument("--bigquery-endpoint", help="land synced tables in this BigQuery API endpoint")
    parser.add_argument("--bigquery-project", default="local-project")
    return parser.parse_args(argv)


def _bigquery_writer(endpoint: str, project: str) -> DestinationWriter:
    try:
        from standins.fivetran.destination import BigQueryWriter
    except ImportError as exc:
        sys.exit(f"--bigquery-endpoint needs standins.fivetran.destination.BigQueryWriter, which could not be imported: {exc}")
    return BigQueryWriter(endpoint, project)


class _Server(uvicorn.Server):
    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(f"Fivetran emulator listening on http://{self.config.host}:{self.config.port}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    writer = _bigquery_writer(args.bigquery_endpoint, args.bigquery_project) if args.bigquery_endpoint else None
    app = create_app(
        api_key=args.api_key,
        api_secret=args.api_secret,
        data_dir=args.data_dir,
        sync_seconds=args.sync_seconds,
        time_scale=args.time_scale,
        writer=writer,
        group_ids=tuple(args.group_ids or ("embedded_group",)),
        bigquery_project=args.bigquery_project,
    )
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="off")
    asyncio.run(_Server(config).serve())


if __name__ == "__main__":
    main()
