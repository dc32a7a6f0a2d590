"""`manage.py asyncapi`: write docs/asyncapi.yaml and static/js/vocabulary.js from the one source,
integrations/vocabulary.py and integrations/state/event_schemas.py.

`--check` writes nothing and exits non-zero when a committed file is not what would be generated,
so neither the document nor the browser's vocabulary can drift from the schemas the tests
validate events against.
"""

import difflib
import json
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.state.event_schemas import (
    DATA_SCHEMAS,
    ERROR_FRAME,
    NOTIFICATIONS_DATA_SCHEMAS,
    TEAM_DATA_SCHEMAS,
    UNSEQUENCED,
    frame_schema,
    notifications_frame_schema,
    team_frame_schema,
)
from integrations.vocabulary import (
    CLOSE_CODES,
    NOTIFICATIONS_WEBSOCKET_PATH,
    PROTOCOL_VERSION,
    SETUP_STEPS,
    TEAM_WEBSOCKET_PATH,
    browser_vocabulary,
    websocket_path,
)

DEFAULT_PATH = Path(settings.BASE_DIR) / "docs" / "asyncapi.yaml"
VOCABULARY_JS = Path(settings.BASE_DIR) / "static" / "js" / "vocabulary.js"
CHANNEL = "integrationEvents"
TEAM_CHANNEL = "teamIntegrations"
# The team socket's messages, named apart from the per-integration ones they resemble.
TEAM_MESSAGES = {
    "teamSnapshot": ("snapshot", "Every integration of the user's teams, one line each; `reset` when a `since` was given."),
    "integrationSummary": ("integration.summary", "One integration's line changed (its state, health, reason or last sync)."),
    "integrationRemoved": ("integration.removed", "An integration was deleted (or its team left)."),
    "teamHeartbeat": ("heartbeat", "Sent on a socket idle for 30 s and in answer to a ping."),
}
TEAM_CHANNEL_DESCRIPTION = """\
Every integration of the user's teams, one summary line each, for a list page (protocol v1).

On connect the server sends one `snapshot` of every line, then an `integration.summary` each time a
line changes and `integration.removed` when one goes. Lines carry the whole current state, so they
have no `seq`: a client replaces the line by `id`. After a drop, reconnect (with backoff) and take
the new snapshot; a `since` parameter is answered with a snapshot with `reset: true`.
"""
NOTIFICATIONS_CHANNEL = "userNotifications"
NOTIFICATIONS_MESSAGES = {
    "notification": ("notification", "A notification for this socket's user (a toast; `unread` is their unread count)."),
    "notificationsHeartbeat": ("heartbeat", "Sent on a socket idle for 30 s and in answer to a ping."),
}
NOTIFICATIONS_CHANNEL_DESCRIPTION = """\
The user's own notifications, on every page (protocol v1).

The server sends nothing on connect, then one `notification` each time one is raised for this user
(never another's), plus heartbeats. The frame is a doorbell: the notifications are rows, listed at
`/notifications/`, so a frame missed while disconnected is there on the next page. After a drop,
reconnect with backoff.
"""

# One line per frame type: what it means for a client (the schemas say what it contains).
SUMMARIES = {
    "snapshot": "The whole state of the set-up; replace everything you had. Its seq is the last event it includes.",
    "step.started": "A step started (or started again: attempt + 1).",
    "step.progress": "A step reports progress: real counts (total may be null) and a message.",
    "step.completed": "A step finished.",
    "step.skipped": "A step was skipped (for example a connector without schemas skips table selection).",
    "step.failed": "A step failed; retryable says whether POST /api/integrations/<id>/retry/ can help.",
    "action.required": "The set-up waits for the user, on the current step, at `url`.",
    "tables.registered": "Tables registered in the warehouse (a page of at most 100; count is the total).",
    "setup.completed": "The set-up finished: the integration is ready.",
    "setup.failed": "The set-up failed and cannot be retried.",
    "connection.updated": "Fivetran's view of the connection moved: its health (with Fivetran's reason), "
    "schedule, last success and failure, and when the next sync is due.",
    "sync.started": "Fivetran started a sync (or carried on with a rescheduled one).",
    "sync.completed": "A sync ended without failing: successful, or rescheduled (Fivetran carries on by itself).",
    "sync.failed": "A sync failed or was cancelled; reason is Fivetran's own words.",
    "schema.changed": "The source gained tables (seen after a sync): those Fivetran enabled by itself, and those waiting for the user to tick them on the Schema tab.",
    "tables.updated": "After a successful sync the tables follow BigQuery: those that appeared, those that went, and those whose rows, size or last change moved.",
    "connection.action": "A person acted on the connection (Sync now, pause, resume, settings, schema, reconnect).",
    "heartbeat": "Sent on a socket idle for 30 s and in answer to a ping. No seq, not an event: only liveness.",
}

