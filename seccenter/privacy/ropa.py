"""The register of processing activities (Art. 30(1)) and the processor register (Art. 30(2)), with assets.

A register file (YAML or JSON) is one mapping::

    processing_activities: [ {id, name, controller: {name, contact}, purposes: [...], ...}, ... ]
    processors:            [ {id, processor: {name, contact}, controllers: [...], ...}, ... ]
    assets:                [ {id, name, hostname, addresses: [...], owner, criticality}, ... ]

The key names are those of ``ACTIVITY_FIELDS``, ``PROCESSOR_FIELDS`` and ``assets.ASSET_FIELDS``. A file
that is only a list holds processing activities. CSV is in ``register_csv``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from seccenter.privacy.assets import ASSET_FIELDS, Asset, asset_problems
from seccenter.privacy.records import (
    Contact,
    FieldSpec,
    Problem,
    Problems,
    RegisterError,
    Source,
    Transfer,
    read_record,
    record_to_dict,
)
from seccenter.yamlfile import YamlFileError, load_documents

SPECIAL_CATEGORIES = (
    "racial_ethnic_origin", "political_opinions", "religious_beliefs", "trade_union_membership", "genetic",
    "biometric", "health", "sex_life_orientation", "criminal_convictions",
)
"""Art. 9(1) categories, and Art. 10 data on criminal convictions and offences (``criminal_convictions``)."""

STATUSES = ("planned", "active", "suspended", "retired")


@dataclass(frozen=True)
class ProcessingActivity:
    """One entry of the controller's register, Art. 30(1)(a)-(g)."""

    id: str
    name: str = ""
    controller: Contact | None = None
    joint_controllers: tuple[Contact, ...] = ()
    representative: Contact | None = None
    dpo: Contact | None = None
    purposes: tuple[str, ...] = ()
    legal_basis: tuple[str, ...] = ()
    data_subjects: tuple[str, ...] = ()
    data_subjects_count: int | None = None
    data_categories: tuple[str, ...] = ()
    special_categories: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    third_country_transfers: tuple[Transfer, ...] = ()
    retention: str = ""
    security_measures: dict[str, tuple[str, ...]] = field(default_factory=dict)
    systems: tuple[str, ...] = ()
    status: str = "active"
    last_reviewed: date | None = None

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "active")

    def to_dict(self) -> dict[str, Any]:
        return record_to_dict(self)


ACTIVITY_FIELDS = (
    FieldSpec("id", "text", required=True), FieldSpec("name", "text"), FieldSpec("controller", "contact"),
    FieldSpec("joint_controllers", "contacts"), FieldSpec("representative", "contact"), FieldSpec("dpo", "contact"),
    FieldSpec("purposes", "texts"), FieldSpec("legal_basis", "texts"), FieldSpec("data_subjects", "texts"),
    FieldSpec("data_subjects_count", "count"), FieldSpec("data_categories", "texts"),
    FieldSpec("special_categories", "texts", SPECIAL_CATEGORIES), FieldSpec("recipients", "texts"),
    FieldSpec("third_country_transfers", "transfers"), FieldSpec("retention", "text"),
    FieldSpec("security_measures", "measures"), FieldSpec("systems", "texts"), FieldSpec("status", "text", STATUSES),
    FieldSpec("last_reviewed", "date"),
)


@dataclass(frozen=True)
class ProcessorRecord:
    """One entry of the processor's register, Art. 30(2)(a)-(d): what the city does on others' behalf."""

    id: str
    processor: Contact | None = None
    representative: Contact | None = None
    dpo: Contact | None = None
    controllers: tuple[Contact, ...] = ()
    categories_of_processing: tuple[str, ...] = ()
    third_country_transfers: tuple[Transfer, ...] = ()
    security_measures: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return record_to_dict(self)


PROCESSOR_FIELDS = (
    FieldSpec("id", "text", required=True), FieldSpec("processor", "contact"), FieldSpec("representative", "contact"),
    FieldSpec("dpo", "contact"), FieldSpec("controllers", "contacts"), FieldSpec("categories_of_processing", "texts"),
    FieldSpec("third_country_transfers", "transfers"), FieldSpec("security_measures", "measures"),
)

SECTIONS = {"processing_activities": (ProcessingActivity, ACTIVITY_FIELDS),
            "processors": (ProcessorRecord, PROCESSOR_FIELDS),
            "assets": (Asset, ASSET_FIELDS)}


@dataclass(frozen=True)
class Register:
    processing_activities: tuple[ProcessingActivity, ...] = ()
    processors: tuple[ProcessorRecord, ...] = ()
    assets: tuple[Asset, ...] = ()

    def to_document(self) -> dict[str, list[dict[str, Any]]]:
        return {name: [record.to_dict() for record in getattr(self, name)] for name in SECTIONS}

    def __len__(self) -> int:
        return len(self.processing_activities) + len(self.processors) + len(self.assets)


@dataclass(frozen=True)
class Loaded:
    """A register read from a file, and the warnings (unknown keys…) met on the way."""

    register: Register
    warnings: list[Problem]


def read_section(section: str, items: Any, source: Source, problems: Problems,
                 container: Any = None, indexed: bool = True) -> tuple[Any, ...]:
    """The records of one section (a list of mappings); duplicate ids are errors. Messages name a record as
    ``section[index] (id)``, or ``section (id)`` when not ``indexed`` (a CSV row, whose line says where)."""
    cls, specs = SECTIONS[section]
    if items is None:
        return ()
    if not isinstance(items, list):
        problems.errors.append(Problem(source.at(container, section), section, "must be a list of records"))
        return ()
    records, seen = [], {}
    for index, item in enumerate(items):
        ident = item.get("id") if isinstance(item, dict) else None
        where = (f"{section}[{index}]" if indexed else section) + \
            (f" ({str(ident)[:60]})" if ident not in (None, "") else "")
        record = read_record(cls, specs, item, source, where, problems)
        if record is None:
            continue
        if isinstance(record, Asset) and (wrong := asset_problems(record, source.at(item, "addresses"), where)):
            problems.errors.extend(wrong)
            continue
        if record.id in seen:
            problems.errors.append(Problem(source.at(item, "id"), where,
                                           f"duplicate id {record.id!r} (first at {seen[record.id]})"))
            continue
        seen[record.id] = source.at(item, "id")
        records.append(record)
    return tuple(records)


