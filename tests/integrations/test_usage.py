"""Usage (MAR) through Django's test client, with the MAR seeded in the BigQuery stand-in: the JSON
API, the connection page's Usage tab, the team usage page and its CSV download. Numbers are checked
against direct SQL sums of the seeded rows; another team's integration answers 404."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client
from django.utils import timezone

from integrations.models import Integration
from teams.models import Team
from tests.support.bigquery_fixtures import unique_name
from tests.support.platform_mar import direct_sum, mar_row, seed_mar
from warehouse.platform_usage import Period

pytestmark = pytest.mark.django_db(transaction=True)


def member(name: str) -> tuple:
    user = get_user_model().objects.create_user(username=unique_name(name), password="pw")
    team = Team.objects.create(name=f"team of {name}")
    team.members.add(user)
    client = Client()
    client.force_login(user)
    return user, team, client


def ready_integration(team: Team, name: str) -> Integration:
    return Integration.objects.create(
        team=team, service="hubspot", name=name, schema_name=unique_name("usage"), state="ready",
        connection_id=unique_name("fivetran"),
    )


def month_back(count: int) -> date:
    """The first day of the month `count` months before this one."""
    return Period.last_months(count + 1, timezone.now().date()).start


@pytest.fixture
def platform(bigquery_settings, settings, standin_client):
    settings.FIVETRAN_PLATFORM_DATASET = unique_name("fivetran_metadata")
    return settings


@pytest.fixture
def alice():
    return member("alice")


@pytest.fixture
def bob():
    return member("bob")


@pytest.fixture
def seeded(platform, standin_client, alice, bob):
    """Alice's team: two connections with MAR this month and last; Bob's team: one, much larger."""
    group = platform.FIVETRAN_GROUP_ID
    crm, shop = ready_integration(alice[1], "Sales CRM"), ready_integration(alice[1], "=Shop")
    other = ready_integration(bob[1], "Bob's CRM")
    now, last = month_back(0), month_back(1)
    rows = [
        mar_row(crm.schema_name, group, "contact", now, 120),
        mar_row(crm.schema_name, group, "company", now, 30),
        mar_row(crm.schema_name, group, "contact", last, 900, free_type="HISTORICAL"),
        mar_row(crm.schema_name, group, "deal", last, 45),
        mar_row(shop.schema_name, group, "orders", now, 7),
        mar_row(shop.schema_name, group, "orders", month_back(13), 5000),  # older than 12 months
        mar_row(other.schema_name, group, "contact", now, 777777),
        mar_row(crm.schema_name, "another_group", "contact", now, 666666),  # the same name elsewhere
    ]
    reference = seed_mar(standin_client, platform.FIVETRAN_PLATFORM_DATASET, rows)
    return {"crm": crm, "shop": shop, "other": other, "reference": reference, "group": group}


def sums(client, seeded, integration, **where) -> int:
    return direct_sum(client, seeded["reference"], connection=integration.schema_name, destination=seeded["group"],
                      **where)


# --- the JSON API -----------------------------------------------------------------------------


def test_api_answers_months_paid_free_and_the_top_tables(alice, seeded, standin_client):
    crm = seeded["crm"]
    response = alice[2].get(f"/api/integrations/{crm.pk}/usage?months=3")
    assert response.status_code == 200, response.content
    body = response.json()
    assert "estimate" in body["estimate"]
    assert [m["month"] for m in body["months"]] == [f"{month_back(n):%Y-%m}" for n in (2, 1, 0)]
    for month in body["months"]:
        assert month["paid"] == sums(standin_client, seeded, crm, month=month["month"], paid=True)
        assert month["free"] == sums(standin_client, seeded, crm, month=month["month"], paid=False)
        assert month["total"] == month["paid"] + month["free"]
    assert [m["total"] for m in body["months"]] == [0, 945, 150]
    assert body["total"] == 1095
    top = body["top_tables"]
    assert top["month"] == f"{month_back(0):%Y-%m}"  # the latest month with usage
    assert [(t["table"], t["total"]) for t in top["tables"]] == [("contact", 120), ("company", 30)]
    assert top["other_tables"] == {"count": 0, "total": 0}

    chosen = alice[2].get(f"/api/integrations/{crm.pk}/usage?months=3&month={month_back(1):%Y-%m}").json()
    assert [(t["table"], t["paid"], t["free"]) for t in chosen["top_tables"]["tables"]] == [
        ("contact", 0, 900), ("deal", 45, 0),
    ]


def test_api_another_team_and_anonymous_get_404(seeded, bob):
    url = f"/api/integrations/{seeded['crm'].pk}/usage"
    assert bob[2].get(url).status_code == 404
    assert bob[2].get(url).json() == {"error": "Not found."}
    assert Client().get(url).status_code == 404


@pytest.mark.parametrize("query", ["months=0", "months=37", "months=x", "months=1.5", "month=2025", "month=June",
                                   "month=1999-01", "months=3&month=2000-13"])
def test_api_bad_input_is_400(alice, seeded, query):
    response = alice[2].get(f"/api/integrations/{seeded['crm'].pk}/usage?{query}")
    assert response.status_code == 400
    assert "month" in response.json()["error"]


def test_api_before_the_platform_connector_has_synced(alice, platform):
    integration = ready_integration(alice[1], "New CRM")
    body = alice[2].get(f"/api/integrations/{integration.pk}/usage").json()
    assert len(body["months"]) == 12 and body["total"] == 0 and body["top_tables"] is None


# --- the pages ----------------------------------------------------------------------------------


def test_the_usage_tab_draws_charts_and_their_tables(alice, seeded):
    crm = seeded["crm"]
    page = alice[2].get(f"/integrations/{crm.pk}/?tab=usage&months=3")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('<svg role="img"') == 4  # the months and the top tables, each wide and narrow
    assert 'viewBox="0 0 ' in html and "kozea.github.io" not in html  # scales, and fetches no script
    assert "estimate from Fivetran" in html
    assert 'data-month="{:%Y-%m}"'.format(month_back(1)) in html
    assert page.context["usage"].total == 1095
    assert [(t.table_name, t.total) for t in page.context["usage"].top.tables] == [("contact", 120), ("company", 30)]
    assert alice[2].get(f"/integrations/{crm.pk}/?tab=usage&months=99").status_code == 404


def test_the_usage_tab_says_plainly_when_there_is_no_usage_yet(alice, platform):
    integration = ready_integration(alice[1], "Quiet CRM")
    html = alice[2].get(f"/integrations/{integration.pk}/?tab=usage").content.decode()
    assert "No usage reported yet" in html and "<svg" not in html


def test_the_team_page_shows_only_the_team_and_adds_up(alice, seeded, standin_client):
    page = alice[2].get("/integrations/usage/")
    assert page.status_code == 200
    usage = page.context["usage"]
    assert [row.integration.name for row in usage.connections] == ["Sales CRM", "=Shop"]
    assert [row.total for row in usage.connections] == [
        sums(standin_client, seeded, seeded["crm"], month=f"{month_back(1):%Y-%m}")
        + sums(standin_client, seeded, seeded["crm"], month=f"{month_back(0):%Y-%m}"),
        7,
    ]
    assert usage.total == sum(row.total for row in usage.connections) == 1102
    html = page.content.decode()
    assert "Bob" not in html and '<svg role="img"' in html
    assert 'href="/integrations/usage.csv?months=12"' in html
    assert alice[2].get("/integrations/usage/?months=-1").status_code == 400
    assert Client().get("/integrations/usage/").status_code == 302
    assert 'href="/integrations/usage/"' in alice[2].get("/integrations/").content.decode()


async def test_the_csv_download_streams_the_teams_tables_per_month(alice, seeded):
    client = AsyncClient()
    await client.aforce_login(alice[0])
    response = await client.get("/integrations/usage.csv?months=12")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="usage-{month_back(11):%Y-%m}-to-{month_back(0):%Y-%m}.csv"'
    )
    text = b"".join([chunk async for chunk in response.streaming_content]).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["connection", "fivetran_connection_id", "month", "schema", "table", "paid_mar", "free_mar",
                       "total_mar"]
    crm, shop = seeded["crm"], seeded["shop"]
    now, last = f"{month_back(0):%Y-%m}", f"{month_back(1):%Y-%m}"
    assert sorted(rows[1:]) == sorted([
        ["Sales CRM", crm.connection_id, last, "public", "contact", "0", "900", "900"],
        ["Sales CRM", crm.connection_id, last, "public", "deal", "45", "0", "45"],
        ["Sales CRM", crm.connection_id, now, "public", "company", "30", "0", "30"],
        ["Sales CRM", crm.connection_id, now, "public", "contact", "120", "0", "120"],
        ["'=Shop", shop.connection_id, now, "public", "orders", "7", "0", "7"],  # never run as a formula
    ])

    assert (await AsyncClient().get("/integrations/usage.csv")).status_code == 302
    assert (await client.get("/integrations/usage.csv?months=nope")).status_code == 400
