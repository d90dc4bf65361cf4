"""Playbooks as CACAO 2.0 JSON (OASIS, Committee Specification 01) and back.

Export maps each step to a workflow step: ``manual`` and ``command`` to ``action`` (a ``manual`` command the
analyst reads; the agent is a group named after the owner role), ``decision`` to ``if-condition`` (the condition
written in STIX patterning over ``x-seccenter-incident`` or ``x-seccenter-answer``), ``parallel`` to
``parallel`` and ``playbook`` to ``playbook-action``; every branch ends at an end step of its own, as the
specification asks. What CACAO has no field for (titles in German and English, owner role, due time, legal
references, decision expressions, argv, triggers, version) travels in the seccenter extension: the playbook's
``playbook_extensions`` and each step's ``step_extensions`` under ``EXTENSION_ID``. References are also written
as ``external_references``, and command placeholders as ``playbook_variables`` (``__incident_title__``).

Ids are UUIDv5 from the playbook id and step id, and ``created``/``modified`` come from the playbook's date, so
the same playbook always exports to the same bytes; import reads the extension back, so export → import →
export gives the file it started from. A CACAO playbook from elsewhere imports too: actions become manual steps
(their commands shown as text), if-conditions become questions for the analyst.
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from typing import Any

from seccenter.playbooks.model import MAX_DEPTH, PLACEHOLDER, Playbook, PlaybookError, Problem, Step, from_document
from seccenter.yamlfile import SourceLocation

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:seccenter:cacao")
EXTENSION_ID = f"extension-definition--{uuid.uuid5(NAMESPACE, 'extension:seccenter-playbook')}"
IDENTITY = f"identity--{uuid.uuid5(NAMESPACE, 'identity:seccenter')}"
EXTENSION_VERSION = "1.0.0"
DEFAULT_AGENT = "incident-response"
SUPPORTED = ("start", "end", "action", "if-condition", "parallel", "playbook-action")
_TYPES = {"manual": "action", "command": "action", "decision": "if-condition", "parallel": "parallel",
          "playbook": "playbook-action"}
_STRUCTURE = ("next", "then", "else", "branches")
_REFERENCE_NAMES = {"gdpr": "GDPR", "bsi": "BSI IT-Grundschutz", "nis2": "NIS2 (Directive (EU) 2022/2555)"}


class CacaoError(ValueError):
    """A CACAO document that cannot be imported (the message names the step)."""


def _id(kind: str, *parts: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, '/'.join(parts))}"


def playbook_cacao_id(playbook_id: str) -> str:
    return _id("playbook", playbook_id)


def dumps(document: dict[str, Any]) -> str:
    """The one text form of an export: sorted keys, two-space indent, UTF-8, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _variable(name: str) -> str:
    return f"__incident_{name}__"


def _references(step: Step) -> list[dict[str, str]]:
    return [{"name": f"{_REFERENCE_NAMES[kind]} {item}", "source": _REFERENCE_NAMES[kind], "external_id": item}
            for kind, items in step.references for item in items]


def _stix_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _condition(step: Step) -> str:
    when = step.when
    if when.asks_analyst:
        return "[x-seccenter-answer:value = 'yes']"
    operator = {"equals": "=", "not_equals": "!=", "in": "IN", "not_in": "NOT IN"}[when.operator]
    operand = (_stix_string(when.values[0]) if when.operator in ("equals", "not_equals")
               else "(" + ", ".join(map(_stix_string, when.values)) + ")")
    return f"[x-seccenter-incident:{when.field} {operator} {operand}]"


def _command_text(step: Step) -> str:
    if step.kind == "command":
        shown = [PLACEHOLDER.sub(lambda match: f"{_variable(match.group(1))}:value", arg) for arg in step.argv]
        return f"Run: {shlex.join(shown)}"
    return step.description.en if step.description else step.title.en


