"""Incident playbooks as YAML: the typed model, read with every problem located at file:line.

A playbook is a chain of steps from ``start``, each step naming the ``next`` one. ``decision`` and ``parallel``
steps open branches (chains of their own); a branch ends at its last step and the flow goes on at the ``next``
of the step that opened it, as in CACAO 2.0. So every step is entered from exactly one place, and the steps form
a tree: a second way into a step, a way back to an earlier one (cycles: no loops are allowed, a response is
worked through once) and a step no way leads to are all errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from seccenter.playbooks.durations import Duration, DurationError, parse_duration
from seccenter.yamlfile import LineDict, Problem, SourceLocation

KINDS = ("manual", "command", "decision", "parallel", "playbook")
ANCHORS = ("detection", "awareness")
# the incident fields a decision can test and a command argument can hold ({incident.title})
INCIDENT_FIELDS = ("id", "title", "category", "severity", "owner", "status")
OPERATORS = ("equals", "not_equals", "in", "not_in")
REFERENCE_KINDS = ("gdpr", "bsi", "nis2")
ANSWERS = {"yes": "yes", "ja": "yes", "y": "yes", "j": "yes", "no": "no", "nein": "no", "n": "no"}

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
PLACEHOLDER = re.compile(r"\{incident\.([^{}]*)\}")
_REFERENCE_PATTERNS = {
    "gdpr": re.compile(r"Art\. [0-9]+.*"),
    "nis2": re.compile(r"Art\. [0-9]+.*"),
    # IT-Grundschutz requirement ids: module (DER.2.1) and requirement (A3)
    "bsi": re.compile(r"[A-Z]{3,4}(\.[0-9]+)+\.A[0-9]+"),
}
MAX_STEPS = 500
# branches inside branches, called playbooks counted too: deeper trees are mistakes (or attacks on the stack of
# everything that walks them)
MAX_DEPTH = 32
MAX_TEXT = 10_000
MAX_TIMEOUT = 3600
DEFAULT_TIMEOUT = 60

_COMMON_KEYS = {"id", "kind", "title", "description", "owner", "due", "references", "next"}
_KIND_KEYS = {"manual": set(), "command": {"argv", "timeout"}, "decision": {"when", "then", "else"},
              "parallel": {"branches"}, "playbook": {"playbook"}}
_PLAYBOOK_KEYS = {"id", "title", "version", "date", "description", "triggers", "start", "steps"}
_TRIGGER_KEYS = ("tags", "rules", "categories")


class PlaybookError(ValueError):
    """A playbook that cannot be used; ``problems`` lists every reason with its file:line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class Localized:
    de: str
    en: str

    def get(self, lang: str) -> str:
        return self.de if lang == "de" else self.en

    def to_document(self) -> str | dict[str, str]:
        return self.en if self.de == self.en else {"de": self.de, "en": self.en}


@dataclass(frozen=True)
class Due:
    duration: Duration
    after: str  # detection | awareness

    def to_document(self) -> str | dict[str, str]:
        if self.after == "detection":
            return self.duration.text
        return {"duration": self.duration.text, "after": self.after}


