"""GET /api/integrations/<id>/usage?months=&month=: the connection's MAR per month and a month's top
tables, as JSON (an estimate from Fivetran's log data, and said so in the answer). Thin: parse, call
the service, answer."""

import asyncio

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from integrations.connection import usage as service
from integrations.web.api import error, team_integration


@require_GET
async def integration_usage(request, pk: int):
    integration = await team_integration(request, pk)
    try:
        months = service.parse_months(request.GET.get("months"))
        # BigQuery's client blocks; the service touches no database, so a plain thread will do.
        usage = await asyncio.to_thread(
            service.connection_usage, integration, months=months, month=request.GET.get("month")
        )
    except service.UsageInputError as bad:
        return error(400, str(bad))
    return JsonResponse({"id": integration.pk, **service.connection_usage_json(usage)})
