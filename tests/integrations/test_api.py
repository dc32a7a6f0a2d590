"""The JSON API and the webhook, through Django's test client (session auth, CSRF enforced).

Creating an integration starts its Temporal workflow on the session's dev server; the tests that
need it to move run the set-up's worker (and the Fivetran emulator) in their own loop."""

import hashlib
import hmac
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client

from gyana.temporal.client import get_client
from integrations.engine.dispatch import workflow_id_of
from integrations.models import Integration, SetupStep
from teams.models import Team
from tests.support.flow_fixtures import Driver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def temporal_queue(temporal_settings, temporal_task_queue, settings):
    """Workflows go to a task queue of this test's own: no other test's worker picks them up."""
    settings.TEMPORAL_TASK_QUEUE = temporal_task_queue


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

    async def running_workflow():
        return await (await get_client()).get_workflow_handle(await workflow_id_of(integration.pk)).describe()

    description = async_to_sync(running_workflow)()
    assert description.workflow_type == "IntegrationSetup" and description.status.name == "RUNNING"


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
    SetupStep.objects.filter(integration_id=pk, position__lt=3).update(state="done")
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


async def async_member(name: str):
    user = await sync_to_async(get_user_model().objects.create_user)(username=name, password="pw")
    team = await Team.objects.acreate(name=f"team of {name}")
    await team.members.aadd(user)
    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(user)
    await client.get("/integrations/new/")  # sets the csrftoken cookie, as a page would
    return client


async def apost(client: AsyncClient, url: str, body) -> object:
    return await client.post(
        url, json.dumps(body), content_type="application/json", headers={"X-CSRFToken": client.cookies["csrftoken"].value}
    )


async def test_a_selection_is_recorded_once_and_the_set_up_goes_on(flow_settings, flow_emulator, setup_worker_running):
    client = await async_member("carol")
    response = await apost(client, "/api/integrations/", {"service": "hubspot"})
    driver = Driver(response.json()["id"])
    pk = driver.integration_id
    assert (await apost(client, f"/api/integrations/{pk}/schema/", {"selected": {"x": ["y"]}})).status_code == 409
    await driver.until_waiting("connect_card")
    await driver.return_from_card(flow_emulator)
    integration = await driver.until_waiting("select_tables")
    schema = integration.source_schema["schemas"][0]
    chosen = [table["name"] for table in schema["tables"] if not table["locked"]][:2]
    response = await apost(client, f"/api/integrations/{pk}/schema/", {"selected": {schema["name"]: chosen}})
    assert response.status_code == 202, response.content
    integration = await Integration.objects.aget(pk=pk)
    assert integration.selection == {schema["name"]: sorted(chosen)}
    assert (await driver.step("select_tables")).state == "done"
    # A second post is a conflict, not a second transition.
    again = await apost(client, f"/api/integrations/{pk}/schema/", {"selected": {schema["name"]: chosen[:1]}})
    assert again.status_code == 409
    await driver.until_state("ready")
    completed = [e["data"]["step"] for e in await driver.events() if e["type"] == "step.completed"]
    assert completed.count("select_tables") == 1


async def test_retry_is_409_without_a_failed_step_and_restarts_a_failed_one(
    flow_settings, flow_emulator, setup_worker_running
):
    flow_settings.SETUP_SYNC_TIMEOUT_SECONDS = 0  # the historical sync fails for good at once
    client = await async_member("dave")
    pk = (await apost(client, "/api/integrations/", {"service": "google_sheets"})).json()["id"]
    driver = Driver(pk)
    assert (await apost(client, f"/api/integrations/{pk}/retry/", {})).status_code == 409
    await driver.until_waiting("connect_card")
    await driver.return_from_card(flow_emulator)
    await driver.until_state("failed")
    flow_settings.SETUP_SYNC_TIMEOUT_SECONDS = 3600
    response = await apost(client, f"/api/integrations/{pk}/retry/", {})
    assert response.status_code == 202, response.content
    step = await driver.step("historical_sync")
    assert step.state in ("running", "done") and step.attempt == 2
    # The new attempt is an event at once, so replays and snapshots agree.
    started = [e["data"] for e in await driver.events() if e["type"] == "step.started"]
    assert {"step": "historical_sync", "attempt": 2} in started
    await driver.until_state("ready")
    assert (await apost(client, f"/api/integrations/{pk}/retry/", {})).status_code == 409


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


def signals_received(pk: int) -> list[str]:
    async def history():
        handle = (await get_client()).get_workflow_handle(await workflow_id_of(pk))
        return [
            event.workflow_execution_signaled_event_attributes.signal_name
            for event in (await handle.fetch_history()).events
            if event.HasField("workflow_execution_signaled_event_attributes")
        ]

    return async_to_sync(history)()


def test_webhook_refuses_bad_or_missing_signatures_and_nudges_the_workflow(alice, settings):
    settings.FIVETRAN_WEBHOOK_SECRET = "whsec_test"
    pk = create(alice[1])["id"]
    Integration.objects.filter(pk=pk).update(connection_id="brisk_lantern")
    body = json.dumps({"event": "sync_end", "connector_id": "brisk_lantern", "data": {"status": "SUCCESSFUL"}}, separators=(",", ":")).encode()
    client = Client()
    missing = client.post("/webhooks/fivetran/", body, content_type="application/json")
    forged = client.post("/webhooks/fivetran/", body, content_type="application/json", HTTP_X_FIVETRAN_SIGNATURE_256=signed(body, "wrong"))
    assert (missing.status_code, forged.status_code) == (401, 401)
    assert signals_received(pk) == []
    odd = client.post("/webhooks/fivetran/", body, content_type="application/json", HTTP_X_FIVETRAN_SIGNATURE_256="é" * 64)
    assert odd.status_code == 401
    good = client.post("/webhooks/fivetran/", body, content_type="application/json", HTTP_X_FIVETRAN_SIGNATURE_256=signed(body, "whsec_test"))
    assert good.status_code == 204
    assert signals_received(pk) == ["fivetran_changed"]


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
