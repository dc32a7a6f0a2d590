"""The page of a Ready connection: a status header (health in Fivetran's words, last and next sync,
frequency, Sync now, Pause/Resume) and its tabs: Overview (tables, recent syncs), History (everything
that happened to it), Logs (Fivetran's log lines), Usage (MAR), Schema (the tables synced), Settings
(name, frequency, reconnect, delete). Its
forms work without JavaScript: each posts here, is carried out by the connection's workflow
(dispatch.act), and comes back with a message. With JavaScript the page follows the socket
(static/js/connection-page.js). Thin: load, dispatch, render.
"""

import asyncio
import functools

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from connectors.fivetran import SYNC_FREQUENCIES
from integrations.connection.logs import LogsRequestError, connection_logs, parse_logs_query, recent_syncs
from integrations.connection.mirrored import MirroredConnection
from integrations.connection.schedule import next_sync_at
from integrations.engine import dispatch
from integrations.engine import messages as m
from integrations.models import Integration, Table
from integrations.setup.selection import picker_counts, picker_schemas
from integrations.state import snapshot as selectors
from integrations.state.history import history_page
from integrations.vocabulary import LOG_LEVEL_LABELS
from integrations.web.api import team_integration
from integrations.web.connection_api import settings_change
from integrations.web.history import history_query, kind_choices
from integrations.web.usage_pages import usage_tab
from teams.access import team_object_or_404
from warehouse.tables import PREVIEW_ROWS

RECENT_SYNCS = 10


def _overview(request, integration: Integration) -> dict:
    return {
        "tables": integration.tables.order_by("dataset", "name"),
        "gone_tables": Table.all_objects.filter(integration=integration, gone_at__isnull=False).count(),
        "syncs": integration.syncs.order_by("-created_at")[:RECENT_SYNCS],
        "preview_rows": PREVIEW_ROWS,
    }


def _schema(request, integration: Integration) -> dict:
    schemas = _schemas_as_chosen(integration)
    return {"schemas": schemas, "counts": picker_counts(schemas) if schemas else None}


def _settings(request, integration: Integration) -> dict:
    return {"frequencies": SYNC_FREQUENCIES}


def _history(request, integration: Integration) -> dict:
    try:
        query = history_query(request.GET)
    except ValueError as problem:
        raise Http404(str(problem)) from None
    page = history_page(integration.pk, kinds=query.kinds, before=query.before)
    return {
        "history": page,
        "history_query": query,
        "history_kinds": kind_choices(),
        "history_kind": next(iter(query.kinds)) if len(query.kinds) == 1 else "",
        "history_older": f"?tab=history&{query.params(before=page.older_before)}" if page.older_before else None,
        "history_newest": f"?tab=history&{query.params(before=None)}".rstrip("&") if query.before else None,
    }


def _logs(request, integration: Integration) -> dict:
    try:
        query = parse_logs_query(request.GET)
        logs = connection_logs(connection_id=integration.connection_id, query=query)
    except LogsRequestError as problem:
        return {"logs_problem": str(problem), "logs": None, "log_query": None, "log_syncs": [],
                "log_levels": LOG_LEVEL_LABELS}
    syncs = recent_syncs(connection_id=integration.connection_id)
    return {"logs": logs, "log_query": query, "log_syncs": syncs, "log_levels": LOG_LEVEL_LABELS,
            # A sync older than the recent ones (a link from the History tab) is still offered, as chosen.
            "sync_listed": any(sync.sync_id == query.sync_id for sync in syncs)}


# The tabs in order: (name, label, what its template needs). Each tab's body is
# templates/integrations/tabs/<name>.html; a tab's context function may raise Http404 for bad input.
TABS = (
    ("overview", "Overview", _overview),
    ("history", "History", _history),
    ("logs", "Logs", _logs),
    ("usage", "Usage", usage_tab),
    ("schema", "Schema", _schema),
    ("settings", "Settings", _settings),
)


# Tabs whose context waits on BigQuery (the Platform Connector's tables, no ORM): built in a thread of
# their own, not on the one thread Django runs every sync view on under ASGI, so a slow query holds
# no one else's page.
WAREHOUSE_TABS = frozenset({"logs", "usage"})


