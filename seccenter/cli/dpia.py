"""``seccenter dpia``: screening for, and records of, data protection impact assessments (Art. 35)."""

from __future__ import annotations

from pathlib import Path

import click
from sqlite_utils import Database

from seccenter.cli.context import AppContext
from seccenter.cli.options import json_option
from seccenter.cli.ropa import fail, register_db, warn
from seccenter.privacy.dpia import CRITERIA, new_dpia, read_content_yaml, screen
from seccenter.privacy.records import RegisterError
from seccenter.privacy.ropa import ProcessingActivity
from seccenter.report.register_view import dpia_view, screening_view
from seccenter.report.terminal import json_text, make_console, visible
from seccenter.store import dpia as store
from seccenter.store.ropa import get_activity


def _activity(db: Database, ident: str) -> ProcessingActivity:
    activity = get_activity(db, ident)
    if activity is None:
        raise click.ClickException(f"no processing activity {visible(ident)!r} (see seccenter ropa list)")
    return activity


def _criteria(text: str | None) -> list[str]:
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    unknown = [name for name in names if name not in CRITERIA]
    if unknown:
        raise click.BadParameter(f"unknown criteria {', '.join(map(repr, unknown))}; known: {', '.join(CRITERIA)}",
                                 param_hint="--criteria")
    return names


criteria_option = click.option("--criteria", help="WP248 criteria that apply beyond what the record shows, "
                                                  f"comma-separated: {', '.join(CRITERIA)}.")


@click.group("dpia")
def group() -> None:
    """Data protection impact assessment (Art. 35 GDPR): screen, create, show."""


@group.command("screen")
@click.argument("activity")
@criteria_option
@json_option
@click.pass_obj
def screen_command(app: AppContext, activity: str, criteria: str | None, as_json: bool) -> None:
    """Does this processing activity need a DPIA? Checked against the nine WP248 criteria (two or more: yes),
    Art. 35(3) and the DSK list (Art. 35(4)), with the reasons.

    Example: seccenter dpia screen VT-004 --criteria systematic_monitoring
    """
    given = _criteria(criteria)
    record = _activity(register_db(app), activity)
    screening = screen(record, given)
    if as_json:
        click.echo(json_text(screening.to_dict()))
    else:
        make_console().print(screening_view(screening, record.name))


@group.command("create")
@click.argument("activity")
@click.option("--from", "source", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="YAML with the assessment: description, necessity_proportionality, risks, measures, dpo_opinion.")
@criteria_option
@click.pass_obj
def create(app: AppContext, activity: str, source: Path | None, criteria: str | None) -> None:
    """Record a DPIA for a processing activity; without --from, a draft to complete with the three feared events.

    Example: seccenter dpia create VT-004 --from examples/dpia-cctv-depot.yaml
    """
    given = _criteria(criteria)
    db = register_db(app)
    record = _activity(db, activity)
    content = None
    if source is not None:
        try:
            content, warnings = read_content_yaml(source.read_text(encoding="utf-8"), str(source))
        except (OSError, UnicodeDecodeError) as error:
            raise click.ClickException(f"cannot read {source}: {error}") from None
        except RegisterError as error:
            raise fail(error) from None
        warn(warnings)
    dpia = store.create_dpia(db, lambda ident: new_dpia(ident, record, content, given))
    click.echo(f"created {dpia.id} for {visible(record.id)}"
               + ("; prior consultation of the supervisory authority required (Art. 36)"
                  if dpia.prior_consultation else ""))


@group.command("show")
@click.argument("ident")
@json_option
@click.pass_obj
def show(app: AppContext, ident: str, as_json: bool) -> None:
    """Show a DPIA: risks before and after the measures, and whether Art. 36 consultation is needed.

    Example: seccenter dpia show DPIA-0001 --json
    """
    db = register_db(app)
    dpia = store.get_dpia(db, ident)
    if dpia is None:
        raise click.ClickException(f"no DPIA {visible(ident)!r}")
    if as_json:
        click.echo(json_text(dpia.to_dict()))
        return
    activity = get_activity(db, dpia.activity)
    make_console().print(dpia_view(dpia, activity.name if activity else ""))
