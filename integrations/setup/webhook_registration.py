"""One-time wiring between this deployment and its Fivetran group."""

from django.conf import settings
from django.urls import reverse

from connectors.fivetran import get_client

# The set-up needs the sync and connection events; a connection's life also hears what people do to
# it in Fivetran's own dashboard (pause, resume, edit, re-sync, delete), each a nudge to look.
WEBHOOK_EVENTS = (
    "sync_start", "sync_end", "connection_successful", "connection_failure",
    "pause_connector", "resume_connector", "edit_connector", "force_update_connector",
    "resync_connector", "resync_table", "delete_connector",
)
BIGQUERY_DESTINATIONS = ("big_query", "managed_big_query")


class WrongDestination(Exception):
    """FIVETRAN_GROUP_ID does not land in the BigQuery project this deployment reads."""


async def check_destination() -> str:
    """The group's destination must be BigQuery, in BIGQUERY_PROJECT: otherwise every set-up would
    sync somewhere the product never looks. Returns a line describing it."""
    destination = await get_client().get_destination(settings.FIVETRAN_GROUP_ID)
    if destination.service not in BIGQUERY_DESTINATIONS:
        raise WrongDestination(
            f"Fivetran group {settings.FIVETRAN_GROUP_ID} lands in a {destination.service} destination, not BigQuery."
        )
    if destination.project_id and destination.project_id != settings.BIGQUERY_PROJECT:
        raise WrongDestination(
            f"Fivetran group {settings.FIVETRAN_GROUP_ID} lands in BigQuery project {destination.project_id}, "
            f"but BIGQUERY_PROJECT is {settings.BIGQUERY_PROJECT}."
        )
    return f"Destination {destination.id}: BigQuery project {destination.project_id} ({destination.location})"


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
