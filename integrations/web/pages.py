"""Pages of the set-up. Thin: load through the team access check, call a service, render."""

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from connectors.fivetran import FivetranError
from integrations.engine import dispatch
from integrations.models import Integration
from integrations.setup.flow import STEPS
from integrations.setup.removal import integration_delete
from integrations.setup.selection import locked_count, selectable_schemas
from integrations.state import connect_card_return as card_return
from integrations.state import snapshot as selectors
from integrations.web.api import start_integration, team_integration


@login_required
def integration_list(request):
    integrations = Integration.objects.filter(team__members=request.user).order_by("-created_at")
    return render(request, "integrations/list.html", {"integrations": integrations})


@require_POST
async def integration_create_form(request):
    if not (await request.auser()).is_authenticated:
        return redirect(f"{reverse('login')}?next={reverse('connectors:catalogue')}")
    integration, message = await start_integration(request, request.POST.get("service"))
    if integration is None:
        return HttpResponseBadRequest(message)
    return redirect("integrations:flow", pk=integration.pk)


@require_GET
async def integration_flow(request, pk: int):
    if not (await request.auser()).is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    integration = await team_integration(request, pk)
    seq, snapshot = await sync_to_async(selectors.snapshot)(integration.pk)
    context = {"integration": integration, "seq": seq, "snapshot": snapshot, "step_specs": STEPS}
    return await sync_to_async(render)(request, "integrations/flow.html", context)


@require_GET
async def integration_setup(request, pk: int):
    if not (await request.auser()).is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    integration = await team_integration(request, pk)
    if integration.source_schema is None:
        return redirect("integrations:flow", pk=integration.pk)
    context = {
        "integration": integration,
        "schemas": selectable_schemas(integration.source_schema),
        "locked_tables": locked_count(integration.source_schema),
    }
    return await sync_to_async(render)(request, "integrations/setup.html", context)


@require_POST
async def integration_delete_form(request, pk: int):
    if not (await request.auser()).is_authenticated:
        return redirect(f"{reverse('login')}?next={reverse('integrations:list')}")
    integration = await team_integration(request, pk)
    try:
        await dispatch.stop_setup(integration.pk)
        await integration_delete(integration)
    except FivetranError as exc:
        await sync_to_async(messages.error)(request, f"{integration.name} was not deleted: {exc.message}")
    else:
        await sync_to_async(messages.success)(request, f"{integration.name} was deleted (its BigQuery data is kept).")
    return redirect("integrations:list")


@require_GET
async def connect_card_return(request, pk: int):
    """Where Fivetran's Connect Card sends the user back. The signed one-time token in our URL
    proves the return; Fivetran's own query parameters (id=...) are only logged."""
    if not (await request.auser()).is_authenticated:
        return redirect(f"{reverse('login')}?next={request.get_full_path()}")
    integration = await team_integration(request, pk)
    try:
        await sync_to_async(card_return.connect_card_returned)(integration.pk, request.GET.get("token", ""))
    except card_return.InvalidReturn as exc:
        return HttpResponseBadRequest(str(exc))
    await dispatch.card_returned(integration.pk)
    await sync_to_async(messages.info)(request, "Checking the connection with Fivetran…")
    return redirect("integrations:flow", pk=integration.pk)
