"""The Logs query against the stand-in with the real client: one connection's lines only, filtered by
time, level and sync, newest first, paged by keyset; syncs summarised from their start and end lines."""

from datetime import timedelta

import pytest

from tests.support.bigquery_fixtures import unique_name
from tests.support.platform_rows import START, connection_syncs, load_log
from warehouse.platform_logs import BadLogQuery, dataset_name, log_page, sync_summaries

SYNCS = 6  # the 5th fails


@pytest.fixture(scope="module")
def seeded(bigquery_standin):
    from warehouse.bigquery import make_client

    client = make_client(bigquery_standin.project, endpoint=bigquery_standin.endpoint)
    dataset = unique_name("platform")
    ours = list(connection_syncs("amber_anchor", SYNCS))
    theirs = list(connection_syncs("brisk_beacon", SYNCS))  # another tenant, same times
    load_log(client, dataset, ours + theirs)
    yield dataset, ours
    client.close()


@pytest.fixture
def platform(seeded, bigquery_settings, settings):
    settings.FIVETRAN_PLATFORM_DATASET = seeded[0]
    return seeded[1]


def newest_first(rows):
    return sorted(rows, key=lambda row: (row["time_stamp"], row["id"]), reverse=True)


def test_pages_walk_every_line_of_the_connection_once_newest_first(platform):
    seen, cursor = [], None
    while True:
        page = log_page(connection_id="amber_anchor", cursor=cursor, page_size=7)
        assert len(page.lines) <= 7
        seen += page.lines
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [line.id for line in seen] == [row["id"] for row in newest_first(platform)]
    assert {line.sync_id.split("-s")[0] for line in seen} == {"amber_anchor"}
    first = seen[-1]
    assert (first.message_event, first.message_data, first.level) == ("sync_start", None, "INFO")
    assert seen[0].message_data == {"status": "SUCCESSFUL"}


def test_filters_by_level_sync_and_time(platform):
    severe = log_page(connection_id="amber_anchor", level="SEVERE").lines
    assert [(line.sync_id, line.message_data["message"]) for line in severe] == [
        ("amber_anchor-s00004", "Source API answered 500")]

    one_sync = log_page(connection_id="amber_anchor", sync_id="amber_anchor-s00002").lines
    assert [line.id for line in one_sync] == [row["id"] for row in newest_first(platform) if row["sync_id"] == "amber_anchor-s00002"]

    since = START + timedelta(hours=4)
    recent = log_page(connection_id="amber_anchor", since=since).lines
    assert {line.sync_id for line in recent} == {"amber_anchor-s00004", "amber_anchor-s00005"}

    assert log_page(connection_id="nobody_here").lines == []


def test_sync_summaries_say_status_reason_and_times(platform):
    summaries = sync_summaries(connection_id="amber_anchor")
    assert [summary.sync_id for summary in summaries] == [f"amber_anchor-s{n:05d}" for n in reversed(range(SYNCS))]
    failed = summaries[1]
    assert (failed.status, failed.reason) == ("FAILURE", "Source API answered 500")
    assert failed.started_at == START + timedelta(hours=4)
    assert failed.ended_at > failed.started_at
    named = sync_summaries(connection_id="amber_anchor", sync_ids=["amber_anchor-s00001", "brisk_beacon-s00001"])
    assert [summary.sync_id for summary in named] == ["amber_anchor-s00001"]


def test_bad_input_is_refused_with_a_reason(platform):
    for cursor in ("not-a-cursor", "W10", "WyJ4IiwgMV0"):
        with pytest.raises(BadLogQuery, match="cursor"):
            log_page(connection_id="amber_anchor", cursor=cursor)
    with pytest.raises(BadLogQuery, match="page size"):
        log_page(connection_id="amber_anchor", page_size=0)


def test_the_dataset_must_be_an_identifier_and_may_not_exist_yet(bigquery_settings, settings):
    settings.FIVETRAN_PLATFORM_DATASET = "x`; DROP TABLE log; --"
    with pytest.raises(ValueError, match="FIVETRAN_PLATFORM_DATASET"):
        dataset_name()
    settings.FIVETRAN_PLATFORM_DATASET = unique_name("no_platform_yet")
    assert log_page(connection_id="amber_anchor").lines == []
