from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from seccenter.cli.context import AppContext
from seccenter.cli.options import since_option
from seccenter.report import ecs
from seccenter.store.alerts import list_alerts
from seccenter.store.events import iter_events


@click.command("export")
@click.argument("kind", type=click.Choice(["events", "alerts"]))
@click.option("--format", "fmt", type=click.Choice(["ecs-jsonl"]), default="ecs-jsonl", show_default=True,
              help="ecs-jsonl: one Elastic Common Schema document per line (Filebeat, OpenSearch).")
@since_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (created only when the export succeeded) instead of stdout.")
@click.pass_obj
def command(app: AppContext, kind: str, fmt: str, since, output: Path | None) -> None:
    """Export stored events or alerts for a SIEM, in ECS field names.

    Example: seccenter export alerts --format ecs-jsonl --since 24h -o alerts.ndjson
    """
    db = app.db()
    rows = iter_events(db, since=since) if kind == "events" else reversed(list_alerts(db, since=since))
    target = output.with_name(output.name + ".part") if output else None
    stream = target.open("w", encoding="utf-8") if target else sys.stdout
    count = 0
    try:
        for document in ecs.documents(rows, kind):
            stream.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")
            count += 1
    finally:
        if target:
            stream.close()
    if target and output:
        target.replace(output)
    click.echo(f"{count} {kind} exported", err=True)
