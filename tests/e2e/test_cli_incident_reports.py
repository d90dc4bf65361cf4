"""seccenter report breach|incident: the Art. 33 / 34 drafts and the incident report in md, html and json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main

HOSTILE = "<script>alert(1)</script> [click](javascript:alert(1)) \x1b[31m# heading"
REGISTER = """\
processing_activities:
  - id: VT-007
    name: School portal
    controller: {name: City of Example, contact: rathaus@city.example}
    dpo: {name: Data Protection Officer, contact: dsb@city.example}
    data_subjects: [pupils]
    data_subjects_count: 4200
    data_categories: [contact details]
    special_categories: [health]
    legal_basis: ["Art. 6(1)(e)", "Art. 9(2)(g)"]
    systems: [srv01]
assets:
  - id: srv01
    hostname: srv01
"""
LINE = "Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.7 port 51234 ssh2\n"


def invoke(runner: CliRunner, db: Path, *args: str):
    return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)


@pytest.fixture
def assessed(runner: CliRunner, db_path: Path, tmp_path: Path) -> Path:
    (tmp_path / "register.yaml").write_text(REGISTER)
    (tmp_path / "auth.log").write_text(LINE)
    assert invoke(runner, db_path, "ropa", "import", str(tmp_path / "register.yaml")).exit_code == 0
    assert invoke(runner, db_path, "ingest", str(tmp_path / "auth.log"), "--year", "2026", "--timezone",
                  "UTC").exit_code == 0
    invoke(runner, db_path, "incident", "open", "--title", HOSTILE, "--alert", "1")
    invoke(runner, db_path, "incident", "note", "1", HOSTILE)
    result = invoke(runner, db_path, "breach", "assess", "1", "--aware-at", "2026-11-04T10:00", "--confidentiality")
    assert result.exit_code == 0, result.output
    return db_path


def test_breach_draft_in_german_has_the_art_33_3_content(runner: CliRunner, assessed: Path) -> None:
    text = invoke(runner, assessed, "report", "breach", "1", "--lang", "de").output
    for heading in ("a) Art der Verletzung", "b) Name und Kontaktdaten des Datenschutzbeauftragten",
                    "c) Wahrscheinliche Folgen", "d) Ergriffene oder vorgeschlagene Maßnahmen",
                    "Benachrichtigung der betroffenen Personen (Art. 34 DSGVO)", "Was ist geschehen?"):
        assert heading in text
    assert "Data Protection Officer (dsb@city.example)" in text and "City of Example" in text
    assert "4200" in text and "health" in text and "School portal" in text
    assert "2026-11-07T10:00:00+01:00" in text  # 72 hours after awareness, Berlin time
    assert "<script>" not in text and "\\<script\\>" in text and "\x1b" not in text


def test_breach_draft_in_english_html_is_escaped(runner: CliRunner, assessed: Path, tmp_path: Path) -> None:
    out = tmp_path / "notification.html"
    result = invoke(runner, assessed, "report", "breach", "1", "--format", "html", "--lang", "en", "-o", str(out))
    assert result.exit_code == 0
    html = out.read_text()
    assert "(a) Nature of the breach" in html and "Communication to the data subjects (Art. 34 GDPR)" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "\x1b" not in html
    assert out.stat().st_mode & 0o777 == 0o600


def test_breach_json_and_no_communication_when_not_required(runner: CliRunner, assessed: Path) -> None:
    invoke(runner, assessed, "breach", "assess", "1", "--aware-at", "2026-11-04T10:00", "--confidentiality",
           "--encrypted")
    document = json.loads(invoke(runner, assessed, "report", "breach", "1", "--format", "json").output)
    assert document["report"] == "breach" and document["assessment"]["notify_subjects"] is False
    assert document["contacts"]["dpos"] == [{"name": "Data Protection Officer", "contact": "dsb@city.example"}]
    text = invoke(runner, assessed, "report", "breach", "1", "--lang", "en").output
    assert "A communication to the data subjects is not required." in text


def test_incident_report_with_timeline(runner: CliRunner, assessed: Path) -> None:
    for fmt in ("md", "html"):
        text = invoke(runner, assessed, "report", "incident", "1", "--format", fmt, "--lang", "en").output
        assert "Security incident report" in text and "Timeline" in text and "Notify the supervisory" in text
        assert "<script>alert" not in text and "\x1b" not in text
    document = json.loads(invoke(runner, assessed, "report", "incident", "1", "--format", "json").output)
    assert [entry["kind"] for entry in document["timeline"]][:2] == ["event", "alert"]
    assert document["obligations"][0]["obligation"] == "art33_authority"


def test_reports_of_unknown_or_unassessed_incidents(runner: CliRunner, db_path: Path) -> None:
    assert invoke(runner, db_path, "report", "breach", "4").output == "Error: no incident 4\n"
    invoke(runner, db_path, "incident", "open", "--title", "x")
    result = invoke(runner, db_path, "report", "breach", "1")
    assert result.exit_code == 1 and "has not been assessed" in result.output
    text = invoke(runner, db_path, "report", "incident", "1", "--lang", "de").output
    assert "nicht als Datenschutzverletzung bewertet" in text
    assert invoke(runner, db_path, "report", "incident", "1", "--format", "csv").exit_code == 2
