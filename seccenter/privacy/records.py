"""Reading register records from mappings (YAML, JSON, CSV rows): typed fields, problems that say where.

Every record type is a frozen dataclass whose field names are the file's key names; a ``FieldSpec`` per
field says how its value is read. Reading collects every problem (errors and warnings) instead of stopping
at the first, so one run of ``ropa import`` or ``ropa validate FILE`` lists them all.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from seccenter.yamlfile import LineDict


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: ``location`` is ``path:line`` (or the path), ``where`` the record and key."""

    location: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.where}: {self.message}" if self.where else f"{self.location}: {self.message}"


class RegisterError(ValueError):
    """An input that cannot be read: every error found, and the warnings seen on the way."""

    def __init__(self, errors: list[Problem], warnings: list[Problem] | None = None) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors
        self.warnings = warnings or []


@dataclass
class Problems:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def raise_if_any(self) -> None:
        """Raise ``RegisterError`` with the errors in the order of their lines, if there are any."""
        if self.errors:
            raise RegisterError(sorted(self.errors, key=_line_of), self.warnings)


def _line_of(problem: Problem) -> int:
    _, _, line = problem.location.rpartition(":")
    return int(line) if line.isdigit() else 0


@dataclass(frozen=True)
class Source:
    """Where a mapping came from: a file, and the line of a CSV row (YAML mappings carry their own lines)."""

    path: str
    line: int | None = None

    def at(self, mapping: Any = None, key: Any = None) -> str:
        line = self.line
        if isinstance(mapping, LineDict):
            line = mapping.key_lines.get(key, mapping.line) if key is not None else mapping.line
        return f"{self.path}:{line}" if line is not None else self.path


@dataclass(frozen=True)
class Contact:
    """A controller, processor, representative or DPO: a name and how to reach them."""

    name: str = ""
    contact: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "contact": self.contact}


@dataclass(frozen=True)
class Transfer:
    """A transfer to a third country or international organisation and its safeguard (Art. 44-49)."""

    country: str = ""
    safeguard: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"country": self.country, "safeguard": self.safeguard}


@dataclass(frozen=True)
class FieldSpec:
    """How one key is read. ``kind``: text, texts (list of text), contact, contacts, transfers, measures
    (category → list of text), date, count (integer ≥ 0), level (1-4 or its name), raw (passed on as read).
    ``choices`` restricts text and texts."""

    key: str
    kind: str
    choices: tuple[str, ...] = ()
    required: bool = False


class _Reader:
    """Reads one record's values, reporting problems at the key's line."""

    def __init__(self, source: Source, where: str, problems: Problems) -> None:
        self.source = source
        self.where = where
        self.problems = problems

    def error(self, mapping: Any, key: Any, path: str, message: str) -> None:
        self.problems.errors.append(Problem(self.source.at(mapping, key), f"{self.where}.{path}", message))

    def warn(self, mapping: Any, key: Any, path: str, message: str) -> None:
        self.problems.warnings.append(Problem(self.source.at(mapping, key), f"{self.where}.{path}", message))

    def text(self, value: Any, mapping: Any, key: Any, path: str, choices: tuple[str, ...] = ()) -> str | None:
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.error(mapping, key, path, f"must be text, not {_type_name(value)}")
            return None
        text = str(value).strip()
        if choices and text and text not in choices:
            self.error(mapping, key, path, f"{text!r} is not one of {', '.join(choices)}")
            return None
        return text

    def texts(self, value: Any, mapping: Any, key: Any, path: str,
              choices: tuple[str, ...] = ()) -> tuple[str, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(mapping, key, path, f"must be a list of text, not {_type_name(value)}")
            return None
        items: list[str] = []
        for index, item in enumerate(value):
            text = self.text(item, mapping, key, f"{path}[{index}]", choices)
            if text == "":
                self.error(mapping, key, f"{path}[{index}]", "empty entry")
            elif text is not None:
                items.append(text)
        return tuple(items) if len(items) == len(value) else None

    def mapping_of(self, value: Any, mapping: Any, key: Any, path: str, keys: tuple[str, ...]) -> dict | None:
        if not isinstance(value, dict):
            self.error(mapping, key, path, f"must be a mapping with {' and '.join(keys)}, not {_type_name(value)}")
            return None
        values: dict[str, str] = {}
        for name, item in value.items():
            if name not in keys:
                self.warn(value, name, f"{path}.{name}", f"unknown key{_suggestion(name, keys)} (ignored)")
                continue
            text = self.text(item, value, name, f"{path}.{name}")
            if text is None:
                return None
            values[name] = text
        return values

    def contact(self, value: Any, mapping: Any, key: Any, path: str) -> Contact | None | bool:
        """A Contact, None for an empty one, False when wrong."""
        if value is None:
            return None
        values = self.mapping_of(value, mapping, key, path, ("name", "contact"))
        if values is None:
            return False
        found = Contact(**values)
        return found if found.name or found.contact else None

    def many(self, value: Any, mapping: Any, key: Any, path: str, make: Callable[..., Any],
             keys: tuple[str, ...]) -> tuple | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(mapping, key, path, f"must be a list of mappings with {' and '.join(keys)}")
            return None
        items = []
        for index, item in enumerate(value):
            values = self.mapping_of(item, mapping, key, f"{path}[{index}]", keys)
            if values is None:
                continue
            if not any(values.values()):
                self.error(mapping, key, f"{path}[{index}]", "empty entry")
                continue
            items.append(make(**values))
        return tuple(items) if len(items) == len(value) else None

    def measures(self, value: Any, mapping: Any, key: Any, path: str) -> dict[str, tuple[str, ...]] | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(mapping, key, path, f"must be a mapping of category to a list of measures, "
                                           f"not {_type_name(value)}")
            return None
        measures: dict[str, tuple[str, ...]] = {}
        for category, items in value.items():
            name = self.text(category, value, category, path)
            if not name:
                self.error(value, category, path, "empty category")
                return None
            parsed = self.texts(items, value, category, f"{path}.{name}")
            if parsed is None:
                return None
            measures[name] = parsed
        return measures

    def day(self, value: Any, mapping: Any, key: Any, path: str) -> date | None | bool:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.error(mapping, key, path, f"must be a date YYYY-MM-DD, not {value!r:.60}")
        return False

    def count(self, value: Any, mapping: Any, key: Any, path: str) -> int | None | bool:
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) <= 20:
            return int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        self.error(mapping, key, path, f"must be a whole number ≥ 0, not {value!r:.60}")
        return False


    def level(self, value: Any, mapping: Any, key: Any, path: str) -> int | None | bool:
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4:
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            if text in LEVEL_NAMES:
                return LEVEL_NAMES[text]
            if text in ("1", "2", "3", "4"):
                return int(text)
        self.error(mapping, key, path, f"must be a level 1-4 (negligible, limited, significant, maximum), "
                                       f"not {value!r:.60}")
        return False


