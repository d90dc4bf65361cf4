"""ropa, asset, dpia and report on the command line: exit codes, messages, --json shapes, files, escaping;
alert → asset → processing activity through a real SQLite file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.privacy.monitoring import MONITORING_ID
from seccenter.resources import examples

REGISTER = examples() / "town-hall-register.yaml"
AUTH = ("Nov  3 10:00:01 rathaus-db01 sshd[1234]: Failed password for root from 203.0.113.7 port 51234 ssh2\n"
        "Nov  3 10:00:02 elsewhere sshd[1235]: Failed password for root from 203.0.113.7 port 51235 ssh2\n")


def run(runner: CliRunner, db: Path, *args: str, input: str | None = None):
    return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False, input=input)


@pytest.fixture
def imported(runner: CliRunner, db_path: Path) -> Path:
    result = run(runner, db_path, "ropa", "import", str(REGISTER), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"processing_activities": 6, "processors": 1, "assets": 7, "warnings": 0}
    return db_path


def test_first_use_creates_the_monitoring_record(runner: CliRunner, db_path: Path) -> None:
    listed = json.loads(run(runner, db_path, "ropa", "list", "--json").output)
    assert [a["id"] for a in listed["processing_activities"]] == [MONITORING_ID]
    monitoring = json.loads(run(runner, db_path, "ropa", "show", MONITORING_ID, "--json").output)
    assert "90 days" in monitoring["retention"] and monitoring["legal_basis"][0].startswith("Art. 6(1)(e)")


def test_import_list_show_validate(runner: CliRunner, imported: Path) -> None:
    listed = json.loads(run(runner, imported, "ropa", "list", "--json").output)
    assert [a["id"] for a in listed["processing_activities"]] == ["VT-001", "VT-002", "VT-003", "VT-004", "VT-005",
                                                                  MONITORING_ID]
    assert listed["processors"][0]["id"] == "AV-001"
    shown = json.loads(run(runner, imported, "ropa", "show", "VT-004", "--json").output)
    assert shown["systems"] == ["bauhof-nvr01"] and shown["retention"].startswith("72 hours")
    valid = run(runner, imported, "ropa", "validate", "--as-of", "2026-11-25", "--json")
    assert valid.exit_code == 0 and json.loads(valid.output) == {"records": 7, "failed": [], "findings": []}
    stale = run(runner, imported, "ropa", "validate", "--as-of", "2027-06-01", "--json")
    assert stale.exit_code == 1
    assert "VT-003" in json.loads(stale.output)["failed"]
    missing = run(runner, imported, "ropa", "show", "VT-999")
    assert missing.exit_code == 1 and "no processing activity or processor record 'VT-999'" in missing.output


def test_validate_a_file_lists_findings_with_articles_and_exits_1(runner: CliRunner, db_path: Path,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("processing_activities:\n  - id: VT-1\n    name: CCTV\n    special_categories: [health]\n"
                    "    third_country_transfers: [{country: US}]\n")
    result = run(runner, db_path, "ropa", "validate", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["failed"] == ["VT-1"]
    articles = {finding["article"] for finding in report["findings"]}
    assert {"Art. 30(1)(a)", "Art. 9(2)", "Art. 30(1)(e), Art. 44-49", "Art. 30(1)(f), Art. 5(1)(e)",
            "Art. 30(1)(g), Art. 32(1)"} <= articles
    table = run(runner, db_path, "ropa", "validate", str(path))
    assert "Art. 9(2)" in table.output and "1 failed" in table.output


def test_import_errors_are_all_listed_with_lines_and_nothing_is_imported(runner: CliRunner, db_path: Path,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("processing_activities:\n  - id: VT-1\n    purposes: x\n    colour: red\n  - id: VT-2\n"
                    "    last_reviewed: soon\n")
    result = run(runner, db_path, "ropa", "import", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}:3: processing_activities[0] (VT-1).purposes: must be a list of text" in result.output
    assert f"{path}:6: processing_activities[1] (VT-2).last_reviewed: must be a date" in result.output
    assert f"warning: {path}:4: processing_activities[0] (VT-1).colour: unknown key (ignored)" in result.output
    listed = json.loads(run(runner, db_path, "ropa", "list", "--json").output)
    assert [a["id"] for a in listed["processing_activities"]] == [MONITORING_ID]
    dupes = tmp_path / "dupes.yaml"
    dupes.write_text("processing_activities:\n  - id: VT-1\n    id: VT-2\n")
    refused = run(runner, db_path, "ropa", "import", str(dupes))
    assert refused.exit_code == 1 and f"{dupes}:3: duplicate key 'id'" in refused.output


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_export_import_round_trip_through_the_store(runner: CliRunner, imported: Path, tmp_path: Path,
                                                    fmt: str) -> None:
    exported = tmp_path / f"register.{fmt}"
    assert run(runner, imported, "ropa", "export", "-o", str(exported)).exit_code == 0
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    other = tmp_path / "other.db"
    assert run(runner, other, "ropa", "import", str(exported)).exit_code == 0
    again = tmp_path / f"again.{fmt}"
    run(runner, other, "ropa", "export", "-o", str(again))
    assert again.read_text() == exported.read_text()


def test_add_from_options_and_file_then_replace(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    added = run(runner, db_path, "ropa", "add", "--id", "VT-9", "--name", "Dog licences", "--purpose", "Dog tax",
                "--legal-basis", "Art. 6(1)(e) with the dog tax statute", "--special-category", "health")
    assert added.exit_code == 0 and "added processing activity VT-9" in added.output and "findings" in added.output
    again = run(runner, db_path, "ropa", "add", "--id", "VT-9")
    assert again.exit_code == 1 and "already in the register (use --replace)" in again.output
    wrong = run(runner, db_path, "ropa", "add", "--id", "VT-8", "--special-category", "gossip")
    assert wrong.exit_code == 1 and "'gossip' is not one of" in wrong.output
    path = tmp_path / "one.yaml"
    path.write_text("id: VT-9\nname: Dog licences (new)\n")
    replaced = run(runner, db_path, "ropa", "add", "--from", str(path), "--replace")
    assert replaced.exit_code == 0
    assert json.loads(run(runner, db_path, "ropa", "show", "VT-9", "--json").output)["name"] == "Dog licences (new)"
    both = run(runner, db_path, "ropa", "add", "--from", str(path), "--name", "x")
    assert both.exit_code == 2


def test_assets_add_list_link(runner: CliRunner, imported: Path) -> None:
    added = run(runner, imported, "asset", "add", "kita-pc1", "--hostname", "kita-pc1", "--address", "10.50.0.0/24",
                "--criticality", "medium", "--activity", "VT-005")
    assert added.exit_code == 0 and "linked to VT-005" in added.output
    assets = {a["id"]: a for a in json.loads(run(runner, imported, "asset", "list", "--json").output)}
    assert assets["kita-pc1"]["processing_activities"] == ["VT-005"]
    assert assets["rathaus-db01"]["processing_activities"] == ["VT-001", "VT-002"]
    assert run(runner, imported, "asset", "link", "kita-pc1", "VT-004").exit_code == 0
    assert run(runner, imported, "asset", "link", "kita-pc1", "VT-005", "--unlink").exit_code == 0
    shown = json.loads(run(runner, imported, "ropa", "show", "VT-004", "--json").output)
    assert shown["systems"] == ["bauhof-nvr01", "kita-pc1"]
    assert json.loads(run(runner, imported, "ropa", "show", "VT-005", "--json").output)["systems"] == ["schule-srv02"]
    bad = run(runner, imported, "asset", "add", "x", "--address", "10.0.0.1/24")
    assert bad.exit_code == 1 and "host bits set" in bad.output
    assert run(runner, imported, "asset", "link", "nope", "VT-004").exit_code == 1
    assert run(runner, imported, "asset", "add", "y", "--activity", "VT-404").exit_code == 1


def test_alerts_name_the_assets_and_personal_data_at_stake(runner: CliRunner, imported: Path,
                                                           tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text(AUTH)
    assert run(runner, imported, "ingest", str(log), "--year", "2026").exit_code == 0
    alerts = json.loads(run(runner, imported, "alerts", "--json").output)
    by_host = {alert["fields"]["host"]: alert for alert in alerts}
    on_db = by_host["rathaus-db01"]
    assert [(a["id"], a["matched"]) for a in on_db["assets"]] == [("rathaus-db01", {"field": "host",
                                                                                    "value": "rathaus-db01"})]
    activities = {a["id"]: a for a in on_db["processing_activities"]}
    assert set(activities) == {"VT-001", "VT-002"}
    assert activities["VT-001"]["special_categories"] == ["religious_beliefs"]
    assert "Residents of the city" in activities["VT-001"]["data_subjects"]
    assert by_host["elsewhere"]["assets"] == [] and by_host["elsewhere"]["processing_activities"] == []
    assert {"rule_id", "rule_title", "level", "fields", "origin"} <= set(on_db)


def test_dpia_screen_json_shape_and_criteria(runner: CliRunner, imported: Path) -> None:
    result = run(runner, imported, "dpia", "screen", "VT-002", "--criteria", "large_scale,matching_datasets",
                 "--json")
    screening = json.loads(result.output)
    assert list(screening) == ["activity", "dpia_required", "criteria", "reasons"]
    assert screening["activity"] == "VT-002" and screening["dpia_required"] is True
    assert screening["criteria"] == ["sensitive_data", "large_scale", "matching_datasets"]
    assert any("WP248" in reason for reason in screening["reasons"])
    plain = json.loads(run(runner, imported, "dpia", "screen", "VT-002", "--json").output)
    assert plain["dpia_required"] is False
    wrong = run(runner, imported, "dpia", "screen", "VT-002", "--criteria", "vibes")
    assert wrong.exit_code == 2 and "unknown criteria 'vibes'" in wrong.output
    assert run(runner, imported, "dpia", "screen", "VT-404").exit_code == 1
    table = run(runner, imported, "dpia", "screen", "VT-004")
    assert "DPIA required" in table.output and "systematic_monitoring" in table.output


def test_dpia_create_show_and_report(runner: CliRunner, imported: Path, tmp_path: Path) -> None:
    created = run(runner, imported, "dpia", "create", "VT-004", "--from", str(examples() / "dpia-cctv-depot.yaml"))
    assert created.exit_code == 0 and created.output.startswith("created DPIA-0001 for VT-004")
    draft = run(runner, imported, "dpia", "create", "VT-005")
    assert "created DPIA-0002" in draft.output
    shown = json.loads(run(runner, imported, "dpia", "show", "DPIA-0001", "--json").output)
    assert shown["activity"] == "VT-004" and shown["assessed"] is True and shown["prior_consultation"] is False
    assert [risk["level"] for risk in shown["risks"]] == ["medium", "medium", "low"]
    assert shown["screening"]["dpia_required"] is True
    assert "no high residual risk" in run(runner, imported, "dpia", "show", "DPIA-0001").output
    assert run(runner, imported, "dpia", "show", "DPIA-0404").exit_code == 1
    out = tmp_path / "dsfa.html"
    report = run(runner, imported, "report", "dpia", "--id", "DPIA-0001", "--format", "html", "--lang", "de",
                 "-o", str(out))
    assert report.exit_code == 0 and stat.S_IMODE(out.stat().st_mode) == 0o600
    page = out.read_text()
    assert "Datenschutz-Folgenabschätzung" in page and "Videoüberwachung Bauhof" in page
    rows = run(runner, imported, "report", "dpia", "--format", "csv", "--lang", "en").output.splitlines()
    assert rows[0] == "Identifier,Processing activity,Feared event,Severity,Likelihood,Risk,Measures,Residual risk"
    assert len(rows) == 7
    assert run(runner, imported, "report", "dpia", "--id", "DPIA-0404").exit_code == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("risks: [{event: meteor}]\n")
    refused = run(runner, imported, "dpia", "create", "VT-004", "--from", str(bad))
    assert refused.exit_code == 1 and f"{bad}:1: dpia.risks[0].event: 'meteor' is not one of" in refused.output


@pytest.mark.parametrize(("fmt", "lang", "expected"), [
    ("md", "de", "# Verzeichnis von Verarbeitungstätigkeiten"), ("md", "en", "# Records of processing activities"),
    ("html", "de", "<h1>Verzeichnis von Verarbeitungstätigkeiten</h1>"), ("json", "en", '"report": "ropa"'),
    ("csv", "de", "Verzeichnis,Kennung,Bezeichnung der Verarbeitungstätigkeit,Verantwortlicher"),
])
def test_report_ropa_formats_and_languages(runner: CliRunner, imported: Path, fmt: str, lang: str,
                                           expected: str) -> None:
    result = run(runner, imported, "report", "ropa", "--format", fmt, "--lang", lang)
    assert result.exit_code == 0 and expected in result.output


def test_report_refuses_to_write_through_a_symlink(runner: CliRunner, imported: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "report.html"
    os.symlink(victim, link)
    result = run(runner, imported, "report", "ropa", "--format", "html", "-o", str(link))
    assert result.exit_code == 1 and "symbolic link" in result.output and victim.read_text() == "keep"
    exported = run(runner, imported, "ropa", "export", "-o", str(link))
    assert exported.exit_code == 1 and victim.read_text() == "keep"


def test_hostile_names_are_shown_literally(runner: CliRunner, db_path: Path) -> None:
    hostile = "[red]boom[/red] \x1b[2J<script>x</script>"
    assert run(runner, db_path, "ropa", "add", "--id", "VT-[bold]1", "--name", hostile).exit_code == 0
    for args in (("ropa", "list"), ("ropa", "show", "VT-[bold]1"), ("ropa", "validate")):
        output = run(runner, db_path, *args).output
        assert "\x1b" not in output, args
    shown = run(runner, db_path, "ropa", "show", "VT-[bold]1").output
    assert "[red]boom[/red]" in shown and "\\x1b[2J" in shown
    page = run(runner, db_path, "report", "ropa", "--format", "html", "--lang", "en").output
    assert "<script>x" not in page and "&lt;script&gt;" in page
    assert run(runner, db_path, "asset", "add", "[blink]a", "--name", hostile).exit_code == 0
    assert "\x1b" not in run(runner, db_path, "asset", "list").output


def test_demo_loads_the_sample_register(runner: CliRunner, db_path: Path) -> None:
    result = run(runner, db_path, "demo")
    assert result.exit_code == 0
    assert "GDPR register (town-hall-register.yaml): 6 processing activities, 7 assets" in result.output
    assert "seccenter triage" in result.output
    assert len(json.loads(run(runner, db_path, "asset", "list", "--json").output)) == 7


def test_examples_are_found_where_the_wheel_puts_them() -> None:
    import seccenter.resources as resources

    assert (resources.examples() / "town-hall-register.yaml").is_file()
    assert (resources.report_templates() / "ropa.html.j2").is_file()
    assert resources.examples() in (resources._PACKAGE / "_data" / "examples", resources._PACKAGE.parent / "examples")
