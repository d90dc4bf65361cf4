"""Retention: what `purge` erases, what it keeps (incident evidence and the events it points to), how it is
documented (purges row, audit entry), dry runs, VACUUM, and the CLI around it, on real ingests of the samples."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from seccenter.cli import main
from seccenter.incidents import audit, cases
from seccenter.store import outbox, retention
from seccenter.store.db import open_db
from seccenter.store.retention import RetentionError, purge

SAMPLES = Path(__file__).resolve().parent.parent / "seccenter" / "samples"
# the samples span 2026-11-23T02:30 .. 2026-11-25T00:14 UTC; this cut-off splits them
MIDDLE = datetime(2026, 11, 24, 2, 11, 30, tzinfo=UTC)
MALFORMED = (b'203.0.113.9 - - [24/Nov/2026:00:58:40 +0100] "GET / HTTP/1.1" 200 196 "-" "x"\n'
             b"\x00\x01 not an access log line\n"
             b'203.0.113.9 - - [24/Nov/2026:00:58:41 +0100] "GET / HTTP/1.1" 200 196 "-" "x"\n')


def _cli(db: Path, *args: str) -> dict | str:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two samples and a log with a malformed line, ingested once; each test gets a copy."""
    folder = tmp_path_factory.mktemp("retention")
    (folder / "auth.log").write_bytes((SAMPLES / "auth.log").read_bytes())
    (folder / "access.log").write_bytes((SAMPLES / "access.log").read_bytes())
    (folder / "broken.log").write_bytes(MALFORMED)
    path = folder / "template.db"
    summary = _cli(path, "ingest", str(folder / "auth.log"), str(folder / "access.log"), "--year", "2026",
                   "--timezone", "UTC", "--json")
    assert summary["new_events"] > 500 and summary["alerts"] > 100
    assert _cli(path, "ingest", "--format", "access", str(folder / "broken.log"), "--json")["malformed"] == 1
    with sqlite3.connect(path) as connection:  # as if read live: each alert stored when its event happened
        connection.execute("UPDATE alerts SET created = time")
    connection.close()
    return path


@pytest.fixture
def store(template: Path, db_path: Path) -> Path:
    source, target = sqlite3.connect(template), sqlite3.connect(db_path)
    source.backup(target)
    source.close()
    target.close()
    return db_path


@pytest.fixture
def db(store: Path) -> Database:
    return open_db(store)


def ids(db: Database, sql: str, params: list | None = None) -> set[int]:
    return {row[0] for row in db.execute(sql, params or [])}


def counts(db: Database) -> dict[str, int]:
    return {table: db[table].count for table in ("events", "alerts", "alert_notes", "quarantine", "incident_alerts",
                                                 "audit_log", "purges", "ingest_state")}


def add_note(db: Database, alert_id: int, note: str) -> None:
    db["alert_notes"].insert({"alert_id": alert_id, "time": "2026-11-30T10:00:00+00:00", "actor": "analyst",
                              "status": "acknowledged", "note": note})


def link_to_incident(db: Database, count: int) -> set[int]:
    """The oldest alerts of the rule that fires most, linked to a new incident."""
    alert_ids = [row[0] for row in db.execute(
        "SELECT id FROM alerts WHERE rule_id = (SELECT rule_id FROM alerts GROUP BY rule_id ORDER BY count(*) DESC"
        " LIMIT 1) ORDER BY time, id LIMIT ?", [count])]
    cases.open_incident(db, "SSH attack on rathaus-db01", "analyst", alert_ids=alert_ids)
    return set(alert_ids)


def test_everything_old_goes_except_incident_evidence(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 7)  # many batches, and a last short one
    linked = link_to_incident(db, 3)
    unlinked = min(ids(db, "SELECT id FROM alerts") - linked)
    add_note(db, unlinked, "goes with its alert")
    add_note(db, min(linked), "stays with its alert")
    before = counts(db)
    kept_events = ids(db, f"SELECT event_id FROM alerts WHERE id IN ({','.join(map(str, linked))})")

    report = purge(db, events=timedelta(days=30), alerts=timedelta(days=30), quarantine=timedelta(days=30),
                   now=datetime(2027, 6, 1, tzinfo=UTC), actor="dpo")

    assert ids(db, "SELECT id FROM alerts") == linked
    assert ids(db, "SELECT id FROM events") == kept_events
    assert [row[0] for row in db.execute("SELECT note FROM alert_notes")] == ["stays with its alert"]
    assert db["quarantine"].count == 0
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert report.to_dict() == {"events": before["events"] - len(kept_events),
                                "alerts": before["alerts"] - len(linked), "quarantine": 1, "vacuumed": True,
                                "dry_run": False, "notifications": 0}
    assert report.alert_notes == 1
    assert db["ingest_state"].count == before["ingest_state"]
    assert db["incident_alerts"].count == len(linked)


