from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

import click
from rich.table import Table

from seccenter.cli.context import AppContext
from seccenter.cli.incident import zone_option
from seccenter.cli.options import json_option
from seccenter.incidents.audit import current_actor
from seccenter.incidents.cases import IncidentError
from seccenter.privacy import breach
from seccenter.privacy.breach import NIS2_ENTITIES, BreachError, BreachInput
from seccenter.privacy.deadlines import OBLIGATIONS, shown
from seccenter.privacy.enisa import BASIC_SCORE, CB_TABLE, EI_TABLE
from seccenter.report.terminal import TEXT_LIMIT, json_text, make_console, safe, visible


class MomentType(click.ParamType):
    """An ISO 8601 date and time; without an offset it is read in the zone given by --timezone."""

    name = "iso8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date and time (e.g. 2026-10-23T22:30+02:00)", param, ctx)


def _in_zone(moment: datetime | None, zone: tzinfo) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone)


def _fail(error: Exception) -> click.ClickException:
    return click.ClickException(visible(str(error), limit=None))


@click.group("breach")
def command() -> None:
    """Personal-data breaches: ENISA severity, GDPR Art. 33/34 and NIS2 deadlines, notifications made."""


@command.command("assess")
@click.argument("incident_id", type=int)
@click.option("--aware-at", required=True, type=MomentType(),
              help="When the controller became aware of the breach (ISO 8601; no offset: --timezone).")
@click.option("--occurred-at", type=MomentType(), help="When the breach began (default: the earliest alert's event).")
@click.option("--data-type", type=click.Choice(list(BASIC_SCORE)),
              help="ENISA data type (default: from the register through the incident's systems).")
@click.option("--dpc", type=click.IntRange(1, 4), help="Data processing context 1-4 (ENISA Table 1).")
@click.option("--ei", type=click.Choice([f"{value:g}" for value in EI_TABLE]),
              help="Ease of identification (ENISA Table 2; default 1).")
@click.option("--confidentiality", is_flag=True, help="Confidentiality lost (data disclosed or accessed).")
@click.option("--disclosure", type=click.Choice(list(CB_TABLE["confidentiality"])),
              help="Extent of the disclosure (default with --confidentiality: unknown recipients).")
@click.option("--integrity", is_flag=True, help="Integrity lost (data altered).")
@click.option("--alteration", type=click.Choice(list(CB_TABLE["integrity"])),
              help="Extent of the alteration (default with --integrity: unrecoverable).")
@click.option("--availability", is_flag=True, help="Availability lost (data inaccessible or destroyed).")
@click.option("--unavailability", type=click.Choice(list(CB_TABLE["availability"])),
              help="Extent of the loss (default with --availability: permanent).")
@click.option("--malicious", is_flag=True, help="Caused intentionally (theft, hacking, sale of data).")
@click.option("--subjects", type=click.IntRange(min=0), help="Approximate number of data subjects concerned.")
@click.option("--encrypted", is_flag=True, help="Art. 34(3)(a): unintelligible, encrypted with a key not compromised.")
@click.option("--measures", is_flag=True, help="Art. 34(3)(b): later measures make the high risk no longer likely.")
@click.option("--disproportionate", is_flag=True,
              help="Art. 34(3)(c): telling each person is disproportionate effort (public communication instead).")
@click.option("--nis2", type=click.Choice([*NIS2_ENTITIES, "none"]), envvar="SECCENTER_NIS2", default="none",
              show_default=True, help="The entity's NIS2 class, for a significant incident (env SECCENTER_NIS2).")
