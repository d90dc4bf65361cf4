"""Sigma correlation rules (specification 2.x): compiled from pySigma's model, evaluated over base-rule matches.

pySigma parses; this module resolves the references, validates and evaluates. The engine consumes
``(rule id or name, Event)`` matches of the base rules a correlation names in ``rules:`` and returns
``CorrelationAlert``s. Its state (the open windows) is handed out with ``state()`` and back in with
``CorrelationEngine(rules, state=...)``; detect/ never writes it anywhere (store/correlation_state.py does).

Semantics (the specification leaves these to the tool):

- Windows slide over *event time*. Each group (the ``group-by`` values) keeps the matches of the last
  ``timespan`` before its newest match: a match older than ``newest - timespan`` falls out. Both ends are
  inclusive: matches exactly ``timespan`` apart share a window (as in pySigma's SQLite backend).
- Each match is evaluated on the window ending at its group's newest match. The condition (every operator
  of a range must hold) is tested after each match is added.
- One alert per episode: after an alert the group's window is emptied and the group stays quiet while its
  matches keep coming less than one ``timespan`` apart (they are counted as ``after_alert``, not kept); once
  a group has had no match for more than a timespan, counting starts again from nothing. A port scan or a
  brute force of an hour is one alert, not sixty; the alert's window shows where the condition was first met.
  The one exception is ``value_percentile`` without ``percentile`` (the rarity reading, below), whose window
  is the baseline: there a value alerts at most once per timespan instead.
- Ordering: ``process()`` sorts each batch by event time (stable, so equal times keep arrival order); across
  batches a match is added to its group if it is at most ``timespan`` older than the group's newest match,
  otherwise it is dropped and counted as ``late``. Sources read one after another therefore correlate as long
  as they lag each other by less than one timespan.
- ``temporal_ordered``: order is event time, ties broken by arrival order. The metric is the length of the
  longest chain of *distinct* rules that appear in ``rules:`` order (default condition: all of them).
- ``temporal``: the number of distinct referenced rules in the window (default condition: all of them).
- ``value_count``: distinct values of ``field`` (a list of fields counts distinct combinations); missing
  values are skipped. Strings compare case-insensitively, like Sigma's matching; lists/mappings compare as
  their canonical JSON.
- ``value_sum``/``value_avg``/``value_percentile``/``value_median``: numbers and numeric strings count; any
  other value (missing, text, list, bool, NaN) is skipped and counted (``missing_value``/``non_numeric``).
  ``value_percentile`` with ``percentile: P`` is the P-th percentile of the window (linear interpolation);
  without ``percentile`` (spec example "a process name seen in fewer than 1% of the processes") the metric
  is the share in percent of the window's matches whose value equals the new match's value.
- Group-by values are read from ``event.fields`` (after the correlation's ``aliases`` for the matching rule);
  a missing field groups as ``None``. Keys compare case-insensitively; alerts show the newest match's values.
- An event that matches several rules of one non-temporal correlation counts once (first rule wins) when
  those matches come in the same ``process()`` batch.
- ``generate``: as in pySigma, a rule referenced by any correlation with ``generate: false`` (the default) does
  not emit its own alerts; ``emits_base_alerts()`` says so. This holds for correlations feeding chained
  correlations too: their alerts feed the next correlation but are not returned.
- Memory: each group keeps at most ``max_entries_per_group`` matches (oldest dropped, counted ``capped``); a
  group is forgotten once the correlation has seen a match two timespans newer than the group's newest; when
  one correlation holds more than ``max_entries`` matches, the groups idle longest are evicted (``evicted``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import operator
import uuid
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from functools import lru_cache
from itertools import islice
from typing import Any

from sigma import exceptions as sigma_errors
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule, SigmaExtendedCorrelationCondition
from sigma.rule import SigmaRule

from seccenter.events import Event, Origin

log = logging.getLogger(__name__)

MAX_CONTRIBUTORS = 100
"""Contributing (rule, event origin) pairs listed in one alert; ``count`` still says how many there were."""
MAX_ENTRIES_PER_GROUP = 10_000
"""Matches one group's window holds; an ``event_count`` threshold above it can never be reached."""
MAX_ENTRIES = 200_000
"""Matches one correlation rule holds over all its groups."""
SWEEP_EVERY = 4096
"""Matches between two sweeps for groups that went quiet (``state()`` sweeps too)."""
STATE_VERSION = 1

TYPES = ("event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg",
         "value_percentile", "value_median")
NUMERIC_TYPES = frozenset({"value_sum", "value_avg", "value_percentile", "value_median"})
TEMPORAL_TYPES = frozenset({"temporal", "temporal_ordered"})
RARITY = "value_percentile/rarity"
"""Internal kind of a ``value_percentile`` rule without ``percentile``."""

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le, "eq": operator.eq,
    "neq": operator.ne,
}


# ----------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CorrelationError:
    """Why a correlation rule did not load (``fatal``) or loaded with a fallback (not ``fatal``).

    ``keys`` is the path of the YAML keys concerned (for ``find_line(document, *keys)``); ``origin`` is the
    object the rule was given as (pySigma rule or mapping), so a loader can find its file."""

    rule: str
    reason: str
    keys: tuple[str, ...] = ("correlation",)
    fatal: bool = True
    origin: Any = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.rule}: {self.reason}" if self.rule else self.reason


