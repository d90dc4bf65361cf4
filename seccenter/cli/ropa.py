"""``seccenter ropa``: the register of processing activities (Art. 30)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlite_utils import Database

from seccenter.cli.context import AppContext
from seccenter.cli.options import json_option
from seccenter.privacy.records import Problem, Problems, RegisterError, Source, read_record
from seccenter.privacy.register_io import FORMATS, dump, format_of, parse_register, read_register
from seccenter.privacy.ropa import ACTIVITY_FIELDS, Loaded, ProcessingActivity, read_one_activity
from seccenter.privacy.validate import failed_records, validate_register
from seccenter.report.output import OutputError, write_private
from seccenter.report.register_view import activities_table, findings_table, record_view
from seccenter.report.terminal import json_text, make_console, visible
from seccenter.resources import examples
from seccenter.store import ropa as store
from seccenter.store.alerts import list_alerts
from seccenter.store.assets import asset_ids


def register_db(app: AppContext) -> Database:
    """The store, with seccenter's own processing activity in the register (created on first use)."""
    db = app.db()
    store.ensure_monitoring_record(db)
    return db


def warn(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(f"warning: {visible(str(problem), limit=None)}", err=True)


def fail(error: RegisterError) -> click.ClickException:
    warn(error.warnings)
    return click.ClickException(visible(str(error), limit=None))


def as_of_option(command: Any) -> Any:
    return click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
                         help="Judge review dates as of this day (default: today).")(command)


def load_file(path: Path, fmt: str | None) -> Loaded:
    try:
        if str(path) == "-":
            return parse_register(sys.stdin.buffer.read(), "<stdin>", fmt or "yaml")
        return read_register(path, fmt)
    except RegisterError as error:
        raise fail(error) from None


@click.group("ropa")
def group() -> None:
    """The register of processing activities (Art. 30 GDPR): add, list, show, import, export, validate."""


@group.command("add")
@click.option("--from", "source", type=click.Path(dir_okay=False, path_type=Path),
              help="A YAML or JSON file with one processing activity (the register's key names).")
