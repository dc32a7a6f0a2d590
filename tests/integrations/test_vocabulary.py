"""The set-up's words are declared once (integrations/vocabulary.py); nothing else keeps a copy."""

import re
import subprocess
import sys

import pytest

from integrations.management.commands.asyncapi import render_vocabulary_js
from integrations.models import Integration, SetupStep, Sync
from integrations.setup.flow import STEPS
from integrations.state.event_schemas import DATA_SCHEMAS
from integrations.vocabulary import (
    CLOSE_CODES,
    CONNECTION_HEALTH_LABELS,
    EVENT_TYPES,
    INTEGRATION_STATE_LABELS,
    SETUP_STEPS,
    STEP_STATE_LABELS,
    SYNC_STATUS_LABELS,
    SyncStatus,
    sync_status_of_fivetran,
)
from tests.support.paths import REPO

JS = REPO / "static" / "js"
TEMPLATES = REPO / "templates"


def test_the_generated_browser_vocabulary_is_current():
    assert (JS / "vocabulary.js").read_text() == render_vocabulary_js(), "run `python manage.py asyncapi`"


def test_models_take_their_states_and_labels_from_the_vocabulary():
    assert dict(Integration.State.choices) == {str(k): v for k, v in INTEGRATION_STATE_LABELS.items()}
    assert dict(SetupStep.State.choices) == {str(k): v for k, v in STEP_STATE_LABELS.items()}
    assert dict(Integration.Health.choices) == {str(k): v for k, v in CONNECTION_HEALTH_LABELS.items()}
    assert dict(Sync.Status.choices) == {str(k): v for k, v in SYNC_STATUS_LABELS.items()}


@pytest.mark.parametrize(
    "fivetran, ours",
    [
        ("SUCCESSFUL", SyncStatus.SUCCESSFUL),
        ("RESCHEDULED", SyncStatus.RESCHEDULED),
        ("FAILURE", SyncStatus.FAILED),
        ("FAILURE_WITH_TASK", SyncStatus.FAILED),
        ("FAILED", SyncStatus.FAILED),
        ("CANCELED", SyncStatus.CANCELLED),
        ("successful", SyncStatus.SUCCESSFUL),
        # A status Fivetran adds later, or none at all, is not taken for a success.
        ("SOMETHING_NEW", SyncStatus.FAILED),
        ("", SyncStatus.FAILED),
    ],
)
def test_fivetrans_sync_end_statuses_map_to_ours(fivetran, ours):
    assert sync_status_of_fivetran(fivetran) is ours


def test_the_flow_runs_exactly_the_declared_steps_in_order():
    assert [(spec.name, spec.label) for spec in STEPS] == list(SETUP_STEPS)


def test_every_event_type_has_a_schema_and_every_schema_an_event_type():
    frames = {"snapshot", "heartbeat"}
    assert set(DATA_SCHEMAS) - frames == set(EVENT_TYPES)


@pytest.mark.parametrize("script", ["flow-client.js", "flow-page.js"])
def test_browser_code_keeps_no_copy_of_close_codes_or_labels(script):
    source = (JS / script).read_text()
    for code in CLOSE_CODES:
        assert str(code) not in source, f"{script} hard-codes close code {code}"
    for label in {*INTEGRATION_STATE_LABELS.values(), *STEP_STATE_LABELS.values()} - {"Done", "Ready"}:
        assert f'"{label}"' not in source, f"{script} hard-codes the label {label!r}"


def test_templates_build_the_socket_path_from_the_vocabulary():
    for template in TEMPLATES.rglob("*.html"):
        assert "/ws/integrations/" not in template.read_text(), template
        assert not re.search(r'>\s*Waiting for you\s*<', template.read_text()), template


def test_the_event_schemas_load_no_client_library():
    # The contract of the socket is plain data: reading it must not pull in BigQuery or httpx.
    code = (
        "import sys, integrations.state.event_schemas, integrations.vocabulary;"
        "loaded = [m for m in ('google.cloud.bigquery', 'httpx', 'django.db.models') if m in sys.modules];"
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_phases_group_every_step_once_in_order_and_reach_the_browser():
    from integrations.vocabulary import SETUP_PHASES, STEP_NAMES, browser_vocabulary

    assert [step for *_, steps in SETUP_PHASES for step in steps] == list(STEP_NAMES)
    assert [phase["name"] for phase in browser_vocabulary()["phases"]] == [name for name, *_ in SETUP_PHASES]


@pytest.mark.parametrize(
    "states, expected",
    [
        (["pending", "pending"], "pending"),
        (["done", "pending"], "running"),
        (["done", "running"], "running"),
        (["done", "waiting_for_user"], "waiting_for_user"),
        (["done", "failed"], "failed"),
        (["done", "skipped"], "done"),
    ],
)
def test_a_phase_state_follows_its_steps(states, expected):
    from integrations.vocabulary import phase_state

    assert phase_state(states) == expected


@pytest.mark.parametrize("script", ["flow-page.js"])
def test_browser_code_keeps_no_copy_of_phase_or_action_words(script):
    from integrations.vocabulary import ACTION_EXPLANATIONS, ACTION_LABELS, PHASE_STATE_LABELS, SETUP_PHASES

    source = (JS / script).read_text()
    words = [label for _name, label, _about, _steps in SETUP_PHASES]
    words += [about for _name, _label, about, _steps in SETUP_PHASES]
    words += [*ACTION_LABELS.values(), *ACTION_EXPLANATIONS.values(), *PHASE_STATE_LABELS.values()]
    for text in set(words) - {"Done"}:
        assert f'"{text}"' not in source, f"{script} hard-codes {text!r}"
    for template in TEMPLATES.rglob("*.html"):
        for text in (*ACTION_EXPLANATIONS.values(), *[about for _n, _l, about, _s in SETUP_PHASES]):
            assert text not in template.read_text(), f"{template} copies {text!r}"