def test_each_record_counts_from_its_own_time(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 5)
    linked = link_to_incident(db, 2)
    cutoff = MIDDLE.isoformat()
    alerts = db.execute("SELECT id, time, event_id FROM alerts").fetchall()
    expected_alerts_gone = {alert_id for alert_id, time, _ in alerts if time < cutoff and alert_id not in linked}
    assert expected_alerts_gone and any(time >= cutoff for _, time, _ in alerts)
    staying_events = {event_id for alert_id, _, event_id in alerts if alert_id not in expected_alerts_gone}
    expected_events_gone = ids(db, "SELECT id FROM events WHERE time < ?", [cutoff]) - staying_events
    all_alerts, all_events = ids(db, "SELECT id FROM alerts"), ids(db, "SELECT id FROM events")

    report = purge(db, events=timedelta(days=2), alerts=timedelta(days=2), quarantine=None,
                   now=MIDDLE + timedelta(days=2), vacuum=False, actor="dpo")

    assert ids(db, "SELECT id FROM alerts") == all_alerts - expected_alerts_gone
    assert ids(db, "SELECT id FROM events") == all_events - expected_events_gone
    assert (report.events, report.alerts, report.quarantine) == (len(expected_events_gone),
                                                                 len(expected_alerts_gone), 0)
    assert report.cutoffs == {"events": cutoff, "alerts": cutoff, "quarantine": None}
    assert db["quarantine"].count == 1 and report.vacuumed is False


def test_an_alert_stays_until_its_limit_has_passed_since_it_was_stored(db: Database) -> None:
    # a log line dated long ago, read today: its alert and event are old by their time, new by their storing
    stored = datetime(2027, 3, 1, tzinfo=UTC)
    late = ids(db, "SELECT id FROM alerts ORDER BY id LIMIT 5")
    db.execute(f"UPDATE alerts SET created = ? WHERE id IN ({','.join(map(str, late))})", [stored.isoformat()])
    late_events = ids(db, f"SELECT event_id FROM alerts WHERE id IN ({','.join(map(str, late))})")
    limits = {"events": timedelta(days=1), "alerts": timedelta(days=1), "quarantine": None}

    dry = purge(db, **limits, now=stored + timedelta(hours=23), dry_run=True, actor="dpo")
    report = purge(db, **limits, now=stored + timedelta(hours=23), vacuum=False, actor="dpo")

    assert ids(db, "SELECT id FROM alerts") == late and ids(db, "SELECT id FROM events") == late_events
    assert (dry.events, dry.alerts) == (report.events, report.alerts) and report.alerts > 100
    later = purge(db, **limits, now=stored + timedelta(days=1, seconds=1), vacuum=False, actor="dpo")
    assert (later.alerts, later.events) == (len(late), len(late_events))
    assert db["alerts"].count == db["events"].count == 0


def test_delivered_and_given_up_notifications_go_with_the_alerts_limit_pending_ones_stay(db: Database) -> None:
    payload = {"total": 1, "alerts": [{"source_ip": "198.51.100.23", "host": "rathaus-db01"}]}
    delivered, given_up, pending, recent, failed_once = outbox.enqueue(
        db, ["webhook", "email", "syslog", "webhook", "email"], None, payload)
    outbox.mark_delivered(db, delivered)
    outbox.mark_delivered(db, recent)
    outbox.mark_failed(db, failed_once, "connection refused")
    db.execute("UPDATE notification_outbox SET attempts = ? WHERE id = ?", [outbox.MAX_ATTEMPTS, given_up])
    db.execute("UPDATE notification_outbox SET created = '2026-10-01T00:00:00+00:00' WHERE id != ?", [recent])
    db.execute("UPDATE notification_outbox SET created = '2026-12-31T00:00:00+00:00' WHERE id = ?", [recent])
    limits = {"events": None, "alerts": timedelta(days=30), "quarantine": None}
    now = datetime(2027, 1, 1, tzinfo=UTC)

    dry = purge(db, **limits, now=now, dry_run=True, actor="dpo")
    report = purge(db, **limits, now=now, vacuum=False, actor="dpo")

    assert ids(db, "SELECT id FROM notification_outbox") == {pending, recent, failed_once}
    assert dry.notifications == report.notifications == report.to_dict()["notifications"] == 2
    assert db.execute("SELECT notifications FROM purges").fetchall() == [(2,)]
    only_events = purge(db, events=timedelta(days=1), alerts=None, quarantine=None, now=now + timedelta(days=90),
                        vacuum=False, actor="dpo")
    assert only_events.notifications == 0 and db["notification_outbox"].count == 3


