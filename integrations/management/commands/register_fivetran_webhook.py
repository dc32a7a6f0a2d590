import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.setup.webhook_registration import WrongDestination, check_destination, ensure_webhook, webhook_url


class Command(BaseCommand):
    help = "Check that FIVETRAN_GROUP_ID lands in BIGQUERY_PROJECT, then register this deployment's webhook with it."

    def handle(self, *args, **options):
        if not settings.FIVETRAN_WEBHOOK_SECRET:
            raise CommandError("Set FIVETRAN_WEBHOOK_SECRET first: unsigned webhooks are refused.")
        try:
            self.stdout.write(asyncio.run(check_destination()))
        except WrongDestination as exc:
            raise CommandError(str(exc)) from exc
        webhook_id = asyncio.run(ensure_webhook())
        self.stdout.write(f"Webhook {webhook_id} delivers to {webhook_url()}")
