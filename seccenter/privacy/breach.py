"""Personal-data breaches: ENISA severity, the Art. 33/34 decision, GDPR and NIS2 deadlines, and the record.

The tool prefills what the register knows (which personal data the incident's systems hold) and the analyst
answers what it cannot know (which losses occurred, malicious intent, identifiability, the Art. 34(3)
exceptions). Every assessment is kept, notified or not, with its reasoning (Art. 33(5)).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlite_utils import Database

from seccenter.incidents import audit
from seccenter.incidents.cases import get as get_incident
from seccenter.incidents.cases import now_utc, record_activity
from seccenter.privacy import deadlines, enisa
from seccenter.privacy.enisa import Factor
from seccenter.store import breaches as store
from seccenter.store import incidents as incident_store
from seccenter.store import ropa as ropa_store
from seccenter.store.transaction import write_transaction

NIS2_ENTITIES = ("essential", "important")


class BreachError(Exception):
    """An assessment or notification that cannot be recorded as asked."""


@dataclass(frozen=True)
class PersonalData:
    """What the register says is held on the systems an incident touched."""

    activities: tuple[str, ...] = ()
    data_categories: tuple[str, ...] = ()
    special_categories: tuple[str, ...] = ()
    data_subjects: tuple[str, ...] = ()
    approximate_subjects: int | None = None
    activity_ids: tuple[str, ...] = ()

    @classmethod
    def from_activities(cls, activities: Iterable[Mapping[str, Any]]) -> PersonalData:
        """Union of processing activities given as mappings with the register's key names."""
        names: list[str] = []
        ids: list[str] = []
        categories: list[str] = []
        special: list[str] = []
        subjects: list[str] = []
        counts: list[int] = []
        for activity in activities:
            names.append(str(activity.get("name") or activity.get("id") or "?"))
            if activity.get("id"):
                ids.append(str(activity["id"]))
            categories.extend(map(str, activity.get("data_categories") or ()))
            special.extend(map(str, activity.get("special_categories") or ()))
            subjects.extend(map(str, activity.get("data_subjects") or ()))
            if isinstance(activity.get("data_subjects_count"), int):
                counts.append(activity["data_subjects_count"])
        return cls(tuple(dict.fromkeys(names)), tuple(dict.fromkeys(categories)), tuple(dict.fromkeys(special)),
                   tuple(dict.fromkeys(subjects)), sum(counts) if counts else None, tuple(dict.fromkeys(ids)))

    def to_dict(self) -> dict[str, Any]:
        return {"activities": list(self.activities), "data_categories": list(self.data_categories),
                "special_categories": list(self.special_categories), "data_subjects": list(self.data_subjects),
                "approximate_subjects": self.approximate_subjects, "activity_ids": list(self.activity_ids)}


# words in the register's data categories (English and German) that put them in an ENISA data type
_TYPE_WORDS = {
    "sensitive": r"health|medical|diagnos|gesundheit|krank|biometr|genetic|genetisch|relig|politic|politisch|sexual|"
                 r"union|gewerkschaft|ethnic|ethnisch|racial|criminal|straf",
    "financial": r"bank|iban|account|konto|credit.?card|kredit|salary|gehalt|lohn|income|einkommen|payment|zahlung|"
                 r"tax|steuer|invoice|rechnung|welfare|sozialleist|financ|finanz",
    "behavioural": r"location|standort|traffic|verkehrsdaten|brows|habit|preference|video|cctv|camera|kamera|"
                   r"movement|bewegung|usage|nutzung|log.?in|protokoll|connection|verbindung",
}
_VULNERABLE = re.compile(r"child|minor|pupil|student|kind|schüler|minderjährig|patient|victim|opfer", re.IGNORECASE)


