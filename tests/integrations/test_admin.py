"""The Django admin for staff: every model's pages answer, and the flow's own rows stay read-only."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from connectors.catalogue import get_catalogue
from integrations.admin import IntegrationAdmin
from integrations.models import Integration, IntegrationEvent, SetupStep, Sync, Table
from integrations.setup.flow import integration_create
from teams.models import Team

pytestmark = pytest.mark.django_db

MODELS = [Team, Integration, SetupStep, IntegrationEvent, Table, Sync]


@pytest.fixture
def staff(client):
    user = get_user_model().objects.create_superuser("staff", "staff@example.com", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def integration() -> Integration:
    user = get_user_model().objects.create_user(username="owner", password="pw")
    team = Team.objects.create(name="Owners")
    team.members.add(user)
    integration = integration_create(team=team, user=user, service=get_catalogue().get("hubspot"))
    IntegrationEvent.objects.create(integration=integration, seq=1, type="step", time=timezone.now(), data={"a": 1})
    Table.objects.create(integration=integration, project="p", dataset=integration.schema_name, name="contacts")
    Sync.objects.create(integration=integration, sync_id="6f1d2c8e", started_at=timezone.now(), reason="quota")
    return integration


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_each_changelist_and_object_page_answers(staff, integration, model):
    assert staff.get(admin_url(model, "changelist")).status_code == 200
    # Search and filters run real queries: "notauuid" must not break the exact uuid lookup.
    assert staff.get(admin_url(model, "changelist"), {"q": "hubspot notauuid"}).status_code == 200
    obj = model.objects.first()
    assert staff.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", [SetupStep, IntegrationEvent, Table, Sync], ids=lambda model: model.__name__)
def test_the_flow_rows_are_read_only(staff, integration, model):
    obj = model.objects.first()
    assert staff.get(admin_url(model, "add")).status_code == 403
    assert staff.post(admin_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    page = staff.get(admin_url(model, "change", obj.pk)).content.decode()
    assert 'name="_save"' not in page
    assert model.objects.filter(pk=obj.pk).exists()


def test_an_integration_can_be_renamed_but_not_added_or_deleted(staff, integration, monkeypatch):
    assert staff.get(admin_url(Integration, "add")).status_code == 403
    assert staff.post(admin_url(Integration, "delete", integration.pk), {"post": "yes"}).status_code == 403
    # Nor through its team: the cascade would leave the Fivetran connection behind.
    assert staff.post(admin_url(Team, "delete", integration.team.pk), {"post": "yes"}).status_code == 403
    assert Integration.objects.filter(pk=integration.pk).exists()

    form = staff.get(admin_url(Integration, "change", integration.pk)).context["adminform"].form
    assert list(form.fields) == ["name"]
    # A worker moves the state while the admin handles the rename: the save must not put the old
    # state back. The admin has read the row by then, so move it right after that read.
    read = IntegrationAdmin.get_object

    def read_then_worker_moves(self, request, object_id, from_field=None):
        obj = read(self, request, object_id, from_field)
        Integration.objects.filter(pk=object_id).update(state=Integration.State.RUNNING, last_seq=7)
        return obj

    monkeypatch.setattr(IntegrationAdmin, "get_object", read_then_worker_moves)
    steps = SetupStep.objects.filter(integration=integration).count()
    response = staff.post(
        admin_url(Integration, "change", integration.pk),
        {"name": "CRM", "steps-TOTAL_FORMS": steps, "steps-INITIAL_FORMS": steps},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    integration.refresh_from_db()
    assert (integration.name, integration.state, integration.last_seq) == ("CRM", Integration.State.RUNNING, 7)


def test_a_team_without_integrations_can_be_edited_and_deleted(staff):
    member = get_user_model().objects.create_user(username="member", password="pw")
    team = Team.objects.create(name="Empty")
    response = staff.post(admin_url(Team, "change", team.pk), {"name": "Renamed", "members": [member.pk]})
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.name == "Renamed" and list(team.members.all()) == [member]
    assert staff.post(admin_url(Team, "delete", team.pk), {"post": "yes"}).status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()