@dataclass(frozen=True, slots=True)
class Threshold:
    op: str
    value: int | float

    def holds(self, metric: float) -> bool:
        return OPERATORS[self.op](metric, self.value)

    def __str__(self) -> str:
        return f"{self.op} {self.value}"


@dataclass(frozen=True)
class Reference:
    """One entry of ``rules:``: as written, and every key (id, name) the referenced rule answers to."""

    text: str
    keys: frozenset[str]
    correlation: bool


@dataclass(frozen=True)
class CompiledCorrelation:
    id: str
    title: str
    name: str | None
    level: str
    tags: tuple[str, ...]
    type: str
    references: tuple[Reference, ...]
    group_by: tuple[str, ...]
    group_fields: tuple[tuple[str, ...], ...]
    """Per reference: the event field read for each ``group_by`` name (aliases applied)."""
    value_fields: tuple[tuple[str, ...] | None, ...]
    """Per reference: the event field(s) of the condition's ``field`` (aliases applied), or None."""
    timespan: int
    timespan_spec: str
    thresholds: tuple[Threshold, ...]
    percentile: float | None
    generate: bool
    fingerprint: str
    origin: Any = field(default=None, compare=False, repr=False)

    @property
    def keys(self) -> frozenset[str]:
        """What other correlations may reference this one by."""
        return frozenset(_key(k) for k in (self.id, self.name) if k)

    @property
    def kind(self) -> str:
        return RARITY if self.type == "value_percentile" and self.percentile is None else self.type


@dataclass(frozen=True, slots=True)
class Contribution:
    """A match that counted towards an alert: the rule (as the caller named it) and where its event came from."""

    rule: str
    time: datetime
    path: str
    offset: int
    line: int | None

    @property
    def origin(self) -> Origin:
        return Origin(self.path, self.offset, self.line)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "time": self.time.isoformat(), "path": self.path, "offset": self.offset,
                "line": self.line}


@dataclass(frozen=True, slots=True)
class CorrelationAlert:
    rule_id: str
    rule_title: str
    level: str
    tags: tuple[str, ...]
    type: str
    group: tuple[tuple[str, Any], ...]
    """(group-by name, value of the newest match) pairs; values are str/int/float/bool/None."""
    window_start: datetime
    """Time of the earliest match in the window that fired."""
    window_end: datetime
    """Time of the newest match in the window that fired."""
    value: int | float
    """The aggregate the condition was tested on: count, distinct count, sum, average, percentile or share."""
    count: int
    """Matches in the window (``contributors`` lists at most ``MAX_CONTRIBUTORS`` of them: the oldest and the
    newest, which is the one that made the condition true)."""
    contributors: tuple[Contribution, ...]

    @property
    def time(self) -> datetime:
        return self.window_end

    @property
    def group_values(self) -> dict[str, Any]:
        return dict(self.group)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id, "rule_title": self.rule_title, "level": self.level, "tags": list(self.tags),
            "type": self.type, "group": dict(self.group), "time": self.window_end.isoformat(),
            "window_start": self.window_start.isoformat(), "window_end": self.window_end.isoformat(),
            "value": self.value, "count": self.count,
            "contributors": [contribution.to_dict() for contribution in self.contributors],
        }


# ----------------------------------------------------------------------------------------------- loading


def parse_correlation(document: Mapping[str, Any]) -> tuple[SigmaCorrelationRule | None, list[CorrelationError]]:
    """Parse one correlation document with pySigma, never raising.

    pySigma 2.0 accepts one operator per condition and raises on a range (``gt: 100`` with ``lte: 200``),
    which the specification allows: the rule is parsed with the first operator and keeps the whole condition
    in ``custom_attributes['correlation']``, where ``load_correlations`` reads it."""
    title = _document_title(document)
    correlation = document.get("correlation")
    parsed_document: dict[str, Any] = dict(document)
    condition = correlation.get("condition") if isinstance(correlation, Mapping) else None
    if isinstance(condition, Mapping) and sum(1 for key in condition if key in OPERATORS) > 1:
        first = next(key for key in condition if key in OPERATORS)
        single = {key: value for key, value in condition.items() if key not in OPERATORS or key == first}
        parsed_document["correlation"] = {**correlation, "condition": single}
    try:
        rule = SigmaCorrelationRule.from_dict(parsed_document, collect_errors=True)
    except sigma_errors.SigmaError as error:
        return None, [CorrelationError(title, _reason(error), _error_keys(error), origin=document)]
    except (TypeError, ValueError, AttributeError, KeyError) as error:  # pySigma on shapes it does not expect
        return None, [CorrelationError(title, f"not a valid correlation rule ({error})", origin=document)]
    if isinstance(correlation, Mapping):
        rule.custom_attributes["correlation"] = dict(correlation)
    return rule, []