def classify(personal: PersonalData) -> tuple[str, str] | None:
    """(ENISA data type, why) for the most critical data held, or None when nothing is known."""
    if personal.special_categories:
        return "sensitive", (f"special categories {', '.join(personal.special_categories)} (Art. 9/10) in "
                             f"{', '.join(personal.activities)}")
    for data_type in ("financial", "behavioural"):
        matching = [category for category in personal.data_categories
                    if re.search(_TYPE_WORDS[data_type], category, re.IGNORECASE)]
        if matching:
            return data_type, f"{', '.join(matching)} in {', '.join(personal.activities)}"
    for category in personal.data_categories:
        if re.search(_TYPE_WORDS["sensitive"], category, re.IGNORECASE):
            return "sensitive", f"{category} in {', '.join(personal.activities)}"
    if personal.data_categories:
        return "simple", f"{', '.join(personal.data_categories)} in {', '.join(personal.activities)}"
    return None


@dataclass(frozen=True)
class BreachInput:
    """The analyst's answers; None means "not given" (prefilled where the register knows)."""

    aware_at: datetime
    occurred_at: datetime | None = None
    data_type: str | None = None
    dpc: int | None = None
    ei: float | None = None
    confidentiality: bool = False
    disclosure: str | None = None
    integrity: bool = False
    alteration: str | None = None
    availability: bool = False
    unavailability: str | None = None
    malicious: bool = False
    subjects: int | None = None
    encrypted: bool = False  # Art. 34(3)(a)
    measures: bool = False  # Art. 34(3)(b)
    disproportionate: bool = False  # Art. 34(3)(c)
    nis2: str | None = None
    reasoning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        document = {name: getattr(self, name) for name in self.__dataclass_fields__}
        document["aware_at"] = self.aware_at.astimezone(UTC).isoformat()
        document["occurred_at"] = self.occurred_at.astimezone(UTC).isoformat() if self.occurred_at else None
        return document


@dataclass(frozen=True)
class Assessment:
    severity: float
    risk: str
    notify_authority: bool
    notify_subjects: bool
    factors: list[Factor]
    obligations: dict[str, datetime | None]  # what is owed, due in UTC (None: without undue delay)
    reasons: list[str]
    personal_data: PersonalData = field(default_factory=PersonalData)

    def due_dates(self) -> list[tuple[str, datetime]]:
        return sorted(((key, due) for key, due in self.obligations.items() if due is not None),
                      key=lambda item: item[1])

    def to_json(self, zone: tzinfo = deadlines.DEFAULT_ZONE) -> dict[str, Any]:
        """The documented shape of ``breach assess --json``."""
        return {"severity": self.severity, "risk": self.risk, "notify_authority": self.notify_authority,
                "notify_subjects": self.notify_subjects, "factors": [factor.to_dict() for factor in self.factors],
                "deadlines": [{"obligation": key, "due": deadlines.shown(due, zone)}
                              for key, due in self.due_dates()]}

    def to_record(self) -> dict[str, Any]:
        """Everything, in UTC, as stored."""
        return {"severity": self.severity, "risk": self.risk, "notify_authority": self.notify_authority,
                "notify_subjects": self.notify_subjects, "factors": [factor.to_dict() for factor in self.factors],
                "obligations": {key: due.isoformat() if due else None for key, due in self.obligations.items()},
                "reasons": self.reasons, "personal_data": self.personal_data.to_dict()}


def _check_times(answers: BreachInput, now: datetime) -> None:
    for name, stamp in (("awareness", answers.aware_at), ("occurrence", answers.occurred_at)):
        if stamp is None:
            continue
        if stamp.tzinfo is None:
            raise BreachError(f"the {name} time needs a time zone")
        if stamp > now:
            raise BreachError(f"the {name} time {stamp.isoformat()} is in the future")
    if answers.occurred_at is not None and answers.aware_at < answers.occurred_at:
        raise BreachError(f"awareness ({answers.aware_at.isoformat()}) is before the breach occurred "
                          f"({answers.occurred_at.isoformat()}); if it began earlier, give --occurred-at")


