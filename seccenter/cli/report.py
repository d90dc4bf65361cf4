"""``seccenter report KIND``: documents in Markdown, HTML (printable), JSON or CSV, in German or English.

A kind is one builder function (store → ``Document``) registered with ``@report_kind`` plus its templates
``reports/<kind>.md.j2`` and ``reports/<kind>.html.j2``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from seccenter.cli.context import AppContext
from seccenter.cli.ropa import register_db
from seccenter.privacy.dpia_lists import DSK_LIST
from seccenter.privacy.ropa import ProcessingActivity
from seccenter.report.i18n import LANGUAGES
from seccenter.report.output import OutputError, write_private
from seccenter.report.render import FORMATS, Document, render
from seccenter.report.terminal import visible
from seccenter.store import dpia as dpia_store
from seccenter.store import ropa as ropa_store


@click.group("report")
def group() -> None:
    """Documents for the data protection officer and the authorities (ropa, dpia)."""


def report_kind(name: str, formats: tuple[str, ...] = FORMATS,
                options: tuple[Callable[[Any], Any], ...] = ()) -> Callable[[Callable[..., Document]], click.Command]:
    """Register ``build(app, **options) -> Document`` as ``seccenter report NAME`` with the shared options
    (--format, --lang, -o); its docstring is the command's help."""
    def decorator(build: Callable[..., Document]) -> click.Command:
        def command(app: AppContext, fmt: str, lang: str, output: Path | None, **extra: Any) -> None:
            try:
                text = render(build(app, **extra), fmt, lang)
            except ValueError as error:
                raise click.ClickException(str(error)) from None
            if output is None:
                click.echo(text, nl=False)
                return
            try:
                write_private(output, text)
            except OutputError as error:
                raise click.ClickException(str(error)) from None
            click.echo(f"wrote {visible(str(output))}", err=True)

        for option in options:
            command = option(command)
        command = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                               help="Write to this file (mode 0600, replaced atomically) instead of stdout.")(command)
        command = click.option("--lang", type=click.Choice(LANGUAGES), default="de", show_default=True)(command)
        command = click.option("--format", "fmt", type=click.Choice(formats), default="md", show_default=True)(command)
        return group.command(name, help=build.__doc__)(click.pass_obj(command))

    return decorator


@report_kind("ropa")
def ropa_report(app: AppContext) -> Document:
    """The register of processing activities (Art. 30(1)) and the processor register (Art. 30(2)).

    Example: seccenter report ropa --format html --lang de -o verzeichnis.html
    """
    register = ropa_store.load_register(register_db(app))
    header = ("record_type", "field.id", "field.name", "field.controller", "field.dpo", "field.purposes",
              "field.legal_basis", "field.data_subjects", "field.data_categories", "field.special_categories",
              "field.recipients", "field.third_country_transfers", "field.retention", "field.security_measures",
              "field.systems", "field.status", "field.last_reviewed", "field.processor", "field.controllers",
              "field.categories_of_processing")
    rows = [_activity_row(activity) for activity in register.processing_activities]
    rows += [["Art. 30(2)", record.id, "", "", _contact(record.dpo), "", "", "", "", "", "",
              _transfers(record.third_country_transfers), "", _measures(record.security_measures), "", "", "",
              _contact(record.processor), [_contact(c) for c in record.controllers],
              list(record.categories_of_processing)] for record in register.processors]
    return Document(
        kind="ropa",
        context={"activities": register.processing_activities, "processors": register.processors,
                 "assets": {asset.id: asset for asset in register.assets}},
        data={"report": "ropa", "processing_activities": [a.to_dict() for a in register.processing_activities],
              "processors": [p.to_dict() for p in register.processors]},
        csv_header=header, csv_rows=rows)


def _contact(contact: Any) -> str:
    if contact is None:
        return ""
    return f"{contact.name} ({contact.contact})" if contact.contact else contact.name


def _transfers(transfers: Any) -> list[str]:
    return [f"{item.country}: {item.safeguard}" for item in transfers]


def _measures(measures: dict[str, tuple[str, ...]]) -> list[str]:
    return [f"{category}: {', '.join(items)}" for category, items in measures.items()]


def _activity_row(a: ProcessingActivity) -> list[Any]:
    return ["Art. 30(1)", a.id, a.name, _contact(a.controller), _contact(a.dpo), list(a.purposes),
            list(a.legal_basis), list(a.data_subjects), list(a.data_categories), list(a.special_categories),
            list(a.recipients), _transfers(a.third_country_transfers), a.retention, _measures(a.security_measures),
            list(a.systems), a.status, a.last_reviewed.isoformat() if a.last_reviewed else "", "", "", ""]


@report_kind("dpia", options=(click.option("--id", "ids", multiple=True, help="Only this DPIA (repeatable)."),))
def dpia_report(app: AppContext, ids: tuple[str, ...]) -> Document:
    """Data protection impact assessments (Art. 35): screening, description, necessity, risks, measures and
    the Art. 36 result; all recorded DPIAs unless --id names some.

    Example: seccenter report dpia --id DPIA-0001 --format html --lang de -o dsfa.html
    """
    db = register_db(app)
    dpias = dpia_store.list_dpias(db, ids or None)
    missing = sorted(set(ids) - {dpia.id for dpia in dpias})
    if missing:
        raise ValueError(f"no DPIA {', '.join(map(visible, missing))}")
    activities = {dpia.activity: ropa_store.get_activity(db, dpia.activity) for dpia in dpias}
    header = ("field.id", "dpia.activity", "risk.event", "risk.severity", "risk.likelihood", "risk.level",
              "risk.measures", "risk.residual")
    rows = [[dpia.id, dpia.activity, risk.event, risk.severity, risk.likelihood, risk.level, list(risk.measures),
             risk.residual_level] for dpia in dpias for risk in dpia.content.risks]
    dsk = {item.number: item.summary for item in DSK_LIST}
    return Document(kind="dpia", context={"dpias": dpias, "activities": activities, "dsk": dsk},
                    data={"report": "dpia", "dpias": [dpia.to_dict() for dpia in dpias]},
                    csv_header=header, csv_rows=rows)

