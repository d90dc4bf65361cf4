"""DPIA screening (WP248 rev.01 criteria, Art. 35(3), the DSK list) and DPIA records (risks, Art. 36)."""

from __future__ import annotations

import dataclasses

import pytest

from seccenter.privacy.dpia import (
    CRITERIA,
    FEARED_EVENTS,
    RISK_MATRIX,
    Dpia,
    DpiaContent,
    Risk,
    dpia_from_dict,
    infer_criteria,
    new_dpia,
    read_content_yaml,
    risk_level,
    screen,
)
from seccenter.privacy.dpia_lists import DSK_LIST, LARGE_SCALE_SUBJECTS
from seccenter.privacy.records import RegisterError
from seccenter.privacy.register_io import read_register
from seccenter.privacy.ropa import ProcessingActivity
from seccenter.resources import examples

PLAIN = ProcessingActivity(id="VT-1", name="Library loans", purposes=("Lending books",),
                           data_subjects=("Library users",), data_categories=("Name", "Loans"))


def activity(**changes: object) -> ProcessingActivity:
    return dataclasses.replace(PLAIN, **changes)


def sample(ident: str) -> ProcessingActivity:
    register = read_register(examples() / "town-hall-register.yaml").register
    return next(a for a in register.processing_activities if a.id == ident)


def test_a_plain_activity_meets_no_criterion() -> None:
    screening = screen(PLAIN)
    assert (screening.dpia_required, screening.criteria) == (False, ())
    assert screening.reasons[-1].code == "verdict:not_required"
    assert set(screening.to_dict()) == {"activity", "dpia_required", "criteria", "reasons"}


@pytest.mark.parametrize(("criterion", "changes", "evidence"), [
    ("evaluation_scoring", {"purposes": ("Scoring of applicants for social housing",)}, "purposes: Scoring"),
    ("automated_decision", {"purposes": ("Automated decision on fee reductions",)}, "purposes: Automated"),
    ("systematic_monitoring", {"name": "Videoüberwachung Rathausplatz"}, "name: Videoüberwachung"),
    ("systematic_monitoring", {"purposes": ("CCTV of the car park",)}, "purposes: CCTV"),
    ("sensitive_data", {"special_categories": ("health",)}, "special_categories: health"),
    ("sensitive_data", {"data_categories": ("Bankverbindung (IBAN)",)}, "data_categories: Bankverbindung"),
    ("large_scale", {"data_subjects_count": LARGE_SCALE_SUBJECTS}, "data_subjects_count: 10000"),
    ("matching_datasets", {"purposes": ("Abgleich mit dem Melderegister",)}, "purposes: Abgleich"),
    ("vulnerable_subjects", {"data_subjects": ("Schülerinnen und Schüler",)}, "data_subjects: Schüler"),
    ("vulnerable_subjects", {"data_subjects": ("Employees",)}, "data_subjects: Employees"),
    ("innovative_technology", {"purposes": ("Chat assistant using artificial intelligence",)}, "purposes: Chat"),
    ("innovative_technology", {"special_categories": ("biometric",)}, "special_categories: biometric"),
    ("prevents_rights", {"purposes": ("Blacklist of users excluded from the library",)}, "purposes: Blacklist"),
])
def test_each_wp248_criterion_is_inferred_from_the_record(criterion: str, changes: dict, evidence: str) -> None:
    inferred = infer_criteria(activity(**changes))
    assert criterion in inferred and inferred[criterion].startswith(evidence)
    assert criterion in screen(activity(**changes)).criteria


def test_every_criterion_is_inferable_and_can_be_given() -> None:
    assert CRITERIA == ("evaluation_scoring", "automated_decision", "systematic_monitoring", "sensitive_data",
                        "large_scale", "matching_datasets", "vulnerable_subjects", "innovative_technology",
                        "prevents_rights")
    for criterion in CRITERIA:
        screening = screen(PLAIN, [criterion])
        assert screening.criteria == (criterion,) and not screening.dpia_required
        assert screening.reasons[0].code == f"given:{criterion}"


