"""Retention: erase stored events, alerts and quarantined records older than their time limit (GDPR Art. 5(1)(e)).

Each record counts from its own time: an event from when it happened (``events.time``), an alert from the time of
the event it detected (``alerts.time``). An alert is also kept until its limit has passed since it was stored
(``alerts.created``; the later of the two counts): an event's time is whatever its log line says, and a line
written with an old date must not have its alert erased by the same scan that found it, before anyone saw it. A
quarantined record has no time of its own that could be trusted (it is malformed), so it counts from when it was
stored (``quarantine.created``).

Kept whatever their age: alerts linked to an incident (the case's evidence), and every event that a kept alert
points to (``alerts.event_id`` is a foreign key; an alert without its event could not be read). The status notes
of a purged alert go with it. Notifications (each digest names hosts and addresses) go with the alerts' limit,
counted from when they were queued (``notification_outbox.created``), once delivered or given up; a message still
waiting for its channel stays. ``ingest_state`` is not touched: reading positions hold no personal data, and they
are what stops the next ingest from storing the purged lines again.

Rows go in batches, each in its own write transaction, so a scan or an analyst writing at the same time waits for
one batch at most. Deleted pages are overwritten (``secure_delete``) and VACUUM then rebuilds the file without
them; VACUUM holds the write lock for as long as it takes, which is why it can be left out (``vacuum=False``).
Every purge is documented: one row in ``purges`` (cut-offs and counts, readable) and one audit entry whose digest
covers that row. An interrupted purge leaves its finished batches erased but undocumented; the next run erases
the rest and documents what it erased.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from seccenter.incidents import audit
from seccenter.store import outbox
from seccenter.store.transaction import write_transaction

BATCH = 2000
"""Rows deleted per write transaction: a concurrent writer waits for one batch, not for the whole purge."""

_SECURE_DELETE_MODES = {0: "OFF", 1: "ON", 2: "FAST"}
_ALERT_UNLINKED = "NOT EXISTS (SELECT 1 FROM incident_alerts WHERE incident_alerts.alert_id = alerts.id)"
# besides alerts.time < cut-off: the limit has passed since the alert was stored (an alert without created counts
# from its time alone); takes the cut-off as its own parameter
_ALERT_STORED_BEFORE = "coalesce(alerts.created, alerts.time) < ?"


class RetentionError(ValueError):
    """A purge asked for in a way that cannot be done (no time limit, a limit that is not positive)."""


@dataclass(frozen=True)
class PurgeReport:
    """What a purge erased (or, in a dry run, would erase). ``cutoffs``: per kind, the ISO time (UTC) before
    which records went, None for a kind left alone; ``alert_notes`` went with their alerts, ``notifications``
    (delivered or given-up messages of the outbox) with the alerts' limit."""

    events: int
    alerts: int
    quarantine: int
    vacuumed: bool
    dry_run: bool
    alert_notes: int = 0
    notifications: int = 0
    cutoffs: dict[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "alerts": self.alerts, "quarantine": self.quarantine,
                "vacuumed": self.vacuumed, "dry_run": self.dry_run, "notifications": self.notifications}


