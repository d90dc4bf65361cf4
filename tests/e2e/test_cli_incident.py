"""seccenter incident, breach and audit as scripts use them: --json shapes, exit codes, messages, escaping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main

FAILED_ROOT = "Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.7 port 51234 ssh2\n"
HOSTILE = "\x1b[2J\x1b]8;;http://evil.example\x07click\x1b]8;;\x07 [bold red]markup[/bold red] \x9b31m"


def invoke(runner: CliRunner, db: Path, *args: str):
    return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)


def ingest(runner: CliRunner, db: Path, tmp_path: Path) -> list[int]:
    log = tmp_path / "auth.log"
    log.write_text(FAILED_ROOT)
    assert invoke(runner, db, "ingest", str(log), "--year", "2026", "--timezone", "UTC").exit_code == 0
    return [alert["id"] for alert in json.loads(invoke(runner, db, "alerts", "--json").output)]


def test_open_json_is_exactly_the_id(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    alert_ids = ingest(runner, db_path, tmp_path)
    args = [arg for alert_id in alert_ids for arg in ("--alert", str(alert_id))]
    result = invoke(runner, db_path, "incident", "open", "--title", "Root login attempts", "--category",
                    "unauthorized-access", *args, "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"id": 1}
    plain = invoke(runner, db_path, "incident", "open", "--title", "By hand")
    assert plain.output == "incident 2 opened: By hand\n"


def test_open_with_unknown_alert_is_a_user_error(runner: CliRunner, db_path: Path) -> None:
    result = invoke(runner, db_path, "incident", "open", "--title", "x", "--alert", "77")
    assert result.exit_code == 1 and result.output == "Error: no alert 77\n"


def test_list_json_and_countdowns(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "Leaked payroll export")
    assessed = invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-20T08:00:00+00:00",
                      "--data-type", "financial", "--confidentiality", "--json")
    assert assessed.exit_code == 0, assessed.output
    rows = json.loads(invoke(runner, db_path, "incident", "list", "--json").output)
    assert [row["id"] for row in rows] == [1]
    assert set(rows[0]) >= {"id", "title", "status", "severity", "owner", "category", "obligations", "alerts"}
    art33 = rows[0]["obligations"][0]
    assert art33 == {"obligation": "art33_authority", "basis": "GDPR Art. 33(1)", "due": "2026-11-23T09:00:00+01:00",
                     "status": "open", "seconds_left": art33["seconds_left"]}
    table = invoke(runner, db_path, "incident", "list").output
    assert "GDPR Art. 33(1)" in table and ("left" in table or "overdue by" in table)


def test_update_refuses_an_invalid_transition(runner: CliRunner, db_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "x")
    result = invoke(runner, db_path, "incident", "update", "1", "--status", "recovered")
    assert result.exit_code == 1
    assert result.output == ("Error: incident 1 is new: it can move to triage or closed, not recovered "
                             "(workflow: new → triage → contained → eradicated → recovered → closed)\n")
    moved = json.loads(invoke(runner, db_path, "incident", "update", "1", "--status", "triage", "--owner", "kim",
                              "--json").output)
    assert (moved["status"], moved["owner"]) == ("triage", "kim")


def test_close_and_reopen(runner: CliRunner, db_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "x")
    assert invoke(runner, db_path, "incident", "close", "1").exit_code == 1
    assert invoke(runner, db_path, "incident", "close", "1", "--reason", "false positive").exit_code == 0
    assert json.loads(invoke(runner, db_path, "incident", "list", "--json").output) == []
    assert len(json.loads(invoke(runner, db_path, "incident", "list", "--all", "--json").output)) == 1
    assert invoke(runner, db_path, "incident", "reopen", "1", "--reason", "it was real").exit_code == 0
    assert json.loads(invoke(runner, db_path, "incident", "show", "1", "--json").output)["incident"]["status"] == \
        "triage"


@pytest.mark.parametrize("args", [("show", "9"), ("update", "9", "--owner", "x"), ("close", "9", "--reason", "r"),
                                  ("note", "9", "text"), ("evidence", "check", "9")])
def test_unknown_incident_is_a_user_error(runner: CliRunner, db_path: Path, args: tuple[str, ...]) -> None:
    result = invoke(runner, db_path, "incident", *args)
    assert result.exit_code == 1 and result.output == "Error: no incident 9\n"


def test_hostile_text_is_escaped_in_show_and_list(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    alert_ids = ingest(runner, db_path, tmp_path)
    invoke(runner, db_path, "incident", "open", "--title", HOSTILE, "--owner", HOSTILE, "--alert", str(alert_ids[0]))
    invoke(runner, db_path, "incident", "note", "1", HOSTILE)
    evidence = tmp_path / "\x1b[31mred.log"
    evidence.write_text("x")
    assert invoke(runner, db_path, "incident", "evidence", "add", "1", str(evidence)).exit_code == 0
    for args in (("show", "1"), ("list",), ("evidence", "check", "1")):
        output = invoke(runner, db_path, "incident", *args).output
        assert "\x1b" not in output and "\x9b" not in output and "\x07" not in output
        assert "\\x1b" in output
    shown = invoke(runner, db_path, "incident", "show", "1").output
    squashed = "".join(character for character in shown if character not in " \n│")
    assert "[boldred]markup[/boldred]" in squashed  # markup printed literally, not applied
    document = json.loads(invoke(runner, db_path, "incident", "show", "1", "--json").output)
    assert any(entry["text"] == HOSTILE for entry in document["timeline"])


def test_evidence_add_and_check(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "x")
    source = tmp_path / "mail.eml"
    source.write_text("Received: from evil.example")
    added = json.loads(invoke(runner, db_path, "incident", "evidence", "add", "1", str(source), "--json").output)
    assert added["original_name"] == "mail.eml" and len(added["sha256"]) == 64
    assert invoke(runner, db_path, "incident", "evidence", "check", "1").exit_code == 0
    (db_path.with_name(db_path.name + ".evidence") / added["sha256"]).unlink()
    check = invoke(runner, db_path, "incident", "evidence", "check", "1", "--json")
    assert check.exit_code == 1 and json.loads(check.output)[0]["state"] == "missing"
    assert "missing" in invoke(runner, db_path, "incident", "show", "1").output
    gone = invoke(runner, db_path, "incident", "evidence", "add", "1", str(tmp_path / "gone.eml"))
    assert gone.exit_code == 1 and "cannot read evidence file" in gone.output


def test_propose_json_and_quoted_command_lines(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    alert_ids = ingest(runner, db_path, tmp_path)
    proposals = json.loads(invoke(runner, db_path, "incident", "propose", "--json").output)
    assert sorted(i for proposal in proposals for i in proposal["alert_ids"]) == sorted(alert_ids)
    assert set(proposals[0]) == {"title", "rule_id", "host", "level", "first", "last", "alert_ids"}
    text = invoke(runner, db_path, "incident", "propose").output
    assert "seccenter incident open --title '" in text
    assert invoke(runner, db_path, "incident", "propose", "--window", "0h").exit_code == 2


def test_every_write_is_in_the_audit_log(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    alert_ids = ingest(runner, db_path, tmp_path)
    invoke(runner, db_path, "incident", "open", "--title", "x")
    invoke(runner, db_path, "incident", "link", "1", "--alert", str(alert_ids[0]))
    invoke(runner, db_path, "incident", "note", "1", "n")
    invoke(runner, db_path, "incident", "update", "1", "--status", "triage")
    invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-03T12:00:00+01:00", "--data-type",
           "simple")
    report = json.loads(invoke(runner, db_path, "audit", "verify", "--json").output)
    assert report["ok"] and report["entries"] == 5


REGISTER = """\
processing_activities:
  - id: VT-007
    name: School portal
    data_subjects: [pupils, parents]
    data_subjects_count: 4200
    data_categories: [contact details, grades]
    special_categories: [health]
    legal_basis: ["Art. 6(1)(e)", "Art. 9(2)(g)"]
    systems: [srv01]
