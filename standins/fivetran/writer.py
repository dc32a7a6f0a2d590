"""The seam between a finished table in a sync and the destination warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