def test_events_of_kept_alerts_stay_when_only_events_are_purged(db: Database) -> None:
    alert_events = ids(db, "SELECT event_id FROM alerts")
    report = purge(db, events=timedelta(days=1), alerts=None, quarantine=None,
                   now=datetime(2027, 1, 1, tzinfo=UTC), actor="dpo")
    assert ids(db, "SELECT id FROM events") == alert_events
    assert report.alerts == 0 and db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_alerts_only_keeps_every_event(db: Database) -> None:
    events = db["events"].count
    report = purge(db, events=None, alerts=timedelta(days=1), quarantine=None,
                   now=datetime(2027, 1, 1, tzinfo=UTC), actor="dpo")
    assert db["alerts"].count == 0 and report.alerts > 100 and db["events"].count == events


def test_nothing_newer_than_the_limit_goes(db: Database) -> None:
    before = counts(db)
    report = purge(db, events=timedelta(days=30), alerts=timedelta(days=30), quarantine=timedelta(days=30),
                   now=datetime(2026, 12, 1, tzinfo=UTC), actor="dpo")
    assert (report.events, report.alerts, report.quarantine) == (0, 0, 0)
    assert {table: count for table, count in counts(db).items() if table not in ("audit_log", "purges")} == {
        table: count for table, count in before.items() if table not in ("audit_log", "purges")}


def test_dry_run_counts_the_same_and_changes_nothing(store: Path, db: Database) -> None:
    link_to_incident(db, 4)
    add_note(db, max(ids(db, "SELECT id FROM alerts")), "note")
    limits = {"events": timedelta(days=1), "alerts": timedelta(days=2), "quarantine": timedelta(days=1)}
    now = MIDDLE + timedelta(days=2)
    dump = "\n".join(db.conn.iterdump())

    dry = purge(db, **limits, now=now, dry_run=True, actor="dpo")

    assert "\n".join(db.conn.iterdump()) == dump
    assert dry.dry_run is True and dry.vacuumed is False
    real = purge(db, **limits, now=now, actor="dpo")
    assert (dry.events, dry.alerts, dry.quarantine, dry.alert_notes) == (
        real.events, real.alerts, real.quarantine, real.alert_notes)
    assert dry.events > 0 and dry.alerts > 0


def test_each_purge_is_documented_and_the_audit_chain_holds(store: Path, db: Database) -> None:
    link_to_incident(db, 1)  # an audit entry before the purge's
    report = purge(db, events=timedelta(days=3), alerts=timedelta(days=3), quarantine=timedelta(days=3),
                   now=datetime(2027, 1, 1, tzinfo=UTC), actor="Datenschutz O'Brien; DROP TABLE events")
    row = dict(zip(("id", "time", "actor", "events_before", "alerts_before", "quarantine_before", "events",
                    "alerts", "alert_notes", "quarantine", "notifications"),
                   db.execute("SELECT * FROM purges").fetchone(), strict=True))
    assert row["actor"] == "Datenschutz O'Brien; DROP TABLE events" and db["events"].count > 0
    assert (row["events"], row["alerts"], row["quarantine"]) == (report.events, report.alerts, report.quarantine)
    assert row["events_before"] == "2026-12-29T00:00:00+00:00"
    (entry,) = db.execute("SELECT action, object_type, object_id, after_digest FROM audit_log"
                          " WHERE action = 'store.purge'").fetchall()
    assert entry[:3] == ("store.purge", "purge", str(row["id"]))
    assert entry[3] == audit.digest({key: value for key, value in row.items() if key != "id"})
    db.conn.close()
    verified = _cli(store, "audit", "verify", "--json")
    assert verified["ok"] is True and verified["entries"] == 2


def test_a_dry_run_is_not_audited(db: Database) -> None:
    purge(db, events=timedelta(days=1), alerts=None, quarantine=None, now=datetime(2027, 1, 1, tzinfo=UTC),
          dry_run=True, actor="dpo")
    assert db["audit_log"].count == 0 and db["purges"].count == 0


def test_reingesting_after_a_purge_adds_nothing(store: Path, template: Path, db: Database) -> None:
    purge(db, events=timedelta(days=1), alerts=timedelta(days=1), quarantine=timedelta(days=1),
          now=datetime(2027, 1, 1, tzinfo=UTC), actor="dpo")
    assert db["events"].count == db["alerts"].count == db["quarantine"].count == 0
    db.conn.close()
    folder = template.parent
    again = _cli(store, "ingest", str(folder / "auth.log"), str(folder / "access.log"), "--year", "2026",
                 "--timezone", "UTC", "--json")
    broken = _cli(store, "ingest", "--format", "access", str(folder / "broken.log"), "--json")
    assert again["new_events"] == 0 and again["alerts"] == 0 and broken["malformed"] == 0
    reopened = open_db(store)
    assert reopened["events"].count == reopened["alerts"].count == reopened["quarantine"].count == 0


