"""Open the SQLite store: private file mode, WAL, busy timeout, foreign keys, migrations applied."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from seccenter.store.migrations import migrations

BUSY_TIMEOUT_MS = 10_000


class StoreError(Exception):
    """The store cannot be opened or used (a user error, not a bug)."""


def open_db(path: str | Path) -> Database:
    """Open (creating with mode 0600) and migrate the store at ``path``; ``:memory:`` works too."""
    if str(path) == ":memory:":
        db = Database(memory=True)
    else:
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a database file")
        previous_umask = os.umask(0o077)  # -wal and -shm files are created private too
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(descriptor)
            db = Database(path)
            _configure(db)
        except (OSError, sqlite3.DatabaseError) as error:
            raise StoreError(f"cannot open database {path}: {error}") from None
        finally:
            os.umask(previous_umask)
    try:
        db.execute("PRAGMA foreign_keys=ON")
        migrations.apply(db)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"cannot use database {path}: {error}") from None
    return db


def _configure(db: Database) -> None:
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
