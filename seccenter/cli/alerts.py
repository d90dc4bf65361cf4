from __future__ import annotations

import json

import click

from seccenter.cli.context import AppContext
from seccenter.cli.options import json_option, level_option, since_option
from seccenter.report.terminal import alerts_table, make_console
from seccenter.store.alerts import list_alerts
from seccenter.store.ropa import alerts_with_personal_data


@click.command("alerts")
@since_option
@level_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many (newest first).")
@json_option
@click.pass_obj
def command(app: AppContext, since, level: str | None, limit: int | None, as_json: bool) -> None:
    """List stored alerts, newest first.

    Example: seccenter alerts --since 24h --level high
    """
    rows = list_alerts(app.db(), since=since, min_level=level, limit=limit)
    if as_json:
        # each alert also says which assets its event names and which personal data they process
        rows = alerts_with_personal_data(app.db(), rows)
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        make_console().print(alerts_table(rows, title=f"{len(rows)} alerts"))