def export_cacao(playbook: Playbook) -> dict[str, Any]:
    """The playbook as a CACAO 2.0 playbook object (a dict ready for ``dumps``)."""
    step_ids = {step.id: _id(_TYPES[step.kind], playbook.id, "step", step.id) for step in playbook.steps}
    workflow: dict[str, Any] = {}
    agents: dict[str, Any] = {}
    variables: dict[str, Any] = {}

    def end(name: str, *parts: str) -> str:
        end_id = _id("end", playbook.id, "end", *parts)
        workflow[end_id] = {"type": "end", "name": name}
        return end_id

    def emit(head: str, end_id: str) -> None:
        for step in playbook.chain(head):
            entry: dict[str, Any] = {"type": _TYPES[step.kind], "name": step.title.en,
                                     "on_completion": step_ids[step.next] if step.next else end_id,
                                     "step_extensions": {EXTENSION_ID: {key: value for key, value in
                                                                        step.to_document().items()
                                                                        if key not in _STRUCTURE}}}
            if step.description:
                entry["description"] = step.description.en
            if step.references:
                entry["external_references"] = _references(step)
            if entry["type"] == "action":
                agent = _id("group", "agent", step.owner or DEFAULT_AGENT)
                agents[agent] = {"type": "group", "name": step.owner or DEFAULT_AGENT}
                entry.update(commands=[{"type": "manual", "command": _command_text(step)}], agent=agent)
                for name in sorted({name for arg in step.argv for name in PLACEHOLDER.findall(arg)}):
                    variables[_variable(name)] = {"type": "string", "external": True,
                                                  "description": f"the incident's {name}, one argument"}
            elif step.kind == "decision":
                entry["condition"] = _condition(step)
                for label, key, branch in (("then", "on_true", step.then), ("else", "on_false", step.otherwise)):
                    if branch:
                        entry[key] = step_ids[branch]
                        emit(branch, end(f"End of {step.id} ({label})", step.id, label))
                    elif label == "then":  # on_true is required: an empty branch straight to its end
                        entry[key] = end(f"End of {step.id} ({label})", step.id, label)
            elif step.kind == "parallel":
                entry["next_steps"] = [step_ids[branch] for branch in step.branches]
                for number, branch in enumerate(step.branches, 1):
                    emit(branch, end(f"End of {step.id} (branch {number})", step.id, str(number)))
            else:
                entry["playbook_id"] = playbook_cacao_id(step.playbook)
            workflow[step_ids[step.id]] = entry

    start_id = _id("start", playbook.id, "start")
    workflow[start_id] = {"type": "start", "name": "Start", "on_completion": step_ids[playbook.start]}
    emit(playbook.start, end("End", "main"))
    moment = f"{playbook.date}T00:00:00.000Z"
    document: dict[str, Any] = {
        "type": "playbook", "spec_version": "cacao-2.0", "id": playbook_cacao_id(playbook.id),
        "name": playbook.title.en, "created_by": IDENTITY, "created": moment, "modified": moment,
        "workflow_start": start_id, "workflow": workflow,
        "playbook_extensions": {EXTENSION_ID: {key: value for key, value in playbook.to_document().items()
                                               if key not in ("steps", "start")}},
        "extension_definitions": {EXTENSION_ID: {
            "type": "extension-definition", "name": "seccenter playbook", "created_by": IDENTITY,
            "schema": "seccenter README: Playbooks, CACAO 2.0 extension", "version": EXTENSION_VERSION,
            "description": "Titles in German and English, owner role, due time (ISO 8601 duration after detection "
                           "or awareness), GDPR / BSI / NIS2 references, decision expressions, command argv, "
                           "triggers and version of a seccenter playbook and its steps."}},
    }
    if playbook.description:
        document["description"] = playbook.description.en
    if agents:
        document["agent_definitions"] = agents
    if variables:
        document["playbook_variables"] = variables
    references = {json.dumps(item, sort_keys=True) for step in playbook.steps for item in _references(step)}
    if references:
        document["external_references"] = [json.loads(item) for item in sorted(references)]
    return document


