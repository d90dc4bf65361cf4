"""Data protection impact assessment (Art. 35): the screening that decides whether one is needed, and the
DPIA record itself with its risks.

Risks are assessed per feared event (CNIL PIA method: illegitimate access to, unwanted modification of and
disappearance of personal data) on four levels of severity and likelihood; the level of risk comes from the
matrix of DSK Kurzpapier Nr. 18 ("Risiko für die Rechte und Freiheiten natürlicher Personen"): low, medium
("Risiko") or high. A residual risk that stays high after the measures requires prior consultation of the
supervisory authority (Art. 36(1)).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from seccenter.privacy.dpia_lists import (
    ART_35_3,
    DSK_LIST,
    KEYWORDS,
    LARGE_SCALE_SUBJECTS,
    PUBLIC_AREA,
    WP248_CRITERIA,
    DskItem,
)
from seccenter.privacy.records import FieldSpec, Problem, Problems, RegisterError, Source, read_record
from seccenter.privacy.ropa import ProcessingActivity
from seccenter.yamlfile import YamlFileError, load_documents

CRITERIA = tuple(WP248_CRITERIA)
FEARED_EVENTS = ("illegitimate_access", "unwanted_modification", "disappearance")
LEVELS = ("negligible", "limited", "significant", "maximum")
"""Severity and likelihood, 1-4 (CNIL); the DSK calls them geringfügig, überschaubar, substanziell, groß."""

RISK_MATRIX = (
    # severity:  1        2         3         4          likelihood
    ("low", "low", "medium", "medium"),  # 1 negligible
    ("low", "medium", "medium", "high"),  # 2 limited
    ("medium", "medium", "high", "high"),  # 3 significant
    ("medium", "high", "high", "high"),  # 4 maximum
)
"""Level of risk by likelihood (row) and severity (column), after the matrix of DSK Kurzpapier Nr. 18."""


def risk_level(severity: int | None, likelihood: int | None) -> str | None:
    if severity is None or likelihood is None:
        return None
    return RISK_MATRIX[likelihood - 1][severity - 1]


@dataclass(frozen=True)
class Reason:
    """Why a screening decided as it did. ``code``: ``wp248:<criterion>``, ``given:<criterion>``,
    ``art35_3:<point>``, ``dsk:<number>``, ``verdict:required`` or ``verdict:not_required``; ``detail`` is the
    record's own text that pointed there (shown in documents in the record's language)."""

    code: str
    text: str
    detail: str = ""


@dataclass(frozen=True)
class Screening:
    activity: str
    dpia_required: bool
    criteria: tuple[str, ...]
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"activity": self.activity, "dpia_required": self.dpia_required, "criteria": list(self.criteria),
                "reasons": [reason.text for reason in self.reasons]}


def _record_text(activity: ProcessingActivity) -> list[tuple[str, str]]:
    """(key, text) pairs the keyword rules read: name, purposes and data categories."""
    return [("name", activity.name), *(("purposes", text) for text in activity.purposes),
            *(("data_categories", text) for text in activity.data_categories)]


def _first_match(pairs: Iterable[tuple[str, str]], pattern: Any) -> tuple[str, str] | None:
    for key, text in pairs:
        if text and pattern.search(text):
            return key, text
    return None


def infer_criteria(activity: ProcessingActivity) -> dict[str, str]:
    """WP248 criteria the record itself shows, each with the evidence (``key: text``)."""
    found: dict[str, str] = {}
    texts = _record_text(activity)
    special = set(activity.special_categories)
    if special:
        found["sensitive_data"] = f"special_categories: {', '.join(activity.special_categories)}"
    elif match := _first_match((pair for pair in texts if pair[0] == "data_categories"), KEYWORDS["sensitive_data"]):
        found["sensitive_data"] = f"{match[0]}: {match[1]}"
    if match := _first_match((("data_subjects", text) for text in activity.data_subjects),
                             KEYWORDS["vulnerable_subjects"]):
        found["vulnerable_subjects"] = f"{match[0]}: {match[1]}"
    if activity.data_subjects_count is not None and activity.data_subjects_count >= LARGE_SCALE_SUBJECTS:
        found["large_scale"] = f"data_subjects_count: {activity.data_subjects_count} (≥ {LARGE_SCALE_SUBJECTS})"
    if special & {"biometric", "genetic"}:
        found["innovative_technology"] = f"special_categories: {', '.join(sorted(special & {'biometric', 'genetic'}))}"
    for criterion in ("systematic_monitoring", "evaluation_scoring", "automated_decision", "matching_datasets",
                      "innovative_technology", "prevents_rights"):
        if criterion not in found and (match := _first_match(texts, KEYWORDS[criterion])):
            found[criterion] = f"{match[0]}: {match[1]}"
    return found


def _dsk_matches(item: DskItem, activity: ProcessingActivity, criteria: set[str]) -> str | None:
    """The evidence when ``item`` of the DSK list applies to the activity, else None."""
    special = set(activity.special_categories)
    if item.special and not item.special & special:
        return None
    if not item.requires <= criteria or (item.requires_any and not item.requires_any & criteria):
        return None
    if len(criteria - {"sensitive_data", "innovative_technology"}) < item.further_criteria:
        return None
    evidence = []
    if item.keywords is not None:
        pairs = _record_text(activity) + [("data_subjects", text) for text in activity.data_subjects]
        match = _first_match(pairs, item.keywords)
        if match is None:
            return None
        evidence.append(f"{match[0]}: {match[1]}")
    if item.special:
        evidence.append(f"special_categories: {', '.join(sorted(item.special & special))}")
    evidence += sorted(item.requires | (item.requires_any & criteria))
    return "; ".join(evidence)


def screen(activity: ProcessingActivity, given: Iterable[str] = ()) -> Screening:
    """Screen ``activity`` against WP248, Art. 35(3) and the DSK list; ``given`` names criteria the DPO
    asserts (unknown names raise ``ValueError``). Two or more WP248 criteria, an Art. 35(3) case or a DSK
    item → a DPIA is required."""
    given = list(dict.fromkeys(given))
    unknown = [name for name in given if name not in WP248_CRITERIA]
    if unknown:
        raise ValueError(f"unknown criteria: {', '.join(unknown)} (known: {', '.join(CRITERIA)})")
    inferred = infer_criteria(activity)
    reasons: list[Reason] = []
    for name in CRITERIA:
        if name in given:
            reasons.append(Reason(f"given:{name}", f"{name}: {WP248_CRITERIA[name]} (WP248 rev.01; given)"))
        elif name in inferred:
            reasons.append(Reason(f"wp248:{name}", f"{name}: {WP248_CRITERIA[name]} (WP248 rev.01; from "
                                                   f"{inferred[name]})", inferred[name]))
    criteria = tuple(name for name in CRITERIA if name in given or name in inferred)
    met = set(criteria)
    cases = []
    if {"evaluation_scoring", "automated_decision"} <= met:
        cases.append("a")
    if "large_scale" in met and activity.special_categories:
        cases.append("b")
    if {"systematic_monitoring", "large_scale"} <= met and _first_match(_record_text(activity), PUBLIC_AREA):
        cases.append("c")
    for point in cases:
        reasons.append(Reason(f"art35_3:{point}", f"Art. 35(3)({point}) GDPR: {ART_35_3[point]}"))
    dsk_items = 0
    for item in DSK_LIST:
        if (evidence := _dsk_matches(item, activity, met)) is not None:
            dsk_items += 1
            reasons.append(Reason(f"dsk:{item.number}", f"DSK list (Art. 35(4), version 1.1) no. {item.number}: "
                                                         f"{item.summary} (from {evidence})", evidence))
    required = len(criteria) >= 2 or bool(cases) or dsk_items > 0
    if required:
        why = [f"{len(criteria)} WP248 criteria met"] if len(criteria) >= 2 else []
        why += [f"Art. 35(3)({point})" for point in cases] + ([f"{dsk_items} DSK list item(s)"] if dsk_items else [])
        reasons.append(Reason("verdict:required", f"DPIA required (Art. 35(1)): {', '.join(why)}"))
    else:
        reasons.append(Reason("verdict:not_required",
                              f"no DPIA required by the screening: {len(criteria)} WP248 criterion met (two or more "
                              "indicate one), no Art. 35(3) case, no DSK list item; document this result"))
    return Screening(activity.id, required, criteria, tuple(reasons))


@dataclass(frozen=True)
class Risk:
    """One feared event, assessed before and after the measures."""

    event: str
    description: str = ""
    threats: tuple[str, ...] = ()
    severity: int | None = None
    likelihood: int | None = None
    measures: tuple[str, ...] = ()
    residual_severity: int | None = None
    residual_likelihood: int | None = None

    @property
    def level(self) -> str | None:
        return risk_level(self.severity, self.likelihood)

    @property
    def residual_level(self) -> str | None:
        """After the measures; where no residual value is given, the measures are not taken to reduce it."""
        return risk_level(self.residual_severity or self.severity, self.residual_likelihood or self.likelihood)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "description": self.description, "threats": list(self.threats),
                "severity": self.severity, "likelihood": self.likelihood, "measures": list(self.measures),
                "residual_severity": self.residual_severity, "residual_likelihood": self.residual_likelihood,
                "level": self.level, "residual_level": self.residual_level}


RISK_FIELDS = (
    FieldSpec("event", "text", FEARED_EVENTS, required=True), FieldSpec("description", "text"),
    FieldSpec("threats", "texts"), FieldSpec("severity", "level"), FieldSpec("likelihood", "level"),
    FieldSpec("measures", "texts"), FieldSpec("residual_severity", "level"),
    FieldSpec("residual_likelihood", "level"),
    # written by to_dict for readers of the JSON; recomputed, never read back
    FieldSpec("level", "raw"), FieldSpec("residual_level", "raw"),
)


@dataclass(frozen=True)
class DpiaContent:
    """What the DPO writes (``dpia create --from FILE.yaml``): Art. 35(7)(a)-(d), Art. 35(2) and 35(9)."""

    status: str = "draft"
    description: str = ""
    necessity_proportionality: str = ""
    risks: tuple[Risk, ...] = ()
    measures: tuple[str, ...] = ()
    dpo_opinion: str = ""
    data_subject_views: str = ""


CONTENT_FIELDS = (
    FieldSpec("status", "text", ("draft", "final")), FieldSpec("description", "text"),
    FieldSpec("necessity_proportionality", "text"), FieldSpec("risks", "raw"), FieldSpec("measures", "texts"),
    FieldSpec("dpo_opinion", "text"), FieldSpec("data_subject_views", "text"),
)


@dataclass(frozen=True)
class Dpia:
    id: str
    activity: str
    content: DpiaContent
    screening: Screening
    created: str = ""
    updated: str = ""

    @property
    def assessed(self) -> bool:
        return bool(self.content.risks) and all(risk.level is not None for risk in self.content.risks)

    @property
    def prior_consultation(self) -> bool:
        """Art. 36(1): a high risk remains after the measures."""
        return any(risk.residual_level == "high" for risk in self.content.risks)

    def to_dict(self) -> dict[str, Any]:
        content = self.content
        return {"id": self.id, "activity": self.activity, "status": content.status, "created": self.created,
                "updated": self.updated, "description": content.description,
                "necessity_proportionality": content.necessity_proportionality,
                "risks": [risk.to_dict() for risk in content.risks], "measures": list(content.measures),
                "dpo_opinion": content.dpo_opinion, "data_subject_views": content.data_subject_views,
                "assessed": self.assessed, "prior_consultation": self.prior_consultation,
                "screening": {**self.screening.to_dict(),
                              "reason_codes": [[reason.code, reason.detail] for reason in self.screening.reasons]}}


_STORED_KEYS = ("id", "activity", "created", "updated", "assessed", "prior_consultation", "screening")
_DERIVED_RISK_KEYS = ("level", "residual_level")


def read_content(document: Any, source: Source, problems: Problems) -> DpiaContent | None:
    """DPIA content from a parsed mapping; None when wrong (the errors are in ``problems``). The keys that
    ``Dpia.to_dict`` adds are accepted, so an exported DPIA can be edited and read back."""
    specs = CONTENT_FIELDS + tuple(FieldSpec(key, "raw") for key in _STORED_KEYS)
    raw = read_record(dict, specs, document, source, "dpia", problems)
    risks: list[Risk] = []
    failed = raw is None
    items = document.get("risks") if isinstance(document, dict) else None
    if items is not None:
        if not isinstance(items, list):
            problems.errors.append(Problem(source.at(document, "risks"), "dpia.risks", "must be a list of risks"))
            return None
        for index, item in enumerate(items):
            values = read_record(dict, RISK_FIELDS, item, source, f"dpia.risks[{index}]", problems)
            if values is None:
                failed = True
                continue
            risks.append(Risk(**{key: value for key, value in values.items() if key not in _DERIVED_RISK_KEYS}))
    if failed or raw is None:
        return None
    return DpiaContent(status=raw.get("status") or "draft", description=raw.get("description", ""),
                       necessity_proportionality=raw.get("necessity_proportionality", ""), risks=tuple(risks),
                       measures=raw.get("measures", ()), dpo_opinion=raw.get("dpo_opinion", ""),
                       data_subject_views=raw.get("data_subject_views", ""))


def read_content_yaml(text: str, path: str) -> tuple[DpiaContent, list[Problem]]:
    """``dpia create --from FILE``: the content and the warnings; raises ``RegisterError``."""
    try:
        documents = load_documents(text, path)
    except YamlFileError as error:
        raise RegisterError([Problem(str(error.location), "", error.reason)]) from None
    if len(documents) != 1:
        raise RegisterError([Problem(path, "", "expected one YAML document with the DPIA's content")])
    problems = Problems()
    content = read_content(documents[0], Source(path), problems)
    problems.raise_if_any()
    assert content is not None
    return content, problems.warnings


def skeleton(activity: ProcessingActivity) -> DpiaContent:
    """A draft to complete: the description drawn from the register, the three feared events to assess,
    the activity's security measures as the measures so far."""
    parts = [("Purposes", activity.purposes), ("Data subjects", activity.data_subjects),
             ("Personal data", activity.data_categories + activity.special_categories),
             ("Recipients", activity.recipients), ("Systems", activity.systems), ("Retention", (activity.retention,))]
    description = "\n".join(f"{label}: {'; '.join(filter(None, items))}" for label, items in parts if any(items))
    measures = tuple(f"{category}: {measure}" for category, items in activity.security_measures.items()
                     for measure in items)
    return DpiaContent(description=description, risks=tuple(Risk(event) for event in FEARED_EVENTS),
                       measures=measures)


def new_dpia(dpia_id: str, activity: ProcessingActivity, content: DpiaContent | None = None,
             given: Iterable[str] = ()) -> Dpia:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return Dpia(dpia_id, activity.id, content or skeleton(activity), screen(activity, given), now, now)


def dpia_from_dict(document: dict[str, Any]) -> Dpia:
    """A DPIA as ``to_dict`` wrote it (the store's copy)."""
    problems = Problems()
    content = read_content(document, Source("store dpia"), problems)
    problems.raise_if_any()
    assert content is not None
    screening = document["screening"]
    reasons = tuple(Reason(code, text, detail) for (code, detail), text in
                    zip(screening.get("reason_codes", []), screening["reasons"], strict=False))
    return Dpia(document["id"], document["activity"], content,
                Screening(screening["activity"], screening["dpia_required"], tuple(screening["criteria"]), reasons),
                document.get("created", ""), document.get("updated", ""))
