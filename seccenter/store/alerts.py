"""Queries on the alerts table."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.detect.alert import Alert, source_ip
from seccenter.detect.correlation import CorrelationAlert
from seccenter.store.events import encode_json

LEVELS = ("informational", "low", "medium", "high", "critical")
STATUSES = ("new", "acknowledged", "closed")
_CHUNK = 500  # ids bound per statement, well under SQLite's limit on parameters
HOST_FIELDS = ("host", "Computer", "hostname", "dst_ip", "DestinationIp")
"""Event fields that name the host an alert concerns, in order of preference (as incident proposals use them)."""


def named_host(fields: Mapping[str, Any]) -> Any:
    """The first non-empty value of ``HOST_FIELDS`` in an event's fields, or None."""
    return next((fields[name] for name in HOST_FIELDS if fields.get(name)), None)


def _field_sql(name: str) -> str:
    # quoted: field names such as cs-host or id.orig_h are not plain JSON path keys
    return f"json_extract(events.fields, '$.\"{name}\"')"


_HOST_SQL = f"coalesce({', '.join(_field_sql(name) for name in HOST_FIELDS)})"


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


def _filters(since: datetime | None = None, min_level: str | None = None, *, until: datetime | None = None,
             rule: str | None = None, host: str | None = None, status: str | None = None,
             first_id: int | None = None) -> tuple[str, list[Any]]:
    """SQL conditions on alerts (``host`` also on their events: the query must join them); ``first_id``: only
    alerts stored from that id on (those of a scan run and after)."""
    clauses, params = [], []
    if since is not None:
        clauses.append("alerts.time >= ?")
        params.append(since.astimezone(UTC).isoformat())
    if until is not None:
        clauses.append("alerts.time < ?")
        params.append(until.astimezone(UTC).isoformat())
    if min_level is not None:
        wanted = LEVELS[LEVELS.index(min_level):]
        clauses.append(f"alerts.level IN ({', '.join('?' for _ in wanted)})")
        params.extend(wanted)
    if rule is not None:
        # the id exactly, or a part of the title as the analyst sees it (instr: LIKE refuses patterns over 50 kB)
        clauses.append("(alerts.rule_id = ? OR instr(lower(alerts.rule_title), lower(?)) > 0)")
        params.extend([rule, rule])
    if host is not None:
        # host names are not case-sensitive; any of the fields may name it
        clauses.append(f"lower(?) IN ({', '.join(f'lower({_field_sql(name)})' for name in HOST_FIELDS)})")
        params.append(host)
    if status is not None:
        clauses.append("alerts.status = ?")
        params.append(status)
    if first_id is not None:
        clauses.append("alerts.id >= ?")
        params.append(first_id)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_alerts(db: Database, since: datetime | None = None, min_level: str | None = None,
                limit: int | None = None, *, until: datetime | None = None, rule: str | None = None,
                host: str | None = None, status: str | None = None, first_id: int | None = None,
                alert_id: int | None = None) -> list[dict[str, Any]]:
    """Alerts with their event, newest first, filtered as ``_filters`` describes; ``alert_id``: that one."""
    where, params = _filters(since, min_level, until=until, rule=rule, host=host, status=status, first_id=first_id)
    if alert_id is not None:
        where += (" AND" if where else " WHERE") + " alerts.id = ?"
        params.append(alert_id)
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


