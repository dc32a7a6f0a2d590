"""Usage (MAR) as a user sees it, in Chromium against `manage.py serve`: the connection's Usage tab
and the team usage page draw their charts (inline SVG), and the numbers in their tables equal a
direct query of the BigQuery stand-in; both read at 360 px without sideways scrolling, and the
month chooser works without JavaScript."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from tests.support.browser_steps import log_in
from tests.support.platform_mar import direct_sum, mar_row, ready_integration_on, seed_mar
from warehouse.bigquery import make_client
from warehouse.platform_usage import Period

GROUP = "embedded_group"  # the served product's FIVETRAN_GROUP_ID (its default)
DATASET = "fivetran_metadata"  # and its FIVETRAN_PLATFORM_DATASET
TABLES = 14  # more than the ten top tables shown: the rest is one line


def months_back(count: int) -> date:
    return Period.last_months(count + 1, datetime.now(timezone.utc).date()).start


def number(locator) -> int:
    return int(locator.inner_text().replace(",", ""))


def test_the_usage_tab_and_the_team_page(chromium, live_server_process, bigquery_standin, screenshot):
    server = live_server_process
    schema_name = f"usage_e2e_{uuid.uuid4().hex[:8]}"
    integration_id = ready_integration_on(server, "Usage CRM", schema_name)
    client = make_client(bigquery_standin.project, endpoint=bigquery_standin.endpoint)
    this, last = months_back(0), months_back(1)
    rows = [
        mar_row(schema_name, GROUP, f"table_{t:02d}", day, (t + 1) * 37 + (i * 5), free_type=kind)
        for t in range(TABLES)
        for i, (day, kind) in enumerate([(last, "HISTORICAL"), (last, "PAID"), (this, "PAID")])
    ]
    rows.append(mar_row(schema_name, "another_group", "table_00", this, 999_999))  # another tenant's
    reference = seed_mar(client, DATASET, rows)

    def expected(month: date, **where) -> int:
        return direct_sum(client, reference, connection=schema_name, destination=GROUP, month=f"{month:%Y-%m}", **where)

    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    try:
        page = log_in(context, server.base_url, "demo", "demo")
        page.goto(f"{server.base_url}/integrations/{integration_id}/")
        page.get_by_role("link", name="Usage").click()
        page.wait_for_selector('[data-role="usage"]')
        # Each chart is drawn wide and narrow; the page shows the one that fits.
        assert page.locator('[data-role="monthly-chart"] svg[role="img"]:visible').count() == 1
        assert page.locator('[data-role="top-chart"] .usage-chart__wide svg[role="img"]').is_visible()
        assert "estimate from Fivetran" in page.locator('[data-role="estimate"]').inner_text()
        for month in (this, last):
            row = page.locator(f'[data-role="usage-months"] tr[data-month="{month:%Y-%m}"]')
            assert number(row.locator('[data-field="paid"]')) == expected(month, paid=True)
            assert number(row.locator('[data-field="free"]')) == expected(month, paid=False)
            assert number(row.locator('[data-field="total"]')) == expected(month)

        # The latest month's top tables: ten, then the rest, adding up to the month.
        top = page.locator('[data-role="top-tables"]')
        assert top.locator("tbody tr[data-table]").count() == 10
        first = top.locator("tbody tr[data-table]").first
        assert first.get_attribute("data-table") == f"public.table_{TABLES - 1:02d}"
        assert number(first.locator('[data-field="total"]')) == expected(this, table=f"table_{TABLES - 1:02d}")
        assert top.locator('[data-role="other-tables"] th').inner_text() == f"{TABLES - 10} other tables"
        assert number(top.locator('[data-role="month-total"] [data-field="total"]')) == expected(this)
        screenshot(page, "usage-1-tab")

        # Another month, chosen with a plain form (no JavaScript needed).
        page.select_option("#usage-month", f"{last:%Y-%m}")
        page.locator("form:has(#usage-month) button").click()
        page.wait_for_url(f"**month={last:%Y-%m}**")
        assert number(page.locator('[data-role="month-total"] [data-field="total"]')) == expected(last)
        assert number(page.locator('[data-role="month-total"] [data-field="free"]')) == expected(last, paid=False)

        page.set_viewport_size({"width": 360, "height": 800})
        screenshot(page, "usage-2-tab-narrow")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling on a phone"
        narrow = page.locator('[data-role="monthly-chart"] .usage-chart__narrow svg')
        assert narrow.is_visible() and narrow.bounding_box()["width"] <= 360
        assert not page.locator('[data-role="monthly-chart"] .usage-chart__wide svg').is_visible()

        # The team page, from the list page.
        page.goto(f"{server.base_url}/integrations/")
        page.locator('[data-role="usage-link"]').click()
        page.wait_for_selector('[data-role="team-usage"]')
        assert page.locator('[data-role="monthly-chart"] svg[role="img"]:visible').count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        mine = page.locator(f'[data-role="usage-connections"] tr[data-integration="{integration_id}"]')
        assert number(mine.locator('[data-field="total"]')) == expected(this) + expected(last)
        for month in (this, last):
            cell = page.locator(
                f'[data-role="usage-connection-months"] tr[data-integration="{integration_id}"][data-month="{month:%Y-%m}"]'
            )
            assert number(cell.locator('[data-field="paid"]')) == expected(month, paid=True)
            assert number(cell.locator('[data-field="total"]')) == expected(month)
        # Counts that add up: the team's months are the sum of its connections.
        connections = page.locator('[data-role="usage-connections"] tbody [data-field="total"]')
        assert number(page.locator('[data-role="usage-total"] [data-field="total"]')) == sum(
            number(connections.nth(i)) for i in range(connections.count())
        )
        screenshot(page, "usage-3-team-narrow")
        assert page.locator('[data-role="csv"]').get_attribute("href").startswith("/integrations/usage.csv")
    except Exception:
        print(server.log()[-4000:])
        raise
    finally:
        context.close()
        client.close()
