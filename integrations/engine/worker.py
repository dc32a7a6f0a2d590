"""The set-up's Temporal worker: the workflow and its activities, in a process of its own
(`manage.py temporal_worker`, any number on any machine) or inside daphne (the embedded default,
whose in-memory channel layer only reaches sockets of its own process)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from django.conf import settings

from gyana.temporal.client import get_client
from gyana.temporal.worker import InProcessWorker, run_worker, start_in_process_worker
from integrations.engine import life_activities, notify_activities, setup_activities
from integrations.engine.life import ConnectionLife
from integrations.engine.reconcile import ReconcileConnections
from integrations.engine.schedules import ensure_schedule
from integrations.engine.workflow import IntegrationSetup

logger = logging.getLogger(__name__)

WORKFLOWS = (IntegrationSetup, ConnectionLife, ReconcileConnections)
ACTIVITIES = setup_activities.ACTIVITIES + life_activities.ACTIVITIES + notify_activities.ACTIVITIES

_in_process: InProcessWorker | None = None
_starting: asyncio.Task | None = None


async def ensure_schedules() -> None:
    await ensure_schedule(
        await get_client(), settings.TEMPORAL_TASK_QUEUE, timedelta(minutes=settings.RECONCILE_MINUTES)
    )


async def run() -> None:
    """Run until SIGTERM or SIGINT, then drain in-flight activities (TEMPORAL_WORKER_DRAIN_SECONDS)."""
    await ensure_schedules()
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
        await ensure_schedules()
        logger.info("set-up worker running inside the web process")

    _starting = asyncio.ensure_future(start())
