"""Usage (MAR) pages: the connection page's Usage tab, the team usage page and its CSV download.
Thin: read the input, call integrations.connection.usage, draw the charts, render."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from integrations.connection import usage as service
from integrations.models import Integration
from integrations.web import usage_charts as charts

CSV_LINES_PER_CHUNK = 500
MONTH_CHOICES = (3, 6, 12, 24, service.MAX_MONTHS)


def usage_tab(request, integration: Integration) -> dict:
    """The Usage tab's context: the period's months as a chart and a table, and a month's top tables."""
    try:
        months = service.parse_months(request.GET.get("months"))
        usage = service.connection_usage(integration, months=months, month=request.GET.get("month"))
    except service.UsageInputError as bad:
        raise Http404(str(bad)) from None
    period = f"{charts.month_label(usage.period.start)} to {charts.month_label(usage.months[-1].month)}"
    context = {
        "usage": usage,
        "usage_months": months,
        "usage_period": period,
        "estimate_note": service.ESTIMATE_NOTE,
        "no_usage_yet": service.NO_USAGE_YET,
        "months_with_usage": [
            month for month in reversed(usage.months) if month.total or (usage.top and month.month == usage.top.month)
        ],
        "month_choices": sorted({*MONTH_CHOICES, months}),
        "usage_keep": [("tab", "usage")],
    }
    if usage.has_usage:
        context["monthly_chart"] = charts.monthly_chart(
            usage.months, f"Monthly Active Rows of {integration.name} per month, paid and free, {period}: an estimate"
        )
    if usage.top and usage.top.tables:
        context["top_chart"] = charts.top_tables_chart(
            usage.top, f"Tables of {integration.name} with the most Monthly Active Rows in "
                       f"{charts.month_label(usage.top.month)}: an estimate"
        )
    return context


def team_integrations(user):
    """The integrations the list page shows this user: its teams'."""
    return Integration.objects.filter(team__members=user).order_by("name", "pk")


@require_GET
async def team_usage_page(request):
    user = await request.auser()
    if not user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    try:
        months = service.parse_months(request.GET.get("months"))
    except service.UsageInputError as bad:
        return HttpResponseBadRequest(str(bad))
    integrations = await sync_to_async(list)(team_integrations(user))
    # BigQuery's client blocks: in a thread of its own, not the one Django's sync code shares.
    usage = await asyncio.to_thread(service.team_usage, integrations, months=months)
    period = f"{charts.month_label(usage.period.start)} to {charts.month_label(usage.months[-1].month)}"
    context = {
        "usage": usage,
        "usage_months": months,
        "usage_period": period,
        "estimate_note": service.ESTIMATE_NOTE,
        "no_usage_yet": service.NO_USAGE_YET,
        "month_choices": sorted({*MONTH_CHOICES, months}),
        "usage_keep": [],
        "month_rows": [
            (month_index, row.integration, month)
            for month_index in reversed(range(len(usage.months)))
            for row in usage.connections
            if (month := row.months[month_index]).total
        ],
    }
    if usage.has_usage:
        context["monthly_chart"] = charts.monthly_chart(
            usage.months, f"Your team's Monthly Active Rows per month, paid and free, {period}: an estimate"
        )
    return await sync_to_async(render)(request, "integrations/usage.html", context)


@require_GET
async def team_usage_csv(request):
    """Per connection, table and month, streamed as BigQuery's pages arrive (never held whole)."""
    user = await request.auser()
    if not user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.path}")
    try:
        months = service.parse_months(request.GET.get("months"))
    except service.UsageInputError as bad:
        return HttpResponseBadRequest(str(bad))
    integrations = await sync_to_async(list)(team_integrations(user))
    lines = service.team_usage_csv(integrations, months=months)
    response = StreamingHttpResponse(_off_the_loop(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{service.csv_filename(months)}"'
    response["Cache-Control"] = "no-store"
    return response


async def _off_the_loop(lines: Iterator[str]) -> AsyncIterator[str]:
    # BigQuery's client blocks: each chunk is read in a thread, so the server's loop keeps serving.
    while chunk := await asyncio.to_thread(lambda: list(itertools.islice(lines, CSV_LINES_PER_CHUNK))):
        yield "".join(chunk)
