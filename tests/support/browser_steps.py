"""What a user does in the browser tests, step by step (tests/e2e/): log in, start a set-up, follow it."""

from __future__ import annotations

import re

import httpx

STEP_TIMEOUT_MS = 30_000
READY_TIMEOUT_MS = 90_000


def log_in(context, base_url: str, username: str, password: str):
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"login as {username} failed"
    return page


def start_set_up(page, base_url: str, service: str = "hubspot", name: str | None = None) -> int:
    """From the catalogue: open the connector page, name the integration (or keep the default), start."""
    page.goto(f"{base_url}/integrations/new/")
    page.click(f'.connector[data-service="{service}"] a')
    page.wait_for_url(re.compile(rf"/integrations/new/{service}/$"))
    if name is not None:
        page.fill("#integration-name", name)
    page.get_by_role("button", name="Start set-up").click()
    page.wait_for_url(re.compile(r"/integrations/\d+/flow/$"))
    return int(re.search(r"/integrations/(\d+)/flow/", page.url).group(1))


def step(page, name: str):
    return page.locator(f'[data-step="{name}"]')


def phase(page, name: str):
    return page.locator(f'[data-phase="{name}"]')


def wait_for_step_state(page, name: str, state: str, timeout: int = STEP_TIMEOUT_MS) -> None:
    # Steps are each phase's details, folded away: present in the page, not necessarily visible.
    page.wait_for_selector(f'[data-step="{name}"][data-state="{state}"]', timeout=timeout, state="attached")


def emulator_control(base_url: str, method: str, path: str, body: dict | None = None) -> dict:
    """The mounted emulator's control API (its credentials are the embedded defaults)."""
    response = httpx.request(
        method, f"{base_url}/_emulator/fivetran{path}", json=body, auth=("emulator-key", "emulator-secret"), timeout=10
    )
    response.raise_for_status()
    return response.json()


def newest_connection(base_url: str) -> dict:
    items = emulator_control(base_url, "GET", "/v1/connections?limit=1000")["data"]["items"]
    return max(items, key=lambda connection: connection["created_at"])


def fill_connect_card(page, *, cancel: bool = False) -> None:
    """On the emulator's Connect Card: Save & Test (or Cancel); Fivetran sends the user back."""
    page.wait_for_url(re.compile(r"/_emulator/fivetran/connect-card/"))
    page.get_by_role("button", name="Cancel" if cancel else "Save & Test").click()
    page.wait_for_url(re.compile(r"/integrations/\d+/flow/$"))


def connect_account(page, screenshot, prefix: str) -> None:
    """From the flow page: the Connect Card button appears by itself; fill the card and come back."""
    wait_for_step_state(page, "create_connection", "done")
    button = page.get_by_role("link", name="Connect your account")
    button.wait_for(timeout=STEP_TIMEOUT_MS)
    assert phase(page, "authorise").get_attribute("aria-current") == "step"
    screenshot(page, f"{prefix}-1-connect-card")
    button.click()
    page.wait_for_url(re.compile(r"/_emulator/fivetran/connect-card/"))
    page.get_by_role("button", name="Save & Test").click()
    page.wait_for_url(re.compile(r"/integrations/\d+/flow/$"))


def choose_tables(page, screenshot, prefix: str) -> None:
    button = page.get_by_role("link", name="Choose tables")
    button.wait_for(timeout=STEP_TIMEOUT_MS)
    wait_for_step_state(page, "connect_card", "done", timeout=1000)
    wait_for_step_state(page, "load_schema", "done", timeout=1000)
    screenshot(page, f"{prefix}-2-choose-tables")
    button.click()
    page.wait_for_url(re.compile(r"/integrations/\d+/setup/$"))
    total = page.locator('[data-role="total"]')
    assert re.match(r"\d+ of \d+ tables will be synced", total.inner_text())
    screenshot(page, f"{prefix}-3-setup")


def submit_selection(page) -> None:
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url(re.compile(r"/integrations/\d+/flow/$"))


def set_up_to_ready(page, base_url: str, screenshot, name: str, prefix: str, service: str = "hubspot") -> int:
    """A whole set-up through the browser: start it, pass the Connect Card, choose the tables, and
    wait on the flow page until it is Ready. Answers the integration's id."""
    integration_id = start_set_up(page, base_url, service, name=name)
    connect_account(page, screenshot, prefix)
    choose_tables(page, screenshot, prefix)
    submit_selection(page)
    page.wait_for_selector('[data-flow][data-flow-state="ready"]', timeout=READY_TIMEOUT_MS)
    return integration_id
