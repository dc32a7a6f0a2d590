"""JSON Schemas of every frame the server sends on /ws/integrations/<id>/ (protocol v1), and on the
team socket (/ws/integrations/) and the notifications socket (/ws/notifications/).

The one source: docs/asyncapi.yaml is generated from here (`manage.py asyncapi`) and the tests
validate every emitted event against these. A new event type without a schema fails the suite.
"""

from integrations.vocabulary import (
    ACTION_KINDS,
    CONNECTION_ACTIONS,
    FAILED_SYNC_STATUSES,
    STEP_NAMES,
    ConnectionHealth,
    IntegrationState,
    StepState,
    SyncStatus,
)
from notifications.kinds import NotificationKind

STEP_STATES = [str(state) for state in StepState]
INTEGRATION_STATES = [str(state) for state in IntegrationState]
CONNECTION_HEALTHS = [str(health) for health in ConnectionHealth]

_timestamp = {"type": "string", "format": "date-time"}
_nullable_timestamp = {"type": ["string", "null"], "format": "date-time"}
_step_name = {"type": "string", "enum": list(STEP_NAMES)}
_count = {"type": "integer", "minimum": 0}
_HEARTBEAT = {"type": "object", "maxProperties": 0}  # every socket's: only liveness
_error = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
_action = {
    "type": "object",
    "required": ["kind", "url"],
    "properties": {"kind": {"type": "string", "enum": list(ACTION_KINDS)}, "url": {"type": "string"}},
}
_table = {
    "type": "object",
    "required": ["name", "dataset", "num_rows"],
    "properties": {"name": {"type": "string"}, "dataset": {"type": "string"}, "num_rows": {"type": ["integer", "null"]}},
}


def _object(required: list[str], properties: dict) -> dict:
    return {"type": "object", "required": required, "properties": properties}


_step = _object(
    ["name", "state", "started_at", "finished_at", "attempt", "progress", "message", "error"],
    {
        "name": _step_name,
        "label": {"type": "string"},
        "state": {"type": "string", "enum": STEP_STATES},
        "started_at": _nullable_timestamp,
        "finished_at": _nullable_timestamp,
        "attempt": _count,
        "progress": {
            "oneOf": [
                {"type": "null"},
                _object(
                    ["done", "total", "unit"],
                    {"done": {"type": ["integer", "null"]}, "total": {"type": ["integer", "null"]}, "unit": {"type": ["string", "null"]}},
                ),
            ]
        },
        "message": {"type": "string"},
        "error": {"oneOf": [{"type": "null"}, _error]},
        "action": {"oneOf": [{"type": "null"}, _action]},
    },
)


def _sync(statuses: list[str]) -> dict:
    """One Fivetran sync (a `Sync` row): `id` is ours, `sync_id` Fivetran's (null when its webhook had none),
    `reason` Fivetran's own words for how it ended ("" when it gave none)."""
    return _object(
        ["id", "sync_id", "status", "started_at", "ended_at", "reason"],
        {
            "id": {"type": "integer", "minimum": 1},
            "sync_id": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": statuses},
            "started_at": _nullable_timestamp,
            "ended_at": _nullable_timestamp,
            "reason": {"type": "string"},
        },
    )


# A sync.failed is a sync that ended in one of FAILED_SYNC_STATUSES; a sync.completed any other end.
_FAILED_SYNC = [str(status) for status in FAILED_SYNC_STATUSES]
_ENDED_SYNC = [str(status) for status in SyncStatus if status not in (SyncStatus.RUNNING, *FAILED_SYNC_STATUSES)]

