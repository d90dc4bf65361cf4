"""`seccenter alerts`: the listing and its filters, `ack`/`close` with notes (audited, all or nothing), `show`."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.incidents.alert_status import MAX_NOTE
from seccenter.resources import samples

OLD_KEYS = {"id", "rule_id", "rule_title", "level", "tags", "time", "source_ip", "status", "source", "fields", "raw",
            "origin", "correlation", "details", "assets", "processing_activities"}


def invoke(runner: CliRunner, db: Path, *args: str, **kwargs):
    return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False, **kwargs)


def listed(runner: CliRunner, db: Path, *args: str) -> list[dict]:
    result = invoke(runner, db, "alerts", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def store(runner: CliRunner, db_path: Path) -> Path:
    """The bundled sample logs (auth and web access) ingested with the bundled rules."""
    result = invoke(runner, db_path, "ingest", str(samples() / "auth.log"), str(samples() / "access.log"),
                    "--year", "2026")
    assert result.exit_code == 0, result.output
    return db_path


def rows(db: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql, params).fetchall()


def test_without_a_subcommand_it_lists_as_before(runner: CliRunner, store: Path) -> None:
    alerts = listed(runner, store)
    assert len(alerts) == rows(store, "SELECT count(*) FROM alerts")[0][0] > 100
    assert all(set(alert) == OLD_KEYS for alert in alerts)
    times = [alert["time"] for alert in alerts]
    assert times == sorted(times, reverse=True)
    table = invoke(runner, store, "alerts", "--limit", "3", env={"COLUMNS": "200"}).output
    assert table.splitlines()[0].strip() == "3 alerts"
    header = next(line for line in table.splitlines() if "time" in line)
    assert [word for word in header.replace("┃", " ").split()] == ["id", "time", "level", "status", "rule", "source",
                                                                   "event", "origin"]
    assert f"│ {alerts[0]['id']} │" in table and "auth.log:294" in table


def test_filter_by_level(runner: CliRunner, store: Path) -> None:
    high = listed(runner, store, "--level", "high")
    assert high and {alert["level"] for alert in high} == {"high"}
    assert len(high) < len(listed(runner, store, "--level", "medium"))


def test_filter_by_rule_id_or_part_of_the_title(runner: CliRunner, store: Path) -> None:
    by_title = listed(runner, store, "--rule", "sql injection")
    assert len(by_title) == 14 and {alert["rule_title"] for alert in by_title} == {"SQL Injection Attempt in URL Query"}
    by_id = listed(runner, store, "--rule", by_title[0]["rule_id"])
    assert [alert["id"] for alert in by_id] == [alert["id"] for alert in by_title]
    # LIKE wildcards and quotes are text, not SQL
    assert listed(runner, store, "--rule", "%") == []
    assert listed(runner, store, "--rule", "_") == []
    assert listed(runner, store, "--rule", "x' OR '1'='1") == []


def test_filter_by_host(runner: CliRunner, store: Path) -> None:
    alerts = listed(runner, store, "--host", "SCHULE-srv02")
    assert len(alerts) == 17 and {alert["fields"]["host"] for alert in alerts} == {"schule-srv02"}
    assert listed(runner, store, "--host", "schule") == []


def test_filter_by_time(runner: CliRunner, store: Path) -> None:
    since, until = "2026-11-24T12:00:00+00:00", "2026-11-24T18:00:00+00:00"
    window = listed(runner, store, "--since", since, "--until", until)
    every = listed(runner, store)
    expected = [alert["id"] for alert in every if since <= alert["time"] < until]
    assert window and [alert["id"] for alert in window] == expected and len(window) < len(every)
    before = listed(runner, store, "--until", since)
    assert before and all(datetime.fromisoformat(alert["time"]) < datetime.fromisoformat(since) for alert in before)
    assert listed(runner, store, "--until", "1h") == every  # the samples are dated November 2026


def test_filter_by_status_and_limit(runner: CliRunner, store: Path) -> None:
    newest = listed(runner, store, "--limit", "3")
    assert len(newest) == 3
    ids = [str(alert["id"]) for alert in newest]
    assert invoke(runner, store, "alerts", "ack", *ids[:2]).exit_code == 0
    assert invoke(runner, store, "alerts", "close", ids[2]).exit_code == 0
    assert [str(alert["id"]) for alert in listed(runner, store, "--status", "acknowledged")] == ids[:2]
    assert [str(alert["id"]) for alert in listed(runner, store, "--status", "closed")] == ids[2:]
    fresh = listed(runner, store, "--status", "new")
    assert len(fresh) == len(listed(runner, store)) - 3 and not set(ids) & {str(alert["id"]) for alert in fresh}
    assert invoke(runner, store, "alerts", "--status", "open").exit_code == 2


def test_ack_then_close_with_notes_and_audit_entries(runner: CliRunner, store: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECCENTER_ACTOR", "kim")
    acked = invoke(runner, store, "alerts", "ack", "5", "3", "--note", "checking with the web team")
    assert (acked.exit_code, acked.output) == (0, "alerts 3, 5 acknowledged\n")
    closed = invoke(runner, store, "alerts", "close", "3", "--note", "contractor's scan", "--json")
    assert json.loads(closed.output) == [{"id": 3, "before": "acknowledged", "status": "closed"}]
    assert rows(store, "SELECT id, status FROM alerts WHERE id IN (3, 5) ORDER BY id") == [(3, "closed"),
                                                                                        (5, "acknowledged")]
    assert rows(store, "SELECT alert_id, actor, status, note FROM alert_notes ORDER BY id") == [
        (3, "kim", "acknowledged", "checking with the web team"), (5, "kim", "acknowledged",
                                                                   "checking with the web team"),
        (3, "kim", "closed", "contractor's scan")]
    assert rows(store, "SELECT actor, action, object_type, object_id FROM audit_log ORDER BY id") == [
        ("kim", "alert.ack", "alert", "3"), ("kim", "alert.ack", "alert", "5"), ("kim", "alert.close", "alert", "3")]
    verified = json.loads(invoke(runner, store, "audit", "verify", "--json").output)
    assert verified["ok"] and verified["entries"] == 3
    shown = json.loads(invoke(runner, store, "alerts", "show", "3", "--json").output)
    assert shown["status"] == "closed" and set(shown) >= OLD_KEYS
    assert [(note["status"], note["note"]) for note in shown["notes"]] == [
        ("acknowledged", "checking with the web team"), ("closed", "contractor's scan")]


def test_ack_of_a_closed_alert_is_refused_and_changes_nothing(runner: CliRunner, store: Path) -> None:
    invoke(runner, store, "alerts", "close", "7")
    refused = invoke(runner, store, "alerts", "ack", "6", "7", "--note", "again")
    assert (refused.exit_code, refused.output) == (1, "Error: alert 7 is closed; it cannot be acknowledged\n")
    assert rows(store, "SELECT id, status FROM alerts WHERE id IN (6, 7) ORDER BY id") == [(6, "new"), (7, "closed")]
    assert rows(store, "SELECT count(*) FROM alert_notes")[0][0] == 1
    assert rows(store, "SELECT count(*) FROM audit_log")[0][0] == 1
    # closing again keeps it closed and records the note
    again = invoke(runner, store, "alerts", "close", "7", "--note", "duplicate of 6")
    assert (again.exit_code, again.output) == (0, "alert 7 closed\n")
    assert rows(store, "SELECT note FROM alert_notes ORDER BY id") == [(None,), ("duplicate of 6",)]


def test_unknown_ids_are_refused_and_nothing_changes(runner: CliRunner, store: Path) -> None:
    result = invoke(runner, store, "alerts", "ack", "1", "99999", "88888")
    assert (result.exit_code, result.output) == (1, "Error: no alert 88888, 99999\n")
    assert rows(store, "SELECT status FROM alerts WHERE id = 1") == [("new",)]
    assert rows(store, "SELECT count(*) FROM alert_notes")[0][0] == 0
    assert rows(store, "SELECT count(*) FROM audit_log")[0][0] == 0
    shown = invoke(runner, store, "alerts", "show", "99999")
    assert (shown.exit_code, shown.output) == (1, "Error: no alert 99999\n")


@pytest.mark.parametrize("args", [("ack",), ("ack", "0"), ("close", "x"), ("ack", "-1"), ("ack", "9" * 30),
                                  ("show", "9" * 30), ("close", "1.5")])
def test_ids_must_be_given_as_positive_numbers(runner: CliRunner, store: Path, args: tuple[str, ...]) -> None:
    assert invoke(runner, store, "alerts", *args).exit_code == 2


def test_ack_waits_for_a_writer_holding_the_lock_and_both_writes_are_kept(runner: CliRunner, store: Path) -> None:
    writer = sqlite3.connect(store, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE alerts SET status = 'closed' WHERE id = 2")
    release = threading.Timer(1.0, writer.commit)
    release.start()
    started = time.monotonic()
    result = invoke(runner, store, "alerts", "ack", "1", "--note", "while a scan writes")
    release.join()
    writer.close()
    assert (result.exit_code, result.output) == (0, "alert 1 acknowledged\n")
    assert time.monotonic() - started >= 0.9  # it waited for the lock instead of failing
    assert rows(store, "SELECT id, status FROM alerts WHERE id IN (1, 2) ORDER BY id") == [(1, "acknowledged"),
                                                                                        (2, "closed")]
    assert rows(store, "SELECT alert_id, note FROM alert_notes") == [(1, "while a scan writes")]


def test_a_note_too_long_is_refused(runner: CliRunner, store: Path) -> None:
    result = invoke(runner, store, "alerts", "ack", "1", "--note", "n" * (MAX_NOTE + 1))
    assert result.exit_code == 1
    assert result.output == f"Error: the note is {MAX_NOTE + 1} characters long; at most {MAX_NOTE} are kept\n"
    assert rows(store, "SELECT status FROM alerts WHERE id = 1") == [("new",)]
    assert invoke(runner, store, "alerts", "ack", "1", "--note", "n" * MAX_NOTE).exit_code == 0


def test_a_hostile_note_is_kept_as_written_and_shown_escaped(runner: CliRunner, store: Path) -> None:
    note = "[red]x[/red] \x1b]52;c;ZXZpbA==\x07 \u009b31m '; DROP TABLE alerts; --"
    assert invoke(runner, store, "alerts", "close", "2", "--note", note).exit_code == 0
    assert rows(store, "SELECT note FROM alert_notes") == [(note,)]
    shown = invoke(runner, store, "alerts", "show", "2", env={"COLUMNS": "200"})
    assert shown.exit_code == 0
    assert "[red]x[/red] \\x1b]52;c;ZXZpbA==\\x07 \\x9b31m '; DROP TABLE alerts; --" in shown.output
    assert "\x1b" not in shown.output and "\u009b" not in shown.output
    as_json = invoke(runner, store, "alerts", "show", "2", "--json").output
    assert "\u009b" not in as_json and json.loads(as_json)["notes"][0]["note"] == note


def test_an_empty_store_lists_nothing(runner: CliRunner, db_path: Path) -> None:
    assert listed(runner, db_path) == []
    assert invoke(runner, db_path, "alerts").output.splitlines()[0].strip() == "0 alerts"
