"""The seam between a finished table in a sync and the destination warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from standins.fivetran.platform_log import PlatformBatch


@dataclass(frozen=True)
class LandedTable:
    connection_id: str
    service: str
    dataset: str  # BigQuery dataset (docs/reference/fivetran-api.md §5 rules)
    table: str  # name_in_destination
    columns: tuple[tuple[str, str], ...]  # (name, BigQuery type), incl. Fivetran's _fivetran_* columns
    row_count: int  # rows in this write (deterministic per table, some 0)
    # An incremental sync appends rows first_row..first_row+row_count-1 to what earlier syncs landed;
    # otherwise (append False) the table is replaced by rows 0..row_count-1, as a historical sync does.
    first_row: int = 0
    append: bool = False


class DestinationWriter(Protocol):
    async def write_table(self, table: LandedTable) -> None: ...


class NullWriter:
    """For runs without a warehouse: the sync still progresses, nothing is written."""

    async def write_table(self, table: LandedTable) -> None:
        return None


@runtime_checkable
class PlatformWriter(Protocol):
    """Writes the Fivetran Platform Connector's tables (platform_log.PlatformBatch) into the destination."""

    async def write_platform(self, batch: PlatformBatch) -> None: ...


class NullPlatformWriter:
    async def write_platform(self, batch: PlatformBatch) -> None:
        return None