def load_correlations(collection_or_rules: Any, base_rules: Iterable[Any] = ()) -> tuple[
        list[CompiledCorrelation], list[CorrelationError]]:
    """Compile the correlation rules in ``collection_or_rules`` and validate them.

    ``collection_or_rules``: a ``SigmaCollection`` or an iterable of ``SigmaCorrelationRule``s, correlation
    documents (mappings, parsed with ``parse_correlation``) and base rules (``SigmaRule``s or their documents;
    only their id and name matter here). ``base_rules``: further base rules that correlations may reference:
    objects with ``id`` and optionally ``name`` (e.g. seccenter's ``CompiledRule``, pySigma's ``SigmaRule``),
    ``(id, name)`` pairs or plain id/name strings.

    Returns the rules that compiled and the errors; a rule with a fatal error is left out, and so is every
    correlation that references it."""
    errors: list[CorrelationError] = []
    correlations: list[SigmaCorrelationRule] = []
    targets: dict[str, tuple[frozenset[str], bool]] = {}  # key -> (all keys of that rule, is a correlation)

    def add_base(rule_id: Any, name: Any) -> None:
        keys = frozenset(_key(str(k)) for k in (rule_id, name) if k not in (None, ""))
        for key in keys:
            targets.setdefault(key, (keys, False))

    items: Iterable[Any] = collection_or_rules.rules if isinstance(collection_or_rules, SigmaCollection) \
        else collection_or_rules
    for item in items:
        if isinstance(item, SigmaCorrelationRule):
            correlations.append(item)
        elif isinstance(item, SigmaRule):
            add_base(item.id, item.name)
        elif isinstance(item, Mapping) and "correlation" in item:
            rule, parse_errors = parse_correlation(item)
            errors.extend(parse_errors)
            if rule is not None:
                correlations.append(rule)
        elif isinstance(item, Mapping):  # a base rule's document: only its id and name matter here
            add_base(item.get("id"), item.get("name"))
        else:
            errors.append(CorrelationError("", f"not a Sigma rule ({type(item).__name__})", origin=item))
    for base in base_rules:
        if isinstance(base, str):
            add_base(base, None)
        elif isinstance(base, tuple):
            add_base(*(tuple(base) + (None, None))[:2])
        else:
            add_base(getattr(base, "id", None), getattr(base, "name", None))

    identities: list[tuple[str, str, str | None]] = []
    seen_ids: set[str] = set()
    for rule in correlations:
        rule_id, title, name, identity_errors = _identity(rule)
        errors.extend(identity_errors)
        if rule_id in seen_ids or (rule_id in targets and not targets[rule_id][1]):
            errors.append(CorrelationError(title, f"duplicate rule id {rule_id}", ("id",), origin=rule))
            identities.append(("", title, name))
            continue
        seen_ids.add(rule_id)
        identities.append((rule_id, title, name))
        keys = frozenset(_key(k) for k in (rule_id, name) if k)
        for key in keys:
            targets.setdefault(key, (keys, True))

    compiled: dict[str, CompiledCorrelation] = {}
    for rule, (rule_id, title, name) in zip(correlations, identities, strict=True):
        if not rule_id:
            continue
        result = _compile(rule, rule_id, title, name, targets)
        if isinstance(result, CompiledCorrelation):
            compiled[rule_id] = result
        else:
            errors.extend(result)
    errors.extend(_drop_broken_chains(compiled))
    return list(compiled.values()), errors


def _identity(rule: SigmaCorrelationRule) -> tuple[str, str, str | None, list[CorrelationError]]:
    """id, title and name with fallbacks: the specification makes id optional, and its own examples lack titles."""
    errors: list[CorrelationError] = []
    name = rule.name if isinstance(rule.name, str) and rule.name else None
    rule_id = str(rule.id) if isinstance(rule.id, uuid.UUID) else None
    if rule_id is None:
        rule_id = name or "correlation-" + _digest(_definition(rule))
        if rule.id is not None:
            errors.append(CorrelationError(rule.title or rule_id, f"id {rule.id!r} is not a UUID; using {rule_id}",
                                           ("id",), fatal=False, origin=rule))
    title = rule.title if isinstance(rule.title, str) and rule.title.strip() else None
    if title is None:
        title = name or (f"{rule.type} correlation" if rule.type else rule_id)
        errors.append(CorrelationError(rule_id, f"rule has no title; using {title!r}", ("title",), fatal=False,
                                       origin=rule))
    return rule_id, title, name, errors


_LENIENT_ERRORS = (sigma_errors.SigmaTitleError, sigma_errors.SigmaIdentifierError)