@click.option("--id", "ident", help="Identifier, e.g. VT-012.")
@click.option("--name")
@click.option("--controller", help="Controller's name.")
@click.option("--controller-contact")
@click.option("--dpo", help="Data protection officer's name.")
@click.option("--dpo-contact")
@click.option("--purpose", "purposes", multiple=True)
@click.option("--legal-basis", "legal_basis", multiple=True, help="e.g. 'Art. 6(1)(e) with § 3 BDSG'.")
@click.option("--data-subject", "data_subjects", multiple=True)
@click.option("--data-subjects-count", type=click.IntRange(min=0))
@click.option("--data-category", "data_categories", multiple=True)
@click.option("--special-category", "special_categories", multiple=True, help="e.g. health (Art. 9(1)).")
@click.option("--recipient", "recipients", multiple=True)
@click.option("--retention")
@click.option("--system", "systems", multiple=True, help="Asset id of a system the activity runs on.")
@click.option("--status")
@click.option("--last-reviewed", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--replace", is_flag=True, help="Replace an activity with the same id.")
@click.pass_obj
def add(app: AppContext, source: Path | None, ident: str | None, replace: bool, **values: Any) -> None:
    """Add a processing activity, from options or from a file.

    Example: seccenter ropa add --id VT-012 --name "Dog licences" --purpose "Dog tax" --legal-basis "Art. 6(1)(e)
    with the municipal tax act" --data-subject "Dog owners" --data-category "Name, address" --retention "5 years"
    """
    given = {key: value for key, value in values.items() if value not in (None, ())}
    if source is not None:
        if ident or given:
            raise click.UsageError("--from takes the whole activity from the file; give no other field options")
        try:
            text = sys.stdin.read() if str(source) == "-" else source.read_text(encoding="utf-8")
            loaded = read_one_activity(text, str(source))
        except (OSError, UnicodeDecodeError) as error:
            raise click.ClickException(f"cannot read {source}: {error}") from None
        except RegisterError as error:
            raise fail(error) from None
        warn(loaded.warnings)
        activity = loaded.register.processing_activities[0]
    else:
        if not ident:
            raise click.UsageError("give --id (or --from FILE)")
        activity = _from_options(ident, given)
    db = register_db(app)
    if not replace and store.get_activity(db, activity.id) is not None:
        raise click.ClickException(f"{visible(activity.id)} is already in the register (use --replace)")
    store.save_activity(db, activity)
    findings = [f for f in validate_register(store.load_register(db), date.today(), asset_ids(db))
                if f.record == activity.id]
    click.echo(f"added processing activity {visible(activity.id)}"
               + (f"; {len(findings)} findings (seccenter ropa show {visible(activity.id)})" if findings else ""))


def _from_options(ident: str, given: dict[str, Any]) -> ProcessingActivity:
    document: dict[str, Any] = {"id": ident}
    for key, value in given.items():
        if key in ("controller", "dpo"):
            document.setdefault(key, {})["name"] = value
        elif key in ("controller_contact", "dpo_contact"):
            document.setdefault(key.split("_", 1)[0], {})["contact"] = value
        elif key == "last_reviewed":
            document[key] = value.date()
        else:
            document[key] = list(value) if isinstance(value, tuple) else value
    problems = Problems()
    activity = read_record(ProcessingActivity, ACTIVITY_FIELDS, document, Source("options"), ident, problems)
    if activity is None:
        raise click.ClickException("\n".join(visible(str(error), limit=None) for error in problems.errors))
    return activity


@group.command("list")
@json_option
@click.pass_obj
def list_command(app: AppContext, as_json: bool) -> None:
    """List the processing activities and processor records.

    Example: seccenter ropa list --json
    """
    db = register_db(app)
    activities, processors = store.list_activities(db), store.list_processors(db)
    if as_json:
        click.echo(json_text({"processing_activities": [a.to_dict() for a in activities],
                              "processors": [p.to_dict() for p in processors]}))
    else:
        make_console().print(activities_table(activities, processors))


@group.command("show")
@click.argument("ident")
@json_option
@click.pass_obj
def show(app: AppContext, ident: str, as_json: bool) -> None:
    """Show one processing activity or processor record, with what validation finds in it.

    Example: seccenter ropa show VT-001
    """
    db = register_db(app)
    register = store.load_register(db)
    records = [r for r in (*register.processing_activities, *register.processors) if r.id == ident]
    if not records:
        raise click.ClickException(f"no processing activity or processor record {visible(ident)!r}")
    if as_json:
        click.echo(json_text(records[0].to_dict()))
        return
    findings = [f for f in validate_register(register, date.today(), asset_ids(db)) if f.record == ident]
    make_console().print(record_view(records[0], findings))


@group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: from the file name.")
@json_option
@click.pass_obj
def import_command(app: AppContext, path: Path, fmt: str | None, as_json: bool) -> None:
    """Import a register (YAML, JSON or CSV): records are added or replaced by id, all or nothing.

    Example: seccenter ropa import examples/town-hall-register.yaml
    """
    loaded = load_file(path, fmt)
    warn(loaded.warnings)
    register = loaded.register
    db = register_db(app)
    store.save_register(db, register)
    counts = {"processing_activities": len(register.processing_activities), "processors": len(register.processors),
              "assets": len(register.assets), "warnings": len(loaded.warnings)}
    if as_json:
        click.echo(json.dumps(counts))
    else:
        click.echo(f"imported {counts['processing_activities']} processing activities, {counts['processors']} "
                   f"processor records, {counts['assets']} assets ({counts['warnings']} warnings)")


@group.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: from -o's name, else yaml.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (mode 0600, replaced atomically) instead of stdout.")
@click.pass_obj
def export(app: AppContext, fmt: str | None, output: Path | None) -> None:
    """Export the whole register (activities, processors, assets) in the import's key names.

    Example: seccenter ropa export --format csv -o register.csv
    """
    if fmt is None:
        try:
            fmt = format_of(output) if output else "yaml"
        except RegisterError:
            fmt = "yaml"
    text = dump(store.load_register(register_db(app)), fmt)
    if output is None:
        click.echo(text, nl=False, color=True)  # as it is: off a terminal click would strip ANSI codes from the data
        return
    try:
        write_private(output, text)
    except OutputError as error:
        raise click.ClickException(str(error)) from None


@group.command("validate")
@click.argument("path", required=False, type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Format of PATH (default: from its name).")
@as_of_option
@json_option
@click.pass_obj
def validate(app: AppContext, path: Path | None, fmt: str | None, as_of: Any, as_json: bool) -> None:
    """Check every record against Art. 30 (and Art. 5, 6, 9, 10, 32, 37, 44-49); exit 1 when any fails.

    Checks the stored register, or PATH without importing it.

    Example: seccenter ropa validate --as-of 2026-12-31
    """
    db = register_db(app)
    if path is not None:
        loaded = load_file(path, fmt)
        warn(loaded.warnings)
        register = loaded.register
    else:
        register = store.load_register(db)
    findings = validate_register(register, as_of.date() if as_of else date.today(), asset_ids(db))
    failed = failed_records(findings)
    records = len(register.processing_activities) + len(register.processors)
    if as_json:
        click.echo(json_text({"records": records, "failed": failed,
                              "findings": [finding.to_dict() for finding in findings]}))
    else:
        console = make_console()
        if findings:
            console.print(findings_table(findings))
        console.print(f"{records} records checked, {len(failed)} failed", markup=False)
    if failed:
        sys.exit(1)


def load_sample_register(db: Database) -> str:
    """``seccenter demo``: import the sample register and say what the alerts put at stake."""
    register_path = examples() / "town-hall-register.yaml"
    store.ensure_monitoring_record(db)
    register = read_register(register_path).register
    store.save_register(db, register)
    alerts = store.alerts_with_personal_data(db, list_alerts(db))
    on_assets = [alert for alert in alerts if alert["processing_activities"]]
    activities = {activity["id"]: activity for alert in on_assets for activity in alert["processing_activities"]}
    special = sorted({category for activity in activities.values() for category in activity["special_categories"]})
    return (f"GDPR register ({register_path.name}): {len(register.processing_activities)} processing activities, "
            f"{len(register.assets)} assets; {len(on_assets)} alerts concern systems of {len(activities)} processing "
            f"activities ({', '.join(sorted(activities)) or 'none'})"
            + (f", special categories: {', '.join(special)}" if special else "")
            + "; try `seccenter report ropa --format html -o register.html`.")
