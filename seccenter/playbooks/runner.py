"""Working a playbook on an incident: start a run, mark steps done or skipped, answer decisions, run commands.

A run keeps the playbooks it started with. Its state is the steps worked so far; everything else (which step
is next, which branches were not taken, what is overdue) is computed from the playbook by ``view``. Every change
writes a timeline entry with the progress and an audit entry, in the same transaction.

Step states: ``done`` and ``skipped`` (worked), ``open`` (next in its chain), ``pending`` (later in a chain that
is under way; may be worked early), ``waiting`` (on a branch of a decision not yet made) and ``not_taken`` (on a
branch the decision did not take, or inside a skipped step). A decision on incident fields is made as soon as
it is reached, with the fields as they are then; a decision on an answer waits for the analyst.

Due times count from detection or from awareness. Until the awareness time is recorded (``seccenter breach
assess``), a step due after awareness has no due time and is never overdue.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlite_utils import Database

from seccenter.incidents import audit, cases
from seccenter.incidents.cases import IncidentError
from seccenter.playbooks.command import CommandResult, command_argv, run_command
from seccenter.playbooks.library import Library
from seccenter.playbooks.model import ANSWERS, Playbook, PlaybookError, Step, from_document
from seccenter.report.terminal import visible
from seccenter.store import breaches as breach_store
from seccenter.store import playbook_runs as store
from seccenter.store.transaction import write_transaction

WORKED = ("done", "skipped")
UNFINISHED = ("open", "pending", "waiting")


class RunnerError(Exception):
    """A request about a playbook run that cannot be done as asked."""


@dataclass
class Node:
    path: str
    step: Step
    status: str
    due: datetime | None = None
    overdue: bool = False
    record: dict[str, Any] | None = None
    blocked_by: str | None = None  # the step whose decision (or skip) this node waits for or was left out by
    branches: list[Branch] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        yield self
        for branch in self.branches:
            for node in branch.nodes:
                yield from node.walk()

    def to_dict(self, lang: str, zone: tzinfo) -> dict[str, Any]:
        record = self.record or {}
        return {
            "path": self.path, "id": self.step.id, "kind": self.step.kind, "title": self.step.title.get(lang),
            "status": self.status, "overdue": self.overdue, "owner": self.step.owner,
            "due": self.due.isoformat() if self.due else None,
            "due_rule": f"{self.step.due.duration.text} after {self.step.due.after}" if self.step.due else None,
            "due_local": self.due.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if self.due else None,
            "references": {kind: list(items) for kind, items in self.step.references},
            "outcome": record.get("outcome"), "answer": record.get("answer"), "note": record.get("note"),
            "worked_by": record.get("actor"), "worked_at": record.get("updated"),
            "branches": [{"label": branch.label, "steps": [node.to_dict(lang, zone) for node in branch.nodes]}
                         for branch in self.branches],
        }


@dataclass
class Branch:
    label: str
    nodes: list[Node]


@dataclass
class RunView:
    run: dict[str, Any]
    playbook: Playbook
    nodes: list[Node]
    finished: bool

    def all_nodes(self) -> Iterator[Node]:
        for node in self.nodes:
            yield from node.walk()

    def counts(self) -> dict[str, int]:
        nodes = [node for node in self.all_nodes() if node.status != "not_taken"]
        return {"steps": len(nodes), "done": sum(node.status == "done" for node in nodes),
                "skipped": sum(node.status == "skipped" for node in nodes),
                "open": sum(node.status in UNFINISHED for node in nodes),
                "overdue": sum(node.overdue for node in nodes)}

    def progress(self) -> str:
        counts = self.counts()
        return f"{counts['done'] + counts['skipped']} of {counts['steps']} steps finished"

    def find(self, reference: str) -> Node:
        nodes = list(self.all_nodes())
        exact = [node for node in nodes if node.path == reference]
        matches = exact or [node for node in nodes if node.step.id == reference]
        if not matches:
            raise RunnerError(f"playbook {self.playbook.id} has no step {reference!r}")
        if len(matches) > 1:
            raise RunnerError(f"step {reference!r} is in more than one place; name one of "
                              f"{', '.join(node.path for node in matches)}")
        return matches[0]

    def to_dict(self, lang: str, zone: tzinfo) -> dict[str, Any]:
        return {"run": self.run["id"], "incident": self.run["incident_id"], "playbook": self.playbook.id,
                "title": self.playbook.title.get(lang), "version": self.playbook.version,
                "status": self.run["status"], "started": self.run["started"], "finished": self.run["finished"],
                "counts": self.counts(), "steps": [node.to_dict(lang, zone) for node in self.nodes]}


@dataclass(frozen=True)
class StepOutcome:
    view: RunView
    node: Node
    command: CommandResult | None = None


def _utc(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def anchors(db: Database, incident: dict[str, Any]) -> dict[str, datetime | None]:
    """The moments due times count from: detection (first alert, else the case opened) and awareness (the
    breach assessment's aware-at; None until it is recorded, so that no deadline is guessed from another time)."""
    opened = _utc(incident["created"]) or datetime.now(UTC)
    assessment = breach_store.latest_assessment(db, incident["id"])
    return {"detection": _utc(store.detection_time(db, incident["id"])) or opened,
            "awareness": _utc(assessment["aware_at"] if assessment else None)}


class _Walker:
    def __init__(self, playbooks: dict[str, Playbook], states: dict[str, dict[str, Any]],
                 moments: dict[str, datetime | None], now: datetime) -> None:
        self.playbooks, self.states, self.moments, self.now = playbooks, states, moments, now

    def chain(self, playbook: Playbook, head: str, prefix: str, mode: str,
              blocked_by: str | None = None) -> tuple[list[Node], bool]:
        """The nodes of the chain from ``head``; whether all of it is worked. ``mode``: active (under way),
        pending (after an unfinished step), waiting or not_taken (the whole chain is)."""
        nodes: list[Node] = []
        finished = True
        for step in playbook.chain(head):
            node = self._node(playbook, step, prefix, mode, blocked_by)
            nodes.append(node)
            if node.status in ("waiting", "not_taken"):
                finished = False if node.status == "waiting" else finished
                continue
            if node.status in UNFINISHED or not self._branches_finished(node):
                finished = False
                mode = "pending"
        return nodes, finished

    def _node(self, playbook: Playbook, step: Step, prefix: str, mode: str, blocked_by: str | None) -> Node:
        path = prefix + step.id
        record = self.states.get(path)
        node = Node(path, step, mode, record=record, blocked_by=blocked_by)
        anchor = self.moments[step.due.after] if step.due is not None else None
        if anchor is not None and mode != "not_taken":  # a step left out has no deadline
            node.due = step.due.duration.after(anchor)
        if mode in ("waiting", "not_taken"):
            node.branches = self._branches(playbook, step, path, prefix, lambda _label: mode, blocked_by)
        elif record and record["status"] == "skipped":
            node.status = "skipped"
            node.branches = self._branches(playbook, step, path, prefix, lambda _label: "not_taken", path)
        elif step.kind == "decision":
            if record:
                node.status = "done"
                node.branches = self._branches(playbook, step, path, prefix,
                                               lambda label: mode if label == record["outcome"] else "not_taken",
                                               path)
            else:
                node.status = "open" if mode == "active" else "pending"
                node.branches = self._branches(playbook, step, path, prefix, lambda _label: "waiting", path)
        elif step.kind in ("parallel", "playbook"):
            node.branches = self._branches(playbook, step, path, prefix, lambda _label: mode, None)
            node.status = "done" if self._branches_finished(node) else ("open" if mode == "active" else "pending")
        else:
            node.status = "done" if record else ("open" if mode == "active" else "pending")
        node.overdue = node.status in UNFINISHED and node.due is not None and node.due <= self.now
        return node

    def _branches(self, playbook: Playbook, step: Step, path: str, prefix: str, mode_of: Any,
                  blocked_by: str | None) -> list[Branch]:
        if step.kind == "playbook":
            called = self.playbooks[step.playbook]
            nodes, _ = self.chain(called, called.start, path + "/", mode_of(called.id), blocked_by)
            return [Branch(f"playbook {called.id}", nodes)]
        branches = []
        for label, head in step.branch_heads():
            nodes, _ = self.chain(playbook, head, prefix, mode_of(label), blocked_by)
            branches.append(Branch(label, nodes))
        return branches

    @staticmethod
    def _branches_finished(node: Node) -> bool:
        return all(inner.status in (*WORKED, "not_taken")
                   for branch in node.branches for top in branch.nodes for inner in top.walk())


def _definition(run: dict[str, Any]) -> tuple[Playbook, dict[str, Playbook]]:
    try:
        playbooks = {playbook_id: from_document(document, f"run {run['id']}: {playbook_id}")
                     for playbook_id, document in run["definition"]["playbooks"].items()}
    except PlaybookError as error:  # the definition was checked when the run started: a damaged store
        raise RunnerError(f"playbook run {run['id']} cannot be read: {error}") from None
    return playbooks[run["definition"]["root"]], playbooks


def view(db: Database, run: dict[str, Any], incident: dict[str, Any], now: datetime | None = None) -> RunView:
    root, playbooks = _definition(run)
    walker = _Walker(playbooks, store.step_states(db, run["id"]), anchors(db, incident), now or datetime.now(UTC))
    nodes, finished = walker.chain(root, root.start, "", "active")
    return RunView(run, root, nodes, finished)


def views(db: Database, incident_id: int, now: datetime | None = None) -> list[RunView]:
    """Every playbook run of an incident, oldest first."""
    incident = _incident(db, incident_id)
    return [view(db, run, incident, now) for run in store.runs_for(db, incident_id)]


def _incident(db: Database, incident_id: int) -> dict[str, Any]:
    try:
        return cases.get(db, incident_id)
    except IncidentError as error:
        raise RunnerError(str(error)) from None


def proposals(db: Database, library: Library, incident: dict[str, Any]) -> list[tuple[Playbook, list[str]]]:
    """Playbooks whose triggers fit the incident's category or its alerts' rules and tags."""
    rule_ids, tags = store.alert_signatures(db, incident["id"])
    return library.proposals(incident["category"], rule_ids, tags)


def _run_state(db: Database, run_id: int) -> dict[str, Any]:
    return {"run": run_id, "steps": store.step_states(db, run_id)}


def _write(db: Database, run: dict[str, Any], actor: str, action: str, detail: str, before: Any, after: Any) -> None:
    cases.record_activity(db, run["incident_id"], actor, "playbook", f"playbook {run['playbook_id']}: {detail}")
    audit.append(db, actor, action, "playbook_run", run["id"], before, after)


def start(db: Database, library: Library, incident_id: int, playbook_id: str, actor: str,
          now: datetime | None = None) -> RunView:
    """Start a playbook on an open incident; decisions on incident fields reached at once are made."""
    try:
        playbooks = library.closure(playbook_id)
    except PlaybookError as error:
        raise RunnerError(str(error.problems[0].message)) from None
    root = playbooks[playbook_id]
    with write_transaction(db):
        incident = _incident(db, incident_id)
        if incident["status"] == "closed":
            raise RunnerError(f"incident {incident_id} is closed; reopen it first (seccenter incident reopen)")
        if store.find_run(db, incident_id, playbook_id):
            raise RunnerError(f"playbook {playbook_id} is already started on incident {incident_id} "
                              f"(seccenter playbook show {incident_id})")
        started = cases.now_utc()
        values = {"incident_id": incident_id, "playbook_id": playbook_id, "version": root.version,
                  "definition": {"root": playbook_id,
                                 "playbooks": {key: value.to_document() for key, value in sorted(playbooks.items())}},
                  "started": started, "actor": actor, "status": "open", "finished": None}
        run_id = store.insert_run(db, values)
        run = store.find_run(db, incident_id, playbook_id)
        current = view(db, run, incident, now)
        called = f", calls {', '.join(sorted(set(playbooks) - {playbook_id}))}" if len(playbooks) > 1 else ""
        _write(db, run, actor, "playbook.start", f"started version {root.version} ({root.date}){called}; "
                                                 f"{current.progress()}", None, {**values, "id": run_id})
        _advance(db, run, incident, actor, now)
        return view(db, store.find_run(db, incident_id, playbook_id), incident, now)


def _advance(db: Database, run: dict[str, Any], incident: dict[str, Any], actor: str, now: datetime | None) -> None:
    """Make the field decisions that have been reached, then close the run if every chain is worked."""
    while True:
        current = view(db, run, incident, now)
        reached = next((node for node in current.all_nodes() if node.step.kind == "decision"
                        and node.status == "open" and not node.step.when.asks_analyst), None)
        if reached is None:
            break
        holds = reached.step.when.holds(incident)
        _record_step(db, run, incident, reached, actor, "done", outcome="then" if holds else "else",
                     note=f"{reached.step.when.describe()}: {'yes' if holds else 'no'} "
                          f"({reached.step.when.field} is {visible(incident.get(reached.step.when.field) or '-')})",
                     now=now)
    current = view(db, run, incident, now)
    if current.finished and run["status"] != "done":
        before = _run_state(db, run["id"])
        finished = cases.now_utc()
        store.finish_run(db, run["id"], finished)
        run.update(status="done", finished=finished)
        _write(db, run, actor, "playbook.finish", f"finished; {current.progress()}", before,
               {**before, "status": "done", "finished": finished})


def _record_step(db: Database, run: dict[str, Any], incident: dict[str, Any], node: Node, actor: str, status: str,
                 outcome: str | None = None, answer: str | None = None, note: str | None = None,
                 now: datetime | None = None) -> None:
    before = _run_state(db, run["id"])
    store.insert_step(db, run["id"], {"path": node.path, "status": status, "outcome": outcome, "answer": answer,
                                      "note": note, "updated": cases.now_utc(), "actor": actor})
    after = _run_state(db, run["id"])
    detail = f"step {node.path} {status} ({node.step.title.en})"
    if outcome:
        detail += f", decision: {outcome}"
    if answer:
        detail += f", answer {answer}"
    if note:
        detail += f": {note}"
    _write(db, run, actor, f"playbook.step.{status}", f"{detail}; {view(db, run, incident, now).progress()}",
           before, after)


def _find(db: Database, incident_id: int, reference: str, playbook_id: str | None,
          now: datetime | None) -> tuple[RunView, Node]:
    incident = _incident(db, incident_id)
    runs = store.runs_for(db, incident_id)
    if playbook_id is not None:
        runs = [run for run in runs if run["playbook_id"] == playbook_id]
    if not runs:
        if playbook_id is not None:
            raise RunnerError(f"playbook {playbook_id} is not started on incident {incident_id}")
        raise RunnerError(f"no playbook is started on incident {incident_id} (seccenter playbook start "
                          f"{incident_id} PLAYBOOK)")
    found: list[tuple[RunView, Node]] = []
    problems: list[str] = []
    for run in runs:
        try:
            current = view(db, run, incident, now)
            found.append((current, current.find(reference)))
        except RunnerError as error:
            problems.append(str(error))
    if len(found) > 1:
        raise RunnerError(f"step {reference!r} is in playbooks {', '.join(item[0].playbook.id for item in found)}; "
                          "choose one with --playbook")
    if not found:
        raise RunnerError(problems[0] if len(problems) == 1 else f"no step {reference!r} in the playbooks of "
                                                                 f"incident {incident_id}")
    return found[0]


def _check_workable(node: Node, action: str, answer: str | None) -> str | None:
    """Refuse what cannot be done to this step now; returns the normalised answer."""
    step = node.step
    if node.status in WORKED:
        raise RunnerError(f"step {node.path} is already {node.status}")
    if node.status == "waiting":
        raise RunnerError(f"step {node.path} waits for the decision of step {node.blocked_by}")
    if node.status == "not_taken":
        raise RunnerError(f"step {node.path} is on a branch that step {node.blocked_by} left out")
    if action == "run" and step.kind != "command":
        raise RunnerError(f"step {node.path} is a {step.kind} step; only command steps can be run")
    if action == "done" and step.kind in ("parallel", "playbook"):
        raise RunnerError(f"step {node.path} is done when its branches are; work those (or --skip it)")
    if answer is not None and step.kind != "decision":
        raise RunnerError(f"step {node.path} is a {step.kind} step; only decisions take an answer")
    if answer is not None and action != "done":
        raise RunnerError(f"an answer goes with --done (step {node.path} is a decision to make, not to {action})")
    if step.kind == "decision" and action == "done":
        if not step.when.asks_analyst:
            if answer is not None:
                raise RunnerError(f"step {node.path} is decided by the incident ({step.when.describe()}), not by "
                                  "an answer")
            return None
        normalised = ANSWERS.get((answer or "").strip().lower())
        if normalised is None:
            raise RunnerError(f"step {node.path} asks: {step.title.en} — answer with --answer yes or --answer no")
        return normalised
    return None


def work(db: Database, incident_id: int, reference: str, actor: str, action: str, answer: str | None = None,
         note: str | None = None, playbook_id: str | None = None, now: datetime | None = None,
         environment: dict[str, str] | None = None) -> StepOutcome:
    """Mark a step done or skipped (``action`` done|skip), or run a command step and mark it done when it
    succeeds (``run``, with ``environment`` for the program; a failure is recorded and the step stays open)."""
    note = note.strip() if note and note.strip() else None
    if note is not None and len(note) > cases.MAX_TEXT:
        raise RunnerError(f"note is {len(note)} characters long; at most {cases.MAX_TEXT} are kept")
    current, node = _find(db, incident_id, reference, playbook_id, now)
    normalised = _check_workable(node, action, answer)
    result = None
    if action == "run":  # outside the transaction: a command may take its whole timeout
        incident = _incident(db, incident_id)
        result = run_command(command_argv(node.step, incident), node.step.timeout, environment)
    with write_transaction(db):
        incident = _incident(db, incident_id)
        run = store.find_run(db, incident_id, current.playbook.id)
        fresh = view(db, run, incident, now)
        node = fresh.find(node.path)
        _check_workable(node, action, answer)
        if result is not None:
            _write(db, run, actor, "playbook.command",
                   f"step {node.path} ran {visible(shlex.join(result.argv), limit=None)}: {result.summary()}\n"
                   f"{result.output}", None, {"path": node.path, "argv": list(result.argv),
                                              "exit_code": result.exit_code, "output": result.output})
        if result is None or result.succeeded:
            outcome = None
            if node.step.kind == "decision" and action == "done":
                holds = node.step.when.holds(incident) if normalised is None else normalised == "yes"
                outcome = "then" if holds else "else"
            _record_step(db, run, incident, node, actor, "skipped" if action == "skip" else "done", outcome,
                         normalised, note, now)
            _advance(db, run, incident, actor, now)
        final = view(db, store.find_run(db, incident_id, current.playbook.id), incident, now)
    return StepOutcome(final, final.find(node.path), result)
