"""``seccenter playbook``: list, check, start, step, show, export and import incident playbooks."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml

from seccenter.cli.context import AppContext
from seccenter.cli.incident import zone_option
from seccenter.cli.options import json_option
from seccenter.incidents.audit import current_actor
from seccenter.playbooks import cacao, runner
from seccenter.playbooks.library import DIRECTORY_VARIABLE, Library, default_directory, load_library
from seccenter.playbooks.model import PlaybookError
from seccenter.playbooks.runner import RunnerError
from seccenter.report.i18n import LANGUAGES
from seccenter.report.output import OutputError, write_private
from seccenter.report.playbook_view import runs_view
from seccenter.report.terminal import json_text, make_console, visible


def _fail(error: Exception | str) -> click.ClickException:
    return click.ClickException(visible(str(error), limit=None))


def _echo_json(document: Any) -> None:
    click.echo(json_text(document))


def directory_option(command: Callable) -> Callable:
    return click.option("--dir", "directory", type=click.Path(exists=True, path_type=Path), envvar=DIRECTORY_VARIABLE,
                        help=f"Folder of playbooks (env {DIRECTORY_VARIABLE}; default: the bundled playbooks/).")(
        command)


def lang_option(command: Callable) -> Callable:
    return click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
                        help="Language of titles.")(command)


def _library(directory: Path | None, warn: bool = False) -> Library:
    library = load_library([directory or default_directory()])
    if warn and library.problems:
        console = make_console(stderr=True)
        for problem in library.problems:
            console.print(f"warning: playbook not loaded: {visible(str(problem), limit=None)}", markup=False)
    return library


def _write(output: Path | None, text: str) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_private(output, text)
    except OutputError as error:
        raise _fail(error) from None
    click.echo(f"wrote {visible(str(output))}", err=True)


@click.group("playbook")
def command() -> None:
    """Incident playbooks: the same response every time, with its legal deadlines, and proof that it was done."""


@command.command("list")
@directory_option
@lang_option
@json_option
def list_command(directory: Path | None, lang: str, as_json: bool) -> None:
    """The playbooks that can be started (broken ones are warned about on stderr).

    Example: seccenter playbook list --lang de
    """
    library = _library(directory, warn=True)
    rows = [{"id": playbook.id, "title": playbook.title.get(lang), "steps": len(playbook.steps)}
            for playbook in sorted(library.playbooks.values(), key=lambda item: item.id)]
    if as_json:
        _echo_json(rows)
        return
    for row in rows:
        click.echo(f"{row['id']:<32} {row['steps']:>3} steps  {visible(row['title'])}")


@command.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@json_option
def check_command(paths: tuple[Path, ...], as_json: bool) -> None:
    """Check playbook files or folders (default: the playbook folder); exits 1 on any problem, each with file:line.

    Example: seccenter playbook check playbooks/
    """
    library = load_library(list(paths) or [default_directory()])
    if as_json:
        _echo_json({"loaded": sorted(library.playbooks), "problems": [item.to_dict() for item in library.problems]})
    else:
        for problem in library.problems:
            click.echo(visible(str(problem), limit=None))
        click.echo(f"{len(library.playbooks)} playbooks loaded, {len(library.problems)} problems")
    if library.problems:
        raise SystemExit(1)


@command.command("start")
@click.argument("incident_id", type=int)
@click.argument("playbook_id")
@directory_option
@json_option
@click.pass_obj
def start_command(app: AppContext, incident_id: int, playbook_id: str, directory: Path | None,
                  as_json: bool) -> None:
    """Start a playbook on an incident; the playbook is kept with the case as it is now.

    Example: seccenter playbook start 3 personal-data-breach
    """
    try:
        view = runner.start(app.db(), _library(directory), incident_id, playbook_id, current_actor())
    except RunnerError as error:
        raise _fail(error) from None
    if as_json:
        _echo_json({"run": view.run["id"], "playbook": view.playbook.id, "counts": view.counts()})
        return
    click.echo(f"playbook {view.playbook.id} started on incident {incident_id}: {view.progress()}")
    nxt = [node.path for node in view.all_nodes() if node.status == "open"]
    if nxt:
        click.echo(f"next: {', '.join(nxt)} (seccenter playbook show {incident_id})")


@command.command("show")
@click.argument("incident_id", type=int)
@zone_option
@lang_option
@json_option
@click.pass_obj
def show_command(app: AppContext, incident_id: int, zone, lang: str, as_json: bool) -> None:
    """The playbooks of an incident as trees: done ✓, next ▶, open ○, overdue in red, skipped –, not taken ·.

    Example: seccenter playbook show 3 --timezone Europe/Berlin
    """
    try:
        views = runner.views(app.db(), incident_id)
    except RunnerError as error:
        raise _fail(error) from None
    if as_json:
        _echo_json([view.to_dict(lang, zone) for view in views])
    elif not views:
        click.echo(f"no playbook started on incident {incident_id} (seccenter playbook start {incident_id} PLAYBOOK)")
    else:
        make_console().print(runs_view(views, lang, zone))


@command.command("step")
@click.argument("incident_id", type=int)
@click.argument("step")
@click.option("--done", "action", flag_value="done", help="The step is done (a decision needs --answer).")
@click.option("--skip", "action", flag_value="skip", help="Leave the step (and anything it opens) out.")
@click.option("--run", "action", flag_value="run", help="Run a command step now (no shell); done if it succeeds.")
@click.option("--answer", help="Answer of a decision: yes or no (ja/nein).")
@click.option("--note", help="Why, or what was done; kept in the timeline.")
@click.option("--playbook", "playbook_id", help="The playbook, when the incident has several with this step.")
@json_option
@click.pass_obj
def step_command(app: AppContext, incident_id: int, step: str, action: str | None, answer: str | None,
                 note: str | None, playbook_id: str | None, as_json: bool) -> None:
    """Mark a step done or skipped, answer a decision, or run a command step.

    Example: seccenter playbook step 3 risk-to-persons --done --answer yes --note "health data of 40 people"
    """
    if action is None:
        raise click.UsageError("say what happened: --done, --skip or --run")
    environment = {**os.environ, "SECCENTER_DB": str(app.db_path.resolve())}  # seccenter commands act on this case
    try:
        outcome = runner.work(app.db(), incident_id, step, current_actor(), action, answer, note, playbook_id,
                              environment=environment)
    except RunnerError as error:
        raise _fail(error) from None
    result = outcome.command
    if as_json:
        _echo_json({"step": outcome.node.path, "status": outcome.node.status, "counts": outcome.view.counts(),
                    "command": {"argv": list(result.argv), "exit_code": result.exit_code, "output": result.output,
                                "error": result.error} if result else None})
    else:
        if result is not None:
            click.echo(result.output, nl=not result.output.endswith("\n"))
        click.echo(f"step {outcome.node.path}: {outcome.node.status}; {outcome.view.progress()}")
    if result is not None and not result.succeeded:
        raise _fail(RunnerError(f"step {outcome.node.path}: the command failed ({result.summary()}); the step stays "
                                "open"))


@command.command("export")
@click.argument("playbook_id")
@click.option("--format", "fmt", type=click.Choice(["cacao"]), required=True, help="cacao: CACAO 2.0 JSON.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@directory_option
def export_command(playbook_id: str, fmt: str, output: Path | None, directory: Path | None) -> None:
    """Export a playbook as CACAO 2.0 JSON (the same playbook always gives the same bytes).

    Example: seccenter playbook export --format cacao ransomware -o ransomware.cacao.json
    """
    try:
        playbook = _library(directory).get(playbook_id)
    except PlaybookError as error:
        raise _fail(error.problems[0].message) from None
    _write(output, cacao.dumps(cacao.export_cacao(playbook)))


@command.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the playbook YAML to this file (put it in the playbook folder to use it).")
def import_command(path: Path, output: Path | None) -> None:
    """Read a CACAO 2.0 JSON playbook and write it as playbook YAML.

    Example: seccenter playbook import ransomware.cacao.json -o playbooks/ransomware-shared.yaml
    """
    try:
        document = cacao.parse_json(path.read_bytes(), str(path))
        playbook = cacao.import_cacao(document, str(path))
    except (cacao.CacaoError, PlaybookError) as error:
        raise _fail(error) from None
    except OSError as error:
        raise _fail(f"cannot read {path}: {error.strerror or error}") from None
    _write(output, yaml.safe_dump(playbook.to_document(), sort_keys=False, allow_unicode=True, width=100))