def alert_statuses(db: Database, alert_ids: Sequence[int]) -> dict[int, str]:
    """Status by id of those of ``alert_ids`` that exist."""
    wanted = sorted(set(alert_ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        found.update(db.execute(f"SELECT id, status FROM alerts WHERE id IN ({', '.join('?' for _ in chunk)})",
                                chunk).fetchall())
    return found


def set_status(db: Database, alert_id: int, status: str) -> None:
    db.execute("UPDATE alerts SET status = ? WHERE id = ?", [status, alert_id])


def insert_note(db: Database, alert_id: int, time: str, actor: str, status: str, note: str | None) -> None:
    db.execute("INSERT INTO alert_notes (alert_id, time, actor, status, note) VALUES (?, ?, ?, ?, ?)",
               [alert_id, time, actor, status, note])


def notes(db: Database, alert_id: int) -> list[dict[str, Any]]:
    """The status changes of an alert with their notes, oldest first."""
    return [{"time": row[0], "actor": row[1], "status": row[2], "note": row[3]} for row in db.execute(
        "SELECT time, actor, status, note FROM alert_notes WHERE alert_id = ? ORDER BY id", [alert_id])]


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
    top_hosts: list[tuple[str, int]]
    by_status: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total, "by_level": self.by_level, "events": self.events,
            "quarantined": self.quarantined,
            "top_rules": [{"rule_id": r, "rule_title": t, "level": lv, "count": n}
                          for r, t, lv, n in self.top_rules],
            "top_sources": [{"source_ip": ip, "count": n} for ip, n in self.top_sources],
            "newest": self.newest,
            "top_hosts": [{"host": host, "count": n} for host, n in self.top_hosts],
            "by_status": self.by_status,
        }


def count_by_level(db: Database, since: datetime | None = None, first_id: int | None = None) -> dict[str, int]:
    """Alerts per level, highest first (every level present)."""
    where, params = _filters(since, first_id=first_id)
    by_level = {level: 0 for level in reversed(LEVELS)}
    for level, count in db.execute(f"SELECT level, count(*) FROM alerts{where} GROUP BY level", params):
        by_level[level] = count
    return by_level


def field_value_counts(db: Database, names: Sequence[str], since: datetime | None = None
                       ) -> list[tuple[dict[str, Any], int]]:
    """The distinct values the event fields ``names`` take across alerts (since ``since``), each with its number of
    alerts: a few hundred rows to match against assets instead of one per alert."""
    columns = [_field_sql(name) for name in names]
    where, params = _filters(since)
    rows = db.execute(f"SELECT {', '.join(columns)}, count(*) FROM alerts JOIN events ON events.id = alerts.event_id"
                      f"{where} GROUP BY {', '.join(str(number) for number in range(1, len(columns) + 1))}", params)
    return [({name: value for name, value in zip(names, row[:-1], strict=True) if value is not None}, row[-1])
            for row in rows]


def triage_summary(db: Database, since: datetime | None = None, top: int = 10, newest: int = 10) -> TriageSummary:
    where, params = _filters(since)
    by_level = count_by_level(db, since)
    by_status = {status: 0 for status in STATUSES}
    for status, count in db.execute(f"SELECT status, count(*) FROM alerts{where} GROUP BY status", params):
        by_status[status] = count
    top_rules = [tuple(row) for row in db.execute(
        f"SELECT rule_id, rule_title, level, count(*) AS n FROM alerts{where}"
        " GROUP BY rule_id ORDER BY n DESC, rule_title LIMIT ?", [*params, top])]
    source_where = (where + " AND" if where else " WHERE") + " source_ip IS NOT NULL"
    top_sources = [tuple(row) for row in db.execute(
        f"SELECT source_ip, count(*) AS n FROM alerts{source_where}"
        " GROUP BY source_ip ORDER BY n DESC, source_ip LIMIT ?", [*params, top])]
    top_hosts = [tuple(row) for row in db.execute(
        f"SELECT {_HOST_SQL} AS host, count(*) AS n FROM alerts JOIN events ON events.id = alerts.event_id"
        f"{where} GROUP BY host HAVING host IS NOT NULL ORDER BY n DESC, host LIMIT ?", [*params, top])]
    return TriageSummary(
        total=sum(by_level.values()), by_level=by_level, top_rules=top_rules, top_sources=top_sources,
        newest=list_alerts(db, since=since, limit=newest), events=db["events"].count,
        quarantined=db["quarantine"].count, top_hosts=top_hosts, by_status=by_status,
    )
