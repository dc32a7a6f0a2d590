"""`GET /api/integrations/<id>/logs?since=&level=&sync=&cursor=`: the connection's Fivetran log lines,
newest first, a page at a time (`next_cursor` asks for the next). Thin: parse, call the service, answer."""

import asyncio

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from integrations.connection.logs import LogsRequestError, connection_logs, logs_json, parse_logs_query
from integrations.web.api import error, team_integration


@require_GET
async def integration_logs(request, pk: int):
    integration = await team_integration(request, pk)  # another team's: 404 before any input is read
    try:
        query = parse_logs_query(request.GET)
        # The BigQuery client blocks: off the event loop.
        logs = await asyncio.to_thread(connection_logs, connection_id=integration.connection_id, query=query)
    except LogsRequestError as problem:
        return error(400, str(problem))
    return JsonResponse(logs_json(logs))
