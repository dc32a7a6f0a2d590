from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from connectors.catalogue import Catalogue, category_label, get_catalogue, icon_url_path
from integrations.engine import dispatch
from integrations.setup.starting import StartRefused, default_name, integration_start, offered_service
from integrations.vocabulary import SETUP_PHASES
from teams.access import user_team

MAX_QUERY_LENGTH = 100


@login_required
@require_GET
def catalogue(request):
    """Every offered connector by category. `?q=` and `?category=` filter here too, so the page
    works without JS.

    All visible connectors are rendered and non-matches are only hidden, so the script can widen
    a server-side search as the user edits the query.
    """
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    services = get_catalogue().visible(show_internal=settings.SHOW_INTERNAL_SERVICES)
    categories = [(category, category_label(category)) for category, _members in Catalogue.by_category(services)]
    chosen = request.GET.get("category", "")
    if chosen not in dict(categories):
        chosen = ""
    groups = []
    for category, members in Catalogue.by_category(services):
        entries = [
            {
                "service": service,
                "icon": icon_url_path(service),
                "matches": service.matches(query) and chosen in ("", category),
            }
            for service in members
        ]
        groups.append(
            {
                "category": category,
                "label": category_label(category),
                "entries": entries,
                "matches": any(entry["matches"] for entry in entries),
            }
        )
    return render(
        request,
        "connectors/catalogue.html",
        {
            "query": query,
            "categories": categories,
            "chosen_category": chosen,
            "groups": groups,
            "match_count": sum(entry["matches"] for group in groups for entry in group["entries"]),
        },
    )


@require_http_methods(["GET", "POST"])
async def connector(request, service_id: str):
    """What connecting this source means, a link to Fivetran's setup guide and a name; the
    integration (and so the Fivetran connection) is created only when the user confirms."""
    user = await request.auser()
    if not user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    try:
        service = offered_service(service_id, show_internal=settings.SHOW_INTERNAL_SERVICES)
    except StartRefused:
        raise Http404("No such connector")
    problem = ""
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            integration = await sync_to_async(integration_start)(
                user=user, service_id=service.id, name=name, show_internal=settings.SHOW_INTERNAL_SERVICES
            )
        except StartRefused as refused:
            problem = str(refused)
        else:
            await dispatch.start_setup(integration.pk)
            return redirect("integrations:flow", pk=integration.pk)
    else:
        team = await sync_to_async(user_team)(user)
        name = await sync_to_async(default_name)(team, service)
    context = {
        "service": service,
        "icon": icon_url_path(service),
        "category": category_label(service.category),
        "phases": [{"label": label, "description": about} for _name, label, about, _steps in SETUP_PHASES],
        "name": name,
        "problem": problem,
    }
    return await sync_to_async(render)(
        request, "connectors/connector.html", context, status=400 if problem else 200
    )
