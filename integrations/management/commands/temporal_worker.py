import asyncio

from django.core.management.base import BaseCommand

from integrations.engine import worker


class Command(BaseCommand):
    help = (
        "Run a set-up worker: polls TEMPORAL_TASK_QUEUE for the integrations' workflows and activities. "
        "Run as many as you like, on any machine; SIGTERM lets in-flight activities finish first."
    )

    def handle(self, *args, **options):
        asyncio.run(worker.run())