# The data of each frame type, keyed by `type`.
DATA_SCHEMAS: dict[str, dict] = {
    "snapshot": _object(
        ["state", "steps", "tables", "reset"],
        {
            "state": {"type": "string", "enum": INTEGRATION_STATES},
            "steps": {"type": "array", "items": _step, "minItems": len(STEP_NAMES), "maxItems": len(STEP_NAMES)},
            # The connection as last mirrored (new in issue 12; until its first look, health not_set_up).
            "connection": _object(
                ["health", "health_label", "reason", "sync_state", "paused", "sync_frequency", "succeeded_at", "failed_at"],
                {
                    "health": {"type": "string", "enum": CONNECTION_HEALTHS},
                    "health_label": {"type": "string"},
                    "reason": {"type": "string"},
                    "sync_state": {"type": "string"},
                    "paused": {"type": "boolean"},
                    "sync_frequency": {"type": ["integer", "null"]},
                    "succeeded_at": _nullable_timestamp,
                    "failed_at": _nullable_timestamp,
                },
            ),
            "tables": _object(
                ["count", "rows"],
                {"count": _count, "rows": {"type": "array", "items": _table}, "total_rows": _count},
            ),
            "reset": {"type": "boolean"},
        },
    ),
    "step.started": _object(["step", "attempt"], {"step": _step_name, "attempt": {"type": "integer", "minimum": 1}}),
    "step.progress": _object(
        ["step", "done", "total", "unit", "message"],
        {
            "step": _step_name,
            "done": {"type": ["integer", "null"], "minimum": 0},
            "total": {"type": ["integer", "null"], "minimum": 0},
            "unit": {"type": ["string", "null"]},
            "message": {"type": "string"},
        },
    ),
    "step.completed": _object(
        ["step", "duration_ms", "detail"],
        {"step": _step_name, "duration_ms": _count, "detail": {"type": "object"}, "message": {"type": "string"}},
    ),
    "step.skipped": _object(["step", "reason"], {"step": _step_name, "reason": {"type": "string"}}),
    "step.failed": _object(
        ["step", "error", "retryable"], {"step": _step_name, "error": _error, "retryable": {"type": "boolean"}}
    ),
    "action.required": {
        **_action,
        "properties": {**_action["properties"], "step": _step_name, "message": {"type": "string"}},
    },
    "tables.registered": _object(
        ["count", "tables"], {"count": _count, "tables": {"type": "array", "items": _table, "maxItems": 100}}
    ),
    "setup.completed": _object(["duration_ms", "tables"], {"duration_ms": _count, "tables": _count}),
    "setup.failed": _object(["step", "error"], {"step": _step_name, "error": _error}),
    "connection.updated": _object(
        [
            "health", "health_label", "reason", "sync_state", "paused", "sync_frequency", "succeeded_at",
            "failed_at", "next_sync_at",
        ],
        {
            "health": {"type": "string", "enum": CONNECTION_HEALTHS},
            "health_label": {"type": "string"},
            "reason": {"type": "string"},
            # Fivetran's own value (scheduled, syncing, paused, rescheduled), kept as it comes.
            "sync_state": {"type": "string"},
            "paused": {"type": "boolean"},
            "sync_frequency": {"type": ["integer", "null"], "minimum": 1},
            "succeeded_at": _nullable_timestamp,
            "failed_at": _nullable_timestamp,
            "next_sync_at": _nullable_timestamp,
        },
    ),
    "sync.started": _sync([str(SyncStatus.RUNNING)]),
    "sync.completed": _sync(_ENDED_SYNC),
    "sync.failed": _sync(_FAILED_SYNC),
    "tables.updated": _object(
        ["count", "added", "removed", "updated", "updated_count"],
        {
            "count": _count,
            "added": {"type": "array", "items": _object(["dataset", "name"], {"dataset": {"type": "string"}, "name": {"type": "string"}})},
            "removed": {"type": "array", "items": _object(["dataset", "name"], {"dataset": {"type": "string"}, "name": {"type": "string"}})},
            # At most 100 listed; updated_count counts them all.
            "updated": {
                "type": "array",
                "maxItems": 100,
                "items": _object(
                    ["dataset", "name", "num_rows", "num_bytes", "modified"],
                    {
                        "dataset": {"type": "string"},
                        "name": {"type": "string"},
                        "num_rows": {"type": ["integer", "null"], "minimum": 0},
                        "num_bytes": {"type": ["integer", "null"], "minimum": 0},
                        "modified": {"type": ["string", "null"], "format": "date-time"},
                    },
                ),
            },
            "updated_count": _count,
        },
    ),
    "schema.changed": _object(
        ["added", "waiting"],
        {
            # Tables the source gained; `enabled` false: Fivetran's schema_change_handling left them for
            # the user to tick on the Schema tab.
            "added": {
                "type": "array",
                "items": _object(
                    ["schema", "table", "enabled"],
                    {"schema": {"type": "string"}, "table": {"type": "string"}, "enabled": {"type": "boolean"}},
                ),
            },
            "waiting": _count,
        },
    ),
    "connection.action": _object(
        ["action", "by", "message"],
        {
            "action": {"type": "string", "enum": list(CONNECTION_ACTIONS)},
            # Who asked: a username, or null when that user has since been deleted.
            "by": {"type": ["string", "null"]},
            "message": {"type": "string"},
        },
    ),
    "heartbeat": _HEARTBEAT,
}

