"""The emulator writes the Fivetran Platform Connector's tables (log, incremental_mar, connection) into
the BigQuery stand-in as Fivetran does, for every sync and user action. Read back with the real client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.cloud import bigquery

from standins.fivetran import platform_tables
from standins.fivetran.app import create_app
from standins.fivetran.destination import BigQueryWriter
from standins.fivetran.testing import ServerThread, WebhookReceiver
from warehouse.bigquery import call_options

GROUP = "embedded_group"
AUTH = ("emulator-key", "emulator-secret")
DATASET = platform_tables.DATASET


@pytest.fixture(scope="module")
def emulator(bigquery_standin, tmp_path_factory) -> Iterator[str]:
    writer = BigQueryWriter(bigquery_standin.endpoint, bigquery_standin.project)
    app = create_app(data_dir=tmp_path_factory.mktemp("platform"), sync_seconds=0.6, writer=writer, group_ids=(GROUP,))
    server = ServerThread(app).start()
    yield server.url
    server.stop()
    writer.close()


@pytest.fixture
def api(emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator, auth=AUTH, timeout=15) as client:
        client.delete("/_control/faults")
        yield client
        client.delete("/_control/faults")


@pytest.fixture
def receiver(api) -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    response = api.post(f"/v1/webhooks/group/{GROUP}", json={"url": hook.url, "events": ["sync_start", "sync_end"]})
    assert response.status_code == 200, response.text
    yield hook
    api.delete(f"/v1/webhooks/{response.json()['data']['id']}")
    hook.stop()


def query(client: bigquery.Client, sql: str, **parameters: Any) -> list[dict]:
    config = bigquery.QueryJobConfig(query_parameters=[
        bigquery.ScalarQueryParameter(name, "STRING", value) for name, value in parameters.items()
    ])
    job = client.query(sql, job_config=config, **call_options())
    return [dict(row.items()) for row in job.result(**call_options())]


def log_rows(client, connection_id: str) -> list[dict]:
    return query(client, f"SELECT * FROM `{client.project}.{DATASET}.log` WHERE connection_id = @c "
                         "ORDER BY time_stamp, id", c=connection_id)


def mar(client, schema: str) -> list[dict]:
    return query(client, f"SELECT * FROM `{client.project}.{DATASET}.incremental_mar` WHERE connection_name = @s "
                         "ORDER BY table_name, free_type", s=schema)


def wait_for(check, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sync_ends(receiver: WebhookReceiver, connection_id: str) -> list[dict]:
    events = [json.loads(item["body"]) for item in receiver.received]
    return [e for e in events if e["connector_id"] == connection_id and e["event"] == "sync_end"]


def landed_rows(api, connection_id: str) -> dict[str, int]:
    """{dataset.table: rows} the emulator says the destination holds."""
    tables = api.get(f"/_control/connections/{connection_id}").json()["landed_tables"]
    return {key: record["rows"] for key, record in tables.items()}


def set_up(api, receiver, schema: str) -> dict:
    created = api.post("/v1/connections", json={"group_id": GROUP, "service": "hubspot", "paused": True,
                                                "config": {"schema": schema}}).json()["data"]
    assert api.post(f"/_control/connections/{created['id']}/complete-card").status_code == 200
    assert api.patch(f"/v1/connections/{created['id']}", json={"paused": False}).status_code == 200
    wait_for(lambda: sync_ends(receiver, created["id"]), "the historical sync's sync_end")
    return created


def test_a_sync_writes_its_log_lines_and_mar(api, receiver, standin_client):
    schema = f"platform_{int(time.time() * 1000) % 10**8}"
    connection = set_up(api, receiver, schema)
    connection_id = connection["id"]
    landed = landed_rows(api, connection_id)
    [end] = sync_ends(receiver, connection_id)

    # The lines are there when the webhook rings: written before it.
    lines = log_rows(standin_client, connection_id)
    assert {line["sync_id"] for line in lines if line["sync_id"]} == {end["sync_id"]}
    events = [line["message_event"] for line in lines]
    assert events[0] == "sync_start" and events[-2:] == ["sync_stats", "sync_end"]
    assert json.loads(lines[-1]["message_data"]) == {"status": "SUCCESSFUL"}
    assert len({line["id"] for line in lines}) == len(lines)
    assert all(line["event"] == "INFO" and line["_fivetran_synced"] for line in lines)
    modified = {
        f"{data['schema']}.{data['table']}": data["count"]
        for data in (json.loads(line["message_data"]) for line in lines if line["message_event"] == "records_modified")
    }
    assert modified == {key: rows for key, rows in landed.items() if rows}
    for key in landed:
        dataset, table = key.split(".")
        around = [json.loads(line["message_data"]) for line in lines
                  if line["message_event"] in ("write_to_table_start", "write_to_table_end")]
        assert around.count({"schema": dataset, "table": table}) == 2

    # The historical sync's rows are free MAR, one row per table and day.
    historical = mar(standin_client, schema)
    assert {(row["schema_name"] + "." + row["table_name"]): row["incremental_rows"] for row in historical} == modified
    assert {(row["free_type"], row["sync_type"], row["destination_id"]) for row in historical} == {("FREE", "HISTORICAL", GROUP)}

    # An incremental sync adds paid rows; a second one adds to the same day's row.
    for expected_syncs in (2, 3):
        assert api.post(f"/v1/connections/{connection_id}/sync", json={}).status_code == 200
        wait_for(lambda n=expected_syncs: len(sync_ends(receiver, connection_id)) == n, "an incremental sync")
    grown = landed_rows(api, connection_id)
    paid = {row["schema_name"] + "." + row["table_name"]: row["incremental_rows"]
            for row in mar(standin_client, schema) if row["free_type"] == "PAID"}
    assert paid == {key: grown[key] - landed[key] for key in grown if grown[key] > landed[key]}
    assert paid, "the incremental syncs added rows"
    assert len(mar(standin_client, schema)) == len(historical) + len(paid)  # one row per table/day/free type
    assert {end["sync_id"] for end in sync_ends(receiver, connection_id)} == {
        line["sync_id"] for line in log_rows(standin_client, connection_id) if line["message_event"] == "sync_end"}


def test_a_failed_sync_logs_fivetrans_reason(api, receiver, standin_client):
    connection = set_up(api, receiver, f"platform_fail_{int(time.time() * 1000) % 10**8}")
    connection_id = connection["id"]
    api.post("/_control/faults", json={"kind": "fail_sync", "connection_id": connection_id})
    api.post(f"/v1/connections/{connection_id}/sync", json={})
    wait_for(lambda: len(sync_ends(receiver, connection_id)) == 2, "the failed sync")
    failed_sync = sync_ends(receiver, connection_id)[-1]["sync_id"]
    lines = [line for line in log_rows(standin_client, connection_id) if line["sync_id"] == failed_sync]
    severe = [line for line in lines if line["event"] == "SEVERE"]
    warnings = [line for line in lines if line["event"] == "WARNING"]
    assert [json.loads(line["message_data"])["message"] for line in severe] == ["Emulated sync failure"]
    assert [json.loads(line["message_data"])["message"] for line in warnings] == ["Emulated sync failure"]
    assert json.loads(lines[-1]["message_data"]) == {"status": "FAILURE", "reason": "Emulated sync failure"}


def test_user_actions_write_connection_rows_and_log_lines(api, receiver, standin_client):
    schema = f"platform_acts_{int(time.time() * 1000) % 10**8}"
    connection = set_up(api, receiver, schema)
    connection_id = connection["id"]
    [source] = api.get(f"/v1/connections/{connection_id}/schemas").json()["data"]["schemas"]
    assert api.patch(f"/v1/connections/{connection_id}/schemas/{source}/tables/contact", json={"enabled": False}).is_success
    assert api.post(f"/v1/connections/{connection_id}/schemas/{source}/tables/company/resync").is_success
    api.patch(f"/v1/connections/{connection_id}", json={"paused": True})
    api.delete(f"/v1/connections/{connection_id}")

    def rows():
        found = query(standin_client, f"SELECT * FROM `{standin_client.project}.{DATASET}.connection` "
                                      "WHERE connection_id = @c ORDER BY _fivetran_synced", c=connection_id)
        return found if len(found) >= 4 else None

    history = wait_for(rows, "a connection row per create, resume, pause and delete")
    assert [(row["paused"], row["_fivetran_deleted"]) for row in history][-1] == (True, True)
    assert {(row["connection_name"], row["destination_id"], row["connector_type_id"]) for row in history} == {
        (schema, GROUP, "hubspot")}
    lines = wait_for(lambda: [line for line in log_rows(standin_client, connection_id)
                              if line["message_event"] in ("change_schema_config", "forced_resync_table")] or None,
                     "the schema change and the re-sync")
    said = {line["message_event"]: json.loads(line["message_data"]) for line in lines}
    assert said["change_schema_config"] == {"schema": source, "table": "contact", "enabled": False}
    assert said["forced_resync_table"] == {"schema": source, "table": "company"}

