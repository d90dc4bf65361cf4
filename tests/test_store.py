"""The SQLite store as a file on disk: private, WAL, migrated once, and a clear error when unusable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from seccenter.store.db import StoreError, open_db


def test_new_store_is_private_wal_with_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = open_db(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert {"events", "alerts", "ingest_state", "quarantine"} <= set(db.table_names())
    db["events"].insert({"time": "t", "source": "s", "origin_path": "p", "origin_file": "f", "origin_offset": 0})
    for suffix in ("-wal", "-shm"):
        side = tmp_path / f"s.db{suffix}"
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) == 0o600


def test_reopening_applies_no_migration_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_db(path).close()
    db = open_db(path)
    names = [row["name"] for row in db["_sqlite_migrations"].rows]
    assert len(names) == len(set(names)) >= 1


def test_alert_must_reference_an_event(tmp_path: Path) -> None:
    db = open_db(tmp_path / "s.db")
    with pytest.raises(Exception, match="FOREIGN KEY"):
        db.execute("INSERT INTO alerts (rule_id, level, event_id, time, status) VALUES ('r', 'low', 42, 't', 'new')")


def test_directory_or_garbage_file_is_a_clear_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_db(tmp_path)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="garbage.db"):
        open_db(garbage)
    with pytest.raises(StoreError, match="cannot open"):
        open_db(tmp_path / "no" / "such" / "dir.db")
