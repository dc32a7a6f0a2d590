"""Every page, at desktop (1280 px) and phone (390 px) width: a screenshot kept under
var/screenshots/pages/ for people to look at, no sideways scrolling, and axe-core's accessibility
check with no serious or critical violation. axe-core comes vendored in the axe-playwright-python
package: nothing is downloaded at run time."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.support.browser_fixtures import CHROMIUM_ARGS, SCREENSHOTS
from tests.support.browser_steps import (
    READY_TIMEOUT_MS,
    STEP_TIMEOUT_MS,
    fill_connect_card,
    log_in,
    phase,
    start_set_up,
)
from tests.support.platform_mar import mar_row, seed_mar
from tests.support.services import missing_service
from warehouse.bigquery import make_client
from warehouse.platform_usage import Period

WIDTHS = (1280, 390)
BLOCKING = ("serious", "critical")
AXE = Axe()


def look(page, name: str) -> None:
    """Screenshot at both widths; fail on sideways scrolling at either or on a serious axe finding."""
    folder = SCREENSHOTS / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        page.wait_for_timeout(100)  # let the layout settle at the new width
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name} scrolls sideways at {width} px ({scroll_width} px wide)"
        violations = [v for v in AXE.run(page).response["violations"] if v["impact"] in BLOCKING]
        assert not violations, f"{name} at {width} px: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in violations
        )
    page.set_viewport_size({"width": WIDTHS[0], "height": 844})


def seed_usage(server, bigquery_standin, integration_id: int) -> None:
    """A few months of MAR for the integration, so the usage pages show their charts."""
    schema_name = server.manage(
        "shell", "--no-imports", "-c",
        f"from integrations.models import Integration; print(Integration.objects.get(pk={integration_id}).schema_name)",
    ).strip().splitlines()[-1]
    today = datetime.now(timezone.utc).date()
    months = Period.last_months(4, today).months()
    rows = [mar_row(schema_name, "embedded_group", f"table_{t}", month, 100 * (t + 1) + i, free_type=kind)
            for i, month in enumerate(months) for t in range(12) for kind in ("PAID", "HISTORICAL")]
    client = make_client(bigquery_standin.project, endpoint=bigquery_standin.endpoint)
    try:
        seed_mar(client, "fivetran_metadata", rows)
    finally:
        client.close()


@pytest.mark.timeout(600)
def test_every_page_at_desktop_and_phone_width(chromium, live_server_process, bigquery_standin):
    server = live_server_process
    context = chromium.new_context(viewport={"width": WIDTHS[0], "height": 844})
    try:
        anonymous = context.new_page()
        anonymous.goto(f"{server.base_url}/accounts/login/")
        look(anonymous, "login")
        anonymous.close()

        page = log_in(context, server.base_url, "demo", "demo")
        page.goto(f"{server.base_url}/integrations/new/")
        look(page, "catalogue")
        page.goto(f"{server.base_url}/integrations/new/hubspot/")
        look(page, "connector")

        start_set_up(page, server.base_url, "hubspot", "Look HubSpot")
        phase(page, "authorise").get_by_role("link", name="Connect your account").wait_for(timeout=STEP_TIMEOUT_MS)
        page.locator('[data-phase="authorise"] summary').click()  # the details open, too
        look(page, "flow-waiting")
        phase(page, "authorise").get_by_role("link", name="Connect your account").click()
        fill_connect_card(page)
        phase(page, "choose_data").get_by_role("link", name="Choose tables").click()
        page.wait_for_url(re.compile(r"/setup/$"))
        look(page, "picker")
        page.get_by_role("button", name="Save and continue").click()
        page.wait_for_url(re.compile(r"/flow/$"))
        page.wait_for_selector('[data-flow][data-flow-state="ready"]', timeout=READY_TIMEOUT_MS)
        look(page, "flow-ready")

        page.get_by_role("link", name="Open Look HubSpot").click()
        page.wait_for_url(re.compile(r"/integrations/\d+/$"))
        page.wait_for_selector('[data-role="health"]:not(.health--not_set_up)', timeout=STEP_TIMEOUT_MS)
        look(page, "connection")
        page.locator("[data-preview-url]").first.click()
        # The first table may have no rows (the emulator lands some empty): then the preview says so.
        page.locator("#table-preview table, #table-preview .empty-state").first.wait_for()
        look(page, "tables-preview")
        for tab in ("Schema", "Settings", "History"):
            page.get_by_role("link", name=tab).click()
            page.wait_for_url(re.compile(rf"\?tab={tab.lower()}$"))
            look(page, f"connection-{tab.lower()}")
        connection_url = page.url.split("?")[0]
        page.get_by_role("link", name="Usage").click()
        page.wait_for_url(re.compile(r"\?tab=usage$"))
        look(page, "connection-usage-none-yet")
        seed_usage(server, bigquery_standin, int(connection_url.rstrip("/").rsplit("/", 1)[1]))
        page.reload()
        page.locator('[data-role="top-chart"]').wait_for()
        look(page, "connection-usage")

        page.goto(f"{server.base_url}/integrations/")
        look(page, "list")
        page.goto(f"{server.base_url}/integrations/usage/")
        look(page, "team-usage")
        page.goto(f"{server.base_url}/notifications/")
        page.locator(".notification").first.wait_for()  # the set-up's "ready", at least
        look(page, "notifications")
        page.goto(f"{server.base_url}/notifications/preferences/")
        look(page, "notification-preferences")
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_the_error_page_with_debug_off(live_server, settings):
    # The served product runs with DEBUG on (Django's own 404 page then); this one runs in-process.
    # Its own browser, closed before the test database is flushed: the sync Playwright API keeps
    # an event loop running, and Django refuses database calls from under one.
    settings.DEBUG = False
    executable = shutil.which("chromium")
    if executable is None:
        missing_service("Chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTHS[0], "height": 844})
            response = page.goto(f"{live_server.url}/no/such/page/")
            assert response.status == 404
            assert page.get_by_role("heading", name="This page is not here").is_visible()
            look(page, "not-found")
        finally:
            browser.close()
