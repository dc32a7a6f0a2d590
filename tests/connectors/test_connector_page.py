"""The connector page (/integrations/new/<service>/): nothing is created until the user confirms."""

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from connectors.catalogue import get_catalogue
from integrations.models import Integration
from integrations.setup.starting import default_name
from teams.models import Team

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def temporal_queue(temporal_settings, temporal_task_queue, settings):
    """Confirming starts the set-up's workflow: on a task queue of this test's own, which no worker runs."""
    settings.TEMPORAL_TASK_QUEUE = temporal_task_queue
URL = "/integrations/new/hubspot/"


@pytest.fixture
def team_member(client):
    user = get_user_model().objects.create_user("grace")
    team = Team.objects.create(name="Navy")
    team.members.add(user)
    client.force_login(user)
    return team, user


def test_the_page_explains_and_links_to_fivetrans_guide_without_creating_anything(client, team_member):
    html = client.get(URL).content.decode()
    assert "Connect HubSpot" in html
    assert "Connect your account" in html and "Choose your data" in html and "First sync" in html
    assert 'href="https://fivetran.com/docs/connectors/applications/hubspot"' in html
    assert 'rel="noopener noreferrer"' in html
    assert 'name="name" value="HubSpot"' in html
    assert Integration.objects.count() == 0


def test_the_default_name_is_unique_in_the_team(client, team_member):
    team, _ = team_member
    hubspot = get_catalogue().get("hubspot")
    assert default_name(team, hubspot) == "HubSpot"
    client.post(URL, {"name": "HubSpot"})
    client.post(URL, {"name": "hubspot 2"})  # names compare without case
    assert default_name(team, hubspot) == "HubSpot 3"
    assert 'name="name" value="HubSpot 3"' in client.get(URL).content.decode()


def test_confirming_creates_the_integration_with_its_name(client, team_member):
    response = client.post(URL, {"name": "  Sales   CRM "})
    integration = Integration.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/integrations/{integration.pk}/flow/"
    assert (integration.name, integration.service) == ("Sales CRM", "hubspot")


def test_a_taken_or_empty_name_is_refused_on_the_page(client, team_member):
    client.post(URL, {"name": "Sales"})
    for name, problem in (("sales", "You already have an integration called"), ("  ", "Give the integration a name.")):
        response = client.post(URL, {"name": name})
        assert response.status_code == 400
        html = response.content.decode()
        assert problem in html and 'aria-invalid="true"' in html
    assert Integration.objects.count() == 1


@override_settings(SHOW_INTERNAL_SERVICES=False)
def test_unknown_and_hidden_connectors_are_not_found(client, team_member):
    assert client.get("/integrations/new/no_such_thing/").status_code == 404
    assert client.get("/integrations/new/fivetran_log/").status_code == 404


def test_the_page_needs_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"] == f"/accounts/login/?next={URL}"


def test_the_api_takes_an_optional_name(client, team_member):
    def create(body):
        return client.post("/api/integrations/", body, content_type="application/json")

    assert create({"service": "hubspot"}).status_code == 201
    assert create({"service": "hubspot"}).status_code == 201
    assert create({"service": "hubspot", "name": "Marketing"}).status_code == 201
    refused = create({"service": "hubspot", "name": "marketing"})
    assert refused.status_code == 400 and "already have" in refused.json()["error"]
    assert sorted(Integration.objects.values_list("name", flat=True)) == ["HubSpot", "HubSpot 2", "Marketing"]
