"""Queries on the alerts table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.detect.alert import Alert, source_ip
from seccenter.detect.correlation import CorrelationAlert
from seccenter.store.events import encode_json

LEVELS = ("informational", "low", "medium", "high", "critical")


def insert_alerts(db: Database, alerts: Sequence[tuple[Alert, int]]) -> int:
    """Store (alert, event id) pairs; an alert of a rule on an event is stored once. Returns new count."""
    before = db.conn.total_changes
    now = datetime.now(UTC).isoformat()
    db.conn.executemany(
        "INSERT OR IGNORE INTO alerts (rule_id, rule_title, level, tags, event_id, time, source_ip, created,"
        " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'new')",
        [(alert.rule_id, alert.rule_title, alert.level, encode_json(alert.tags), event_id,
          alert.time.isoformat(), alert.source_ip, now) for alert, event_id in alerts],
    )
    return db.conn.total_changes - before


def insert_correlation_alerts(db: Database, alerts: Sequence[tuple[CorrelationAlert, int]]) -> int:
    """Store (correlation alert, id of the event that completed it) pairs; returns how many were new."""
    before = db.conn.total_changes
    now = datetime.now(UTC).isoformat()
    db.conn.executemany(
        "INSERT OR IGNORE INTO alerts (rule_id, rule_title, level, tags, event_id, time, source_ip, created,"
        " status, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'new', ?)",
        [(alert.rule_id, alert.rule_title, alert.level, encode_json(alert.tags), event_id, alert.time.isoformat(),
          source_ip(alert.group_values), now, encode_json(_details(alert))) for alert, event_id in alerts],
    )
    return db.conn.total_changes - before


def insert_detailed_alerts(db: Database, alerts: Sequence[tuple[Alert, int, dict[str, Any]]]) -> int:
    """Store (alert, event id, details) triples, the details as JSON (a YARA match in a flow's payload: its
    direction and matched strings); returns how many were new."""
    before = db.conn.total_changes
    now = datetime.now(UTC).isoformat()
    db.conn.executemany(
        "INSERT OR IGNORE INTO alerts (rule_id, rule_title, level, tags, event_id, time, source_ip, created,"
        " status, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'new', ?)",
        [(alert.rule_id, alert.rule_title, alert.level, encode_json(alert.tags), event_id, alert.time.isoformat(),
          alert.source_ip, now, encode_json(details)) for alert, event_id, details in alerts],
    )
    return db.conn.total_changes - before


def _details(alert: CorrelationAlert) -> dict[str, Any]:
    document = alert.to_dict()
    return {key: document[key] for key in ("type", "group", "window_start", "window_end", "value", "count",
                                           "contributors")}


def _filters(since: datetime | None, min_level: str | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("alerts.time >= ?")
        params.append(since.astimezone(UTC).isoformat())
    if min_level is not None:
        wanted = LEVELS[LEVELS.index(min_level):]
        clauses.append(f"alerts.level IN ({', '.join('?' for _ in wanted)})")
        params.extend(wanted)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_alerts(db: Database, since: datetime | None = None, min_level: str | None = None,
                limit: int | None = None) -> list[dict[str, Any]]:
    """Alerts with their event, newest first."""
    where, params = _filters(since, min_level)
    sql = (
        "SELECT alerts.id, rule_id, rule_title, level, tags, alerts.time, source_ip, status, events.source,"
        " events.fields, events.raw, origin_path, origin_line, origin_offset, details"
        " FROM alerts JOIN events ON events.id = alerts.event_id" + where +
        " ORDER BY alerts.time DESC, alerts.id DESC"
    )
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_alert(row) for row in db.execute(sql, params).fetchall()]


def _alert(row: Sequence[Any]) -> dict[str, Any]:
    details = json.loads(row[14]) if row[14] else None
    return {
        "id": row[0], "rule_id": row[1], "rule_title": row[2], "level": row[3], "tags": json.loads(row[4]),
        "time": row[5], "source_ip": row[6], "status": row[7], "source": row[8], "fields": json.loads(row[9]),
        "raw": row[10], "origin": {"path": row[11], "line": row[12], "offset": row[13]},
        # details name their "engine" (yara), except a correlation's
        "correlation": details if details and "engine" not in details else None,
        "details": details,
    }


@dataclass(frozen=True)
class TriageSummary:
    total: int
    by_level: dict[str, int]
    top_rules: list[tuple[str, str, str, int]]
    top_sources: list[tuple[str, int]]
    newest: list[dict[str, Any]]
    events: int
    quarantined: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total, "by_level": self.by_level, "events": self.events,
            "quarantined": self.quarantined,
            "top_rules": [{"rule_id": r, "rule_title": t, "level": lv, "count": n}
                          for r, t, lv, n in self.top_rules],
            "top_sources": [{"source_ip": ip, "count": n} for ip, n in self.top_sources],
            "newest": self.newest,
        }


def triage_summary(db: Database, since: datetime | None = None, top: int = 10, newest: int = 10) -> TriageSummary:
    where, params = _filters(since, None)
    by_level = {level: 0 for level in reversed(LEVELS)}
    for level, count in db.execute(f"SELECT level, count(*) FROM alerts{where} GROUP BY level", params):
        by_level[level] = count
    top_rules = [tuple(row) for row in db.execute(
        f"SELECT rule_id, rule_title, level, count(*) AS n FROM alerts{where}"
        " GROUP BY rule_id ORDER BY n DESC, rule_title LIMIT ?", [*params, top])]
    source_where = (where + " AND" if where else " WHERE") + " source_ip IS NOT NULL"
    top_sources = [tuple(row) for row in db.execute(
        f"SELECT source_ip, count(*) AS n FROM alerts{source_where}"
        " GROUP BY source_ip ORDER BY n DESC, source_ip LIMIT ?", [*params, top])]
    return TriageSummary(
        total=sum(by_level.values()), by_level=by_level, top_rules=top_rules, top_sources=top_sources,
        newest=list_alerts(db, since=since, limit=newest), events=db["events"].count,
        quarantined=db["quarantine"].count,
    )
