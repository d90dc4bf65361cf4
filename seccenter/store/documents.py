"""Records kept as one JSON document per row (register, assets): read several by id at once."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

CHUNK = 500
"""Ids per query: below SQLite's limit on bound variables."""


def stored_documents(db: Database, table: str, ids: list[str]) -> dict[str, Any]:
    """The decoded ``document`` column of the rows of ``table`` with these ids, by id (absent ids left out)."""
    found: dict[str, Any] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found.update((ident, json.loads(text)) for ident, text in db.execute(
            f"SELECT id, document FROM [{table}] WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
    return found
