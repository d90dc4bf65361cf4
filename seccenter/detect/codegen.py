"""Compile all the rules of one logsource route into a single generated Python function.

A closure per condition node costs a Python call per node per event; one generated function evaluates
every rule of a route with inline expressions instead: each field the rules read is fetched and
lower-cased once, string lists become ``in``/``startswith``/``endswith`` tests on tuples and sets, and
only what has no cheap inline form (regular expressions, CIDR, numeric comparison) calls a helper.

No rule text ever becomes source code: values and field names are passed in as constants (``K[n]``),
the generated source only holds variable names, operators and indexes.

Events whose fields hold lists (JSON arrays) take the closure matchers of ``matchers.py``, which know
Sigma's any-element semantics; the generated code raises ``_NeedsClosures`` when it meets one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaCasedString,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaString,
)

from seccenter.detect.matchers import (
    StringGroups,
    Subject,
    classify_strings,
    fold_or_args,
    typed_test,
    unanchored,
)
from seccenter.detect.regex import compile_fullmatch

INLINE_INFIXES = 16
"""Up to this many ``contains`` values are tested inline; longer lists go through one loop helper."""


class _NeedsClosures(Exception):
    """An event field holds a list: evaluate this event with the closure matchers."""


def _text(value: Any) -> str:
    """A non-string field value as text, as ``matchers.Subject`` reads it; lists need the closures."""
    if value.__class__ is list:
        raise _NeedsClosures
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _lower_text(value: Any) -> str:
    return _text(value).lower()


def _contains_any(text: str, infixes: tuple[str, ...]) -> bool:
    for infix in infixes:
        if infix in text:
            return True
    return False


class _Emitter:
    """Turns condition trees into expression source, collecting constants and the fields read."""

    def __init__(self) -> None:
        self.constants: list[Any] = []
        self.lowered: dict[str, str] = {}
        self.original: dict[str, str] = {}
        self.uses_raw_lower = False
        self.uses_raw = False

    def const(self, value: Any) -> str:
        self.constants.append(value)
        return f"K[{len(self.constants) - 1}]"

    def lower_var(self, field: str) -> str:
        return self.lowered.setdefault(field, f"l{len(self.lowered)}")

    def text_var(self, field: str) -> str:
        return self.original.setdefault(field, f"t{len(self.original)}")

    def expression(self, node: Any) -> str:
        if isinstance(node, ConditionAND):
            return "(" + " and ".join(self.expression(arg) for arg in node.args) + ")"
        if isinstance(node, ConditionOR):
            return "(" + " or ".join(self._or_args(node.args)) + ")"
        if isinstance(node, ConditionNOT):
            return f"(not {self.expression(node.args[0])})"
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self._field(node.field, node.value)
        if isinstance(node, ConditionValueExpression):
            return self._keyword(node.value)
        raise TypeError(f"unsupported condition element {type(node).__name__}")

    def _or_args(self, args: list[Any]) -> list[str]:
        folded, rest = fold_or_args(args)
        parts = [self.expression(arg) for arg in rest]
        for (field, cased), values in folded.items():
            parts.append(self._strings(field, values, cased))
        return parts

    def _strings(self, field: str | None, values: list[SigmaString], cased: bool) -> str:
        if field is None:
            values = [unanchored(value) for value in values]
            if cased:
                self.uses_raw = True
                return self._string_tests("rt", classify_strings(values, True))
            self.uses_raw_lower = True
            return self._string_tests("rl", classify_strings(values, False))
        var = self.text_var(field) if cased else self.lower_var(field)
        return f"({var} is not None and {self._string_tests(var, classify_strings(values, cased))})"

    def _string_tests(self, var: str, groups: StringGroups) -> str:
        if groups.anything:
            return "True"
        tests: list[str] = []
        if len(groups.exact) == 1:
            tests.append(f"{var} == {self.const(next(iter(groups.exact)))}")
        elif groups.exact:
            tests.append(f"{var} in {self.const(frozenset(groups.exact))}")
        if groups.prefixes:
            tests.append(f"{var}.startswith({self.const(tuple(groups.prefixes))})")
        if groups.suffixes:
            tests.append(f"{var}.endswith({self.const(tuple(groups.suffixes))})")
        if 0 < len(groups.infixes) <= INLINE_INFIXES:
            tests.extend(f"{self.const(infix)} in {var}" for infix in groups.infixes)
        elif groups.infixes:
            tests.append(f"_contains_any({var}, {self.const(tuple(groups.infixes))})")
        if groups.globs:
            pattern = compile_fullmatch("|".join(f"(?:{glob})" for glob in groups.globs), re.DOTALL)
            tests.append(f"{self.const(pattern)}.fullmatch({var}) is not None")
        return tests[0] if len(tests) == 1 else "(" + " or ".join(tests) + ")"

    def _field(self, field: str, value: Any) -> str:
        if isinstance(value, SigmaString):
            return self._strings(field, [value], isinstance(value, SigmaCasedString))
        if isinstance(value, SigmaExpansion):
            return "(" + " or ".join(self._or_args(
                [ConditionFieldEqualsValueExpression(field, item) for item in value.values])) + ")"
        if isinstance(value, SigmaNull):
            return f"(get({self.const(field)}) in (None, ''))"
        if isinstance(value, SigmaExists):
            comparison = "is not" if value.exists else "is"
            return f"(get({self.const(field)}) {comparison} None)"
        if isinstance(value, SigmaFieldReference):
            left, right = self.lower_var(field), self.lower_var(value.field)
            test = "startswith" if value.starts_with else "endswith" if value.ends_with else None
            comparison = f"{left}.{test}({right})" if test else f"{left} == {right}"
            return f"({left} is not None and {right} is not None and {comparison})"
        var = self.text_var(field)
        return f"({var} is not None and {self.const(typed_test(value))}({var}))"

    def _keyword(self, value: Any) -> str:
        if isinstance(value, SigmaString):
            return self._strings(None, [value], isinstance(value, SigmaCasedString))
        if isinstance(value, SigmaExpansion):
            return "(" + " or ".join(self._or_args([ConditionValueExpression(item) for item in value.values])) + ")"
        self.uses_raw = True
        return f"{self.const(typed_test(value))}(rt)"


RouteMatcher = Callable[[dict[str, Any], "str | bytes"], list[int]]


Necessary = dict[str, frozenset[str]]


def necessary_basenames(node: Any) -> Necessary | None:
    """File names such that the condition can only be true when, for at least one of the fields, the field's
    value, lower-cased, ends in one of the field's names after its last backslash; None when the condition
    implies no such thing.

    Windows rules mostly start with ``Image|endswith: '\\tool.exe'`` (or ``OriginalFileName: 'tool.exe'``):
    with this, a route skips every rule whose tool is not the event's by set lookups, before evaluating
    anything else of the rule.
    """
    if isinstance(node, ConditionAND):
        found = [result for result in map(necessary_basenames, node.args) if result is not None]
        return min(found, key=lambda result: sum(map(len, result.values()))) if found else None
    if isinstance(node, ConditionOR):
        return _union([necessary_basenames(arg) for arg in node.args])
    if isinstance(node, ConditionFieldEqualsValueExpression) and isinstance(node.value, SigmaString):
        parts = node.value.s
        if not parts or not isinstance(parts[-1], str):
            return None
        tail = parts[-1]
        if len(parts) > 1 and "\\" not in tail:  # "*cmd.exe" could be "xcmd.exe": no file name is implied
            return None
        name = tail.rsplit("\\", 1)[-1].lower()
        return {node.field: frozenset({name})} if name else None
    return None


def _union(found: Sequence[Necessary | None]) -> Necessary | None:
    """OR: every alternative must imply names; the result allows any alternative's."""
    if not found or any(result is None for result in found):
        return None
    merged: dict[str, frozenset[str]] = {}
    for result in found:
        for field, names in result.items():  # type: ignore[union-attr]
            merged[field] = merged.get(field, frozenset()) | names
    return merged


