"""Terminal views of incidents, their obligations and breach assessments. Every text that came from outside
(titles, notes, owners, file names, event text) enters rich as escaped ``Text``, never as markup."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from seccenter.privacy.deadlines import OBLIGATIONS, countdown, shown
from seccenter.report.terminal import TEXT_LIMIT, level_text, safe

URGENT_SECONDS = 12 * 3600
_OPEN = ("open", "partial")


def local(iso: str | None, zone: tzinfo) -> str:
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    except ValueError:
        return iso


def obligation_text(item: dict[str, Any], zone: tzinfo, now: datetime) -> Text:
    """``Art. 33(1) 2d 3h left`` in red when under 12 hours or overdue; met obligations are not listed."""
    meta = OBLIGATIONS.get(item["obligation"])
    name = meta.basis if meta else item["obligation"]
    if item["status"] == "partial":
        return Text(f"{name}: first phase sent, rest without undue further delay", style="yellow")
    if item["due"] is None:
        return Text(f"{name}: without undue delay", style="yellow")
    left, seconds = countdown(item["due"], now)
    return Text(f"{name}: {left} (due {local(item['due'], zone)})",
                style="bold red" if seconds < URGENT_SECONDS else "")


def open_obligations(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if item["status"] in _OPEN]


def obligations_json(items: list[dict[str, Any]], zone: tzinfo, now: datetime) -> list[dict[str, Any]]:
    result = []
    for item in items:
        meta = OBLIGATIONS.get(item["obligation"])
        left = countdown(item["due"], now)[1] if item["due"] and item["status"] in _OPEN else None
        result.append({"obligation": item["obligation"], "basis": meta.basis if meta else None,
                       "due": shown(item["due"], zone) if item["due"] else None, "status": item["status"],
                       "seconds_left": None if left is None else int(left)})
    return result


def incidents_table(cases: list[dict[str, Any]], zone: tzinfo, now: datetime | None = None) -> Table:
    now = now or datetime.now(UTC)
    table = Table(title=f"{len(cases)} incidents", expand=True)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("title", ratio=2, min_width=16, overflow="fold")
    table.add_column("owner", overflow="ellipsis")
    table.add_column("deadlines", ratio=2, min_width=20, overflow="fold")
    for case in cases:
        due = open_obligations(case.get("obligations", []))
        deadlines = Text("\n").join(obligation_text(item, zone, now) for item in due) if due else Text("-")
        table.add_row(str(case["id"]), case["status"], level_text(case["severity"]), safe(case["title"]),
                      safe(case["owner"] or "-"), deadlines)
    return table


def incident_view(case: dict[str, Any], timeline: list[dict[str, Any]], evidence: list[dict[str, Any]],
                  zone: tzinfo, now: datetime | None = None) -> Group:
    now = now or datetime.now(UTC)
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    head.add_row("incident", Text(f"{case['id']}: ") + safe(case["title"], limit=TEXT_LIMIT))
    head.add_row("status", Text(case["status"] + (f" ({case['close_reason']})" if case.get("close_reason") else "")))
    head.add_row("severity", level_text(case["severity"]))
    head.add_row("category", safe(case["category"]))
    head.add_row("owner", safe(case["owner"] or "-"))
    head.add_row("opened", Text(local(case["created"], zone)))
    for item in open_obligations(case.get("obligations", [])):
        head.add_row("deadline", obligation_text(item, zone, now))
    parts: list[Any] = [head]
    if evidence:
        files = Table(title="Evidence")
        files.add_column("id", justify="right")
        files.add_column("name", overflow="fold")
        files.add_column("sha256", overflow="fold")
        files.add_column("size", justify="right")
        files.add_column("state")
        for row in evidence:
            files.add_row(str(row["id"]), safe(row["original_name"]), row["sha256"], str(row["size"]),
                          Text(row["state"], style="" if row["state"] == "ok" else "bold red"))
        parts.append(files)
    events = Table(title="Timeline", expand=True)
    events.add_column("time", no_wrap=True)
    events.add_column("kind", no_wrap=True)
    events.add_column("who", overflow="ellipsis")
    events.add_column("what", ratio=1, overflow="fold")
    for entry in timeline:
        events.add_row(local(entry["time"], zone), entry["kind"], safe(entry["actor"] or ""),
                       safe(entry["text"], limit=TEXT_LIMIT))
    parts.append(events)
    return Group(*parts)
