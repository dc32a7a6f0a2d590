"""The set-up worker: claims due steps with a lease, runs them as tasks, and sweeps for lost work.

The step rows are the queue. A doorbell (`wake`) only shortens the wait; every SETUP_SWEEP_SECONDS
the loop looks for due steps anyway, which also picks up steps whose worker died (expired lease)
and doorbells the channel layer dropped. A step that waits (Fivetran syncing, the user choosing)
holds no task: it is a row with a `due_at`.
"""

import asyncio
import logging
import os
import socket
import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections

from connectors.fivetran import FivetranError
from integrations.engine import leases
from integrations.models import Integration
from integrations.setup.flow import STEP_BY_NAME
from integrations.setup.outcomes import CheckAgain, Done, Failed, Skipped, StepContext, WaitForUser
from integrations.state import transitions as services
from integrations.state.events import publish

logger = logging.getLogger(__name__)


def _db(fn):
    # One thread for ORM work keeps SQLite's single writer happy and matches Django's async rules.
    return sync_to_async(fn, thread_sensitive=True)


def _retryable(error: FivetranError) -> bool:
    return error.status is None or error.status == 429 or error.status >= 500


class Runner:
    def __init__(self, *, owner: str | None = None, concurrency: int = 100):
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency
        self.lease_seconds = settings.SETUP_LEASE_SECONDS
        self._wake = asyncio.Event()
        self._running: dict[int, asyncio.Task] = {}
        self._loop_task: asyncio.Task | None = None

    # -- the loop -----------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def ensure_started(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.ensure_future(self.run_forever())

    async def run_forever(self) -> None:
        logger.info("set-up worker %s started", self.owner)
        while True:
            try:
                await self.run_due()
            except Exception:
                logger.exception("set-up worker: claiming steps failed; retrying")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=settings.SETUP_SWEEP_SECONDS)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def run_due(self) -> list[asyncio.Task]:
        """Claim what is due and start it; returns the started tasks (tests await them)."""
        room = self.concurrency - len(self._running)
        if room <= 0:
            return []
        claimed = await _db(leases.steps_claim_due)(
            owner=self.owner, limit=room, lease_seconds=self.lease_seconds, exclude=set(self._running)
        )
        tasks = []
        for step_id in claimed:
            task = asyncio.ensure_future(self.run_step(step_id))
            self._running[step_id] = task
            task.add_done_callback(lambda _, step_id=step_id: self._running.pop(step_id, None))
            tasks.append(task)
        return tasks

    async def run_until_idle(self, *, max_rounds: int = 200) -> None:
        """Run every due step, and the steps they make due, until nothing is due now (tests, benches)."""
        for _ in range(max_rounds):
            tasks = await self.run_due()
            if not tasks:
                return
            await asyncio.gather(*tasks)

    # -- one step -----------------------------------------------------------------------------------

    async def run_step(self, step_id: int) -> None:
        try:
            await self._run_step(step_id)
        except services.LeaseLost:
            logger.info("step %s: lease lost to another worker; leaving it", step_id)
        except Exception:
            logger.exception("step %s: the worker failed", step_id)
        finally:
            await _db(close_old_connections)()

    async def _run_step(self, step_id: int) -> None:
        step, events = await _db(services.step_begin)(step_id, owner=self.owner)
        await publish(events)
        integration = await _db(Integration.objects.get)(pk=step.integration_id)

        async def report(done=None, total=None, unit="", message=""):
            await publish(
                await _db(services.step_progress)(
                    step_id, owner=self.owner, done=done, total=total, unit=unit, message=message
                )
            )

        async def save_scratch(scratch: dict) -> None:
            await _db(services.step_save_scratch)(step_id, owner=self.owner, scratch=scratch)
            step.scratch = scratch

        context = StepContext(integration=integration, step=step, report=report, save_scratch=save_scratch)
        work = asyncio.ensure_future(STEP_BY_NAME[step.name].run(context))
        renewal = asyncio.ensure_future(self._keep_lease(step_id, work))
        try:
            outcome = await work
        except asyncio.CancelledError:
            raise services.LeaseLost(step_id)
        except FivetranError as error:
            outcome = Failed(error.code or "fivetran_error", error.message or str(error), _retryable(error))
        except Exception as error:
            logger.exception("step %s (%s) crashed", step.name, step_id)
            outcome = Failed("internal_error", f"Unexpected error: {error}", retryable=True)
        finally:
            renewal.cancel()
        await publish(await _db(self._apply)(step_id, outcome))
        if isinstance(outcome, (Done, Skipped)):
            self.wake()  # the next step is due now; this worker may as well take it

    async def _keep_lease(self, step_id: int, work: asyncio.Future) -> None:
        """Renew the lease while the step works; stop the work once the lease may have passed to
        another worker (renewal refused, or failing until the lease ran out)."""
        loop = asyncio.get_running_loop()
        expires = loop.time() + self.lease_seconds
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                renewed = await _db(leases.step_renew_lease)(
                    step_id, owner=self.owner, lease_seconds=self.lease_seconds
                )
            except Exception:
                logger.warning("step %s: could not renew the lease; retrying", step_id, exc_info=True)
                renewed = None
            if renewed:
                expires = loop.time() + self.lease_seconds
            elif renewed is False or loop.time() >= expires:
                work.cancel()
                return

    def _apply(self, step_id: int, outcome) -> list:
        owner = self.owner
        match outcome:
            case Done(detail=detail, message=message, events=extra):
                return services.step_complete(
                    step_id, owner=owner, detail=detail, message=message, extra_events=extra
                )
            case Skipped(reason=reason):
                return services.step_complete(step_id, owner=owner, detail={}, skipped_reason=reason)
            case WaitForUser(kind=kind, url=url, message=message, recheck_after=recheck_after):
                return services.step_wait_for_user(
                    step_id, owner=owner, kind=kind, url=url, message=message, recheck_after=recheck_after
                )
            case CheckAgain(after_seconds=after, scratch=scratch):
                services.step_check_later(step_id, owner=owner, after_seconds=after, scratch=scratch)
                return []
            case Failed(code=code, message=message, retryable=retryable):
                return services.step_fail(step_id, owner=owner, code=code, message=message, retryable=retryable)
        raise TypeError(f"a step answered {outcome!r}")


_process_runner: Runner | None = None


def process_runner() -> Runner:
    """The runner of this process (one per worker process, or inside daphne for `make run`)."""
    global _process_runner
    if _process_runner is None:
        _process_runner = Runner()
    return _process_runner