def test_two_criteria_require_a_dpia_with_the_reasons() -> None:
    screening = screen(PLAIN, ["large_scale", "matching_datasets"])
    assert screening.dpia_required and screening.criteria == ("large_scale", "matching_datasets")
    assert screening.to_dict()["reasons"][-1] == "DPIA required (Art. 35(1)): 2 WP248 criteria met"


def test_unknown_criteria_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown criteria: gut_feeling"):
        screen(PLAIN, ["gut_feeling"])


def test_below_the_large_scale_threshold_is_not_large_scale() -> None:
    assert "large_scale" not in infer_criteria(activity(data_subjects_count=LARGE_SCALE_SUBJECTS - 1))


@pytest.mark.parametrize(("point", "changes"), [
    ("a", {"purposes": ("Scoring and automated decision on benefits",)}),
    ("b", {"special_categories": ("health",), "data_subjects_count": 50_000}),
    ("c", {"name": "CCTV of the public market square", "data_subjects_count": 30_000}),
])
def test_art_35_3_cases_always_require_a_dpia(point: str, changes: dict) -> None:
    screening = screen(activity(**changes))
    assert f"art35_3:{point}" in [reason.code for reason in screening.reasons]
    assert screening.dpia_required


@pytest.mark.parametrize(("number", "changes"), [
    (1, {"special_categories": ("biometric",), "data_subjects": ("Employees",)}),
    (2, {"special_categories": ("genetic",), "data_subjects": ("Patients",)}),
    (3, {"data_categories": ("Sozialdaten (§ 35 SGB I)",), "data_subjects_count": 20_000}),
    (4, {"data_categories": ("GPS location of vehicles",), "data_subjects_count": 20_000}),
    (5, {"purposes": ("Fraud scoring by matching benefit claims",), "data_subjects_count": 20_000}),
    (6, {"purposes": ("Bodycam recordings by the municipal enforcement service",), "data_subjects_count": 20_000}),
    (7, {"purposes": ("Rating of tradesmen published in a Bewertungsportal",), "data_subjects_count": 20_000}),
    (8, {"purposes": ("Monitoring of staff e-mail",), "data_subjects": ("Employees",),
         "data_subjects_count": 20_000}),
    (9, {"purposes": ("Profiling of interests of newsletter readers",)}),
    (10, {"purposes": ("Big data analytics combining data sets",)}),
    (11, {"purposes": ("Chatbot (KI) answering residents",)}),
    (12, {"purposes": ("WLAN-Tracking of visitors in the town centre",)}),
    (13, {"purposes": ("Scoring of callers' mood from voice recordings",)}),
    (14, {"purposes": ("Loyalty card of the municipal pools",)}),
    (15, {"special_categories": ("health",), "purposes": ("Anonymisation of health data for researchers",)}),
    (16, {"purposes": ("Library cards with RFID",)}),
    (17, {"special_categories": ("health",), "purposes": ("Fitness wearable for the fire brigade",)}),
])
def test_dsk_list_items_are_found_with_their_number(number: int, changes: dict) -> None:
    screening = screen(activity(**changes))
    codes = [reason.code for reason in screening.reasons]
    assert f"dsk:{number}" in codes, codes
    assert screening.dpia_required


def test_dsk_list_is_complete_and_biometrics_need_a_further_criterion() -> None:
    assert [item.number for item in DSK_LIST] == list(range(1, 18))
    alone = screen(activity(special_categories=("biometric",)))
    assert "dsk:1" not in [reason.code for reason in alone.reasons]


