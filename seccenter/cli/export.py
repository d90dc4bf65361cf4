from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from seccenter.cli.context import AppContext
from seccenter.cli.options import since_option
from seccenter.privacy.pseudonym import PseudonymError, Pseudonymiser, read_key
from seccenter.report import ecs
from seccenter.report.output import OutputError, private_file
from seccenter.report.terminal import json_text
from seccenter.store.alerts import list_alerts
from seccenter.store.events import iter_events


@click.command("export")
@click.argument("kind", type=click.Choice(["events", "alerts"]))
@click.option("--format", "fmt", type=click.Choice(["ecs-jsonl"]), default="ecs-jsonl", show_default=True,
              help="ecs-jsonl: one Elastic Common Schema document per line (Filebeat, OpenSearch).")
@since_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (mode 0600, created only when the export succeeded) instead of stdout.")
@click.option("--pseudonymise", is_flag=True,
              help="Replace IP addresses, host names and user names by keyed pseudonyms (needs --key-file).")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path),
              help="The pseudonymisation key (at least 32 bytes, mode 0600; `seccenter pseudonym keygen FILE`).")
@click.pass_obj
def command(app: AppContext, kind: str, fmt: str, since, output: Path | None, pseudonymise: bool,
            key_file: Path | None) -> None:
    """Export stored events or alerts for a SIEM, in ECS field names.

    With --pseudonymise the same address or user name always becomes the same pseudonym under the same key, in
    the fields and in the raw line alike.

    Example: seccenter export alerts --format ecs-jsonl --since 24h -o alerts.ndjson
    """
    pseudonymiser = _pseudonymiser(pseudonymise, key_file)
    db = app.db()

    def select() -> Iterable[dict[str, Any]]:
        return iter_events(db, since=since) if kind == "events" else reversed(list_alerts(db, since=since))

    rows = select()
    if pseudonymiser is not None:
        pseudonymiser.learn(select())  # names that some records hold in a field only, replaced in all
        rows = map(pseudonymiser.record, rows)
    lines = (json_text(document, indent=None) + "\n" for document in ecs.documents(rows, kind))
    if output is None:
        count = _write(lines, sys.stdout.write)
    else:
        # an export holds personal data (pseudonymised data too): private from the moment it exists
        try:
            with private_file(output) as stream:
                count = _write(lines, lambda line: stream.write(line.encode("utf-8")))
        except OutputError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"{count} {kind} exported", err=True)


def _write(lines: Iterable[str], write: Callable[[str], Any]) -> int:
    count = 0
    for line in lines:
        write(line)
        count += 1
    return count


def _pseudonymiser(pseudonymise: bool, key_file: Path | None) -> Pseudonymiser | None:
    if key_file is not None and not pseudonymise:
        raise click.UsageError("--key-file is only used with --pseudonymise")
    if not pseudonymise:
        return None
    if key_file is None:
        raise click.UsageError("--pseudonymise needs --key-file FILE (create one with `seccenter pseudonym keygen "
                               "FILE`)")
    try:
        return Pseudonymiser(read_key(key_file))
    except PseudonymError as error:
        raise click.ClickException(str(error)) from None
