"""docs/asyncapi.yaml is generated from integrations/event_schemas.py and must stay in step with it."""


import jsonschema
import pytest
import yaml
from django.core.management import CommandError, call_command

from integrations.management.commands.asyncapi import render
from integrations.state.event_schemas import DATA_SCHEMAS, ERROR_FRAME, frame_schema
from tests.support.paths import REPO

DOC = REPO / "docs" / "asyncapi.yaml"


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(DOC.read_text())


def test_committed_document_is_up_to_date():
    call_command("asyncapi", "--check")  # raises CommandError when the file differs


def test_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "asyncapi.yaml"
    stale.write_text(render().replace("step.progress", "step.progres", 1))
    with pytest.raises(CommandError, match="out of date"):
        call_command("asyncapi", "--check", "--path", str(stale))
    call_command("asyncapi", "--path", str(stale))
    call_command("asyncapi", "--check", "--path", str(stale))


def test_every_frame_type_is_a_message_with_its_schema(document):
    messages = document["components"]["messages"]
    for type in DATA_SCHEMAS:
        assert messages[type]["payload"] == frame_schema(type), type
        jsonschema.Draft7Validator.check_schema(messages[type]["payload"])
    assert messages["error"]["payload"] == ERROR_FRAME
    received = {ref["$ref"].rsplit("/", 1)[-1] for ref in document["operations"]["receiveSetupEvents"]["messages"]}
    assert received == set(DATA_SCHEMAS) | {"error"}
    sent = [ref["$ref"].rsplit("/", 1)[-1] for ref in document["operations"]["sendPing"]["messages"]]
    assert sent == ["ping"]
    jsonschema.validate({"type": "ping"}, messages["ping"]["payload"])


def test_channel_documents_address_resume_and_close_codes(document):
    assert document["asyncapi"].startswith("3.")
    channel = document["channels"]["integrationEvents"]
    assert channel["address"] == "/ws/integrations/{integrationId}/"
    assert "integrationId" in channel["parameters"]
    assert channel["bindings"]["ws"]["query"]["properties"]["since"]["type"] == "integer"
    for code in ("4401", "4404", "4429"):
        assert code in channel["x-close-codes"] and f"`{code}`" in channel["description"]
    # Every $ref in the channel resolves inside the document.
    for ref in channel["messages"].values():
        assert ref["$ref"].rsplit("/", 1)[-1] in document["components"]["messages"]


def test_a_real_frame_validates_against_the_published_payload(document):
    frame = {
        "v": 1,
        "id": "0b0f3d1c-8a52-4c55-9d39-cb3f5bbf3f7e",
        "seq": 3,
        "type": "step.progress",
        "time": "2026-11-27T20:01:02.123Z",
        "integration": "7",
        "data": {"step": "historical_sync", "done": 2, "total": 5, "unit": "tables", "message": "Syncing"},
    }
    payload = document["components"]["messages"]["step.progress"]["payload"]
    jsonschema.validate(frame, payload)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**frame, "data": {**frame["data"], "step": "no_such_step"}}, payload)


def test_the_notification_frame_is_on_the_notifications_channel_only(document):
    channels = document["channels"]
    assert channels["userNotifications"]["address"] == "/ws/notifications/"
    assert set(channels["userNotifications"]["messages"]) == {"notification", "notificationsHeartbeat", "ping"}
    assert "notification" not in channels["teamIntegrations"]["messages"]
    assert "notification" not in channels["integrationEvents"]["messages"]
    payload = document["components"]["messages"]["notification"]["payload"]
    frame = {
        "v": 1, "id": "0b0f3d1c-8a52-4c55-9d39-cb3f5bbf3f7e", "type": "notification", "time": "2026-11-27T20:01:02Z",
        "data": {"id": 4, "kind": "connection_broken", "kind_label": "A connection needs reconnecting",
                 "title": "CRM needs reconnecting", "body": "Token revoked", "link": "/integrations/7/?tab=settings",
                 "created_at": "2026-11-27T20:01:02Z", "unread": 1},
    }
    jsonschema.validate(frame, payload)