def _rule_basenames(trees: Sequence[Any]) -> Necessary | None:
    """A rule's condition trees are OR-linked."""
    return _union([necessary_basenames(tree) for tree in trees])


def compile_route(conditions: Sequence[Sequence[Any]], fallbacks: Sequence[Callable[[Subject], bool]]
                  ) -> RouteMatcher:
    """One function returning the indexes of the rules that match an event, in ascending order.

    ``conditions[i]`` are rule i's condition trees (OR-linked); ``fallbacks[i]`` its closure matcher. Rules
    that imply file names (``necessary_basenames``) become functions of their own, called only for events
    with one of their names; the others are tested inline.
    """
    emitter = _Emitter()
    name_vars: dict[str, str] = {}
    inline: list[str] = []
    indexed: dict[int, str] = {}
    index_by_name: dict[str, dict[str, list[int]]] = {}
    for index, trees in enumerate(conditions):
        expression = " or ".join(emitter.expression(tree) for tree in trees) or "False"
        necessary = _rule_basenames(trees)
        if necessary:
            indexed[index] = expression
            for field, names in necessary.items():
                name_vars.setdefault(field, f"n{len(name_vars)}")
                for name in names:
                    index_by_name.setdefault(field, {}).setdefault(name, []).append(index)
        else:
            inline.append(f"    if {expression}:\n        hits.append({index})")
    for field in name_vars:
        emitter.lower_var(field)
    values = [*emitter.lowered.values(), *emitter.original.values()]
    if emitter.uses_raw or emitter.uses_raw_lower:
        values.append("rt")
    if emitter.uses_raw_lower:
        values.append("rl")
    arguments = ", ".join(["get", *values])
    prologue = ["    get = fields.get"]
    for field, var in emitter.lowered.items():
        prologue.append(f"    {var} = get({emitter.const(field)})")
        prologue.append(f"    if {var} is not None:\n        {var} = {var}.lower() if {var}.__class__ is str "
                        f"else _lower_text({var})")
    for field, var in emitter.original.items():
        prologue.append(f"    {var} = get({emitter.const(field)})")
        prologue.append(f"    if {var} is not None and {var}.__class__ is not str:\n        {var} = _text({var})")
    if emitter.uses_raw or emitter.uses_raw_lower:
        prologue.append("    rt = raw if raw.__class__ is str else raw.decode('latin-1')")
    if emitter.uses_raw_lower:
        prologue.append("    rl = rt.lower()")
    candidates = []
    for field in name_vars:
        var = emitter.lower_var(field)
        lookup = emitter.const({name: tuple(rules) for name, rules in index_by_name[field].items()})
        candidates.append(f"    if {var} is not None:\n        found = {lookup}.get({var}.rpartition('\\\\')[2])\n"
                          f"        if found:\n            candidates.update(found)")
    dispatch = ""
    if indexed:
        dispatch = ("    candidates = set()\n" + "\n".join(candidates) + "\n    if candidates:\n"
                    "        for index in candidates:\n"
                    f"            if R[index]({arguments}):\n                hits.append(index)\n"
                    "        hits.sort()\n")
    # helpers and constants are default arguments: local variables, cheaper to read than globals
    defaults = "K=K, R=R, _lower_text=_lower_text, _text=_text, _contains_any=_contains_any"
    rule_functions = "".join(f"def rule_{index}({arguments}, {defaults}):\n    return {expression}\n\n"
                             for index, expression in indexed.items())
    source = (rule_functions + f"def route(fields, raw, {defaults}):\n" + "\n".join(prologue)
              + "\n    hits = []\n" + "\n".join(inline) + "\n" + dispatch + "    return hits\n")
    namespace: dict[str, Any] = {"K": tuple(emitter.constants), "R": {}, "_lower_text": _lower_text,
                                 "_text": _text, "_contains_any": _contains_any}
    exec(compile(source, "<seccenter rules>", "exec"), namespace)  # noqa: S102 - constants only, see docstring
    namespace["R"].update({index: namespace[f"rule_{index}"] for index in indexed})
    generated = namespace["route"]

    def match(fields: dict[str, Any], raw: str | bytes) -> list[int]:
        try:
            return generated(fields, raw)
        except _NeedsClosures:
            subject = Subject(fields, raw)
            return [index for index, fallback in enumerate(fallbacks) if fallback(subject)]

    return match
