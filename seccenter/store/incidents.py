"""Queries on incidents and the tables that hang off them (linked alerts, activity, evidence)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

INCIDENT_COLUMNS = ("id", "title", "category", "severity", "owner", "status", "created", "updated", "closed",
                    "close_reason")


def _incident(row: tuple) -> dict[str, Any]:
    return dict(zip(INCIDENT_COLUMNS, row, strict=True))


def insert_incident(db: Database, values: dict[str, Any]) -> int:
    columns = [column for column in INCIDENT_COLUMNS if column != "id" and column in values]
    cursor = db.execute(f"INSERT INTO incidents ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                        [values[column] for column in columns])
    return int(cursor.lastrowid)


def get_incident(db: Database, incident_id: int) -> dict[str, Any] | None:
    row = db.execute(f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM incidents WHERE id = ?", [incident_id]).fetchone()
    return _incident(row) if row else None


def update_incident(db: Database, incident_id: int, changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(INCIDENT_COLUMNS[1:])
    if unknown:
        raise ValueError(f"not incident columns: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = ?" for column in changes)
    db.execute(f"UPDATE incidents SET {assignments} WHERE id = ?", [*changes.values(), incident_id])


def list_incidents(db: Database, include_closed: bool = False) -> list[dict[str, Any]]:
    where = "" if include_closed else " WHERE status != 'closed'"
    return [_incident(row) for row in db.execute(
        f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM incidents{where} ORDER BY id DESC")]


def existing_alert_ids(db: Database, alert_ids: Iterable[int]) -> set[int]:
    wanted = sorted(set(alert_ids))
    if not wanted:
        return set()
    return {row[0] for row in db.execute(
        f"SELECT id FROM alerts WHERE id IN ({', '.join('?' for _ in wanted)})", wanted)}


def link_alerts(db: Database, incident_id: int, alert_ids: Iterable[int], now: str) -> list[int]:
    """Link alerts to an incident; returns the ids that were not linked to it before."""
    added = []
    for alert_id in sorted(set(alert_ids)):
        cursor = db.execute("INSERT OR IGNORE INTO incident_alerts (incident_id, alert_id, added) VALUES (?, ?, ?)",
                            [incident_id, alert_id, now])
        if cursor.rowcount:
            added.append(alert_id)
    return added


def alert_ids(db: Database, incident_id: int) -> list[int]:
    return [row[0] for row in db.execute(
        "SELECT alert_id FROM incident_alerts WHERE incident_id = ? ORDER BY alert_id", [incident_id])]


def incident_alerts(db: Database, incident_id: int) -> list[dict[str, Any]]:
    """The incident's alerts with their events, oldest first."""
    return [{
        "id": row[0], "rule_id": row[1], "rule_title": row[2], "level": row[3], "time": row[4], "source_ip": row[5],
        "event": {"id": row[6], "time": row[7], "source": row[8], "fields": json.loads(row[9]), "raw": row[10],
                  "origin": {"path": row[11], "line": row[12], "offset": row[13]}},
    } for row in db.execute(
        "SELECT alerts.id, rule_id, rule_title, level, alerts.time, source_ip, events.id, events.time,"
        " events.source, events.fields, events.raw, origin_path, origin_line, origin_offset"
        " FROM incident_alerts JOIN alerts ON alerts.id = incident_alerts.alert_id"
        " JOIN events ON events.id = alerts.event_id WHERE incident_id = ? ORDER BY alerts.time, alerts.id",
        [incident_id])]


def unassigned_alerts(db: Database, since: str | None) -> list[dict[str, Any]]:
    """Alerts not linked to any incident, oldest first, with the event fields that name a host."""
    params: list[Any] = []
    where = " WHERE NOT EXISTS (SELECT 1 FROM incident_alerts WHERE alert_id = alerts.id)"
    if since is not None:
        where += " AND alerts.time >= ?"
        params.append(since)
    return [{"id": row[0], "rule_id": row[1], "rule_title": row[2], "level": row[3], "time": row[4],
             "source_ip": row[5], "fields": json.loads(row[6]), "origin_path": row[7]}
            for row in db.execute(
                "SELECT alerts.id, rule_id, rule_title, level, alerts.time, source_ip, events.fields, origin_path"
                " FROM alerts JOIN events ON events.id = alerts.event_id" + where +
                " ORDER BY alerts.time, alerts.id", params)]


def insert_activity(db: Database, incident_id: int, time: str, actor: str, kind: str, detail: str) -> int:
    cursor = db.execute("INSERT INTO incident_activity (incident_id, time, actor, kind, detail) VALUES (?, ?, ?, ?, ?)",
                        [incident_id, time, actor, kind, detail])
    return int(cursor.lastrowid)


def activity(db: Database, incident_id: int) -> list[dict[str, Any]]:
    return [{"id": row[0], "time": row[1], "actor": row[2], "kind": row[3], "detail": row[4]} for row in db.execute(
        "SELECT id, time, actor, kind, detail FROM incident_activity WHERE incident_id = ? ORDER BY time, id",
        [incident_id])]


EVIDENCE_COLUMNS = ("id", "incident_id", "sha256", "original_name", "size", "description", "added", "actor")


def insert_evidence(db: Database, values: dict[str, Any]) -> int | None:
    """Store an evidence row; None when this content is already evidence of this incident."""
    columns = EVIDENCE_COLUMNS[1:]
    cursor = db.execute(
        f"INSERT OR IGNORE INTO incident_evidence ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        [values[column] for column in columns])
    return int(cursor.lastrowid) if cursor.rowcount else None


def evidence(db: Database, incident_id: int) -> list[dict[str, Any]]:
    return [dict(zip(EVIDENCE_COLUMNS, row, strict=True)) for row in db.execute(
        f"SELECT {', '.join(EVIDENCE_COLUMNS)} FROM incident_evidence WHERE incident_id = ? ORDER BY id",
        [incident_id])]
