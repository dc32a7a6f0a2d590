"""Tables landing in BigQuery while the historical sync runs, so people see them arrive one by one
with their rows and an "n of m tables" that moves, instead of a bar that jumps from 0 to done.

Fivetran gives no percentage for a historical sync, but it writes each table into the destination
as it finishes it: a metadata listing of the expected datasets says which have landed. Each table's
row count is read when it first appears, and again while it shows none (scratch["landed"]).
"""

from __future__ import annotations

from warehouse.tables import expected_count, newly_landed

LATEST_SHOWN = 3


async def landing_progress(expected: dict[str, list[str]], scratch: dict) -> tuple[int, int, str, dict]:
    """(landed, expected, a line naming the latest landed tables with their rows, the new scratch)."""
    known: dict[str, int | None] = dict(scratch.get("landed") or {})
    latest: list[str] = list(scratch.get("latest") or [])
    # A table seen with no rows yet may still be loading: read it again until its rows show.
    settled = {key for key, rows in known.items() if rows}
    for meta in await newly_landed(expected, settled):
        key = f"{meta.dataset}.{meta.name}"
        if key not in known:
            latest.append(key)
        known[key] = meta.num_rows
    latest = latest[-LATEST_SHOWN:]
    line = ""
    if latest:
        line = "Landed: " + ", ".join(_described(key, known[key]) for key in reversed(latest)) + "."
    return len(known), expected_count(expected), line, {**scratch, "landed": known, "latest": latest}


def _described(key: str, rows: int | None) -> str:
    name = key.split(".", 1)[1]
    if rows is None:
        return name
    return f"{name} ({rows:,} row{'' if rows == 1 else 's'})"
