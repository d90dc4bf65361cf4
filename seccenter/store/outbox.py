"""Queries on notification_outbox: messages waiting for their channel, retried on every run until delivered."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.store.events import encode_json
from seccenter.store.transaction import write_transaction

MAX_ATTEMPTS = 50
"""A message that failed this many times is given up: it stays in the table with its last error, never tried again."""
ERROR_LIMIT = 2000


def _now() -> str:
    return datetime.now(UTC).isoformat()


def enqueue(db: Database, channels: Sequence[str], run_id: int | None, payload: dict[str, Any]) -> list[int]:
    """One message with ``payload`` for each channel, in one transaction; returns their ids."""
    created, text = _now(), encode_json(payload)
    with write_transaction(db):
        return [int(db.execute("INSERT INTO notification_outbox (channel, created, run_id, payload) VALUES"
                               " (?, ?, ?, ?)", [channel, created, run_id, text]).lastrowid) for channel in channels]


def pending(db: Database, channels: Sequence[str]) -> list[dict[str, Any]]:
    """Undelivered messages of ``channels`` that have attempts left, oldest first."""
    if not channels:
        return []
    return [{"id": row[0], "channel": row[1], "created": row[2], "payload": json.loads(row[3]), "attempts": row[4]}
            for row in db.execute(
                "SELECT id, channel, created, payload, attempts FROM notification_outbox WHERE delivered IS NULL"
                f" AND attempts < ? AND channel IN ({', '.join('?' for _ in channels)}) ORDER BY id",
                [MAX_ATTEMPTS, *channels])]


def mark_delivered(db: Database, message_id: int) -> None:
    now = _now()
    with write_transaction(db):
        db.execute("UPDATE notification_outbox SET delivered = ?, last_attempt = ?, attempts = attempts + 1,"
                   " last_error = NULL WHERE id = ?", [now, now, message_id])


def mark_failed(db: Database, message_id: int, error: str) -> int:
    """Record a failed attempt; returns the attempts made so far (``MAX_ATTEMPTS`` or more: given up)."""
    with write_transaction(db):
        db.execute("UPDATE notification_outbox SET last_attempt = ?, attempts = attempts + 1, last_error = ?"
                   " WHERE id = ?", [_now(), error[:ERROR_LIMIT], message_id])
        return int(db.execute("SELECT attempts FROM notification_outbox WHERE id = ?", [message_id]).fetchone()[0])


def pending_count(db: Database) -> int:
    """Messages that a later run will still try (those of channels no longer configured included)."""
    return db.execute("SELECT count(*) FROM notification_outbox WHERE delivered IS NULL AND attempts < ?",
                      [MAX_ATTEMPTS]).fetchone()[0]


_FINISHED = "created < ? AND (delivered IS NOT NULL OR attempts >= ?)"


def finished_before(db: Database, cutoff: str) -> int:
    """Messages delivered or given up that were queued before ``cutoff`` (ISO time): those a purge erases."""
    return db.execute(f"SELECT count(*) FROM notification_outbox WHERE {_FINISHED}", [cutoff, MAX_ATTEMPTS]
                      ).fetchone()[0]


def erase_finished_before(db: Database, cutoff: str) -> int:
    """Erase the messages ``finished_before`` counts, in one write transaction; pending ones stay. Returns how
    many went."""
    with write_transaction(db):
        return db.execute(f"DELETE FROM notification_outbox WHERE {_FINISHED}", [cutoff, MAX_ATTEMPTS]).rowcount


def messages(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest messages with their state: ``delivered``, ``pending`` or ``given up``."""
    return [{"id": row[0], "channel": row[1], "created": row[2], "run_id": row[3], "attempts": row[4],
             "last_attempt": row[5], "last_error": row[6], "delivered": row[7],
             "state": "delivered" if row[7] else "pending" if row[4] < MAX_ATTEMPTS else "given up"}
            for row in db.execute(
                "SELECT id, channel, created, run_id, attempts, last_attempt, last_error, delivered"
                " FROM notification_outbox ORDER BY id DESC LIMIT ?", [limit])]
