"""The playbooks of a folder (the bundled ``playbooks/`` unless told otherwise), checked together: each file on
its own, then what lies between files (a playbook id used twice, calls to playbooks that are not there, calls
that come back round)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from seccenter.playbooks.model import MAX_DEPTH, Playbook, PlaybookError, Problem, Step, from_document
from seccenter.resources import playbooks_dir
from seccenter.yamlfile import SourceLocation, YamlFileError, read_documents

DIRECTORY_VARIABLE = "SECCENTER_PLAYBOOKS"
SUFFIXES = (".yaml", ".yml")


@dataclass
class Library:
    playbooks: dict[str, Playbook] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def get(self, playbook_id: str) -> Playbook:
        if playbook_id not in self.playbooks:
            known = ", ".join(sorted(self.playbooks)) or "none"
            raise PlaybookError([Problem(SourceLocation(playbook_id), f"no playbook {playbook_id!r} (known: {known})")])
        return self.playbooks[playbook_id]

    def closure(self, playbook_id: str) -> dict[str, Playbook]:
        """The playbook and every playbook it calls, however deep."""
        found: dict[str, Playbook] = {}
        pending = [playbook_id]
        while pending:
            current = self.get(pending.pop())
            if current.id not in found:
                found[current.id] = current
                pending.extend(step.playbook for step in current.calls())
        return found

    def proposals(self, category: str, rule_ids: list[str], tags: list[str]) -> list[tuple[Playbook, list[str]]]:
        """Playbooks whose triggers fit an incident, with the reasons, in id order."""
        found = []
        for playbook_id in sorted(self.playbooks):
            reasons = self.playbooks[playbook_id].triggers.matches(category, rule_ids, tags)
            if reasons:
                found.append((self.playbooks[playbook_id], reasons))
        return found


def default_directory() -> Path:
    """``SECCENTER_PLAYBOOKS`` when set, else the bundled playbooks."""
    configured = os.environ.get(DIRECTORY_VARIABLE, "").strip()
    return Path(configured) if configured else playbooks_dir()


def playbook_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(item for item in path.rglob("*") if item.suffix in SUFFIXES and item.is_file()))
        else:
            files.append(path)
    return files


def load_file(path: Path) -> Playbook:
    """One playbook file (one YAML document); raises ``PlaybookError``."""
    try:
        documents = read_documents(path)
    except YamlFileError as error:
        raise PlaybookError([Problem(error.location, error.reason)]) from None
    if len(documents) != 1:
        raise PlaybookError([Problem(SourceLocation(str(path)), f"a playbook file holds one YAML document, not "
                                                                f"{len(documents)}")])
    return from_document(documents[0], str(path), documents.lines[0])


def load_library(paths: Iterable[Path]) -> Library:
    """Every playbook under ``paths`` (files or folders); the broken ones are left out and their problems kept."""
    library = Library()
    for path in playbook_files(paths):
        try:
            playbook = load_file(path)
        except PlaybookError as error:
            library.problems.extend(error.problems)
            continue
        if playbook.id in library.playbooks:
            first = library.playbooks[playbook.id]
            library.problems.append(Problem(SourceLocation(playbook.source, playbook.line),
                                            f"playbook id {playbook.id!r} is also used by {first.source}"))
            continue
        library.playbooks[playbook.id] = playbook
    _check_calls(library)
    return library


def _check_calls(library: Library) -> None:
    """Drop (with a problem each) playbooks that call a missing playbook or take part in a call cycle."""
    broken: dict[str, Problem] = {}
    for playbook in library.playbooks.values():
        for step in playbook.calls():
            if step.playbook not in library.playbooks:
                broken.setdefault(playbook.id, _problem(playbook, step, f"step {step.id!r} calls playbook "
                                                                        f"{step.playbook!r}, which is not there"))
    for playbook in library.playbooks.values():
        cycle = _call_cycle(library, playbook.id)
        if cycle and playbook.id not in broken:
            step = next(step for step in playbook.calls() if step.playbook == cycle[1])
            broken[playbook.id] = _problem(playbook, step, f"step {step.id!r} makes a call cycle: "
                                                           f"{' → '.join(cycle)}")
    for playbook in library.playbooks.values():
        step = _too_deep(library, playbook, 0)
        if step is not None and playbook.id not in broken:
            broken[playbook.id] = _problem(playbook, step, f"step {step.id!r} calls playbook {step.playbook!r}; "
                                                           f"with what that calls, steps lie more than {MAX_DEPTH} "
                                                           "branches deep")
    changed = True
    while changed:  # a playbook calling a broken one cannot be started either
        changed = False
        for playbook in library.playbooks.values():
            for step in playbook.calls():
                if playbook.id not in broken and step.playbook in broken:
                    broken[playbook.id] = _problem(playbook, step, f"step {step.id!r} calls playbook "
                                                                   f"{step.playbook!r}, which has problems")
                    changed = True
    for playbook_id, problem in broken.items():
        library.problems.append(problem)
        del library.playbooks[playbook_id]


def _problem(playbook: Playbook, step: Step, message: str) -> Problem:
    return Problem(SourceLocation(playbook.source, step.line), message)


def _too_deep(library: Library, playbook: Playbook, offset: int) -> Step | None:
    """The first call of ``playbook`` (itself ``offset`` levels deep) below which steps lie more than ``MAX_DEPTH``
    levels deep. Each call goes one level deeper, so this stops within ``MAX_DEPTH`` calls, cycles or not."""
    depths = playbook.depths()
    for step in playbook.calls():
        level = offset + depths[step.id] + 1
        called = library.playbooks.get(step.playbook)
        if called is not None and (level + max(called.depths().values()) > MAX_DEPTH
                                   or _too_deep(library, called, level) is not None):
            return step
    return None


def _call_cycle(library: Library, origin: str) -> list[str]:
    """The shortest chain of calls from ``origin`` back to itself ([] when there is none)."""
    paths = [[origin]]
    seen = {origin}
    while paths:
        path = paths.pop(0)
        current = library.playbooks.get(path[-1])
        for step in current.calls() if current else []:
            if step.playbook == origin:
                return path + [origin]
            if step.playbook not in seen:
                seen.add(step.playbook)
                paths.append(path + [step.playbook])
    return []