def _compile(rule: SigmaCorrelationRule, rule_id: str, title: str, name: str | None,
             targets: Mapping[str, tuple[frozenset[str], bool]]) -> CompiledCorrelation | list[CorrelationError]:
    errors: list[CorrelationError] = []

    def fail(reason: str, *keys: str) -> None:
        errors.append(CorrelationError(title, reason, ("correlation", *keys) if keys else ("correlation",),
                                       origin=rule))

    for error in rule.errors:
        if not isinstance(error, _LENIENT_ERRORS):
            errors.append(CorrelationError(title, _reason(error), _error_keys(error), origin=rule))
    if errors:
        return errors
    kind = str(rule.type.name).lower() if rule.type is not None else None
    if kind not in TYPES:
        fail(f"correlation type {kind!r} is not supported (supported: {', '.join(TYPES)})", "type")
        return errors
    if isinstance(rule.condition, SigmaExtendedCorrelationCondition):
        fail("extended (boolean) temporal conditions are not supported", "condition")
        return errors

    references: list[Reference] = []
    for reference in rule.rules or []:
        text = str(reference.reference)
        target = targets.get(_key(text))
        if target is None:
            fail(f"references rule {text!r}, which is not loaded (no rule has that id or name)", "rules")
        elif any(existing.keys == target[0] for existing in references):
            fail(f"references rule {text!r} twice", "rules")
        elif _key(rule_id) in target[0]:
            fail("references itself", "rules")
        else:
            references.append(Reference(text, target[0], target[1]))
    if not rule.rules:
        fail("references no rules", "rules")

    group_by = tuple(rule.group_by or ())
    if any(not item.strip() for item in group_by):
        fail("group-by has an empty field name", "group-by")
    if len(set(group_by)) != len(group_by):
        fail("group-by names a field twice", "group-by")

    mapping: dict[int, dict[str, str]] = {index: {} for index in range(len(references))}
    for alias in rule.aliases:
        for target_reference, field_name in alias.mapping.items():
            key = _key(str(target_reference.reference))
            slots = [index for index, reference in enumerate(references) if key in reference.keys]
            if not isinstance(field_name, str) or not field_name:
                fail(f"alias {alias.alias!r}: field for {target_reference.reference!r} must be a field name",
                     "aliases")
            elif not slots and not any(key == _key(str(r.reference)) for r in rule.rules or []):
                fail(f"alias {alias.alias!r} maps rule {target_reference.reference!r}, which is not in rules",
                     "aliases")
            for slot in slots:
                mapping[slot][alias.alias] = field_name

    thresholds, field_ref, percentile = _condition(rule, kind, fail)
    value_fields: list[tuple[str, ...] | None] = []
    for slot in range(len(references)):
        if field_ref is None:
            value_fields.append(None)
        else:
            value_fields.append(tuple(mapping[slot].get(name, name) for name in field_ref))
    if errors:
        return errors
    group_fields = tuple(tuple(mapping[slot].get(name, name) for name in group_by) for slot in range(len(references)))
    definition = {
        "type": kind, "rules": [sorted(reference.keys) for reference in references], "group_fields": group_fields,
        "value_fields": value_fields, "timespan": rule.timespan.seconds,
        "thresholds": [[t.op, t.value] for t in thresholds], "percentile": percentile,
    }
    return CompiledCorrelation(
        id=rule_id, title=title, name=name,
        level=rule.level.name.lower() if rule.level else "informational",
        tags=tuple(str(tag) for tag in rule.tags), type=kind, references=tuple(references), group_by=group_by,
        group_fields=group_fields, value_fields=tuple(value_fields), timespan=rule.timespan.seconds,
        timespan_spec=rule.timespan.spec, thresholds=tuple(thresholds), percentile=percentile,
        generate=bool(rule.generate), fingerprint=_digest(definition), origin=rule,
    )


def _condition(rule: SigmaCorrelationRule, kind: str, fail: Callable[..., None]) -> tuple[
        list[Threshold], tuple[str, ...] | None, float | None]:
    """Thresholds (a range when several operators), the value field(s) and the percentile."""
    raw = rule.custom_attributes.get("correlation")
    raw_condition = raw.get("condition") if isinstance(raw, Mapping) else None
    thresholds: list[Threshold] = []
    if isinstance(raw_condition, Mapping):
        for op, value in raw_condition.items():
            if op not in OPERATORS:
                continue
            number = None if isinstance(value, bool) else value if isinstance(value, int) else _number(value)
            if number is None:
                fail(f"condition {op}: {value!r} is not a number", "condition")
                continue
            thresholds.append(Threshold(op, int(number) if float(number).is_integer() else float(number)))
    if not thresholds:  # pySigma's own condition, including the temporal default "gte <number of rules>"
        thresholds.append(Threshold(rule.condition.op.name.lower(), rule.condition.count))
    if len({t.op for t in thresholds}) > 1 and not any(
            all(t.holds(probe) for t in thresholds) for probe in _probes(thresholds)):
        fail(f"condition {' and '.join(map(str, thresholds))} can never be true", "condition")

    field_ref = rule.condition.fieldref
    fields: tuple[str, ...] | None = None
    if kind in NUMERIC_TYPES or kind == "value_count":
        if isinstance(field_ref, str) and field_ref:
            fields = (field_ref,)
        elif kind == "value_count" and isinstance(field_ref, list) and field_ref and all(
                isinstance(f, str) and f for f in field_ref):
            fields = tuple(field_ref)
        else:
            fail(f"{kind} needs the condition's field to be one field name", "condition")
    percentile: float | None = None
    if kind == "value_percentile" and rule.condition.percentile is not None:
        percentile = float(rule.condition.percentile)
        if not 0 <= percentile <= 100:
            fail(f"percentile {rule.condition.percentile} is not between 0 and 100", "condition")
    elif kind == "value_median":
        percentile = 50.0
    return thresholds, fields, percentile


def _probes(thresholds: Sequence[Threshold]) -> list[float]:
    points = sorted({float(t.value) for t in thresholds})
    probes = [points[0] - 1, points[-1] + 1, *points]
    probes += [(a + b) / 2 for a, b in zip(points, points[1:], strict=False)]
    return probes


def _drop_broken_chains(compiled: dict[str, CompiledCorrelation]) -> list[CorrelationError]:
    """Drop correlations that reference a correlation that did not load, or that reference each other in a
    cycle, until none is left (``compiled`` is changed in place)."""
    errors: list[CorrelationError] = []

    def drop(rule: CompiledCorrelation, reason: str) -> None:
        del compiled[rule.id]
        errors.append(CorrelationError(rule.title, reason, ("correlation", "rules"), origin=rule.origin))

    while True:
        by_key = {key: rule for rule in compiled.values() for key in rule.keys}
        broken = next(((rule, reference) for rule in compiled.values() for reference in rule.references
                       if reference.correlation and not reference.keys & by_key.keys()), None)
        if broken is not None:
            drop(broken[0], f"references correlation {broken[1].text!r}, which did not load")
            continue
        cycle = _find_cycle(compiled, by_key)
        if cycle is None:
            return errors
        path = " -> ".join(rule.title for rule in [*cycle, cycle[0]])
        for rule in cycle:
            drop(rule, f"correlations reference each other in a cycle ({path})")


