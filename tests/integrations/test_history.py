"""A connection's history (integrations.state.history), read from event rows the product's own writers
persist against PostgreSQL: the set-up's transitions, the sync records of Fivetran's webhooks and the
mirror of its status (recorded fixtures), and the `connection.action` rows a person's action writes."""

from datetime import datetime

import jsonschema
import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from integrations.connection.mirror import mirror_connection, mirror_connection_gone
from integrations.models import IntegrationEvent
from integrations.state import transitions
from integrations.state.event_schemas import frame_schema
from integrations.state.events import envelope
from integrations.state.history import history_page
from integrations.vocabulary import HistoryKind
from integrations.wording import plain_reason
from tests.support.flow_fixtures import new_integration
from tests.support.history_rows import (
    EXPECTED,
    HOUR,
    fivetran_connection,
    life,
    person_acted,
    record_webhook,
    set_up,
    step,
    titles,
    webhook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration(team_user):
    return new_integration(*team_user, "hubspot")


@pytest.fixture
def lived(integration):
    set_up(integration)
    life(integration)
    for event in IntegrationEvent.objects.filter(integration=integration):
        jsonschema.validate(envelope(event), frame_schema(event.type))  # the rows are what the product writes
    return integration


def test_one_timeline_newest_first_from_what_is_persisted(lived):
    page = history_page(lived.pk)

    assert titles(page) == EXPECTED
    assert page.older_before is None
    failed = next(entry for entry in page.entries if entry.title == "Sync failed")
    assert failed.sync.sync_id == webhook("sync_start")["sync_id"]
    assert (failed.sync.status, failed.tone, failed.detail) == ("failed", "bad", "Example: access token was revoked")
    # Started by its sync_start, ended by its sync_end: Fivetran's own times.
    assert failed.sync.started_at.isoformat().startswith("2026-05-12T09:31:45")
    assert failed.sync.duration_seconds == round(
        (datetime.fromisoformat("2026-05-14T16:42:05.118Z") - datetime.fromisoformat("2026-05-12T09:31:45.201Z")).total_seconds()
    )
    succeeded = page.entries[1]
    assert (succeeded.sync.sync_id, succeeded.sync.duration_seconds, succeeded.detail) == ("second", 125, "")
    broke = next(entry for entry in page.entries if entry.kind == HistoryKind.HEALTH and entry.tone == "bad")
    assert broke.detail == "Example: access token was revoked"
    resumed = page.entries[4]
    assert (resumed.by, resumed.detail) == ("ada", "Resumed")
    paused_from_fivetran = page.entries[5]
    assert paused_from_fivetran.by is None
    tables = page.entries[0].tables
    assert (tables.added, tables.removed, tables.count) == (["crm.deals", "crm.owners"], ["crm.tickets"], 3)
    assert page.entries[0].detail == "2 added, 1 no longer synced; 3 tables now"
    assert page.entries[2].by == "bob"


def test_a_running_sync_is_one_entry_until_it_ends(integration):
    record_webhook(integration.pk, "sync_start")
    [running] = history_page(integration.pk).entries
    assert (running.title, running.sync.status, running.sync.ended_at) == ("Sync running", "running", None)

    record_webhook(integration.pk, "sync_end.failure_with_task")
    [ended] = history_page(integration.pk).entries
    assert (ended.title, ended.sync.id) == ("Sync failed", running.sync.id)


def test_the_source_gaining_tables_is_one_entry_and_moved_row_counts_none(integration):
    from integrations.connection.tables import _append  # the writer refresh_tables uses

    _append(integration.pk, {
        "schema.changed": {"added": [{"schema": "public", "table": "refund", "enabled": False},
                                     {"schema": "public", "table": "invoice", "enabled": True}], "waiting": 1},
        "tables.updated": {"count": 3, "added": [], "removed": [], "updated_count": 1,
                           "updated": [{"dataset": "crm", "name": "deals", "num_rows": 9, "num_bytes": 0, "modified": None}]},
    })
    for event in IntegrationEvent.objects.filter(integration=integration):
        jsonschema.validate(envelope(event), frame_schema(event.type))
    [gained] = history_page(integration.pk).entries
    assert (gained.kind, gained.title, gained.tone) == (HistoryKind.SCHEMA, "The source has 2 new tables", "waiting")
    assert gained.detail == "synced: invoice; waiting for you to tick it on the Schema tab: refund"


def test_a_failing_connection_that_fails_again_is_one_break(integration):
    done = fivetran_connection("5_historical_done")
    mirror_connection(integration.pk, done, now=done.succeeded_at + HOUR)
    broken = fivetran_connection("7_broken_needs_action")
    mirror_connection(integration.pk, broken, now=broken.failed_at + HOUR)
    # Still broken, a later failure: the health does not move, so no second break.
    mirror_connection(integration.pk, fivetran_connection("7_broken_needs_action", failed_at="2026-05-15T10:00:00Z"),
                      now=broken.failed_at + 2 * HOUR)
    mirror_connection_gone(integration.pk, now=broken.failed_at + 3 * HOUR)

    assert titles(history_page(integration.pk)) == [("health", "Deleted in Fivetran"), ("health", "Needs reconnecting")]


def test_paging_walks_the_whole_timeline_once(lived):
    seen, before = [], None
    while True:
        page = history_page(lived.pk, before=before, size=4)
        seen += titles(page)
        if page.older_before is None:
            break
        before = page.older_before
    assert seen == EXPECTED


def test_an_older_page_stays_the_same_when_new_entries_arrive(lived):
    first = history_page(lived.pk, size=4)
    second = history_page(lived.pk, before=first.older_before, size=4)

    person_acted(lived.pk, "sync", "ada", "Sync started")
    record_webhook(lived.pk, "sync_start", sync_id="third", created="2026-05-16T09:00:00.000Z")

    assert history_page(lived.pk, before=first.older_before, size=4) == second
    assert titles(history_page(lived.pk, size=2)) == [("sync", "Sync running"), ("action", "Sync now")]


def test_filtered_by_kind(lived):
    syncs = history_page(lived.pk, kinds=frozenset({HistoryKind.SYNC}))
    assert titles(syncs) == [("sync", "Sync succeeded"), ("sync", "Sync failed")]

    breaks_and_pauses = history_page(lived.pk, kinds=frozenset({HistoryKind.HEALTH, HistoryKind.PAUSE}), size=3)
    assert titles(breaks_and_pauses) == [("pause", "Resumed"), ("pause", "Paused"), ("health", "Recovered: Healthy")]
    rest = history_page(lived.pk, kinds=frozenset({HistoryKind.HEALTH, HistoryKind.PAUSE}), before=breaks_and_pauses.older_before)
    assert titles(rest) == [("health", "Needs reconnecting")] and rest.older_before is None
    for kind in HistoryKind:
        expected = [entry for entry in EXPECTED if entry[0] == kind]
        assert titles(history_page(lived.pk, kinds=frozenset({kind}))) == expected, kind


@pytest.mark.parametrize("size", [3, 50])
def test_a_page_is_one_query_however_long_the_history(lived, size):
    # Many rows that make no entry (progress ticks, passing updates) between the ones that do.
    for _ in range(3):
        life(lived)
    tick = step(lived, "load_schema")
    transitions.step_begin(tick)
    for done in range(200):
        transitions.step_progress(tick, done=done, total=200, unit="tables", message="Reading")

    everything = history_page(lived.pk, size=1000).entries

    with CaptureQueriesContext(db_connection) as queries:
        newest = history_page(lived.pk, size=size)
        # The set-up's four outcomes are the oldest rows, behind every other row of the history.
        set_up_only = history_page(lived.pk, kinds=frozenset({HistoryKind.SETUP}), size=size)
    assert len(queries) == 2, [query["sql"] for query in queries]
    assert newest.entries == everything[:size]
    assert [entry.title for entry in set_up_only.entries] == [title for kind, title in EXPECTED if kind == "setup"][:size]


def test_fivetran_s_reason_in_plain_words():
    trace = (
        "java.lang.RuntimeException: The innodb_buffer_pool_size for your database is: 384 MB, which is very low.\n"
        "\tat com.fivetran.Something.run(Something.java:42)"
    )
    assert plain_reason(trace) == "The innodb_buffer_pool_size for your database is: 384 MB, which is very low."
    assert plain_reason("com.fivetran.SyncError: Too many requests") == "Too many requests"
    assert plain_reason("Example: access token was revoked") == "Example: access token was revoked"
    assert plain_reason("") == ""