def test_the_sample_register_screens_as_a_dpo_would_expect() -> None:
    assert screen(sample("VT-001")).dpia_required
    assert "dsk:3" in [r.code for r in screen(sample("VT-001")).reasons]
    assert not screen(sample("VT-002")).dpia_required
    assert screen(sample("VT-004")).criteria == ("systematic_monitoring", "vulnerable_subjects")
    assert "art35_3:b" in [r.code for r in screen(sample("VT-005")).reasons]


def test_risk_matrix_levels() -> None:
    assert [[risk_level(s, lk) for s in range(1, 5)] for lk in range(1, 5)] == [list(row) for row in RISK_MATRIX]
    assert (risk_level(1, 1), risk_level(2, 2), risk_level(4, 4), risk_level(None, 2)) == ("low", "medium", "high",
                                                                                          None)
    assert all(risk_level(s, lk) == risk_level(lk, s) for s in range(1, 5) for lk in range(1, 5))


def test_prior_consultation_only_when_a_high_residual_risk_remains() -> None:
    reduced = Risk("illegitimate_access", severity=4, likelihood=3, residual_severity=4, residual_likelihood=1)
    kept = Risk("disappearance", severity=3, likelihood=4)
    assert (reduced.level, reduced.residual_level, kept.residual_level) == ("high", "medium", "high")
    dpia = new_dpia("DPIA-0001", PLAIN, DpiaContent(risks=(reduced,)))
    assert dpia.assessed and not dpia.prior_consultation
    assert new_dpia("DPIA-0002", PLAIN, DpiaContent(risks=(reduced, kept))).prior_consultation


def test_a_draft_lists_the_three_feared_events_unassessed() -> None:
    dpia = new_dpia("DPIA-0001", sample("VT-004"))
    assert [risk.event for risk in dpia.content.risks] == list(FEARED_EVENTS)
    assert not dpia.assessed and not dpia.prior_consultation
    assert "Video images" in dpia.content.description


def test_sample_dpia_reads_and_survives_the_store_round_trip() -> None:
    path = examples() / "dpia-cctv-depot.yaml"
    content, warnings = read_content_yaml(path.read_text(encoding="utf-8"), str(path))
    assert warnings == [] and len(content.risks) == 3
    assert content.risks[0].severity == 2 and content.risks[0].likelihood == 3
    dpia = new_dpia("DPIA-0007", sample("VT-004"), content)
    assert dpia_from_dict(dpia.to_dict()) == dpia
    assert isinstance(dpia, Dpia) and not dpia.prior_consultation


def test_bad_dpia_content_is_refused_with_file_and_line() -> None:
    text = ("risks:\n"
            "  - event: alien_invasion\n"
            "  - event: disappearance\n"
            "    severity: 7\n"
            "    likelihood: sometimes\n"
            "status: done\n"
            "colour: red\n")
    with pytest.raises(RegisterError) as caught:
        read_content_yaml(text, "d.yaml")
    messages = [str(error) for error in caught.value.errors]
    assert messages == [
        "d.yaml:2: dpia.risks[0].event: 'alien_invasion' is not one of illegitimate_access, unwanted_modification, "
        "disappearance",
        "d.yaml:4: dpia.risks[1].severity: must be a level 1-4 (negligible, limited, significant, maximum), not 7",
        "d.yaml:5: dpia.risks[1].likelihood: must be a level 1-4 (negligible, limited, significant, maximum), not "
        "'sometimes'",
        "d.yaml:6: dpia.status: 'done' is not one of draft, final",
    ]
    assert [str(w) for w in caught.value.warnings] == ["d.yaml:7: dpia.colour: unknown key (ignored)"]
    with pytest.raises(RegisterError, match="duplicate key"):
        read_content_yaml("status: draft\nstatus: final\n", "d.yaml")


def test_levels_by_german_and_cnil_names() -> None:
    content, _ = read_content_yaml("risks:\n  - {event: disappearance, severity: groß, likelihood: Negligible}\n",
                                   "d.yaml")
    assert (content.risks[0].severity, content.risks[0].likelihood, content.risks[0].level) == (4, 1, "medium")
