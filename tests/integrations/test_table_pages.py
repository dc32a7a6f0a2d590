"""The connection page's tables and the on-demand preview, through Django's test client."""

import pytest
from django.contrib.auth import get_user_model

from integrations.models import Integration, Table
from standins.fivetran.destination import BigQueryWriter, synthetic_value
from teams.models import Team
from tests.support.bigquery_fixtures import unique_name
from warehouse.tables import PREVIEW_ROWS

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return get_user_model().objects.create_user(unique_name("member"), password="pw")


@pytest.fixture
def integration(member):
    team = Team.objects.create(name="Acme")
    team.members.add(member)
    return Integration.objects.create(
        team=team, service="hubspot", name="HubSpot", schema_name=unique_name("t1_hubspot"), state=Integration.State.READY
    )


@pytest.fixture
def landed(bigquery_settings, integration):
    """`contact` written to the stand-in with 60 rows and registered; `gone` registered only."""
    from asgiref.sync import async_to_sync

    from standins.fivetran.writer import LandedTable

    writer = BigQueryWriter(bigquery_settings.endpoint, bigquery_settings.project)
    columns = (("id", "INT64"), ("email", "STRING"), ("_fivetran_synced", "TIMESTAMP"))
    async_to_sync(writer.write_table)(
        LandedTable(connection_id="c", service="hubspot", dataset=integration.schema_name, table="contact",
                    columns=columns, row_count=60)
    )
    writer.close()
    contact = Table.objects.create(
        integration=integration, project="local-project", dataset=integration.schema_name, name="contact",
        num_rows=60, num_bytes=2048, columns=[{"name": n, "type": t} for n, t in columns],
    )
    gone = Table.objects.create(integration=integration, project="local-project", dataset=integration.schema_name,
                                name="gone", num_rows=None)
    return contact, gone


def test_page_lists_the_tables_without_asking_bigquery(client, member, integration, settings):
    # BigQuery is unreachable here: the page must still render from our rows.
    settings.BIGQUERY_API_ENDPOINT = "http://127.0.0.1:9"
    Table.objects.create(integration=integration, project="p", dataset="d", name="deal", num_rows=1234, num_bytes=5 * 1024 * 1024)
    client.force_login(member)
    response = client.get(f"/integrations/{integration.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "deal" in html and "1,234" in html and "5.0\xa0MB" in html
    assert f"/integrations/{integration.pk}/tables/" in html and "/preview/" in html  # the preview URLs
    assert "js/tables.js" in html


def test_page_says_when_there_are_no_tables(client, member, integration):
    client.force_login(member)
    response = client.get(f"/integrations/{integration.pk}/")
    assert "No tables yet" in response.content.decode()


def test_preview_shows_the_first_rows(client, member, integration, landed):
    contact, _ = landed
    client.force_login(member)
    response = client.get(f"/integrations/{integration.pk}/tables/{contact.pk}/preview/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<tr>") == PREVIEW_ROWS + 1  # header + 50 of the 60 rows
    assert "<th scope=\"col\">email</th>" in html
    assert f">{synthetic_value('email', 'STRING', 0)}<" in html
    assert f">{synthetic_value('email', 'STRING', PREVIEW_ROWS)}<" not in html


def test_preview_of_a_table_gone_from_bigquery(client, member, integration, landed):
    _, gone = landed
    client.force_login(member)
    response = client.get(f"/integrations/{integration.pk}/tables/{gone.pk}/preview/")
    assert response.status_code == 404
    assert "no longer in BigQuery" in response.content.decode()


def test_another_team_gets_404(client, integration, landed):
    contact, _ = landed
    stranger = get_user_model().objects.create_user(unique_name("stranger"), password="pw")
    Team.objects.create(name="Other").members.add(stranger)
    client.force_login(stranger)
    assert client.get(f"/integrations/{integration.pk}/").status_code == 404
    assert client.get(f"/integrations/{integration.pk}/tables/{contact.pk}/preview/").status_code == 404


def test_anonymous_users_are_sent_to_log_in(client, integration):
    response = client.get(f"/integrations/{integration.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_table_of_another_integration_is_not_previewed(client, member, integration, landed):
    contact, _ = landed
    other = Integration.objects.create(team=integration.team, service="stripe", name="Stripe", schema_name=unique_name("t1_stripe"))
    client.force_login(member)
    assert client.get(f"/integrations/{other.pk}/tables/{contact.pk}/preview/").status_code == 404
