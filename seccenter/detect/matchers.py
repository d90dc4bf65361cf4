"""Compile a pySigma condition tree into plain Python closures over one event.

Sigma compares strings case-insensitively unless ``|cased`` is given, so a ``Subject`` lower-cases each
field at most once per event, however many rules look at it. Value lists are folded into one test
where a string method does the work of a loop: ``str.endswith(tuple)``, set membership, ``in``.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
    TimestampPart,
)

from seccenter.detect.regex import UnsafeRegex, compile_fullmatch, compile_search

_MISSING = object()


class CompileError(ValueError):
    """A rule uses something the engine cannot evaluate; the rule is reported, not run."""


class Subject:
    """One event as the matchers see it, with per-event caches of lower-cased text."""

    __slots__ = ("fields", "raw", "lowered", "_raw_lower")

    def __init__(self, fields: dict[str, Any], raw: str | bytes) -> None:
        self.fields = fields
        self.raw = raw
        self.lowered: dict[str, Any] = {}
        self._raw_lower: str | None = None

    def text(self, name: str) -> Any:
        """The field as text (lists as lists of text), or ``_MISSING``."""
        value = self.fields.get(name, _MISSING)
        if value is _MISSING or value is None:
            return _MISSING
        return [_as_text(item) for item in value] if isinstance(value, list) else _as_text(value)

    def lower(self, name: str) -> Any:
        """The field as lower-case text, computed once per event (``lowered`` is the cache)."""
        found = self.lowered.get(name)
        if found is None:
            value = self.text(name)
            if value is _MISSING:
                found = _MISSING
            elif isinstance(value, list):
                found = [item.lower() for item in value]
            else:
                found = value.lower()
            self.lowered[name] = found
        return found

    def raw_lower(self) -> str:
        if self._raw_lower is None:
            raw = self.raw.decode("latin-1") if isinstance(self.raw, bytes) else self.raw
            self._raw_lower = raw.lower()
        return self._raw_lower


def _as_text(value: Any) -> str:
    """How a non-string field value reads as text: booleans as Sigma writes them, numbers as JSON wrote them
    (10.0 stays "10.0": a version number is not an integer)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


Matcher = Callable[[Subject], bool]
TextTest = Callable[[str], bool]


