from __future__ import annotations

import json
import re

import click

from seccenter.cli.context import AppContext
from seccenter.cli.options import json_option
from seccenter.incidents.audit import head, verify
from seccenter.report.terminal import visible

_HEAD = re.compile(r"^(\d+):([0-9a-fA-F]{64})$")


def _parse_head(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    match = _HEAD.match(value.strip())
    if not match:
        raise click.BadParameter("expected ID:HASH as printed by `seccenter audit verify` (64 hex digits)")
    return int(match.group(1)), match.group(2)


@click.group("audit")
def command() -> None:
    """The append-only, hash-chained audit log of every write to incidents, breaches, records and DPIAs."""


@command.command("verify")
@click.option("--expect-head", callback=_parse_head, metavar="ID:HASH",
              help="A head printed earlier (kept outside this machine): fails if the chain up to it was rewritten.")
@json_option
@click.pass_obj
def verify_command(app: AppContext, expect_head: tuple[int, str] | None, as_json: bool) -> None:
    """Check the audit chain: any edited, deleted, reordered or truncated entry is named. Exits 1 on any problem.

    Example: seccenter audit verify --json
    """
    db = app.db()
    problems = verify(db, expect_head)
    newest = head(db)
    entries = db["audit_log"].count
    if as_json:
        click.echo(json.dumps({"ok": not problems, "entries": entries, "head": newest,
                               "problems": [problem.to_dict() for problem in problems]}, indent=2))
    else:
        for problem in problems:
            click.echo(f"problem: {visible(problem.message, limit=None)}")
        state = f"{len(problems)} problems" if problems else "intact"
        where = f"; head {newest['id']}:{newest['hash']}" if newest else ""
        click.echo(f"audit log: {entries} entries, {state}{where}")
    if problems:
        raise SystemExit(1)
