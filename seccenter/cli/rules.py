from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from seccenter.cli.options import json_option
from seccenter.detect.sigma import load_rules
from seccenter.report.terminal import make_console, safe


@click.group("rules")
def command() -> None:
    """Check Sigma rules."""


@command.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
def check(paths: tuple[Path, ...], as_json: bool) -> None:
    """Load every rule below PATHS and report each one that fails, with file:line and reason.

    Exits 1 when any rule failed.

    Example: seccenter rules check rules/sigma --json
    """
    ruleset = load_rules(paths)
    if as_json:
        click.echo(json.dumps({"loaded": len(ruleset.rules),
                               "failed": [error.to_dict() for error in ruleset.errors]}, indent=2))
    else:
        console = make_console()
        console.print(f"{len(ruleset.rules)} rules loaded, {len(ruleset.errors)} failed", markup=False)
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