def compile_condition(node: Any) -> Matcher:
    """Compile one postprocessed pySigma condition tree."""
    if isinstance(node, ConditionAND):
        return all_of([compile_condition(arg) for arg in node.args])
    if isinstance(node, ConditionOR):
        return any_of(_compile_or_args(node.args))
    if isinstance(node, ConditionNOT):
        inner = compile_condition(node.args[0])
        return lambda subject: not inner(subject)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field_matcher(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        return _keyword_matcher(node.value)
    raise CompileError(f"unsupported condition element {type(node).__name__}")


def all_of(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]
    if len(matchers) == 2:
        first, second = matchers
        return lambda subject: first(subject) and second(subject)

    def match_all(subject: Subject) -> bool:
        for matcher in matchers:
            if not matcher(subject):
                return False
        return True

    return match_all


def any_of(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]
    if len(matchers) == 2:
        first, second = matchers
        return lambda subject: first(subject) or second(subject)

    def match_any(subject: Subject) -> bool:
        for matcher in matchers:
            if matcher(subject):
                return True
        return False

    return match_any


Folded = dict[tuple[str | None, bool], list[SigmaString]]


def fold_or_args(args: list[Any]) -> tuple[Folded, list[Any]]:
    """Split OR-linked condition args into plain Sigma strings by (field, cased) — field None for keywords —
    which one test can decide together, and the other args."""
    folded: Folded = defaultdict(list)
    others: list[Any] = []
    for arg in args:
        if isinstance(arg, ConditionFieldEqualsValueExpression | ConditionValueExpression) and _is_plain_string(
                arg.value):
            field_name = arg.field if isinstance(arg, ConditionFieldEqualsValueExpression) else None
            folded[(field_name, isinstance(arg.value, SigmaCasedString))].append(arg.value)
        else:
            others.append(arg)
    return folded, others


def _compile_or_args(args: list[Any]) -> list[Matcher]:
    """OR-linked plain string values on one field become one folded test per field and kind."""
    folded, rest = fold_or_args(args)
    others = [compile_condition(arg) for arg in rest]
    for (name, cased), values in folded.items():
        test = _string_list_test(values if name is not None else [unanchored(v) for v in values], cased)
        others.append(_keyword_from_test(test, cased) if name is None else _field_from_test(name, test, cased))
    return others


def _is_plain_string(value: Any) -> bool:
    return isinstance(value, SigmaString) and not value.contains_placeholder()


def _field_from_test(field: str, test: TextTest, cased: bool) -> Matcher:
    if cased:
        def match_cased(subject: Subject) -> bool:
            value = subject.text(field)
            if value is _MISSING:
                return False
            if value.__class__ is list:
                return any(test(item) for item in value)
            return test(value)

        return match_cased

    def match(subject: Subject) -> bool:
        value = subject.lowered.get(field) or subject.lower(field)  # inlined cache hit: the hot path
        if value is _MISSING:
            return False
        if value.__class__ is list:
            return any(test(item) for item in value)
        return test(value)

    return match


def _keyword_from_test(test: TextTest, cased: bool) -> Matcher:
    if cased:
        return lambda subject: test(subject.raw if isinstance(subject.raw, str) else subject.raw.decode("latin-1"))
    return lambda subject: test(subject.raw_lower())


def unanchored(value: SigmaString) -> SigmaString:
    """Keywords are searched for anywhere in the event, as full-text backends do: ``*value*``."""
    parts = list(value.s)
    if not parts or parts[0] is not SpecialChars.WILDCARD_MULTI:
        parts.insert(0, SpecialChars.WILDCARD_MULTI)
    if parts[-1] is not SpecialChars.WILDCARD_MULTI:
        parts.append(SpecialChars.WILDCARD_MULTI)
    unanchored = copy.copy(value)
    unanchored.s = parts
    return unanchored


def _field_matcher(field: str, value: Any) -> Matcher:
    if isinstance(value, SigmaString):
        cased = isinstance(value, SigmaCasedString)
        return _field_from_test(field, _string_list_test([value], cased), cased)
    if isinstance(value, SigmaExpansion):
        return any_of(_compile_or_args([ConditionFieldEqualsValueExpression(field, item) for item in value.values]))
    if isinstance(value, SigmaNull):
        return lambda subject: subject.fields.get(field) in (None, "")
    if isinstance(value, SigmaExists):
        wanted = value.exists
        return lambda subject: (subject.fields.get(field) is not None) == wanted
    if isinstance(value, SigmaFieldReference):
        return _field_reference(field, value)
    return _field_from_test(field, typed_test(value), cased=True)


def _keyword_matcher(value: Any) -> Matcher:
    if isinstance(value, SigmaString):
        cased = isinstance(value, SigmaCasedString)
        return _keyword_from_test(_string_list_test([unanchored(value)], cased), cased)
    if isinstance(value, SigmaExpansion):
        return any_of(_compile_or_args([ConditionValueExpression(item) for item in value.values]))
    if isinstance(value, SigmaRegularExpression | SigmaNumber):
        return _keyword_from_test(typed_test(value), cased=True)
    raise CompileError(f"keyword values of type {type(value).__name__} are not supported")


def typed_test(value: Any) -> TextTest:
    if isinstance(value, SigmaRegularExpression):
        return _regex_test(value)
    if isinstance(value, SigmaTimestampPart):
        return _timestamp_part_test(value)
    if isinstance(value, SigmaBool):
        wanted = "true" if value.boolean else "false"
        return lambda text: text.lower() == wanted
    if isinstance(value, SigmaNumber):
        return _number_test(value.number)
    if isinstance(value, SigmaCIDRExpression):
        return _cidr_test(value.network)
    if isinstance(value, SigmaCompareExpression):
        return _compare_test(value)
    raise CompileError(f"values of type {type(value).__name__} are not supported")


def _regex_test(value: SigmaRegularExpression) -> TextTest:
    flags = 0
    for flag in value.flags:
        flags |= value.sigma_to_python_flags[flag]
    try:
        return compile_search(str(value.regexp), flags)
    except re.error as error:
        raise CompileError(f"invalid regular expression {str(value.regexp)!r}: {error}") from None
    except UnsafeRegex as error:
        raise CompileError(str(error)) from None


_TIME_PARTS: dict[TimestampPart, Callable[[datetime], int]] = {
    TimestampPart.MINUTE: lambda stamp: stamp.minute,
    TimestampPart.HOUR: lambda stamp: stamp.hour,
    TimestampPart.DAY: lambda stamp: stamp.day,
    TimestampPart.WEEK: lambda stamp: stamp.isocalendar().week,
    TimestampPart.MONTH: lambda stamp: stamp.month,
    TimestampPart.YEAR: lambda stamp: stamp.year,
}


def _timestamp_part_test(value: SigmaTimestampPart) -> TextTest:
    """``|hour: 3`` and friends: the field is a timestamp (ISO 8601 or epoch seconds), read in UTC."""
    part, wanted = _TIME_PARTS[value.timestamp_part], value.number

    def test(text: str) -> bool:
        try:
            stamp = (datetime.fromtimestamp(float(text), UTC) if text.replace(".", "", 1).isdigit()
                     else datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text))
        except (ValueError, OverflowError, OSError):
            return False
        return part(stamp) == wanted

    return test


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A number as logs write one: ASCII digits, no padding, no digit grouping, no nan/inf (all of which float()
would accept)."""


def as_number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text) else None


def _number_test(number: int | float) -> TextTest:
    return lambda text: as_number(text) == number


def _cidr_test(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> TextTest:
    def test(text: str) -> bool:
        try:
            return ipaddress.ip_address(text) in network
        except ValueError:
            return False

    return test


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda left, right: left < right,
    CompareOperators.LTE: lambda left, right: left <= right,
    CompareOperators.GT: lambda left, right: left > right,
    CompareOperators.GTE: lambda left, right: left >= right,
    CompareOperators.NEQ: lambda left, right: left != right,
}


def _compare_test(value: SigmaCompareExpression) -> TextTest:
    compare, bound = _COMPARE[value.op], value.number.number

    def test(text: str) -> bool:
        value = as_number(text)
        return value is not None and compare(value, bound)

    return test


def _field_reference(field: str, value: SigmaFieldReference) -> Matcher:
    other = value.field

    def match(subject: Subject) -> bool:
        left, right = subject.lower(field), subject.lower(other)
        if left is _MISSING or right is _MISSING or isinstance(left, list) or isinstance(right, list):
            return False
        if value.starts_with:
            return left.startswith(right)
        if value.ends_with:
            return left.endswith(right)
        return left == right

    return match


@dataclass
class StringGroups:
    """OR-linked Sigma strings sorted by the cheapest test that decides each."""

    exact: set[str] = field(default_factory=set)
    prefixes: list[str] = field(default_factory=list)
    suffixes: list[str] = field(default_factory=list)
    infixes: list[str] = field(default_factory=list)
    globs: list[str] = field(default_factory=list)
    anything: bool = False


def classify_strings(values: list[SigmaString], cased: bool) -> StringGroups:
    groups = StringGroups()
    for value in values:
        parts = value.s
        for part in parts:
            if isinstance(part, Placeholder):
                raise CompileError(f"placeholder %{part.name}% has no value (the expand modifier needs config)")
        plain = [part for part in parts if isinstance(part, str)]
        literal = "".join(plain) if cased else "".join(plain).lower()
        specials = [part for part in parts if not isinstance(part, str)]
        if not specials:
            groups.exact.add(literal)
        elif all(part is SpecialChars.WILDCARD_MULTI for part in specials) and len(plain) <= 1:
            starts = parts[0] is SpecialChars.WILDCARD_MULTI
            ends = parts[-1] is SpecialChars.WILDCARD_MULTI
            if not plain:
                groups.anything = True
            elif starts and ends and len(parts) == 3:
                groups.infixes.append(literal)
            elif ends and len(parts) == 2:
                groups.prefixes.append(literal)
            elif starts and len(parts) == 2:
                groups.suffixes.append(literal)
            else:
                groups.globs.append(glob_regex(parts, cased))
        else:
            groups.globs.append(glob_regex(parts, cased))
    return groups


def _string_list_test(values: list[SigmaString], cased: bool) -> TextTest:
    """One test for OR-linked Sigma strings: equals / startswith / endswith / contains / glob."""
    groups = classify_strings(values, cased)
    if groups.anything:
        return lambda text: True
    return _combine(groups.exact, tuple(groups.prefixes), tuple(groups.suffixes), groups.infixes, groups.globs)


def _combine(exact: set[str], prefixes: tuple[str, ...], suffixes: tuple[str, ...],
             infixes: list[str], globs: list[str]) -> TextTest:
    tests: list[TextTest] = []
    if exact:
        if len(exact) == 1:
            (only,) = exact
            tests.append(lambda text: text == only)
        else:
            frozen = frozenset(exact)
            tests.append(lambda text: text in frozen)
    if prefixes:
        tests.append(lambda text: text.startswith(prefixes))
    if suffixes:
        tests.append(lambda text: text.endswith(suffixes))
    if infixes:
        if len(infixes) == 1:
            (infix,) = infixes
            tests.append(lambda text: infix in text)
        else:
            def contains_any(text: str) -> bool:
                for infix in infixes:  # a plain loop: no generator per call on the hot path
                    if infix in text:
                        return True
                return False

            tests.append(contains_any)
    if globs:
        glob = compile_fullmatch("|".join(f"(?:{pattern})" for pattern in globs), re.DOTALL)
        tests.append(lambda text: glob.fullmatch(text) is not None)
    if len(tests) == 1:
        return tests[0]

    def any_test(text: str) -> bool:
        for test in tests:
            if test(text):
                return True
        return False

    return any_test


def glob_regex(parts: list[Any], cased: bool) -> str:
    pieces = []
    for part in parts:
        if part is SpecialChars.WILDCARD_MULTI:
            pieces.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pieces.append(".")
        else:
            pieces.append(re.escape(part if cased else part.lower()))
    return "".join(pieces)
