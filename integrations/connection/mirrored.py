"""Fivetran's connection as the Integration mirrors it: one plain value, read from the client's
`Connection` or from the Integration's own fields, so the health and the schedule are computed the
same way from either."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.fivetran import Connection
from integrations.vocabulary import ConnectionHealth

if TYPE_CHECKING:
    from integrations.models import Integration


@dataclass(frozen=True)
class Notice:
    """One of Fivetran's tasks (what the user must do) or warnings: its code and its own words."""

    code: str
    message: str


@dataclass(frozen=True)
class MirroredConnection:
    """Every field is an Integration field of the same name, except `deleted`."""

    setup_state: str = ""
    sync_state: str = ""
    update_state: str = ""
    paused: bool = False
    schedule_type: str = ""
    sync_frequency: int | None = None
    daily_sync_time: str = ""
    succeeded_at: datetime | None = None
    failed_at: datetime | None = None
    is_historical_sync: bool = False
    rescheduled_for: datetime | None = None
    tasks: tuple[Notice, ...] = ()
    warnings: tuple[Notice, ...] = ()
    # Fivetran no longer has the connection. Not a column: the Integration's health says it, and
    # stays so, since Fivetran never gives a deleted connection's id back.
    deleted: bool = False

    @classmethod
    def from_connection(cls, connection: Connection) -> MirroredConnection:
        status = connection.status
        return cls(
            setup_state=status.setup_state,
            sync_state=status.sync_state,
            update_state=status.update_state,
            paused=connection.paused,
            schedule_type=connection.schedule_type,
            sync_frequency=connection.sync_frequency,
            daily_sync_time=connection.daily_sync_time or "",
            succeeded_at=connection.succeeded_at,
            failed_at=connection.failed_at,
            is_historical_sync=status.is_historical_sync,
            rescheduled_for=status.rescheduled_for,
            tasks=tuple(Notice(task.code, task.message) for task in status.tasks),
            warnings=tuple(Notice(warning.code, warning.message) for warning in status.warnings),
        )

    @classmethod
    def from_integration(cls, integration: Integration) -> MirroredConnection:
        values = {name: getattr(integration, name) for name in COLUMNS}
        values["tasks"] = _notices(integration.tasks)
        values["warnings"] = _notices(integration.warnings)
        return cls(**values, deleted=integration.health == ConnectionHealth.DELETED)

    @classmethod
    def of(cls, source: MirroredConnection | Connection | Integration) -> MirroredConnection:
        """Whichever the caller holds: a mirrored value, the client's Connection, or an Integration."""
        if isinstance(source, MirroredConnection):
            return source
        if isinstance(source, Connection):
            return cls.from_connection(source)
        return cls.from_integration(source)

    def columns(self) -> dict[str, Any]:
        """The Integration fields this value sets, as they are stored (tasks and warnings as JSON lists)."""
        values = {name: getattr(self, name) for name in COLUMNS}
        values["tasks"] = [{"code": notice.code, "message": notice.message} for notice in self.tasks]
        values["warnings"] = [{"code": notice.code, "message": notice.message} for notice in self.warnings]
        return values


# The Integration fields that mirror Fivetran's connection.
COLUMNS = tuple(f.name for f in fields(MirroredConnection) if f.name != "deleted")


def _notices(stored: Iterable[Any] | None) -> tuple[Notice, ...]:
    # JSON written by this module, but a hand edit or an old row must not break the health.
    return tuple(
        Notice(str(item.get("code") or ""), str(item.get("message") or ""))
        for item in stored or ()
        if isinstance(item, dict)
    )
