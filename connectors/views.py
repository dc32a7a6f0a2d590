from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from connectors.catalogue import Catalogue, category_label, get_catalogue, icon_url_path

MAX_QUERY_LENGTH = 100


@login_required
@require_GET
def catalogue(request):
    """Every offered connector by category. `?q=` filters here too, so the page works without JS.

    All visible connectors are rendered and non-matches are only hidden, so the script can widen
    a server-side search as the user edits the query.
    """
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    services = get_catalogue().visible(show_internal=settings.SHOW_INTERNAL_SERVICES)
    groups = []
    for category, members in Catalogue.by_category(services):
        entries = [
            {"service": service, "icon": icon_url_path(service), "matches": service.matches(query)}
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
            "groups": groups,
            "match_count": sum(entry["matches"] for group in groups for entry in group["entries"]),
        },
    )
