"""Temporal workers: a process of its own (`run_worker`) or a task inside daphne (`start_in_process_worker`).

Both build the same Worker (`build_worker`):
- the task queue of the settings (TEMPORAL_TASK_QUEUE) unless given;
- async activities run on the worker's event loop; if any activity is a plain `def`, a
  ThreadPoolExecutor runs them, sized like the activity slots so no slot waits for a thread
  (a sync activity that uses the ORM holds a database connection per thread: close it when done);
- max_cached_workflows (TEMPORAL_MAX_CACHED_WORKFLOWS) bounds the workflows held in memory, and
  max_concurrent_workflow_tasks (TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS) those run at once;
- graceful_shutdown_timeout (TEMPORAL_WORKER_DRAIN_SECONDS) lets running activities finish on
  shutdown before they are cancelled; workflow tasks need no draining (their state is in Temporal);
- workflows run in the SDK's sandbox with `django` passed through (see `sandboxed_runner`).

`run_worker` also turns the first SIGTERM or SIGINT into that drain; a second one kills at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from gyana.temporal.client import get_client

logger = logging.getLogger(__name__)

# Modules the workflow sandbox shares with the host instead of re-importing them for every workflow
# run. Django must be: re-imported inside the sandbox, `settings` would re-read gyana.settings and
# trip on the sandbox's ban of os.environ, and re-importing django costs every workflow run.
# Model modules must not be imported by workflow modules at all (re-imported, every model class is
# registered again: "Model ... was already registered"); if a workflow module needs something from
# one, import it inside `with workflow.unsafe.imports_passed_through():`.
DEFAULT_PASSTHROUGH_MODULES = ("django",)
# Slots for sync activities when no executor is given: each may hold a database connection.
DEFAULT_SYNC_ACTIVITY_THREADS = 16


def sandboxed_runner(passthrough_modules: Sequence[str] = DEFAULT_PASSTHROUGH_MODULES) -> SandboxedWorkflowRunner:
    """The workflow runner of our workers and of the replay harness (both must sandbox alike)."""
    return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*passthrough_modules))


def _is_async(activity: Callable) -> bool:
    # As the SDK decides it: an async def, or an object whose __call__ is one.
    return inspect.iscoroutinefunction(activity) or inspect.iscoroutinefunction(getattr(activity, "__call__", None))


def build_worker(
    client: Client,
    *,
    workflows: Sequence[type] = (),
    activities: Sequence[Callable] = (),
    task_queue: str | None = None,
    graceful_shutdown_timeout: timedelta | None = None,
    max_concurrent_activities: int | None = None,
    activity_executor: concurrent.futures.Executor | None = None,
    passthrough_modules: Sequence[str] = DEFAULT_PASSTHROUGH_MODULES,
    **worker_options,
) -> tuple[Worker, concurrent.futures.ThreadPoolExecutor | None]:
    """A Worker configured as above, and the thread pool it owns (None if none was created), which
    the caller shuts down after the worker. `worker_options` go to Worker unchanged."""
    if not workflows and not activities:
        raise ValueError("a worker needs at least one workflow or activity")
    owned_executor = None
    if activity_executor is None and not all(_is_async(activity) for activity in activities):
        max_concurrent_activities = max_concurrent_activities or DEFAULT_SYNC_ACTIVITY_THREADS
        owned_executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_concurrent_activities, thread_name_prefix="temporal-activity"
        )
        activity_executor = owned_executor
    if graceful_shutdown_timeout is None:
        graceful_shutdown_timeout = timedelta(seconds=settings.TEMPORAL_WORKER_DRAIN_SECONDS)
    worker_options.setdefault("max_cached_workflows", settings.TEMPORAL_MAX_CACHED_WORKFLOWS)
    worker_options.setdefault("max_concurrent_workflow_tasks", settings.TEMPORAL_MAX_CONCURRENT_WORKFLOW_TASKS)
    worker = Worker(
        client,
        task_queue=task_queue or settings.TEMPORAL_TASK_QUEUE,
        workflows=list(workflows),
        activities=list(activities),
        activity_executor=activity_executor,
        max_concurrent_activities=max_concurrent_activities,
        graceful_shutdown_timeout=graceful_shutdown_timeout,
        workflow_runner=sandboxed_runner(passthrough_modules),
        **worker_options,
    )
    return worker, owned_executor


def _describe(worker: Worker, workflows: Sequence[type], activities: Sequence[Callable]) -> str:
    config = worker.config()
    return (
        f"task queue {config['task_queue']!r} (namespace {worker.client.namespace!r}): "
        f"{len(workflows)} workflow(s), {len(activities)} activit{'y' if len(activities) == 1 else 'ies'}, "
        f"drain {config['graceful_shutdown_timeout'].total_seconds():g} s"
    )


async def run_worker(
    workflows: Sequence[type] = (),
    activities: Sequence[Callable] = (),
    *,
    task_queue: str | None = None,
    client: Client | None = None,
    handle_signals: bool = True,
    **options,
) -> None:
    """Run a worker until SIGTERM/SIGINT (when handle_signals, on the main thread's loop), then drain
    its activities for up to the graceful shutdown timeout and return; a fatal worker error raises.

    For a worker process: `asyncio.run(run_worker([SetupWorkflow], [create_connection, ...]))`.
    `options` are those of build_worker.
    """
    client = client or await get_client()
    worker, executor = build_worker(client, workflows=workflows, activities=activities, task_queue=task_queue, **options)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        drain = worker.config()["graceful_shutdown_timeout"].total_seconds()
        logger.info("%s: stopping the Temporal worker, letting running activities finish (up to %g s)",
                    signum.name, drain)
        # The next signal is the default one: a second Ctrl-C or SIGTERM stops at once.
        for handled_signum in handled:
            loop.remove_signal_handler(handled_signum)
        stop.set()

    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
            handled.append(signum)
    try:
        logger.info("Temporal worker started on %s", _describe(worker, workflows, activities))
        # Leaving the block calls worker.shutdown(): stop polling, wait for running activities.
        async with worker:
            await stop.wait()
        logger.info("Temporal worker stopped")
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


@dataclass
class InProcessWorker:
    """A worker running as a task on the loop that started it (daphne's, in the embedded default)."""

    worker: Worker
    task: asyncio.Task
    _executor: concurrent.futures.ThreadPoolExecutor | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return not self.task.done()

    async def stop(self) -> None:
        """Drain like a worker process (stop polling, let activities finish) and wait for it. Idempotent."""
        if not self.task.done():
            await self.worker.shutdown()
        try:
            await self.task
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)


async def start_in_process_worker(
    workflows: Sequence[type] = (),
    activities: Sequence[Callable] = (),
    *,
    task_queue: str | None = None,
    client: Client | None = None,
    **options,
) -> InProcessWorker:
    """Start a worker as a task of the running loop and return at once; `await handle.stop()` ends it.

    No signal handling: the host (daphne) owns the signals. A fatal worker error ends the task and is
    logged (and re-raised by stop()). Workflow code runs in the SDK's own threads, so it never blocks
    the host loop; async activities run on the host loop and must not block it.
    """
    client = client or await get_client()
    worker, executor = build_worker(client, workflows=workflows, activities=activities, task_queue=task_queue, **options)
    description = _describe(worker, workflows, activities)

    async def run() -> None:
        logger.info("in-process Temporal worker started on %s", description)
        try:
            await worker.run()
        except asyncio.CancelledError:
            raise
        except BaseException:
            logger.exception("the in-process Temporal worker on %s failed", description)
            raise
        logger.info("in-process Temporal worker stopped")

    task = asyncio.get_running_loop().create_task(run(), name=f"temporal-worker:{worker.config()['task_queue']}")
    return InProcessWorker(worker, task, executor)
