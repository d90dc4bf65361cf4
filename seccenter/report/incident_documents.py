"""The documents of an incident: the Art. 33 notification draft with the Art. 34(2) communication draft
(``report breach``), and the incident report with its timeline (``report incident``).

The words of these documents are here (German in the DSGVO's own terms); the templates are
``reports/breach.*.j2`` and ``reports/incident.*.j2``. What the tool cannot know is marked for the controller
to complete, never invented."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from seccenter.incidents import cases, timeline
from seccenter.incidents.evidence import check_evidence
from seccenter.playbooks.runner import views as playbook_runs
from seccenter.privacy.breach import BreachError, breach_record
from seccenter.privacy.deadlines import OBLIGATIONS, shown
from seccenter.privacy.enisa import RISK_MEANING
from seccenter.report.playbook_view import PROGRESS_WORDS, progress
from seccenter.report.render import Document
from seccenter.store import ropa as ropa_store

WORDS: dict[str, dict[str, str]] = {
    "de": {
        "breach.title": "Meldung einer Verletzung des Schutzes personenbezogener Daten an die Aufsichtsbehörde "
                        "(Art. 33 DSGVO)",
        "draft": "Entwurf – vor dem Versand prüfen und ergänzen.",
        "incident": "Sicherheitsvorfall", "controller": "Verantwortlicher", "dpo": "Datenschutzbeauftragter",
        "times": "Zeitpunkte", "occurred": "Verletzung eingetreten (frühestes bekanntes Ereignis)",
        "aware": "Kenntnis des Verantwortlichen", "due": "Meldung fällig bis (72 Stunden, Art. 33 Abs. 1)",
        "submitted": "Gemeldet", "delay": "Gründe für die Verzögerung (Art. 33 Abs. 1 Satz 2)",
        "phased": "Die Informationen werden schrittweise bereitgestellt (Art. 33 Abs. 4).",
        "a": "a) Art der Verletzung, Kategorien und ungefähre Zahl der betroffenen Personen und Datensätze",
        "b": "b) Name und Kontaktdaten des Datenschutzbeauftragten oder einer sonstigen Anlaufstelle",
        "c": "c) Wahrscheinliche Folgen der Verletzung",
        "d": "d) Ergriffene oder vorgeschlagene Maßnahmen zur Behebung und Abmilderung",
        "losses": "Art der Verletzung", "confidentiality": "Verletzung der Vertraulichkeit",
        "integrity": "Verletzung der Integrität", "availability": "Verletzung der Verfügbarkeit",
        "malicious": "vorsätzlich herbeigeführt", "subjects": "Kategorien betroffener Personen",
        "subjects_count": "Ungefähre Zahl betroffener Personen", "categories": "Kategorien personenbezogener Daten",
        "special": "Besondere Kategorien (Art. 9, 10 DSGVO)", "records": "Ungefähre Zahl der Datensätze",
        "activities": "Betroffene Verarbeitungstätigkeiten", "complete": "[vom Verantwortlichen zu ergänzen]",
        "severity": "Schwere nach ENISA (2013): SE = DPC × EI + CB", "factor": "Faktor", "value": "Wert",
        "reason": "Begründung", "risk": "Risiko", "measures_taken": "Maßnahmen laut Vorgangsakte",
        "status": "Bearbeitungsstand", "reasoning": "Begründung der Entscheidung (Dokumentation, Art. 33 Abs. 5)",
        "art34.title": "Benachrichtigung der betroffenen Personen (Art. 34 DSGVO)",
        "art34.not_required": "Eine Benachrichtigung der betroffenen Personen ist nicht erforderlich.",
        "art34.public": "Statt einer Einzelbenachrichtigung erfolgt eine öffentliche Bekanntmachung "
                        "(Art. 34 Abs. 3 lit. c).",
        "art34.what": "Was ist geschehen?", "art34.consequences": "Welche Folgen kann das für Sie haben?",
        "art34.measures": "Was haben wir unternommen?", "art34.contact": "An wen können Sie sich wenden?",
        "art34.you": "Was können Sie selbst tun?",
        "not_assessed": "Der Vorfall ist nicht als Datenschutzverletzung bewertet.",
        "incident.title": "Bericht zum Sicherheitsvorfall", "category": "Kategorie", "owner": "Bearbeitung",
        "opened": "Eröffnet", "closed": "Abgeschlossen", "obligations": "Melde- und Benachrichtigungspflichten",
        "obligation": "Pflicht", "basis": "Rechtsgrundlage", "state": "Stand", "no_fixed": "unverzüglich",
        "evidence": "Beweismittel", "name": "Name", "size": "Größe (Bytes)", "timeline": "Zeitleiste",
        "time": "Zeit", "kind": "Art", "who": "Wer", "what": "Was", "none": "keine",
        "state.open": "offen", "state.partial": "teilweise gemeldet", "state.done": "erledigt",
        "state.not_required": "nicht erforderlich",
        "due_at": "Fällig", "ob.art33_authority": "Meldung an die Aufsichtsbehörde",
        "ob.art34_data_subjects": "Benachrichtigung der betroffenen Personen",
        "ob.art34_public_communication": "Öffentliche Bekanntmachung statt Einzelbenachrichtigung",
        "ob.nis2_early_warning": "Frühwarnung an das CSIRT / die zuständige Behörde",
        "ob.nis2_notification": "Meldung des Sicherheitsvorfalls an das CSIRT / die zuständige Behörde",
        "ob.nis2_final_report": "Abschlussbericht an das CSIRT / die zuständige Behörde",
        "ev.ok": "unverändert", "ev.missing": "FEHLT", "ev.altered": "VERÄNDERT", "ev.unreadable": "nicht lesbar",
    },
    "en": {
        "breach.title": "Notification of a personal data breach to the supervisory authority (Art. 33 GDPR)",
        "draft": "Draft – check and complete before sending.",
        "incident": "Security incident", "controller": "Controller", "dpo": "Data protection officer",
        "times": "Times", "occurred": "Breach occurred (earliest known event)",
        "aware": "Controller became aware", "due": "Notification due (72 hours, Art. 33(1))",
        "submitted": "Notified", "delay": "Reasons for the delay (Art. 33(1), second sentence)",
        "phased": "The information is provided in phases (Art. 33(4)).",
        "a": "(a) Nature of the breach, categories and approximate number of data subjects and records concerned",
        "b": "(b) Name and contact details of the data protection officer or other contact point",
        "c": "(c) Likely consequences of the breach",
        "d": "(d) Measures taken or proposed to address the breach and mitigate its effects",
        "losses": "Kind of breach", "confidentiality": "breach of confidentiality",
        "integrity": "breach of integrity", "availability": "breach of availability",
        "malicious": "caused intentionally", "subjects": "Categories of data subjects",
        "subjects_count": "Approximate number of data subjects", "categories": "Categories of personal data",
        "special": "Special categories (Art. 9, 10 GDPR)", "records": "Approximate number of records",
        "activities": "Processing activities concerned", "complete": "[to be completed by the controller]",
        "severity": "Severity by ENISA (2013): SE = DPC × EI + CB", "factor": "Factor", "value": "Value",
        "reason": "Reason", "risk": "Risk", "measures_taken": "Measures in the case file",
        "status": "Case status", "reasoning": "Reasoning of the decision (documentation, Art. 33(5))",
        "art34.title": "Communication to the data subjects (Art. 34 GDPR)",
        "art34.not_required": "A communication to the data subjects is not required.",
        "art34.public": "Instead of telling each person, a public communication informs them (Art. 34(3)(c)).",
        "art34.what": "What happened?", "art34.consequences": "What can this mean for you?",
        "art34.measures": "What have we done?", "art34.contact": "Whom can you contact?",
        "art34.you": "What can you do yourself?",
        "not_assessed": "The incident has not been assessed as a personal data breach.",
        "incident.title": "Security incident report", "category": "Category", "owner": "Owner",
        "opened": "Opened", "closed": "Closed", "obligations": "Notification obligations",
        "obligation": "Obligation", "basis": "Legal basis", "state": "State", "no_fixed": "without undue delay",
        "evidence": "Evidence", "name": "Name", "size": "Size (bytes)", "timeline": "Timeline",
        "time": "Time", "kind": "Kind", "who": "Who", "what": "What", "none": "none",
        "state.open": "open", "state.partial": "partly notified", "state.done": "done",
        "state.not_required": "not required",
        "due_at": "Due", **{f"ob.{key}": item.label[0].upper() + item.label[1:] for key, item in OBLIGATIONS.items()},
        "ev.ok": "unchanged", "ev.missing": "MISSING", "ev.altered": "ALTERED", "ev.unreadable": "unreadable",
    },
}
RISK_MEANING_DE = {  # ENISA (2013), section 3, in German
    "low": "Die Betroffenen werden nicht beeinträchtigt oder erleben einige Unannehmlichkeiten, die sie ohne "
           "Probleme überwinden.",
    "medium": "Die Betroffenen können erhebliche Unannehmlichkeiten erleben, die sie trotz einiger Schwierigkeiten "
              "überwinden können.",
    "high": "Die Betroffenen können erhebliche Folgen erleben, die sie nur mit ernsthaften Schwierigkeiten "
            "überwinden können.",
    "very high": "Die Betroffenen können erhebliche oder sogar irreversible Folgen erleben, die sie möglicherweise "
                 "nicht überwinden.",
}
RISK_WORDS = {"de": {"low": "gering", "medium": "mittel", "high": "hoch", "very high": "sehr hoch"},
              "en": {"low": "low", "medium": "medium", "high": "high", "very high": "very high"}}


def _obligations(items: list[dict[str, Any]], zone: tzinfo) -> list[dict[str, Any]]:
    return [{"obligation": item["obligation"], "basis": OBLIGATIONS[item["obligation"]].basis,
             "label": OBLIGATIONS[item["obligation"]].label, "status": item["status"],
             "due": shown(item["due"], zone) if item["due"] else None} for item in items]


def _contacts(db: Database, activity_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Controllers and DPOs of the activities concerned, each once."""
    found: dict[str, dict[tuple[str, str], dict[str, str]]] = {"controllers": {}, "dpos": {}}
    for activity_id in activity_ids:
        activity = ropa_store.get_activity(db, activity_id)
        for key, contact in (("controllers", activity and activity.controller), ("dpos", activity and activity.dpo)):
            if contact:
                found[key].setdefault((contact.name, contact.contact), {"name": contact.name,
                                                                        "contact": contact.contact})
    return {key: list(values.values()) for key, values in found.items()}


