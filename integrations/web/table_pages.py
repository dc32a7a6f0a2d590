"""A preview of one table's first rows, fetched on demand by static/js/tables.js from the
connection page's table list (which comes from our `Table` rows, rendered without BigQuery)."""

import logging

from asgiref.sync import sync_to_async
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from google.api_core.exceptions import GoogleAPIError, NotFound

from integrations.models import Integration, Table
from teams.access import team_object_or_404
from warehouse.tables import PREVIEW_ROWS, preview_rows

logger = logging.getLogger(__name__)


@require_GET
async def table_preview(request, pk: int, table_pk: int):
    """An HTML fragment: the table's first rows, or why they cannot be shown."""
    user = await request.auser()
    integration = await sync_to_async(team_object_or_404)(Integration.objects, user, pk=pk)
    table = await sync_to_async(get_object_or_404)(Table, integration=integration, pk=table_pk)
    context = {"table": table, "preview": None, "problem": "", "limit": PREVIEW_ROWS}
    status = 200
    try:
        context["preview"] = await preview_rows(f"{table.project}.{table.dataset}.{table.name}")
    except NotFound:
        context["problem"] = "This table is no longer in BigQuery."
        status = 404
    except GoogleAPIError as error:
        logger.warning("preview of table %s failed: %s", table.pk, error)
        context["problem"] = "BigQuery did not answer. Try again in a moment."
        status = 502
    return render(request, "integrations/_table_preview.html", context, status=status)
