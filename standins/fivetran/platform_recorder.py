"""When the emulator writes the Platform Connector's tables: the lifecycle tells this recorder what
happened, it builds the rows (platform_log.py) and hands them to the destination (writer.PlatformWriter).

A sync's lines are kept on the running sync in the store (they survive a restart with it) and written
with one load job when the sync ends, before its `sync_end` webhook goes out: whoever hears the
webhook finds the lines already there. Events outside a sync (a connection created, paused, resumed,
deleted; a schema change; a table re-sync asked for) are written at once, in the background. A failed
write is logged and never fails the sync: the Platform Connector is a connection of its own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from . import platform_log as rows
from .writer import PlatformWriter

log = logging.getLogger(__name__)


class PlatformRecorder:
    def __init__(self, writer: PlatformWriter):
        self.writer = writer
        self._background: set[asyncio.Task] = set()

    # --- during a sync: lines kept on the sync (connection["sync"]) --------------------------------

    @staticmethod
    def sync_started(connection: dict[str, Any], sync: dict[str, Any]) -> None:
        sync["log"] = [rows.log_line(connection, "sync_start", sync_id=sync["id"])]
        sync["mar"] = []

    @staticmethod
    def table_written(connection: dict[str, Any], sync: dict[str, Any], *, schema: str, table: str, count: int,
                      whole: bool) -> None:
        sync.setdefault("log", []).extend(rows.table_lines(connection, sync["id"], schema, table, count))
        if count > 0:
            sync.setdefault("mar", []).append(rows.mar_row(connection, schema, table, count, whole=whole))

    async def sync_ended(self, connection: dict[str, Any], status: dict[str, Any], warnings: list[dict[str, Any]]) -> None:
        """Write the whole sync: its lines, then the warnings, the failure, its stats and `sync_end`."""
        sync = connection["sync"]
        lines = [*sync.get("log", ()), *rows.warning_lines(connection, warnings, sync["id"]),
                 *rows.end_lines(connection, sync, status)]
        await self._write(rows.PlatformBatch(log=tuple(lines), mar=tuple(rows.summed_mar(sync.get("mar", ())))))

    def sync_cancelled(self, connection: dict[str, Any]) -> None:
        """A pause or a forced sync stopped it: what it did so far, and `sync_end` CANCELED."""
        sync = connection["sync"]
        lines = [*sync.get("log", ()), *rows.end_lines(connection, sync, {"status": "CANCELED"})]
        self._soon(rows.PlatformBatch(log=tuple(lines), mar=tuple(rows.summed_mar(sync.get("mar", ())))))

    # --- outside a sync -----------------------------------------------------------------------------

    def connection_changed(self, connection: dict[str, Any], *, deleted: bool = False) -> None:
        self._soon(rows.PlatformBatch(connections=(rows.connection_row(connection, deleted=deleted),)))

    def schema_changed(self, connection: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> None:
        changes = rows.schema_changes(before, after)
        if changes:
            self._soon(rows.PlatformBatch(log=tuple(rows.log_line(connection, "change_schema_config", change)
                                                    for change in changes)))

    def table_resync_asked(self, connection: dict[str, Any], scope: dict[str, list[str]]) -> None:
        self._soon(rows.PlatformBatch(log=tuple(
            rows.log_line(connection, "forced_resync_table", {"schema": schema, "table": table})
            for schema, tables in scope.items() for table in tables
        )))

    # --- writing --------------------------------------------------------------------------------------

    def _soon(self, batch: rows.PlatformBatch) -> None:
        task = asyncio.get_running_loop().create_task(self._write(batch))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _write(self, batch: rows.PlatformBatch) -> None:
        if not batch:
            return
        try:
            await self.writer.write_platform(batch)
        except Exception:
            log.exception("writing the Platform Connector's tables failed")

    async def drain(self) -> None:
        """Wait for the background writes (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
