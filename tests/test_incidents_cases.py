"""Incident cases: opening, the status workflow, notes, evidence, grouping proposals and the timeline."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from seccenter.cli import main
from seccenter.incidents import cases, timeline
from seccenter.incidents.audit import verify
from seccenter.incidents.cases import IncidentError
from seccenter.incidents.evidence import add_evidence, check_evidence, evidence_dir
from seccenter.store.db import open_db

AUTH_LINES = (
    "Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.7 port 51234 ssh2\n"
    "Nov  3 10:00:05 srv01 sshd[1234]: Failed password for root from 203.0.113.7 port 51235 ssh2\n"
    "Nov  3 10:20:05 srv02 sshd[1234]: Failed password for root from 203.0.113.8 port 51236 ssh2\n"
    "Nov  3 14:00:05 srv01 sshd[1234]: Failed password for root from 203.0.113.7 port 51237 ssh2\n"
)
HOSTILE = "\x1b[2J\x1b[31mowned [bold]markup[/bold] \u202e <script>alert(1)</script>"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ingested once (loading the rules takes a second); each test gets a copy."""
    folder = tmp_path_factory.mktemp("template")
    log, path = folder / "auth.log", folder / "template.db"
    log.write_text(AUTH_LINES)
    result = CliRunner().invoke(main, ["--db", str(path), "ingest", str(log), "--year", "2026",
                                       "--timezone", "UTC"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(template: Path, db_path: Path, tmp_path: Path) -> Database:
    (tmp_path / "auth.log").write_text(AUTH_LINES)
    source, target = sqlite3.connect(template), sqlite3.connect(db_path)
    source.backup(target)
    source.close()
    target.close()
    return open_db(db_path)


def root_login_alerts(db: Database) -> list[int]:
    return [row[0] for row in db.execute("SELECT id FROM alerts WHERE rule_title LIKE '%root%' ORDER BY time")]


def audit_actions(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT action FROM audit_log ORDER BY id")]


def test_open_from_alerts_links_them_and_writes_timeline_and_audit(db: Database) -> None:
    alert_ids = root_login_alerts(db)[:2]
    incident = cases.open_incident(db, "Root logins on srv01", "analyst", "unauthorized-access", "high",
                                   alert_ids=alert_ids)
    assert incident["status"] == "new" and incident["severity"] == "high"
    case = cases.get_with_obligations(db, incident["id"])
    assert case["alerts"] == sorted(alert_ids) and case["obligations"] == []
    assert audit_actions(db) == ["incident.open"]
    kinds = [entry.kind for entry in timeline.build(db, incident["id"])]
    assert kinds.count("event") == 2 and kinds.count("alert") == 2 and kinds[-1] == "opened"
    assert verify(db) == []


def test_open_with_an_unknown_alert_writes_nothing(db: Database) -> None:
    with pytest.raises(IncidentError, match="no alert 999"):
        cases.open_incident(db, "x", "analyst", alert_ids=[999])
    assert db["incidents"].count == 0 and db["audit_log"].count == 0


def test_open_by_hand_needs_a_title(db: Database) -> None:
    with pytest.raises(IncidentError, match="title must not be empty"):
        cases.open_incident(db, "   ", "analyst")
    assert cases.open_incident(db, "Stolen laptop", "analyst", "lost-device")["category"] == "lost-device"


def test_the_whole_workflow_and_reopen(db: Database) -> None:
    incident_id = cases.open_incident(db, "Ransomware at the depot", "analyst")["id"]
    for status in ("triage", "contained", "eradicated", "recovered", "closed"):
        assert cases.change_status(db, incident_id, status, "analyst")["status"] == status
    assert cases.get(db, incident_id)["closed"] is not None
    with pytest.raises(IncidentError, match="is closed; reopen it"):
        cases.change_status(db, incident_id, "triage", "analyst")
    reopened = cases.reopen(db, incident_id, "analyst", "encrypted share found on a second server")
    assert reopened["status"] == "triage" and reopened["closed"] is None
    assert audit_actions(db) == ["incident.open", *["incident.status"] * 5, "incident.reopen"]
    assert verify(db) == []


@pytest.mark.parametrize(("path", "target", "message"), [
    ((), "contained", "is new: it can move to triage or closed, not contained"),
    (("triage", "contained"), "recovered", "is contained: it can move to eradicated, not recovered"),
    (("triage", "contained"), "triage", "is contained: it can move to eradicated, not triage"),
    ((), "new", "is already new"),
    ((), "resolved", "unknown status 'resolved'"),
])
def test_invalid_transitions_are_refused_with_the_workflow(db: Database, path: tuple[str, ...], target: str,
                                                            message: str) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    for status in path:
        cases.change_status(db, incident_id, status, "analyst")
    writes = db["audit_log"].count
    with pytest.raises(IncidentError, match=message):
        cases.change_status(db, incident_id, target, "analyst")
    assert db["audit_log"].count == writes


def test_closing_before_containment_needs_a_reason(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    with pytest.raises(IncidentError, match="needs a reason"):
        cases.close(db, incident_id, "analyst")
    closed = cases.close(db, incident_id, "analyst", "false positive: penetration test")
    assert closed["close_reason"] == "false positive: penetration test"
    still_open = cases.open_incident(db, "y", "analyst")["id"]
    with pytest.raises(IncidentError, match="is new, not closed"):
        cases.reopen(db, still_open, "analyst", "why")


def test_update_records_before_and_after(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    assert cases.update(db, incident_id, "analyst", owner="j.schmidt", severity="critical")["owner"] == "j.schmidt"
    unchanged = cases.update(db, incident_id, "analyst", owner="j.schmidt")
    assert unchanged["severity"] == "critical" and audit_actions(db) == ["incident.open", "incident.update"]
    with pytest.raises(IncidentError, match="unknown severity"):
        cases.update(db, incident_id, "analyst", severity="urgent")
    row = db.execute("SELECT before_digest, after_digest FROM audit_log WHERE id = 2").fetchone()
    assert row[0] and row[1] and row[0] != row[1]


def test_a_hostile_note_is_kept_verbatim(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    cases.add_note(db, incident_id, "analyst", HOSTILE)
    notes = [entry for entry in timeline.build(db, incident_id) if entry.kind == "note"]
    assert notes[0].text == HOSTILE.strip() and notes[0].actor == "analyst"
    with pytest.raises(IncidentError, match="note must not be empty"):
        cases.add_note(db, incident_id, "analyst", " ")
    with pytest.raises(IncidentError, match="no incident 42"):
        cases.add_note(db, 42, "analyst", "text")


def test_link_more_alerts_to_an_open_case_only(db: Database) -> None:
    first, *rest = root_login_alerts(db)
    incident_id = cases.open_incident(db, "x", "analyst", alert_ids=[first])["id"]
    assert cases.link_alerts(db, incident_id, [first, *rest], "analyst") == rest
    assert cases.link_alerts(db, incident_id, rest, "analyst") == []
    cases.close(db, incident_id, "analyst", "duplicate of 7")
    with pytest.raises(IncidentError, match="is closed"):
        cases.link_alerts(db, incident_id, rest, "analyst")


def test_propose_groups_by_rule_host_and_pause(db: Database) -> None:
    proposals = cases.propose(db, timedelta(hours=1))
    root = [proposal for proposal in proposals if "root" in proposal.rule_title.lower()]
    assert [(proposal.host, len(proposal.alert_ids)) for proposal in root] == [("srv01", 2), ("srv02", 1),
                                                                               ("srv01", 1)]
    assert len([p for p in cases.propose(db, timedelta(hours=5)) if "root" in p.rule_title.lower()]) == 2
    cases.open_incident(db, "x", "analyst", alert_ids=root[0].alert_ids)
    assert root[0].alert_ids[0] not in {i for p in cases.propose(db, timedelta(hours=1)) for i in p.alert_ids}


def test_evidence_is_kept_by_hash_in_a_private_folder(db: Database, db_path: Path, tmp_path: Path) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    source = tmp_path / "capture.pcap"
    source.write_bytes(b"\xd4\xc3\xb2\xa1" + bytes(range(256)) * 10)
    row = add_evidence(db, db_path, incident_id, source, "analyst", "first capture")
    folder = evidence_dir(db_path)
    stored = folder / row["sha256"]
    assert stored.read_bytes() == source.read_bytes() and row["original_name"] == "capture.pcap"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert os.listdir(folder) == [row["sha256"]]
    with pytest.raises(IncidentError, match="already evidence of incident"):
        add_evidence(db, db_path, incident_id, source, "analyst")
    assert audit_actions(db) == ["incident.open", "incident.evidence"]


def test_evidence_names_are_data_not_paths(db: Database, db_path: Path, tmp_path: Path) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    source = tmp_path / "..\x1b[31m;rm -rf ~;.log"
    source.write_text("evidence")
    row = add_evidence(db, db_path, incident_id, source, "analyst")
    assert row["original_name"] == source.name
    assert sorted(path.name for path in tmp_path.iterdir() if path.name != source.name) == sorted(
        ["auth.log", db_path.name, evidence_dir(db_path).name, *[p.name for p in tmp_path.glob("*.db-*")]])
    assert os.listdir(evidence_dir(db_path)) == [row["sha256"]]


def test_evidence_that_vanishes_or_changes_is_reported(db: Database, db_path: Path, tmp_path: Path) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    rows = []
    for name in ("a.log", "b.log", "c.log"):
        (tmp_path / name).write_text(name)
        rows.append(add_evidence(db, db_path, incident_id, tmp_path / name, "analyst"))
    (evidence_dir(db_path) / rows[0]["sha256"]).unlink()
    (evidence_dir(db_path) / rows[1]["sha256"]).write_text("tampered")
    assert [state.state for state in check_evidence(db, db_path, incident_id)] == ["missing", "altered", "ok"]


def test_evidence_source_that_is_missing_or_not_a_file(db: Database, db_path: Path, tmp_path: Path) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    with pytest.raises(IncidentError, match="cannot read evidence file .*No such file"):
        add_evidence(db, db_path, incident_id, tmp_path / "gone.log", "analyst")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(IncidentError, match="is not a regular file"):
        add_evidence(db, db_path, incident_id, fifo, "analyst")
    with pytest.raises(IncidentError, match="no incident 9"):
        add_evidence(db, db_path, 9, tmp_path / "auth.log", "analyst")
    assert db["incident_evidence"].count == 0
    assert [path for path in evidence_dir(db_path).iterdir()] == []
