"""Queries on the register tables: processing_activities (+ activity_systems), processors.

Every write appends an audit entry per record it adds or changes, in its own transaction (``incidents.audit``)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.incidents import audit
from seccenter.privacy.linking import PersonalDataIndex, assets_for_alert
from seccenter.privacy.monitoring import DEFAULT_RETENTION_DAYS, MONITORING_ID, monitoring_activity
from seccenter.privacy.records import Problems, Source, read_record
from seccenter.privacy.ropa import (
    ACTIVITY_FIELDS,
    PROCESSOR_FIELDS,
    ProcessingActivity,
    ProcessorRecord,
    Register,
)
from seccenter.store.assets import asset_index, list_assets, upsert_assets
from seccenter.store.documents import stored_documents
from seccenter.store.transaction import write_transaction


class RegisterStoreError(Exception):
    """A stored record that no longer reads (edited by hand, or written by a newer seccenter)."""


def decode(cls: type, specs: tuple, text: str, what: str) -> Any:
    problems = Problems()
    record = read_record(cls, specs, json.loads(text), Source(f"store {what}"), what, problems)
    if record is None:
        raise RegisterStoreError("; ".join(map(str, problems.errors)))
    return record


def _activity_rows(activities: Iterable[ProcessingActivity], now: str) -> tuple[list[tuple], list[tuple]]:
    rows, links = [], []
    for activity in activities:
        rows.append((activity.id, activity.name, activity.status, json.dumps(activity.to_dict(), ensure_ascii=False),
                     now))
        links += [(activity.id, system) for system in activity.systems]
    return rows, links


def _upsert_activities(db: Database, activities: list[ProcessingActivity], now: str) -> None:
    rows, links = _activity_rows(activities, now)
    db.conn.executemany("INSERT OR REPLACE INTO processing_activities (id, name, status, document, updated)"
                        " VALUES (?, ?, ?, ?, ?)", rows)
    db.conn.executemany("DELETE FROM activity_systems WHERE activity_id = ?", [(row[0],) for row in rows])
    db.conn.executemany("INSERT OR IGNORE INTO activity_systems (activity_id, asset_id) VALUES (?, ?)", links)


def _audit_changes(db: Database, object_type: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    actor = audit.current_actor()
    for ident, document in after.items():
        old = before.get(ident)
        if old != document:
            audit.append(db, actor, f"{object_type}.{'update' if old is not None else 'add'}", object_type, ident,
                         old, document)


def save_register(db: Database, register: Register) -> None:
    """Add or replace (by id) every record of ``register``, all or nothing; each change audited."""
    now = datetime.now(UTC).isoformat()
    activities = {record.id: record.to_dict() for record in register.processing_activities}
    processors = {record.id: record.to_dict() for record in register.processors}
    with write_transaction(db):
        before_activities = stored_documents(db, "processing_activities", list(activities))
        before_processors = stored_documents(db, "processors", list(processors))
        before_assets = stored_documents(db, "assets", [asset.id for asset in register.assets])
        _upsert_activities(db, list(register.processing_activities), now)
        db.conn.executemany(
            "INSERT OR REPLACE INTO processors (id, name, document, updated) VALUES (?, ?, ?, ?)",
            [(record.id, record.processor.name if record.processor else "",
              json.dumps(record.to_dict(), ensure_ascii=False), now) for record in register.processors])
        upsert_assets(db, register.assets, now)
        _audit_changes(db, "processing_activity", before_activities, activities)
        _audit_changes(db, "processor", before_processors, processors)
        _audit_changes(db, "asset", before_assets, {asset.id: asset.to_dict() for asset in register.assets})


def save_activity(db: Database, activity: ProcessingActivity) -> None:
    with write_transaction(db):
        before = stored_documents(db, "processing_activities", [activity.id])
        _upsert_activities(db, [activity], datetime.now(UTC).isoformat())
        _audit_changes(db, "processing_activity", before, {activity.id: activity.to_dict()})


def get_activity(db: Database, activity_id: str) -> ProcessingActivity | None:
    row = db.execute("SELECT document FROM processing_activities WHERE id = ?", [activity_id]).fetchone()
    return decode(ProcessingActivity, ACTIVITY_FIELDS, row[0], activity_id) if row else None


def list_activities(db: Database) -> list[ProcessingActivity]:
    return [decode(ProcessingActivity, ACTIVITY_FIELDS, text, ident)
            for ident, text in db.execute("SELECT id, document FROM processing_activities ORDER BY id")]


def list_processors(db: Database) -> list[ProcessorRecord]:
    return [decode(ProcessorRecord, PROCESSOR_FIELDS, text, ident)
            for ident, text in db.execute("SELECT id, document FROM processors ORDER BY id")]


def load_register(db: Database) -> Register:
    return Register(tuple(list_activities(db)), tuple(list_processors(db)), tuple(list_assets(db)))


def ensure_monitoring_record(db: Database, retention_days: int = DEFAULT_RETENTION_DAYS) -> bool:
    """Create seccenter's own processing activity unless the register has one; True when it was created.
    Reads first, so the usual case (already there) takes no write lock."""
    if db.execute("SELECT 1 FROM processing_activities WHERE id = ?", [MONITORING_ID]).fetchone():
        return False
    record = monitoring_activity(retention_days)
    with write_transaction(db):
        rows, _ = _activity_rows([record], datetime.now(UTC).isoformat())
        created = db.conn.executemany("INSERT OR IGNORE INTO processing_activities (id, name, status, document, "
                                      "updated) VALUES (?, ?, ?, ?, ?)", rows).rowcount
        if created:  # another process may have created it since the read above
            audit.append(db, audit.current_actor(), "processing_activity.add", "processing_activity", record.id,
                         None, record.to_dict())
    return True


def link_asset(db: Database, activity_id: str, asset_id: str, unlink: bool = False) -> ProcessingActivity:
    """Add ``asset_id`` to (or remove it from) the activity's systems; returns the activity as saved."""
    activity = get_activity(db, activity_id)
    if activity is None:
        raise KeyError(activity_id)
    systems = tuple(system for system in activity.systems if system != asset_id)
    updated = dataclasses.replace(activity, systems=systems if unlink else (*systems, asset_id))
    save_activity(db, updated)
    return updated


def alerts_with_personal_data(db: Database, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alerts (as ``list_alerts`` gives them), each with ``assets`` and ``processing_activities`` added:
    which of the city's systems the event names and which personal data they process."""
    if not alerts:
        return alerts
    index = PersonalDataIndex(asset_index(db), list_activities(db))
    return [{**alert, **assets_for_alert(alert.get("fields") or {}, index)} for alert in alerts]