def _measures(entries: list[dict[str, Any]], zone: tzinfo) -> list[dict[str, Any]]:
    return [{**entry, "time": shown(entry["time"], zone)} for entry in entries
            if entry["kind"] in ("status", "note", "evidence")]


def breach_document(db: Database, incident_id: int, zone: tzinfo) -> Document:
    """Art. 33(3)(a)-(d) notification draft and Art. 34(2) communication draft for an assessed incident."""
    record = breach_record(db, incident_id)
    case = cases.get(db, incident_id)
    result = record["assessment"]["result"]
    inputs = record["assessment"]["inputs"]
    personal = result["personal_data"]
    entries = [entry.to_dict() for entry in timeline.build(db, incident_id)]
    obligations = _obligations(record["obligations"], zone)
    art33 = next((item for item in record["submissions"] if item["obligation"] == "art33_authority"), None)
    data = {
        "report": "breach", "incident": case, "assessment": {
            "aware_at": shown(record["assessment"]["aware_at"], zone),
            "occurred_at": shown(record["assessment"]["occurred_at"], zone) if record["assessment"]["occurred_at"]
            else None,
            "severity": result["severity"], "risk": result["risk"], "notify_authority": result["notify_authority"],
            "notify_subjects": result["notify_subjects"], "factors": result["factors"], "reasons": result["reasons"],
        },
        "losses": {name: bool(inputs.get(name) or inputs.get(detail)) for name, detail in
                   (("confidentiality", "disclosure"), ("integrity", "alteration"),
                    ("availability", "unavailability"))} | {"malicious": bool(inputs.get("malicious"))},
        "subjects_count": inputs.get("subjects") if inputs.get("subjects") is not None
        else personal["approximate_subjects"],
        "personal_data": personal, "contacts": _contacts(db, personal.get("activity_ids", [])),
        "obligations": obligations,
        "submissions": [{**item, "submitted_at": shown(item["submitted_at"], zone)} for item in record["submissions"]],
        "art33_submission": {**art33, "submitted_at": shown(art33["submitted_at"], zone)} if art33 else None,
        "public_communication": any(item["obligation"] == "art34_public_communication" for item in obligations),
        "measures": _measures(entries, zone),
    }
    return Document(kind="breach", context={**data, "words": WORDS, "risk_words": RISK_WORDS,
                                            "risk_meaning": {"en": RISK_MEANING, "de": RISK_MEANING_DE}}, data=data)