def _dpc(answers: BreachInput, personal: PersonalData) -> Factor:
    found = classify(personal)
    if answers.data_type is not None:
        return enisa.dpc_factor(answers.data_type, answers.dpc, "data type given by the analyst")
    if found is not None:
        factor = enisa.dpc_factor(found[0], answers.dpc, found[1])
        vulnerable = [subject for subject in personal.data_subjects if _VULNERABLE.search(subject)]
        if vulnerable and answers.dpc is None and factor.value < 4:
            return Factor(factor.name, factor.value, factor.reason + f"; data subjects include {', '.join(vulnerable)}"
                          ": Table 1 allows a higher score for vulnerable individuals (--dpc)")
        return factor
    if answers.dpc is not None:
        if answers.dpc not in (1, 2, 3, 4):
            raise BreachError(f"DPC must be 1, 2, 3 or 4, not {answers.dpc}")
        return Factor("DPC", answers.dpc, "set by the analyst; no data type known (ENISA Table 1)")
    raise BreachError("no personal data known for this incident (its alerts' systems serve no processing activity "
                      "in the register): give --data-type and, if the context calls for it, --dpc")


def _exception_factors(answers: BreachInput, high: bool) -> list[Factor]:
    flags = (("Art. 34(3)(a)", answers.encrypted, "the data are unintelligible to anyone not authorised to access "
                                                   "them (encrypted with a key that was not compromised)"),
             ("Art. 34(3)(b)", answers.measures, "subsequent measures ensure the high risk is no longer likely to "
                                                 "materialise"),
             ("Art. 34(3)(c)", answers.disproportionate, "telling each data subject would involve disproportionate "
                                                         "effort"))
    tail = "" if high else " (no high risk, so the exception changes nothing)"
    return [Factor(name, True, f"the analyst states that {meaning}{tail}") for name, on, meaning in flags if on]


def assess(answers: BreachInput, personal: PersonalData | None = None, now: datetime | None = None,
           zone: tzinfo = deadlines.DEFAULT_ZONE) -> Assessment:
    """Score the breach, decide Art. 33/34 (and NIS2) and compute what is due when. Pure: no store."""
    personal = personal or PersonalData()
    _check_times(answers, now or datetime.now(UTC))
    if answers.nis2 is not None and answers.nis2 not in NIS2_ENTITIES:
        raise BreachError(f"NIS2 entity must be essential or important, not {answers.nis2!r}")
    if answers.subjects is not None and answers.subjects < 0:
        raise BreachError("the number of data subjects cannot be negative")
    try:
        dpc = _dpc(answers, personal)
        ei = enisa.ei_factor(answers.ei)
        circumstances = [
            enisa.cb_factor("confidentiality", answers.disclosure, answers.confidentiality),
            enisa.cb_factor("integrity", answers.alteration, answers.integrity),
            enisa.cb_factor("availability", answers.unavailability, answers.availability),
            enisa.cb_factor("malicious", None, answers.malicious),
        ]
    except enisa.SeverityError as error:
        raise BreachError(str(error)) from None
    severity = enisa.severity(dpc, ei, circumstances)
    risk = enisa.risk_for(severity)
    high = risk in ("high", "very high")
    subjects = answers.subjects if answers.subjects is not None else personal.approximate_subjects
    origin = "given by the analyst" if answers.subjects is not None else "approximate number from the register"
    factors = [dpc, ei, *circumstances,
               Factor("data subjects", subjects,
                      f"{origin}; not part of SE (ENISA names it as a further criterion), reported under Art. "
                      "33(3)(a)" if subjects is not None else "unknown: give --subjects (Art. 33(3)(a) asks for "
                                                             "the approximate number)"),
               *_exception_factors(answers, high)]
    obligations, reasons = _decide(answers, severity, risk, zone)
    return Assessment(severity, risk, "art33_authority" in obligations, "art34_data_subjects" in obligations,
                      factors, obligations, reasons, personal)


