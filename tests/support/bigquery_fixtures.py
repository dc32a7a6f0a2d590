"""BigQuery fixtures: one stand-in process per test session, reached through the real client.

Fixtures: `bigquery_standin` (session: the running StandIn), `bigquery_settings` (points
settings.BIGQUERY_* at it for one test), `standin_client` (a client for arranging data),
`many_tables_dataset` (session: one dataset with more than 1,000 tables).
"""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Iterable

import pytest
from google.cloud import bigquery

from standins.bigquery.server import StandIn, start_standin
from tests.support.services import free_port
from warehouse.bigquery import call_options, make_client

STANDIN_PROJECT = "local-project"
MANY_TABLES = 1050

# Shared by every module that imports these fixtures (conftest and test modules alike): one process.
_shared: dict[str, object] = {}


def _standin(tmp_path_factory) -> StandIn:
    if "standin" not in _shared:
        standin = start_standin(free_port(), tmp_path_factory.mktemp("bigquery-standin"), STANDIN_PROJECT)
        _shared["standin"] = standin
        atexit.register(standin.stop)
    return _shared["standin"]


@pytest.fixture(scope="session")
def bigquery_standin(tmp_path_factory) -> StandIn:
    return _standin(tmp_path_factory)


@pytest.fixture
def bigquery_settings(bigquery_standin, settings) -> StandIn:
    settings.BIGQUERY_API_ENDPOINT = bigquery_standin.endpoint
    settings.BIGQUERY_PROJECT = bigquery_standin.project
    settings.BIGQUERY_LOCATION = "US"
    return bigquery_standin


@pytest.fixture
def standin_client(bigquery_standin):
    client = make_client(bigquery_standin.project, endpoint=bigquery_standin.endpoint)
    yield client
    client.close()


def unique_name(prefix: str) -> str:
    """Dataset names unique in the session's stand-in (its data lives for the whole session)."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def create_tables(
    client: bigquery.Client,
    dataset: str,
    names: Iterable[str],
    columns: Iterable[tuple[str, str]] = (("id", "INT64"), ("_fivetran_synced", "TIMESTAMP")),
) -> None:
    client.create_dataset(f"{client.project}.{dataset}", exists_ok=True, **call_options())
    schema = [bigquery.SchemaField(name, type_) for name, type_ in columns]
    for name in names:
        client.create_table(bigquery.Table(f"{client.project}.{dataset}.{name}", schema=schema), **call_options())


@pytest.fixture(scope="session")
def many_tables_dataset(bigquery_standin) -> tuple[str, list[str]]:
    if "many" not in _shared:
        client = make_client(bigquery_standin.project, endpoint=bigquery_standin.endpoint)
        dataset = unique_name("many")
        names = [f"table_{index:05d}" for index in range(MANY_TABLES)]
        create_tables(client, dataset, names, columns=(("id", "INT64"),))
        client.close()
        _shared["many"] = (dataset, names)
    return _shared["many"]
