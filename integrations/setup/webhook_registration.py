"""One-time wiring between this deployment and its Fivetran group."""

from django.conf import settings
from django.urls import reverse

from connectors.fivetran import get_client

WEBHOOK_EVENTS = ("sync_start", "sync_end", "connection_successful", "connection_failure")


def webhook_url() -> str:
    return f"{settings.PUBLIC_URL}{reverse('fivetran-webhook')}"


async def ensure_webhook() -> str:
    """Register our group webhook unless one with our URL exists; returns its id."""
    client = get_client()
    url = webhook_url()
    for webhook in await client.list_webhooks():
        if webhook.url == url and webhook.group_id == settings.FIVETRAN_GROUP_ID:
            return webhook.id
    webhook = await client.create_group_webhook(
        settings.FIVETRAN_GROUP_ID, url=url, events=WEBHOOK_EVENTS, secret=settings.FIVETRAN_WEBHOOK_SECRET
    )
    return webhook.id