assets:
  - id: srv01
    hostname: srv01
"""


def test_breach_assess_json_shape(runner: CliRunner, db_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "x")
    result = invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-10-23T22:30", "--dpc", "3",
                    "--data-type", "financial", "--ei", "0.75", "--confidentiality", "--integrity", "--availability",
                    "--malicious", "--subjects", "1200", "--nis2", "essential", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert list(document) == ["severity", "risk", "notify_authority", "notify_subjects", "factors", "deadlines"]
    assert document["severity"] == 3 * 0.75 + 0.5 * 4 and document["risk"] == "very high"
    assert (document["notify_authority"], document["notify_subjects"]) == (True, True)
    assert all(set(item) == {"name", "value", "reason"} for item in document["factors"])
    assert all(set(item) == {"obligation", "due"} for item in document["deadlines"])
    # a time without offset is Berlin time; due times carry the offset they have in Berlin on that day
    assert document["deadlines"][:2] == [{"obligation": "nis2_early_warning", "due": "2026-10-24T22:30:00+02:00"},
                                         {"obligation": "art33_authority", "due": "2026-10-26T21:30:00+01:00"}]


def test_breach_assess_prefills_from_the_register(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER)
    assert invoke(runner, db_path, "ropa", "import", str(register)).exit_code == 0
    alert_ids = ingest(runner, db_path, tmp_path)
    invoke(runner, db_path, "incident", "open", "--title", "x", "--alert", str(alert_ids[0]))
    document = json.loads(invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-04T10:00",
                                 "--json").output)
    factors = {item["name"]: item for item in document["factors"]}
    assert factors["DPC"]["value"] == 4 and "School portal" in factors["DPC"]["reason"]
    assert factors["data subjects"]["value"] == 4200
    overridden = json.loads(invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-04T10:00",
                                   "--data-type", "simple", "--subjects", "12", "--json").output)
    assert overridden["factors"][0]["value"] == 1 and overridden["factors"][-1]["value"] == 12


@pytest.mark.parametrize(("args", "message"), [
    (("9", "--aware-at", "2026-11-04T10:00"), "Error: no incident 9\n"),
    (("1", "--aware-at", "2999-01-01T10:00"), "is in the future"),
    (("1", "--aware-at", "2026-11-03T09:00+00:00"), "is before the breach occurred"),
    (("1", "--aware-at", "2026-11-04T10:00", "--occurred-at", "2026-11-05T10:00"), "is before the breach occurred"),
])
def test_breach_assess_bad_input(runner: CliRunner, db_path: Path, tmp_path: Path, args: tuple[str, ...],
                                 message: str) -> None:
    alert_ids = ingest(runner, db_path, tmp_path)  # the event is at 2026-11-03 10:00:01 UTC
    invoke(runner, db_path, "incident", "open", "--title", "x", "--alert", str(alert_ids[0]))
    result = invoke(runner, db_path, "breach", "assess", *args, "--data-type", "simple")
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_breach_assess_of_a_closed_incident(runner: CliRunner, db_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "x")
    invoke(runner, db_path, "incident", "close", "1", "--reason", "duplicate")
    result = invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-04T10:00", "--data-type",
                    "simple")
    assert result.exit_code == 1 and result.output == "Error: incident 1 is closed; reopen it to assess it again\n"


def test_breach_assess_refuses_a_bad_time_and_scale(runner: CliRunner, db_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "x")
    assert invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "yesterday").exit_code == 2
    assert invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-04T10:00", "--ei",
                  "0.6").exit_code == 2
    assert invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-04T10:00", "--dpc",
                  "5").exit_code == 2


def test_breach_notified_and_show(runner: CliRunner, db_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "x")
    invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-01T10:00", "--data-type", "behavioural")
    late = invoke(runner, db_path, "breach", "notified", "1", "art33_authority", "--at", "2026-11-05T10:00")
    assert late.exit_code == 1 and "requires the reasons for the delay (--delay-reason)" in late.output
    done = invoke(runner, db_path, "breach", "notified", "1", "art33_authority", "--at", "2026-11-05T10:00",
                  "--delay-reason", "the processor told us on day 4", "--note", "LfDI ref 117")
    assert done.exit_code == 0 and done.output == "incident 1: art33_authority done\n"
    record = json.loads(invoke(runner, db_path, "breach", "show", "1", "--json").output)
    assert record["obligations"][0]["status"] == "done"
    assert record["submissions"][0]["delay_reason"] == "the processor told us on day 4"
    text = invoke(runner, db_path, "breach", "show", "1").output
    assert "medium" in text and "LfDI ref 117" in text
    assert invoke(runner, db_path, "breach", "show", "7").output == "Error: no incident 7\n"
