"""The Logs tab in a real Chromium against `manage.py serve` (the embedded default: the emulator writes
the Platform Connector's `log` table into the BigQuery stand-in as it syncs). After the set-up's sync
the tab shows that sync's lines, the same as a direct query of the stand-in; the level filter works
without JavaScript; a sync that fails later appears without a reload; another team gets a 404."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

from google.cloud import bigquery

from standins.fivetran import platform_tables
from tests.e2e.test_pages_look import look
from tests.support.browser_steps import (
    emulator_control,
    log_in,
    newest_connection,
    set_up_to_ready,
)
from warehouse.bigquery import call_options

LIVE_TIMEOUT_MS = 45_000


def stand_in_lines(client: bigquery.Client, connection_id: str) -> list[dict]:
    job = client.query(
        f"SELECT * FROM `{client.project}.{platform_tables.DATASET}.log` WHERE connection_id = @c "
        "ORDER BY time_stamp DESC, id DESC",
        job_config=bigquery.QueryJobConfig(query_parameters=[bigquery.ScalarQueryParameter("c", "STRING", connection_id)]),
        **call_options(),
    )
    return [dict(row.items()) for row in job.result(**call_options())]


def written(lines: list[dict]) -> dict[str, int]:
    """{"dataset.table": rows} from the records_modified lines."""
    counts = {}
    for line in lines:
        if line["message_event"] == "records_modified":
            data = json.loads(line["message_data"])
            counts[f"{data['schema']}.{data['table']}"] = counts.get(f"{data['schema']}.{data['table']}", 0) + data["count"]
    return counts


def shown_written(page) -> dict[str, int]:
    counts = {}
    for text in page.locator('[data-role="log-groups"] td[data-label="What happened"]').all_inner_texts():
        match = re.fullmatch(r"([\d,]+) rows? written to (\S+)", text.strip())
        if match:
            counts[match[2]] = counts.get(match[2], 0) + int(match[1].replace(",", ""))
    return counts


def test_the_logs_tab_shows_fivetrans_lines_live(chromium, live_server_process, standin_client, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        integration_id = set_up_to_ready(page, server.base_url, screenshot, "Logs CRM", "logs")
        connection_id = newest_connection(server.base_url)["id"]

        # The set-up's sync, as the stand-in holds it and as the tab shows it.
        page.goto(f"{server.base_url}/integrations/{integration_id}/?tab=logs")
        lines = stand_in_lines(standin_client, connection_id)
        [sync_id] = {line["sync_id"] for line in lines if line["sync_id"]}
        rows = page.locator('[data-role="log-groups"] tr[data-line]')
        assert rows.count() == len(lines)
        assert [rows.nth(i).get_attribute("data-line") for i in range(rows.count())] == [line["id"] for line in lines]
        assert shown_written(page) == written(lines) and written(lines)
        group = page.locator(f'.log-group[data-sync-id="{sync_id}"]')
        assert "Succeeded" in group.locator("h3").inner_text()
        look(page, "connection-logs")

        # A later sync fails; its lines appear without a reload, under their own sync.
        loads = []
        page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)
        emulator_control(server.base_url, "POST", "/_control/faults", {"kind": "fail_sync", "connection_id": connection_id})
        emulator_control(server.base_url, "POST", f"/v1/connections/{connection_id}/sync", {})
        page.wait_for_selector('[data-role="log-groups"] [data-level="SEVERE"]', timeout=LIVE_TIMEOUT_MS)
        assert not [url for url in loads if urlparse(url).path == f"/integrations/{integration_id}/"], loads
        failed_lines = [line for line in stand_in_lines(standin_client, connection_id) if line["sync_id"] not in (sync_id, None)]
        [failed_sync] = {line["sync_id"] for line in failed_lines}
        failed_group = page.locator(f'.log-group[data-sync-id="{failed_sync}"]')
        assert failed_group.locator("tr[data-line]").count() == len(failed_lines)
        assert "Failed" in failed_group.locator("h3").inner_text()
        assert "Emulated sync failure" in failed_group.inner_text()
        screenshot(page, "logs-2-failed-sync-live")

        # The level filter is a GET form: Errors only shows the one SEVERE line.
        page.select_option("#log-level", "SEVERE")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r"level=SEVERE"))
        assert page.locator('[data-role="log-groups"] tr[data-line]').count() == 1
        assert page.locator('[data-role="log-groups"] tr[data-line] [data-label="What happened"]').inner_text() == (
            "Emulated sync failure")

        # The History tab's link: one sync's lines.
        page.goto(f"{server.base_url}/integrations/{integration_id}/?tab=logs&sync={failed_sync}")
        assert page.locator(".log-group").count() == 1
        assert page.locator('[data-role="log-groups"] tr[data-line]').count() == len(failed_lines)
        assert not errors, errors
    except Exception:
        print(server.log()[-4000:])
        raise
    finally:
        context.close()

    # Another team's person: the API answers 404, as for a missing integration.
    server.manage("shell", "-c", (
        "from django.contrib.auth import get_user_model; from teams.models import Team; "
        "user = get_user_model().objects.create_user(username='mallory', password='mallory'); "
        "Team.objects.create(name='Elsewhere').members.add(user)"
    ))
    other = chromium.new_context()
    try:
        page = log_in(other, server.base_url, "mallory", "mallory")
        response = page.request.get(f"{server.base_url}/api/integrations/{integration_id}/logs")
        assert response.status == 404 and response.json() == {"error": "Not found."}
    finally:
        other.close()
