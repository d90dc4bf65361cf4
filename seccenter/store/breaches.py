"""Queries on breach assessments, the obligations they create and the notifications submitted."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database


def insert_assessment(db: Database, incident_id: int, assessed: str, actor: str, aware_at: str,
                      occurred_at: str | None, inputs: dict[str, Any], result: dict[str, Any]) -> int:
    cursor = db.execute(
        "INSERT INTO breaches (incident_id, assessed, actor, aware_at, occurred_at, inputs, result)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [incident_id, assessed, actor, aware_at, occurred_at, json.dumps(inputs, ensure_ascii=False),
         json.dumps(result, ensure_ascii=False)])
    return int(cursor.lastrowid)


def latest_assessment(db: Database, incident_id: int) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT id, incident_id, assessed, actor, aware_at, occurred_at, inputs, result FROM breaches"
        " WHERE incident_id = ? ORDER BY id DESC LIMIT 1", [incident_id]).fetchone()
    if row is None:
        return None
    return {"id": row[0], "incident_id": row[1], "assessed": row[2], "actor": row[3], "aware_at": row[4],
            "occurred_at": row[5], "inputs": json.loads(row[6]), "result": json.loads(row[7])}


def obligations(db: Database, incident_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Obligations by incident, in the order they fall due (those without a fixed date last)."""
    wanted = sorted(set(incident_ids))
    found: dict[int, list[dict[str, Any]]] = {incident_id: [] for incident_id in wanted}
    if not wanted:
        return found
    for row in db.execute(
            "SELECT incident_id, obligation, due, status, breach_id FROM breach_obligations"
            f" WHERE incident_id IN ({', '.join('?' for _ in wanted)}) ORDER BY due IS NULL, due, obligation",
            wanted):
        found[row[0]].append({"obligation": row[1], "due": row[2], "status": row[3], "breach_id": row[4]})
    return found


def replace_open_obligations(db: Database, incident_id: int, breach_id: int,
                             wanted: dict[str, str | None]) -> None:
    """After an assessment: obligations already met stay as they are; the open ones become ``wanted``
    (obligation -> due), and an open obligation no longer owed is marked not required."""
    settled = {row[0] for row in db.execute(
        "SELECT obligation FROM breach_obligations WHERE incident_id = ? AND status IN ('done', 'partial')",
        [incident_id])}
    db.execute("UPDATE breach_obligations SET status = 'not_required', breach_id = ? WHERE incident_id = ?"
               " AND status = 'open'", [breach_id, incident_id])
    for obligation, due in wanted.items():
        if obligation in settled:
            continue
        db.execute(
            "INSERT INTO breach_obligations (incident_id, obligation, due, status, breach_id)"
            " VALUES (?, ?, ?, 'open', ?) ON CONFLICT(incident_id, obligation) DO UPDATE SET due = excluded.due,"
            " status = 'open', breach_id = excluded.breach_id", [incident_id, obligation, due, breach_id])


def set_obligation(db: Database, incident_id: int, obligation: str, status: str, due: str | None = None,
                   update_due: bool = False) -> None:
    if update_due:
        db.execute("UPDATE breach_obligations SET status = ?, due = ? WHERE incident_id = ? AND obligation = ?",
                   [status, due, incident_id, obligation])
    else:
        db.execute("UPDATE breach_obligations SET status = ? WHERE incident_id = ? AND obligation = ?",
                   [status, incident_id, obligation])


def insert_submission(db: Database, values: dict[str, Any]) -> int:
    columns = ("incident_id", "obligation", "submitted_at", "final", "delay_reason", "note", "recorded", "actor")
    cursor = db.execute(
        f"INSERT INTO breach_submissions ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [values[column] for column in columns])
    return int(cursor.lastrowid)


def submissions(db: Database, incident_id: int) -> list[dict[str, Any]]:
    columns = ("id", "obligation", "submitted_at", "final", "delay_reason", "note", "recorded", "actor")
    return [dict(zip(columns, row, strict=True)) for row in db.execute(
        f"SELECT {', '.join(columns)} FROM breach_submissions WHERE incident_id = ? ORDER BY submitted_at, id",
        [incident_id])]
