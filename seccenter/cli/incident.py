from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from seccenter.cli.context import AppContext
from seccenter.cli.options import SinceType, ZoneType, json_option
from seccenter.incidents import cases, timeline
from seccenter.incidents.audit import current_actor
from seccenter.incidents.cases import SEVERITIES, STATUSES, IncidentError
from seccenter.incidents.evidence import add_evidence, check_evidence
from seccenter.playbooks.library import default_directory, load_library
from seccenter.playbooks.runner import proposals
from seccenter.privacy.deadlines import DEFAULT_ZONE
from seccenter.report.incident_view import incident_view, incidents_table, obligations_json
from seccenter.report.terminal import TEXT_LIMIT, json_text, make_console, visible

_DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def zone_option(command: Any) -> Any:
    return click.option("--timezone", "zone", type=ZoneType(), default=str(DEFAULT_ZONE.key),
                        envvar="SECCENTER_TIMEZONE", show_default=True,
                        help="Zone in which times are shown (env SECCENTER_TIMEZONE).")(command)


def _fail(error: Exception) -> click.ClickException:
    return click.ClickException(visible(str(error), limit=None))


def _echo_json(document: Any) -> None:
    click.echo(json_text(document))


@click.group("incident")
def command() -> None:
    """Incident cases: open from alerts or by hand, work them through the status workflow, keep evidence."""


@command.command("open")
@click.option("--title", required=True, help="Short description of what happened.")
@click.option("--category", default="other", show_default=True,
              help="Kind of incident, e.g. malware, phishing, unauthorized-access, data-breach, dos.")
@click.option("--severity", type=click.Choice(SEVERITIES), default="medium", show_default=True)
@click.option("--owner", help="Who works the case.")
@click.option("--alert", "alert_ids", type=int, multiple=True, help="Alert id to link (repeatable).")
@json_option
@click.pass_obj
def open_command(app: AppContext, title: str, category: str, severity: str, owner: str | None,
                 alert_ids: tuple[int, ...], as_json: bool) -> None:
    """Open an incident (status new), from one or more alerts or by hand.

    Example: seccenter incident open --title "SQL injection on the citizen portal" --alert 12 --alert 14
    """
    try:
        incident = cases.open_incident(app.db(), title, current_actor(), category, severity, owner, alert_ids)
    except IncidentError as error:
        raise _fail(error) from None
    if as_json:
        _echo_json({"id": incident["id"]})
    else:
        click.echo(f"incident {incident['id']} opened: {visible(incident['title'])}")
        for playbook, reasons in proposals(app.db(), load_library([default_directory()]), incident):
            click.echo(f"playbook proposed ({visible(', '.join(reasons))}): seccenter playbook start {incident['id']} "
                       f"{playbook.id}")


@command.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Closed incidents too.")
@zone_option
@json_option
@click.pass_obj
def list_command(app: AppContext, include_closed: bool, zone, as_json: bool) -> None:
    """Incidents with the time left (or overdue) for every open legal obligation.

    Example: seccenter incident list --all
    """
    rows = cases.list_cases(app.db(), include_closed)
    now = datetime.now(UTC)
    if as_json:
        _echo_json([{**row, "obligations": obligations_json(row["obligations"], zone, now)} for row in rows])
    else:
        make_console().print(incidents_table(rows, zone, now))


def _details(app: AppContext, incident_id: int) -> dict[str, Any]:
    db = app.db()
    return {"incident": cases.get_with_obligations(db, incident_id),
            "timeline": [entry.to_dict() for entry in timeline.build(db, incident_id)],
            "evidence": [item.to_dict() for item in check_evidence(db, app.db_path, incident_id)]}


@command.command("show")
@click.argument("incident_id", type=int)
@zone_option
@json_option
@click.pass_obj
def show_command(app: AppContext, incident_id: int, zone, as_json: bool) -> None:
    """One incident: its fields, deadlines, evidence (re-hashed) and timeline of alerts, events and actions.

    Example: seccenter incident show 3
    """
    try:
        details = _details(app, incident_id)
    except IncidentError as error:
        raise _fail(error) from None
    if as_json:
        now = datetime.now(UTC)
        details["incident"]["obligations"] = obligations_json(details["incident"]["obligations"], zone, now)
        _echo_json(details)
    else:
        make_console().print(incident_view(details["incident"], details["timeline"], details["evidence"], zone))


@command.command("update")
@click.argument("incident_id", type=int)
@click.option("--title")
@click.option("--category")
@click.option("--severity", type=click.Choice(SEVERITIES))
@click.option("--owner", help="Who works the case (empty text clears it).")
@click.option("--status", type=click.Choice(STATUSES), help="Next step of new → triage → contained → eradicated → "
                                                            "recovered → closed.")
@click.option("--reason", help="Why (needed to close a case before containment).")
@json_option
@click.pass_obj
def update_command(app: AppContext, incident_id: int, title: str | None, category: str | None,
                   severity: str | None, owner: str | None, status: str | None, reason: str | None,
                   as_json: bool) -> None:
    """Change an incident's fields or move it one step along its workflow.

    Example: seccenter incident update 3 --status contained --owner "j.schmidt"
    """
    db = app.db()
    actor = current_actor()
    try:
        incident = cases.update(db, incident_id, actor, title, category, severity, owner)
        if status is not None:
            incident = cases.change_status(db, incident_id, status, actor, reason)
    except IncidentError as error:
        raise _fail(error) from None
    if as_json:
        _echo_json(incident)
    else:
        click.echo(f"incident {incident_id}: {incident['status']}, severity {incident['severity']}")


