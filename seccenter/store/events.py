"""Queries on the events and quarantine tables."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlite_utils import Database

from seccenter.events import Event, Malformed


def _json_default(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


# ASCII escapes: a lone surrogate from a JSON "\ud800" escape must not make the whole batch unstorable
_encode_fields_slowly = json.JSONEncoder(default=_json_default, ensure_ascii=True, separators=(",", ":")).encode


def encode_json(value: Any) -> str:
    """JSON text for the store: orjson (seven times faster than json on the ingest path), json where orjson
    refuses a value (lone surrogates, integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, default=_json_default).decode()
    except (orjson.JSONEncodeError, TypeError):
        return _encode_fields_slowly(value)


class _IsoTimes(dict):
    """Event times repeat (collectors share one datetime per timestamp): format each once per batch."""

    def __missing__(self, stamp: datetime) -> str:
        text = self[stamp] = stamp.isoformat()
        return text

def insert_events(db: Database, events: Sequence[Event], file_key: str) -> int:
    """Insert events not stored yet (unique by path, file identity and offset); returns how many were new."""
    before = db.conn.total_changes
    iso = _IsoTimes()
    db.conn.executemany(
        "INSERT OR IGNORE INTO events (time, source, product, category, service, fields, raw,"
        " origin_path, origin_file, origin_offset, origin_line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(
            iso[event.time], event.source, event.logsource.product, event.logsource.category,
            event.logsource.service, encode_json(event.fields),
            event.raw, event.origin.path, file_key, event.origin.offset, event.origin.line,
        ) for event in events],
    )
    return db.conn.total_changes - before


def event_ids(db: Database, path: str, file_key: str, first: int, last: int) -> dict[int, int]:
    """Event id by origin offset for the events of one file between two offsets (inclusive)."""
    return dict(db.execute(
        "SELECT origin_offset, id FROM events WHERE origin_path = ? AND origin_file = ?"
        " AND origin_offset BETWEEN ? AND ?", [path, file_key, first, last]).fetchall())


def iter_events(db: Database, since: datetime | None = None, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """Stored events, oldest first, read in batches so memory does not grow with the store."""
    last_id, since_text = 0, since.astimezone(UTC).isoformat() if since else ""
    while True:
        rows = db.execute(
            "SELECT id, time, source, product, category, service, fields, raw, origin_path, origin_offset,"
            " origin_line FROM events WHERE id > ? AND time >= ? ORDER BY id LIMIT ?",
            [last_id, since_text, batch]).fetchall()
        if not rows:
            return
        for row in rows:
            yield {"id": row[0], "time": row[1], "source": row[2],
                   "logsource": {"product": row[3], "category": row[4], "service": row[5]},
                   "fields": json.loads(row[6]), "raw": row[7],
                   "origin": {"path": row[8], "offset": row[9], "line": row[10]}}
        last_id = rows[-1][0]


def insert_malformed(db: Database, records: Sequence[Malformed], file_key: str) -> int:
    """Quarantine malformed records (once per origin); returns how many were new."""
    before = db.conn.total_changes
    now = datetime.now(UTC).isoformat()
    db.conn.executemany(
        "INSERT OR IGNORE INTO quarantine (origin_path, origin_file, origin_offset, origin_line, reason, raw,"
        " raw_length, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(record.origin.path, file_key, record.origin.offset, record.origin.line, record.reason, record.raw,
          record.raw_length or len(record.raw), now) for record in records],
    )
    return db.conn.total_changes - before


def count_quarantined(db: Database) -> int:
    return db["quarantine"].count
