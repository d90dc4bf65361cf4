from __future__ import annotations

import click
from rich.table import Table

from seccenter.cli.context import AppContext
from seccenter.cli.options import SinceType, json_option, level_option, since_option
from seccenter.incidents.alert_status import AlertStatusError, change
from seccenter.incidents.audit import current_actor
from seccenter.report.terminal import alerts_table, json_text, local_time, make_console, safe, visible
from seccenter.store.alerts import STATUSES, list_alerts, notes
from seccenter.store.ropa import alerts_with_personal_data

ALERT_ID = click.IntRange(min=1, max=2**63 - 1)  # SQLite's integers


@click.group("alerts", invoke_without_command=True)
@since_option
@click.option("--until", type=SinceType(), help="Only alerts before a duration ago (24h) or a date.")
@level_option
@click.option("--rule", help="Only alerts of this rule (its id, or a part of its title).")
@click.option("--host", help="Only alerts whose event names this host (host, Computer, hostname or destination).")
@click.option("--status", type=click.Choice(STATUSES), help="Only alerts with this status.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many (newest first).")
@json_option
@click.pass_context
def command(ctx: click.Context, since, until, level: str | None, rule: str | None, host: str | None,
            status: str | None, limit: int | None, as_json: bool) -> None:
    """List stored alerts, newest first; `ack` and `close` record an analyst's decision, `show` one alert.

    Example: seccenter alerts --since 24h --level high --status new
    """
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.obj
    rows = list_alerts(app.db(), since=since, min_level=level, limit=limit, until=until, rule=rule, host=host,
                       status=status)
    if as_json:
        # each alert also says which assets its event names and which personal data they process
        click.echo(json_text(alerts_with_personal_data(app.db(), rows)))
    else:
        make_console().print(alerts_table(rows, title=f"{len(rows)} alerts", stored=True))


def _change(app: AppContext, alert_ids: tuple[int, ...], action: str, note: str | None, as_json: bool) -> None:
    try:
        changes = change(app.db(), alert_ids, action, current_actor(), note)
    except AlertStatusError as error:
        raise click.ClickException(visible(str(error), limit=None)) from None
    if as_json:
        click.echo(json_text(changes))
    else:
        noun = "alert" if len(changes) == 1 else "alerts"
        click.echo(f"{noun} {', '.join(str(item['id']) for item in changes)} {changes[0]['status']}")


@command.command("ack")
@click.argument("alert_ids", nargs=-1, required=True, type=ALERT_ID)
@click.option("--note", help="Why, or what is being done (kept with the alert; the change is audit-logged).")
@json_option
@click.pass_obj
def ack_command(app: AppContext, alert_ids: tuple[int, ...], note: str | None, as_json: bool) -> None:
    """Acknowledge alerts: seen and being looked at. A closed alert stays closed.

    Example: seccenter alerts ack 12 14 --note "checking with the web team"
    """
    _change(app, alert_ids, "ack", note, as_json)


@command.command("close")
@click.argument("alert_ids", nargs=-1, required=True, type=ALERT_ID)
@click.option("--note", help="The conclusion (false positive, handled in incident 3…).")
@json_option
@click.pass_obj
def close_command(app: AppContext, alert_ids: tuple[int, ...], note: str | None, as_json: bool) -> None:
    """Close alerts: dealt with. Closing is final: a closed alert cannot be acknowledged again.

    Example: seccenter alerts close 12 --note "vulnerability scan by our contractor"
    """
    _change(app, alert_ids, "close", note, as_json)


@command.command("show")
@click.argument("alert_id", type=ALERT_ID)
@json_option
@click.pass_obj
def show_command(app: AppContext, alert_id: int, as_json: bool) -> None:
    """One alert with its event, the personal data its systems process, and its status changes with their notes.

    Example: seccenter alerts show 12 --json
    """
    db = app.db()
    rows = list_alerts(db, alert_id=alert_id)
    if not rows:
        raise click.ClickException(f"no alert {alert_id}")
    alert = {**alerts_with_personal_data(db, rows)[0], "notes": notes(db, alert_id)}
    if as_json:
        click.echo(json_text(alert))
        return
    console = make_console()
    console.print(alerts_table(rows, title=f"alert {alert_id}", stored=True))
    history = Table(title="Status changes", expand=True)
    history.add_column("time", no_wrap=True)
    history.add_column("who", overflow="ellipsis")
    history.add_column("status", no_wrap=True)
    history.add_column("note", ratio=1, overflow="fold")
    for item in alert["notes"]:
        history.add_row(local_time(item["time"]), safe(item["actor"]), item["status"],
                        safe(item["note"] or "-", limit=2000))
    console.print(history)
