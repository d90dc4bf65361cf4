from __future__ import annotations

import json

import click

from seccenter.cli.context import AppContext
from seccenter.cli.options import json_option, since_option
from seccenter.report.terminal import make_console, triage_view
from seccenter.store.alerts import triage_summary


@click.command("triage")
@since_option
@json_option
@click.pass_obj
def command(app: AppContext, since, as_json: bool) -> None:
    """The analyst's screen: alerts by level, top rules, top source addresses, newest alerts.

    Example: seccenter triage --since 7d
    """
    summary = triage_summary(app.db(), since=since)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        make_console().print(triage_view(summary))
