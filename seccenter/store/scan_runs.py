"""Queries on scan_runs: one row per ``seccenter scan``, with the summary it printed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.store.events import encode_json
from seccenter.store.transaction import write_transaction


def start_run(db: Database) -> tuple[int, int]:
    """Record a run as started; returns its id and the id the first alert stored after this point gets (alerts
    from ``first_alert_id`` on are this run's new alerts). The write lock is taken first, so no alert is stored
    between reading the highest id and recording the run."""
    with write_transaction(db):
        first_alert_id = (db.execute("SELECT max(id) FROM alerts").fetchone()[0] or 0) + 1
        cursor = db.execute("INSERT INTO scan_runs (started, status, first_alert_id) VALUES (?, 'running', ?)",
                            [datetime.now(UTC).isoformat(), first_alert_id])
    return int(cursor.lastrowid), first_alert_id


def finish_run(db: Database, run_id: int, status: str, exit_code: int, summary: dict[str, Any]) -> None:
    with write_transaction(db):
        db.execute("UPDATE scan_runs SET finished = ?, status = ?, exit_code = ?, summary = ? WHERE id = ?",
                   [datetime.now(UTC).isoformat(), status, exit_code, encode_json(summary), run_id])


def _run(row: tuple) -> dict[str, Any]:
    return {"id": row[0], "started": row[1], "finished": row[2], "status": row[3], "exit_code": row[4],
            "first_alert_id": row[5], "summary": json.loads(row[6]) if row[6] else None}


def last_run(db: Database) -> dict[str, Any] | None:
    """The newest run that has finished (a run still going is not "the last run")."""
    row = db.execute("SELECT id, started, finished, status, exit_code, first_alert_id, summary FROM scan_runs"
                     " WHERE finished IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
    return _run(row) if row else None


def list_runs(db: Database, limit: int = 20) -> list[dict[str, Any]]:
    return [_run(row) for row in db.execute(
        "SELECT id, started, finished, status, exit_code, first_alert_id, summary FROM scan_runs"
        " ORDER BY id DESC LIMIT ?", [limit])]