def purge(db: Database, *, events: timedelta | None, alerts: timedelta | None, quarantine: timedelta | None,
          now: datetime | None = None, vacuum: bool = True, dry_run: bool = False, actor: str) -> PurgeReport:
    """Erase what is older than each given time limit (None: that kind is kept), see the module's description.

    ``now`` (default: the current time) is what the limits count back from. A dry run counts what would go and
    changes nothing: no row, no audit entry, no VACUUM."""
    limits = {"events": events, "alerts": alerts, "quarantine": quarantine}
    if all(limit is None for limit in limits.values()):
        raise RetentionError("nothing to purge: give a time limit for events, alerts or quarantine")
    for kind, limit in limits.items():
        if limit is not None and limit <= timedelta(0):
            raise RetentionError(f"the time limit for {kind} must be positive, not {limit}")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    cutoffs = {kind: None if limit is None else (moment - limit).isoformat() for kind, limit in limits.items()}
    if dry_run:
        return _count(db, cutoffs)
    previous_secure_delete = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    try:
        alert_count, note_count = _purge_alerts(db, cutoffs["alerts"]) if cutoffs["alerts"] else (0, 0)
        event_count = _purge_events(db, cutoffs["events"]) if cutoffs["events"] else 0
        quarantine_count = _purge_quarantine(db, cutoffs["quarantine"]) if cutoffs["quarantine"] else 0
        notification_count = outbox.erase_finished_before(db, cutoffs["alerts"]) if cutoffs["alerts"] else 0
    finally:
        db.execute(f"PRAGMA secure_delete = {_SECURE_DELETE_MODES[previous_secure_delete]}")
    record = {"time": moment.isoformat(), "actor": actor, "events_before": cutoffs["events"],
              "alerts_before": cutoffs["alerts"], "quarantine_before": cutoffs["quarantine"], "events": event_count,
              "alerts": alert_count, "alert_notes": note_count, "quarantine": quarantine_count,
              "notifications": notification_count}
    with write_transaction(db):
        columns = list(record)
        cursor = db.execute(f"INSERT INTO purges ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                            [record[column] for column in columns])
        audit.append(db, actor, "store.purge", "purge", int(cursor.lastrowid), None, record)
    if vacuum:
        db.vacuum()
    # the WAL still holds copies of the erased pages until it is checkpointed and truncated
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return PurgeReport(event_count, alert_count, quarantine_count, vacuumed=vacuum, dry_run=False,
                       alert_notes=note_count, notifications=notification_count, cutoffs=cutoffs)


def _count(db: Database, cutoffs: dict[str, str | None]) -> PurgeReport:
    """What a purge with these cut-offs would erase now, read without taking the write lock."""
    alert_count = note_count = event_count = quarantine_count = notification_count = 0
    if cutoffs["alerts"]:
        notification_count = outbox.finished_before(db, cutoffs["alerts"])
        going = f"time < ? AND {_ALERT_STORED_BEFORE} AND {_ALERT_UNLINKED}"
        alert_count = db.execute(f"SELECT count(*) FROM alerts WHERE {going}", [cutoffs["alerts"]] * 2).fetchone()[0]
        note_count = db.execute(f"SELECT count(*) FROM alert_notes WHERE alert_id IN (SELECT id FROM alerts"
                                f" WHERE {going})", [cutoffs["alerts"]] * 2).fetchone()[0]
    if cutoffs["events"]:
        # an event goes unless an alert that stays points to it (alerts purged first set theirs free)
        staying, params = "", [cutoffs["events"]]
        if cutoffs["alerts"]:
            staying = f" AND NOT (alerts.time < ? AND {_ALERT_STORED_BEFORE} AND {_ALERT_UNLINKED})"
            params += [cutoffs["alerts"]] * 2
        event_count = db.execute(
            "SELECT count(*) FROM events WHERE time < ? AND NOT EXISTS (SELECT 1 FROM alerts"
            f" WHERE alerts.event_id = events.id{staying})", params).fetchone()[0]
    if cutoffs["quarantine"]:
        quarantine_count = db.execute("SELECT count(*) FROM quarantine WHERE created < ?",
                                      [cutoffs["quarantine"]]).fetchone()[0]
    return PurgeReport(event_count, alert_count, quarantine_count, vacuumed=False, dry_run=True,
                       alert_notes=note_count, notifications=notification_count, cutoffs=cutoffs)


def _batches(db: Database, table: str, cutoff: str, delete: Any) -> int:
    """Walk ``table``'s rows older than ``cutoff`` in (time, id) order, BATCH at a time, each batch in one write
    transaction: ``delete(low, high)`` erases what may go of the rows between the two (time, id) keys and returns
    how many it erased. Rows that stay are passed over, not read again."""
    erased, low = 0, ("", 0)
    while True:
        with write_transaction(db):
            window = db.execute(
                f"SELECT time, id FROM {table} WHERE time < ? AND (time, id) > (?, ?) ORDER BY time, id"
                f" LIMIT 1 OFFSET {BATCH - 1}", [cutoff, *low]).fetchone()
            high = tuple(window) if window else (cutoff, 0)  # the last, shorter batch: everything left
            erased += delete(low, high)
        if window is None:
            return erased
        low = high


def _purge_alerts(db: Database, cutoff: str) -> tuple[int, int]:
    notes = 0

    def delete(low: tuple[str, int], high: tuple[str, int]) -> int:
        nonlocal notes
        where = (f"time < ? AND (time, id) > (?, ?) AND (time, id) <= (?, ?) AND {_ALERT_STORED_BEFORE}"
                 f" AND {_ALERT_UNLINKED}")
        params = [cutoff, *low, *high, cutoff]
        notes += db.execute(f"DELETE FROM alert_notes WHERE alert_id IN (SELECT id FROM alerts WHERE {where})",
                            params).rowcount
        return db.execute(f"DELETE FROM alerts WHERE {where}", params).rowcount

    return _batches(db, "alerts", cutoff, delete), notes


def _purge_events(db: Database, cutoff: str) -> int:
    def delete(low: tuple[str, int], high: tuple[str, int]) -> int:
        return db.execute(
            "DELETE FROM events WHERE time < ? AND (time, id) > (?, ?) AND (time, id) <= (?, ?)"
            " AND NOT EXISTS (SELECT 1 FROM alerts WHERE alerts.event_id = events.id)",
            [cutoff, *low, *high]).rowcount

    return _batches(db, "events", cutoff, delete)


def _purge_quarantine(db: Database, cutoff: str) -> int:
    erased = 0
    while True:
        with write_transaction(db):
            deleted = db.execute(
                "DELETE FROM quarantine WHERE id IN (SELECT id FROM quarantine WHERE created < ? LIMIT ?)",
                [cutoff, BATCH]).rowcount
        erased += deleted
        if deleted < BATCH:
            return erased
