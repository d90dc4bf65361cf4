"""The register, assets, screenings and DPIAs on the terminal. Every name and text in them was typed by
someone (or imported from a spreadsheet): it enters rich only through ``safe`` (no markup, control
characters made visible)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from seccenter.privacy.assets import Asset
from seccenter.privacy.dpia import Dpia, Screening
from seccenter.privacy.records import Contact, Transfer
from seccenter.privacy.ropa import ProcessingActivity, ProcessorRecord
from seccenter.privacy.validate import Finding
from seccenter.report.terminal import TEXT_LIMIT, safe

RISK_STYLES = {"low": "green", "medium": "yellow", "high": "bold red"}


def _joined(items: Iterable[str], limit: int = 80) -> Text:
    return safe(", ".join(items) or "-", limit=limit)


def activities_table(activities: Sequence[ProcessingActivity], processors: Sequence[ProcessorRecord] = ()) -> Table:
    table = Table(title=f"{len(activities)} processing activities, {len(processors)} processor records")
    for column in ("id", "name", "status", "last reviewed", "special categories", "systems"):
        table.add_column(column, overflow="fold")
    for activity in activities:
        table.add_row(safe(activity.id), safe(activity.name or "-"), activity.status,
                      activity.last_reviewed.isoformat() if activity.last_reviewed else "never",
                      _joined(activity.special_categories), _joined(activity.systems))
    for record in processors:
        table.add_row(safe(record.id), safe(record.processor.name if record.processor else "-"), "processor", "",
                      "", safe(", ".join(controller.name for controller in record.controllers) or "-"))
    return table


def _value(value: Any) -> Text:
    if value is None or value == () or value == {} or value == "":
        return Text("-", style="dim")
    if isinstance(value, Contact):
        return safe(f"{value.name} <{value.contact}>" if value.contact else value.name, limit=TEXT_LIMIT)
    if isinstance(value, Transfer):
        return safe(f"{value.country}: {value.safeguard or '(no safeguard)'}", limit=TEXT_LIMIT)
    if isinstance(value, tuple):
        lines = Text()
        for index, item in enumerate(value):
            if index:
                lines.append("\n")
            lines.append_text(_value(item))
        return lines
    if isinstance(value, dict):
        lines = Text()
        for index, (category, measures) in enumerate(value.items()):
            if index:
                lines.append("\n")
            lines.append_text(safe(f"{category}: {'; '.join(measures)}", limit=TEXT_LIMIT))
        return lines
    return safe(value.isoformat() if hasattr(value, "isoformat") else value, limit=TEXT_LIMIT)


def record_view(record: ProcessingActivity | ProcessorRecord, findings: Sequence[Finding]) -> Group:
    table = Table(show_header=False, title=Text(f"{record.id}", style="bold"), expand=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in vars(record).items():
        table.add_row(key, _value(value))
    return Group(table, findings_table(findings)) if findings else Group(table)


def findings_table(findings: Sequence[Finding], title: str | None = None) -> Table:
    table = Table(title=title or f"{len(findings)} findings")
    for column in ("record", "field", "article", "finding"):
        table.add_column(column, overflow="fold")
    for finding in findings:
        style = "red" if finding.severity == "error" else "yellow"
        table.add_row(safe(finding.record), safe(finding.field), finding.article,
                      safe(f"{finding.severity}: {finding.message}", style=style, limit=TEXT_LIMIT))
    return table


def assets_table(assets: Sequence[Asset], activities_of: dict[str, list[str]]) -> Table:
    table = Table(title=f"{len(assets)} assets")
    for column in ("id", "name", "hostname", "addresses", "owner", "criticality", "processing activities"):
        table.add_column(column, overflow="fold")
    for asset in assets:
        table.add_row(safe(asset.id), safe(asset.name or "-"), safe(asset.hostname or "-"), _joined(asset.addresses),
                      safe(asset.owner or "-"), asset.criticality or "-", _joined(activities_of.get(asset.id, [])))
    return table


def screening_view(screening: Screening, activity_name: str) -> Group:
    verdict = Text("DPIA required" if screening.dpia_required else "no DPIA required by the screening",
                   style="bold red" if screening.dpia_required else "bold green")
    heading = Text.assemble(safe(f"{screening.activity} {activity_name}".strip()), ": ", verdict)
    table = Table(show_header=False)
    table.add_column("reason", overflow="fold")
    for reason in screening.reasons:
        table.add_row(safe(reason.text, limit=TEXT_LIMIT))
    return Group(heading, Text(f"WP248 criteria met: {', '.join(screening.criteria) or 'none'}"), table)


def dpia_view(dpia: Dpia, activity_name: str) -> Group:
    content = dpia.content
    heading = Text.assemble(Text(f"{dpia.id} ", style="bold"), safe(f"{dpia.activity} {activity_name}".strip()),
                            f" ({content.status})")
    risks = Table(title="Risks to the rights and freedoms of data subjects (Art. 35(7)(c))", expand=True)
    for column in ("feared event", "severity", "likelihood", "risk", "measures", "residual"):
        risks.add_column(column, overflow="fold")
    for risk in content.risks:
        risks.add_row(risk.event.replace("_", " "), _level(risk.severity), _level(risk.likelihood),
                      _risk(risk.level), _value(risk.measures), _risk(risk.residual_level))
    conclusion = ("prior consultation of the supervisory authority required (Art. 36(1)): a high residual risk "
                  "remains" if dpia.prior_consultation else
                  "no high residual risk: no prior consultation (Art. 36) needed" if dpia.assessed else
                  "risks not yet assessed")
    details = Table(show_header=False, expand=True)
    details.add_column("key", style="bold", no_wrap=True)
    details.add_column("value", overflow="fold")
    details.add_row("description", _value(content.description))
    details.add_row("necessity", _value(content.necessity_proportionality))
    details.add_row("measures", _value(content.measures))
    details.add_row("DPO opinion", _value(content.dpo_opinion))
    return Group(heading, details, risks, Text(conclusion, style="bold red" if dpia.prior_consultation else ""))


def _level(value: int | None) -> str:
    return "-" if value is None else str(value)


def _risk(level: str | None) -> Text:
    return Text(level or "-", style=RISK_STYLES.get(level or "", "dim"))
