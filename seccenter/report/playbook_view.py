"""``playbook show``: each run as a rich tree of its steps (done ✓, open, overdue in red, skipped, branches not
taken), due times in the analyst's zone. Titles and notes are data: they enter rich only as ``Text``."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich.console import Group
from rich.text import Text
from rich.tree import Tree

from seccenter.playbooks.runner import Node, RunView
from seccenter.report.terminal import visible

MARKERS = {"done": ("✓", "green"), "skipped": ("–", "dim"), "open": ("▶", "bold"), "pending": ("○", ""),
           "waiting": ("?", "dim"), "not_taken": ("·", "dim")}
STATUS_WORDS = {"done": "done", "skipped": "skipped", "open": "next", "pending": "open",
                "waiting": "waits", "not_taken": "not taken"}


def _label(node: Node, lang: str, zone: tzinfo) -> Text:
    marker, style = MARKERS[node.status]
    label = Text()
    label.append(f"{marker} ", style="bold red" if node.overdue else style)
    label.append(visible(node.step.title.get(lang), limit=300), style="bold red" if node.overdue else style)
    details = [node.path] + ([node.step.kind] if node.step.kind != "manual" else []) + [STATUS_WORDS[node.status]]
    record = node.record or {}
    if record.get("outcome") and node.step.kind == "decision":
        details.append(f"→ {record['outcome']}" + (f" ({record['answer']})" if record.get("answer") else ""))
    if node.step.owner:
        details.append(f"owner {visible(node.step.owner, limit=60)}")
    label.append("\n  " + " · ".join(details), style="dim")
    if node.due is not None:
        due = node.due.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        label.append(f"\n  due {due}" + (" OVERDUE" if node.overdue else ""),
                     style="bold red" if node.overdue else "dim")
    elif node.step.due is not None and node.status != "not_taken":
        label.append(f"\n  due {node.step.due.duration.text} after {node.step.due.after}, which is not recorded yet "
                     "(seccenter breach assess)", style="dim")
    if record.get("note"):
        label.append("\n  " + visible(record["note"], limit=300), style="italic")
    return label


def _add(parent: Tree, node: Node, lang: str, zone: tzinfo) -> None:
    branch_tree = parent.add(_label(node, lang, zone))
    for branch in node.branches:
        sub = branch_tree.add(Text(branch.label, style="dim"))
        for inner in branch.nodes:
            _add(sub, inner, lang, zone)


def run_tree(view: RunView, lang: str, zone: tzinfo) -> Tree:
    counts = view.counts()
    heading = Text()
    heading.append(visible(view.playbook.title.get(lang), limit=200), style="bold")
    heading.append(f"\n{view.playbook.id} {visible(view.playbook.version, limit=40)} · {view.run['status']} · "
                   f"{view.progress()}", style="dim")
    if counts["overdue"]:
        heading.append(f" · {counts['overdue']} overdue", style="bold red")
    tree = Tree(heading, guide_style="dim")
    for node in view.nodes:
        _add(tree, node, lang, zone)
    return tree


def runs_view(views: list[RunView], lang: str, zone: tzinfo) -> Group:
    return Group(*(run_tree(view, lang, zone) for view in views))


PROGRESS_WORDS = {
    "de": {"playbooks": "Playbooks", "progress": "Fortschritt", "overdue": "überfällig", "step": "Schritt",
           "of": "von", "pb.done": "erledigt", "pb.skipped": "übersprungen", "pb.open": "als Nächstes",
           "pb.pending": "offen", "pb.waiting": "wartet auf Entscheidung", "pb.not_taken": "entfällt",
           "pb.yes": "ja", "pb.no": "nein", "pb.after.detection": "nach Erkennung",
           "pb.after.awareness": "nach Kenntnisnahme", "pb.not_recorded": "Zeitpunkt noch nicht erfasst"},
    "en": {"playbooks": "Playbooks", "progress": "Progress", "overdue": "overdue", "step": "Step", "of": "of",
           "pb.done": "done", "pb.skipped": "skipped", "pb.open": "next", "pb.pending": "open",
           "pb.waiting": "waits for a decision", "pb.not_taken": "not taken", "pb.yes": "yes", "pb.no": "no",
           "pb.after.detection": "after detection", "pb.after.awareness": "after awareness",
           "pb.not_recorded": "not recorded yet"},
}


def progress(views: list[RunView], zone: tzinfo) -> list[dict[str, Any]]:
    """The runs of an incident for documents: each step in order, titles in both languages, due times shown
    in ``zone``."""
    return [{
        "playbook": view.playbook.id, "title": {"de": view.playbook.title.de, "en": view.playbook.title.en},
        "version": view.playbook.version, "status": view.run["status"], "counts": view.counts(),
        "steps": [{"path": node.path, "kind": node.step.kind, "status": node.status, "overdue": node.overdue,
                   "title": {"de": node.step.title.de, "en": node.step.title.en},
                   "due": node.due.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if node.due else None,
                   "due_rule": {"duration": node.step.due.duration.text, "after": node.step.due.after}
                   if node.step.due and node.status != "not_taken" else None,
                   "outcome": (node.record or {}).get("outcome"), "answer": (node.record or {}).get("answer"),
                   "note": (node.record or {}).get("note"), "worked_by": (node.record or {}).get("actor")}
                  for node in view.all_nodes()],
    } for view in views]