LEVEL_NAMES = {name: level for level, names in enumerate((
    ("negligible", "geringfügig", "geringfuegig"), ("limited", "überschaubar", "ueberschaubar"),
    ("significant", "substanziell", "substantial"), ("maximum", "groß", "gross")), start=1) for name in names}
"""Severity and likelihood levels: CNIL's names (negligible … maximum) and the DSK's (geringfügig … groß)."""

_ABSENT = object()


def read_record(cls: type, specs: tuple[FieldSpec, ...], mapping: Any, source: Source, where: str,
                problems: Problems) -> Any | None:
    """One record of type ``cls`` from ``mapping``; None (with the errors in ``problems``) when it is wrong."""
    reader = _Reader(source, where, problems)
    if not isinstance(mapping, Mapping):
        problems.errors.append(Problem(source.at(mapping), where, f"must be a mapping, not {_type_name(mapping)}"))
        return None
    known = tuple(spec.key for spec in specs)
    for key in mapping:
        if key not in known:
            reader.warn(mapping, key, str(key), f"unknown key{_suggestion(str(key), known)} (ignored)")
    errors_before = len(problems.errors)
    values: dict[str, Any] = {}
    position = {key: index for index, key in enumerate(mapping)}
    # in the file's order, so that messages come in the order of their lines
    for spec in sorted(specs, key=lambda item: position.get(item.key, len(position))):
        value = mapping.get(spec.key, _ABSENT)
        if value is _ABSENT:
            if spec.required:
                reader.error(mapping, None, spec.key, "missing")
            continue
        parsed = _read_value(reader, spec, value, mapping)
        if parsed is not None and parsed is not False:
            values[spec.key] = parsed
        elif parsed is None and spec.kind in ("contact", "date", "count", "level", "raw"):
            values[spec.key] = None
    for spec in specs:
        if spec.required and spec.key in values and not values[spec.key]:
            reader.error(mapping, spec.key, spec.key, "must not be empty")
    if len(problems.errors) > errors_before:
        return None
    return cls(**values)


def _read_value(reader: _Reader, spec: FieldSpec, value: Any, mapping: Any) -> Any:
    key = spec.key
    if spec.kind == "text":
        return reader.text(value, mapping, key, key, spec.choices)
    if spec.kind == "texts":
        return reader.texts(value, mapping, key, key, spec.choices)
    if spec.kind == "contact":
        return reader.contact(value, mapping, key, key)
    if spec.kind == "contacts":
        return reader.many(value, mapping, key, key, Contact, ("name", "contact"))
    if spec.kind == "transfers":
        return reader.many(value, mapping, key, key, Transfer, ("country", "safeguard"))
    if spec.kind == "measures":
        return reader.measures(value, mapping, key, key)
    if spec.kind == "date":
        return reader.day(value, mapping, key, key)
    if spec.kind == "count":
        return reader.count(value, mapping, key, key)
    if spec.kind == "level":
        return reader.level(value, mapping, key, key)
    if spec.kind == "raw":
        return value
    raise ValueError(f"unknown field kind {spec.kind!r}")


def record_to_dict(record: Any) -> dict[str, Any]:
    """The record under its key names, in plain JSON types (contacts as mappings, dates as ISO text)."""
    document: dict[str, Any] = {}
    for item in dataclasses.fields(record):
        document[item.name] = _plain(getattr(record, item.name))
    return document


def _plain(value: Any) -> Any:
    if isinstance(value, Contact | Transfer):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, date):
        return value.isoformat()
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    return {dict: "a mapping", LineDict: "a mapping", list: "a list", str: "text", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _suggestion(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
