from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from seccenter.cli.context import read_placeholders
from seccenter.cli.options import json_option, placeholders_option
from seccenter.detect.convert import TARGETS, BackendUnavailable, convert_rules
from seccenter.detect.sigma import load_rules, standard_pipeline
from seccenter.report.terminal import make_console, safe, visible


@click.group("rules")
def command() -> None:
    """Check Sigma rules, or convert them for a SIEM."""


@command.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@placeholders_option
@json_option
def check(paths: tuple[Path, ...], placeholders_file: Path | None, as_json: bool) -> None:
    """Load every rule below PATHS and report each one that fails, with file:line and reason.

    Exits 1 when any rule failed.

    Example: seccenter rules check rules/sigma --json
    """
    ruleset = load_rules(paths, standard_pipeline(read_placeholders(placeholders_file)))
    if as_json:
        click.echo(json.dumps({"loaded": len(ruleset.rules) + len(ruleset.correlations),
                               "failed": [error.to_dict() for error in ruleset.errors]}, indent=2))
    else:
        console = make_console()
        console.print(f"{len(ruleset.rules)} rules and {len(ruleset.correlations)} correlation rules loaded, "
                      f"{len(ruleset.errors)} failed", markup=False)
        if ruleset.errors:
            table = Table(title="Rules that failed")
            table.add_column("file:line", overflow="fold")
            table.add_column("reason", overflow="fold")
            for error in ruleset.errors:
                where = f"{error.path}:{error.line}" if error.line is not None else error.path
                table.add_row(safe(where, limit=None), safe(error.reason, limit=None))
            console.print(table)
    if ruleset.errors:
        raise SystemExit(1)


@command.command("convert")
@click.option("--target", required=True, type=click.Choice(sorted(TARGETS)),
              help="SIEM query language (its pySigma backend must be installed).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
def convert(target: str, paths: tuple[Path, ...], as_json: bool) -> None:
    """Convert Sigma rules into queries for a SIEM through the pySigma backends.

    Rules that do not convert are listed on stderr; exits 1 when none converted.

    Example: seccenter rules convert --target opensearch rules/sigma
    """
    try:
        conversions = convert_rules(paths, target)
    except BackendUnavailable as error:
        raise click.ClickException(str(error)) from None
    converted = [conversion for conversion in conversions if conversion.error is None]
    if as_json:
        click.echo(json.dumps([conversion.to_dict() for conversion in conversions], indent=2))
    else:
        for conversion in converted:
            click.echo(f"# {conversion.title} ({conversion.path})")
            for query in conversion.queries:
                click.echo(query)
            click.echo()
    for conversion in conversions:
        if conversion.error is not None:
            click.echo(f"not converted: {conversion.path}: {visible(conversion.error, limit=None)}", err=True)
    if not converted:
        raise click.ClickException(f"no rule converted for {target}")