def _find_cycle(compiled: Mapping[str, CompiledCorrelation],
                by_key: Mapping[str, CompiledCorrelation]) -> list[CompiledCorrelation] | None:
    done: set[str] = set()

    def visit(rule: CompiledCorrelation, path: list[CompiledCorrelation]) -> list[CompiledCorrelation] | None:
        for reference in rule.references:
            child = next((by_key[key] for key in reference.keys if key in by_key), None)
            if child is None or child.id in done:
                continue
            on_path = [item.id for item in path]
            if child.id in on_path:
                return path[on_path.index(child.id):]
            found = visit(child, [*path, child])
            if found:
                return found
        done.add(rule.id)
        return None

    for rule in compiled.values():
        if rule.id not in done:
            found = visit(rule, [rule])
            if found:
                return found
    return None


def _definition(rule: SigmaCorrelationRule) -> Any:
    try:
        return rule.to_dict()
    except Exception:  # noqa: BLE001 - only feeds a fallback identifier
        return [rule.title, str(rule.type), [str(r.reference) for r in rule.rules or []]]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _document_title(document: Mapping[str, Any]) -> str:
    for key in ("title", "name", "id"):
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return ""


_ERROR_KEYS: list[tuple[type[Exception], tuple[str, ...]]] = [
    (sigma_errors.SigmaTimespanError, ("correlation", "timespan")),
    (sigma_errors.SigmaCorrelationConditionError, ("correlation", "condition")),
    (sigma_errors.SigmaCorrelationTypeError, ("correlation", "type")),
    (sigma_errors.SigmaCorrelationRuleError, ("correlation",)),
    (sigma_errors.SigmaLevelError, ("level",)),
    (sigma_errors.SigmaIdentifierError, ("id",)),
    (sigma_errors.SigmaTitleError, ("title",)),
    (sigma_errors.SigmaStatusError, ("status",)),
    (sigma_errors.SigmaDateError, ("date",)),
]


def _error_keys(error: Exception) -> tuple[str, ...]:
    message = str(error).lower()
    for key in ("timespan", "group-by", "aliases", "generate", "condition", "rules", "type"):
        if key in message and isinstance(error, sigma_errors.SigmaCorrelationRuleError):
            return ("correlation", key)
    if "rule reference" in message:
        return ("correlation", "rules")
    if "field reference" in message:
        return ("correlation", "condition")
    for error_class, keys in _ERROR_KEYS:
        if isinstance(error, error_class):
            return keys
    return ("correlation",)


def _reason(error: Exception) -> str:
    if isinstance(error, sigma_errors.SigmaError):
        return str(error.args[0]) if error.args else type(error).__name__
    return str(error)


# ------------------------------------------------------------------------------------------- values


@lru_cache(maxsize=8192)
def _key(text: str) -> str:
    """A rule reference or match key, with UUIDs in canonical form (ids match whatever their case)."""
    text = text.strip()
    if 32 <= len(text) <= 38:
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
    return text


def _norm(value: Any) -> str | None:
    """Comparison form of a group-by or value_count value: case-insensitive text, JSON for structures."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).lower()


def _display(value: Any) -> str | int | float | bool | None:
    """A JSON-safe scalar for alerts and the state."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str | bytes):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _percentile(ordered: Sequence[float], percentile: float) -> float:
    position = (len(ordered) - 1) * percentile / 100
    low = int(position)
    if low + 1 >= len(ordered):
        return ordered[-1]
    return ordered[low] + (ordered[low + 1] - ordered[low]) * (position - low)


def _epoch(time: Any) -> float | None:
    if not isinstance(time, datetime):
        return None
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return time.timestamp()


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# ------------------------------------------------------------------------------------------- evaluation

Contrib = tuple[str, float, str, int, int | None]
"""(rule key, epoch, origin path, offset, line)."""


