"""Removing integrations. The Fivetran connection goes first: left behind it keeps costing money
(the first implementation leaked abandoned and half-deleted connections). The BigQuery datasets
are kept: they are the customer's data, and dropping them is a separate, deliberate act."""

from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from connectors.fivetran import FivetranError, get_client
from integrations.models import Integration, SetupStep


async def integration_delete(integration: Integration) -> None:
    client = get_client()
    connection_id = integration.connection_id
    if not connection_id:
        # A worker may have created it just before dying, without saving the id: look it up.
        found = await client.find_connection(group_id=settings.FIVETRAN_GROUP_ID, schema_name=integration.schema_name)
        connection_id = found.id if found else ""
    if connection_id:
        try:
            await client.delete_connection(connection_id)
        except FivetranError as error:
            if error.status != 404:  # already gone is fine; anything else keeps our row
                raise
    await sync_to_async(Integration.objects.filter(pk=integration.pk).delete)()


def abandoned_integrations(*, older_than: timedelta) -> list[Integration]:
    """Set-ups whose user never finished the Connect Card."""
    cutoff = timezone.now() - older_than
    return list(
        Integration.objects.filter(
            created_at__lt=cutoff,
            steps__name="connect_card",
            steps__state__in=[SetupStep.State.WAITING_FOR_USER, SetupStep.State.PENDING],
        ).exclude(state=Integration.State.READY)
    )