# Frames without a seq: heartbeats only (a snapshot's seq is the last event it includes).
UNSEQUENCED = {"heartbeat"}


def frame_schema(type: str) -> dict:
    """The whole frame (envelope plus data) of one type."""
    required = ["v", "id", "type", "time", "integration", "data"] + ([] if type in UNSEQUENCED else ["seq"])
    return _object(
        required,
        {
            "v": {"const": 1},
            "id": {"type": "string", "format": "uuid"},
            "seq": {"type": "integer", "minimum": 0 if type == "snapshot" else 1},
            "type": {"const": type},
            "time": _timestamp,
            "integration": {"type": "string"},
            "data": DATA_SCHEMAS[type],
        },
    )


ERROR_FRAME = _object(
    ["type", "data"],
    {"type": {"const": "error"}, "data": _object(["code", "message"], {"code": {"type": "string"}, "message": {"type": "string"}})},
)


# -- the team socket (/ws/integrations/): summary lines, no seq (each line is the whole current state) --

_summary = _object(
    ["id", "name", "service", "state", "state_label", "health", "health_label", "reason", "succeeded_at", "failed_at", "url"],
    {
        "id": {"type": "integer", "minimum": 1},
        "name": {"type": "string"},
        "service": {"type": "string"},
        "state": {"type": "string", "enum": INTEGRATION_STATES},
        "state_label": {"type": "string"},
        # null until the set-up is done: then the connection's health, in the user's words.
        "health": {"type": ["string", "null"], "enum": [*CONNECTION_HEALTHS, None]},
        "health_label": {"type": ["string", "null"]},
        "reason": {"type": "string"},
        "succeeded_at": _nullable_timestamp,
        "failed_at": _nullable_timestamp,
        "url": {"type": "string"},
    },
)
TEAM_DATA_SCHEMAS: dict[str, dict] = {
    "snapshot": _object(
        ["integrations", "reset"], {"integrations": {"type": "array", "items": _summary}, "reset": {"type": "boolean"}}
    ),
    "integration.summary": _summary,
    "integration.removed": _object(["id"], {"id": {"type": "integer", "minimum": 1}}),
    "heartbeat": _HEARTBEAT,
}


# -- the notifications socket (/ws/notifications/): to the socket's user only, no seq ------------------

NOTIFICATIONS_DATA_SCHEMAS: dict[str, dict] = {
    # A notification was raised for the user (notifications/).
    "notification": _object(
        ["id", "kind", "kind_label", "title", "body", "link", "created_at", "unread"],
        {
            "id": {"type": "integer", "minimum": 1},
            "kind": {"type": "string", "enum": [str(kind) for kind in NotificationKind]},
            "kind_label": {"type": "string"},
            "title": {"type": "string"},
            # Plain words, with Fivetran's reason where it gave one.
            "body": {"type": "string"},
            # The page that fixes it (a path of this site).
            "link": {"type": "string"},
            "created_at": _timestamp,
            # The user's unread notifications, this one included: the header's count.
            "unread": _count,
        },
    ),
    "heartbeat": _HEARTBEAT,
}


def _unsequenced_frame(type: str, data: dict) -> dict:
    return _object(
        ["v", "id", "type", "time", "data"],
        {
            "v": {"const": 1},
            "id": {"type": "string", "format": "uuid"},
            "type": {"const": type},
            "time": _timestamp,
            "data": data,
        },
    )


def team_frame_schema(type: str) -> dict:
    """A whole frame of the team socket."""
    return _unsequenced_frame(type, TEAM_DATA_SCHEMAS[type])


def notifications_frame_schema(type: str) -> dict:
    """A whole frame of the notifications socket."""
    return _unsequenced_frame(type, NOTIFICATIONS_DATA_SCHEMAS[type])
