"""What the workflows (the set-up, then the connection's life) and their activities pass each other: plain dataclasses of plain values
(Temporal's JSON converter), and the names both sides use. No Django here: the workflow imports it
inside Temporal's sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.vocabulary import CONNECTION_ACTIONS

TASK_QUEUE_DEFAULT = "integration-setup"

# Activity names: the workflow calls them by name, so it never imports the Django side.
RUN_STEP = "run_setup_step"
RECORD_SELECTION = "record_selection"
RESTART_STEP = "restart_failed_step"
RECORD_FAILURE = "record_step_failure"
ABANDON = "abandon_setup"
WATCH_LANDING = "watch_landing"
REFRESH_CONNECTION = "refresh_connection"
ACT_ON_CONNECTION = "act_on_connection"
RECONCILE_CONNECTIONS = "reconcile_connections"
NOTIFY = "notify_people"

# Workflow names. After Ready the set-up continues as the connection's life (same workflow id).
SETUP_WORKFLOW = "IntegrationSetup"
LIFE_WORKFLOW = "ConnectionLife"
RECONCILE_WORKFLOW = "ReconcileConnections"
RECONCILE_SCHEDULE_ID = "reconcile-fivetran-connections"

# workflow.patched() ids: each marks a change of the workflow's commands, so that histories
# recorded before it replay on the old path.
PATCH_WATCH_LANDING = "watch-landing-during-historical-sync"
PATCH_CONNECTION_LIFE = "continue-as-connection-life-after-ready"
PATCH_NOTIFY = "notify-people-after-transitions"

# Error types an activity raises that retrying cannot fix (ApplicationError.type, non-retryable).
INTEGRATION_GONE = "IntegrationGone"

# Update and signal names, used by integrations.engine.dispatch on the web side.
SELECT_TABLES = "select_tables"
RETRY = "retry"
CARD_RETURNED = "card_returned"
FIVETRAN_CHANGED = "fivetran_changed"
CONNECTION_ACTION = "connection_action"

# ApplicationError types of a refused Update, which the API maps to its answers.
NOT_WAITING = "NotWaiting"  # 409: the set-up is not at that point
BAD_REQUEST = "BadRequest"  # 400: the input is wrong
NOT_POSSIBLE = "NotPossible"  # 409: Fivetran refused, in its own words (deleted, broken, ...)
UNAVAILABLE = "Unavailable"  # 503: Fivetran kept failing transiently; nothing was changed for sure

# The user's actions on a connection after set-up (the Update CONNECTION_ACTION's `kind`).
ACTIONS = CONNECTION_ACTIONS


def workflow_id(integration_id: int, schema_name: str) -> str:
    """One workflow per integration: Temporal refuses a second start with the same id. The schema
    name (unique, drawn at random) makes it unique per database too: a Temporal namespace may
    outlive a database (a restored backup, a second environment) whose ids start again at 1."""
    return f"integration-{integration_id}-{schema_name}"


@dataclass(frozen=True)
class SetupParams:
    integration_id: int
    # Settings the workflow needs, fixed when it starts (workflow code cannot read Django settings).
    abandon_after_seconds: float
    heartbeat_timeout_seconds: float = 60.0
    # The first look at the tables landing while the historical sync runs; the activity then says
    # when to look again (sooner while someone watches the set-up).
    landing_seconds: float = 10.0


@dataclass(frozen=True)
class StepRun:
    integration_id: int
    step: str


@dataclass(frozen=True)
class StepResult:
    """A step's answer, as the workflow acts on it (integrations.setup.outcomes, flattened)."""

    kind: str  # done | skipped | wait_for_user | check_again | failed | gone
    action: str = ""  # wait_for_user: connect_card | select_tables | reconnect
    after_seconds: float | None = None  # wait_for_user: re-run after this long anyway; check_again: when
    # load_schema: the tables a person may choose, {"<schema>": ["<table>", ...]}, for the Update's validator
    selectable: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class Selection:
    integration_id: int
    tables: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StepFailure:
    integration_id: int
    step: str
    code: str
    message: str


@dataclass(frozen=True)
class FivetranEvent:
    """What a signed webhook said. Only ids and words are taken from it: the state is always read
    from Fivetran's status, so a stale or replayed webhook changes nothing."""

    event: str = ""
    sync_id: str = ""
    status: str = ""
    reason: str = ""
    created: str = ""  # when Fivetran says it happened (ISO 8601)


@dataclass(frozen=True)
class LifeParams:
    integration_id: int
    heartbeat_timeout_seconds: float = 60.0
    # Looked at without being told (webhooks and the reconciliation normally tell first).
    look_every_seconds: float = 6 * 3600.0
    # Webhook events not yet looked at, carried over continue-as-new.
    events: list[FivetranEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Refresh:
    integration_id: int
    events: list[FivetranEvent] = field(default_factory=list)


@dataclass(frozen=True)
class ConnectionView:
    """What the workflow keeps of a look at the connection: enough to validate actions."""

    health: str
    deleted: bool = False  # gone on Fivetran's side
    gone: bool = False  # the integration was deleted here: the life ends
    look_again_seconds: float | None = None  # sooner than the default (a sync is running)


@dataclass(frozen=True)
class Action:
    integration_id: int
    kind: str  # one of ACTIONS
    arguments: dict = field(default_factory=dict)
    user_id: int | None = None


@dataclass(frozen=True)
class ActionResult:
    message: str
    data: dict = field(default_factory=dict)