class _Group:
    """One group's window: entries sorted by (time, arrival), with the aggregates its rule type needs."""

    __slots__ = ("display", "latest", "times", "entries", "seq", "counter", "values", "whole", "fraction",
                 "positions", "suppressed", "alerted")

    def __init__(self, kind: str, slots: int, display: list[Any], latest: float) -> None:
        self.display = display
        self.latest = latest
        self.times: list[float] = []
        self.entries: list[tuple[float, int, int, Any, tuple[Contrib, ...]]] = []
        self.seq = 0
        self.counter: Counter[Any] | None = Counter() if kind in ("value_count", "temporal", RARITY) else None
        self.values: list[float] | None = [] if kind in NUMERIC_TYPES else None
        # the exact running sum of ``values`` (whole numbers apart, they are cheap): no drift however long the
        # window slides, and the same sum after a state round trip
        self.whole = 0
        self.fraction = Fraction(0)
        self.positions: list[list[tuple[float, int]]] | None = \
            [[] for _ in range(slots)] if kind == "temporal_ordered" else None
        self.suppressed: dict[str, float] | None = {} if kind == RARITY else None
        self.alerted: float | None = None
        """The newest match time of the episode that alerted; None while no alert is open."""

    def insert(self, time: float, slot: int, value: Any, contribs: tuple[Contrib, ...]) -> None:
        self.seq += 1
        entry = (time, self.seq, slot, value, contribs)
        if not self.times or time >= self.times[-1]:
            self.times.append(time)
            self.entries.append(entry)
        else:
            index = bisect_right(self.times, time)
            self.times.insert(index, time)
            self.entries.insert(index, entry)
        if self.counter is not None:
            self.counter[slot if value is None else value] += 1  # temporal: rules seen; else: values seen
        if self.values is not None:
            insort(self.values, value)
            if value.is_integer():
                self.whole += int(value)
            else:
                self.fraction += Fraction(value)
        if self.positions is not None:
            insort(self.positions[slot], (time, self.seq))

    def drop_oldest(self, count: int) -> int:
        if count <= 0:
            return 0
        removed = self.entries[:count]
        del self.entries[:count]
        del self.times[:count]
        for _time, _seq, slot, value, _contribs in removed:
            if self.counter is not None:
                counted = slot if value is None else value
                self.counter[counted] -= 1
                if self.counter[counted] <= 0:
                    del self.counter[counted]
            if self.values is not None:
                del self.values[bisect_left(self.values, value)]
                if value.is_integer():
                    self.whole -= int(value)
                else:
                    self.fraction -= Fraction(value)
            if self.positions is not None:
                self.positions[slot].pop(0)
        return len(removed)

    def prune(self, before: float) -> int:
        removed = self.drop_oldest(bisect_left(self.times, before))
        if self.suppressed:
            for value in [v for v, when in self.suppressed.items() if when < before]:
                del self.suppressed[value]
        return removed

    def clear(self) -> int:
        return self.drop_oldest(len(self.entries))

    @property
    def total(self) -> Fraction:
        return self.fraction + self.whole

    def longest_chain(self) -> int:
        """Longest chain of distinct rules in ``rules:`` order with increasing (time, arrival)."""
        assert self.positions is not None
        best: list[tuple[float, int] | None] = [None] * (len(self.positions) + 1)
        best[0] = (-math.inf, -1)
        longest = 0
        for positions in self.positions:
            if not positions:
                continue
            for length in range(longest, -1, -1):
                previous = best[length]
                if previous is None:
                    continue
                index = bisect_right(positions, previous)
                if index < len(positions):
                    candidate = positions[index]
                    current = best[length + 1]
                    if current is None or candidate < current:
                        best[length + 1] = candidate
                        longest = max(longest, length + 1)
        return longest


