"""Schema history. Append new steps; never edit an applied one."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("seccenter")


@migrations()
def m001_events_alerts_state_quarantine(db: Database) -> None:
    db["events"].create({
        "id": int, "time": str, "source": str, "product": str, "category": str, "service": str,
        "fields": str, "raw": str, "origin_path": str, "origin_file": str, "origin_offset": int,
        "origin_line": int,
    }, pk="id", not_null={"time", "source", "origin_path", "origin_file", "origin_offset"})
    # origin_file tells apart the successive files a path has held (rotation, truncation)
    db["events"].create_index(["origin_path", "origin_file", "origin_offset"], unique=True)
    db["events"].create_index(["time"])
    db["alerts"].create({
        "id": int, "rule_id": str, "rule_title": str, "level": str, "tags": str, "event_id": int,
        "time": str, "source_ip": str, "created": str, "status": str,
    }, pk="id", not_null={"rule_id", "level", "event_id", "time", "status"},
        defaults={"status": "new"}, foreign_keys=[("event_id", "events", "id")])
    db["alerts"].create_index(["rule_id", "event_id"], unique=True)
    db["alerts"].create_index(["time"])
    db["ingest_state"].create({
        "path": str, "file_key": str, "device": int, "inode": int, "fingerprint": str, "format": str, "offset": int,
        "line": int, "updated": str,
    }, pk="path")
    db["quarantine"].create({
        "id": int, "origin_path": str, "origin_offset": int, "origin_line": int, "reason": str,
        "origin_file": str, "raw": bytes, "raw_length": int, "created": str,
    }, pk="id", not_null={"origin_path", "origin_file", "origin_offset", "reason"})
    # the reason is part of the key: a record-based file can have two damaged spots after one good record
    db["quarantine"].create_index(["origin_path", "origin_file", "origin_offset", "reason"], unique=True)


@migrations()
def m002_correlation_state(db: Database) -> None:
    # IF NOT EXISTS: store/correlation_state.py creates the table itself where this step has not run yet
    db.execute("CREATE TABLE IF NOT EXISTS correlation_state ("
               "rule_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated TEXT NOT NULL)")


@migrations()
def m003_alert_details(db: Database) -> None:
    # correlation alerts: the event that completed the pattern is event_id, the rest (group, window, value,
    # the events that counted) is kept here as JSON
    db.execute("ALTER TABLE alerts ADD COLUMN details TEXT")


@migrations()
def m004_yara_scan_state(db: Database) -> None:
    # what a file was when it was last scanned, and with which rules (scan_key): an unchanged file is skipped
    db["yara_scan_state"].create({
        "path": str, "device": int, "inode": int, "size": int, "mtime_ns": int, "scan_key": str, "scanned": str,
    }, pk="path", not_null={"device", "inode", "size", "mtime_ns", "scan_key", "scanned"})


@migrations()
def m020_audit_log(db: Database) -> None:
    # append-only: hash-chained entries (seccenter/incidents/audit.py); the anchor row holds the chain's head so
    # that rows deleted from the end are noticed too
    db.execute("CREATE TABLE audit_log (id INTEGER PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL,"
               " action TEXT NOT NULL, object_type TEXT NOT NULL, object_id TEXT NOT NULL, before_digest TEXT,"
               " after_digest TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")
    db.execute("CREATE INDEX audit_log_object ON audit_log (object_type, object_id)")
    db.execute("CREATE TABLE audit_anchor (id INTEGER PRIMARY KEY CHECK (id = 1), last_id INTEGER NOT NULL,"
               " last_hash TEXT NOT NULL, entries INTEGER NOT NULL)")
    for statement in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER audit_log_no_{statement.lower()} BEFORE {statement} ON audit_log"
                   " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


@migrations()
def m010_processing_activities(db: Database) -> None:
    # each record is kept whole as JSON (the register's key names); name and status are columns for listing,
    # activity_systems mirrors the activities' systems lists for the alert → asset → activity join
    db["processing_activities"].create({"id": str, "name": str, "status": str, "document": str, "updated": str},
                                       pk="id", not_null={"document"})
    db["activity_systems"].create({"activity_id": str, "asset_id": str}, pk=("activity_id", "asset_id"))
    db["activity_systems"].create_index(["asset_id"])
    db["processors"].create({"id": str, "name": str, "document": str, "updated": str}, pk="id",
                            not_null={"document"})


@migrations()
def m011_assets(db: Database) -> None:
    db["assets"].create({"id": str, "name": str, "hostname": str, "criticality": str, "document": str,
                         "updated": str}, pk="id", not_null={"document"})


@migrations()
def m012_dpia(db: Database) -> None:
    db["dpias"].create({"id": str, "activity_id": str, "status": str, "document": str, "created": str,
                        "updated": str}, pk="id", not_null={"activity_id", "document"})
    db["dpias"].create_index(["activity_id"])


@migrations()
def m021_incidents(db: Database) -> None:
    db.execute("CREATE TABLE incidents (id INTEGER PRIMARY KEY, title TEXT NOT NULL, category TEXT NOT NULL,"
               " severity TEXT NOT NULL, owner TEXT, status TEXT NOT NULL, created TEXT NOT NULL,"
               " updated TEXT NOT NULL, closed TEXT, close_reason TEXT)")
    db.execute("CREATE TABLE incident_alerts (incident_id INTEGER NOT NULL REFERENCES incidents(id),"
               " alert_id INTEGER NOT NULL REFERENCES alerts(id), added TEXT NOT NULL,"
               " PRIMARY KEY (incident_id, alert_id))")
    db.execute("CREATE INDEX incident_alerts_alert ON incident_alerts (alert_id)")
    # every action on a case (opened, status changes, notes, evidence, assessments): the timeline's own entries
    db.execute("CREATE TABLE incident_activity (id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL"
               " REFERENCES incidents(id), time TEXT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,"
               " detail TEXT NOT NULL)")
    db.execute("CREATE INDEX incident_activity_incident ON incident_activity (incident_id, time)")
    # files are kept by content (sha256) in the evidence folder; the original name is data only
    db.execute("CREATE TABLE incident_evidence (id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL"
               " REFERENCES incidents(id), sha256 TEXT NOT NULL, original_name TEXT NOT NULL, size INTEGER NOT NULL,"
               " description TEXT, added TEXT NOT NULL, actor TEXT NOT NULL, UNIQUE (incident_id, sha256))")


@migrations()
def m022_breaches(db: Database) -> None:
    # one row per assessment (Art. 33(5) documentation: every breach, notified or not, with the reasoning)
    db.execute("CREATE TABLE breaches (id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents(id),"
               " assessed TEXT NOT NULL, actor TEXT NOT NULL, aware_at TEXT NOT NULL, occurred_at TEXT,"
               " inputs TEXT NOT NULL, result TEXT NOT NULL)")
    db.execute("CREATE INDEX breaches_incident ON breaches (incident_id)")
    # what is owed to whom and by when; status open | partial (Art. 33(4) phases) | done | not_required
    db.execute("CREATE TABLE breach_obligations (incident_id INTEGER NOT NULL REFERENCES incidents(id),"
               " obligation TEXT NOT NULL, due TEXT, status TEXT NOT NULL, breach_id INTEGER REFERENCES breaches(id),"
               " PRIMARY KEY (incident_id, obligation))")
    db.execute("CREATE TABLE breach_submissions (id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL"
               " REFERENCES incidents(id), obligation TEXT NOT NULL, submitted_at TEXT NOT NULL,"
               " final INTEGER NOT NULL, delay_reason TEXT, note TEXT, recorded TEXT NOT NULL, actor TEXT NOT NULL)")



@migrations()
def m030_playbook_runs(db: Database) -> None:
    # a run keeps the playbooks it was started with (definition, JSON) so that editing a YAML file later does
    # not change what a case was worked through; one run per playbook and incident
    db.execute("CREATE TABLE playbook_runs (id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL"
               " REFERENCES incidents(id), playbook_id TEXT NOT NULL, version TEXT NOT NULL, definition TEXT NOT NULL,"
               " started TEXT NOT NULL, actor TEXT NOT NULL, status TEXT NOT NULL, finished TEXT,"
               " UNIQUE (incident_id, playbook_id))")
    # one row per step that was worked (path: step ids, "/" into called playbooks); a step without a row is open
    db.execute("CREATE TABLE playbook_steps (run_id INTEGER NOT NULL REFERENCES playbook_runs(id), path TEXT NOT NULL,"
               " status TEXT NOT NULL, outcome TEXT, answer TEXT, note TEXT, updated TEXT NOT NULL,"
               " actor TEXT NOT NULL, PRIMARY KEY (run_id, path))")


@migrations()
def m040_scan_runs(db: Database) -> None:
    # one row per `seccenter scan`: when, how it ended, and its summary (JSON) as printed
    db.execute("CREATE TABLE scan_runs (id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT,"
               " status TEXT NOT NULL, exit_code INTEGER, first_alert_id INTEGER NOT NULL, summary TEXT)")
    # notifications not yet delivered are kept and retried on the next run; payload is the message as JSON
    db.execute("CREATE TABLE notification_outbox (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
               " created TEXT NOT NULL, run_id INTEGER REFERENCES scan_runs(id), payload TEXT NOT NULL,"
               " attempts INTEGER NOT NULL DEFAULT 0, last_attempt TEXT, last_error TEXT, delivered TEXT)")
    db.execute("CREATE INDEX notification_outbox_pending ON notification_outbox (delivered)")
    # status changes of alerts (ack, close) with the analyst's note; audited as well
    db.execute("CREATE TABLE alert_notes (id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts(id),"
               " time TEXT NOT NULL, actor TEXT NOT NULL, status TEXT NOT NULL, note TEXT)")
    db.execute("CREATE INDEX alert_notes_alert ON alert_notes (alert_id)")
    db.execute("CREATE INDEX alerts_created ON alerts (created)")
    db.execute("CREATE INDEX alerts_status ON alerts (status)")


@migrations()
def m041_purges(db: Database) -> None:
    # one row per `seccenter purge` (or retention applied by a scan): the erasure documented in readable form,
    # its audit entry holding the row's digest
    db.execute("CREATE TABLE purges (id INTEGER PRIMARY KEY, time TEXT NOT NULL, actor TEXT NOT NULL,"
               " events_before TEXT, alerts_before TEXT, quarantine_before TEXT, events INTEGER NOT NULL,"
               " alerts INTEGER NOT NULL, alert_notes INTEGER NOT NULL, quarantine INTEGER NOT NULL)")
    # purge asks for each old event whether an alert still points to it, and finds old quarantine rows by time
    db.execute("CREATE INDEX alerts_event ON alerts (event_id)")
    db.execute("CREATE INDEX quarantine_created ON quarantine (created)")


@migrations()
def m042_purged_notifications(db: Database) -> None:
    # a purge also erases delivered and given-up notifications (their digests name hosts and addresses)
    db.execute("ALTER TABLE purges ADD COLUMN notifications INTEGER NOT NULL DEFAULT 0")
