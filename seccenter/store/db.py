"""Open the SQLite store: private file mode, WAL, busy timeout, foreign keys, migrations applied.

The path may be a symbolic link the user owns (the store kept elsewhere); one owned by another user is refused:
whoever can plant a link where seccenter is told to keep its store (a shared or world-writable folder) would
otherwise choose which file it writes personal data to, or overwrites."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from pathlib import Path

from sqlite_utils import Database

from seccenter.store.migrations import migrations

BUSY_TIMEOUT_MS = 10_000


class StoreError(Exception):
    """The store cannot be opened or used (a user error, not a bug)."""


class UnsafeStorePath(StoreError):
    """The database path is a symbolic link owned by another user."""


def refuse_foreign_link(path: Path) -> None:
    """Raise ``UnsafeStorePath`` when ``path`` is a symbolic link owned by another user (checked before anything
    is created through it)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise StoreError(f"cannot open database {path}: {error.strerror or error}") from None
    if stat.S_ISLNK(info.st_mode) and info.st_uid != os.geteuid():
        raise UnsafeStorePath(f"{path} is a symbolic link owned by another user (uid {info.st_uid}); refusing to "
                              "open the database through it")


def open_db(path: str | Path) -> Database:
    """Open (creating with mode 0600) and migrate the store at ``path``; ``:memory:`` works too."""
    if str(path) == ":memory:":
        db = Database(memory=True)
    else:
        path = Path(path)
        refuse_foreign_link(path)
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a database file")
        previous_umask = os.umask(0o077)  # -wal and -shm files are created private too
        try:
            _create_private(path)
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


def _create_private(path: Path) -> None:
    """Create the store file with mode 0600 when there is none; an existing one is never opened here. Closing any
    descriptor of a file drops every POSIX lock the process holds on it, so opening and closing the store beside a
    connection still open in this process would take that connection's lock away unseen: another process could
    then take itself for the store's last user and delete the write-ahead log under it (writes lost, the store
    left malformed)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))


def _configure(db: Database) -> None:
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