@click.option("--reasoning", help="The analyst's reasoning, recorded with the assessment (Art. 33(5)).")
@zone_option
@json_option
@click.pass_obj
def assess_command(app: AppContext, incident_id: int, aware_at: datetime, occurred_at: datetime | None,
                   data_type: str | None, dpc: int | None, ei: str | None, confidentiality: bool,
                   disclosure: str | None, integrity: bool, alteration: str | None, availability: bool,
                   unavailability: str | None, malicious: bool, subjects: int | None, encrypted: bool,
                   measures: bool, disproportionate: bool, nis2: str, reasoning: str | None, zone,
                   as_json: bool) -> None:
    """Assess a breach: ENISA severity (SE = DPC × EI + CB) with the reason for every factor, whether to notify
    the supervisory authority (Art. 33) and the data subjects (Art. 34), and every deadline. The assessment is
    recorded, notified or not (Art. 33(5)).

    Example: seccenter breach assess 3 --aware-at 2026-10-23T22:30 --confidentiality --malicious --subjects 1200
    """
    answers = BreachInput(
        aware_at=_in_zone(aware_at, zone), occurred_at=_in_zone(occurred_at, zone), data_type=data_type, dpc=dpc,
        ei=float(ei) if ei is not None else None, confidentiality=confidentiality, disclosure=disclosure,
        integrity=integrity, alteration=alteration, availability=availability, unavailability=unavailability,
        malicious=malicious, subjects=subjects, encrypted=encrypted, measures=measures,
        disproportionate=disproportionate, nis2=None if nis2 == "none" else nis2, reasoning=reasoning)
    db = app.db()
    try:
        assessment = breach.record_assessment(db, incident_id, answers, current_actor(),
                                              breach.personal_data_for(db, incident_id), zone)
    except (BreachError, IncidentError) as error:
        raise _fail(error) from None
    if as_json:
        click.echo(json_text(assessment.to_json(zone)))
        return
    console = make_console()
    factors = Table(title=f"Incident {incident_id}: severity {assessment.severity:g} ({assessment.risk})", expand=True)
    factors.add_column("factor", no_wrap=True)
    factors.add_column("value", no_wrap=True)
    factors.add_column("reason", ratio=1, overflow="fold")
    for factor in assessment.factors:
        value = "-" if factor.value is None else f"{factor.value}"
        factors.add_row(factor.name, value, safe(factor.reason, limit=TEXT_LIMIT))
    console.print(factors)
    for reason in assessment.reasons:
        console.print(safe(reason, limit=TEXT_LIMIT))
    for key, due in assessment.due_dates():
        console.print(f"due {shown(due, zone)}: {OBLIGATIONS[key].label} ({OBLIGATIONS[key].basis})", markup=False)


@command.command("notified")
@click.argument("incident_id", type=int)
@click.argument("obligation", type=click.Choice(list(OBLIGATIONS)))
@click.option("--at", "submitted_at", type=MomentType(), help="When it was submitted (default: now).")
@click.option("--partial", is_flag=True, help="Art. 33(4): a first phase; the rest of the information follows.")
@click.option("--delay-reason", help="Why it is late (Art. 33(1) requires it after 72 hours).")
@click.option("--note", help="Reference number, recipient, channel.")
@zone_option
@click.pass_obj
def notified_command(app: AppContext, incident_id: int, obligation: str, submitted_at: datetime | None,
                     partial: bool, delay_reason: str | None, note: str | None, zone) -> None:
    """Record that a notification or report was submitted, which ends its countdown.

    Example: seccenter breach notified 3 art33_authority --at 2026-10-24T11:00 --note "LfDI ref 2026-117"
    """
    moment = _in_zone(submitted_at, zone) or datetime.now(UTC)
    try:
        item = breach.record_submission(app.db(), incident_id, obligation, moment, current_actor(), not partial,
                                        delay_reason, note, zone)
    except (BreachError, IncidentError) as error:
        raise _fail(error) from None
    click.echo(f"incident {incident_id}: {obligation} {item['status']}")


@command.command("show")
@click.argument("incident_id", type=int)
@zone_option
@json_option
@click.pass_obj
def show_command(app: AppContext, incident_id: int, zone, as_json: bool) -> None:
    """The latest assessment of an incident with its reasoning, obligations and submissions.

    Example: seccenter breach show 3 --json
    """
    try:
        document = breach.breach_record(app.db(), incident_id)
    except (BreachError, IncidentError) as error:
        raise _fail(error) from None
    if as_json:
        click.echo(json_text(document))
        return
    console = make_console()
    result = document["assessment"]["result"]
    console.print(f"incident {incident_id}: severity {result['severity']:g} ({result['risk']}), aware "
                  f"{shown(document['assessment']['aware_at'], zone)}", markup=False)
    for reason in result["reasons"]:
        console.print(safe(reason, limit=TEXT_LIMIT))
    for item in document["obligations"]:
        due = shown(item["due"], zone) if item["due"] else "without undue delay"
        console.print(f"{item['obligation']}: {item['status']} (due {due})", markup=False)
    for item in document["submissions"]:
        phase = "" if item["final"] else " (first phase)"
        console.print(safe(f"submitted {shown(item['submitted_at'], zone)}: {item['obligation']}{phase} "
                           f"{item['note'] or ''}".rstrip(), limit=TEXT_LIMIT))
