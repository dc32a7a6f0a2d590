"""Emulator state as JSON documents in SQLite, so it survives a restart.

Calls are short, synchronous and commit at once: they run on the event loop, and because nothing
awaits between a read and its write, read-modify-write on one document is atomic per process.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

Document = dict[str, Any]

CONNECTION = "connection"
SCHEMA_CONFIG = "schema_config"
WEBHOOK = "webhook"
META = "meta"


class Store:
    def __init__(self, data_dir: Path):
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "fivetran-emulator.sqlite3"
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id TEXT NOT NULL,"
            " body TEXT NOT NULL, UNIQUE (kind, id))"
        )

    def close(self) -> None:
        self._db.close()

    def get(self, kind: str, doc_id: str) -> Document | None:
        row = self._db.execute("SELECT body FROM documents WHERE kind = ? AND id = ?", (kind, doc_id)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind: str, doc_id: str, doc: Document) -> Document:
        # Upsert keeps `seq`, so listings stay in creation order.
        self._db.execute(
            "INSERT INTO documents (kind, id, body) VALUES (?, ?, ?)"
            " ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
            (kind, doc_id, json.dumps(doc)),
        )
        return doc

    def delete(self, kind: str, doc_id: str) -> bool:
        return self._db.execute("DELETE FROM documents WHERE kind = ? AND id = ?", (kind, doc_id)).rowcount > 0

    def all(self, kind: str) -> list[Document]:
        rows = self._db.execute("SELECT body FROM documents WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def exists(self, kind: str, doc_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM documents WHERE kind = ? AND id = ?", (kind, doc_id)).fetchone() is not None

    def update(self, kind: str, doc_id: str, change: Callable[[Document], None]) -> Document | None:
        """Apply `change` to the stored document in place and save it; None if it does not exist."""
        doc = self.get(kind, doc_id)
        if doc is None:
            return None
        change(doc)
        return self.put(kind, doc_id, doc)