CHANNEL_DESCRIPTION = f"""\
Live progress of one integration's set-up and, after it, of its connection: health and syncs
(protocol v{PROTOCOL_VERSION}).

Connect without `since`: the server sends one `snapshot`, then live events. Connect with
`since=N`: the server replays every event with `seq > N` in order, then live events; if it cannot
(N unknown or pruned) it sends a `snapshot` with `reset: true` instead.

Every event frame has a per-integration, gap-free `seq` and a unique `id`. Clients ignore frames
with `seq` <= the last seen, de-duplicate on `id`, and reconnect with `since=<last seen>` when
they see a gap (`seq` > last + 1) or the socket drops (with exponential backoff and jitter).

Close codes (sent after the handshake is accepted):
""" + "".join(f"- `{code}`: {text}\n" for code, text in CLOSE_CODES.items()) + """
Steps, in order:
""" + "".join(f"{n}. `{name}`: {label}\n" for n, (name, label) in enumerate(SETUP_STEPS, 1))


def _message(type: str) -> dict:
    return {
        "name": type,
        "title": type,
        "summary": SUMMARIES[type],
        "contentType": "application/json",
        "payload": frame_schema(type),
    }


def document() -> dict:
    server_messages = {type: _message(type) for type in DATA_SCHEMAS}
    server_messages["error"] = {
        "name": "error",
        "title": "error",
        "summary": "The client sent something other than a ping; the socket stays open.",
        "contentType": "application/json",
        "payload": ERROR_FRAME,
    }
    client_messages = {
        "ping": {
            "name": "ping",
            "title": "ping",
            "summary": "Optional: the server answers with a heartbeat. Nothing else may be sent.",
            "contentType": "application/json",
            "payload": {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"const": "ping"}},
            },
        }
    }
    team_messages = {
        name: {"name": name, "title": type, "summary": summary, "contentType": "application/json",
               "payload": team_frame_schema(type)}
        for name, (type, summary) in TEAM_MESSAGES.items()
    }
    assert {type for type, _ in TEAM_MESSAGES.values()} == set(TEAM_DATA_SCHEMAS)
    notifications_messages = {
        name: {"name": name, "title": type, "summary": summary, "contentType": "application/json",
               "payload": notifications_frame_schema(type)}
        for name, (type, summary) in NOTIFICATIONS_MESSAGES.items()
    }
    assert {type for type, _ in NOTIFICATIONS_MESSAGES.values()} == set(NOTIFICATIONS_DATA_SCHEMAS)
    messages = {**server_messages, **client_messages, **team_messages, **notifications_messages}
    ref = lambda name: {"$ref": f"#/channels/{CHANNEL}/messages/{name}"}  # noqa: E731
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Gyana Connect set-up events",
            "version": str(PROTOCOL_VERSION),
            "description": (
                "The websocket that streams an integration's set-up and its connection's life after it. "
                "Generated by `python manage.py asyncapi` "
                "from integrations/event_schemas.py: edit that file, not this one. Payload schemas are JSON "
                "Schema. See docs/frontend.md for a walk-through."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:8000",
                "protocol": "ws",
                "description": "`make run`. Authentication is the Django session cookie of the same origin; "
                "the Origin header must match ALLOWED_HOSTS.",
                "security": [{"$ref": "#/components/securitySchemes/session"}],
            }
        },
        "channels": {
            CHANNEL: {
                "address": websocket_path("{integrationId}"),
                "title": "Set-up events of one integration",
                "description": CHANNEL_DESCRIPTION,
                "parameters": {"integrationId": {"description": "The integration's id (as in /integrations/<id>/flow/)."}},
                # Its own messages only: the team and notifications sockets' are on their channels.
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in [*server_messages, *client_messages]},
                "bindings": {
                    "ws": {
                        "bindingVersion": "0.1.0",
                        "method": "GET",
                        "query": {
                            "type": "object",
                            "properties": {
                                "since": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "description": "Resume: replay events with seq > since (else a snapshot with reset: true).",
                                }
                            },
                        },
                    }
                },
                "x-close-codes": {str(code): text for code, text in CLOSE_CODES.items()},
            },
            TEAM_CHANNEL: {
                "address": TEAM_WEBSOCKET_PATH,
                "title": "Every integration of the user's teams",
                "description": TEAM_CHANNEL_DESCRIPTION,
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in [*team_messages, "ping"]},
            },
            NOTIFICATIONS_CHANNEL: {
                "address": NOTIFICATIONS_WEBSOCKET_PATH,
                "title": "The user's own notifications",
                "description": NOTIFICATIONS_CHANNEL_DESCRIPTION,
                "messages": {
                    name: {"$ref": f"#/components/messages/{name}"} for name in [*notifications_messages, "ping"]
                },
            },
        },
        "operations": {
            "receiveSetupEvents": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "summary": "Frames the server sends: a snapshot or a replay, then live events and heartbeats.",
                "messages": [ref(name) for name in server_messages],
            },
            "receiveTeamIntegrations": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{TEAM_CHANNEL}"},
                "summary": "Frames the server sends on the team socket: a snapshot, then changed lines.",
                "messages": [{"$ref": f"#/channels/{TEAM_CHANNEL}/messages/{name}"} for name in team_messages],
            },
            "receiveNotifications": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{NOTIFICATIONS_CHANNEL}"},
                "summary": "Frames the server sends on the notifications socket: a notification for its user.",
                "messages": [
                    {"$ref": f"#/channels/{NOTIFICATIONS_CHANNEL}/messages/{name}"} for name in notifications_messages
                ],
            },
            "sendPing": {
                "action": "send",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "summary": "The only frame a client may send.",
                "messages": [ref("ping")],
            },
        },
        "components": {
            "messages": messages,
            "securitySchemes": {
                "session": {
                    "type": "httpApiKey",
                    "in": "cookie",
                    "name": "sessionid",
                    "description": "The Django session cookie set by logging in at /accounts/login/.",
                }
            },
            "x-unsequenced": sorted(UNSEQUENCED),
        },
    }


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True  # the schemas share sub-dicts; spell them out rather than &id001 anchors