def parse_json(text: str | bytes, source: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CacaoError(f"{source}: not JSON ({error})") from None


def import_cacao(document: Any, source: str) -> Playbook:
    """A playbook from a CACAO 2.0 playbook object; raises ``CacaoError`` or ``PlaybookError``."""
    return _Importer(document, source).playbook()


class _Importer:
    def __init__(self, document: Any, source: str) -> None:
        if not isinstance(document, dict) or document.get("type") != "playbook":
            raise CacaoError(f"{source}: not a CACAO playbook (type must be 'playbook')")
        if document.get("spec_version") != "cacao-2.0":
            raise CacaoError(f"{source}: spec_version {document.get('spec_version')!r} is not cacao-2.0")
        self.workflow = document.get("workflow")
        if not isinstance(self.workflow, dict) or not all(isinstance(step, dict) for step in self.workflow.values()):
            raise CacaoError(f"{source}: workflow must be a mapping of step id to step")
        for step_id, step in self.workflow.items():
            if step.get("type") not in SUPPORTED:
                raise CacaoError(f"{source}: step {self._name(step_id)} has type {step.get('type')!r}, which "
                                 f"seccenter cannot import (supported: {', '.join(SUPPORTED)})")
        self.document, self.source = document, source
        self.seen: set[str] = set()
        self.ids: dict[str, str] = {}
        self.steps: list[dict[str, Any]] = []

    def _name(self, step_id: str) -> str:
        step = self.workflow.get(step_id)
        name = step.get("name") if isinstance(step, dict) else None
        return f"{step_id} ({name})" if isinstance(name, str) and name else step_id

    def playbook(self) -> Playbook:
        start = self.document.get("workflow_start")
        if start not in self.workflow or self.workflow[start].get("type") != "start":
            raise CacaoError(f"{self.source}: workflow_start must name the start step of the workflow")
        head = self._chain(self._following(start))
        if head is None:
            raise CacaoError(f"{self.source}: the workflow has no step between start and end")
        extension = (self.document.get("playbook_extensions") or {}).get(EXTENSION_ID)
        base = dict(extension) if isinstance(extension, dict) else self._foreign_playbook()
        try:
            return from_document({**base, "start": head, "steps": self.steps}, self.source)
        except PlaybookError as error:
            raise PlaybookError([Problem(SourceLocation(self.source), problem.message)
                                 for problem in error.problems]) from None

    def _foreign_playbook(self) -> dict[str, Any]:
        name = str(self.document.get("name") or "imported playbook")
        modified = str(self.document.get("modified") or self.document.get("created") or "")
        base: dict[str, Any] = {"id": _slug(name, "playbook"), "title": name, "version": modified or "1",
                                "date": modified[:10]}
        if isinstance(self.document.get("description"), str) and self.document["description"].strip():
            base["description"] = self.document["description"]
        return base

    def _following(self, step_id: str) -> str | None:
        step = self.workflow[step_id]
        if "on_failure" in step:
            raise CacaoError(f"{self.source}: step {self._name(step_id)} has on_failure; seccenter playbooks have "
                             "no failure paths")
        target = step.get("on_completion", step.get("on_success"))
        if target is not None and target not in self.workflow:
            raise CacaoError(f"{self.source}: step {self._name(step_id)} leads to {target!r}, which is not in the "
                             "workflow")
        return target

    def _target(self, step_id: str, target: Any) -> str | None:
        if target is None:
            return None
        if target not in self.workflow:
            raise CacaoError(f"{self.source}: step {self._name(step_id)} leads to {target!r}, which is not in the "
                             "workflow")
        return target

    def _chain(self, cacao_id: str | None, depth: int = 0) -> str | None:
        """Read the chain from ``cacao_id`` (``depth`` branches deep) up to its end step; returns the id of its
        first step (None if empty)."""
        previous: dict[str, Any] | None = None
        head = None
        if cacao_id is not None and depth > MAX_DEPTH:
            raise CacaoError(f"{self.source}: step {self._name(cacao_id)} lies more than {MAX_DEPTH} branches deep")
        while cacao_id is not None and self.workflow[cacao_id]["type"] != "end":
            if cacao_id in self.seen:
                raise CacaoError(f"{self.source}: step {self._name(cacao_id)} is reached twice (seccenter playbooks "
                                 "have no loops and no joins)")
            self.seen.add(cacao_id)
            if self.workflow[cacao_id]["type"] == "start":
                raise CacaoError(f"{self.source}: step {self._name(cacao_id)} is a second start step")
            step = self._step(cacao_id, depth)
            if previous is None:
                head = step["id"]
            else:
                previous["next"] = step["id"]
            previous = step
            cacao_id = self._following(cacao_id)
        return head

    def _step(self, cacao_id: str, depth: int) -> dict[str, Any]:
        entry = self.workflow[cacao_id]
        extension = (entry.get("step_extensions") or {}).get(EXTENSION_ID)
        step = dict(extension) if isinstance(extension, dict) else self._foreign_step(cacao_id, entry)
        if _TYPES.get(step.get("kind")) != entry["type"]:
            raise CacaoError(f"{self.source}: step {self._name(cacao_id)} is a {entry['type']} but its seccenter "
                             f"extension says {step.get('kind')!r}")
        self.steps.append(step)  # the branching step comes before its branches
        if entry["type"] == "if-condition":
            for key, label in (("on_true", "then"), ("on_false", "else")):
                head = self._chain(self._target(cacao_id, entry.get(key)), depth + 1)
                if head:
                    step[label] = head
        elif entry["type"] == "parallel":
            heads = entry.get("next_steps")
            if not isinstance(heads, list):
                raise CacaoError(f"{self.source}: parallel step {self._name(cacao_id)} has no next_steps list")
            step["branches"] = [head for head in (self._chain(self._target(cacao_id, item), depth + 1)
                                                  for item in heads) if head]
        return step

    def _foreign_step(self, cacao_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        name = entry.get("name") if isinstance(entry.get("name"), str) and entry["name"].strip() else None
        step: dict[str, Any] = {"id": self._unique(_slug(name or entry["type"], "step"), cacao_id),
                                "kind": {"action": "manual", "if-condition": "decision", "parallel": "parallel",
                                         "playbook-action": "playbook"}[entry["type"]]}
        lines = [entry["description"]] if isinstance(entry.get("description"), str) else []
        if entry["type"] == "action":
            for command in entry.get("commands") or []:
                if isinstance(command, dict):
                    lines.append(f"{command.get('type', 'command')}: {command.get('command', '')}".strip())
            agent = (self.document.get("agent_definitions") or {}).get(entry.get("agent"))
            if isinstance(agent, dict) and isinstance(agent.get("name"), str) and agent["name"].strip():
                step["owner"] = agent["name"]
        elif entry["type"] == "if-condition":
            condition = str(entry.get("condition", ""))
            lines.append(f"Condition: {condition}")
            step["when"] = "answer"
            name = name or f"Does this hold: {condition}?"
        elif entry["type"] == "playbook-action":
            step["playbook"] = entry.get("playbook_id")
        step["title"] = name or entry["type"]
        if lines:
            step["description"] = "\n".join(lines)
        return step

    def _unique(self, candidate: str, cacao_id: str) -> str:
        chosen, number = candidate, 1
        while chosen in self.ids.values():
            number += 1
            chosen = f"{candidate[:60]}-{number}"
        self.ids[cacao_id] = chosen
        return chosen


def _slug(text: str, fallback: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].strip("-")
    return slug or fallback
