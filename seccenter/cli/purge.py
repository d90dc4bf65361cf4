from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import click

from seccenter.cli.context import AppContext
from seccenter.cli.options import json_option
from seccenter.incidents.audit import current_actor
from seccenter.report.terminal import local_time
from seccenter.store.retention import PurgeReport, RetentionError, purge
from seccenter.units import parse_duration

KINDS = ("events", "alerts", "quarantine")


class DurationType(click.ParamType):
    """``90d``, ``12h``, ``2w``: a time limit counted back from now."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


def _kinds(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    if value is None:
        return KINDS
    wanted = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [kind for kind in wanted if kind not in KINDS]
    if unknown or not wanted:
        raise click.BadParameter(f"expected a comma-separated list of {', '.join(KINDS)}")
    return wanted


@click.command("purge")
@click.option("--older-than", required=True, type=DurationType(),
              help="Erase what is older than this (90d, 12h, 2w).")
@click.option("--only", "kinds", callback=_kinds, metavar="KINDS",
              help="Only these, comma-separated: events, alerts, quarantine (default: all three).")
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@click.option("--no-vacuum", is_flag=True, help="Do not rebuild the file afterwards (VACUUM locks the store "
                                                "while it runs).")
@json_option
@click.pass_obj
def command(app: AppContext, older_than: timedelta, kinds: tuple[str, ...], dry_run: bool, no_vacuum: bool,
            as_json: bool) -> None:
    """Erase stored events, alerts and quarantined records older than a time limit, then VACUUM.

    Delivered and given-up notifications go with the alerts' limit (pending ones stay). Events count from their
    time, quarantined records from when they were stored, alerts from the later of
    the two: an alert stays until the limit has passed since it was stored, whatever date its log line
    carries. Alerts linked to an incident stay, with the events they point to. Each purge is written to the
    audit log.

    Example: seccenter purge --older-than 90d --dry-run
    """
    limits = {kind: older_than if kind in kinds else None for kind in KINDS}
    try:
        report = purge(app.db(), **limits, vacuum=not no_vacuum, dry_run=dry_run, actor=current_actor())
    except RetentionError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(_lines(report))


def _lines(report: PurgeReport) -> str:
    verb = "would erase" if report.dry_run else "erased"
    lines = []
    for kind in KINDS:
        cutoff = report.cutoffs.get(kind)
        if cutoff is None:
            lines.append(f"{kind:<11} kept (not asked for)")
            continue
        count = getattr(report, kind)
        notes = f" (and {report.alert_notes} notes)" if kind == "alerts" and report.alert_notes else ""
        lines.append(f"{kind:<11} {verb} {count}{notes}, older than {local_time(cutoff)}")
        if kind == "alerts":
            lines.append(f"{'notifications':<11} {verb} {report.notifications} delivered or given up, queued before"
                         f" {local_time(cutoff)}")
    lines.append("alerts stored within the limit, alerts linked to incidents and the events they point to are kept")
    if report.dry_run:
        lines.append("dry run: nothing was changed")
    else:
        lines.append("store compacted (VACUUM)" if report.vacuumed else "store not compacted (--no-vacuum)")
    return "\n".join(lines)