def _decide(answers: BreachInput, severity: float, risk: str,
            zone: tzinfo) -> tuple[dict[str, datetime | None], list[str]]:
    aware = answers.aware_at
    band = f"ENISA severity {risk}, SE = {severity:g}: {enisa.RISK_MEANING[risk]}"
    obligations: dict[str, datetime | None] = {}
    reasons: list[str] = []
    if risk == "low":
        reasons.append(f"Art. 33(1): the breach is unlikely to result in a risk to the rights and freedoms of "
                       f"natural persons ({band}); the supervisory authority is not notified. The breach, its "
                       "effects and this reasoning are documented under Art. 33(5).")
    else:
        due = obligations["art33_authority"] = deadlines.art33_due(aware)
        reasons.append(f"Art. 33(1): the breach is likely to result in a risk ({band}); notify the supervisory "
                       f"authority without undue delay, at the latest {deadlines.shown(due, zone)}"
                       " (72 hours after awareness); a later notification states the reasons for the delay, and "
                       "the information may follow in phases (Art. 33(4)).")
    if risk in ("high", "very high"):
        if answers.encrypted or answers.measures:
            letter = "(a)" if answers.encrypted else "(b)"
            reasons.append(f"Art. 34(1) would require telling the data subjects (high risk), but Art. 34(3){letter} "
                           "applies: no communication to them is required.")
        elif answers.disproportionate:
            obligations["art34_public_communication"] = None
            reasons.append("Art. 34(1): high risk; telling each data subject would involve disproportionate effort "
                           "(Art. 34(3)(c)), so a public communication or similar measure informs them in an "
                           "equally effective manner, without undue delay.")
        else:
            obligations["art34_data_subjects"] = None
            reasons.append("Art. 34(1): high risk; communicate the breach to the data subjects without undue delay, "
                           "in clear and plain language, with the content of Art. 34(2).")
    else:
        reasons.append("Art. 34(1): no high risk to the data subjects; no communication to them is required.")
    if answers.nis2:
        notification = deadlines.nis2_notification_due(aware)
        obligations["nis2_early_warning"] = deadlines.nis2_early_warning_due(aware)
        obligations["nis2_notification"] = notification
        obligations["nis2_final_report"] = deadlines.nis2_final_report_due(notification, zone)
        reasons.append(f"NIS2 Art. 23 ({answers.nis2} entity, significant incident): early warning within 24 hours, "
                       "incident notification within 72 hours of awareness, final report one month after the "
                       "notification (shown from the notification's due time until it is recorded).")
    if answers.reasoning:
        reasons.append(f"Analyst: {answers.reasoning}")
    return obligations, reasons


def occurred_at(db: Database, incident_id: int) -> datetime | None:
    """The earliest event behind the incident's alerts: when the breach had happened at the latest known."""
    alerts = incident_store.incident_alerts(db, incident_id)
    times = [datetime.fromisoformat(alert["event"]["time"]) for alert in alerts]
    return min(times) if times else None


def personal_data_for(db: Database, incident_id: int) -> PersonalData:
    """What the register says about the incident's alerts: their events name assets, the assets serve
    processing activities, the activities hold personal data (with the approximate number of data subjects)."""
    alerts = [{"fields": alert["event"]["fields"]} for alert in incident_store.incident_alerts(db, incident_id)]
    activities: dict[str, dict[str, Any]] = {}
    for alert in ropa_store.alerts_with_personal_data(db, alerts):
        for activity in alert["processing_activities"]:
            activities.setdefault(activity["id"], activity)
    for activity_id, activity in activities.items():
        record = ropa_store.get_activity(db, activity_id)
        activity["data_subjects_count"] = record.data_subjects_count if record else None
    return PersonalData.from_activities(activities.values())


def breach_record(db: Database, incident_id: int) -> dict[str, Any]:
    """The latest assessment of an incident, its obligations and the submissions made (Art. 33(5) record)."""
    get_incident(db, incident_id)
    assessment = store.latest_assessment(db, incident_id)
    if assessment is None:
        raise BreachError(f"incident {incident_id} has not been assessed (seccenter breach assess)")
    return {"assessment": assessment, "obligations": store.obligations(db, [incident_id])[incident_id],
            "submissions": store.submissions(db, incident_id)}


