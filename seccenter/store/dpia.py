"""Queries on the dpias table."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from sqlite_utils import Database

from seccenter.incidents import audit
from seccenter.privacy.dpia import Dpia, dpia_from_dict
from seccenter.store.transaction import write_transaction


def next_dpia_id(db: Database) -> str:
    """``DPIA-0001``, ``DPIA-0002``, … (the highest number stored, plus one)."""
    numbers = [int(ident.split("-", 1)[1]) for (ident,) in db.execute("SELECT id FROM dpias")
               if ident.startswith("DPIA-") and ident[5:].isdigit()]
    return f"DPIA-{max(numbers, default=0) + 1:04d}"


def create_dpia(db: Database, make: Callable[[str], Dpia]) -> Dpia:
    """Store the DPIA ``make`` builds for the next free id, in one transaction (two creators never share an id)."""
    with write_transaction(db):
        dpia = make(next_dpia_id(db))
        document = dpia.to_dict()
        db.execute("INSERT INTO dpias (id, activity_id, status, document, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                   [dpia.id, dpia.activity, dpia.content.status, json.dumps(document, ensure_ascii=False),
                    dpia.created, dpia.updated])
        audit.append(db, audit.current_actor(), "dpia.create", "dpia", dpia.id, None, document)
    return dpia


def get_dpia(db: Database, dpia_id: str) -> Dpia | None:
    row = db.execute("SELECT document FROM dpias WHERE id = ?", [dpia_id]).fetchone()
    return dpia_from_dict(json.loads(row[0])) if row else None


def list_dpias(db: Database, ids: Iterable[str] | None = None) -> list[Dpia]:
    rows = db.execute("SELECT id, document FROM dpias ORDER BY id").fetchall()
    wanted = set(ids) if ids is not None else None
    return [dpia_from_dict(json.loads(text)) for ident, text in rows if wanted is None or ident in wanted]
