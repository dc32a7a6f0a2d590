"""The JSON API (session authentication and CSRF, as for the pages). Thin: parse, call a service, answer."""

import json

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connectors.fivetran import FivetranError
from integrations.engine import dispatch
from integrations.models import Integration
from integrations.setup.removal import integration_delete
from integrations.setup.selection import (
    SelectionError,
    locked_count,
    required_tables,
    selectable_schemas,
    validate_selection,
)
from integrations.setup.starting import StartRefused, integration_start
from integrations.state import snapshot as selectors
from integrations.vocabulary import websocket_path
from teams.access import team_object_or_404


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


# The one door to an integration for pages and the API: another team's answers 404.
async def team_integration(request, pk: int) -> Integration:
    user = await request.auser()
    return await sync_to_async(team_object_or_404)(Integration.objects, user, pk=pk)


def _links(request, integration: Integration) -> dict:
    scheme = "wss" if request.is_secure() else "ws"
    return {
        "id": integration.pk,
        "flow_url": reverse("integrations:flow", args=[integration.pk]),
        "ws_url": f"{scheme}://{request.get_host()}{websocket_path(integration.pk)}",
    }


async def start_integration(request, service_id, name=None):
    """Create the integration for the user's team and queue its first step (shared with the forms).
    (integration, None), or (None, why not)."""
    user = await request.auser()
    try:
        integration = await sync_to_async(integration_start)(
            user=user, service_id=service_id, name=name, show_internal=settings.SHOW_INTERNAL_SERVICES
        )
    except StartRefused as refused:
        return None, str(refused)
    await dispatch.start_setup(integration.pk)
    return integration, None


@require_POST
async def integration_list_create(request):
    if not (await request.auser()).is_authenticated:
        return error(401, "Log in first.")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return error(400, "The body must be JSON.")
    if not isinstance(body, dict):
        return error(400, "The body must be a JSON object.")
    # `name` is optional: without it the integration gets a unique default ("HubSpot 2").
    integration, message = await start_integration(request, body.get("service"), body.get("name"))
    if integration is None:
        return error(400, message)
    return JsonResponse(_links(request, integration), status=201)


@require_http_methods(["GET", "PATCH", "DELETE"])
async def integration_detail(request, pk: int):
    if request.method == "PATCH":
        from integrations.web.connection_api import connection_settings

        return await connection_settings(request, pk)
    integration = await team_integration(request, pk)
    if request.method == "DELETE":
        try:
            await dispatch.stop_setup(integration.pk)
            await integration_delete(integration)
        except FivetranError as exc:
            return error(502, f"Fivetran refused to delete the connection: {exc.message}")
        return HttpResponse(status=204)
    seq, data = await sync_to_async(selectors.snapshot)(integration.pk)
    return JsonResponse({"id": integration.pk, "seq": seq, **data, **_links(request, integration)})


@require_GET
async def integration_events(request, pk: int):
    integration = await team_integration(request, pk)
    try:
        since = int(request.GET.get("since", "0"))
    except ValueError:
        return error(400, "since must be an integer.")
    events = await sync_to_async(selectors.events_since)(integration.pk, since)
    if events is None:
        return error(410, f"Events after {since} cannot be replayed; load the snapshot instead.")
    return JsonResponse(events, safe=False)


@require_http_methods(["GET", "POST"])
async def integration_schema(request, pk: int):
    integration = await team_integration(request, pk)
    if integration.source_schema is None:
        return error(409, "The schema has not been loaded yet.")
    if request.method == "GET":
        return JsonResponse(
            {
                "schemas": selectable_schemas(integration.source_schema),
                "locked_tables": locked_count(integration.source_schema),
                "required_tables": required_tables(integration.source_schema),
            }
        )
    try:
        body = json.loads(request.body or b"{}")
        selected = validate_selection(integration.source_schema, body.get("selected") if isinstance(body, dict) else None)
    except ValueError as exc:  # SelectionError and bad JSON alike
        return error(400, str(exc) if isinstance(exc, SelectionError) else "The body must be JSON.")
    if integration.state == Integration.State.READY:
        # After the set-up: a change of the tables synced, carried out by the connection's workflow.
        from integrations.web.connection_api import act_on

        return await act_on(request, integration, "schema", selected=selected)
    try:
        await dispatch.select_tables(integration.pk, selected)
    except dispatch.Refused as refused:
        return error(409 if refused.conflict else 400, refused.message)
    return JsonResponse({"selected": selected}, status=202)


@require_POST
async def integration_retry(request, pk: int):
    integration = await team_integration(request, pk)
    try:
        await dispatch.retry(integration.pk)
    except dispatch.Refused as refused:
        return error(409 if refused.conflict else 400, refused.message)
    return JsonResponse({"retrying": True}, status=202)


def json_404(view):
    """API endpoints answer 404 as JSON (another team's integration looks exactly like a missing one)."""

    async def wrapped(request, *args, **kwargs):
        try:
            return await view(request, *args, **kwargs)
        except Http404:
            return error(404, "Not found.")

    return wrapped
