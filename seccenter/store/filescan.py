"""Queries on the file-scan state: what each file was when it was last scanned, and with which rules.
Files are keyed by absolute path, so a scan from another working folder still finds them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlite_utils import Database

from seccenter.detect.filewalk import FileEntry, display_path


def _key(path: str) -> str:
    return display_path(os.path.abspath(path))


def is_unchanged(db: Database, entry: FileEntry, scan_key: str) -> bool:
    """True when the file was scanned with the same rules and its path, device, inode, size and mtime are
    still what they were then."""
    row = db.execute("SELECT device, inode, size, mtime_ns, scan_key FROM yara_scan_state WHERE path = ?",
                     [_key(entry.path)]).fetchone()
    return row is not None and tuple(row) == (entry.device, entry.inode, entry.size, entry.mtime_ns, scan_key)


def save_scanned(db: Database, entries: Sequence[FileEntry], scan_key: str) -> None:
    """Record files as scanned with ``scan_key`` (one row per path, replaced on each scan)."""
    now = datetime.now(UTC).isoformat()
    db.conn.executemany(
        "INSERT INTO yara_scan_state (path, device, inode, size, mtime_ns, scan_key, scanned)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET device = excluded.device,"
        " inode = excluded.inode, size = excluded.size, mtime_ns = excluded.mtime_ns,"
        " scan_key = excluded.scan_key, scanned = excluded.scanned",
        [(_key(entry.path), entry.device, entry.inode, entry.size, entry.mtime_ns, scan_key, now)
         for entry in entries])


def forget_scanned(db: Database, paths: Sequence[str]) -> None:
    """Drop the state of files that changed while they were scanned, so the next scan reads them again."""
    db.conn.executemany("DELETE FROM yara_scan_state WHERE path = ?", [(_key(path),) for path in paths])
