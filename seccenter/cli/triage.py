from __future__ import annotations

import click

from seccenter.cli.context import AppContext
from seccenter.cli.incident import zone_option
from seccenter.cli.options import json_option, since_option
from seccenter.report.terminal import json_text, make_console
from seccenter.report.triage import build
from seccenter.report.triage_view import triage_view


@click.command("triage")
@since_option
@zone_option
@json_option
@click.pass_obj
def command(app: AppContext, since, zone, as_json: bool) -> None:
    """The analyst's screen: new alerts since the last scan, open incidents with their GDPR/NIS2 deadlines,
    alerts on systems with special categories of personal data, top rules, hosts and source addresses, and the
    newest alerts. Deadlines under 12 hours are red.

    Example: seccenter triage --since 7d
    """
    triage = build(app.db(), since=since)
    if as_json:
        click.echo(json_text(triage.to_dict(zone)))
    else:
        make_console().print(triage_view(triage, zone))