def record_assessment(db: Database, incident_id: int, answers: BreachInput, actor: str,
                      personal: PersonalData | None = None, zone: tzinfo = deadlines.DEFAULT_ZONE,
                      now: datetime | None = None) -> Assessment:
    """Assess an open incident and keep the assessment, its obligations, a timeline entry and an audit entry."""
    with write_transaction(db):
        incident = get_incident(db, incident_id)
        if incident["status"] == "closed":
            raise BreachError(f"incident {incident_id} is closed; reopen it to assess it again")
        if answers.occurred_at is None:
            answers = replace(answers, occurred_at=occurred_at(db, incident_id))
        assessment = assess(answers, personal, now, zone)
        previous = store.latest_assessment(db, incident_id)
        record = assessment.to_record()
        inputs = answers.to_dict()
        breach_id = store.insert_assessment(db, incident_id, now_utc(), actor, inputs["aware_at"],
                                            inputs["occurred_at"], inputs, record)
        store.replace_open_obligations(db, incident_id, breach_id, {
            key: due.isoformat() if due else None for key, due in assessment.obligations.items()})
        record_activity(db, incident_id, actor, "breach",
                        f"breach assessed: severity {assessment.severity:g} ({assessment.risk}); notify authority: "
                        f"{'yes' if assessment.notify_authority else 'no'}; notify data subjects: "
                        f"{'yes' if assessment.notify_subjects else 'no'}")
        audit.append(db, actor, "breach.assess", "breach", breach_id,
                     previous["result"] if previous else None, {"inputs": inputs, "result": record})
    return assessment


def record_submission(db: Database, incident_id: int, obligation: str, submitted_at: datetime, actor: str,
                      final: bool = True, delay_reason: str | None = None, note: str | None = None,
                      zone: tzinfo = deadlines.DEFAULT_ZONE, now: datetime | None = None) -> dict[str, Any]:
    """Record that an obligation was met (or, for Art. 33, a first phase of it); returns the obligation."""
    if submitted_at.tzinfo is None:
        raise BreachError("the submission time needs a time zone")
    if submitted_at > (now or datetime.now(UTC)):
        raise BreachError(f"the submission time {submitted_at.isoformat()} is in the future")
    if not final and obligation != "art33_authority":
        raise BreachError("only the notification to the supervisory authority can be made in phases (Art. 33(4))")
    with write_transaction(db):
        get_incident(db, incident_id)
        current = {item["obligation"]: item for item in store.obligations(db, [incident_id])[incident_id]}
        item = current.get(obligation)
        if item is None or item["status"] == "not_required":
            owed = ", ".join(key for key, value in current.items() if value["status"] != "not_required") or "none"
            raise BreachError(f"incident {incident_id} owes no {obligation} (owed: {owed}); assess it first "
                              "(seccenter breach assess)")
        if item["status"] == "done":
            raise BreachError(f"{obligation} of incident {incident_id} is already recorded as complete")
        assessment = store.latest_assessment(db, incident_id)
        if assessment and submitted_at < datetime.fromisoformat(assessment["aware_at"]):
            raise BreachError("the submission time is before the controller became aware of the breach")
        late = (item["due"] is not None and item["status"] == "open"
                and submitted_at > datetime.fromisoformat(item["due"]))
        delay_reason = delay_reason.strip() if delay_reason and delay_reason.strip() else None
        if late and obligation == "art33_authority" and not delay_reason:
            raise BreachError(f"the notification is {deadlines.countdown(item['due'], submitted_at)[0]}: Art. 33(1) "
                              "requires the reasons for the delay (--delay-reason)")
        store.insert_submission(db, {
            "incident_id": incident_id, "obligation": obligation,
            "submitted_at": submitted_at.astimezone(UTC).isoformat(), "final": int(final),
            "delay_reason": delay_reason, "note": note, "recorded": now_utc(), "actor": actor})
        status = "done" if final else "partial"
        store.set_obligation(db, incident_id, obligation, status)
        if obligation == "nis2_notification" and "nis2_final_report" in current:
            due = deadlines.nis2_final_report_due(submitted_at, zone).isoformat()
            store.set_obligation(db, incident_id, "nis2_final_report", current["nis2_final_report"]["status"], due,
                                 update_due=True)
        phase = "complete" if final else "first phase (Art. 33(4)), more to follow"
        record_activity(db, incident_id, actor, "breach",
                        f"{deadlines.OBLIGATIONS[obligation].label} ({deadlines.OBLIGATIONS[obligation].basis}) "
                        f"submitted {deadlines.shown(submitted_at, zone)}: {phase}"
                        + (f"; reasons for the delay: {delay_reason}" if delay_reason else ""))
        audit.append(db, actor, "breach.submission", "incident", incident_id, item,
                     {**item, "status": status, "submitted_at": submitted_at.astimezone(UTC).isoformat()})
        return {**item, "status": status}
