"""seccenter playbook as analysts and scripts use it: the --json shapes, a whole personal-data breach worked
through, command steps run without a shell, hostile text on screen, CACAO export and import, exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.playbooks.library import load_library
from seccenter.resources import playbooks_dir

BERLIN = ZoneInfo("Europe/Berlin")
WIDE = {"COLUMNS": "300"}  # rich wraps long lines at the terminal width
HOSTILE = "\x1b[2J\x1b]8;;http://evil.example\x07click\x1b]8;;\x07 [bold red]markup[/bold red] \x9b31m"


def invoke(runner: CliRunner, db: Path, *args: str, **options):
    return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False, **options)


def test_list_json_is_exactly_id_title_steps(runner: CliRunner, db_path: Path) -> None:
    result = invoke(runner, db_path, "playbook", "list", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    bundled = load_library([playbooks_dir()]).playbooks
    assert rows == [{"id": playbook_id, "title": bundled[playbook_id].title.en,
                     "steps": len(bundled[playbook_id].steps)} for playbook_id in sorted(bundled)]
    assert all(list(row) == ["id", "title", "steps"] for row in rows)
    german = {row["id"]: row["title"] for row in json.loads(
        invoke(runner, db_path, "playbook", "list", "--json", "--lang", "de").output)}
    assert german["personal-data-breach"] == "Verletzung des Schutzes personenbezogener Daten (Art. 33/34 DSGVO)"
    text = invoke(runner, db_path, "playbook", "list").output
    assert "personal-data-breach" in text and " 14 steps  Personal data breach (GDPR Art. 33/34)" in text


def test_check_reports_every_problem_with_file_and_line(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    assert invoke(runner, db_path, "playbook", "check").output == "8 playbooks loaded, 0 problems\n"
    (tmp_path / "ok.yaml").write_text("id: ok\ntitle: OK\nversion: \"1\"\ndate: 2025-06-02\nsteps:\n"
                                      "  - {id: a, kind: manual, title: A}\n")
    (tmp_path / "broken.yaml").write_text("id: broken\ntitle: [\n")
    (tmp_path / "kind.yaml").write_text("id: kind\ntitle: K\nversion: \"1\"\ndate: 2025-06-02\nsteps:\n"
                                        "  - {id: a, kind: manual, title: A, next: b}\n"
                                        "  - {id: b, kind: shell, title: B}\n")
    result = invoke(runner, db_path, "playbook", "check", str(tmp_path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[-1] == "1 playbooks loaded, 2 problems"
    assert lines[0].startswith(f"{tmp_path / 'broken.yaml'}:3: ")
    assert lines[1] == f"{tmp_path / 'kind.yaml'}:7: unknown step kind 'shell' (known: manual, command, decision, " \
                       "parallel, playbook)"
    document = json.loads(invoke(runner, db_path, "playbook", "check", str(tmp_path), "--json").output)
    assert document["loaded"] == ["ok"]
    assert [(item["path"], item["line"]) for item in document["problems"]] == [
        (str(tmp_path / "broken.yaml"), 3), (str(tmp_path / "kind.yaml"), 7)]
    # list warns about the broken ones on stderr and lists the rest
    listed = invoke(runner, db_path, "playbook", "list", "--json", "--dir", str(tmp_path))
    assert [row["id"] for row in json.loads(listed.stdout)] == ["ok"]
    assert "warning: playbook not loaded: " in listed.stderr and "kind.yaml:7" in listed.stderr


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def test_a_personal_data_breach_worked_through(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    opened = invoke(runner, db_path, "incident", "open", "--title", "Payroll export sent to a wrong address",
                    "--category", "data-breach", "--severity", "high")
    assert opened.exit_code == 0
    assert opened.output == ("incident 1 opened: Payroll export sent to a wrong address\n"
                             "playbook proposed (category data-breach): seccenter playbook start 1 "
                             "personal-data-breach\n")
    started = invoke(runner, db_path, "playbook", "start", "1", "personal-data-breach")
    assert started.exit_code == 0
    assert started.output == ("playbook personal-data-breach started on incident 1: 0 of 14 steps finished\n"
                              "next: confirm (seccenter playbook show 1)\n")
    again = invoke(runner, db_path, "playbook", "start", "1", "personal-data-breach")
    assert again.exit_code == 1 and again.output == ("Error: playbook personal-data-breach is already started on "
                                                     "incident 1 (seccenter playbook show 1)\n")

    # before the awareness time is recorded, the 72 hours of Art. 33 have no end yet
    unknown = invoke(runner, db_path, "playbook", "show", "1", "--json")
    decision = next(step for step in json.loads(unknown.output)[0]["steps"] if step["id"] == "risk-to-persons")
    assert [branch["label"] for branch in decision["branches"]] == ["then", "else"]
    notify = decision["branches"][0]["steps"][0]
    assert (notify["id"], notify["status"]) == ("notify-authority", "waiting")
    assert (notify["due"], notify["due_rule"], notify["overdue"]) == (None, "PT72H after awareness", False)
    assert "due PT72H after awareness, which is not recorded yet (seccenter breach assess)" in \
        invoke(runner, db_path, "playbook", "show", "1", env=WIDE).output

    aware_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    assessed = invoke(runner, db_path, "breach", "assess", "1", "--aware-at", iso(aware_at), "--confidentiality",
                      "--subjects", "40", "--data-type", "financial")
    assert assessed.exit_code == 0, assessed.output

    steps = [("confirm", ["--note", "40 payslips, one recipient"]), ("inform-dpo", []), ("stop-leak", []),
             ("preserve-evidence", ["--skip", "--note", "the mail is kept by the mail server"]),
             ("risk-assessment", []), ("risk-to-persons", ["--answer", "ja"]), ("notify-authority", []),
             ("high-risk", ["--answer", "yes"]), ("art34-exception", ["--answer", "nein"]), ("notify-subjects", []),
             ("document", [])]
    for step, options in steps:
        action = [] if "--skip" in options else ["--done"]
        result = invoke(runner, db_path, "playbook", "step", "1", step, *action, *options, "--json")
        assert result.exit_code == 0, (step, result.output)
        assert json.loads(result.output)["step"] == step
    finished = json.loads(result.output)
    assert finished["status"] == "done" and finished["command"] is None
    assert finished["counts"] == {"steps": 12, "done": 11, "skipped": 1, "open": 0, "overdue": 0}

    shown = invoke(runner, db_path, "playbook", "show", "1", "--timezone", "Europe/Berlin", env=WIDE).output
    assert "personal-data-breach 1.0 · done · 12 of 12 steps finished" in shown
    assert "✓ Notify the supervisory authority" in shown and "– Keep logs and affected files as evidence" in shown
    assert "· Record why no notification is needed" in shown  # the branch not taken
    assert "risk-to-persons · decision · done · → then (yes)" in shown
    art33 = (aware_at + timedelta(hours=72)).astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z")
    assert f"due {art33}" in shown and "OVERDUE" not in shown

    # the timeline has each change, the audit log an entry for each, and the chain is intact
    timeline = json.loads(invoke(runner, db_path, "incident", "show", "1", "--json").output)["timeline"]
    texts = [entry["text"] for entry in timeline if entry["kind"] == "playbook"]
    assert texts[0] == "playbook personal-data-breach: started version 1.0 (2025-06-02); 0 of 14 steps finished"
    assert ("playbook personal-data-breach: step risk-to-persons done (Is the breach likely to result in a risk to "
            "the data subjects?), decision: then, answer yes; 7 of 13 steps finished") in texts
    assert texts[-1] == "playbook personal-data-breach: finished; 12 of 12 steps finished"
    assert len(texts) == 1 + len(steps) + 1
    with sqlite3.connect(db_path) as connection:
        actions = [row[0] for row in connection.execute(
            "SELECT action FROM audit_log WHERE object_type = 'playbook_run' ORDER BY id")]
    assert actions == (["playbook.start"] + ["playbook.step.done"] * 3 + ["playbook.step.skipped"]
                       + ["playbook.step.done"] * 7 + ["playbook.finish"])
    verified = invoke(runner, db_path, "audit", "verify")
    assert verified.exit_code == 0 and "intact" in verified.output

    # the incident report carries the progress, in German and English, Markdown, HTML and JSON
    german = invoke(runner, db_path, "report", "incident", "1", "--format", "md", "--lang", "de").output
    assert "## Playbooks" in german and "Fortschritt: 12 von 12" in german
    assert "| Führt die Verletzung voraussichtlich zu einem Risiko für die Betroffenen? | erledigt: ja |" in german
    assert "| Begründen, warum keine Meldung nötig ist | entfällt | – |  |" in german
    assert f"| Aufsichtsbehörde benachrichtigen | erledigt | {art33} |" in german
    english = invoke(runner, db_path, "report", "incident", "1", "--format", "html", "--lang", "en").output
    assert "<td>Keep logs and affected files as evidence</td><td>skipped</td>" in english
    document = json.loads(invoke(runner, db_path, "report", "incident", "1", "--format", "json").output)
    (progress,) = document["playbooks"]
    assert progress["playbook"] == "personal-data-breach" and progress["status"] == "done"
    assert progress["counts"]["done"] == 11


def test_report_before_awareness_says_the_deadline_is_not_known(runner: CliRunner, db_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "Lost laptop", "--category", "data-breach")
    invoke(runner, db_path, "playbook", "start", "1", "personal-data-breach")
    german = invoke(runner, db_path, "report", "incident", "1", "--format", "md", "--lang", "de").output
    assert "| Risiko für die Rechte und Freiheiten der Betroffenen bewerten | offen | PT48H nach Kenntnisnahme " \
           "(Zeitpunkt noch nicht erfasst) |" in german
    english = invoke(runner, db_path, "report", "incident", "1", "--format", "md", "--lang", "en").output
    assert "| Document the breach (facts, effects, remedial action) | open | P7D after awareness (not recorded " \
           "yet) |" in english


def test_incident_open_proposes_by_alert_rules(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    (tmp_path / "eicar.com").write_bytes(b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
    scanned = invoke(runner, db_path, "yara", "scan", str(tmp_path / "eicar.com"), "--json")
    assert scanned.exit_code in (0, 1), scanned.output
    alerts = json.loads(invoke(runner, db_path, "alerts", "--json").output)
    assert alerts and alerts[0]["rule_id"].startswith("yara:")
    opened = invoke(runner, db_path, "incident", "open", "--title", "EICAR", "--alert", str(alerts[0]["id"]))
    assert f"playbook proposed (rule {alerts[0]['rule_id']}): seccenter playbook start 1 yara-malware" in \
        opened.output


def command_folder(tmp_path: Path, argv: list[str], title: str = "Print the arguments") -> Path:
    folder = tmp_path / "playbooks"
    folder.mkdir(exist_ok=True)
    (folder / "cmd.yaml").write_text(
        "id: cmd\ntitle: Cmd\nversion: \"1\"\ndate: 2025-06-02\nsteps:\n"
        f"  - id: run\n    kind: command\n    title: {json.dumps(title)}\n    argv: {json.dumps(argv)}\n")
    return folder


@pytest.mark.parametrize("payload", ["x; touch {marker}", "$(touch {marker})", "`touch {marker}` && echo pwned",
                                     "'; touch {marker}; echo '", "a | tee {marker}", "> {marker}"])
def test_run_passes_incident_fields_as_one_literal_argument(runner: CliRunner, db_path: Path, tmp_path: Path,
                                                             payload: str) -> None:
    marker = tmp_path / "injected"
    title = payload.format(marker=marker)
    folder = command_folder(tmp_path, [sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))",
                                       "{incident.title}", "--id={incident.id}"])
    invoke(runner, db_path, "incident", "open", "--title", title)
    assert invoke(runner, db_path, "playbook", "start", "1", "cmd", "--dir", str(folder)).exit_code == 0
    result = invoke(runner, db_path, "playbook", "step", "1", "run", "--run", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["command"]["exit_code"] == 0 and document["status"] == "done"
    assert json.loads(document["command"]["output"]) == [title, "--id=1"]
    assert document["command"]["argv"][-2:] == [title, "--id=1"]
    assert not marker.exists()


def test_a_failing_command_exits_1_and_the_step_stays_open(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    folder = command_folder(tmp_path, [sys.executable, "-c", "import os, sys; print(os.environ['SECCENTER_DB']); "
                                                             "sys.exit(4)"])
    invoke(runner, db_path, "incident", "open", "--title", "x")
    invoke(runner, db_path, "playbook", "start", "1", "cmd", "--dir", str(folder))
    result = invoke(runner, db_path, "playbook", "step", "1", "run", "--run")
    assert result.exit_code == 1
    assert result.output == (f"{db_path.resolve()}\nstep run: open; 0 of 1 steps finished\n"
                             "Error: step run: the command failed (exit code 4); the step stays open\n")
    assert invoke(runner, db_path, "playbook", "step", "1", "run", "--done", "--note", "done by hand").exit_code == 0


def test_hostile_text_in_playbooks_and_notes_is_shown_as_data(runner: CliRunner, db_path: Path,
                                                               tmp_path: Path) -> None:
    folder = command_folder(tmp_path, ["true"], title=HOSTILE)
    invoke(runner, db_path, "incident", "open", "--title", HOSTILE)
    invoke(runner, db_path, "playbook", "start", "1", "cmd", "--dir", str(folder))
    shown = invoke(runner, db_path, "playbook", "show", "1", env=WIDE)
    assert shown.exit_code == 0
    assert "\x1b" not in shown.output and "\x07" not in shown.output and "\x9b" not in shown.output
    assert "[bold red]markup[/bold red]" in shown.output and "\\x1b[2J" in shown.output
    invoke(runner, db_path, "playbook", "step", "1", "run", "--skip", "--note", HOSTILE)
    shown = invoke(runner, db_path, "playbook", "show", "1", env=WIDE).output
    assert shown.count("[bold red]markup[/bold red]") == 2 and "\x1b" not in shown
    listed = invoke(runner, db_path, "playbook", "list", "--dir", str(folder)).output
    assert "\x1b" not in listed
    failed = invoke(runner, db_path, "playbook", "step", "1", HOSTILE, "--done")
    assert failed.exit_code == 1 and "\x1b" not in failed.output and "[bold red]" in failed.output


def test_step_errors_and_usage(runner: CliRunner, db_path: Path) -> None:
    invoke(runner, db_path, "incident", "open", "--title", "x")
    assert invoke(runner, db_path, "playbook", "show", "1").output == (
        "no playbook started on incident 1 (seccenter playbook start 1 PLAYBOOK)\n")
    assert invoke(runner, db_path, "playbook", "show", "1", "--json").output == "[]\n"
    invoke(runner, db_path, "playbook", "start", "1", "phishing")
    usage = invoke(runner, db_path, "playbook", "step", "1", "report")
    assert usage.exit_code == 2 and "say what happened: --done, --skip or --run" in usage.output
    unknown = invoke(runner, db_path, "playbook", "start", "1", "ghost")
    assert unknown.exit_code == 1 and unknown.output.startswith("Error: no playbook 'ghost' (known: ")
    missing = invoke(runner, db_path, "playbook", "show", "9")
    assert (missing.exit_code, missing.output) == (1, "Error: no incident 9\n")


def test_export_and_import_cacao(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    exported = invoke(runner, db_path, "playbook", "export", "--format", "cacao", "ransomware")
    assert exported.exit_code == 0 and json.loads(exported.output)["spec_version"] == "cacao-2.0"
    target = tmp_path / "ransomware.json"
    written = invoke(runner, db_path, "playbook", "export", "--format", "cacao", "ransomware", "-o", str(target))
    assert written.exit_code == 0 and target.read_text(encoding="utf-8") == exported.output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    folder = tmp_path / "imported"
    folder.mkdir()
    imported = invoke(runner, db_path, "playbook", "import", str(target), "-o", str(folder / "back.yaml"))
    assert imported.exit_code == 0 and imported.output == f"wrote {folder / 'back.yaml'}\n"
    # ransomware calls the breach playbook, which must be beside it
    (folder / "breach.yaml").write_bytes((playbooks_dir() / "personal-data-breach.yaml").read_bytes())
    assert invoke(runner, db_path, "playbook", "check", str(folder)).exit_code == 0
    again = invoke(runner, db_path, "playbook", "export", "--format", "cacao", "ransomware", "--dir", str(folder))
    assert again.output == exported.output  # export → import → export through the CLI, byte for byte
    assert invoke(runner, db_path, "playbook", "export", "--format", "cacao", "ghost").exit_code == 1
    assert invoke(runner, db_path, "playbook", "export", "--format", "stix", "ransomware").exit_code == 2


def test_import_of_unknown_step_types_and_garbage_fails_clearly(runner: CliRunner, db_path: Path,
                                                                tmp_path: Path) -> None:
    document = json.loads(invoke(runner, db_path, "playbook", "export", "--format", "cacao", "phishing").output)
    step_id = next(key for key, step in document["workflow"].items() if step["type"] == "action")
    document["workflow"][step_id]["type"] = "while-condition"
    path = tmp_path / "loop.json"
    path.write_text(json.dumps(document))
    result = invoke(runner, db_path, "playbook", "import", str(path))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: step {step_id} (")
    assert result.output.endswith("has type 'while-condition', which seccenter cannot import (supported: start, end, "
                                  "action, if-condition, parallel, playbook-action)\n")
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(b"\xff\xfe{not json")
    result = invoke(runner, db_path, "playbook", "import", str(garbage))
    assert result.exit_code == 1 and result.output.startswith(f"Error: {garbage}: not JSON")
    out = tmp_path / "never.yaml"
    invoke(runner, db_path, "playbook", "import", str(path), "-o", str(out))
    assert not out.exists()
