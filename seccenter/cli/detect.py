from __future__ import annotations

import json
from pathlib import Path

import click

from seccenter import pipeline
from seccenter.cli.context import load_ruleset, read_placeholders
from seccenter.cli.ioc_options import ioc_option, load_iocs
from seccenter.cli.options import collect_options, placeholders_option, time_options
from seccenter.collect.registry import FORMAT_NAMES
from seccenter.report.terminal import alerts_table, json_text, make_console, visible
from seccenter.store.events import encode_json


@click.command("detect")
@click.option("--rules", "rule_paths", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Sigma rules: a directory or a rule file (repeatable).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "output", type=click.Choice(["jsonl", "table"]), default="jsonl", show_default=True,
              help="jsonl: one alert per line; table: for reading.")
@click.option("--input-format", "fmt", type=click.Choice(FORMAT_NAMES), help="Input format (default: sniffed).")
@ioc_option
@time_options
@placeholders_option
def command(rule_paths: tuple[Path, ...], paths: tuple[Path, ...], output: str, fmt: str | None,
            ioc_paths: tuple[Path, ...], year: int | None, zone, placeholders_file: Path | None) -> None:
    """Run Sigma rules over files and print the alerts; stores nothing.

    Example: seccenter detect --rules rules/sigma /var/log/auth.log --format jsonl
    """
    ruleset = load_ruleset(rule_paths, placeholders=read_placeholders(placeholders_file))
    iocs = load_iocs(ioc_paths)
    reports: list[pipeline.SourceReport] = []
    alerts = pipeline.detect_paths(paths, ruleset, fmt=fmt, options=collect_options(zone, year), reports=reports,
                                   iocs=iocs)
    if output == "jsonl":
        for alert in alerts:
            # through the store's encoder first: a parser's field may hold a value JSON has no type for
            click.echo(json_text(json.loads(encode_json(alert.to_dict())), indent=None))
    else:
        rows = [{**alert.to_dict(), "source_ip": alert.source_ip, "raw": alert.event.raw} for alert in alerts]
        make_console().print(alerts_table(rows))
    errors = make_console(stderr=True)
    for report in reports:
        if report.error:
            errors.print(f"error: {visible(report.path)}: {report.error}", markup=False)
        elif report.malformed:
            errors.print(f"warning: {visible(report.path)}: {report.malformed} malformed lines skipped", markup=False)
    if reports and all(report.error for report in reports):
        raise click.ClickException("nothing could be read")
