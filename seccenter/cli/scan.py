"""``seccenter scan --config FILE``: the scheduled job (parse → lock → run → render → exit code)."""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click
from click.core import ParameterSource
from rich.table import Table

from seccenter.cli.context import AppContext, read_placeholders
from seccenter.cli.options import json_option
from seccenter.config import ConfigError, load_config
from seccenter.notify.webhook import cleartext_warning
from seccenter.report.terminal import json_text, make_console, safe, visible
from seccenter.scan import ScanError, ScanSummary, run_scan, scan_lock
from seccenter.store.db import StoreError, open_db

EXIT_ERROR = 2


def _fail(ctx: click.Context, *messages: str) -> NoReturn:
    for message in messages:
        click.echo(f"Error: {visible(message, limit=None)}", err=True)
    ctx.exit(EXIT_ERROR)


def _database(ctx: click.Context, app: AppContext, configured: Path | None) -> Path:
    """``--db`` or ``SECCENTER_DB`` when given, else the config's ``database``, else the default."""
    given = ctx.find_root().get_parameter_source("db") in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    return app.db_path if given or configured is None else configured


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (systemd stopping the unit, its timeout) ends the run like Ctrl-C: recorded as interrupted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def summary_table(summary: ScanSummary) -> Table:
    table = Table(title=f"Scan {summary.run_id}", expand=True)
    table.add_column("source", ratio=3, overflow="fold")
    table.add_column("kind", no_wrap=True)
    for name in ("files", "events", "new", "malformed", "alerts"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("note", ratio=2, overflow="fold")
    for source in summary.sources:
        note = source.error or source.note or ""
        table.add_row(safe(source.name), source.kind, str(source.files), str(source.events), str(source.new),
                      str(source.malformed), str(source.alerts),
                      safe(note, style="red" if source.failed else "yellow" if source.error else "", limit=300))
    return table


def _render(summary: ScanSummary) -> None:
    console = make_console()
    console.print(summary_table(summary))
    levels = ", ".join(f"{level} {count}" for level, count in summary.alerts_by_level.items() if count)
    lines = [f"{summary.total('new')} new events, {summary.total('alerts')} new alerts"
             + (f" ({levels})" if levels else "") + f", {summary.total('malformed')} malformed records quarantined",
             f"{summary.new_at_or_above_threshold} new alerts at or above {summary.threshold}"]
    if summary.retention is not None:
        lines.append("retention: " + ", ".join(f"{key} {value}" for key, value in summary.retention.items()))
    if summary.notifications is not None:
        lines.append("notifications: " + ", ".join(f"{key} {len(value) if isinstance(value, list) else value}"
                                                   for key, value in summary.notifications.items()))
    lines.append(f"{summary.duration:.1f} s; exit {summary.exit_code} ({summary.status})")
    for line in lines:
        console.print(line, markup=False, highlight=False)


def _report_problems(summary: ScanSummary, quiet: bool) -> None:
    console = make_console(stderr=True)
    if not quiet:
        for warning in summary.warnings:
            console.print(f"warning: {visible(warning, limit=None)}", markup=False, soft_wrap=True)
    if quiet:
        for source in summary.sources:
            if source.error:
                console.print(f"{source.kind} {visible(source.name)}: {visible(source.error, limit=None)}",
                              markup=False, soft_wrap=True)
    if summary.every_source_failed and summary.error is None:
        console.print("Error: every source failed", markup=False)
    for problem in ((summary.retention or {}).get("error"), (summary.notifications or {}).get("error"),
                    summary.error):
        if problem:
            console.print(f"Error: {visible(problem, limit=None)}", markup=False, soft_wrap=True)


@click.command("scan")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The scan configuration (see contrib/seccenter.yaml).")
@click.option("--quiet", is_flag=True, help="Print nothing but problems (for cron, which mails any output).")
@json_option
@click.pass_context
def command(ctx: click.Context, config_path: Path, quiet: bool, as_json: bool) -> None:
    """The scheduled job: read every configured source once with every rule set, notify about new alerts at or
    above the threshold, apply the retention periods, and store and print a summary of the run.

    Only one scan runs at a time per database: a run that finds another one running (the lock DB.lock beside
    the database is held) exits at once. --db or SECCENTER_DB override the config's database.

    \b
    Exit status:
      0  nothing new at or above the threshold
      1  new alerts at or above the threshold
      2  configuration or runtime error: a bad config (every problem is
         printed with file:line), another scan running, every source
         failed, retention failed, the run interrupted
    A source that fails while others are read is reported in the summary
    and does not make the exit status 2.

    Example: seccenter scan --config /etc/seccenter/seccenter.yaml --quiet
    """
    app: AppContext = ctx.obj
    try:
        config = load_config(config_path)
    except ConfigError as error:
        _fail(ctx, *map(str, error.problems))
    try:
        placeholders = read_placeholders(config.rules.placeholders)
    except click.ClickException as error:
        _fail(ctx, error.message)
    if config.notifications.webhook is not None and (warning := cleartext_warning(config.notifications.webhook)):
        click.echo(f"warning: {visible(warning, limit=None)}", err=True)
    db_path = _database(ctx, app, config.database)
    try:
        with scan_lock(db_path), _terminate_as_interrupt():
            summary = run_scan(config, open_db(db_path), database=db_path, placeholders=placeholders)
    except (ScanError, StoreError) as error:
        _fail(ctx, str(error))
    except KeyboardInterrupt:
        _fail(ctx, "interrupted")
    except Exception as error:  # exit 1 would read as "alerts found": any failure of the run is 2
        traceback.print_exc()
        _fail(ctx, f"{type(error).__name__}: {error}")
    if as_json:
        click.echo(json_text(summary.to_dict()))
    elif not quiet:
        _render(summary)
    _report_problems(summary, quiet)
    ctx.exit(summary.exit_code)
