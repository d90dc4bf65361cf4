"""Per-file reading position, committed in the same transaction as the events it covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database


@dataclass(frozen=True)
class FileState:
    path: str
    file_key: str
    device: int
    inode: int
    fingerprint: str
    format: str
    offset: int
    line: int


def get_state(db: Database, path: str) -> FileState | None:
    row = db.execute(
        "SELECT path, file_key, device, inode, fingerprint, format, offset, line FROM ingest_state WHERE path = ?",
        [path],
    ).fetchone()
    return FileState(*row) if row else None


def save_state(db: Database, state: FileState) -> None:
    db.execute(
        "INSERT INTO ingest_state (path, file_key, device, inode, fingerprint, format, offset, line, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET file_key = excluded.file_key,"
        " device = excluded.device,"
        " inode = excluded.inode, fingerprint = excluded.fingerprint, format = excluded.format,"
        " offset = excluded.offset, line = excluded.line, updated = excluded.updated",
        [state.path, state.file_key, state.device, state.inode, state.fingerprint, state.format, state.offset,
         state.line,
         datetime.now(UTC).isoformat()],
    )
