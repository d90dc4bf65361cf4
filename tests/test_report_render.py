"""Documents: the register and DPIAs in German and English, every user text escaped for its format, files
written private and atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest

from seccenter.privacy.dpia import DpiaContent, Risk, new_dpia
from seccenter.privacy.dpia_lists import DSK_LIST
from seccenter.privacy.records import Contact
from seccenter.privacy.register_io import read_register
from seccenter.privacy.ropa import ProcessingActivity, Register
from seccenter.report.i18n import TERMS
from seccenter.report.output import OutputError, write_private
from seccenter.report.render import Document, md, render
from seccenter.resources import examples

EVIL = "[red]x[/red] \x1b[31mANSI <script>alert(1)</script> *bold* | pipe"


def ropa_document(register: Register) -> Document:
    return Document(kind="ropa", context={"activities": register.processing_activities,
                                          "processors": register.processors,
                                          "assets": {asset.id: asset for asset in register.assets}},
                    data={"report": "ropa"}, csv_header=("field.id", "field.name"),
                    csv_rows=[[a.id, a.name] for a in register.processing_activities])


def sample() -> Register:
    return read_register(examples() / "town-hall-register.yaml").register


GERMAN_TERMS = ("Verzeichnis von Verarbeitungstätigkeiten", "Verantwortlicher", "Auftragsverarbeiter",
                "Zwecke der Verarbeitung", "Kategorien betroffener Personen", "Kategorien von Empfängern",
                "Vorgesehene Fristen für die Löschung", "Technische und organisatorische Maßnahmen",
                "Datenschutzbeauftragter", "Gesundheitsdaten")


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_register_in_german_uses_the_dsgvo_terms(fmt: str) -> None:
    document = render(ropa_document(sample()), fmt, "de")
    for term in GERMAN_TERMS:
        assert term in document, term
    assert "Art. 30 Abs. 1 DSGVO" in document and "VT-005" in document


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_register_in_english(fmt: str) -> None:
    document = render(ropa_document(sample()), fmt, "en")
    for term in ("Records of processing activities", "Controller", "Purposes of the processing",
                 "Categories of data subjects", "Time limits for erasure", "Art. 30(1) GDPR", "data concerning health"):
        assert term in document, term
    assert "Verantwortlicher" not in document


def test_html_is_printable_and_escapes_names() -> None:
    register = Register(processing_activities=(ProcessingActivity(
        id="VT-1", name=EVIL, controller=Contact(EVIL, "<b>mail</b>"), purposes=(EVIL,)),))
    page = render(ropa_document(register), "html", "en")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\\x1b[31mANSI" in page
    assert "<b>mail</b>" not in page
    assert "@media print" in page and "@page" in page and 'lang="en"' in page


def test_markdown_escapes_markup_in_user_text() -> None:
    register = Register(processing_activities=(ProcessingActivity(id="VT-1", name=EVIL, purposes=("# heading",
                                                                                                  "1. item")),))
    document = render(ropa_document(register), "md", "en")
    assert "\\<script\\>" in document and "\\[red\\]" in document and "\\*bold\\*" in document
    assert "\\| pipe" in document and "\x1b" not in document
    assert "  - \\# heading" in document and "  - 1\\. item" in document
    assert md("a_b") == "a\\_b" and md("line\nbreak") == "line break"


def test_csv_report_neutralises_formulas_and_translates_the_header() -> None:
    register = Register(processing_activities=(ProcessingActivity(id="=1+1", name="@SUM(A1)"),
                                               ProcessingActivity(id="-2", name="+x")))
    rows = list(csv.reader(io.StringIO(render(ropa_document(register), "csv", "de"))))
    assert rows == [["Kennung", "Bezeichnung der Verarbeitungstätigkeit"], ["'=1+1", "'@SUM(A1)"], ["'-2", "'+x"]]


def test_json_report_is_the_data() -> None:
    assert json.loads(render(ropa_document(sample()), "json", "de")) == {"report": "ropa"}


def dpia_document(lang_free_risks: tuple[Risk, ...]) -> Document:
    activity = ProcessingActivity(id="VT-4", name="CCTV <depot>", data_subjects=("Employees",),
                                  purposes=("Video surveillance",), special_categories=("health",),
                                  data_subjects_count=20_000)
    dpia = new_dpia("DPIA-0001", activity, DpiaContent(description="line one\nline <two>", risks=lang_free_risks))
    return Document(kind="dpia", context={"dpias": [dpia], "activities": {"VT-4": activity},
                                          "dsk": {item.number: item.summary for item in DSK_LIST}},
                    data={"dpias": [dpia.to_dict()]})


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_dpia_in_german_and_english(fmt: str) -> None:
    high = (Risk("illegitimate_access", severity=4, likelihood=4, measures=("Encryption",)),)
    german = render(dpia_document(high), fmt, "de")
    for term in ("Datenschutz-Folgenabschätzung", "Schwellwertanalyse", "Systematische Überwachung",
                 "Bewertung der Notwendigkeit und Verhältnismäßigkeit", "Eintrittswahrscheinlichkeit", "hohes Risiko",
                 "Restrisiko", "Aufsichtsbehörde zu konsultieren", "Art. 35 Abs. 3 lit. b DSGVO",
                 "Unrechtmäßiger Zugang"):
        assert term in german, term
    english = render(dpia_document(high), fmt, "en")
    for term in ("Data protection impact assessment", "Systematic monitoring", "Art. 35(3)(b) GDPR",
                 "the supervisory authority must be consulted", "4 maximum"):
        assert term in english, term
    assert ("CCTV &lt;depot&gt;" if fmt == "html" else "CCTV \\<depot\\>") in english
    assert "<two>" not in german


def test_dpia_without_high_residual_risk_needs_no_consultation() -> None:
    low = (Risk("disappearance", severity=1, likelihood=1),)
    assert "no prior consultation is required" in render(dpia_document(low), "md", "en")


def test_every_template_term_exists_in_both_languages() -> None:
    for key, entry in TERMS.items():
        assert entry.get("de"), key
        assert entry.get("en") or key.startswith("dsk."), key


def test_unknown_format_or_language_is_an_error() -> None:
    with pytest.raises(ValueError):
        render(ropa_document(sample()), "pdf", "de")
    with pytest.raises(ValueError):
        render(ropa_document(sample()), "md", "fr")
    with pytest.raises(ValueError, match="no CSV form"):
        render(Document(kind="x", context={}, data={}), "csv", "de")


def test_output_is_private_atomic_and_refuses_symlinks(tmp_path: Path) -> None:
    target = tmp_path / "out.html"
    write_private(target, "one")
    write_private(target, "two")
    assert target.read_text() == "two" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["out.html"]
    secret = tmp_path / "secret"
    secret.write_text("keep")
    link = tmp_path / "link.html"
    os.symlink(secret, link)
    with pytest.raises(OutputError, match="symbolic link"):
        write_private(link, "overwritten?")
    assert secret.read_text() == "keep"
    with pytest.raises(OutputError, match="directory"):
        write_private(tmp_path, "x")
    with pytest.raises(OutputError, match="cannot write"):
        write_private(tmp_path / "missing" / "x.md", "x")
