"""The stand-in launcher: offline start, BigQuery-style paging, failure to start reported."""

import json
import urllib.error
import urllib.request

import pytest

from standins.bigquery.server import spatial_extension_path, start_standin
from tests.support.bigquery_fixtures import MANY_TABLES, unique_name
from warehouse.bigquery import call_options


def test_spatial_extension_comes_from_the_installed_wheel():
    path = spatial_extension_path()
    assert path.suffix == ".duckdb_extension"
    assert "duckdb_extension_spatial" in path.parts


def test_more_than_a_thousand_tables_list_in_pages(standin_client, many_tables_dataset):
    dataset, names = many_tables_dataset
    iterator = standin_client.list_tables(dataset, page_size=400, **call_options())
    pages = [[item.table_id for item in page] for page in iterator.pages]
    assert [len(page) for page in pages] == [400, 400, MANY_TABLES - 800]
    assert [name for page in pages for name in page] == sorted(names)


def test_default_page_is_capped_at_a_thousand_like_bigquery(bigquery_standin, many_tables_dataset):
    dataset, _ = many_tables_dataset
    url = f"{bigquery_standin.endpoint}/bigquery/v2/projects/{bigquery_standin.project}/datasets/{dataset}/tables"
    with urllib.request.urlopen(url, timeout=10) as response:
        first = json.load(response)
    assert len(first["tables"]) == 1000
    assert first["totalItems"] == MANY_TABLES
    with urllib.request.urlopen(f"{url}?pageToken={first['nextPageToken']}", timeout=10) as response:
        second = json.load(response)
    assert len(second["tables"]) == MANY_TABLES - 1000
    assert "nextPageToken" not in second


def test_a_forged_page_token_is_refused(bigquery_standin, many_tables_dataset):
    dataset, _ = many_tables_dataset
    url = f"{bigquery_standin.endpoint}/bigquery/v2/projects/{bigquery_standin.project}/datasets/{dataset}/tables"
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{url}?pageToken=not-a-token", timeout=10)
    assert error.value.code == 400


def test_datasets_list_in_pages(standin_client):
    created = sorted(unique_name("paged") for _ in range(5))
    for dataset in created:
        standin_client.create_dataset(dataset, **call_options())
    iterator = standin_client.list_datasets(page_size=2, **call_options())
    pages = [[item.dataset_id for item in page] for page in iterator.pages]
    assert all(len(page) <= 2 for page in pages)
    listed = [dataset for page in pages for dataset in page]
    assert len(listed) == len(set(listed))
    assert set(created) <= set(listed)


def test_a_stand_in_that_cannot_start_is_reported_quickly(bigquery_standin, tmp_path):
    # The port is taken by the session's stand-in: the new process exits and we say so.
    with pytest.raises(RuntimeError, match="exited"):
        start_standin(bigquery_standin.port, tmp_path / "second", timeout=30)
