import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.setup.webhook_registration import ensure_webhook, webhook_url


class Command(BaseCommand):
    help = "Register this deployment's webhook with the Fivetran group (FIVETRAN_GROUP_ID)."

    def handle(self, *args, **options):
        if not settings.FIVETRAN_WEBHOOK_SECRET:
            raise CommandError("Set FIVETRAN_WEBHOOK_SECRET first: unsigned webhooks are refused.")
        webhook_id = asyncio.run(ensure_webhook())
        self.stdout.write(f"Webhook {webhook_id} delivers to {webhook_url()}")
