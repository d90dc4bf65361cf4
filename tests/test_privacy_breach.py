"""Breach assessment: every ENISA factor, the Art. 33/34 decision with the Art. 34(3) exceptions, GDPR and NIS2
deadlines (across a DST change), notifications in phases and late, and bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from seccenter.incidents import cases
from seccenter.incidents.audit import verify
from seccenter.incidents.cases import IncidentError
from seccenter.privacy import deadlines, enisa
from seccenter.privacy.breach import (
    BreachError,
    BreachInput,
    PersonalData,
    assess,
    breach_record,
    classify,
    record_assessment,
    record_submission,
)
from seccenter.store.db import open_db

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
# Friday 23 October 2026, 22:30 in Berlin (CEST, UTC+2); clocks go back on Sunday 25 October at 03:00
FRIDAY_NIGHT = datetime(2026, 10, 23, 22, 30, tzinfo=BERLIN)


def answers(**changes) -> BreachInput:
    return replace(BreachInput(aware_at=FRIDAY_NIGHT, data_type="simple"), **changes)


def factor(assessment, name: str) -> enisa.Factor:
    return next(item for item in assessment.factors if item.name == name)


def due(assessment, obligation: str) -> str:
    return deadlines.shown(assessment.obligations[obligation], BERLIN)


# ENISA factors

@pytest.mark.parametrize(("data_type", "basic"), [("simple", 1), ("behavioural", 2), ("financial", 3),
                                                  ("sensitive", 4)])
def test_dpc_basic_score_per_data_type(data_type: str, basic: int) -> None:
    result = assess(answers(data_type=data_type), now=NOW)
    assert factor(result, "DPC").value == basic
    assert f"basic score of {data_type} data" in factor(result, "DPC").reason
    assert enisa.DPC_TABLE[data_type][basic] in factor(result, "DPC").reason


@pytest.mark.parametrize("data_type", list(enisa.DPC_TABLE))
@pytest.mark.parametrize("score", [1, 2, 3, 4])
def test_dpc_set_by_the_analyst_quotes_table_1(data_type: str, score: int) -> None:
    result = assess(answers(data_type=data_type, dpc=score), now=NOW)
    assert factor(result, "DPC").value == score
    assert "set by the analyst" in factor(result, "DPC").reason
    assert enisa.DPC_TABLE[data_type][score] in factor(result, "DPC").reason


@pytest.mark.parametrize("value", [0.25, 0.5, 0.75, 1.0])
def test_ease_of_identification(value: float) -> None:
    result = assess(answers(data_type="sensitive", ei=value), now=NOW)
    assert factor(result, "EI").value == value and enisa.EI_TABLE[value] in factor(result, "EI").reason
    assert result.severity == 4 * value


def test_ease_of_identification_defaults_to_the_maximum_and_says_so() -> None:
    ei = factor(assess(answers(), now=NOW), "EI")
    assert ei.value == 1.0 and "not given" in ei.reason


@pytest.mark.parametrize(("element", "field_name", "flag"), [
    ("confidentiality", "disclosure", "confidentiality"), ("integrity", "alteration", "integrity"),
    ("availability", "unavailability", "availability")])
def test_each_circumstance_level(element: str, field_name: str, flag: str) -> None:
    for level, (value, meaning) in enisa.CB_TABLE[element].items():
        result = assess(answers(**{field_name: level}), now=NOW)
        assert factor(result, f"CB {element}").value == value and meaning in factor(result, f"CB {element}").reason
        assert result.severity == 1 + value
    bare = factor(assess(answers(**{flag: True}), now=NOW), f"CB {element}")
    assert bare.value == 0.5 and "scored at the highest level" in bare.reason
    assert factor(assess(answers(), now=NOW), f"CB {element}").value == 0


def test_malicious_intent_adds_half_a_point() -> None:
    assert factor(assess(answers(malicious=True), now=NOW), "CB malicious").value == 0.5
    assert assess(answers(malicious=True), now=NOW).severity == 1.5
    assert "no malicious intent" in factor(assess(answers(), now=NOW), "CB malicious").reason


@pytest.mark.parametrize(("severity", "risk"), [(0.25, "low"), (1.99, "low"), (2.0, "medium"), (2.99, "medium"),
                                                (3.0, "high"), (3.99, "high"), (4.0, "very high"),
                                                (5.5, "very high")])
def test_severity_bands(severity: float, risk: str) -> None:
    assert enisa.risk_for(severity) == risk


def test_the_formula_se_dpc_times_ei_plus_cb() -> None:
    result = assess(answers(data_type="financial", ei=0.75, confidentiality=True, disclosure="known",
                            integrity=True, alteration="recoverable", malicious=True), now=NOW)
    assert result.severity == 3 * 0.75 + 0.25 + 0.25 + 0.5 == 3.25 and result.risk == "high"


def test_number_of_subjects_is_recorded_but_not_scored() -> None:
    few, many = (assess(answers(subjects=count), now=NOW) for count in (3, 300_000))
    assert few.severity == many.severity
    assert factor(many, "data subjects").value == 300_000 and "not part of SE" in factor(many, "data subjects").reason


# Art. 33 / 34 decision

def test_low_risk_is_documented_not_notified() -> None:
    result = assess(answers(), now=NOW)
    assert (result.risk, result.notify_authority, result.notify_subjects) == ("low", False, False)
    assert result.to_json()["deadlines"] == []
    assert "unlikely to result in a risk" in result.reasons[0] and "Art. 33(5)" in result.reasons[0]


def test_medium_risk_notifies_the_authority_only() -> None:
    result = assess(answers(data_type="behavioural"), now=NOW)
    assert (result.risk, result.notify_authority, result.notify_subjects) == ("medium", True, False)
    assert [item["obligation"] for item in result.to_json()["deadlines"]] == ["art33_authority"]


def test_high_risk_tells_the_data_subjects_too() -> None:
    result = assess(answers(data_type="financial"), now=NOW)
    assert (result.risk, result.notify_authority, result.notify_subjects) == ("high", True, True)
    assert result.obligations["art34_data_subjects"] is None  # without undue delay: no fixed hours


@pytest.mark.parametrize(("flag", "letter"), [("encrypted", "a"), ("measures", "b")])
def test_art_34_3_a_and_b_lift_the_communication(flag: str, letter: str) -> None:
    result = assess(answers(data_type="sensitive", **{flag: True}), now=NOW)
    assert result.notify_authority and not result.notify_subjects
    assert "art34_data_subjects" not in result.obligations
    assert factor(result, f"Art. 34(3)({letter})").value is True
    assert any(f"Art. 34(3)({letter}) applies" in reason for reason in result.reasons)


def test_art_34_3_c_means_a_public_communication_instead() -> None:
    result = assess(answers(data_type="sensitive", disproportionate=True), now=NOW)
    assert not result.notify_subjects and "art34_public_communication" in result.obligations
    assert any("public communication" in reason for reason in result.reasons)


def test_an_exception_without_high_risk_changes_nothing() -> None:
    result = assess(answers(data_type="behavioural", encrypted=True), now=NOW)
    assert "changes nothing" in factor(result, "Art. 34(3)(a)").reason and result.notify_authority


def test_the_analysts_reasoning_is_kept() -> None:
    assert assess(answers(reasoning="list was public already"), now=NOW).reasons[-1] == \
        "Analyst: list was public already"


# deadlines

def test_art_33_is_72_hours_across_the_october_dst_change() -> None:
    result = assess(answers(data_type="financial"), now=NOW)
    # 72 elapsed hours: Monday 20:30 UTC, which is 21:30 in Berlin after the clocks went back
    assert due(result, "art33_authority") == "2026-10-26T21:30:00+01:00"
    assert result.obligations["art33_authority"] == datetime(2026, 10, 26, 20, 30, tzinfo=UTC)


def test_nis2_deadlines_across_the_october_dst_change() -> None:
    result = assess(answers(data_type="financial", nis2="important"), now=NOW)
    assert due(result, "nis2_early_warning") == "2026-10-24T22:30:00+02:00"
    assert due(result, "nis2_notification") == "2026-10-26T21:30:00+01:00"
    assert due(result, "nis2_final_report") == "2026-11-26T21:30:00+01:00"
    assert [item["obligation"] for item in result.to_json(BERLIN)["deadlines"]] == [
        "nis2_early_warning", "art33_authority", "nis2_notification", "nis2_final_report"]


def test_nis2_only_for_entities_in_scope() -> None:
    assert not any(key.startswith("nis2") for key in assess(answers(data_type="financial"), now=NOW).obligations)
    with pytest.raises(BreachError, match="essential or important"):
        assess(answers(nis2="critical"), now=NOW)


def test_nis2_applies_even_when_the_personal_data_risk_is_low() -> None:
    result = assess(answers(nis2="essential"), now=NOW)
    assert not result.notify_authority and "nis2_notification" in result.obligations


def test_a_month_is_counted_on_the_local_calendar() -> None:
    before_change = datetime(2026, 10, 20, 10, 0, tzinfo=BERLIN)
    assert deadlines.shown(deadlines.add_month(before_change)) == "2026-11-20T10:00:00+01:00"
    assert deadlines.shown(deadlines.add_month(datetime(2027, 1, 31, 9, 0, tzinfo=BERLIN))) == \
        "2027-02-28T09:00:00+01:00"
    assert deadlines.shown(deadlines.add_month(datetime(2026, 12, 15, 9, 0, tzinfo=BERLIN))) == \
        "2027-01-15T09:00:00+01:00"
    # 02:30 on 28 March 2027 does not exist in Berlin: the earlier reading is taken
    assert deadlines.add_month(datetime(2027, 2, 28, 2, 30, tzinfo=BERLIN)) == datetime(2027, 3, 28, 1, 30,
                                                                                         tzinfo=UTC)


def test_spring_dst_change_72_hours() -> None:
    aware = datetime(2027, 3, 26, 22, 0, tzinfo=BERLIN)  # Friday, clocks go forward on Sunday 28 March
    assert deadlines.shown(deadlines.art33_due(aware)) == "2027-03-29T23:00:00+02:00"


def test_countdown_text() -> None:
    assert deadlines.countdown(NOW + timedelta(days=1, hours=3, minutes=5), NOW) == ("1d 3h left", 97500.0)
    assert deadlines.countdown(NOW - timedelta(hours=5, minutes=10), NOW)[0] == "overdue by 5h 10m"
    assert deadlines.countdown(NOW + timedelta(minutes=42), NOW)[0] == "42m left"


# bad input

def test_awareness_before_occurrence_is_refused() -> None:
    with pytest.raises(BreachError, match="is before the breach occurred"):
        assess(answers(occurred_at=FRIDAY_NIGHT + timedelta(hours=1)), now=NOW)


@pytest.mark.parametrize("field_name", ["aware_at", "occurred_at"])
def test_future_times_are_refused(field_name: str) -> None:
    with pytest.raises(BreachError, match="is in the future"):
        assess(answers(**{field_name: NOW + timedelta(minutes=1)}), now=NOW)


def test_without_any_personal_data_known_the_analyst_must_say() -> None:
    with pytest.raises(BreachError, match="give --data-type"):
        assess(answers(data_type=None), now=NOW)
    assert factor(assess(answers(data_type=None, dpc=2), now=NOW), "DPC").value == 2


def test_scale_values_outside_the_methodology_are_refused() -> None:
    with pytest.raises(BreachError, match="EI must be one of"):
        assess(answers(ei=0.6), now=NOW)
    with pytest.raises(BreachError, match="DPC must be 1, 2, 3 or 4"):
        assess(answers(dpc=5), now=NOW)
    with pytest.raises(BreachError, match="unknown data type"):
        assess(answers(data_type="gossip"), now=NOW)


# prefill from the register

def test_classify_register_entries() -> None:
    payroll = PersonalData.from_activities([{"id": "VT-3", "name": "Payroll", "data_subjects": ["staff"],
                                             "data_subjects_count": 900,
                                             "data_categories": ["name", "IBAN", "salary"]},
                                            {"id": "VT-1", "name": "Registration", "data_subjects_count": 120_000,
                                             "data_categories": ["address"]}])
    assert payroll.approximate_subjects == 120_900
    assert classify(payroll) == ("financial", "IBAN, salary in Payroll, Registration")
    assert classify(PersonalData(("CCTV",), ("video recordings",)))[0] == "behavioural"
    assert classify(PersonalData(("Clinic",), ("contact",), ("health",)))[0] == "sensitive"
    assert classify(PersonalData(("Newsletter",), ("e-mail address",)))[0] == "simple"
    assert classify(PersonalData()) is None


def test_prefill_is_used_and_flags_override_it() -> None:
    school = PersonalData(("School portal",), ("contact details",), (), ("pupils",), 4200)
    result = assess(answers(data_type=None), school, now=NOW)
    dpc = factor(result, "DPC")
    assert dpc.value == 1 and "School portal" in dpc.reason and "vulnerable" in dpc.reason
    assert factor(result, "data subjects").value == 4200
    overridden = assess(answers(data_type=None, dpc=4, subjects=10), school, now=NOW)
    assert factor(overridden, "DPC").value == 4 and factor(overridden, "data subjects").value == 10


# the record in the store

@pytest.fixture
def db() -> Database:
    return open_db(":memory:")


def test_assessment_is_recorded_with_obligations_timeline_and_audit(db: Database) -> None:
    incident_id = cases.open_incident(db, "Payroll export on a public share", "analyst")["id"]
    record_assessment(db, incident_id, answers(data_type="financial", nis2="important"), "dpo", now=NOW)
    record = breach_record(db, incident_id)
    assert record["assessment"]["result"]["risk"] == "high" and record["assessment"]["actor"] == "dpo"
    assert {item["obligation"] for item in record["obligations"]} == {
        "art33_authority", "art34_data_subjects", "nis2_early_warning", "nis2_notification", "nis2_final_report"}
    assert [row[0] for row in db.execute("SELECT action FROM audit_log")] == ["incident.open", "breach.assess"]
    assert verify(db) == []


def test_a_low_risk_breach_is_recorded_too(db: Database) -> None:
    incident_id = cases.open_incident(db, "Letter to the wrong address", "analyst")["id"]
    record_assessment(db, incident_id, answers(), "dpo", now=NOW)
    record = breach_record(db, incident_id)
    assert record["obligations"] == [] and "Art. 33(5)" in record["assessment"]["result"]["reasons"][0]


def test_reassessment_drops_obligations_no_longer_owed(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    record_assessment(db, incident_id, answers(data_type="financial"), "dpo", now=NOW)
    record_assessment(db, incident_id, answers(data_type="financial", encrypted=True), "dpo", now=NOW)
    states = {item["obligation"]: item["status"] for item in breach_record(db, incident_id)["obligations"]}
    assert states == {"art33_authority": "open", "art34_data_subjects": "not_required"}


def test_unknown_and_closed_incidents_are_refused(db: Database) -> None:
    with pytest.raises(IncidentError, match="no incident 5"):
        record_assessment(db, 5, answers(), "dpo", now=NOW)
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    cases.close(db, incident_id, "analyst", "false positive")
    with pytest.raises(BreachError, match="is closed; reopen it"):
        record_assessment(db, incident_id, answers(), "dpo", now=NOW)
    assert db["breaches"].count == 0


def test_a_late_art_33_notification_needs_the_reasons_for_the_delay(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    record_assessment(db, incident_id, answers(data_type="financial"), "dpo", now=NOW)
    late = datetime(2026, 10, 27, 9, 0, tzinfo=BERLIN)
    with pytest.raises(BreachError, match="overdue by 11h 30m: Art. 33\\(1\\) requires the reasons for the delay"):
        record_submission(db, incident_id, "art33_authority", late, "dpo", now=NOW)
    item = record_submission(db, incident_id, "art33_authority", late, "dpo", delay_reason="forensic image first",
                             now=NOW)
    assert item["status"] == "done"
    with pytest.raises(BreachError, match="already recorded as complete"):
        record_submission(db, incident_id, "art33_authority", late, "dpo", now=NOW)


def test_phased_art_33_notification(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    record_assessment(db, incident_id, answers(data_type="financial"), "dpo", now=NOW)
    first = datetime(2026, 10, 24, 10, 0, tzinfo=BERLIN)
    assert record_submission(db, incident_id, "art33_authority", first, "dpo", final=False, now=NOW)["status"] == \
        "partial"
    # the rest follows after 72 hours without a delay reason: the first phase was in time (Art. 33(4))
    rest = datetime(2026, 10, 30, 10, 0, tzinfo=BERLIN)
    assert record_submission(db, incident_id, "art33_authority", rest, "dpo", now=NOW)["status"] == "done"
    with pytest.raises(BreachError, match="only the notification to the supervisory authority can be made in phases"):
        record_submission(db, incident_id, "art34_data_subjects", rest, "dpo", final=False, now=NOW)


def test_nis2_final_report_counts_from_the_notification_submitted(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    record_assessment(db, incident_id, answers(nis2="essential"), "dpo", now=NOW)
    record_submission(db, incident_id, "nis2_notification", datetime(2026, 10, 25, 9, 0, tzinfo=BERLIN), "dpo",
                      now=NOW)
    final = next(item for item in breach_record(db, incident_id)["obligations"]
                 if item["obligation"] == "nis2_final_report")
    assert deadlines.shown(final["due"], BERLIN) == "2026-11-25T09:00:00+01:00"


def test_submissions_that_cannot_be_right(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    record_assessment(db, incident_id, answers(data_type="behavioural"), "dpo", now=NOW)
    with pytest.raises(BreachError, match="owes no art34_data_subjects \\(owed: art33_authority\\)"):
        record_submission(db, incident_id, "art34_data_subjects", NOW, "dpo", now=NOW)
    with pytest.raises(BreachError, match="before the controller became aware"):
        record_submission(db, incident_id, "art33_authority", FRIDAY_NIGHT - timedelta(hours=1), "dpo", now=NOW)
    with pytest.raises(BreachError, match="in the future"):
        record_submission(db, incident_id, "art33_authority", NOW + timedelta(hours=1), "dpo", now=NOW)


def test_an_incident_with_open_obligations_cannot_be_closed(db: Database) -> None:
    incident_id = cases.open_incident(db, "x", "analyst")["id"]
    for status in ("triage", "contained", "eradicated", "recovered"):
        cases.change_status(db, incident_id, status, "analyst")
    record_assessment(db, incident_id, answers(data_type="behavioural"), "dpo", now=NOW)
    with pytest.raises(IncidentError, match="has open obligations \\(art33_authority\\)"):
        cases.close(db, incident_id, "analyst")
    record_submission(db, incident_id, "art33_authority", FRIDAY_NIGHT + timedelta(hours=30), "dpo", now=NOW)
    assert cases.close(db, incident_id, "analyst")["status"] == "closed"
