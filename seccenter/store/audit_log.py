"""Queries on the audit log (``audit_log``) and its anchor (``audit_anchor``, one row: the head of the chain).

``audit_log`` refuses UPDATE and DELETE through triggers (migration ``m020_audit_log``); the chain of hashes in
``seccenter.incidents.audit`` is what catches someone who drops the triggers first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

COLUMNS = ("id", "time", "actor", "action", "object_type", "object_id", "before_digest", "after_digest",
           "prev_hash", "hash")


@dataclass(frozen=True)
class Anchor:
    """The head of the chain as the last append left it: catches rows deleted from the end."""

    last_id: int
    last_hash: str
    entries: int


def head(db: Database) -> tuple[int, str] | None:
    """(id, hash) of the newest entry, or None for an empty log."""
    row = db.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def insert_entry(db: Database, entry: dict[str, Any]) -> None:
    """Store one entry and move the anchor to it; call inside the caller's write transaction."""
    db.execute(f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
               [entry[column] for column in COLUMNS])
    db.execute(
        "INSERT INTO audit_anchor (id, last_id, last_hash, entries) VALUES (1, ?, ?, 1)"
        " ON CONFLICT(id) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash,"
        " entries = audit_anchor.entries + 1",
        [entry["id"], entry["hash"]],
    )


def iter_entries(db: Database) -> Iterator[dict[str, Any]]:
    """Every entry in id order, one at a time (the log is read, never loaded whole)."""
    cursor = db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY id")
    for row in cursor:
        yield dict(zip(COLUMNS, row, strict=True))


def entries_for(db: Database, object_type: str, object_id: str) -> list[dict[str, Any]]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in db.execute(
        f"SELECT {', '.join(COLUMNS)} FROM audit_log WHERE object_type = ? AND object_id = ? ORDER BY id",
        [object_type, object_id])]


def anchor(db: Database) -> Anchor | None:
    row = db.execute("SELECT last_id, last_hash, entries FROM audit_anchor WHERE id = 1").fetchone()
    return Anchor(*row) if row else None
