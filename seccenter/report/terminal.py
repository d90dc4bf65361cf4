"""Terminal output with rich. Text from events is attacker-controlled: it only ever enters rich as a
``Text`` object (never parsed as markup) with control characters made visible."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from seccenter.store.alerts import TriageSummary

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
LEVEL_STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan",
                "informational": "dim"}


def visible(value: Any, limit: int | None = 200) -> str:
    """Control characters (ANSI escapes included) as ``\\xNN``; long values cut with an ellipsis."""
    text = value if isinstance(value, str) else str(value)
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text.replace("\t", " "))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def safe(value: Any, style: str = "", limit: int | None = 200) -> Text:
    return Text(visible(value, limit), style=style)


def level_text(level: str) -> Text:
    return Text(level, style=LEVEL_STYLES.get(level, ""))


def local_time(iso: str) -> str:
    """UTC inside, the analyst's zone on screen."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def _origin(origin: dict[str, Any]) -> str:
    name = origin["path"].rsplit("/", 1)[-1]
    return f"{name}:{origin['line']}" if origin.get("line") else f"{name}@{origin['offset']}"


def event_summary(fields: dict[str, Any], raw: str | bytes | None) -> str:
    """What happened, without the timestamp and host the other columns show: the message or the request."""
    if fields.get("message"):
        return str(fields["message"])
    if fields.get("cs-uri-stem"):
        query = fields.get("cs-uri-query")
        return f"{fields.get('cs-method', '')} {fields['cs-uri-stem']}{'?' + str(query) if query else ''}".strip()
    if isinstance(raw, bytes):
        return raw.decode("latin-1")
    return raw or ""


def alerts_table(alerts: Iterable[dict[str, Any]], title: str = "Alerts") -> Table:
    table = Table(title=title, expand=True)
    table.add_column("time", no_wrap=True)
    table.add_column("level", no_wrap=True)
    table.add_column("rule", ratio=2, min_width=20)
    table.add_column("source", no_wrap=True)
    table.add_column("event", ratio=3, min_width=20, overflow="fold")
    table.add_column("origin", no_wrap=True, overflow="ellipsis")
    for alert in alerts:
        table.add_row(local_time(alert["time"]), level_text(alert["level"]), safe(alert["rule_title"]),
                      safe(alert.get("source_ip") or "-"),
                      safe(event_summary(alert.get("fields") or {}, alert.get("raw")), limit=160),
                      safe(_origin(alert["origin"])))
    return table


def triage_view(summary: TriageSummary) -> Group:
    counts = Table.grid(padding=(0, 2))
    counts.add_row(*[Text(f"{level}: {summary.by_level[level]}", style=LEVEL_STYLES[level])
                     for level in summary.by_level])
    header = Panel(Group(
        Text(f"{summary.total} alerts from {summary.events} events; {summary.quarantined} malformed records "
             "quarantined"),
        counts,
    ), title="seccenter triage")
    rules = Table(title="Top rules")
    rules.add_column("count", justify="right")
    rules.add_column("level")
    rules.add_column("rule")
    for _rule_id, title, level, count in summary.top_rules:
        rules.add_row(str(count), level_text(level), safe(title))
    sources = Table(title="Top source addresses")
    sources.add_column("count", justify="right")
    sources.add_column("address")
    for address, count in summary.top_sources:
        sources.add_row(str(count), safe(address))
    return Group(header, rules, sources, alerts_table(summary.newest, title="Newest alerts"))


def make_console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)
