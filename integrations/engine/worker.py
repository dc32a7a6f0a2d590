"""The set-up's Temporal worker: the workflow and its activities, in a process of its own
(`manage.py temporal_worker`, any number on any machine) or inside daphne (the embedded default,
whose in-memory channel layer only reaches sockets of its own process)."""

from __future__ import annotations

import asyncio
import logging

from gyana.temporal.worker import InProcessWorker, run_worker, start_in_process_worker
from integrations.engine.activities import ACTIVITIES
from integrations.engine.workflow import IntegrationSetup

logger = logging.getLogger(__name__)

WORKFLOWS = (IntegrationSetup,)

_in_process: InProcessWorker | None = None
_starting: asyncio.Task | None = None


async def run() -> None:
    """Run until SIGTERM or SIGINT, then drain in-flight activities (TEMPORAL_WORKER_DRAIN_SECONDS)."""
    await run_worker(WORKFLOWS, ACTIVITIES)


async def start_in_process(**options) -> InProcessWorker:
    return await start_in_process_worker(WORKFLOWS, ACTIVITIES, **options)


def ensure_in_process() -> None:
    """Start the worker inside this (web) process once; called with the first request."""
    global _starting
    if _starting is not None and not (_starting.done() and _starting.exception() is not None):
        return

    async def start() -> None:
        global _in_process
        _in_process = await start_in_process()
        logger.info("set-up worker running inside the web process")

    _starting = asyncio.ensure_future(start())
