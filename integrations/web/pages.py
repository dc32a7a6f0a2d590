"""Pages of the set-up. Thin: load through the team access check, call a service, render."""

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from connectors.catalogue import GENERIC_ICON, get_catalogue, icon_url_path
from connectors.fivetran import FivetranError
from integrations.engine import dispatch
from integrations.models import Integration
from integrations.setup.removal import integration_delete
from integrations.setup.selection import deleted_count, picker_counts, picker_schemas
from integrations.state import connect_card_return as card_return
from integrations.state import snapshot as selectors
from integrations.web.api import team_integration


@login_required
def integration_list(request):
    integrations = Integration.objects.filter(team__members=request.user).order_by("-created_at")
    catalogue = get_catalogue()
    rows = []
    for integration in integrations:
        service = catalogue.get(integration.service)
        rows.append(
            {
                "integration": integration,
                # A service since removed from the catalogue still shows, by its id.
                "service_name": service.name if service else integration.service,
                "icon": icon_url_path(service) if service else GENERIC_ICON,
            }
        )
    return render(request, "integrations/list.html", {"rows": rows})


def _checking_key(pk: int) -> str:
    return f"checking-connection:{pk}"


@require_GET
async def integration_flow(request, pk: int):
    if not (await request.auser()).is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    integration = await team_integration(request, pk)
    seq, snapshot = await sync_to_async(selectors.snapshot)(integration.pk)
    # Once only, right after the Connect Card sent the user back, and only while the answer is out.
    returned = await request.session.apop(_checking_key(integration.pk), False)
    card = next((step for step in snapshot["steps"] if step["name"] == "connect_card"), None)
    checking = returned and card is not None and card["state"] not in ("done", "skipped", "failed")
    service = get_catalogue().get(integration.service)
    context = {
        "integration": integration,
        "seq": seq,
        "snapshot": snapshot,
        "checking": checking,
        "service": service,
        "service_icon": static(icon_url_path(service)) if service else "",
    }
    return await sync_to_async(render)(request, "integrations/flow.html", context)


@require_GET
async def integration_setup(request, pk: int):
    if not (await request.auser()).is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    integration = await team_integration(request, pk)
    if integration.source_schema is None:
        return redirect("integrations:flow", pk=integration.pk)
    service = get_catalogue().get(integration.service)
    # An application connector's one schema is named after our generated dataset: no title for it.
    schemas = picker_schemas(
        integration.source_schema, schema_titles=service is None or service.requires_schema_prefix
    )
    context = {
        "integration": integration,
        "schemas": schemas,
        "counts": picker_counts(schemas),
        "deleted": deleted_count(integration.source_schema),
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
    if integration.state == Integration.State.READY:
        return redirect("integrations:connection", pk=integration.pk)  # back from a reconnect
    # The flow page says "checking" until Fivetran's answer arrives, not as a flash message that
    # would outlive the check.
    await request.session.aset(_checking_key(integration.pk), True)
    return redirect("integrations:flow", pk=integration.pk)