class _Runtime:
    """The open windows of one correlation rule."""

    def __init__(self, rule: CompiledCorrelation, max_entries_per_group: int, max_entries: int,
                 max_contributors: int) -> None:
        self.rule = rule
        self.kind = rule.kind
        self.max_entries_per_group = max_entries_per_group
        self.max_entries = max_entries
        self.max_contributors = max_contributors
        self.groups: dict[tuple[str | None, ...], _Group] = {}
        self.watermark = -math.inf
        self.total = 0
        self.since_sweep = 0
        self.skipped: Counter[str] = Counter()

    def add(self, time: float, slot: int, fields: Mapping[str, Any],
            contribs: tuple[Contrib, ...]) -> CorrelationAlert | None:
        rule = self.rule
        kind = self.kind
        raw_group = [fields.get(name) for name in rule.group_fields[slot]]
        key = tuple(_norm(value) for value in raw_group)
        value: Any = None
        value_fields = rule.value_fields[slot]
        if value_fields is not None:
            raw = [fields.get(name) for name in value_fields]
            if all(item is None for item in raw):
                self.skipped["missing_value"] += 1
                return None
            if kind in NUMERIC_TYPES:
                value = _number(raw[0])
                if value is None:
                    self.skipped["non_numeric"] += 1
                    return None
            else:
                value = _norm(raw[0]) if len(raw) == 1 else _norm([_norm(item) for item in raw])
        span = rule.timespan
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group(kind, len(rule.references), [_display(v) for v in raw_group], time)
        elif time < group.latest - span:
            self.skipped["late"] += 1
            return None
        if group.alerted is not None:
            if time - group.alerted <= span:
                group.alerted = max(group.alerted, time)
                group.latest = max(group.latest, time)
                self.watermark = max(self.watermark, time)
                self.skipped["after_alert"] += 1
                return None
            group.alerted = None
        if time >= group.latest:
            group.latest = time
            group.display = [_display(v) for v in raw_group]
            self.total -= group.prune(time - span)
        if time > self.watermark:
            self.watermark = time
        group.insert(time, slot, value, contribs)
        self.total += 1
        self.since_sweep += 1
        if len(group.entries) > self.max_entries_per_group:
            dropped = group.drop_oldest(len(group.entries) - self.max_entries_per_group)
            self.total -= dropped
            self.skipped["capped"] += dropped
        alert = self._evaluate(group, value)
        if self.total > self.max_entries or self.since_sweep >= SWEEP_EVERY:
            self.sweep()
        return alert

    def _metric(self, group: _Group, value: Any) -> int | float | None:
        kind = self.kind
        if kind == "event_count":
            return len(group.entries)
        if kind == "temporal":
            assert group.counter is not None
            return len(group.counter)
        if kind == "temporal_ordered":
            return group.longest_chain()
        if kind == "value_count":
            assert group.counter is not None
            return len(group.counter)
        if kind == RARITY:
            assert group.counter is not None and group.suppressed is not None
            if value in group.suppressed:
                return None
            return group.counter[value] * 100 / len(group.entries)
        assert group.values is not None
        if not group.values:
            return None
        if kind == "value_sum":
            return float(group.total)
        if kind == "value_avg":
            return float(group.total / len(group.values))
        assert self.rule.percentile is not None
        return _percentile(group.values, self.rule.percentile)

    def _evaluate(self, group: _Group, value: Any) -> CorrelationAlert | None:
        metric = self._metric(group, value)
        if metric is None:
            return None
        for threshold in self.rule.thresholds:
            if not threshold.holds(metric):
                return None
        # the oldest matches, and always the newest: the event that made the condition true
        matches = (match for entry in group.entries for match in entry[4])
        contributors = [Contribution(rule_key, _datetime(epoch), path, offset, line)
                        for rule_key, epoch, path, offset, line in islice(matches, self.max_contributors - 1)]
        if group.entries and group.entries[-1][4]:
            rule_key, epoch, path, offset, line = group.entries[-1][4][-1]
            newest = Contribution(rule_key, _datetime(epoch), path, offset, line)
            if not contributors or contributors[-1] != newest:
                contributors.append(newest)
        rule = self.rule
        alert = CorrelationAlert(
            rule_id=rule.id, rule_title=rule.title, level=rule.level, tags=rule.tags, type=rule.type,
            group=tuple(zip(rule.group_by, group.display, strict=True)),
            window_start=_datetime(group.times[0]), window_end=_datetime(group.times[-1]),
            value=metric, count=len(group.entries), contributors=tuple(contributors),
        )
        if group.suppressed is not None:
            group.suppressed[value] = group.latest
        else:
            self.total -= group.clear()
            group.alerted = group.latest
        return alert

    def sweep(self) -> None:
        """Forget groups that went quiet; evict the idlest when over ``max_entries``."""
        self.since_sweep = 0
        horizon = self.watermark - 2 * self.rule.timespan
        for key in [key for key, group in self.groups.items() if group.latest < horizon]:
            self.total -= len(self.groups.pop(key).entries)
        if self.total > self.max_entries:
            target = int(self.max_entries * 0.9)
            for key, group in sorted(self.groups.items(), key=lambda item: item[1].latest):
                if self.total <= target:
                    break
                del self.groups[key]
                self.total -= len(group.entries)
                self.skipped["evicted"] += len(group.entries)

    def dump(self) -> dict[str, Any]:
        return {
            "fingerprint": self.rule.fingerprint,
            "watermark": self.watermark if math.isfinite(self.watermark) else None,
            "groups": [{
                "key": list(key), "values": group.display, "latest": group.latest,
                "entries": [[time, slot, value, [list(c) for c in contribs]]
                            for time, _seq, slot, value, contribs in group.entries],
                **({"suppressed": group.suppressed} if group.suppressed else {}),
                **({"alerted": group.alerted} if group.alerted is not None else {}),
            } for key, group in self.groups.items()],
        }

    def load(self, data: Mapping[str, Any]) -> None:
        watermark = data.get("watermark")
        self.watermark = float(watermark) if watermark is not None else -math.inf
        slots = len(self.rule.references)
        for item in data["groups"]:
            key = tuple(None if part is None else str(part) for part in item["key"])
            if len(key) != len(self.rule.group_by) or len(item["values"]) != len(self.rule.group_by):
                raise ValueError("group does not fit the rule's group-by")
            group = _Group(self.kind, slots, [_display(v) for v in item["values"]], float(item["latest"]))
            for time, slot, value, contribs in sorted(item["entries"], key=lambda entry: float(entry[0])):
                if not 0 <= int(slot) < slots:
                    raise ValueError(f"slot {slot} out of range")
                if self.kind in NUMERIC_TYPES:
                    value = float(value)
                elif value is not None:
                    value = str(value)
                group.insert(float(time), int(slot), value, tuple(
                    (str(rule), float(epoch), str(path), int(offset), None if line is None else int(line))
                    for rule, epoch, path, offset, line in contribs))
            if group.suppressed is not None:
                group.suppressed.update({str(k): float(v) for k, v in item.get("suppressed", {}).items()})
            if item.get("alerted") is not None:
                group.alerted = float(item["alerted"])
            group.prune(group.latest - self.rule.timespan)
            group.drop_oldest(len(group.entries) - self.max_entries_per_group)
            self.groups[key] = group
            self.total += len(group.entries)
        self.sweep()