def incident_document(db: Database, db_path: Path, incident_id: int, zone: tzinfo) -> Document:
    """The case with its deadlines, assessment, evidence (re-hashed now) and timeline."""
    case = cases.get_with_obligations(db, incident_id)
    try:
        assessment = breach_record(db, incident_id)["assessment"]["result"]
    except BreachError:  # not assessed: an incident without a personal-data breach
        assessment = None
    data = {
        "report": "incident", "incident": {**{key: value for key, value in case.items() if key != "obligations"},
                                           **{key: shown(case[key], zone) for key in ("created", "closed")
                                              if case[key]}},
        "obligations": _obligations(case["obligations"], zone),
        "assessment": {key: assessment[key] for key in ("severity", "risk", "notify_authority", "notify_subjects",
                                                         "reasons")} if assessment else None,
        "evidence": [state.to_dict() for state in check_evidence(db, db_path, incident_id)],
        "timeline": [{**entry.to_dict(), "time": shown(entry.time, zone)} for entry in timeline.build(db, incident_id)],
        "playbooks": progress(playbook_runs(db, incident_id), zone),
        "generated_at": shown(datetime.now(UTC), zone),
    }
    return Document(kind="incident", context={**data, "words": WORDS, "risk_words": RISK_WORDS,
                                              "playbook_words": PROGRESS_WORDS}, data=data)