def test_vacuum_shrinks_the_file_and_the_erased_text_is_gone(store: Path, db: Database) -> None:
    marker = b"Failed password for invalid user"
    assert marker in store.read_bytes()
    size = store.stat().st_size
    purge(db, events=timedelta(days=1), alerts=timedelta(days=1), quarantine=timedelta(days=1),
          now=datetime(2027, 1, 1, tzinfo=UTC), vacuum=False, actor="dpo")
    # without VACUUM the file keeps its size, but the erased rows are overwritten, in the WAL as well
    assert store.stat().st_size == size
    wal = store.with_name(store.name + "-wal")
    assert marker not in store.read_bytes() and (not wal.exists() or marker not in wal.read_bytes())
    purge(db, events=timedelta(days=1), alerts=None, quarantine=None, now=datetime(2027, 1, 1, tzinfo=UTC),
          actor="dpo")
    assert store.stat().st_size < size / 2


@pytest.mark.parametrize(("limits", "message"), [
    ({"events": None, "alerts": None, "quarantine": None}, "nothing to purge"),
    ({"events": timedelta(0), "alerts": None, "quarantine": None}, "events must be positive"),
    ({"events": None, "alerts": timedelta(days=-1), "quarantine": None}, "alerts must be positive"),
])
def test_limits_that_make_no_sense_are_refused(db: Database, limits: dict, message: str) -> None:
    before = counts(db)
    with pytest.raises(RetentionError, match=message):
        purge(db, **limits, actor="dpo")
    assert counts(db) == before


# the CLI: real time, so recent lines are written with today's date; the samples are older than a week


def recent_log(folder: Path) -> Path:
    stamp = (datetime.now(UTC) - timedelta(hours=1)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    log = folder / "recent.log"
    log.write_text(f'198.51.100.23 - - [{stamp}] "GET /../../etc/passwd HTTP/1.1" 404 12 "-" "curl/8.5"\n'
                   f'198.51.100.23 - - [{stamp}] "GET / HTTP/1.1" 200 12 "-" "curl/8.5"\n')
    return log


def test_cli_purge_prints_counts_and_keeps_recent_records(store: Path, tmp_path: Path) -> None:
    assert _cli(store, "ingest", "--format", "access", str(recent_log(tmp_path)), "--json")["new_events"] == 2
    before = counts(open_db(store))

    dry = _cli(store, "purge", "--older-than", "7d", "--dry-run")
    assert counts(open_db(store)) == before
    assert f"events      would erase {before['events'] - 2}, older than" in dry
    assert "dry run: nothing was changed" in dry

    output = _cli(store, "purge", "--older-than", "7d")
    assert f"events      erased {before['events'] - 2}, older than" in output
    # the malformed line was quarantined today: it counts from then, not from the time written in it
    assert "quarantine  erased 0, older than" in output and "store compacted (VACUUM)" in output
    assert "notifications erased 0 delivered or given up, queued before" in output
    after = open_db(store)
    assert after["events"].count == 2 and after["quarantine"].count == 1
    recent_alerts = after.execute("SELECT count(*) FROM alerts WHERE time > ?",
                                  [(datetime.now(UTC) - timedelta(days=1)).isoformat()]).fetchone()[0]
    assert recent_alerts >= 1 and after["alerts"].count == recent_alerts


def test_cli_purge_json_shape_and_only(store: Path) -> None:
    before = counts(open_db(store))
    report = _cli(store, "purge", "--older-than", "1w", "--only", "alerts, quarantine", "--no-vacuum", "--json")
    assert report == {"events": 0, "alerts": before["alerts"], "quarantine": 0, "vacuumed": False, "dry_run": False,
                      "notifications": 0}
    assert open_db(store)["events"].count == before["events"]
    text = _cli(store, "purge", "--older-than", "12h", "--only", "events")
    assert "alerts      kept (not asked for)" in text and f"events      erased {before['events']}" in text
    assert "notifications" not in text


@pytest.mark.parametrize(("args", "message"), [
    (["--older-than", "0d"], "is zero"),
    (["--older-than", "90"], "is not a duration"),
    (["--older-than", "'; DROP TABLE events; --"], "is not a duration"),
    (["--older-than", "\x1b[31m9d"], "is not a duration"),
    (["--older-than", "99999999999999999999d"], "longer than"),
    (["--older-than", "9d", "--only", "events,users"], "comma-separated list of events, alerts, quarantine"),
    (["--older-than", "9d", "--only", ","], "comma-separated list"),
    ([], "Missing option '--older-than'"),
])
def test_cli_purge_usage_errors_change_nothing(store: Path, args: list[str], message: str) -> None:
    before = counts(open_db(store))
    result = CliRunner().invoke(main, ["--db", str(store), "purge", *args])
    assert result.exit_code == 2 and message in result.stderr
    assert counts(open_db(store)) == before
