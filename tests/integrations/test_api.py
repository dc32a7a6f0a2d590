"""The JSON API and the webhook, through Django's test client (session auth, CSRF enforced)."""

import hashlib
import hmac
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from integrations.models import Integration, SetupStep
from teams.models import Team

pytestmark = pytest.mark.django_db(transaction=True)


def member(name: str) -> tuple:
    user = get_user_model().objects.create_user(username=name, password="pw")
    team = Team.objects.create(name=f"team of {name}")
    team.members.add(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/integrations/new/")  # sets the csrftoken cookie, as a page would
    return user, client


def post_json(client: Client, url: str, body) -> object:
    return client.post(
        url, json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )


@pytest.fixture
def alice():
    return member("alice")


@pytest.fixture
def bob():
    return member("bob")


def create(client, service="hubspot"):
    response = post_json(client, "/api/integrations/", {"service": service})
    assert response.status_code == 201, response.content
    return response.json()


def test_create_answers_at_once_with_links(alice):
    body = create(alice[1])
    assert body["flow_url"] == f"/integrations/{body['id']}/flow/"
    assert body["ws_url"].endswith(f"/ws/integrations/{body['id']}/")
    integration = Integration.objects.get(pk=body["id"])
    assert integration.state == "pending"
    assert list(integration.steps.values_list("name", flat=True))[0] == "create_connection"
    assert integration.steps.get(name="create_connection").due_at is not None


def test_create_refuses_unknown_and_internal_services(alice, settings):
    settings.SHOW_INTERNAL_SERVICES = False
    for service in ["no_such_service", "fivetran_log", 42]:
        response = post_json(alice[1], "/api/integrations/", {"service": service})
        assert response.status_code == 400
        assert "Unknown service" in response.json()["error"]
    assert Integration.objects.count() == 0


def test_create_needs_login_and_csrf(alice):
    assert Client().post("/api/integrations/", "{}", content_type="application/json").status_code in (401, 403)
    no_csrf = Client(enforce_csrf_checks=True)
    no_csrf.force_login(alice[0])
    assert no_csrf.post("/api/integrations/", '{"service":"hubspot"}', content_type="application/json").status_code == 403


def test_schema_names_differ_per_integration(alice):
    first, second = create(alice[1]), create(alice[1])
    names = set(Integration.objects.filter(pk__in=[first["id"], second["id"]]).values_list("schema_name", flat=True))
    assert len(names) == 2
    assert all(name.startswith("t") and name.replace("_", "").isalnum() for name in names)


def test_another_teams_integration_is_404_everywhere(alice, bob):
    body = create(alice[1])
    pk = body["id"]
    bob_client = bob[1]
    assert bob_client.get(f"/api/integrations/{pk}/").status_code == 404
    assert bob_client.get(f"/api/integrations/{pk}/events?since=0").status_code == 404
    assert bob_client.get(f"/api/integrations/{pk}/schema/").status_code == 404
    assert post_json(bob_client, f"/api/integrations/{pk}/retry/", {}).status_code == 404
    assert post_json(bob_client, f"/api/integrations/{pk}/schema/", {"selected": {}}).status_code == 404
    assert bob_client.get(f"/integrations/{pk}/flow/").status_code == 404
    assert bob_client.delete(f"/api/integrations/{pk}/", HTTP_X_CSRFTOKEN=bob_client.cookies["csrftoken"].value).status_code == 404
    assert bob_client.post(f"/integrations/{pk}/delete/", {"csrfmiddlewaretoken": bob_client.cookies["csrftoken"].value}).status_code == 404
    assert Integration.objects.filter(pk=pk).exists()
    assert bob_client.get("/api/integrations/999999/").status_code == 404


def test_snapshot_and_events(alice):
    pk = create(alice[1])["id"]
    snapshot = alice[1].get(f"/api/integrations/{pk}/").json()
    assert snapshot["id"] == pk and snapshot["state"] == "pending" and snapshot["seq"] == 0
    assert [step["name"] for step in snapshot["steps"]][-1] == "register_tables"
    assert alice[1].get(f"/api/integrations/{pk}/events?since=0").json() == []
    assert alice[1].get(f"/api/integrations/{pk}/events?since=5").status_code == 410


SOURCE_SCHEMA = {
    "schemas": [
        {
            "name": "hubspot",
            "name_in_destination": "hubspot",
            "enabled": True,
            "tables": [
                {"name": "contact", "name_in_destination": "contact", "enabled": True, "locked": False, "reason": None},
                {"name": "deal", "name_in_destination": "deal", "enabled": False, "locked": False, "reason": None},
                {"name": "owner", "name_in_destination": "owner", "enabled": True, "locked": True, "reason": "System table"},
            ],
        }
    ]
}


def waiting_for_selection(pk: int) -> None:
    Integration.objects.filter(pk=pk).update(source_schema=SOURCE_SCHEMA)
    SetupStep.objects.filter(integration_id=pk, position__lt=3).update(state="done", due_at=None)
    SetupStep.objects.filter(integration_id=pk, name="select_tables").update(state="waiting_for_user")


def test_schema_lists_choosable_tables_only(alice):
    pk = create(alice[1])["id"]
    assert alice[1].get(f"/api/integrations/{pk}/schema/").status_code == 409  # not loaded yet
    waiting_for_selection(pk)
    body = alice[1].get(f"/api/integrations/{pk}/schema/").json()
    assert body == {
        "schemas": [{"name": "hubspot", "tables": [{"name": "contact", "enabled": True}, {"name": "deal", "enabled": False}]}],
        "locked_tables": 1,
        # New in this version (compatible): which tables Fivetran always syncs, and why.
        "required_tables": [{"schema": "hubspot", "name": "owner", "reason": "System table"}],
    }


@pytest.mark.parametrize(
    "selected, message",
    [
        ({"nope": ["contact"]}, "Unknown schema 'nope'"),
        ({"hubspot": ["nope"]}, "Unknown table 'nope'"),
        ({"hubspot": ["owner"]}, "always synced"),
        ({"hubspot": []}, "at least one"),
        ({}, "at least one"),
        (["contact"], "must map"),
    ],
)
def test_a_bad_selection_is_a_400_naming_it(alice, selected, message):
    pk = create(alice[1])["id"]
    waiting_for_selection(pk)
    response = post_json(alice[1], f"/api/integrations/{pk}/schema/", {"selected": selected})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert Integration.objects.get(pk=pk).selection is None


def test_a_selection_is_recorded_and_queues_the_schema_update(alice):
    pk = create(alice[1])["id"]
    waiting_for_selection(pk)
    response = post_json(alice[1], f"/api/integrations/{pk}/schema/", {"selected": {"hubspot": ["deal", "contact"]}})
    assert response.status_code == 202
    assert Integration.objects.get(pk=pk).selection == {"hubspot": ["contact", "deal"]}
    assert SetupStep.objects.get(integration_id=pk, name="select_tables").state == "done"
    assert SetupStep.objects.get(integration_id=pk, name="update_schema").due_at is not None
    events = alice[1].get(f"/api/integrations/{pk}/events?since=0").json()
    assert [e["type"] for e in events] == ["step.completed"]
    # A second post is a conflict, not a second transition.
    again = post_json(alice[1], f"/api/integrations/{pk}/schema/", {"selected": {"hubspot": ["deal"]}})
    assert again.status_code == 409


def test_retry_is_409_without_a_failed_step(alice):
    pk = create(alice[1])["id"]
    assert post_json(alice[1], f"/api/integrations/{pk}/retry/", {}).status_code == 409
    SetupStep.objects.filter(integration_id=pk, name="create_connection").update(state="failed", error_code="x")
    assert post_json(alice[1], f"/api/integrations/{pk}/retry/", {}).status_code == 202
    step = SetupStep.objects.get(integration_id=pk, name="create_connection")
    assert step.state == "running" and step.attempt == 1 and step.due_at is not None
    # The new attempt is an event at once, so replays and snapshots agree even before a worker runs.
    events = alice[1].get(f"/api/integrations/{pk}/events?since=0").json()
    assert [(e["type"], e["data"]) for e in events] == [("step.started", {"step": "create_connection", "attempt": 1})]
    assert post_json(alice[1], f"/api/integrations/{pk}/retry/", {}).status_code == 409


def signed(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().upper()


# The worked example of fivetran-fixtures/webhook_signature_example.json.
EXAMPLE_SECRET = "whsec_demo_3b9e7c"
EXAMPLE_BODY = (
    b'{"event":"sync_end","created":"2026-05-12T10:07:53.021Z","connector_type":"hubspot",'
    b'"connector_id":"brisk_lantern","connector_name":"u42_hubspot",'
    b'"sync_id":"6f1d2c8e-4b7a-4e35-9d0a-2f5c1b7e9a44","destination_group_id":"larch_meadow",'
    b'"data":{"status":"SUCCESSFUL"}}'
)
EXAMPLE_SIGNATURE = "A05794CCAEF477BB5AADCCA3AFA6C28099C7FC51D0BEADC27F5A8FB5816E19B3"


def test_webhook_signature_of_the_worked_example():
    from integrations.web.webhook import signature_valid

    assert signature_valid(EXAMPLE_BODY, EXAMPLE_SIGNATURE, EXAMPLE_SECRET)
    assert signature_valid(EXAMPLE_BODY, EXAMPLE_SIGNATURE.lower(), EXAMPLE_SECRET)
    assert not signature_valid(EXAMPLE_BODY + b" ", EXAMPLE_SIGNATURE, EXAMPLE_SECRET)
    assert not signature_valid(EXAMPLE_BODY, None, EXAMPLE_SECRET)
    assert not signature_valid(EXAMPLE_BODY, EXAMPLE_SIGNATURE, None)


def test_webhook_refuses_bad_or_missing_signatures_and_nudges_the_waiting_sync(alice, settings):
    settings.FIVETRAN_WEBHOOK_SECRET = "whsec_test"
    pk = create(alice[1])["id"]
    Integration.objects.filter(pk=pk).update(connection_id="brisk_lantern")
    SetupStep.objects.filter(integration_id=pk).update(due_at=None)
    later = timezone.now() + timezone.timedelta(hours=1)
    SetupStep.objects.filter(integration_id=pk, name="historical_sync").update(state="running", due_at=later)
    body = json.dumps({"event": "sync_end", "connector_id": "brisk_lantern", "data": {"status": "SUCCESSFUL"}}, separators=(",", ":")).encode()
    client = Client()
    missing = client.post("/webhooks/fivetran/", body, content_type="application/json")
    forged = client.post("/webhooks/fivetran/", body, content_type="application/json", HTTP_X_FIVETRAN_SIGNATURE_256=signed(body, "wrong"))
    assert (missing.status_code, forged.status_code) == (401, 401)
    assert SetupStep.objects.get(integration_id=pk, name="historical_sync").due_at == later
    odd = client.post("/webhooks/fivetran/", body, content_type="application/json", HTTP_X_FIVETRAN_SIGNATURE_256="é" * 64)
    assert odd.status_code == 401
    good = client.post("/webhooks/fivetran/", body, content_type="application/json", HTTP_X_FIVETRAN_SIGNATURE_256=signed(body, "whsec_test"))
    assert good.status_code == 204
    assert SetupStep.objects.get(integration_id=pk, name="historical_sync").due_at <= timezone.now()


def test_only_enabled_locked_tables_count_as_always_synced():
    from integrations.setup.selection import locked_count

    schema = {
        "schemas": [
            {"name": "a", "enabled": True, "tables": [
                {"name": "t1", "enabled": True, "locked": True},
                {"name": "t2", "enabled": False, "locked": True},  # e.g. deleted at the source
                {"name": "t3", "enabled": True, "locked": False},
            ]},
            {"name": "b", "enabled": False, "tables": [{"name": "t4", "enabled": True, "locked": True}]},
        ]
    }
    assert locked_count(schema) == 1
