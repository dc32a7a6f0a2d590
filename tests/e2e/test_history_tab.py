"""The History tab as a user meets it: a real Chromium against `manage.py serve` (the embedded default:
the emulator's signed webhooks ring the product, the connection's workflow records each sync, the
socket pushes). A sync that fails on Fivetran's side appears in the tab without a reload, with
Fivetran's reason and a "Log lines" link to that sync's logs; so does the next sync."""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

from tests.support.browser_steps import (
    emulator_control,
    log_in,
    newest_connection,
    set_up_to_ready,
)

LIVE_TIMEOUT_MS = 45_000


def running_sync_id(base_url: str, connection_id: str, timeout: float = 10.0) -> str:
    """Fivetran's id of the sync running now, as the emulator (Fivetran) knows it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sync = emulator_control(base_url, "GET", f"/_control/connections/{connection_id}")["sync"]
        if sync is not None:
            return sync["id"]
        time.sleep(0.05)
    raise AssertionError("no sync started")


def entries(page, title: str):
    return page.locator(".history-entry", has=page.locator(".history-entry__title", has_text=re.compile(f"^{title}$")))


def test_a_failed_sync_appears_live_with_fivetran_s_words_and_its_log_lines(chromium, live_server_process, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        integration_id = set_up_to_ready(page, server.base_url, screenshot, "History CRM", "history")
        page.goto(f"{server.base_url}/integrations/{integration_id}/")
        page.wait_for_selector(".health--healthy", timeout=LIVE_TIMEOUT_MS)

        # One click from the connection page: the History tab, with the set-up in it.
        page.get_by_role("link", name="History").click()
        page.wait_for_url(re.compile(r"\?tab=history$"))
        assert entries(page, "Set-up finished").count() == 1
        loads = []
        page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)

        # Fivetran's next sync fails: the entry appears by itself, in Fivetran's words.
        connection_id = newest_connection(server.base_url)["id"]
        emulator_control(server.base_url, "POST", "/_control/faults", {"kind": "fail_sync", "connection_id": connection_id})
        emulator_control(server.base_url, "POST", f"/v1/connections/{connection_id}/sync")
        failed_sync_id = running_sync_id(server.base_url, connection_id)
        failed = entries(page, "Sync failed")
        failed.first.wait_for(timeout=LIVE_TIMEOUT_MS)
        assert failed.count() == 1
        assert failed.locator('[data-role="detail"]').inner_text() == "Emulated sync failure"
        # The second click: that sync's log lines (the Logs tab's address for one sync).
        link = failed.get_by_role("link", name="Log lines")
        assert link.get_attribute("href") == f"?tab=logs&sync={failed_sync_id}"
        screenshot(page, "history-1-failed-sync")

        # The next sync succeeds: it too appears without a reload, above the failure.
        emulator_control(server.base_url, "POST", f"/v1/connections/{connection_id}/sync")
        next_sync_id = running_sync_id(server.base_url, connection_id)
        assert next_sync_id != failed_sync_id
        succeeded = page.locator(f'.history-entry a[href="?tab=logs&sync={next_sync_id}"]')
        succeeded.wait_for(timeout=LIVE_TIMEOUT_MS)
        page.wait_for_function(
            "id => [...document.querySelectorAll('.history-entry')].some(e => e.querySelector("
            "'a[href=\"?tab=logs&sync=' + id + '\"]') && e.querySelector('.history-entry__title').textContent === 'Sync succeeded')",
            arg=next_sync_id, timeout=LIVE_TIMEOUT_MS,
        )
        titles = page.locator(".history-entry__title").all_inner_texts()
        assert titles.index("Sync succeeded") < titles.index("Sync failed")
        assert not [url for url in loads if urlparse(url).path == f"/integrations/{integration_id}/"], loads

        # The filter is a plain GET form.
        page.select_option("#history-kind", "sync")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r"kind=sync"))
        assert set(page.locator(".history-entry").evaluate_all("els => els.map(e => e.dataset.kind)")) == {"sync"}
        page.set_viewport_size({"width": 360, "height": 800})
        screenshot(page, "history-2-narrow")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling on a phone"
        assert not errors, errors
    except Exception:
        print(server.log()[-4000:])  # what the server said, for whoever reads a failure
        raise
    finally:
        context.close()
