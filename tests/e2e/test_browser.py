"""The set-up as a user sees it: a real Chromium against `manage.py serve` (tests/browser_fixtures.py).

The flow page must follow the set-up live over the websocket (no reloads, no polling), recover from a
dropped socket, and stay closed to other teams.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlparse

import jsonschema

from integrations.state.event_schemas import frame_schema
from tests.support.browser_steps import (
    READY_TIMEOUT_MS,
    STEP_TIMEOUT_MS,
    choose_tables,
    connect_account,
    emulator_control,
    log_in,
    phase,
    start_set_up,
    step,
    submit_selection,
    wait_for_step_state,
)


class NetworkLog:
    """Every request and websocket a page opens, to prove the page waits without polling."""

    def __init__(self, page):
        self.requests: list[tuple[str, str, str]] = []
        self.sockets: list[str] = []
        self.frames: list[dict] = []
        page.on("request", lambda request: self.requests.append((request.method, request.url, request.resource_type)))
        page.on("websocket", self._socket)

    def _socket(self, socket) -> None:
        if "/ws/notifications/" in socket.url:
            return  # every page's own socket, for toasts (tests/e2e/test_notifications.py): not the set-up's feed
        self.sockets.append(socket.url)
        socket.on("framereceived", lambda payload: self.frames.append(json.loads(payload)))

    def mark(self) -> int:
        return len(self.requests)

    def since(self, mark: int) -> list[tuple[str, str, str]]:
        return self.requests[mark:]


def start_hubspot(page, base_url: str) -> int:
    return start_set_up(page, base_url, "hubspot")


def flow_page_requests(requests, integration_id: int) -> list[tuple[str, str, str]]:
    return [r for r in requests if urlparse(r[1]).path == f"/integrations/{integration_id}/flow/"]


def test_a_user_sets_up_hubspot_and_watches_it_live(chromium, live_server_process, screenshot):  # noqa: F811
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        network = NetworkLog(page)
        integration_id = start_hubspot(page, server.base_url)
        connect_account(page, screenshot, "flow")
        choose_tables(page, screenshot, "flow")

        # Filtering and select none/all work, and an empty selection is refused inline.
        schema = page.locator("[data-schema]").first
        page.fill('[data-role="search"]', "zzz-no-such-table")
        assert page.locator('[data-role="no-match"]').is_visible()
        page.fill('[data-role="search"]', "")
        for each in page.locator("[data-schema]").all():
            each.locator('[data-select="none"]').click()
        # Only the tables Fivetran requires are left.
        assert page.locator('[data-role="total"]').inner_text().startswith(
            f"{page.locator('[data-role-kind=required] input:checked').count()} of "
        )
        page.get_by_role("button", name="Save and continue").click()
        error = page.locator('[data-role="error"]')
        error.wait_for()
        assert "at least one table" in error.inner_text()
        schema.locator('[data-select="all"]').click()
        assert int(page.locator('[data-role="total"]').inner_text().split()[0]) > 1

        submit_selection(page)
        waiting_from = network.mark()
        page.wait_for_selector('[data-connection="live"]')
        wait_for_step_state(page, "select_tables", "done", timeout=5000)
        try:
            wait_for_step_state(page, "historical_sync", "running")
            screenshot(page, "flow-4-syncing")
        except Exception:
            pass  # a fast sync may already be past it; the end state is what matters
        page.wait_for_selector('[data-flow][data-flow-state="ready"]', timeout=READY_TIMEOUT_MS)

        # The registered tables are listed with their row counts, with a link to the integration.
        rows = page.locator('[data-role="tables-rows"] tr')
        assert rows.count() > 0
        assert re.match(r"^\d{1,3}(,\d{3})*$", rows.first.locator("td.numeric").inner_text())
        link = page.locator('[data-role="tables-link"] a')
        assert link.is_visible() and link.get_attribute("href") == f"/integrations/{integration_id}/"
        for name in ("create_connection", "connect_card", "load_schema", "update_schema", "start_sync",
                     "historical_sync", "register_tables"):
            assert step(page, name).get_attribute("data-state") == "done", name
        assert page.locator('[data-role="flow-state"]').inner_text() == "Ready"
        assert "Set-up complete." in page.locator('[data-role="announce"]').inner_text()
        screenshot(page, "flow-5-ready")
        page.set_viewport_size({"width": 360, "height": 800})
        screenshot(page, "flow-6-ready-narrow")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling on a phone"

        # While it waited the page asked for nothing: no XHR/fetch, no reloads; only the websocket.
        waited = network.since(waiting_from)
        assert not [r for r in waited if r[2] in ("fetch", "xhr")], waited
        assert not flow_page_requests(waited, integration_id), waited
        assert not [r for r in waited if "/api/" in r[1]], waited
        # Three page loads in all, each caused by the user: after "create", after the card, after the selection.
        assert len(flow_page_requests(network.requests, integration_id)) == 3
        assert network.sockets and all(f"/ws/integrations/{integration_id}/" in url for url in network.sockets)
        # The socket resumed from the seq each page was rendered at (no snapshot round trip).
        assert all("since=" in url for url in network.sockets)
        # Every frame the browser received is one the published schemas describe.
        assert {"step.completed", "action.required", "tables.registered", "setup.completed"} <= {
            frame["type"] for frame in network.frames
        }
        for frame in network.frames:
            jsonschema.validate(frame, frame_schema(frame["type"]))
        # While the history was copied the page saw the tables land, n of m moving up, with their rows.
        landing = [f["data"] for f in network.frames if f["type"] == "step.progress" and f["data"]["step"] == "historical_sync"]
        assert any("Landed:" in (data["message"] or "") and "rows)" in data["message"] for data in landing), landing
        counts = [data["done"] for data in landing if data["done"] is not None]
        assert counts == sorted(counts) and len(set(counts)) >= 2, landing
        # Nothing came from anywhere but this server: no CDN.
        assert all(url.startswith(server.base_url) for _, url, _ in network.requests), network.requests
    except Exception:
        print(server.log()[-6000:])
        raise
    finally:
        context.close()


def test_the_page_recovers_from_a_dropped_socket(chromium, live_server_process, screenshot):  # noqa: F811
    server = live_server_process
    context = chromium.new_context()
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        network = NetworkLog(page)
        integration_id = start_hubspot(page, server.base_url)
        page.wait_for_selector('[data-connection="live"]')

        # The network drops the socket: the client says so, then reconnects by itself and resumes.
        sockets_before = len(network.sockets)
        page.evaluate("window.flowPage.client.socket.close(4000, 'test drops the socket')")
        page.wait_for_selector('[data-connection="reconnecting"]', timeout=2000)
        assert page.locator('[data-role="connection-text"]').inner_text() == "Reconnecting…"
        page.wait_for_selector('[data-connection="live"]', timeout=20_000)
        assert len(network.sockets) == sockets_before + 1
        assert re.search(r"[?&]since=\d+", network.sockets[-1])

        connect_account(page, screenshot, "recover")
        page.get_by_role("link", name="Choose tables").wait_for(timeout=STEP_TIMEOUT_MS)

        # The page is away while most of the set-up happens; back, it replays every missed event.
        page.evaluate("window.flowPage.client.stop()")
        last_seen = page.evaluate("window.flowPage.client.lastSeq")
        csrf = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
        api = f"{server.base_url}/api/integrations/{integration_id}"
        schema = context.request.get(f"{api}/schema/").json()
        selected = {s["name"]: [t["name"] for t in s["tables"]] for s in schema["schemas"]}
        response = context.request.post(
            f"{api}/schema/", data=json.dumps({"selected": selected}),
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf, "Referer": server.base_url + "/"},
        )
        assert response.status == 202, response.text()
        deadline = time.monotonic() + READY_TIMEOUT_MS / 1000
        while context.request.get(f"{api}/").json()["state"] != "ready":  # the test waits, not the page
            assert time.monotonic() < deadline, "the set-up did not finish"
            time.sleep(0.5)
        assert page.locator('[data-flow]').get_attribute("data-flow-state") != "ready"

        page.evaluate("window.flowPage.client.start()")
        page.wait_for_selector('[data-flow][data-flow-state="ready"]', timeout=10_000)
        assert f"since={last_seen}" in network.sockets[-1]
        assert page.locator('[data-role="tables-rows"] tr').count() > 0

        # What the page pieced together from events equals the server's own snapshot.
        truth = context.request.get(f"{api}/").json()
        shown = page.evaluate("window.flowPage.model()")
        assert [(s["name"], s["state"]) for s in shown["steps"]] == [(s["name"], s["state"]) for s in truth["steps"]]
        assert shown["tables"]["count"] == truth["tables"]["count"]
        assert page.evaluate("window.flowPage.client.lastSeq") == truth["seq"]
        screenshot(page, "recover-ready")
    except Exception:
        print(server.log()[-6000:])
        raise
    finally:
        context.close()


def test_another_team_cannot_open_the_page_or_its_socket(chromium, live_server_process):  # noqa: F811
    server = live_server_process
    server.manage(
        "shell", "-c",
        "from django.contrib.auth import get_user_model; from teams.models import Team;"
        "user, _ = get_user_model().objects.get_or_create(username='rival');"
        "user.set_password('rival-password'); user.save();"
        "Team.objects.get_or_create(name='Rivals')[0].members.add(user)",
    )
    owner = chromium.new_context()
    rival = chromium.new_context()
    try:
        owner_page = log_in(owner, server.base_url, "demo", "demo")
        integration_id = start_hubspot(owner_page, server.base_url)
        owner_page.wait_for_selector('[data-connection="live"]')

        page = log_in(rival, server.base_url, "rival", "rival-password")
        response = page.goto(f"{server.base_url}/integrations/{integration_id}/flow/")
        assert response.status == 404
        close_code = page.evaluate(
            """(id) => new Promise((resolve) => {
                 const socket = new WebSocket(`ws://${location.host}/ws/integrations/${id}/`);
                 socket.onmessage = () => resolve("got a frame");
                 socket.onclose = (event) => resolve(event.code);
               })""",
            integration_id,
        )
        assert close_code == 4404
        assert rival.request.get(f"{server.base_url}/api/integrations/{integration_id}/").status == 404
    finally:
        owner.close()
        rival.close()


def test_a_failed_sync_shows_fivetrans_message_and_retry_finishes_it(chromium, live_server_process, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        start_hubspot(page, server.base_url)
        wait_for_step_state(page, "connect_card", "waiting_for_user")
        newest = max(
            emulator_control(server.base_url, "GET", "/v1/connections?limit=1000")["data"]["items"],
            key=lambda connection: connection["created_at"],
        )
        # Every attempt Fivetran makes fails (SETUP_SYNC_FAILURE_LIMIT is 3), until we clear it.
        emulator_control(server.base_url, "POST", "/_control/faults", {"kind": "fail_sync", "connection_id": newest["id"], "times": 50})
        connect_account(page, screenshot, "failure")
        choose_tables(page, screenshot, "failure")
        submit_selection(page)
        wait_for_step_state(page, "historical_sync", "failed", timeout=READY_TIMEOUT_MS)
        failed = phase(page, "first_sync")
        assert "failed, Fivetran is retrying" in failed.locator('[data-role="problem-message"]').inner_text()
        retry = failed.get_by_role("button", name="Retry now")
        assert retry.is_visible()
        screenshot(page, "failure-4-failed")

        emulator_control(server.base_url, "DELETE", "/_control/faults")
        retry.click()
        page.wait_for_selector('[data-flow][data-flow-state="ready"]', timeout=READY_TIMEOUT_MS)
        assert step(page, "historical_sync").get_attribute("data-state") == "done"
        screenshot(page, "failure-5-ready-after-retry")
    finally:
        context.close()
