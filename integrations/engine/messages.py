"""What the set-up workflow and its activities pass each other: plain dataclasses of plain values
(Temporal's JSON converter), and the names both sides use. No Django here: the workflow imports it
inside Temporal's sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field

TASK_QUEUE_DEFAULT = "integration-setup"

# Activity names: the workflow calls them by name, so it never imports the Django side.
RUN_STEP = "run_setup_step"
RECORD_SELECTION = "record_selection"
RESTART_STEP = "restart_failed_step"
RECORD_FAILURE = "record_step_failure"
ABANDON = "abandon_setup"
WATCH_LANDING = "watch_landing"

# workflow.patched() ids: each marks a change of the workflow's commands, so that histories
# recorded before it replay on the old path.
PATCH_WATCH_LANDING = "watch-landing-during-historical-sync"

# Error types an activity raises that retrying cannot fix (ApplicationError.type, non-retryable).
INTEGRATION_GONE = "IntegrationGone"

# Update and signal names, used by integrations.engine.dispatch on the web side.
SELECT_TABLES = "select_tables"
RETRY = "retry"
CARD_RETURNED = "card_returned"
FIVETRAN_CHANGED = "fivetran_changed"

# ApplicationError types of a refused Update, which the API maps to its answers.
NOT_WAITING = "NotWaiting"  # 409: the set-up is not at that point
BAD_REQUEST = "BadRequest"  # 400: the input is wrong


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
