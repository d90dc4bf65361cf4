"""Checks of the register against the GDPR, each finding citing its article.

Errors make ``ropa validate`` exit 1; warnings are shown but pass (points a DPO should look at, such as a
legal basis under Art. 6(1)(c)/(e) that does not name the law it rests on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from seccenter.privacy.records import Contact
from seccenter.privacy.ropa import ProcessingActivity, ProcessorRecord, Register, parse_legal_basis

REVIEW_INTERVAL = timedelta(days=365)
"""A record not reviewed for longer than this is reported (Art. 24(1): measures "reviewed and updated where
necessary"; a yearly review is what German supervisory authorities expect of a register)."""


@dataclass(frozen=True)
class Finding:
    record: str
    record_type: str
    field: str
    article: str
    message: str
    severity: str = "error"

    def to_dict(self) -> dict[str, Any]:
        return {"record": self.record, "record_type": self.record_type, "field": self.field,
                "article": self.article, "message": self.message, "severity": self.severity}


def _missing_contact(contact: Contact | None) -> str | None:
    if contact is None or not contact.name:
        return "no name"
    if not contact.contact:
        return "no contact details"
    return None


def check_activity(activity: ProcessingActivity, as_of: date, known_assets: set[str] | None) -> list[Finding]:
    findings: list[Finding] = []

    def add(field: str, article: str, message: str, severity: str = "error") -> None:
        findings.append(Finding(activity.id, "processing_activity", field, article, message, severity))

    if not activity.name:
        add("name", "Art. 30(1)", "no name: the activity cannot be told apart in the register")
    if reason := _missing_contact(activity.controller):
        add("controller", "Art. 30(1)(a)", f"controller: {reason}")
    if activity.dpo is None:
        add("dpo", "Art. 30(1)(a), Art. 37(1)(a)", "no data protection officer named (a public authority must "
                                                   "designate one)")
    elif not activity.dpo.contact:
        add("dpo", "Art. 30(1)(a)", "data protection officer: no contact details")
    for index, joint in enumerate(activity.joint_controllers):
        if reason := _missing_contact(joint):
            add(f"joint_controllers[{index}]", "Art. 30(1)(a), Art. 26", f"joint controller: {reason}")
    if activity.representative is not None and not activity.representative.contact:
        add("representative", "Art. 30(1)(a), Art. 27", "representative: no contact details")
    if not activity.purposes:
        add("purposes", "Art. 30(1)(b), Art. 5(1)(b)", "no purposes of the processing")
    _check_legal_basis(activity, add)
    if not activity.data_subjects:
        add("data_subjects", "Art. 30(1)(c)", "no categories of data subjects")
    if not activity.data_categories:
        add("data_categories", "Art. 30(1)(c)", "no categories of personal data")
    for index, transfer in enumerate(activity.third_country_transfers):
        if not transfer.country:
            add(f"third_country_transfers[{index}]", "Art. 30(1)(e)", "transfer without the third country or "
                                                                       "international organisation")
        if not transfer.safeguard:
            add(f"third_country_transfers[{index}]", "Art. 30(1)(e), Art. 44-49",
                f"transfer to {transfer.country or 'a third country'} without a safeguard (adequacy decision, "
                "standard contractual clauses, binding corporate rules or an Art. 49 derogation)")
    if activity.third_country_transfers and not activity.recipients:
        add("recipients", "Art. 30(1)(d)", "third-country transfers but no recipients named")
    if not activity.retention:
        add("retention", "Art. 30(1)(f), Art. 5(1)(e)", "no time limit for erasure (retention period)")
    if not any(activity.security_measures.values()):
        add("security_measures", "Art. 30(1)(g), Art. 32(1)", "no technical and organisational security measures")
    if activity.status != "retired":
        if activity.last_reviewed is None:
            add("last_reviewed", "Art. 5(2), Art. 24(1)", "never reviewed")
        elif as_of - activity.last_reviewed > REVIEW_INTERVAL:
            add("last_reviewed", "Art. 5(2), Art. 24(1)",
                f"not reviewed for over a year (last on {activity.last_reviewed.isoformat()})")
        elif activity.last_reviewed > as_of:
            add("last_reviewed", "Art. 5(2)", f"review date {activity.last_reviewed.isoformat()} is in the future")
    if known_assets is not None:
        for system in activity.systems:
            if system not in known_assets:
                add("systems", "Art. 30(1)(g), Art. 5(2)", f"system {system!r} is not a known asset "
                                                           "(add it with `seccenter asset add`)")
    return findings


def _check_legal_basis(activity: ProcessingActivity, add: Any) -> None:
    if not activity.legal_basis:
        add("legal_basis", "Art. 6(1), Art. 5(1)(a)", "no legal basis")
    parsed = []
    for index, text in enumerate(activity.legal_basis):
        basis = parse_legal_basis(text)
        if basis is None:
            add(f"legal_basis[{index}]", "Art. 6(1)", f"{text!r:.80} does not start with Art. 6(1)(a)-(f), "
                                                      "Art. 9(2)(a)-(j) or Art. 10")
            continue
        parsed.append(basis)
        if basis.article == 6 and basis.point in ("c", "e") and not basis.names_a_law:
            add(f"legal_basis[{index}]", "Art. 6(3)", f"{basis.label} rests on Union or Member State law: name it "
                                                      "(e.g. 'Art. 6(1)(e) with § 3 BDSG')", "warning")
        if basis.article == 6 and basis.point == "f":
            add(f"legal_basis[{index}]", "Art. 6(1) subparagraph 2",
                "Art. 6(1)(f) does not apply to processing by public authorities in the performance of their tasks",
                "warning")
    articles = {basis.article for basis in parsed}
    points6 = [basis for basis in parsed if basis.article == 6]
    if parsed and not points6:
        add("legal_basis", "Art. 6(1)", "no Art. 6(1) basis (Art. 9(2) and Art. 10 only lift prohibitions; the "
                                        "processing still needs one of Art. 6(1)(a)-(f))")
    special = set(activity.special_categories)
    if special - {"criminal_convictions"} and 9 not in articles:
        names = ", ".join(sorted(special - {"criminal_convictions"}))
        add("special_categories", "Art. 9(2)", f"special categories ({names}) without an Art. 9(2) basis")
    if "criminal_convictions" in special and 10 not in articles:
        add("special_categories", "Art. 10", "data on criminal convictions and offences without an Art. 10 basis "
                                             "(official authority or authorising law)")
    if 9 in articles and not special - {"criminal_convictions"}:
        add("legal_basis", "Art. 9(2)", "an Art. 9(2) basis but no special categories listed", "warning")


def check_processor(record: ProcessorRecord) -> list[Finding]:
    findings: list[Finding] = []

    def add(field: str, article: str, message: str) -> None:
        findings.append(Finding(record.id, "processor", field, article, message))

    if reason := _missing_contact(record.processor):
        add("processor", "Art. 30(2)(a)", f"processor: {reason}")
    if not record.controllers:
        add("controllers", "Art. 30(2)(a)", "no controller on whose behalf the processing is done")
    for index, controller in enumerate(record.controllers):
        if reason := _missing_contact(controller):
            add(f"controllers[{index}]", "Art. 30(2)(a)", f"controller: {reason}")
    if not record.categories_of_processing:
        add("categories_of_processing", "Art. 30(2)(b)", "no categories of processing")
    for index, transfer in enumerate(record.third_country_transfers):
        if not transfer.country or not transfer.safeguard:
            add(f"third_country_transfers[{index}]", "Art. 30(2)(c), Art. 44-49",
                f"transfer to {transfer.country or 'an unnamed third country'} "
                f"{'without a safeguard' if transfer.country else ''}".strip())
    if not any(record.security_measures.values()):
        add("security_measures", "Art. 30(2)(d), Art. 32(1)", "no technical and organisational security measures")
    return findings


def validate_register(register: Register, as_of: date, known_assets: Iterable[str] | None = None) -> list[Finding]:
    """Every finding for every record, in register order. ``known_assets`` (ids) enables the systems check;
    the register's own assets always count as known."""
    known = set(known_assets) | {asset.id for asset in register.assets} if known_assets is not None else None
    findings: list[Finding] = []
    for activity in register.processing_activities:
        findings += check_activity(activity, as_of, known)
    for record in register.processors:
        findings += check_processor(record)
    return findings


def failed_records(findings: Iterable[Finding]) -> list[str]:
    """Ids of the records with at least one error, in order."""
    return list(dict.fromkeys(finding.record for finding in findings if finding.severity == "error"))