def _string(dumper, text: str):
    # Multi-line descriptions as literal blocks, so the committed file reads like the prose it is.
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _string)


def render() -> str:
    header = "# Generated by `python manage.py asyncapi` from integrations/state/event_schemas.py. Do not edit.\n"
    return header + yaml.dump(document(), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def render_vocabulary_js() -> str:
    return (
        "// Generated by `python manage.py asyncapi` from integrations/vocabulary.py. Do not edit.\n"
        "// The set-up's states, labels, steps, event types and close codes, for flow-client.js and the pages.\n"
        f"window.GyanaVocabulary = Object.freeze({json.dumps(browser_vocabulary(), indent=2)});\n"
    )


def _check(path: Path, wanted: str) -> None:
    current = path.read_text() if path.exists() else ""
    if current != wanted:
        diff = "".join(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True), str(path), "generated", n=1))
        raise CommandError(f"{path} is out of date: run `python manage.py asyncapi`.\n{diff[:4000]}")


class Command(BaseCommand):
    help = "Write docs/asyncapi.yaml and static/js/vocabulary.js (--check: fail if either is out of date)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Write nothing; fail if a file differs.")
        parser.add_argument("--path", type=Path, default=DEFAULT_PATH)
        parser.add_argument("--js-path", type=Path, default=VOCABULARY_JS)

    def handle(self, *args, check: bool, path: Path, js_path: Path, **options):
        outputs = ((path, render()), (js_path, render_vocabulary_js()))
        for target, wanted in outputs:
            if check:
                _check(target, wanted)
                self.stdout.write(f"{target} is up to date.")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(wanted)
            self.stdout.write(f"Wrote {target}.")
