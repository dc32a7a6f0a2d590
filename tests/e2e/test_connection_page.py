"""A connection's life as a user sees it: a real Chromium against `manage.py serve` (the embedded
default: the emulator's webhooks ring the product, the connection's workflow looks and writes, the
socket pushes). After the set-up the connection page follows Fivetran by itself: a sync started on
Fivetran's side appears without a reload; Sync now, Pause and Resume work."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from tests.support.browser_steps import (
    emulator_control,
    log_in,
    newest_connection,
    set_up_to_ready,
)

LIVE_TIMEOUT_MS = 45_000


def sync_rows(page, status: str):
    return page.locator(f'[data-role="syncs"] tr[data-sync] .sync-status--{status}')


def set_up_and_open(page, server, screenshot, name: str, prefix: str) -> int:
    """A hubspot set-up through the browser, to Ready, then its connection page, healthy."""
    integration_id = set_up_to_ready(page, server.base_url, screenshot, name, prefix)
    page.locator('[data-role="tables-link"] a').click()
    page.wait_for_url(re.compile(rf"/integrations/{integration_id}/$"))
    page.wait_for_selector(".health--healthy", timeout=LIVE_TIMEOUT_MS)
    # The historical sync, told by Fivetran's webhooks during the set-up, is the first recorded sync.
    page.wait_for_selector('[data-role="syncs"] tr[data-sync] .sync-status--successful', timeout=LIVE_TIMEOUT_MS)
    return integration_id


def test_the_connection_page_follows_fivetran_live(chromium, live_server_process, screenshot):  # noqa: F811
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        integration_id = set_up_and_open(page, server, screenshot, "Life CRM", "life")
        assert page.locator('[data-field="health_label"]').inner_text() == "Healthy"
        assert page.locator('[data-role="tables"] tbody tr').count() > 0
        screenshot(page, "connection-1-healthy")

        # Fivetran syncs by itself (its schedule): the page shows it without being reloaded.
        loads = []
        page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)
        before = sync_rows(page, "successful").count()
        last_sync = page.locator('[data-field="succeeded_at"] time').get_attribute("datetime")
        connection_id = newest_connection(server.base_url)["id"]
        emulator_control(server.base_url, "POST", f"/v1/connections/{connection_id}/sync")
        page.wait_for_function(
            "n => document.querySelectorAll('[data-role=\"syncs\"] tr[data-sync] .sync-status--successful').length > n",
            arg=before, timeout=LIVE_TIMEOUT_MS,
        )
        page.wait_for_function(
            "was => document.querySelector('[data-field=\"succeeded_at\"] time').getAttribute('datetime') !== was",
            arg=last_sync, timeout=LIVE_TIMEOUT_MS,
        )
        assert not [url for url in loads if urlparse(url).path == f"/integrations/{integration_id}/"], loads
        screenshot(page, "connection-2-later-sync")

        # Pause and Resume: forms, answered by the connection's workflow. The list, open in another
        # tab, follows on the team socket.
        listing = context.new_page()
        listing.goto(f"{server.base_url}/integrations/")
        badge = listing.locator(f'tr[data-integration="{integration_id}"] [data-role="state"]')
        assert badge.inner_text() == "Healthy"
        list_loads = []
        listing.on("request", lambda r: list_loads.append(r.url) if r.resource_type == "document" else None)
        page.get_by_role("button", name="Pause").click()
        page.wait_for_selector(".health--paused", timeout=LIVE_TIMEOUT_MS)
        listing.wait_for_selector(f'tr[data-integration="{integration_id}"] .health-badge--paused', timeout=LIVE_TIMEOUT_MS)
        assert badge.inner_text() == "Paused" and not list_loads
        listing.close()
        assert page.get_by_role("button", name="Resume").is_visible()
        assert page.locator('[data-field="next_sync_at"]').inner_text() == "Paused"
        screenshot(page, "connection-3-paused")
        page.get_by_role("button", name="Resume").click()
        page.wait_for_selector('[data-role="health"]:not(.health--paused)', timeout=LIVE_TIMEOUT_MS)
        assert page.get_by_role("button", name="Pause").is_visible()

        # Sync now: said at once, and the sync it starts appears by itself.
        before = sync_rows(page, "successful").count()
        page.get_by_role("button", name="Sync now").click()
        page.wait_for_selector("text=Sync started")
        page.wait_for_function(
            "n => document.querySelectorAll('[data-role=\"syncs\"] tr[data-sync] .sync-status--successful').length > n",
            arg=before, timeout=LIVE_TIMEOUT_MS,
        )

        # Settings: the frequency is Fivetran's, saved through it.
        page.get_by_role("link", name="Settings").click()
        page.select_option("#sync_frequency", "60")
        page.get_by_role("button", name="Save settings").click()
        page.wait_for_selector("text=Saved: syncs every 60 minutes")
        assert emulator_control(server.base_url, "GET", f"/v1/connections/{connection_id}")["data"]["sync_frequency"] == 60
        page.get_by_role("link", name="Overview").click()
        assert page.locator('[data-field="sync_frequency"]').inner_text() == "Every hour"
        page.set_viewport_size({"width": 360, "height": 800})
        screenshot(page, "connection-4-narrow")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling on a phone"
        assert not errors, errors
    except Exception:
        print(server.log()[-4000:])  # what the server said, for whoever reads a failure
        raise
    finally:
        context.close()


def test_a_new_source_table_is_ticked_and_lands(chromium, live_server_process, screenshot):  # noqa: F811
    """The source gains a table. The set-up's choice blocks new tables, so after the next sync the page
    says so by itself, the Schema tab lists it unticked; ticked and saved, it lands in the tables list
    without a reload."""
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        integration_id = set_up_and_open(page, server, screenshot, "Growing CRM", "grow")
        connection_id = newest_connection(server.base_url)["id"]
        emulator_control(
            server.base_url, "POST", f"/_control/connections/{connection_id}/add-table",
            {"table": "refund", "columns": ["id:INT64", "amount:NUMERIC"], "rows": 3},
        )
        page.get_by_role("button", name="Sync now").click()
        said = page.locator('[data-role="said"]')
        page.wait_for_function(
            "() => document.querySelector('[data-role=\"said\"]').textContent.includes('refund')", timeout=LIVE_TIMEOUT_MS
        )
        assert "tick them on the Schema tab" in said.inner_text()

        page.get_by_role("link", name="Schema").click()
        box = page.locator('input[name="table"][value$=".refund"]')
        assert box.is_visible() and not box.is_checked()
        screenshot(page, "grow-1-schema")
        box.check()
        page.get_by_role("button", name="Save tables").click()
        page.wait_for_selector("text=will be synced")
        page.get_by_role("link", name="Overview").click()
        loads = []
        page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)
        page.locator('[data-role="tables"]').get_by_role("rowheader", name="refund").wait_for(timeout=LIVE_TIMEOUT_MS)
        assert not [url for url in loads if urlparse(url).path == f"/integrations/{integration_id}/"], loads
        screenshot(page, "grow-2-landed")
        assert not errors, errors
    except Exception:
        print(server.log()[-4000:])
        raise
    finally:
        context.close()


def test_a_break_shows_fivetrans_words_and_reconnect_mends_it(chromium, live_server_process, screenshot):  # noqa: F811
    """Fivetran's sync ends needing a reconnect: the page turns Broken by itself with Fivetran's words
    and offers Reconnect; the Connect Card brings the user back, and the health clears."""
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        integration_id = set_up_and_open(page, server, screenshot, "Fragile CRM", "break")
        connection_id = newest_connection(server.base_url)["id"]
        reconnect = page.get_by_role("button", name="Reconnect")
        assert not reconnect.is_visible()
        emulator_control(server.base_url, "POST", "/_control/faults", {"kind": "break", "connection_id": connection_id})
        emulator_control(server.base_url, "POST", f"/v1/connections/{connection_id}/sync")
        page.wait_for_selector(".health--broken", timeout=LIVE_TIMEOUT_MS)
        assert "access token was revoked" in page.locator('[data-field="reason"]').inner_text()
        assert reconnect.is_visible()
        screenshot(page, "break-1-broken")

        reconnect.click()
        page.wait_for_url(re.compile(r"/_emulator/fivetran/connect-card/"))
        page.get_by_role("button", name="Save & Test").click()
        page.wait_for_url(re.compile(rf"/integrations/{integration_id}/$"))
        page.wait_for_selector('[data-role="health"]:not(.health--broken)', timeout=LIVE_TIMEOUT_MS)
        page.wait_for_selector(".health--healthy", timeout=LIVE_TIMEOUT_MS)
        assert not reconnect.is_visible()
        assert emulator_control(server.base_url, "GET", f"/v1/connections/{connection_id}")["data"]["status"]["setup_state"] == "connected"
        screenshot(page, "break-2-mended")
        assert not errors, errors
    except Exception:
        print(server.log()[-4000:])
        raise
    finally:
        context.close()