@dataclass(frozen=True)
class Condition:
    """A test of one incident field, or (``field`` None) a yes/no question for the analyst."""

    field: str | None = None
    operator: str | None = None
    values: tuple[str, ...] = ()

    @property
    def asks_analyst(self) -> bool:
        return self.field is None

    def holds(self, incident: dict[str, Any]) -> bool:
        value = incident.get(self.field) if self.field else None
        text = "" if value is None else str(value)
        if self.operator == "equals":
            return text == self.values[0]
        if self.operator == "not_equals":
            return text != self.values[0]
        if self.operator == "in":
            return text in self.values
        return text not in self.values

    def describe(self) -> str:
        if self.field is None:
            return "the analyst answers yes"
        shown = self.values[0] if self.operator in ("equals", "not_equals") else f"[{', '.join(self.values)}]"
        return f"{self.field} {self.operator.replace('_', ' ')} {shown}"

    def to_document(self) -> str | dict[str, Any]:
        if self.field is None:
            return "answer"
        value: Any = self.values[0] if self.operator in ("equals", "not_equals") else list(self.values)
        return {"field": self.field, self.operator: value}


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    title: Localized
    description: Localized | None = None
    owner: str | None = None
    due: Due | None = None
    references: tuple[tuple[str, tuple[str, ...]], ...] = ()
    next: str | None = None
    argv: tuple[str, ...] = ()
    timeout: int | None = None
    when: Condition | None = None
    then: str | None = None
    otherwise: str | None = None
    branches: tuple[str, ...] = ()
    playbook: str | None = None
    line: int | None = field(default=None, compare=False)

    def branch_heads(self) -> list[tuple[str, str]]:
        """(label, first step) of each branch this step opens."""
        if self.kind == "decision":
            return [(label, head) for label, head in (("then", self.then), ("else", self.otherwise)) if head]
        if self.kind == "parallel":
            return [(f"branch {number}", head) for number, head in enumerate(self.branches, 1)]
        return []

    def targets(self) -> list[str]:
        return [head for _, head in self.branch_heads()] + ([self.next] if self.next else [])

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"id": self.id, "kind": self.kind, "title": self.title.to_document()}
        if self.description:
            document["description"] = self.description.to_document()
        if self.owner:
            document["owner"] = self.owner
        if self.due:
            document["due"] = self.due.to_document()
        if self.references:
            document["references"] = {kind: list(items) for kind, items in self.references}
        if self.kind == "command":
            document["argv"] = list(self.argv)
            if self.timeout is not None:
                document["timeout"] = self.timeout
        if self.when is not None:
            document["when"] = self.when.to_document()
        for key, value in (("then", self.then), ("else", self.otherwise)):
            if value:
                document[key] = value
        if self.branches:
            document["branches"] = list(self.branches)
        if self.playbook:
            document["playbook"] = self.playbook
        if self.next:
            document["next"] = self.next
        return document


@dataclass(frozen=True)
class Triggers:
    tags: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()  # rule ids; a trailing * matches any rest (yara:*)
    categories: tuple[str, ...] = ()

    def matches(self, category: str, rule_ids: list[str], tags: list[str]) -> list[str]:
        """Why this playbook fits an incident (empty: it does not)."""
        reasons = [f"category {category}" for wanted in self.categories if wanted == category.lower()]
        reasons += [f"rule {rule_id}" for pattern in self.rules for rule_id in sorted(set(rule_ids))
                    if rule_id == pattern or (pattern.endswith("*") and rule_id.startswith(pattern[:-1]))]
        reasons += [f"tag {tag}" for wanted in self.tags for tag in sorted(set(tags)) if tag.lower() == wanted]
        return reasons

    def to_document(self) -> dict[str, list[str]]:
        return {key: list(getattr(self, key)) for key in _TRIGGER_KEYS if getattr(self, key)}


@dataclass(frozen=True)
class Playbook:
    id: str
    title: Localized
    version: str
    date: str  # ISO date of this version
    steps: tuple[Step, ...]
    start: str
    description: Localized | None = None
    triggers: Triggers = Triggers()
    source: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)

    def chain(self, head: str) -> list[Step]:
        steps, current = [], head
        while current:
            step = self.step(current)
            steps.append(step)
            current = step.next
        return steps

    def calls(self) -> list[Step]:
        return [step for step in self.steps if step.kind == "playbook"]

    def depths(self) -> dict[str, int]:
        """How many branches deep each step lies (0: on the chain from the start)."""
        found: dict[str, int] = {}
        pending = [(self.start, 0)]
        while pending:
            head, depth = pending.pop()
            for step in self.chain(head):
                found[step.id] = depth
                pending.extend((branch, depth + 1) for _, branch in step.branch_heads())
        return found

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"id": self.id, "title": self.title.to_document(), "version": self.version,
                                    "date": self.date}
        if self.description:
            document["description"] = self.description.to_document()
        if self.triggers.to_document():
            document["triggers"] = self.triggers.to_document()
        if self.steps and self.start != self.steps[0].id:
            document["start"] = self.start
        document["steps"] = [step.to_document() for step in self.steps]
        return document


