from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
from rich.table import Table

from seccenter import pipeline
from seccenter.cli.context import AppContext, load_ruleset, read_placeholders
from seccenter.cli.ioc_options import ioc_option, load_iocs
from seccenter.cli.options import collect_options, json_option, placeholders_option, time_options
from seccenter.cli.yara import SizeType, load_yara_rules
from seccenter.collect.packets.flows import DEFAULT_PAYLOAD_LIMIT
from seccenter.collect.registry import FORMAT_NAMES
from seccenter.report.terminal import make_console, safe, visible
from seccenter.resources import sigma_rules, yara_rules


def summary_table(summary: pipeline.IngestSummary) -> Table:
    table = Table(title="Ingest summary")
    for name in ("source", "format", "events", "new", "malformed", "alerts", "note"):
        table.add_column(name, justify="right" if name in ("events", "new", "malformed", "alerts") else "left")
    for source in summary.sources:
        note = source.error or source.note or ""
        if source.malformed_reasons:
            reasons = "; ".join(f"{reason} ({count})" for reason, count in source.malformed_reasons.most_common(3))
            note = f"{note} quarantined: {reasons}".strip()
        if source.flows_evicted:
            note = f"{note} {source.flows_evicted} flows ended early: flow table full".strip()
        table.add_row(safe(source.path), source.format or "-", str(source.events), str(source.new_events),
                      str(source.malformed), str(source.alerts),
                      safe(note, style="red" if source.error else "", limit=300))
    return table


def payload_options(command: Callable) -> Callable:
    """``--yara-rules``, ``--payload-limit``, ``--no-payload-scan``: YARA over packet payloads (ingest, sniff)."""
    for option in reversed((
        click.option("--yara-rules", "yara_paths", multiple=True, type=click.Path(path_type=Path),
                     help="YARA rules for packet payloads (file or folder, repeatable; default: the bundled "
                          "rules/yara)."),
        click.option("--payload-limit", type=SizeType(), default=DEFAULT_PAYLOAD_LIMIT, show_default="64K",
                     help="Bytes of each flow's payload scanned with YARA, each way."),
        click.option("--no-payload-scan", is_flag=True, help="Do not scan packet payloads with YARA."),
    )):
        command = option(command)
    return command


def payload_scan_for(yara_paths: tuple[Path, ...], payload_limit: int, no_payload_scan: bool,
                     quiet: bool) -> pipeline.PayloadScan | None:
    """The payload scan the options ask for; the bundled rules are compiled only when a capture is met."""
    if no_payload_scan:
        return None
    if yara_paths:
        rules = load_yara_rules(yara_paths, cache_dir=None, quiet=quiet)
        return pipeline.PayloadScan(lambda: rules, payload_limit)
    return pipeline.PayloadScan(lambda: load_yara_rules((yara_rules(),), None, quiet=quiet), payload_limit)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMAT_NAMES), help="Input format (default: sniffed).")
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path),
              help="Sigma rules (file or directory, repeatable; default: the bundled rules).")
@ioc_option
@payload_options
@time_options
@placeholders_option
@json_option
@click.pass_obj
def command(app: AppContext, paths: tuple[Path, ...], fmt: str | None, rule_paths: tuple[Path, ...],
            ioc_paths: tuple[Path, ...], yara_paths: tuple[Path, ...], payload_limit: int, no_payload_scan: bool,
            year: int | None, zone, placeholders_file: Path | None, as_json: bool) -> None:
    """Read log files (or directories of them) into the store, detecting as they go.

    Only data added since the last run is read; malformed lines are quarantined with their path and offset.

    Example: seccenter ingest /var/log/auth.log /var/log/nginx/access.log --ioc signature-base/iocs
    """
    ruleset = load_ruleset(rule_paths or (sigma_rules(),), placeholders=read_placeholders(placeholders_file))
    iocs = load_iocs(ioc_paths)
    payload_scan = payload_scan_for(yara_paths, payload_limit, no_payload_scan, quiet=as_json)
    summary = pipeline.ingest(app.db(), paths, ruleset, fmt=fmt, options=collect_options(zone, year), iocs=iocs,
                              payload_scan=payload_scan)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        console = make_console()
        console.print(summary_table(summary))
        console.print(f"{summary.total('new_events')} new events, {summary.total('alerts')} new alerts, "
                      f"{summary.total('malformed')} malformed lines quarantined", markup=False)
        for rule_id, reasons in summary.correlation_skipped.items():
            if reasons["evicted"] or reasons["capped"]:
                console.print(f"correlation {visible(rule_id)}: windows full, {reasons['evicted'] + reasons['capped']} "
                              "matches dropped (oldest groups or matches first)", markup=False)
    if summary.nothing_read:
        raise click.ClickException("nothing could be read: " + "; ".join(
            f"{source.path}: {source.error}" for source in summary.sources))
