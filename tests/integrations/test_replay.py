"""Recorded histories of finished set-ups (tests/fixtures/temporal/, written by record_histories.py)
replay against today's workflow code: a change that would break set-ups already running fails here.
Change the workflow's commands behind `workflow.patched(...)`, and record new histories beside the old."""

import pytest
from temporalio.workflow import NondeterminismError

from integrations.engine.worker import WORKFLOWS
from tests.support.changed_workflow import SetupWithADifferentFirstCommand
from tests.support.paths import FIXTURES
from tests.support.replay import load_history, replay_histories

HISTORIES = sorted((FIXTURES / "temporal").glob("*.json"))


def test_the_recorded_scenarios_are_there():
    assert {path.stem for path in HISTORIES} >= {
        "complete", "failed_then_retried", "broken_then_reconnected",  # before the watch-landing patch
        "complete_watched_landing",  # after it
        "complete_then_life", "life_with_actions",  # after the connection-life patch
    }
    for path in HISTORIES:
        assert load_history(path).events, path


async def test_recorded_set_ups_replay_on_todays_workflow():
    assert await replay_histories(HISTORIES, WORKFLOWS) == len(HISTORIES)


async def test_a_changed_workflow_would_be_caught():
    """The replay test can fail: the recorded histories no longer fit a workflow that changed."""
    with pytest.raises(NondeterminismError):
        await replay_histories([FIXTURES / "temporal" / "complete.json"], [SetupWithADifferentFirstCommand])
