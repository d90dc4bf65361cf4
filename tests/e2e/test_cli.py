"""The command line as scripts and analysts use it: exit codes, messages, --json shapes."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.resources import sigma_rules

FAILED_ROOT = "Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.7 port 51234 ssh2\n"
SQLI = ('198.51.100.7 - - [24/Nov/2026:09:12:01 +0100] '
        '"GET /api/v1/user?id=1%20UNION%20SELECT%20password%20FROM%20users HTTP/1.1" '
        '200 512 "-" "sqlmap/1.7.2#stable (https://sqlmap.org)"\n')


def invoke(runner: CliRunner, db: Path, *args: str):
    return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, prefix + name + " "))
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(main))
def test_every_command_has_help_with_an_example(name: str, command: click.Command) -> None:
    assert command.help, f"{name} has no help"
    if not isinstance(command, click.Group):
        assert "Example: seccenter" in command.help, f"{name} help has no example"


def test_demo_shows_alerts_and_leaves_no_database_behind(runner: CliRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["demo"], catch_exceptions=False, env={"SECCENTER_DB": None})
    assert result.exit_code == 0, result.output
    assert "seccenter triage" in result.output and "Top rules" in result.output
    assert "SQL Injection" in result.output
    assert list(tmp_path.iterdir()) == []


def test_demo_with_db_keeps_its_results(runner: CliRunner, db_path: Path) -> None:
    assert invoke(runner, db_path, "demo").exit_code == 0
    alerts = json.loads(invoke(runner, db_path, "alerts", "--json").output)
    assert len(alerts) > 10
    assert {"rule_id", "rule_title", "level", "tags", "time", "fields", "origin"} <= set(alerts[0])


def test_ingest_json_summary_and_incremental_rerun(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(FAILED_ROOT * 2 + "not syslog at all\n")
    first = invoke(runner, db_path, "ingest", str(log), "--json", "--year", "2026")
    assert first.exit_code == 0
    summary = json.loads(first.output)
    assert (summary["new_events"], summary["malformed"], summary["errors"]) == (2, 1, [])
    assert summary["alerts"] >= 2
    second = json.loads(invoke(runner, db_path, "ingest", str(log), "--json").output)
    assert (second["new_events"], second["alerts"]) == (0, 0)


def test_ingest_exits_1_only_when_nothing_could_be_read(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    missing = invoke(runner, db_path, "ingest", str(tmp_path / "nope.log"))
    assert missing.exit_code == 1
    assert "nothing could be read" in missing.output and "no such file or directory" in missing.output
    assert "Traceback" not in missing.output
    log = tmp_path / "auth.log"
    log.write_text(FAILED_ROOT)
    partly = invoke(runner, db_path, "ingest", str(log), str(tmp_path / "nope.log"))
    assert partly.exit_code == 0


def test_ingest_a_directory_as_db_is_a_user_error(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(FAILED_ROOT)
    result = runner.invoke(main, ["--db", str(tmp_path), "triage"])
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output


def test_ten_megabyte_line_is_quarantined_and_the_rest_read(runner: CliRunner, db_path: Path,
                                                            tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_bytes(FAILED_ROOT.encode() + b"A" * (10 << 20) + b"\n" + FAILED_ROOT.encode())
    summary = json.loads(invoke(runner, db_path, "ingest", str(log), "--json").output)
    assert (summary["new_events"], summary["malformed"]) == (2, 1)
    assert "longer than" in next(iter(summary["sources"][0]["malformed_reasons"]))


def test_hostile_text_is_shown_literally(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    hostile_user = "[bold]x[/bold]\x1b[2J\x1b]0;pwn\x07"
    log.write_text(f"Nov  3 10:00:01 srv01 sshd[1]: Failed password for invalid user {hostile_user} from "
                   "203.0.113.7 port 1 ssh2\n")
    assert invoke(runner, db_path, "ingest", str(log)).exit_code == 0
    for command in ("triage", "alerts"):
        screen = runner.invoke(main, ["--db", str(db_path), command], env={"COLUMNS": "250"}).output
        assert "\x1b" not in screen and "\x07" not in screen
        assert "[bold]x[/bold]\\x1b[2J\\x1b]0;pwn\\x07" in screen


def test_detect_prints_one_json_alert_per_line(runner: CliRunner, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(SQLI)
    result = runner.invoke(main, ["detect", "--rules", str(sigma_rules()), str(log), "--format", "jsonl"],
                           catch_exceptions=False)
    assert result.exit_code == 0
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    titles = {alert["rule_title"] for alert in alerts}
    assert any("SQL" in title for title in titles) and any("Scanner" in title for title in titles)
    first = alerts[0]
    assert {"rule_id", "rule_title", "level", "tags", "time", "fields", "origin"} <= set(first)
    assert first["origin"] == {"path": str(log), "line": 1, "offset": 0}
    assert first["fields"]["c-ip"] == "198.51.100.7"
    table = runner.invoke(main, ["detect", "--rules", str(sigma_rules()), str(log), "--format", "table"])
    assert table.exit_code == 0 and "198.51.100.7" in table.stdout


def test_detect_with_unloadable_rules_is_a_user_error(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("title: [\n")
    log = tmp_path / "auth.log"
    log.write_text(FAILED_ROOT)
    result = runner.invoke(main, ["detect", "--rules", str(tmp_path / "bad.yml"), str(log)])
    assert result.exit_code == 1
    assert "bad.yml:2" in result.output and "no Sigma rule could be loaded" in result.output


def test_rules_check_reports_file_line_and_reason(runner: CliRunner, tmp_path: Path) -> None:
    good = runner.invoke(main, ["rules", "check", str(sigma_rules()), "--json"])
    assert good.exit_code == 0
    assert json.loads(good.output)["loaded"] >= 12 and json.loads(good.output)["failed"] == []
    bad = tmp_path / "bad.yml"
    bad.write_text("title: t\nid: 1b4d4ad0-3c3c-4c4c-8d8d-1e1e1e1e1e1e\nlogsource:\n  product: linux\n"
                   "detection:\n  sel:\n    user|nosuchmod: root\n  condition: sel\n")
    result = runner.invoke(main, ["rules", "check", str(bad), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output) == {"loaded": 0, "failed": [
        {"path": str(bad), "line": 7, "reason": "Unknown modifier 'nosuchmod'"}]}
    text = runner.invoke(main, ["rules", "check", str(bad)])
    assert text.exit_code == 1 and "bad.yml:7" in text.output and "nosuchmod" in text.output


def test_alerts_filters_by_level_and_rejects_bad_since(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(SQLI)
    invoke(runner, db_path, "ingest", str(log))
    every = json.loads(invoke(runner, db_path, "alerts", "--json").output)
    high = json.loads(invoke(runner, db_path, "alerts", "--json", "--level", "high").output)
    assert every and all(alert["level"] in ("high", "critical") for alert in high)
    assert len(high) < len(every) or {a["level"] for a in every} <= {"high", "critical"}
    assert json.loads(invoke(runner, db_path, "alerts", "--json", "--since", "2026-11-24T00:00:00+00:00").output)
    bad = runner.invoke(main, ["--db", str(db_path), "alerts", "--since", "yesterday-ish"])
    assert bad.exit_code == 2 and "neither a duration" in bad.output


def test_triage_json_counts(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(FAILED_ROOT * 3)
    invoke(runner, db_path, "ingest", str(log))
    summary = json.loads(invoke(runner, db_path, "triage", "--json").output)
    assert summary["events"] == 3
    assert summary["top_sources"][0]["source_ip"] == "203.0.113.7"
    assert summary["by_level"]["medium"] + summary["by_level"]["high"] >= 3
    assert summary["total"] == sum(summary["by_level"].values())
