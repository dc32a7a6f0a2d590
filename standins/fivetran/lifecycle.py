"""A connection's life (§4): card completion, pause/unpause, the historical sync, then incremental
syncs on Fivetran's schedule, faults, resyncs.

State lives in the store; a per-connection asyncio task (the "driver") reads it and moves it on, so
after a restart the first request can start drivers again and unfinished syncs carry on where they
stopped. Handlers change state synchronously, then wake the driver, which works out again what is
due: the schedule is derived from the stored state, never kept in a timer.

Time: the waits of Fivetran's schedule (`sync_frequency`, the time to `daily_sync_time`) pass
`time_scale` times faster than real time, so a test sees an hourly connection sync every second at
3600. Timestamps stay wall-clock time. The emulator's own durations (`sync_seconds`, the start delay,
a fault's `retry_after`) are real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

from . import connections, schema_config
from .clock import (
    api_timestamp,
    check_time_scale,
    in_seconds,
    parse,
    seconds_to_hour_of_day,
    seconds_until,
    webhook_timestamp,
)
from .faults import Faults
from .landing import tables_to_land
from .platform_recorder import PlatformRecorder
from .responses import bad_request
from .samples import connection_source, new_rows
from .services import ServiceInfo
from .store import CONNECTION, SCHEMA_CONFIG, Store
from .webhooks import Deliverer, by_user
from .writer import DestinationWriter, LandedTable, NullPlatformWriter, PlatformWriter

log = logging.getLogger(__name__)

RECONNECT_TASK = {"code": "reconnect", "message": "Reconnect"}
DEFAULT_SYNC_FREQUENCY = 360  # minutes; Fivetran's default, also for a connection created with null


class Lifecycle:
    def __init__(self, *, store: Store, services: dict[str, ServiceInfo], faults: Faults, deliverer: Deliverer,
                 writer: DestinationWriter, sync_seconds: float, time_scale: float = 1.0,
                 platform: PlatformWriter | None = None):
        self.store = store
        self.services = services
        self.faults = faults
        self.deliverer = deliverer
        self.writer = writer
        # What Fivetran's Platform Connector would write about each sync and connection (platform_log.py).
        self.platform = PlatformRecorder(platform or NullPlatformWriter())
        self.sync_seconds = sync_seconds
        self.time_scale = check_time_scale(time_scale)
        # How long an unpaused connection shows "scheduled" before its sync starts.
        self.schedule_delay = min(2.0, sync_seconds * 0.1)
        self._drivers: dict[str, asyncio.Task] = {}
        # Set to make a sleeping driver look again at what is due (a PATCH, a new time scale).
        self._wakeups: dict[str, asyncio.Event] = {}
        self._resumed_on: asyncio.AbstractEventLoop | None = None

    # --- schema config ---------------------------------------------------------------------------

    def ensure_schema_config(self, connection: dict[str, Any]) -> dict[str, Any]:
        config = self.store.get(SCHEMA_CONFIG, connection["id"])
        if config is None:
            config = schema_config.capture(self.services[connection["service"]], connection)
            self.store.put(SCHEMA_CONFIG, connection["id"], config)
        return config

    def add_source_table(self, connection_id: str, table: dict[str, Any]) -> None:
        """The source gained a table (samples.new_source_table). Fivetran notices at its next sync,
        when schema_change_handling decides whether the table is synced."""
        self.store.update(CONNECTION, connection_id, lambda c: c.setdefault("source_added", []).append(table))

    def _detect_schema_changes(self, connection: dict[str, Any]) -> None:
        config = self.ensure_schema_config(connection)
        source = connection_source(self.services[connection["service"]], connection)
        updated = schema_config.admit_new_objects(config, source)
        if updated != config:
            self.store.put(SCHEMA_CONFIG, connection["id"], updated)

    # --- transitions requested by the API --------------------------------------------------------

    def complete_card(self, connection_id: str) -> dict[str, Any]:
        """The user passed the Connect Card: connected (a broken connection is repaired and syncs
        again soon), schema captured."""
        def change(connection: dict[str, Any]) -> None:
            was_broken = connection["setup_state"] == "broken"
            connection["setup_state"] = "connected"
            connection["tasks"] = []
            if connection["update_state"] == "delayed" and connection["failed_at"] and not connection["is_historical_sync"]:
                connection["update_state"] = "on_schedule"
            if not connection["paused"] and connection["sync"] is None and (connection["is_historical_sync"] or was_broken):
                connection["next_sync_at"] = connection["next_sync_at"] or in_seconds(self.schedule_delay)

        connection = self.store.update(CONNECTION, connection_id, change)
        self.ensure_schema_config(connection)
        self.deliverer.send("connection_successful", connection)
        self.wake(connection_id)
        return connection

    def update(self, connection_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH /connections/{id}: settings, pause or resume, is_historical_sync. Validated on a
        scratch copy first, so a refused PATCH changes nothing."""
        if "paused" in body and not isinstance(body["paused"], bool):
            raise bad_request("'paused' must be a boolean")
        if "is_historical_sync" in body and not isinstance(body["is_historical_sync"], bool):
            raise bad_request("'is_historical_sync' must be a boolean")
        before = self.store.get(CONNECTION, connection_id)
        connections.apply_update(copy.deepcopy(before), body)
        after = self.store.update(CONNECTION, connection_id, lambda c: connections.apply_update(c, body))
        changed = connections.changed_settings(before, after)
        if changed:
            self.deliverer.send("edit_connector", after, data=by_user(properties=changed))
        if "paused" in body and body["paused"] != before["paused"]:
            if body["paused"]:
                self._pause(connection_id)
            else:
                self._resume(connection_id)
        if body.get("is_historical_sync"):
            # "Setting it TRUE … starts a historical sync immediately" (OpenAPI UpdateConnectorRequest).
            self.resync(connection_id, None)
        # A new frequency or schedule type moves the next sync; the driver works it out again.
        self.wake(connection_id)
        return self.store.get(CONNECTION, connection_id)

    def _pause(self, connection_id: str) -> None:
        """Pausing stops a running sync; a planned one waits for the resume."""
        connection = self.store.update(CONNECTION, connection_id, lambda c: c.update(paused=True, rescheduled_for=None))
        self.deliverer.send("pause_connector", connection, data=by_user())
        self.platform.connection_changed(connection)
        self._cancel_running(connection_id)

    def _resume(self, connection_id: str) -> None:
        """An unfinished historical sync starts again soon; an incremental connection follows its schedule."""
        def change(connection: dict[str, Any]) -> None:
            connection["paused"] = False
            if connection["schedule_type"] == "auto" and connection["is_historical_sync"] and not connection["next_sync_at"]:
                connection["next_sync_at"] = in_seconds(self.schedule_delay)

        connection = self.store.update(CONNECTION, connection_id, change)
        self.deliverer.send("resume_connector", connection, data=by_user())
        self.platform.connection_changed(connection)

    def trigger_sync(self, connection_id: str, *, force: bool) -> None:
        """POST …/sync: ignored while a sync runs unless forced, and unless connected and unpaused.
        The request itself is a user action Fivetran records however it ends (force_update_connector)."""
        connection = self.store.get(CONNECTION, connection_id)
        self.deliverer.send("force_update_connector", connection, data=by_user(force=force))
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
        connection = self.store.update(CONNECTION, connection_id, change)
        if historical:
            self.deliverer.send("resync_connector", connection, data=by_user(**({"scope": scope} if scope else {})))
        else:
            for schema, tables in (scope or {}).items():
                for table in tables:
                    self.deliverer.send("resync_table", connection, data=by_user(schema=schema, table=table))
            self.platform.table_resync_asked(connection, scope or {})
        if connection["setup_state"] == "connected" and not connection["paused"]:
            self._restart(connection_id)
        else:
            # Runs on resume, like Fivetran's resync of a paused connection.
            self.store.update(CONNECTION, connection_id, lambda c: c.update(next_sync_at=c["next_sync_at"] or api_timestamp()))

    def _restart(self, connection_id: str) -> None:
        self._cancel_running(connection_id)
        self.store.update(CONNECTION, connection_id, lambda c: c.update(rescheduled_for=None, next_sync_at=api_timestamp()))
        self.ensure_driver(connection_id)

    def _cancel_running(self, connection_id: str) -> None:
        """Stop the driver; a sync it was running ends CANCELED (a `sync_end` status since Dec 2022,
        docs/logs/changelog), with no reason: nothing failed."""
        self.cancel_driver(connection_id)
        connection = self.store.get(CONNECTION, connection_id)
        if connection is None or connection["sync"] is None:
            return
        sync_id = connection["sync"]["id"]
        self.platform.sync_cancelled(connection)
        connection = self.store.update(CONNECTION, connection_id, lambda c: c.update(sync=None))
        self.deliverer.send("sync_end", connection, sync_id=sync_id, data={"status": "CANCELED"})

    def delete(self, connection_id: str) -> None:
        """The connection is gone (DELETE, or deleted on Fivetran's side): a running sync just stops,
        later calls answer 404, and what it landed stays in the destination (§2.5)."""
        connection = self.store.get(CONNECTION, connection_id)
        self.cancel_driver(connection_id)
        self.store.delete(CONNECTION, connection_id)
        self.store.delete(SCHEMA_CONFIG, connection_id)
        self.deliverer.send("delete_connector", connection, data=by_user())
        self.platform.connection_changed(connection, deleted=True)

    # --- the schedule ----------------------------------------------------------------------------

    def set_time_scale(self, time_scale: float) -> None:
        """Every schedule is derived from the stored state, so waking the drivers is enough."""
        self.time_scale = check_time_scale(time_scale)
        for connection in self.store.all(CONNECTION):
            if connection["id"] in self._drivers or self.next_due(connection) is not None:
                self.wake(connection["id"])

    def next_due(self, connection: dict[str, Any]) -> str | None:
        """When the connection's next sync starts, or None when nothing will start it by itself."""
        if connection["paused"] or connection["setup_state"] != "connected" or connection["sync"] is not None:
            return None
        if connection["next_sync_at"]:
            return connection["next_sync_at"]  # a start, a retry or a reschedule already planned
        if connection["schedule_type"] != "auto":
            # "POST …/sync is the only way syncs occur" with a manual schedule (docs, sync-connection).
            return None
        if connection["is_historical_sync"]:
            return api_timestamp()
        anchor = connection.get("last_sync_started_at") or connection["succeeded_at"] or connection["failed_at"]
        if anchor is None:
            return None
        started = parse(anchor)
        return api_timestamp(started + timedelta(seconds=self._period_seconds(connection, started) / self.time_scale))

    @staticmethod
    def _period_seconds(connection: dict[str, Any], started) -> float:
        """Fivetran's wait from one sync's start to the next one's, in emulated seconds. A sync longer
        than the period is followed at once. Fivetran's 0-60 minute per-destination offset is left out."""
        minutes = connection["sync_frequency"] or DEFAULT_SYNC_FREQUENCY
        if minutes == 1440 and connection.get("daily_sync_time"):
            return seconds_to_hour_of_day(started, connection["daily_sync_time"])
        return minutes * 60.0

    # --- drivers ---------------------------------------------------------------------------------

    def resume_all(self) -> None:
        """Once per event loop (daphne runs no lifespan): restart drivers for unfinished or due syncs."""
        loop = asyncio.get_running_loop()
        if self._resumed_on is loop:
            return
        self._resumed_on = loop
        for connection in self.store.all(CONNECTION):
            if connection["sync"] is not None or self.next_due(connection) is not None:
                self.ensure_driver(connection["id"])

    def ensure_driver(self, connection_id: str) -> None:
        loop = asyncio.get_running_loop()
        task = self._drivers.get(connection_id)
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._wakeups[connection_id] = asyncio.Event()
        self._drivers[connection_id] = loop.create_task(self._drive(connection_id), name=f"fivetran-emulator-sync-{connection_id}")

    def wake(self, connection_id: str) -> None:
        """Make the connection's driver look again at what is due, starting one if none runs."""
        task = self._drivers.get(connection_id)
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            self._wakeups[connection_id].set()
        else:
            self.ensure_driver(connection_id)

    def cancel_driver(self, connection_id: str) -> None:
        task = self._drivers.pop(connection_id, None)
        self._wakeups.pop(connection_id, None)
        if task is not None and not task.done():
            task.cancel()

    async def _drive(self, connection_id: str) -> None:
        wakeup = self._wakeups[connection_id]
        try:
            while True:
                connection = self.store.get(CONNECTION, connection_id)
                if connection is None or connection["paused"] or connection["setup_state"] != "connected":
                    return
                if connection["sync"] is not None:
                    await self._run_sync(connection_id, connection["sync"]["id"])
                    continue
                due = self.next_due(connection)
                if due is None:
                    return
                wait = seconds_until(due)
                if wait > 0:
                    wakeup.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wakeup.wait(), timeout=wait)
                    continue
                self._begin_sync(connection_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sync driver for %s crashed", connection_id)

    def _begin_sync(self, connection_id: str) -> None:
        # Every sync first reads the source's schema: what it gained since joins the config now.
        self._detect_schema_changes(self.store.get(CONNECTION, connection_id))
        fault = self.faults.take_sync_fault(connection_id)
        sync_id = str(uuid.uuid4())

        def change(connection: dict[str, Any]) -> None:
            started_at = api_timestamp()
            connection["sync"] = {
                "id": sync_id,
                "started_at": started_at,
                "landed": [],
                "scope": connection["sync_scope"],
                "historical": connection["is_historical_sync"],
                "fault": fault.kind if fault else None,
                "retry_after": fault.retry_after if fault else None,
            }
            connection["last_sync_started_at"] = started_at  # the schedule counts from here
            self.platform.sync_started(connection, connection["sync"])
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
                await self._end_with_fault(connection_id, sync["fault"], sync["retry_after"] or 1)
            return
        pending = [table for table in tables if _key(table) not in sync["landed"]]
        if not pending:
            await asyncio.sleep(step)
        for table in pending:
            await asyncio.sleep(step)
            connection = self._current(connection_id, sync_id)
            if not connection:
                return
            write, record = self._write_for(connection, table)
            try:
                if write is not None:
                    await self.writer.write_table(write)
            except Exception as exc:  # a destination failure fails the sync, as in Fivetran
                log.exception("writing %s.%s failed", table.dataset, table.table)
                if self._current(connection_id, sync_id):
                    await self._fail(connection_id, f"Destination error: {exc}")
                return
            if not self._current(connection_id, sync_id):
                return

            def landed(c: dict[str, Any], key: str = _key(table), record: dict[str, Any] = record,
                       write: LandedTable | None = write) -> None:
                c["sync"]["landed"].append(key)
                c.setdefault("landed_tables", {})[key] = record
                if write is not None:
                    self.platform.table_written(c, c["sync"], schema=write.dataset, table=write.table,
                                                count=write.row_count, whole=not write.append)

            self.store.update(CONNECTION, connection_id, landed)
        if self._current(connection_id, sync_id):
            if sync["scope"] is None:
                # A table no longer synced is forgotten, so enabling it again re-imports it whole
                # (docs/connectors/troubleshooting/excluded-table-re-sync).
                kept = {_key(table) for table in tables}
                self.store.update(CONNECTION, connection_id, lambda c: c.update(
                    landed_tables={key: record for key, record in c.get("landed_tables", {}).items() if key in kept}))
            await self._succeed(connection_id)

    @staticmethod
    def _write_for(connection: dict[str, Any], table: LandedTable) -> tuple[LandedTable | None, dict[str, Any]]:
        """What this sync writes of `table`, and what the destination then holds of it.

        A historical sync, a re-sync of the table, a table never landed (newly enabled) or one whose
        columns changed is re-imported whole: every row the source holds, including those earlier
        incremental syncs found. Otherwise an incremental sync appends the few rows the source gained.
        """
        record = connection.get("landed_tables", {}).get(_key(table))
        columns = [name for name, _type in table.columns]
        sync = connection["sync"]
        historical = sync.get("historical", connection["is_historical_sync"])
        if historical or sync["scope"] is not None or record is None or record["columns"] != columns:
            rows = record["rows"] if record else table.row_count
            return replace(table, row_count=rows), {"rows": rows, "columns": columns}
        added = new_rows(_key(table), record["rows"])
        if added == 0:
            return None, record
        return replace(table, row_count=added, first_row=record["rows"], append=True), {"rows": record["rows"] + added, "columns": columns}

    async def _finish(self, connection_id: str, status: dict[str, Any], **changes: Any) -> None:
        def change(connection: dict[str, Any]) -> None:
            connection.update(changes)
            connection["sync"] = None

        running = self.store.get(CONNECTION, connection_id)
        sync_id = running["sync"]["id"]
        # Written before the webhook, so whoever hears `sync_end` finds the sync's log lines.
        await self.platform.sync_ended(running, status, changes.get("warnings") or [])
        if not self._current(connection_id, sync_id):
            return  # cancelled or deleted while the lines were written
        connection = self.store.update(CONNECTION, connection_id, change)
        self.deliverer.send("sync_end", connection, sync_id=sync_id, data=status)

    async def _succeed(self, connection_id: str) -> None:
        await self._finish(connection_id, {"status": "SUCCESSFUL"}, succeeded_at=api_timestamp(), is_historical_sync=False,
                     update_state="on_schedule", warnings=[])

    async def _fail(self, connection_id: str, reason: str) -> None:
        # FAILURE is the status of Fivetran's log changelog (docs/logs/changelog). An incremental sync
        # is retried on the schedule; an unfinished historical sync, here, after one sync duration.
        historical = self.store.get(CONNECTION, connection_id)["is_historical_sync"]
        await self._finish(
            connection_id, {"status": "FAILURE", "reason": reason},
            failed_at=api_timestamp(), update_state="delayed", next_sync_at=in_seconds(self.sync_seconds) if historical else None,
            warnings=[{"code": "sync_failed", "message": reason, "details": {}}],
        )

    async def _end_with_fault(self, connection_id: str, kind: str, retry_after: int) -> None:
        if kind == "fail_sync":
            await self._fail(connection_id, "Emulated sync failure")
        elif kind == "break":
            await self._finish(
                connection_id, {"status": "FAILURE_WITH_TASK", "reason": "Emulated: access token was revoked", "taskType": "reconnect"},
                setup_state="broken", tasks=[RECONNECT_TASK], failed_at=api_timestamp(), update_state="delayed", next_sync_at=None,
            )
            self.deliverer.send("connection_failure", self.store.get(CONNECTION, connection_id))
        elif kind == "reschedule":
            resume_at = in_seconds(retry_after)
            # With a manual schedule the app must trigger the rescheduled sync itself (§1.2).
            automatic = self.store.get(CONNECTION, connection_id)["schedule_type"] == "auto"
            await self._finish(
                connection_id,
                {"status": "RESCHEDULED", "reason": "Emulated: source API quota exhausted", "rescheduledAt": webhook_timestamp(parse(resume_at))},
                rescheduled_for=resume_at, next_sync_at=resume_at if automatic else None,
            )


def _key(table: LandedTable) -> str:
    return f"{table.dataset}.{table.table}"
