"""The triage screen in rich, laid out for 80 columns: every cell that holds event text is one line, cut with an
ellipsis, so a long or hostile log line cannot push the rest off the screen. Event text enters as escaped ``Text``
(``report.terminal.safe``), never as markup."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from seccenter.privacy.deadlines import countdown
from seccenter.report.incident_view import URGENT_SECONDS, incidents_table, open_obligations
from seccenter.report.terminal import LEVEL_STYLES, event_summary, level_text, local_time, safe
from seccenter.report.triage import Triage, articles, special_categories
from seccenter.store.alerts import named_host

SPECIAL_STYLE = "bold magenta"


def _levels(by_level: dict[str, int]) -> Table:
    counts = Table.grid(padding=(0, 2))
    counts.add_row(*[Text(f"{level}: {count}", style=LEVEL_STYLES[level]) for level, count in by_level.items()])
    return counts


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _urgent(triage: Triage) -> int:
    return sum(1 for case in triage.incidents for item in open_obligations(case["obligations"])
               if item["due"] and item["status"] == "open" and countdown(item["due"], triage.now)[1] < URGENT_SECONDS)


def _header(triage: Triage) -> Panel:
    summary = triage.summary
    lines: list[Any] = []
    if triage.last_run is not None and triage.since_last_run is not None:
        lines += [Text(f"since the last scan at {local_time(triage.last_run['started'])}: "
                       f"{sum(triage.since_last_run.values())} new alerts", style="bold"),
                  _levels(triage.since_last_run)]
    lines += [Text(f"{summary.total} alerts from {summary.events} events; {summary.quarantined} malformed records "
                   "quarantined"),
              _levels(summary.by_level),
              Text("  ".join(f"{status}: {count}" for status, count in summary.by_status.items()))]
    urgent = _urgent(triage)
    incidents = Text(_count(len(triage.incidents), "open incident"))
    if urgent:
        incidents.append(f"; {_count(urgent, 'deadline')} under 12 h or overdue", style="bold red")
    lines.append(incidents)
    if triage.special_alerts:
        kinds = articles(list(triage.special_by_category))
        lines.append(Text(f"{_count(triage.special_alerts, 'alert')} on systems with special-category data "
                          f"({', '.join(kinds)} GDPR)", style=SPECIAL_STYLE))
    return Panel(Group(*lines), title="seccenter triage")


def _counts(title: str, heading: str, rows: list[tuple[str, int]]) -> Table:
    table = Table(title=title, expand=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column(heading, no_wrap=True, overflow="ellipsis", ratio=1)
    for value, count in rows:
        table.add_row(str(count), safe(value))
    return table


def _top_rules(triage: Triage) -> Table:
    rules = Table(title="Top rules", expand=True)
    rules.add_column("count", justify="right", no_wrap=True)
    rules.add_column("level", no_wrap=True)
    rules.add_column("rule", ratio=1)
    for _rule_id, title, level, count in triage.summary.top_rules:
        rules.add_row(str(count), level_text(level), safe(title))
    return rules


def _lines(*parts: Text) -> Text:
    return Text("\n").join(parts)


def newest_table(alerts: list[dict[str, Any]], title: str = "Newest alerts") -> Table:
    """One alert in two lines (time and level, rule and what happened, source address and host), with
    ``Art. 9`` / ``Art. 10`` where it names a system that processes special categories of personal data."""
    marks = {alert["id"]: articles(special_categories(alert)) for alert in alerts}
    flagged = any(marks.values())
    table = Table(title=title, box=box.SIMPLE_HEAD, expand=True, pad_edge=False, collapse_padding=True)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("time / level", no_wrap=True)
    table.add_column("rule / event", ratio=1, no_wrap=True, overflow="ellipsis")
    table.add_column("source / host", no_wrap=True, overflow="ellipsis", min_width=15, max_width=24)
    if flagged:
        table.add_column("GDPR", no_wrap=True)
    for alert in alerts:
        fields = alert.get("fields") or {}
        cells = [str(alert["id"]),
                 _lines(Text(local_time(alert["time"], "%m-%d %H:%M")), level_text(alert["level"])),
                 _lines(safe(alert["rule_title"]), safe(event_summary(fields, alert.get("raw")).strip(), style="dim")),
                 _lines(safe(alert.get("source_ip") or "-"), safe(str(named_host(fields) or "-"), style="dim"))]
        if flagged:
            cells.append(Text(", ".join(marks[alert["id"]]), style=SPECIAL_STYLE))
        table.add_row(*cells)
    return table


def triage_view(triage: Triage, zone: tzinfo) -> Group:
    parts: list[Any] = [_header(triage)]
    if triage.incidents:
        parts.append(incidents_table(triage.incidents, zone, triage.now))
    parts.append(_top_rules(triage))
    sides = Table.grid(expand=True, padding=(0, 1))
    sides.add_column(ratio=1)
    sides.add_column(ratio=1)
    sides.add_row(_counts("Top hosts", "host", triage.summary.top_hosts),
                  _counts("Top source addresses", "address", triage.summary.top_sources))
    parts += [sides, newest_table(triage.summary.newest)]
    return Group(*parts)