class _Reader:
    """Reads one document, collecting every problem instead of stopping at the first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(SourceLocation(self.path, line), message))

    @staticmethod
    def line(mapping: Any, key: str | None = None) -> int | None:
        if isinstance(mapping, LineDict):
            return mapping.key_lines.get(key, mapping.line) if key is not None else mapping.line
        return None

    def text(self, value: Any, line: int | None, what: str, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
            self.problem(line, f"{what} must be text")
            return None
        text = str(value).strip()
        if len(text) > MAX_TEXT:
            self.problem(line, f"{what} is longer than {MAX_TEXT} characters")
            return None
        return text

    def localized(self, value: Any, line: int | None, what: str, required: bool = True) -> Localized | None:
        if value is None and not required:
            return None
        if isinstance(value, dict):
            unknown = sorted(map(str, set(value) - {"de", "en"}))
            if unknown:
                self.problem(line, f"{what}: unknown language {', '.join(unknown)} (use de and en)")
            de = self.text(value.get("de"), self.line(value, "de") or line, f"{what} (de)")
            en = self.text(value.get("en"), self.line(value, "en") or line, f"{what} (en)")
            return Localized(de, en) if de and en and not unknown else None
        text = self.text(value, line, what)
        return Localized(text, text) if text else None

    def identifier(self, value: Any, line: int | None, what: str) -> str | None:
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            self.problem(line, f"{what} {value!r} must be 1-64 lower-case letters, digits, - or _, "
                               "starting with a letter or digit")
            return None
        return value

    def strings(self, value: Any, line: int | None, what: str) -> tuple[str, ...] | None:
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(item, str) and item.strip() for item in items):
            self.problem(line, f"{what} must be text or a list of text")
            return None
        return tuple(item.strip() for item in items)


def from_document(document: Any, path: str, line: int | None = None) -> Playbook:
    """The playbook in a parsed YAML document (starting at ``line``); raises ``PlaybookError`` listing every
    problem."""
    reader = _Reader(path)
    playbook = _read_playbook(reader, document, line)
    if reader.problems or playbook is None:
        raise PlaybookError(reader.problems or [Problem(SourceLocation(path), "not a playbook")])
    return playbook


def _read_playbook(reader: _Reader, document: Any, document_line: int | None) -> Playbook | None:
    if not isinstance(document, dict):
        reader.problem(document_line, "a playbook is a mapping with id, title, version, date and steps")
        return None
    line = reader.line
    for key in sorted(map(str, set(document) - _PLAYBOOK_KEYS)):
        reader.problem(line(document, key), f"unknown key {key!r} (known: {', '.join(sorted(_PLAYBOOK_KEYS))})")
    for key in ("id", "title", "version", "date", "steps"):
        if key not in document:
            reader.problem(line(document), f"missing {key!r}")
    playbook_id = reader.identifier(document.get("id"), line(document, "id"), "playbook id") \
        if "id" in document else None
    title = reader.localized(document.get("title"), line(document, "title"), "title") if "title" in document else None
    version = document.get("version")
    if "version" in document and (not isinstance(version, str) or not version.strip()):
        reader.problem(line(document, "version"), 'version must be text (quote numbers: version: "1.0")')
    day = _read_date(reader, document.get("date"), line(document, "date")) if "date" in document else None
    description = reader.localized(document.get("description"), line(document, "description"), "description",
                                   required=False)
    triggers = _read_triggers(reader, document.get("triggers"), line(document, "triggers"))
    before = len(reader.problems)
    steps = _read_steps(reader, document.get("steps"), line(document, "steps")) if "steps" in document else []
    start = document.get("start", steps[0].id if steps else None)
    if "start" in document and (not isinstance(start, str) or start not in {step.id for step in steps}):
        reader.problem(line(document, "start"), f"start names no step: {start!r}")
    elif steps and len(reader.problems) == before:  # a step that could not be read would show up as missing
        _check_structure(reader, steps, start)
    if reader.problems or not (playbook_id and title and day and steps):
        return None
    return Playbook(playbook_id, title, version.strip(), day, tuple(steps), start, description, triggers,
                    source=reader.path, line=line(document))


def _read_date(reader: _Reader, value: Any, line: int | None) -> str | None:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    reader.problem(line, f"date must be the day of this version, such as 2025-01-31 (not {value!r})")
    return None


def _read_triggers(reader: _Reader, value: Any, line: int | None) -> Triggers:
    if value is None:
        return Triggers()
    if not isinstance(value, dict):
        reader.problem(line, "triggers must be a mapping of tags, rules and categories")
        return Triggers()
    for key in sorted(map(str, set(value) - set(_TRIGGER_KEYS))):
        reader.problem(reader.line(value, key), f"unknown trigger {key!r} (known: {', '.join(_TRIGGER_KEYS)})")
    found = {}
    for key in _TRIGGER_KEYS:
        if key in value:
            items = reader.strings(value[key], reader.line(value, key), f"triggers.{key}")
            found[key] = tuple(item if key == "rules" else item.lower() for item in items or ())
    return Triggers(**found)


def _read_steps(reader: _Reader, value: Any, line: int | None) -> list[Step]:
    if not isinstance(value, list) or not value:
        reader.problem(line, "steps must be a non-empty list of steps")
        return []
    if len(value) > MAX_STEPS:
        reader.problem(line, f"{len(value)} steps; at most {MAX_STEPS} are allowed")
        return []
    steps: list[Step] = []
    seen: dict[str, int | None] = {}
    for item in value:
        step = _read_step(reader, item, line)
        if step is None:
            continue
        if step.id in seen:
            reader.problem(step.line, f"duplicate step id {step.id!r} (first at line {seen[step.id]})")
            continue
        seen[step.id] = step.line
        steps.append(step)
    return steps


def _read_step(reader: _Reader, item: Any, list_line: int | None) -> Step | None:
    if not isinstance(item, dict):
        reader.problem(reader.line(item) or list_line, "a step is a mapping with id, kind and title")
        return None
    line = reader.line
    step_line = line(item)
    before = len(reader.problems)
    step_id = reader.identifier(item.get("id"), line(item, "id"), "step id")
    kind = item.get("kind")
    if kind not in KINDS:
        reader.problem(line(item, "kind"), f"unknown step kind {kind!r} (known: {', '.join(KINDS)})")
        return None
    for key in sorted(map(str, set(item) - _COMMON_KEYS - _KIND_KEYS[kind])):
        reader.problem(line(item, key), f"unknown key {key!r} in a {kind} step")
    title = reader.localized(item.get("title"), line(item, "title"), "title")
    values: dict[str, Any] = {
        "description": reader.localized(item.get("description"), line(item, "description"), "description",
                                        required=False),
        "owner": reader.text(item.get("owner"), line(item, "owner"), "owner", required=False),
        "due": _read_due(reader, item.get("due"), line(item, "due")),
        "references": _read_references(reader, item.get("references"), line(item, "references")),
        "next": _target(reader, item, "next"),
    }
    if kind == "command":
        values.update(_read_command(reader, item))
    elif kind == "decision":
        values.update(when=_read_condition(reader, item.get("when"), line(item, "when") or step_line),
                      then=_target(reader, item, "then"), otherwise=_target(reader, item, "else"))
        if not values["then"] and not values["otherwise"]:
            reader.problem(step_line, "a decision needs a then or an else branch")
    elif kind == "parallel":
        branches = item.get("branches")
        if not isinstance(branches, list) or len(branches) < 2:
            reader.problem(line(item, "branches") or step_line, "a parallel step needs branches: a list of at least "
                                                                 "two step ids")
        else:
            values["branches"] = tuple(reader.identifier(head, line(item, "branches"), "branch") or ""
                                       for head in branches)
    elif kind == "playbook":
        values["playbook"] = reader.identifier(item.get("playbook"), line(item, "playbook") or step_line,
                                               "called playbook")
    if len(reader.problems) > before or step_id is None or title is None:
        return None
    return Step(step_id, kind, title, line=step_line, **values)


def _target(reader: _Reader, item: dict, key: str) -> str | None:
    if item.get(key) is None:
        return None
    return reader.identifier(item[key], reader.line(item, key), key)


def _read_due(reader: _Reader, value: Any, line: int | None) -> Due | None:
    if value is None:
        return None
    duration, after = value, "detection"
    if isinstance(value, dict):
        for key in sorted(map(str, set(value) - {"duration", "after"})):
            reader.problem(reader.line(value, key), f"unknown key {key!r} in due (known: duration, after)")
        duration, after = value.get("duration"), value.get("after", "detection")
        if after not in ANCHORS:
            reader.problem(reader.line(value, "after") or line, f"due after {after!r}: use one of "
                                                                f"{', '.join(ANCHORS)}")
            return None
    try:
        return Due(parse_duration(duration), after)
    except DurationError as error:
        reader.problem(line, f"bad due duration: {error}")
        return None


def _read_references(reader: _Reader, value: Any, line: int | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        reader.problem(line, "references must be a mapping of gdpr, bsi and nis2 to lists")
        return ()
    found = []
    for key in sorted(map(str, set(value) - set(REFERENCE_KINDS))):
        reader.problem(reader.line(value, key), f"unknown reference kind {key!r} (known: "
                                                f"{', '.join(REFERENCE_KINDS)})")
    for kind in REFERENCE_KINDS:
        if kind not in value:
            continue
        items = reader.strings(value[kind], reader.line(value, kind), f"references.{kind}") or ()
        for item in items:
            if not _REFERENCE_PATTERNS[kind].fullmatch(item):
                example = "DER.2.1.A3" if kind == "bsi" else "Art. 33(1)"
                reader.problem(reader.line(value, kind), f"{kind} reference {item!r} is not like {example}")
        found.append((kind, items))
    return tuple(found)


def _read_command(reader: _Reader, item: dict) -> dict[str, Any]:
    line = reader.line(item, "argv") or reader.line(item)
    argv = item.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(arg, str) for arg in argv):
        reader.problem(line, "argv must be a non-empty list of text: the program and its arguments, one per item "
                             "(no shell string)")
        return {}
    if PLACEHOLDER.search(argv[0]):
        reader.problem(line, "the program (argv[0]) must be fixed, not taken from the incident")
    for arg in argv:
        for name in PLACEHOLDER.findall(arg):
            if name not in INCIDENT_FIELDS:
                reader.problem(line, f"placeholder {{incident.{name}}} names no incident field (known: "
                                     f"{', '.join(INCIDENT_FIELDS)})")
    timeout = item.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int)
                                or not 1 <= timeout <= MAX_TIMEOUT):
        reader.problem(reader.line(item, "timeout"), f"timeout must be whole seconds from 1 to {MAX_TIMEOUT}")
    return {"argv": tuple(argv), "timeout": timeout}


def _read_condition(reader: _Reader, value: Any, line: int | None) -> Condition | None:
    if value == "answer":
        return Condition()
    if not isinstance(value, dict):
        reader.problem(line, "when must be 'answer' (the analyst answers yes or no) or a mapping such as "
                             "{field: severity, in: [high, critical]}")
        return None
    operators = [key for key in value if key in OPERATORS]
    unknown = sorted(map(str, set(value) - set(OPERATORS) - {"field"}))
    if unknown or len(operators) != 1:
        reader.problem(line, f"when needs field and exactly one of {', '.join(OPERATORS)}"
                             + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
        return None
    name, operator = value.get("field"), operators[0]
    if name not in INCIDENT_FIELDS:
        reader.problem(reader.line(value, "field") or line, f"field {name!r} is no incident field (known: "
                                                            f"{', '.join(INCIDENT_FIELDS)})")
        return None
    operand = value[operator]
    items = operand if isinstance(operand, list) and operator in ("in", "not_in") else [operand]
    if not items or any(isinstance(item, bool) or not isinstance(item, str | int) for item in items) or (
            operator in ("equals", "not_equals") and isinstance(operand, list)):
        reader.problem(reader.line(value, operator) or line,
                       f"{operator} takes {'a list of values' if operator in ('in', 'not_in') else 'one value'} "
                       "(text or numbers; quote yes/no/on/off)")
        return None
    return Condition(name, operator, tuple(str(item) for item in items))


def _check_structure(reader: _Reader, steps: list[Step], start: str) -> None:
    """Every target exists; no way leads back to a step on the way to it (cycles); every step but the start is
    entered from exactly one place; every step can be reached from the start."""
    by_id = {step.id: step for step in steps}
    for step in steps:
        for target in step.targets():
            if target not in by_id:
                reader.problem(step.line, f"step {step.id!r} leads to {target!r}, which is no step of this playbook")
    in_cycles: set[str] = set()
    ways_back: set[tuple[str, str]] = set()
    for closing, cycle in _cycles(steps, by_id, start):
        in_cycles.update(cycle)
        ways_back.add((closing.id, cycle[0]))
        reader.problem(closing.line, f"steps form a cycle: {' → '.join(cycle + [cycle[0]])} (playbooks have no "
                                     "loops)")
    entered_from: dict[str, Step] = {}
    for step in steps:
        for target in step.targets():
            if target not in by_id or (step.id, target) in ways_back:
                continue
            if target == start:
                reader.problem(step.line, f"step {step.id!r} leads to the start step {start!r}; no step leads to "
                                          "the start")
            elif target in entered_from:
                reader.problem(step.line, f"step {target!r} is entered from both {entered_from[target].id!r} and "
                                          f"{step.id!r}; branches join again at the next of the step that opened "
                                          "them")
            else:
                entered_from[target] = step
    reached: dict[str, int] = {}  # step id: how many branches deep
    pending = [(start, 0)]
    while pending:
        current, depth = pending.pop()
        if current in reached or current not in by_id:
            continue
        reached[current] = depth
        step = by_id[current]
        pending.extend((head, depth + 1) for _, head in step.branch_heads())
        if step.next:
            pending.append((step.next, depth))
    for step in steps:
        if step.id not in reached and step.id not in in_cycles:
            reader.problem(step.line, f"step {step.id!r} is unreachable: no step leads to it from the start "
                                      f"{start!r}")
    too_deep = next((step for step in steps if reached.get(step.id, 0) > MAX_DEPTH), None)
    if too_deep is not None:
        reader.problem(too_deep.line, f"step {too_deep.id!r} lies {reached[too_deep.id]} branches deep; at most "
                                      f"{MAX_DEPTH} levels are allowed")


def _cycles(steps: list[Step], by_id: dict[str, Step], start: str) -> list[tuple[Step, list[str]]]:
    """Each way back to a step on the current path (depth first from the start, then from every step not yet
    seen): the step that leads back and the cycle it closes, from the step it leads back to."""
    found: list[tuple[Step, list[str]]] = []
    state: dict[str, str] = {}  # on-path | finished
    for root in [start] + [step.id for step in steps]:
        if root in state:
            continue
        path, pending = [root], [iter(by_id[root].targets())]
        state[root] = "on-path"
        while pending:
            target = next(pending[-1], None)
            if target is None:
                state[path.pop()] = "finished"
                pending.pop()
            elif state.get(target) == "on-path":
                found.append((by_id[path[-1]], path[path.index(target):]))
            elif target in by_id and target not in state:
                state[target] = "on-path"
                path.append(target)
                pending.append(iter(by_id[target].targets()))
    return found