@command.command("close")
@click.argument("incident_id", type=int)
@click.option("--reason", help="Resolution (needed when closing before containment, e.g. false positive).")
@click.pass_obj
def close_command(app: AppContext, incident_id: int, reason: str | None) -> None:
    """Close a recovered incident (or one found to be no incident, with --reason).

    Example: seccenter incident close 3 --reason "false positive: scheduled penetration test"
    """
    try:
        cases.close(app.db(), incident_id, current_actor(), reason)
    except IncidentError as error:
        raise _fail(error) from None
    click.echo(f"incident {incident_id} closed")


@command.command("reopen")
@click.argument("incident_id", type=int)
@click.option("--reason", required=True, help="Why the case is open again.")
@click.pass_obj
def reopen_command(app: AppContext, incident_id: int, reason: str) -> None:
    """Reopen a closed incident; it goes back to triage.

    Example: seccenter incident reopen 3 --reason "same attacker back on 2026-11-30"
    """
    try:
        cases.reopen(app.db(), incident_id, current_actor(), reason)
    except IncidentError as error:
        raise _fail(error) from None
    click.echo(f"incident {incident_id} reopened (triage)")


@command.command("note")
@click.argument("incident_id", type=int)
@click.argument("text")
@click.pass_obj
def note_command(app: AppContext, incident_id: int, text: str) -> None:
    """Add a note to an incident's timeline.

    Example: seccenter incident note 3 "Firewall rule blocks 203.0.113.7 since 10:40"
    """
    try:
        cases.add_note(app.db(), incident_id, current_actor(), text)
    except IncidentError as error:
        raise _fail(error) from None
    click.echo(f"note added to incident {incident_id}")


@command.command("link")
@click.argument("incident_id", type=int)
@click.option("--alert", "alert_ids", type=int, multiple=True, required=True, help="Alert id (repeatable).")
@click.pass_obj
def link_command(app: AppContext, incident_id: int, alert_ids: tuple[int, ...]) -> None:
    """Link more alerts to an open incident.

    Example: seccenter incident link 3 --alert 17 --alert 18
    """
    try:
        added = cases.link_alerts(app.db(), incident_id, alert_ids, current_actor())
    except IncidentError as error:
        raise _fail(error) from None
    click.echo(f"{len(added)} alerts linked to incident {incident_id}")


def _parse_window(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    text = value.strip()
    if len(text) < 2 or text[-1] not in _DURATION_UNITS or not text[:-1].isdigit() or int(text[:-1]) == 0:
        raise click.BadParameter("expected a duration such as 30m, 1h or 2d")
    return timedelta(**{_DURATION_UNITS[text[-1]]: int(text[:-1])})


@command.command("propose")
@click.option("--window", default="1h", show_default=True, callback=_parse_window,
              help="A pause longer than this between alerts of one rule on one host starts a new group.")
@click.option("--since", type=SinceType(), help="Only alerts since a duration ago (24h, 7d) or a date.")
@json_option
@click.pass_obj
def propose_command(app: AppContext, window: timedelta, since, as_json: bool) -> None:
    """Propose incidents: alerts not in any incident, grouped by rule, host and time window.

    Example: seccenter incident propose --window 30m --since 24h
    """
    proposals = cases.propose(app.db(), window, since)
    if as_json:
        _echo_json([proposal.to_dict() for proposal in proposals])
        return
    console = make_console()
    console.print(f"{len(proposals)} proposed incidents", markup=False)
    for proposal in proposals:
        alerts = " ".join(f"--alert {alert_id}" for alert_id in proposal.alert_ids)
        # the title holds event text: with control characters made visible, cut, and quoted for the shell
        console.print(f"{len(proposal.alert_ids)} alerts, {proposal.level}: seccenter incident open --title "
                      f"{shlex.quote(visible(proposal.title, limit=TEXT_LIMIT))} {alerts}", markup=False,
                      soft_wrap=True)


@command.group("evidence")
def evidence_group() -> None:
    """Evidence files of an incident, kept by SHA-256 in a private folder beside the database."""


@evidence_group.command("add")
@click.argument("incident_id", type=int)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--description", help="What the file is and where it came from.")
@json_option
@click.pass_obj
def evidence_add(app: AppContext, incident_id: int, path: Path, description: str | None, as_json: bool) -> None:
    """Copy a file into the evidence folder (<db>.evidence/<sha256>, mode 0600) and link it to an incident.

    Example: seccenter incident evidence add 3 /tmp/access.log.1 --description "web server log, copied 10:12"
    """
    try:
        row = add_evidence(app.db(), app.db_path, incident_id, path, current_actor(), description)
    except IncidentError as error:
        raise _fail(error) from None
    if as_json:
        _echo_json(row)
    else:
        click.echo(f"evidence {row['id']} added to incident {incident_id}: sha256 {row['sha256']}")


@evidence_group.command("check")
@click.argument("incident_id", type=int)
@json_option
@click.pass_obj
def evidence_check(app: AppContext, incident_id: int, as_json: bool) -> None:
    """Re-hash an incident's evidence files; exits 1 when any is missing, altered or unreadable.

    Example: seccenter incident evidence check 3
    """
    db = app.db()
    try:
        cases.get(db, incident_id)
    except IncidentError as error:
        raise _fail(error) from None
    states = check_evidence(db, app.db_path, incident_id)
    if as_json:
        _echo_json([state.to_dict() for state in states])
    else:
        for state in states:
            click.echo(f"evidence {state.row['id']} {visible(state.row['original_name'])}: {state.state}")
        click.echo(f"{len(states)} evidence files, {sum(state.state != 'ok' for state in states)} with problems")
    if any(state.state != "ok" for state in states):
        raise SystemExit(1)