class CorrelationEngine:
    """Evaluates compiled correlations over base-rule matches; resumable through ``state()``."""

    def __init__(self, rules: Iterable[CompiledCorrelation], state: Mapping[str, Any] | None = None, *,
                 max_entries_per_group: int = MAX_ENTRIES_PER_GROUP, max_entries: int = MAX_ENTRIES,
                 max_contributors: int = MAX_CONTRIBUTORS) -> None:
        self.rules = list(rules)
        self._runtimes = {rule.id: _Runtime(rule, max_entries_per_group, max_entries, max_contributors)
                          for rule in self.rules}
        self._index: dict[str, list[tuple[_Runtime, int]]] = {}
        self._silenced: set[str] = set()
        for runtime in self._runtimes.values():
            for slot, reference in enumerate(runtime.rule.references):
                for key in reference.keys:
                    self._index.setdefault(key, []).append((runtime, slot))
                if not runtime.rule.generate:
                    self._silenced.update(reference.keys)
        self._consumers: dict[str, list[tuple[_Runtime, int]]] = {}
        for rule_id, runtime in self._runtimes.items():
            consumers = {(id(target), slot): (target, slot) for key in runtime.rule.keys
                         for target, slot in self._index.get(key, ())}
            self._consumers[rule_id] = list(consumers.values())
        self._dirty: set[str] = set()
        self.restore_errors: list[str] = []
        if state:
            self._restore(state)

    # -- queries

    def emits_base_alerts(self, rule_id: str) -> bool:
        """False when a correlation with ``generate: false`` references the rule (id or name)."""
        return _key(str(rule_id)) not in self._silenced

    def wants(self, rule_id: str) -> bool:
        """True when some correlation consumes the matches of this rule (so the caller must hand them in)."""
        return _key(str(rule_id)) in self._index

    @property
    def skipped(self) -> dict[str, dict[str, int]]:
        """Per correlation rule id: matches not counted, by reason (missing_value, non_numeric, late, after_alert,
        capped, evicted)."""
        return {rule_id: dict(runtime.skipped) for rule_id, runtime in self._runtimes.items() if runtime.skipped}

    # -- evaluation

    def process(self, matches: Iterable[tuple[str, Event]]) -> list[CorrelationAlert]:
        """Feed base-rule matches ``(rule id or name, event)``; returns the correlation alerts to emit.

        The batch is sorted by event time first. Alerts of correlations that feed a correlation with
        ``generate: false`` are consumed by that correlation, not returned."""
        batch: list[tuple[float, int, str, Event]] = []
        for index, (rule_key, event) in enumerate(matches):
            key = _key(str(rule_key))
            if key not in self._index:
                continue
            epoch = _epoch(getattr(event, "time", None))
            if epoch is None:
                for runtime, _slot in self._index[key]:
                    runtime.skipped["bad_time"] += 1
                continue
            batch.append((epoch, index, key, event))
        batch.sort(key=lambda item: (item[0], item[1]))
        alerts: list[CorrelationAlert] = []
        counted: set[tuple[str, int]] = set()
        for epoch, _index, key, event in batch:
            fields = event.fields if isinstance(event.fields, Mapping) else {}
            origin = event.origin
            contribs = ((key, epoch, str(getattr(origin, "path", "")), int(getattr(origin, "offset", 0) or 0),
                         getattr(origin, "line", None)),)
            for runtime, slot in self._index[key]:
                if runtime.kind not in TEMPORAL_TYPES:
                    seen = (runtime.rule.id, id(event))
                    if seen in counted:
                        continue
                    counted.add(seen)
                self._feed(runtime, slot, epoch, fields, contribs, alerts)
        return alerts

    def process_alerts(self, alerts: Iterable[Any]) -> list[CorrelationAlert]:
        """``process`` for base ``Alert``s (their ``rule_id`` and ``event``)."""
        return self.process((alert.rule_id, alert.event) for alert in alerts)

    def _feed(self, runtime: _Runtime, slot: int, epoch: float, fields: Mapping[str, Any],
              contribs: tuple[Contrib, ...], alerts: list[CorrelationAlert]) -> None:
        self._dirty.add(runtime.rule.id)
        alert = runtime.add(epoch, slot, fields, contribs)
        if alert is None:
            return
        rule = runtime.rule
        consumers = self._consumers[rule.id]
        if not any(key in self._silenced for key in rule.keys):
            alerts.append(alert)
        if not consumers:
            return
        # the alert is a match of this correlation: its fields are the firing match's, with the group values
        chained_fields = {**fields, **dict(alert.group)}
        chained = tuple((c.rule, _epoch(c.time) or epoch, c.path, c.offset, c.line) for c in alert.contributors)
        end = _epoch(alert.window_end) or epoch
        for consumer, consumer_slot in consumers:
            self._feed(consumer, consumer_slot, end, chained_fields, chained, alerts)

    # -- state

    def state(self, changed_only: bool = False) -> dict[str, Any]:
        """JSON-serialisable open windows, per correlation rule id. ``changed_only``: just the rules fed since
        the last call (what a caller saving after every batch needs to write)."""
        rule_ids = self._dirty if changed_only else self._runtimes.keys()
        result = {"version": STATE_VERSION, "rules": {}}
        for rule_id in sorted(rule_ids):
            runtime = self._runtimes[rule_id]
            runtime.sweep()
            result["rules"][rule_id] = runtime.dump()
        self._dirty = set()
        return result

    def _restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION or not isinstance(state.get("rules"), Mapping):
            self.restore_errors.append(f"correlation state version {state.get('version')!r} not understood")
            log.warning("%s; starting with empty windows", self.restore_errors[-1])
            return
        for rule_id, data in state["rules"].items():
            runtime = self._runtimes.get(rule_id)
            if runtime is None or not isinstance(data, Mapping):
                continue
            if data.get("fingerprint") != runtime.rule.fingerprint:
                continue  # the rule changed: its old windows mean something else
            try:
                runtime.load(data)
            except (KeyError, TypeError, ValueError, IndexError) as error:
                runtime.groups.clear()
                runtime.total = 0
                runtime.watermark = -math.inf
                self.restore_errors.append(f"{rule_id}: {error}")
                log.warning("correlation state of %s unreadable (%s); starting with empty windows", rule_id, error)
