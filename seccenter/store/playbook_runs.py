"""Queries on playbook runs (``playbook_runs``) and their worked steps (``playbook_steps``), and the incident facts
a run needs: when its alerts were raised, and the rules and tags behind them."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

RUN_COLUMNS = ("id", "incident_id", "playbook_id", "version", "definition", "started", "actor", "status",
               "finished")
STEP_COLUMNS = ("path", "status", "outcome", "answer", "note", "updated", "actor")


def _run(row: tuple) -> dict[str, Any]:
    run = dict(zip(RUN_COLUMNS, row, strict=True))
    run["definition"] = json.loads(run["definition"])
    return run


def insert_run(db: Database, values: dict[str, Any]) -> int:
    columns = RUN_COLUMNS[1:]
    row = {**values, "definition": json.dumps(values["definition"], ensure_ascii=False, sort_keys=True)}
    cursor = db.execute(f"INSERT INTO playbook_runs ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                        [row.get(column) for column in columns])
    return int(cursor.lastrowid)


def find_run(db: Database, incident_id: int, playbook_id: str) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM playbook_runs WHERE incident_id = ? AND playbook_id = ?",
                     [incident_id, playbook_id]).fetchone()
    return _run(row) if row else None


def runs_for(db: Database, incident_id: int) -> list[dict[str, Any]]:
    return [_run(row) for row in db.execute(
        f"SELECT {', '.join(RUN_COLUMNS)} FROM playbook_runs WHERE incident_id = ? ORDER BY id", [incident_id])]


def finish_run(db: Database, run_id: int, finished: str) -> None:
    db.execute("UPDATE playbook_runs SET status = 'done', finished = ? WHERE id = ?", [finished, run_id])


def step_states(db: Database, run_id: int) -> dict[str, dict[str, Any]]:
    return {row[0]: dict(zip(STEP_COLUMNS, row, strict=True)) for row in db.execute(
        f"SELECT {', '.join(STEP_COLUMNS)} FROM playbook_steps WHERE run_id = ? ORDER BY path", [run_id])}


def insert_step(db: Database, run_id: int, values: dict[str, Any]) -> None:
    """A step is worked once (done or skipped); the primary key refuses a second row."""
    db.execute(f"INSERT INTO playbook_steps (run_id, {', '.join(STEP_COLUMNS)})"
               f" VALUES (?, {', '.join('?' for _ in STEP_COLUMNS)})",
               [run_id, *(values.get(column) for column in STEP_COLUMNS)])


def detection_time(db: Database, incident_id: int) -> str | None:
    """When the first of the incident's alerts was raised (its event's time where it has no creation time)."""
    row = db.execute("SELECT MIN(COALESCE(alerts.created, alerts.time)) FROM incident_alerts"
                     " JOIN alerts ON alerts.id = incident_alerts.alert_id WHERE incident_id = ?",
                     [incident_id]).fetchone()
    return row[0] if row else None


def alert_signatures(db: Database, incident_id: int) -> tuple[list[str], list[str]]:
    """The rule ids and the tags of the incident's alerts (each once)."""
    rule_ids: set[str] = set()
    tags: set[str] = set()
    for rule_id, encoded in db.execute(
            "SELECT rule_id, tags FROM incident_alerts JOIN alerts ON alerts.id = incident_alerts.alert_id"
            " WHERE incident_id = ?", [incident_id]):
        rule_ids.add(rule_id)
        try:
            decoded = json.loads(encoded) if encoded else []
        except ValueError:
            decoded = []
        if isinstance(decoded, list):
            tags.update(tag for tag in decoded if isinstance(tag, str))
    return sorted(rule_ids), sorted(tags)