@login_required
@require_GET
async def connection_page(request, pk: int):
    user = await request.auser()
    integration = await sync_to_async(team_object_or_404)(Integration.objects, user, pk=pk)
    if integration.state != Integration.State.READY:
        return redirect("integrations:flow", pk=integration.pk)
    tab = request.GET.get("tab", "overview")
    tab_context = {name: build for name, _label, build in TABS}.get(tab)
    if tab_context is None:
        raise Http404("No such tab.")
    if tab in WAREHOUSE_TABS:
        extra = await asyncio.to_thread(tab_context, request, integration)
    else:
        extra = await sync_to_async(tab_context)(request, integration)
    return await sync_to_async(_render_page)(request, integration, tab, extra)


def _render_page(request, integration: Integration, tab: str, extra: dict):
    seq, _snapshot = selectors.snapshot(integration.pk)
    context = {
        "integration": integration,
        "tab": tab,
        "tabs": [(name, label) for name, label, _build in TABS],
        "tab_template": f"integrations/tabs/{tab}.html",
        "seq": seq,
        "next_sync_at": next_sync_at(MirroredConnection.from_integration(integration)),
        **extra,
    }
    return render(request, "integrations/connection.html", context)


def _schemas_as_chosen(integration: Integration) -> list[dict]:
    """The table picker's schemas, ticked as the user last chose (the source's flags are older)."""
    schemas = picker_schemas(integration.source_schema or {"schemas": []})
    chosen = integration.selection
    if chosen is not None:
        for schema in schemas:
            for table in schema["tables"]:
                if table["role"] == "choosable":
                    table["checked"] = table["name"] in chosen.get(schema["name"], ())
            schema["counts"] = picker_counts([schema])
    return schemas


async def _carry_out(request, pk: int, kind: str, back_to: str = "overview", **arguments):
    integration = await team_integration(request, pk)
    user = await request.auser()
    try:
        result = await dispatch.act(integration.pk, m.Action(integration.pk, kind, arguments, user.pk))
    except dispatch.Refused as refused:
        await sync_to_async(messages.error)(request, refused.message)
    else:
        said = result.message if result else "Asked Fivetran; the page updates when it answers."
        await sync_to_async(messages.success)(request, said)
        if kind == "reconnect" and result is not None:
            return redirect(result.data["url"])
    return redirect(f"{reverse('integrations:connection', args=[integration.pk])}?tab={back_to}")


def _logged_in(view):
    """The forms post to addresses that only take POST: someone logged out meanwhile logs in and comes
    back to the connection's page, not to the form's address."""

    @functools.wraps(view)
    async def checked(request, pk: int, *args, **kwargs):
        if not (await request.auser()).is_authenticated:
            return redirect(f"{reverse('login')}?next={reverse('integrations:connection', args=[pk])}")
        return await view(request, pk, *args, **kwargs)

    return checked


ACTION_TABS = {"sync": "overview", "pause": "overview", "resume": "overview", "reconnect": "settings"}


@require_POST
@_logged_in
async def connection_action(request, pk: int, action: str):
    if action not in ACTION_TABS:
        raise Http404("No such action.")
    return await _carry_out(request, pk, action, ACTION_TABS[action])


@require_POST
@_logged_in
async def connection_settings(request, pk: int):
    body = {}
    if request.POST.get("name") is not None:
        body["name"] = request.POST["name"]
    if request.POST.get("sync_frequency"):
        try:
            body["sync_frequency"] = int(request.POST["sync_frequency"])
        except ValueError:
            body["sync_frequency"] = request.POST["sync_frequency"]
    change, problem = settings_change(body)
    if problem:
        await team_integration(request, pk)
        await sync_to_async(messages.error)(request, problem)
        return redirect(f"{reverse('integrations:connection', args=[pk])}?tab=settings")
    return await _carry_out(request, pk, "settings", "settings", **change)


@require_POST
@_logged_in
async def connection_schema(request, pk: int):
    selected: dict[str, list[str]] = {}
    for value in request.POST.getlist("table"):
        schema, _, table = value.partition(".")
        if schema and table:
            selected.setdefault(schema, []).append(table)
    return await _carry_out(request, pk, "schema", "schema", selected=selected)


@require_POST
@_logged_in
async def connection_table_resync(request, pk: int, table_pk: int):
    return await _carry_out(request, pk, "resync_table", "overview", table_id=table_pk)
