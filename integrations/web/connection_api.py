"""The JSON API of a Ready connection: Sync now, pause, resume, settings, reconnect, table re-sync (and
the schema after set-up, through integrations.web.api.integration_schema).
Each is an Update to the connection's workflow (integrations.engine.dispatch.act): validated there,
carried out durably, retried on Fivetran's transient errors. Thin: parse, dispatch, answer.

Answers: 200 with what Fivetran now says; 202 when it is accepted and still going (the outcome
arrives on the socket); 400 bad input; 409 not possible now (not set up, deleted, broken), in
Fivetran's words; 503 Fivetran kept failing.
"""

import json

from django.http import JsonResponse
from django.views.decorators.http import require_POST

from connectors.fivetran import SYNC_FREQUENCIES
from integrations.engine import dispatch
from integrations.engine import messages as m
from integrations.models import Table
from integrations.web.api import error, team_integration


async def _act(request, pk: int, kind: str, **arguments) -> JsonResponse:
    return await act_on(request, await team_integration(request, pk), kind, **arguments)


async def act_on(request, integration, kind: str, **arguments) -> JsonResponse:
    user = await request.auser()
    try:
        result = await dispatch.act(integration.pk, m.Action(integration.pk, kind, arguments, user.pk))
    except dispatch.Refused as refused:
        return error(refused.status, refused.message)
    if result is None:
        return JsonResponse({"accepted": True, "message": "Fivetran is still answering; the outcome will follow."}, status=202)
    return JsonResponse({"message": result.message, **result.data})


@require_POST
async def connection_sync(request, pk: int):
    return await _act(request, pk, "sync")


@require_POST
async def connection_pause(request, pk: int):
    return await _act(request, pk, "pause")


@require_POST
async def connection_resume(request, pk: int):
    return await _act(request, pk, "resume")


@require_POST
async def connection_reconnect(request, pk: int):
    return await _act(request, pk, "reconnect")


@require_POST
async def table_resync(request, pk: int, table_pk: int):
    integration = await team_integration(request, pk)
    if not await Table.objects.filter(integration=integration, pk=table_pk).aexists():
        return error(404, "Not found.")
    return await act_on(request, integration, "resync_table", table_id=table_pk)


def settings_change(body) -> tuple[dict, str | None]:
    """The settings a PATCH asks for, or why they are wrong."""
    if not isinstance(body, dict):
        return {}, "The body must be a JSON object."
    unknown = sorted(set(body) - {"name", "sync_frequency"})
    if unknown:
        return {}, f"Only name and sync_frequency can be changed, not {', '.join(unknown)}."
    if not body:
        return {}, "Give a name or a sync_frequency."
    change = {}
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            return {}, "The name must be 1 to 200 characters."
        change["name"] = name.strip()
    if "sync_frequency" in body:
        minutes = body["sync_frequency"]
        if isinstance(minutes, bool) or minutes not in SYNC_FREQUENCIES:
            allowed = ", ".join(str(value) for value in SYNC_FREQUENCIES)
            return {}, f"sync_frequency must be one of Fivetran's: {allowed} (minutes)."
        change["sync_frequency"] = minutes
    return change, None


async def connection_settings(request, pk: int) -> JsonResponse:
    """PATCH /api/integrations/<id>/ (routed from integration_detail)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return error(400, "The body must be JSON.")
    change, problem = settings_change(body)
    if problem:
        await team_integration(request, pk)  # another team's integration is a 404 before anything else
        return error(400, problem)
    return await _act(request, pk, "settings", **change)
