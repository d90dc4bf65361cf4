"""``seccenter report breach|incident``: the incident documents, registered on ``seccenter report``."""

from __future__ import annotations

import click

from seccenter.cli.context import AppContext
from seccenter.cli.incident import zone_option
from seccenter.cli.report import report_kind
from seccenter.incidents.cases import IncidentError
from seccenter.privacy.breach import BreachError
from seccenter.report.incident_documents import breach_document, incident_document
from seccenter.report.render import Document

_INCIDENT = click.argument("incident_id", type=int)


@report_kind("breach", formats=("md", "html", "json"), options=(zone_option, _INCIDENT))
def breach_report(app: AppContext, incident_id: int, zone) -> Document:
    """Art. 33 notification draft (content of Art. 33(3)(a)-(d), times, reasons for delay) and Art. 34(2)
    communication draft for an assessed incident; what the tool cannot know is marked to be completed.

    Example: seccenter report breach 3 --format html --lang de -o meldung.html
    """
    try:
        return breach_document(app.db(), incident_id, zone)
    except (BreachError, IncidentError) as error:
        raise ValueError(str(error)) from None


@report_kind("incident", formats=("md", "html", "json"), options=(zone_option, _INCIDENT))
def incident_report(app: AppContext, incident_id: int, zone) -> Document:
    """The incident report: fields, deadlines, breach assessment, evidence (re-hashed) and the timeline.

    Example: seccenter report incident 3 --format md --lang en -o incident-3.md
    """
    try:
        return incident_document(app.db(), app.db_path, incident_id, zone)
    except IncidentError as error:
        raise ValueError(str(error)) from None