def register_from_document(document: Any, source: Source) -> Loaded:
    """A register from a parsed YAML/JSON document; raises ``RegisterError`` listing every error."""
    problems = Problems()
    if isinstance(document, list):
        document = {"processing_activities": document}
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise RegisterError([Problem(source.at(), "", "a register is a mapping with processing_activities, "
                                                      "processors and assets, or a list of processing activities")])
    for key in document:
        if key not in SECTIONS:
            problems.warnings.append(Problem(source.at(document, key), str(key),
                                             f"unknown section (ignored; known: {', '.join(SECTIONS)})"))
    sections = {name: read_section(name, document.get(name), source, problems, document) for name in SECTIONS}
    problems.raise_if_any()
    return Loaded(Register(**sections), problems.warnings)


def read_yaml(text: str, path: str) -> Loaded:
    try:
        documents = load_documents(text, path)
    except YamlFileError as error:
        raise RegisterError([Problem(str(error.location), "", error.reason)]) from None
    if len(documents) > 1:
        raise RegisterError([Problem(path, "", "more than one YAML document; a register is one document")])
    return register_from_document(documents[0] if documents else None, Source(path))


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise ValueError(f"duplicate key {key!r}")
        document[key] = value
    return document


def read_json(text: str, path: str) -> Loaded:
    try:
        document = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as error:
        raise RegisterError([Problem(f"{path}:{error.lineno}", "", error.msg)]) from None
    except (ValueError, RecursionError) as error:
        raise RegisterError([Problem(path, "", str(error) or "nested too deeply")]) from None
    return register_from_document(document, Source(path))


def read_one_activity(text: str, path: str) -> Loaded:
    """``ropa add --from FILE``: a file holding one processing activity (a mapping), YAML or JSON."""
    try:
        documents = load_documents(text, path)
    except YamlFileError as error:
        raise RegisterError([Problem(str(error.location), "", error.reason)]) from None
    document = documents[0] if len(documents) == 1 else None
    if isinstance(document, dict) and "id" in document:
        return register_from_document({"processing_activities": [document]}, Source(path))
    raise RegisterError([Problem(path, "", "expected one processing activity: a mapping with at least an id")])


@dataclass(frozen=True)
class LegalBasis:
    """A legal basis entry read as ``Art. 6(1)(e) …``: article, paragraph and point, and the rest of the text."""

    article: int
    paragraph: int | None
    point: str | None
    text: str
    rest: str = ""

    @property
    def names_a_law(self) -> bool:
        """Whether the text after the article names anything beyond the GDPR itself (e.g. ``with § 3 BDSG``)."""
        return bool(_GDPR_WORDS.sub("", self.rest))

    @property
    def label(self) -> str:
        if self.article == 10:
            return "Art. 10"
        return f"Art. {self.article}({self.paragraph})({self.point})"


_LEGAL_BASIS = re.compile(
    r"^\s*(?:art\.?|article|artikel)\s*(?P<article>6|9|10)\b"
    r"(?:\s*(?:\(\s*(?P<paragraph>\d+)\s*\)|abs\.?\s*(?P<absatz>\d+))"
    r"(?:\s*(?:uabs\.?|subparagraph)\s*\d+)?"
    r"\s*(?:\(\s*(?P<point>[a-z])\s*\)|lit\.?\s*(?P<lit>[a-z])\b|(?P<bare>[a-z])\b))?",
    re.IGNORECASE)
_POINTS = {6: (1, "abcdef"), 9: (2, "abcdefghij")}
_GDPR_WORDS = re.compile(r"(?i)\b(?:gdpr|dsgvo|ds-gvo|eu|regulation|verordnung|\(eu\)|2016/679)\b|[\W_]")


def parse_legal_basis(text: str) -> LegalBasis | None:
    """``Art. 6(1)(e) …``, ``Art. 6 Abs. 1 lit. e DSGVO …``, ``Art. 9(2)(b) …`` or ``Art. 10 …``; None when the
    entry does not start with one of these."""
    match = _LEGAL_BASIS.match(text)
    if not match:
        return None
    article = int(match.group("article"))
    if article == 10:
        return LegalBasis(10, None, None, text, text[match.end():])
    paragraph_text = match.group("paragraph") or match.group("absatz")
    point = (match.group("point") or match.group("lit") or match.group("bare") or "").lower()
    wanted_paragraph, points = _POINTS[article]
    if paragraph_text is None or int(paragraph_text) != wanted_paragraph or not point or point not in points:
        return None
    return LegalBasis(article, wanted_paragraph, point, text, text[match.end():])


class _Dumper(yaml.SafeDumper):
    """Text with characters that YAML reads as line breaks or cannot print plainly (NEL, LS, PS, control
    characters) is written double-quoted, where they are escaped, so that it reads back unchanged."""


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if _AWKWARD.search(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_AWKWARD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_Dumper.add_representer(str, _represent_text)


def dump_yaml(register: Register) -> str:
    return yaml.dump(register.to_document(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)


def dump_json(register: Register) -> str:
    return json.dumps(register.to_document(), indent=2, ensure_ascii=False) + "\n"
