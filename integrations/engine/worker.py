"""Channels plumbing for the set-up worker: `manage.py runworker integration-setup`, or in-process.

A message on the worker channel is only a doorbell: it wakes this process's Runner, which reads the
step rows. The Runner starts with the worker, so its sweeper runs even if no doorbell ever comes.
"""

import asyncio
import logging

from channels.consumer import AsyncConsumer
from channels.layers import get_channel_layer
from channels.worker import Worker
from django.conf import settings

from integrations.engine.runner import process_runner

logger = logging.getLogger(__name__)


class SetupWorkerConsumer(AsyncConsumer):
    async def setup_wake(self, message):
        runner = process_runner()
        runner.ensure_started()
        runner.wake()


class SetupWorker(Worker):
    async def handle(self):
        if settings.SETUP_WORKER_CHANNEL in self.channels:
            process_runner().ensure_started()
        await super().handle()


_in_process: asyncio.Future | None = None


def ensure_in_process_worker(application) -> None:
    """Run the worker inside the web process (embedded default: one process, in-memory layer)."""
    global _in_process
    if _in_process is not None and not _in_process.done():
        return
    worker = SetupWorker(
        application=application, channels=[settings.SETUP_WORKER_CHANNEL], channel_layer=get_channel_layer()
    )
    _in_process = asyncio.ensure_future(worker.arun())
    logger.info("set-up worker running inside the web process")
