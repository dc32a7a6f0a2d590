"""A connection's history: one timeline per integration, newest first, read from the event rows the
set-up and the connection's life already write (no table of its own, so nothing to keep in step).

Which rows make an entry, and of which kind, is decided in one SQL expression (`_kind`), so a page of
any kind is one query however many rows are skipped:

- set-up: each step's outcome (done, skipped, failed, waiting for the user), not its progress
  ticks, and the set-up's end;
- sync: one entry per Fivetran sync. A running sync is its `sync.started`; once it has ended, its end
  stands for it (the start's row is no longer shown, so the entry moves up to when it ended);
- action: `connection.action`, who did what and what came of it (a change of the tables synced is a
  schema entry, a pause or resume a pause entry);
- schema: `tables.updated` when tables appeared or went (not when only row counts moved), the source
  gaining tables (`schema.changed`), and a person's change of the tables synced;
- health: a `connection.updated` whose health enters or leaves one of BROKEN_HEALTHS, compared with
  the health before it, passing states (syncing, paused) aside;
- pause: a `connection.updated` whose `paused` flipped, unless the very next row is the person's
  pause or resume that did it (the connection's workflow writes the two together): then that row,
  which says who, is the entry.

Paging is by keyset on the rows' `seq` (`before`): rows written later never shift an older page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from integrations.models import IntegrationEvent, Sync
from integrations.vocabulary import (
    BROKEN_HEALTHS,
    CONNECTION_ACTION_LABELS,
    EVENT_TYPES,
    HISTORY_KIND_LABELS,
    PASSING_HEALTHS,
    STEP_LABELS,
    SYNC_STATUS_LABELS,
    HistoryKind,
    SyncStatus,
)
from integrations.wording import counted, plain_reason

PAGE_SIZE = 25
# A tables.updated can name thousands of tables: an entry names this many of each and counts the rest.
TABLES_NAMED = 20

STEP_OUTCOMES = ("step.completed", "step.skipped", "step.failed", "action.required", "setup.completed", "setup.failed")
SYNC_STARTED, SYNC_ENDED = "sync.started", ("sync.completed", "sync.failed")
CONNECTION_UPDATED, CONNECTION_ACTION, TABLES_UPDATED = "connection.updated", "connection.action", "tables.updated"
SCHEMA_CHANGED = "schema.changed"
PAUSE_ACTIONS = ("pause", "resume")
assert set(STEP_OUTCOMES + (SYNC_STARTED, *SYNC_ENDED, CONNECTION_UPDATED, CONNECTION_ACTION, TABLES_UPDATED, SCHEMA_CHANGED)) <= set(
    EVENT_TYPES
)


@dataclass(frozen=True)
class SyncView:
    """The sync an entry is about, as its latest event row told it (`id` ours, `sync_id` Fivetran's)."""

    id: int
    sync_id: str | None
    status: str
    status_label: str
    started_at: datetime | None
    ended_at: datetime | None
    reason: str  # Fivetran's own words, whole

    @property
    def duration_seconds(self) -> int | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return max(0, round((self.ended_at - self.started_at).total_seconds()))


@dataclass(frozen=True)
class TablesView:
    added: list[str]  # "dataset.table", at most TABLES_NAMED
    added_count: int
    removed: list[str]
    removed_count: int
    count: int  # the tables synced after the change


@dataclass(frozen=True)
class HistoryEntry:
    seq: int  # the event row's, and the page cursor
    kind: HistoryKind
    time: datetime
    title: str
    detail: str = ""  # plain words: Fivetran's reason, the action's result, a step's message
    by: str | None = None  # who acted (a username), for actions
    tone: str = "neutral"  # good, bad, waiting or neutral: how the page colours it
    sync: SyncView | None = None
    tables: TablesView | None = None

    @property
    def kind_label(self) -> str:
        return HISTORY_KIND_LABELS[self.kind]


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    # The `before` of the next, older page; None when this page reaches the beginning.
    older_before: int | None


def history_page(
    integration_id: int, *, kinds: frozenset[HistoryKind] | None = None, before: int | None = None,
    size: int | None = None,
) -> HistoryPage:
    """The newest `size` entries (default PAGE_SIZE) of the integration's history older than row
    `before` (all when None), of the given kinds (every kind when None or empty). One query."""
    size = size or PAGE_SIZE
    rows = _rows(integration_id)
    if before is not None:
        rows = rows.filter(seq__lt=before)
    rows = rows.filter(history_kind__in=[str(kind) for kind in (kinds or HistoryKind)])
    found = list(rows.order_by("-seq")[: size + 1])
    entries = [_entry(row) for row in found[:size]]
    return HistoryPage(entries, older_before=entries[-1].seq if len(found) > size else None)


# -- which rows are entries ---------------------------------------------------------------------------


def _rows(integration_id: int):
    """The integration's event rows, each annotated with its entry kind (NULL: not an entry)."""
    same_integration = IntegrationEvent.objects.filter(integration_id=OuterRef("integration_id"))
    earlier_updates = same_integration.filter(type=CONNECTION_UPDATED, seq__lt=OuterRef("seq")).order_by("-seq")
    passing = [str(health) for health in PASSING_HEALTHS]
    broken = [str(health) for health in BROKEN_HEALTHS]
    return (
        IntegrationEvent.objects.filter(integration_id=integration_id)
        .annotate(
            # A sync's start is shown only while that sync runs.
            sync_pk=Case(
                When(type=SYNC_STARTED, then=Cast(KeyTextTransform("id", "data"), BigIntegerField())), default=None
            ),
            sync_running=Exists(Sync.objects.filter(pk=OuterRef("sync_pk"), status=SyncStatus.RUNNING)),
            # Plain text (Cast), so that comparing it with the health before is a text comparison, not
            # a JSON one (SQLite would read the other side as JSON).
            health_now=Cast(KeyTextTransform("health", "data"), TextField()),
            # The health before this update, passing states aside ("" before the first).
            health_before=Coalesce(
                Subquery(
                    earlier_updates.exclude(data__health__in=passing).values(health=KeyTextTransform("health", "data"))[:1]
                ),
                Value(""),
                output_field=TextField(),
            ),
            paused_before=Coalesce(
                Subquery(
                    earlier_updates.annotate(
                        flag=ExpressionWrapper(Q(data__paused=True), output_field=BooleanField())
                    ).values("flag")[:1],
                    output_field=BooleanField(),
                ),
                Value(False),
            ),
            told_by_next=Exists(
                same_integration.filter(
                    seq=OuterRef("seq") + 1, type=CONNECTION_ACTION, data__action__in=PAUSE_ACTIONS
                )
            ),
        )
        .annotate(history_kind=_kind(broken, passing))
    )


def _kind(broken: list[str], passing: list[str]) -> Case:
    update = Q(type=CONNECTION_UPDATED)
    action = Q(type=CONNECTION_ACTION)
    health_moved = ~Q(data__health__in=passing) & ~Q(health_now=F("health_before")) & (
        Q(data__health__in=broken) | Q(health_before__in=broken)
    )
    paused_flipped = (Q(data__paused=True) & Q(paused_before=False)) | (Q(data__paused=False) & Q(paused_before=True))
    return Case(
        When(type__in=STEP_OUTCOMES, then=Value(str(HistoryKind.SETUP))),
        When(Q(type__in=SYNC_ENDED) | (Q(type=SYNC_STARTED) & Q(sync_running=True)), then=Value(str(HistoryKind.SYNC))),
        When(action & Q(data__action="schema"), then=Value(str(HistoryKind.SCHEMA))),
        When(action & Q(data__action__in=PAUSE_ACTIONS), then=Value(str(HistoryKind.PAUSE))),
        When(action, then=Value(str(HistoryKind.ACTION))),
        # Index 0 present: the list is not empty (a JSON test SQLite and PostgreSQL both answer).
        When(
            Q(type=TABLES_UPDATED) & (Q(data__added__0__isnull=False) | Q(data__removed__0__isnull=False)),
            then=Value(str(HistoryKind.SCHEMA)),
        ),
        When(type=SCHEMA_CHANGED, then=Value(str(HistoryKind.SCHEMA))),
        When(update & health_moved, then=Value(str(HistoryKind.HEALTH))),
        When(update & paused_flipped & Q(told_by_next=False), then=Value(str(HistoryKind.PAUSE))),
        default=None,
        output_field=CharField(),
    )


# -- what an entry says ----------------------------------------------------------------------------------


def _entry(row: IntegrationEvent) -> HistoryEntry:
    kind = HistoryKind(row.history_kind)
    data = row.data
    if kind == HistoryKind.SETUP:
        return _setup_entry(row, data)
    if kind == HistoryKind.SYNC:
        return _sync_entry(row, data)
    if row.type == CONNECTION_ACTION:
        return HistoryEntry(
            row.seq, kind, row.time, CONNECTION_ACTION_LABELS.get(data["action"], data["action"]),
            detail=data.get("message", ""), by=data.get("by"),
        )
    if row.type == SCHEMA_CHANGED:
        return _source_entry(row, data)
    if kind == HistoryKind.SCHEMA:
        return _tables_entry(row, data)
    if kind == HistoryKind.HEALTH:
        broke = data["health"] in BROKEN_HEALTHS
        title = data["health_label"] if broke else f"Recovered: {data['health_label']}"
        return HistoryEntry(row.seq, kind, row.time, title, detail=data.get("reason", ""), tone="bad" if broke else "good")
    # A pause or resume nobody here asked for (Fivetran's dashboard, or Fivetran itself).
    title = CONNECTION_ACTION_LABELS["pause" if data["paused"] else "resume"]
    return HistoryEntry(row.seq, kind, row.time, title, tone="waiting" if data["paused"] else "neutral")


def _setup_entry(row: IntegrationEvent, data: dict) -> HistoryEntry:
    kind = HistoryKind.SETUP
    if row.type == "setup.completed":
        return HistoryEntry(row.seq, kind, row.time, "Set-up finished", detail=f"{counted(data['tables'], 'table')} registered", tone="good")
    if row.type == "setup.failed":
        return HistoryEntry(row.seq, kind, row.time, "Set-up stopped", detail=data["error"]["message"], tone="bad")
    step = STEP_LABELS[data["step"]]
    if row.type == "step.completed":
        return HistoryEntry(row.seq, kind, row.time, f"{step}: done", detail=data.get("message", ""), tone="good")
    if row.type == "step.skipped":
        return HistoryEntry(row.seq, kind, row.time, f"{step}: skipped", detail=data["reason"])
    if row.type == "step.failed":
        return HistoryEntry(row.seq, kind, row.time, f"{step}: failed", detail=data["error"]["message"], tone="bad")
    return HistoryEntry(row.seq, kind, row.time, f"{step}: waiting for you", detail=data.get("message", ""), tone="waiting")


def _sync_entry(row: IntegrationEvent, data: dict) -> HistoryEntry:
    sync = SyncView(
        id=data["id"],
        sync_id=data.get("sync_id"),
        status=data["status"],
        status_label=SYNC_STATUS_LABELS[SyncStatus(data["status"])],
        started_at=_moment(data.get("started_at")),
        ended_at=_moment(data.get("ended_at")),
        reason=data.get("reason", ""),
    )
    failed = row.type == "sync.failed"
    tone = "bad" if failed else {SyncStatus.SUCCESSFUL: "good", SyncStatus.RESCHEDULED: "waiting"}.get(sync.status, "neutral")
    return HistoryEntry(
        row.seq, HistoryKind.SYNC, row.time, f"Sync {sync.status_label.lower()}", detail=plain_reason(sync.reason),
        tone=tone, sync=sync,
    )


def _tables_entry(row: IntegrationEvent, data: dict) -> HistoryEntry:
    added, removed = data["added"], data["removed"]
    tables = TablesView(
        added=[f"{t['dataset']}.{t['name']}" for t in added[:TABLES_NAMED]],
        added_count=len(added),
        removed=[f"{t['dataset']}.{t['name']}" for t in removed[:TABLES_NAMED]],
        removed_count=len(removed),
        count=data["count"],
    )
    said = [f"{len(added)} added" if added else "", f"{len(removed)} no longer synced" if removed else ""]
    detail = f"{', '.join(part for part in said if part)}; {counted(data['count'], 'table')} now"
    return HistoryEntry(row.seq, HistoryKind.SCHEMA, row.time, "Tables changed", detail=detail, tables=tables)


def _source_entry(row: IntegrationEvent, data: dict) -> HistoryEntry:
    """The source gained tables: those Fivetran syncs by itself, and those waiting for a tick."""
    waiting = [entry["table"] for entry in data["added"] if not entry["enabled"]]
    synced = [entry["table"] for entry in data["added"] if entry["enabled"]]
    said = []
    if synced:
        said.append(f"synced: {', '.join(synced[:TABLES_NAMED])}")
    if waiting:
        said.append(f"waiting for you to tick {'it' if len(waiting) == 1 else 'them'} on the Schema tab: {', '.join(waiting[:TABLES_NAMED])}")
    title = f"The source has {counted(len(data['added']), 'new table')}"
    return HistoryEntry(row.seq, HistoryKind.SCHEMA, row.time, title, detail="; ".join(said), tone="waiting" if waiting else "neutral")


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
