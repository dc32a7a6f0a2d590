"""Replay harness: record finished workflows' histories as JSON, replay them against today's code.

A workflow change that would break workflows already running in production (a command added,
removed or reordered without `workflow.patched`) fails replay with a NondeterminismError. Record a
history once per interesting path of a workflow, keep the files in the repository, and replay them
all in a test:

    await record_history(handle, HISTORIES / "setup-happy-path.json")    # once, from a test run
    await replay_histories(sorted(HISTORIES.glob("*.json")), [SetupWorkflow])   # in every run

The files are the format of `temporal workflow show --output json` and of the Web UI's download,
so a history taken from a real cluster replays the same way. The workflow id is the file's stem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.worker import Replayer

from gyana.temporal.worker import DEFAULT_PASSTHROUGH_MODULES, sandboxed_runner


async def record_history(handle: WorkflowHandle, path: Path) -> Path:
    """Write the full history of the workflow behind `handle` (it should be finished) to `path`."""
    history = await handle.fetch_history()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(history.to_json())
    return path


def load_history(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


async def replay_histories(
    paths: Iterable[Path],
    workflows: Sequence[type],
    *,
    passthrough_modules: Sequence[str] = DEFAULT_PASSTHROUGH_MODULES,
) -> int:
    """Replay every history in `paths` against `workflows` in the sandbox our workers use; return how
    many replayed. The first failure raises (a NondeterminismError for an incompatible change), with
    the file's name added to the message."""
    replayer = Replayer(workflows=list(workflows), workflow_runner=sandboxed_runner(passthrough_modules))
    count = 0
    for path in paths:
        try:
            await replayer.replay_workflow(load_history(path))
        except Exception as error:
            error.add_note(f"while replaying {path.name}")
            raise
        count += 1
    if count == 0:
        raise ValueError("no history to replay: a replay test that replays nothing proves nothing")
    return count
