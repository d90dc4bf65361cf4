"""Per-file reading position, committed in the same transaction as the events it covers."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlite_utils import Database

from seccenter.collect.tail import Checkpoint


def get_checkpoint(db: Database, path: str) -> Checkpoint | None:
    row = db.execute(
        "SELECT file_key, device, inode, fingerprint, format, offset, line FROM ingest_state WHERE path = ?", [path]
    ).fetchone()
    return Checkpoint(*row) if row else None


def save_checkpoint(db: Database, path: str, checkpoint: Checkpoint) -> None:
    db.execute(
        "INSERT INTO ingest_state (path, file_key, device, inode, fingerprint, format, offset, line, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET file_key = excluded.file_key,"
        " device = excluded.device, inode = excluded.inode, fingerprint = excluded.fingerprint,"
        " format = excluded.format, offset = excluded.offset, line = excluded.line, updated = excluded.updated",
        [path, checkpoint.file_key, checkpoint.device, checkpoint.inode, checkpoint.fingerprint, checkpoint.format,
         checkpoint.offset, checkpoint.line, datetime.now(UTC).isoformat()],
    )
