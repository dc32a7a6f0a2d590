"""A connection's history on the web: `GET /api/integrations/<id>/history?kind=&before=` and what the
History tab asks for (integrations.web.connection_pages). Thin: parse, call the selector, answer."""

from __future__ import annotations

from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.http import JsonResponse, QueryDict
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from integrations.state.events import isoformat
from integrations.state.history import HistoryEntry, HistoryPage, history_page
from integrations.vocabulary import HISTORY_KIND_LABELS, HistoryKind
from integrations.web.api import error, team_integration


@dataclass(frozen=True)
class HistoryQuery:
    kinds: frozenset[HistoryKind]  # empty: every kind
    before: int | None

    def params(self, **changes) -> str:
        """This query's parameters as a query string, with `changes` applied (None drops one)."""
        values = {"kind": sorted(self.kinds), "before": self.before, **changes}
        return urlencode({name: value for name, value in values.items() if value not in (None, [])}, doseq=True)


def history_query(params: QueryDict) -> HistoryQuery:
    """`kind` (repeatable, or comma-separated; empty means every kind) and `before` (a row's seq).
    Raises ValueError, in words for the person who sent them."""
    names = [name for value in params.getlist("kind") for name in value.split(",") if name.strip()]
    unknown = sorted({name.strip() for name in names} - set(HistoryKind))
    if unknown:
        raise ValueError(f"kind must be one of {', '.join(HistoryKind)}; not {', '.join(unknown)}.")
    before = params.get("before") or None
    if before is not None:
        if not before.isdigit() or int(before) < 1:
            raise ValueError("before must be a positive integer (an entry's seq).")
        before = int(before)
    return HistoryQuery(frozenset(HistoryKind(name.strip()) for name in names), before)


def kind_choices() -> list[tuple[str, str]]:
    return [(str(kind), label) for kind, label in HISTORY_KIND_LABELS.items()]


def entry_json(entry: HistoryEntry) -> dict:
    sync = entry.sync
    tables = entry.tables
    return {
        "seq": entry.seq,
        "kind": str(entry.kind),
        "kind_label": entry.kind_label,
        "time": isoformat(entry.time),
        "title": entry.title,
        "detail": entry.detail,
        "by": entry.by,
        "tone": entry.tone,
        "sync": None if sync is None else {
            "id": sync.id,
            "sync_id": sync.sync_id,
            "status": sync.status,
            "status_label": sync.status_label,
            "started_at": isoformat(sync.started_at),
            "ended_at": isoformat(sync.ended_at),
            "duration_seconds": sync.duration_seconds,
            "reason": sync.reason,
        },
        "tables": None if tables is None else {
            "added": tables.added,
            "added_count": tables.added_count,
            "removed": tables.removed,
            "removed_count": tables.removed_count,
            "count": tables.count,
        },
    }


def page_json(integration_id: int, query: HistoryQuery, page: HistoryPage) -> dict:
    older = None
    if page.older_before is not None:
        older = f"{reverse('api-integration-history', args=[integration_id])}?{query.params(before=page.older_before)}"
    return {
        "entries": [entry_json(entry) for entry in page.entries],
        "older_before": page.older_before,
        "older_url": older,
    }


@require_GET
async def integration_history(request, pk: int):
    integration = await team_integration(request, pk)
    try:
        query = history_query(request.GET)
    except ValueError as problem:
        return error(400, str(problem))
    page = await sync_to_async(history_page)(integration.pk, kinds=query.kinds, before=query.before)
    return JsonResponse(page_json(integration.pk, query, page))
