"""Write transactions that take SQLite's write lock first.

A deferred ``BEGIN`` that reads before it writes fails at once with "database is locked" when another process
committed in between (WAL snapshots cannot be upgraded); ``BEGIN IMMEDIATE`` waits for the lock instead
(``busy_timeout``). Writers that read first (the audit chain reads its head) use this."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """One transaction holding the write lock from its start; inside another transaction, a savepoint of it."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
