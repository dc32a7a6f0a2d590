"""The set-up as a new user reads it (issue #14), in a real Chromium against `manage.py serve`:
nothing is created before the user confirms, three phases in plain words with the steps on demand,
Fivetran's own words beside what it asks, one count of tables, and keyboard-only use.
"""

from __future__ import annotations

import re
import uuid

from tests.support.browser_steps import (
    READY_TIMEOUT_MS,
    STEP_TIMEOUT_MS,
    emulator_control,
    fill_connect_card,
    log_in,
    newest_connection,
    phase,
    start_set_up,
    wait_for_step_state,
)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def list_rows(page, base_url: str) -> dict[str, dict]:
    """The integration list as a user reads it: name -> service and state, as shown."""
    page.goto(f"{base_url}/integrations/")
    rows = {}
    for row in page.locator("tr[data-integration]").all():
        name = row.locator("th a").inner_text()
        rows[name] = {
            "service": row.locator('[data-role="service"]').inner_text(),
            "state": row.locator('[data-role="state"]').inner_text(),
        }
    return rows


def visible_text(page) -> str:
    return page.locator("main").inner_text()


def test_a_tile_opens_the_connector_page_and_only_confirming_creates(chromium, live_server_process, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        before = list_rows(page, server.base_url)
        connections_before = len(emulator_control(server.base_url, "GET", "/v1/connections?limit=1000")["data"]["items"])

        page.goto(f"{server.base_url}/integrations/new/")
        page.click('.connector[data-service="hubspot"] a')
        page.wait_for_url(re.compile(r"/integrations/new/hubspot/$"))
        guide = page.get_by_role("link", name=re.compile("Fivetran’s HubSpot setup guide"))
        assert guide.get_attribute("href") == "https://fivetran.com/docs/connectors/applications/hubspot"
        for words in ("Connect your account", "Choose your data", "First sync"):
            assert words in visible_text(page)
        default = page.locator("#integration-name").input_value()
        assert default.startswith("HubSpot") and default not in before, "the default name is unique"
        screenshot(page, "ux-connector-page")

        # Looking is free: no integration, no Fivetran connection.
        page.go_back()
        assert list_rows(page, server.base_url) == before
        assert len(emulator_control(server.base_url, "GET", "/v1/connections?limit=1000")["data"]["items"]) == connections_before

        name = unique("Marketing CRM")
        start_set_up(page, server.base_url, "hubspot", name)
        assert page.locator("#flow-title").inner_text() == name
        rows = list_rows(page, server.base_url)
        assert set(rows) - set(before) == {name}
        # The list names the service and the state in words, not ids.
        assert rows[name]["service"] == "HubSpot"
        assert rows[name]["state"] in ("Starting", "Setting up", "Waiting for you")
        assert "waiting_for_user" not in visible_text(page) and "Waiting For User" not in visible_text(page)
    finally:
        context.close()


def test_three_phases_in_plain_words_and_one_count_of_tables(chromium, live_server_process, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        start_set_up(page, server.base_url, "hubspot", unique("HubSpot"))
        assert [h.inner_text() for h in page.locator(".phase__label").all()] == [
            "Connect your account", "Choose your data", "First sync"
        ]
        # The eight steps are there, folded away as details.
        assert page.locator("[data-step]").count() == 8
        assert not page.locator('[data-step="create_connection"]').is_visible()
        authorise = phase(page, "authorise")
        authorise.get_by_role("link", name="Connect your account").wait_for(timeout=STEP_TIMEOUT_MS)
        authorise.get_by_role("link", name="Connect your account").click()
        fill_connect_card(page)
        # "Checking…" lasts only until Fivetran answered.
        page.wait_for_selector('[data-role="checking"]', state="hidden", timeout=STEP_TIMEOUT_MS)
        choose = phase(page, "choose_data").get_by_role("link", name="Choose tables")
        choose.wait_for(timeout=STEP_TIMEOUT_MS)
        # No plumbing in what people read first: no connection ids, no generated dataset names.
        phases_text = page.locator(".phase__body > :not(details)").all_inner_texts()
        assert not [text for text in phases_text if re.search(r"created, paused|t\d+_hubspot_", text)], phases_text
        choose.click()

        # The picker names the table Fivetran requires: ticked, not changeable, with the reason.
        required = page.locator('[data-role-kind="required"]')
        assert required.count() >= 1
        box = required.first.locator("input")
        assert box.is_checked() and box.is_disabled()
        assert "Required by Fivetran" in required.first.inner_text()
        # The schema is not titled with our generated dataset name.
        assert not re.search(r"t\d+_hubspot_", page.locator("legend").first.inner_text())
        total = page.locator('[data-role="total"]')
        synced = page.locator('#schema-list li:not([data-role-kind="unavailable"]) input:checked').count()
        assert total.inner_text().startswith(f"{synced} of ")
        # Unticking a table moves the one count; "None" never unticks a required table.
        page.locator('[data-role-kind="choosable"] input:checked').first.uncheck()
        assert total.inner_text().startswith(f"{synced - 1} of ")
        page.locator('[data-select="none"]').first.click()
        assert box.is_checked()
        page.locator('[data-select="all"]').first.click()
        synced = int(total.inner_text().split()[0])
        screenshot(page, "ux-picker")
        page.get_by_role("button", name="Save and continue").click()
        page.wait_for_url(re.compile(r"/flow/$"))

        page.wait_for_selector('[data-flow][data-flow-state="ready"]', timeout=READY_TIMEOUT_MS)
        # The same number everywhere: chosen + required = will be synced = registered.
        assert phase(page, "choose_data").locator('[data-role="phase-news"]').inner_text() == f"{synced} tables will be synced"
        assert phase(page, "first_sync").locator('[data-role="phase-news"]').inner_text() == f"{synced} tables registered"
        assert page.locator('[data-role="tables-rows"] tr').count() == synced
        screenshot(page, "ux-flow-ready")
    finally:
        context.close()


def test_cancelling_the_connect_card_ends_the_checking_notice(chromium, live_server_process, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        start_set_up(page, server.base_url, "hubspot", unique("Cancelled"))
        link = phase(page, "authorise").get_by_role("link", name="Connect your account")
        link.wait_for(timeout=STEP_TIMEOUT_MS)
        link.click()
        fill_connect_card(page, cancel=True)
        # "Checking…" does not stay: Fivetran's answer ends it or, when none comes (the same card is
        # offered again: no news on the socket), the page says what it knows.
        checking = page.locator('[data-role="checking"]')
        page.wait_for_function(
            """() => {
                const notice = document.querySelector('[data-role="checking"]');
                return notice.hidden || notice.querySelector('[data-role="checking-text"]').hidden;
            }""",
            timeout=STEP_TIMEOUT_MS,
        )
        assert "Checking the connection" not in (checking.inner_text() if checking.is_visible() else "")
        authorise = phase(page, "authorise")
        assert authorise.get_by_role("link", name="Connect your account").is_visible()
        screenshot(page, "ux-card-cancelled")
        # A reload does not bring the notice back, and says the account is not connected yet.
        page.reload()
        assert checking.is_hidden()
        explanation = authorise.locator('[data-role="action-explanation"]')
        explanation.wait_for(timeout=STEP_TIMEOUT_MS)
        assert "not connected yet" in explanation.inner_text()
    finally:
        context.close()


def set_up_with_a_fault(page, base_url: str, name: str, fault: dict) -> dict:
    """Start a HubSpot set-up, inject `fault` on its new connection, connect and choose the tables."""
    start_set_up(page, base_url, "hubspot", unique(name))
    wait_for_step_state(page, "connect_card", "waiting_for_user")
    connection = newest_connection(base_url)
    emulator_control(base_url, "POST", "/_control/faults", {**fault, "connection_id": connection["id"]})
    phase(page, "authorise").get_by_role("link", name="Connect your account").click()
    fill_connect_card(page)
    phase(page, "choose_data").get_by_role("link", name="Choose tables").click()
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/flow/$"))
    return connection


def test_a_broken_connection_asks_to_reconnect_with_fivetrans_words(chromium, live_server_process, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        connection = set_up_with_a_fault(page, server.base_url, "Broken", {"kind": "break", "times": 1})

        sync = phase(page, "first_sync")
        reconnect = sync.get_by_role("link", name="Reconnect")
        reconnect.wait_for(timeout=READY_TIMEOUT_MS)
        assert sync.get_attribute("data-state") == "waiting_for_user"
        assert "primary" in reconnect.get_attribute("class")
        # The page says what happened, and shows Fivetran's own words beside it.
        assert "Fivetran lost access" in sync.locator('[data-role="action-explanation"]').inner_text()
        says = sync.locator('[data-role="action-message"]')
        assert says.is_visible() and says.inner_text().startswith("Fivetran says:")
        # Fivetran's reason from its sync_end webhook, or (if the status was read first) its task's text.
        assert says.locator("q").inner_text() in (
            "Emulated: access token was revoked", connection_task_message(server.base_url, connection["id"])
        )
        screenshot(page, "ux-reconnect")

        reconnect.click()
        fill_connect_card(page)
        page.wait_for_selector('[data-flow][data-flow-state="ready"]', timeout=READY_TIMEOUT_MS)
        assert sync.locator('[data-role="action-message"]').is_hidden()
    finally:
        context.close()


def connection_task_message(base_url: str, connection_id: str) -> str:
    tasks = emulator_control(base_url, "GET", f"/v1/connections/{connection_id}")["data"]["status"]["tasks"]
    return "; ".join(task["message"] for task in tasks)


def test_retry_is_the_primary_action_and_drops_the_failed_attempts_words(chromium, live_server_process, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        set_up_with_a_fault(page, server.base_url, "Failing", {"kind": "fail_sync", "times": 50})

        sync = phase(page, "first_sync")
        retry = sync.get_by_role("button", name="Retry now")
        retry.wait_for(timeout=READY_TIMEOUT_MS)
        assert sync.get_attribute("data-state") == "failed"
        assert sync.locator('[data-role="phase-state"]').inner_text() == "Stopped"
        assert "button--primary" in retry.get_attribute("class")
        problem = sync.locator('[data-role="problem-message"]')
        failed_words = problem.inner_text()
        assert "Emulated sync failure" in failed_words  # Fivetran's words, through the step's message
        # "Stopped" beside "Fivetran is retrying" would contradict itself: the page says how both hold.
        assert "Fivetran may keep retrying" in sync.locator('[data-role="problem-hint"]').inner_text()
        screenshot(page, "ux-failed")

        emulator_control(server.base_url, "DELETE", "/_control/faults")
        retry.click()
        # At once: the failure and its words are gone; the phase is working again.
        page.wait_for_selector('[data-phase="first_sync"][data-state="running"]', timeout=5000)
        assert problem.is_hidden()
        assert failed_words not in sync.inner_text()
        screenshot(page, "ux-retrying")
        page.wait_for_selector('[data-flow][data-flow-state="ready"]', timeout=READY_TIMEOUT_MS)
    finally:
        context.close()


def test_delete_asks_in_a_dialog_not_a_browser_prompt(chromium, live_server_process, screenshot):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        name = unique("Doomed")
        start_set_up(page, server.base_url, "stripe", name)
        page.goto(f"{server.base_url}/integrations/")
        prompts = []
        page.on("dialog", lambda dialog: (prompts.append(dialog.message), dialog.dismiss()))
        row = page.locator("tr[data-integration]", has_text=name)
        delete = row.get_by_role("button", name=f"Delete {name}")
        delete.click()
        dialog = page.get_by_role("dialog")
        dialog.wait_for()
        assert name in dialog.inner_text()
        assert page.evaluate("document.activeElement.textContent") == "Cancel"
        screenshot(page, "ux-delete-dialog-390")
        page.keyboard.press("Escape")
        assert dialog.is_hidden() and row.is_visible()
        assert page.evaluate("document.activeElement.textContent").startswith("Delete")
        delete.click()
        dialog.get_by_role("button", name=f"Delete {name}").click()
        page.wait_for_load_state()
        page.locator(".message", has_text=f"{name} was deleted").wait_for()
        assert page.locator("tr[data-integration]", has_text=name).count() == 0
        assert prompts == [], "no native confirm()"
    finally:
        context.close()


# --- the keyboard alone --------------------------------------------------------------------------


def tab_to(page, selector: str, most: int) -> int:
    """Press Tab until `selector` has the focus; how many presses it took (at most `most`)."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return presses
    raise AssertionError(f"{selector} not reached in {most} Tabs (at {page.evaluate('document.activeElement.outerHTML')[:200]})")


def test_keyboard_only_from_the_catalogue_to_a_running_sync(chromium, live_server_process):
    server = live_server_process
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")

        # Catalogue: the search is a few Tabs away, the category filter right after it.
        page.goto(f"{server.base_url}/integrations/new/")
        assert tab_to(page, "#catalogue-q", 8) <= 8
        page.keyboard.type("hubspot")
        assert page.locator("li[data-service]:visible").count() == 1
        tab_to(page, "#catalogue-category", 1)
        page.keyboard.type("Marketing")  # a closed <select> picks the option typed
        assert page.locator("#catalogue-category").input_value() == "Marketing"
        assert page.locator('[data-category="Finance"]').is_hidden()
        tab_to(page, '.connector[data-service="hubspot"] a', 3)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/integrations/new/hubspot/$"))

        # Connector page: the name field, then Enter starts the set-up.
        tab_to(page, "#integration-name", 10)
        page.keyboard.press("Control+A")
        page.keyboard.type(unique("Keyboard"))
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/integrations/\d+/flow/$"))

        # Flow page: the action is reachable and follows with Enter.
        phase(page, "authorise").get_by_role("link", name="Connect your account").wait_for(timeout=STEP_TIMEOUT_MS)
        tab_to(page, '[data-phase="authorise"] [data-role="action"]', 12)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/_emulator/fivetran/connect-card/"))
        fill_connect_card(page)
        phase(page, "choose_data").get_by_role("link", name="Choose tables").wait_for(timeout=STEP_TIMEOUT_MS)
        # The details open from the keyboard too.
        tab_to(page, '[data-phase="authorise"] summary', 12)
        page.keyboard.press("Enter")
        assert page.locator('[data-step="create_connection"]').is_visible()
        tab_to(page, '[data-phase="choose_data"] [data-role="action"]', 12)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/setup/$"))

        # Picker: filter, toggle a table with Space, save with Enter.
        total = page.locator('[data-role="total"]')
        before = total.inner_text()
        tab_to(page, "#table-search", 10)
        page.keyboard.type("contact")
        tab_to(page, '#schema-list input[type="checkbox"]:not(:disabled)', 6)
        page.keyboard.press("Space")
        assert total.inner_text() != before
        tab_to(page, '[data-role="submit"]', 30)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/flow/$"))
        wait_for_step_state(page, "select_tables", "done")
    finally:
        context.close()
