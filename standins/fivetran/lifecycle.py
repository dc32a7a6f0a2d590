"""A connection's life (§4): card completion, pause/unpause, syncs, faults, resyncs.

State lives in the store; a per-connection asyncio task (the "driver") reads it and moves it on, so
after a restart the first request can start drivers again and unfinished syncs carry on where they
stopped. Handlers change state synchronously, then ask for a driver.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from . import schema_config
from .clock import api_timestamp, in_seconds, parse, seconds_until, webhook_timestamp
from .faults import Faults
from .landing import tables_to_land
from .services import ServiceInfo
from .store import CONNECTION, SCHEMA_CONFIG, Store
from .webhooks import Deliverer
from .writer import DestinationWriter

log = logging.getLogger(__name__)

RECONNECT_TASK = {"code": "reconnect", "message": "Reconnect"}


class Lifecycle:
    def __init__(self, *, store: Store, services: dict[str, ServiceInfo], faults: Faults, deliverer: Deliverer,
                 writer: DestinationWriter, sync_seconds: float):
        self.store = store
        self.services = services
        self.faults = faults
        self.deliverer = deliverer
        self.writer = writer
        self.sync_seconds = sync_seconds
        # How long an unpaused connection shows "scheduled" before its sync starts.
        self.schedule_delay = min(2.0, sync_seconds * 0.1)
        self._drivers: dict[str, asyncio.Task] = {}
        self._resumed_on: asyncio.AbstractEventLoop | None = None

    # --- schema config ---------------------------------------------------------------------------

    def ensure_schema_config(self, connection: dict[str, Any]) -> dict[str, Any]:
        config = self.store.get(SCHEMA_CONFIG, connection["id"])
        if config is None:
            config = schema_config.capture(self.services[connection["service"]], connection["config"])
            self.store.put(SCHEMA_CONFIG, connection["id"], config)
        return config

    # --- transitions requested by the API --------------------------------------------------------

    def complete_card(self, connection_id: str) -> dict[str, Any]:
        """The user passed the Connect Card: connected (a broken connection is repaired), schema captured."""
        def change(connection: dict[str, Any]) -> None:
            connection["setup_state"] = "connected"
            connection["tasks"] = []
            if connection["update_state"] == "delayed" and connection["failed_at"] and not connection["is_historical_sync"]:
                connection["update_state"] = "on_schedule"
            if not connection["paused"] and connection["is_historical_sync"] and connection["sync"] is None:
                connection["next_sync_at"] = connection["next_sync_at"] or in_seconds(self.schedule_delay)

        connection = self.store.update(CONNECTION, connection_id, change)
        self.ensure_schema_config(connection)
        self.deliverer.send("connection_successful", connection)
        self.ensure_driver(connection_id)
        return connection

    def set_paused(self, connection: dict[str, Any], paused: bool) -> None:
        """Mutates `connection` (the caller saves it): pausing stops a running sync, unpausing plans one."""
        was_paused = connection["paused"]
        connection["paused"] = paused
        if paused and not was_paused:
            self.cancel_driver(connection["id"])
            connection["sync"] = None
            connection["rescheduled_for"] = None
        elif not paused and was_paused:
            if connection["schedule_type"] == "auto" and connection["is_historical_sync"] and not connection["next_sync_at"]:
                connection["next_sync_at"] = in_seconds(self.schedule_delay)

    def trigger_sync(self, connection_id: str, *, force: bool) -> None:
        """POST …/sync: ignored while a sync runs unless forced, and unless connected and unpaused."""
        connection = self.store.get(CONNECTION, connection_id)
        if connection["setup_state"] != "connected" or connection["paused"]:
            return
        if connection["sync"] is not None and not force:
            return
        self._restart(connection_id)

    def resync(self, connection_id: str, scope: dict[str, list[str]] | None, *, historical: bool = True) -> None:
        """Re-import `scope` (every enabled table when None). A table re-sync (historical=False) leaves the
        connection's own is_historical_sync alone: only the chosen tables start over."""
        def change(connection: dict[str, Any]) -> None:
            if historical:
                connection["is_historical_sync"] = True
            connection["sync_scope"] = scope
        self.store.update(CONNECTION, connection_id, change)
        connection = self.store.get(CONNECTION, connection_id)
        if connection["setup_state"] == "connected" and not connection["paused"]:
            self._restart(connection_id)
        else:
            # Runs on resume, like Fivetran's resync of a paused connection.
            self.store.update(CONNECTION, connection_id, lambda c: c.update(next_sync_at=c["next_sync_at"] or api_timestamp()))

    def _restart(self, connection_id: str) -> None:
        self.cancel_driver(connection_id)
        self.store.update(CONNECTION, connection_id, lambda c: c.update(sync=None, rescheduled_for=None, next_sync_at=api_timestamp()))
        self.ensure_driver(connection_id)

    def forget(self, connection_id: str) -> None:
        self.cancel_driver(connection_id)

    # --- drivers ---------------------------------------------------------------------------------

    def resume_all(self) -> None:
        """Once per event loop (daphne runs no lifespan): restart drivers for unfinished or planned syncs."""
        loop = asyncio.get_running_loop()
        if self._resumed_on is loop:
            return
        self._resumed_on = loop
        for connection in self.store.all(CONNECTION):
            if connection["sync"] is not None or connection["next_sync_at"]:
                self.ensure_driver(connection["id"])

    def ensure_driver(self, connection_id: str) -> None:
        loop = asyncio.get_running_loop()
        task = self._drivers.get(connection_id)
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._drivers[connection_id] = loop.create_task(self._drive(connection_id), name=f"fivetran-emulator-sync-{connection_id}")

    def cancel_driver(self, connection_id: str) -> None:
        task = self._drivers.pop(connection_id, None)
        if task is not None and not task.done():
            task.cancel()

    async def _drive(self, connection_id: str) -> None:
        try:
            while True:
                connection = self.store.get(CONNECTION, connection_id)
                if connection is None or connection["paused"] or connection["setup_state"] != "connected":
                    return
                if connection["sync"] is not None:
                    await self._run_sync(connection_id, connection["sync"]["id"])
                    continue
                if not connection["next_sync_at"]:
                    return
                wait = seconds_until(connection["next_sync_at"])
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                self._begin_sync(connection_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sync driver for %s crashed", connection_id)

    def _begin_sync(self, connection_id: str) -> None:
        fault = self.faults.take_sync_fault(connection_id)
        sync_id = str(uuid.uuid4())

        def change(connection: dict[str, Any]) -> None:
            connection["sync"] = {
                "id": sync_id,
                "started_at": api_timestamp(),
                "landed": [],
                "scope": connection["sync_scope"],
                "fault": fault.kind if fault else None,
                "retry_after": fault.retry_after if fault else None,
            }
            connection["next_sync_at"] = None
            connection["rescheduled_for"] = None
            connection["sync_scope"] = None

        connection = self.store.update(CONNECTION, connection_id, change)
        self.deliverer.send("sync_start", connection, sync_id=sync_id)

    def _current(self, connection_id: str, sync_id: str) -> dict[str, Any] | None:
        connection = self.store.get(CONNECTION, connection_id)
        if connection is None or connection["sync"] is None or connection["sync"]["id"] != sync_id:
            return None
        return connection

    async def _run_sync(self, connection_id: str, sync_id: str) -> None:
        connection = self._current(connection_id, sync_id)
        sync = connection["sync"]
        service = self.services[connection["service"]]
        tables = tables_to_land(service, connection, self.ensure_schema_config(connection), sync["scope"])
        step = self.sync_seconds / max(len(tables), 1)
        if sync["fault"]:
            await asyncio.sleep(min(step, self.sync_seconds / 2))
            if self._current(connection_id, sync_id):
                self._end_with_fault(connection_id, sync["fault"], sync["retry_after"] or 1)
            return
        pending = [table for table in tables if f"{table.dataset}.{table.table}" not in sync["landed"]]
        if not pending:
            await asyncio.sleep(step)
        for table in pending:
            await asyncio.sleep(step)
            if not self._current(connection_id, sync_id):
                return
            try:
                await self.writer.write_table(table)
            except Exception as exc:  # a destination failure fails the sync, as in Fivetran
                log.exception("writing %s.%s failed", table.dataset, table.table)
                if self._current(connection_id, sync_id):
                    self._fail(connection_id, f"Destination error: {exc}")
                return
            key = f"{table.dataset}.{table.table}"
            if not self._current(connection_id, sync_id):
                return
            self.store.update(CONNECTION, connection_id, lambda c: c["sync"]["landed"].append(key))
        if self._current(connection_id, sync_id):
            self._succeed(connection_id)

    def _finish(self, connection_id: str, status: dict[str, Any], **changes: Any) -> None:
        def change(connection: dict[str, Any]) -> None:
            connection.update(changes)
            connection["sync"] = None

        sync_id = self.store.get(CONNECTION, connection_id)["sync"]["id"]
        connection = self.store.update(CONNECTION, connection_id, change)
        self.deliverer.send("sync_end", connection, sync_id=sync_id, data=status)

    def _succeed(self, connection_id: str) -> None:
        self._finish(connection_id, {"status": "SUCCESSFUL"}, succeeded_at=api_timestamp(), is_historical_sync=False,
                     update_state="on_schedule", warnings=[])

    def _fail(self, connection_id: str, reason: str) -> None:
        # Fivetran retries a failed sync on its schedule; here, after one sync duration.
        self._finish(
            connection_id, {"status": "FAILED", "reason": reason},
            failed_at=api_timestamp(), update_state="delayed", next_sync_at=in_seconds(self.sync_seconds),
            warnings=[{"code": "sync_failed", "message": reason, "details": {}}],
        )

    def _end_with_fault(self, connection_id: str, kind: str, retry_after: int) -> None:
        if kind == "fail_sync":
            self._fail(connection_id, "Emulated sync failure")
        elif kind == "break":
            self._finish(
                connection_id, {"status": "FAILURE_WITH_TASK", "reason": "Emulated: access token was revoked", "taskType": "reconnect"},
                setup_state="broken", tasks=[RECONNECT_TASK], failed_at=api_timestamp(), update_state="delayed", next_sync_at=None,
            )
            self.deliverer.send("connection_failure", self.store.get(CONNECTION, connection_id))
        elif kind == "reschedule":
            resume_at = in_seconds(retry_after)
            self._finish(
                connection_id,
                {"status": "RESCHEDULED", "reason": "Emulated: source API quota exhausted", "rescheduledAt": webhook_timestamp(parse(resume_at))},
                rescheduled_for=resume_at, next_sync_at=resume_at,
            )
