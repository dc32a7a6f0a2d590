import asyncio
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand

from connectors.fivetran import FivetranError
from integrations.setup.removal import abandoned_integrations, integration_delete


class Command(BaseCommand):
    help = "Delete set-ups abandoned on the Connect Card, and their Fivetran connections (run it daily)."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=24.0, help="abandoned for at least this long")

    def handle(self, *args, hours, **options):
        asyncio.run(self._prune(timedelta(hours=hours)))

    async def _prune(self, older_than: timedelta) -> None:
        for integration in await sync_to_async(abandoned_integrations)(older_than=older_than):
            try:
                await integration_delete(integration)
                self.stdout.write(f"deleted {integration.pk} ({integration.schema_name})")
            except FivetranError as error:
                self.stderr.write(f"kept {integration.pk}: Fivetran refused the delete: {error}")
