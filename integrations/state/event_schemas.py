"""JSON Schemas of every frame the server sends on /ws/integrations/<id>/ (protocol v1).

The one source: docs/asyncapi.yaml is generated from here (`manage.py asyncapi`) and the tests
validate every emitted event against these. A new event type without a schema fails the suite.
"""

from integrations.vocabulary import ACTION_KINDS, STEP_NAMES, IntegrationState, StepState

STEP_STATES = [str(state) for state in StepState]
INTEGRATION_STATES = [str(state) for state in IntegrationState]

_timestamp = {"type": "string", "format": "date-time"}
_nullable_timestamp = {"type": ["string", "null"], "format": "date-time"}
_step_name = {"type": "string", "enum": list(STEP_NAMES)}
_count = {"type": "integer", "minimum": 0}
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

# The data of each frame type, keyed by `type`.
DATA_SCHEMAS: dict[str, dict] = {
    "snapshot": _object(
        ["state", "steps", "tables", "reset"],
        {
            "state": {"type": "string", "enum": INTEGRATION_STATES},
            "steps": {"type": "array", "items": _step, "minItems": len(STEP_NAMES), "maxItems": len(STEP_NAMES)},
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
    "heartbeat": {"type": "object", "maxProperties": 0},
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
