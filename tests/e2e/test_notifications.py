"""Notifications as a user sees them: a real Chromium against `manage.py serve` (the embedded
default). When the connection breaks on Fivetran's side, a toast says so on the open page and the
header's unread count moves, without a reload; the toast opens the Settings tab, where the user
reconnects, and the list has it. The toasts come on the notifications socket: the list page opens
the team socket once, for its lines only."""

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


def test_a_broken_connection_toasts_and_counts_live(chromium, live_server_process, screenshot):  # noqa: F811
    server = live_server_process
    context = chromium.new_context(viewport={"width": 360, "height": 800})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        integration_id = set_up_to_ready(page, server.base_url, screenshot, "Toast CRM", "notify")
        # The set-up's own notice reaches the page that watched it.
        page.wait_for_selector('.toast:has-text("Toast CRM is ready")', timeout=LIVE_TIMEOUT_MS)

        sockets = []
        page.on("websocket", lambda socket: sockets.append(urlparse(socket.url).path))
        page.goto(f"{server.base_url}/integrations/")
        unread = page.locator('[data-notifications-link] [data-role="unread-count"]')
        before = int(unread.inner_text())
        assert before >= 1
        loads = []
        page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)

        connection_id = newest_connection(server.base_url)["id"]
        emulator_control(server.base_url, "POST", "/_control/faults", {"kind": "break", "connection_id": connection_id})
        emulator_control(server.base_url, "POST", f"/v1/connections/{connection_id}/sync")
        toast = page.locator('.toast:has-text("Toast CRM needs reconnecting")')
        toast.wait_for(timeout=LIVE_TIMEOUT_MS)
        page.wait_for_function(
            "n => Number(document.querySelector('[data-notifications-link] [data-role=\"unread-count\"]').textContent) > n",
            arg=before, timeout=LIVE_TIMEOUT_MS,
        )
        assert int(unread.inner_text()) == before + 1 and not loads
        assert sorted(sockets) == ["/ws/integrations/", "/ws/notifications/"]
        assert page.locator(".toasts").get_attribute("aria-live") == "polite"
        screenshot(page, "notify-1-toast")

        toast.get_by_role("link", name="Open").click()
        page.wait_for_url(re.compile(rf"/integrations/{integration_id}/\?tab=settings$"))
        page.goto(f"{server.base_url}/notifications/")
        item = page.locator('.notification--unread:has-text("Toast CRM needs reconnecting")')
        assert item.count() == 1
        screenshot(page, "notify-2-list")
        item.get_by_role("button", name=re.compile("Mark read")).click()
        page.wait_for_url(re.compile(r"/notifications/$"))
        assert page.locator('.notification--unread:has-text("Toast CRM needs reconnecting")').count() == 0
        assert int(unread.inner_text()) == before
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert errors == []
    finally:
        context.close()
