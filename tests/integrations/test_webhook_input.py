"""A correctly signed Fivetran webhook whose body is not a JSON object, or is nested deeper than the
parser can follow, is refused with 400 and a JSON error, and changes nothing."""

import hashlib
import hmac

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from connectors.catalogue import get_catalogue
from integrations.engine import dispatch
from integrations.engine.messages import FivetranEvent
from integrations.models import Integration, IntegrationEvent, SetupStep
from integrations.setup.flow import integration_create
from teams.models import Team

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec_input_test"
CONNECTION_ID = "brisk_lantern"
DEPTH = 5000  # far deeper than the json module's recursion limit


def signed(body: bytes) -> str:
    # As Fivetran signs: HMAC-SHA256 of the raw body with the webhook's secret, upper-case hex.
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest().upper()


@pytest.fixture
def waiting_sync(settings):
    """An integration whose historical sync waits on its timer: what a webhook would nudge."""
    settings.FIVETRAN_WEBHOOK_SECRET = SECRET
    user = get_user_model().objects.create_user(username="webhook-input", password="pw")
    team = Team.objects.create(name="Webhook input")
    team.members.add(user)
    integration = integration_create(team=team, user=user, service=get_catalogue().get("hubspot"))
    Integration.objects.filter(pk=integration.pk).update(connection_id=CONNECTION_ID)
    SetupStep.objects.filter(integration=integration, name="historical_sync").update(state="running")
    return integration


def state_of(integration) -> tuple:
    return (
        list(SetupStep.objects.filter(integration=integration).order_by("position").values_list("state", "scratch")),
        IntegrationEvent.objects.filter(integration=integration).count(),
        Integration.objects.filter(pk=integration.pk).values_list("state", "updated_at").get(),
    )


def post(body: bytes):
    # The test client must answer as daphne would (a 500 page), not re-raise the view's exception.
    client = Client(raise_request_exception=False)
    return client.post("/webhooks/fivetran/", body, content_type="application/json", HTTP_X_FIVETRAN_SIGNATURE_256=signed(body))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[1,2]", id="array"),
        pytest.param(b'"x"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b"42", id="number"),
        pytest.param(f'[{{"connector_id": "{CONNECTION_ID}"}}]'.encode(), id="the right object inside an array"),
        pytest.param(b"[" * DEPTH + b"]" * DEPTH, id="arrays 5000 deep"),
        pytest.param(b'{"a":' * DEPTH + b"1" + b"}" * DEPTH, id="objects 5000 deep"),
        pytest.param(b'{"connector_id": ' + b"[" * DEPTH + b"]" * DEPTH + b"}", id="an id 5000 deep"),
        pytest.param(b'{"connector_id": ["' + CONNECTION_ID.encode() + b'"]}', id="an id that is not a string"),
        pytest.param(b'{"connector_id": "' + CONNECTION_ID.encode(), id="truncated"),
        pytest.param(b'{"connector_id": "\xff\xfe"}', id="not UTF-8"),
    ],
)
def test_a_signed_body_that_is_not_a_json_object_is_refused_and_changes_nothing(waiting_sync, body, monkeypatch):
    nudged = []
    monkeypatch.setattr(dispatch, "fivetran_changed", lambda integration_id: nudged.append(integration_id))
    before = state_of(waiting_sync)
    response = post(body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"].startswith(("the body must be", "connection_id must be"))
    assert state_of(waiting_sync) == before and nudged == []


def test_the_same_signed_object_still_nudges_the_waiting_sync(waiting_sync, monkeypatch):
    nudged = []

    async def record(integration_id, event=None):
        nudged.append((integration_id, event))
        return True

    monkeypatch.setattr(dispatch, "fivetran_changed", record)
    response = post(f'{{"event": "sync_end", "connector_id": "{CONNECTION_ID}", "sync_id": "s-1"}}'.encode())
    assert response.status_code == 204
    # The workflow hears the webhook's ids and words only; it reads the state from Fivetran.
    assert nudged == [(waiting_sync.pk, FivetranEvent(event="sync_end", sync_id="s-1"))]


def test_a_failed_syncs_reason_is_kept_in_fivetrans_words(waiting_sync, monkeypatch):
    async def record(integration_id, event=None):
        return True

    monkeypatch.setattr(dispatch, "fivetran_changed", record)
    body = (
        f'{{"event": "sync_end", "connector_id": "{CONNECTION_ID}", '
        '"data": {"status": "FAILURE_WITH_TASK", "reason": "access token was revoked", "taskType": "reconnect"}}'
    ).encode()
    assert post(body).status_code == 204
    assert Integration.objects.get(pk=waiting_sync.pk).last_sync_reason == "access token was revoked"
    # A successful sync's webhook carries no failure words and changes nothing.
    ok = f'{{"event": "sync_end", "connector_id": "{CONNECTION_ID}", "data": {{"status": "SUCCESSFUL"}}}}'.encode()
    assert post(ok).status_code == 204
    assert Integration.objects.get(pk=waiting_sync.pk).last_sync_reason == "access token was revoked"
