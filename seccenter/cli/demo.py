from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
from click.core import ParameterSource

from seccenter import pipeline
from seccenter.cli.context import AppContext, load_ruleset
from seccenter.cli.ingest import summary_table
from seccenter.cli.ropa import load_sample_register
from seccenter.collect.interface import CollectOptions
from seccenter.privacy.deadlines import DEFAULT_ZONE
from seccenter.report.terminal import make_console
from seccenter.report.triage import build as build_triage
from seccenter.report.triage_view import triage_view
from seccenter.resources import samples, sigma_rules
from seccenter.store.db import open_db

DEMO_YEAR = 2026
"""The bundled samples were written for November 2026; the year keeps their times stable."""


@click.command("demo")
@click.pass_context
def command(ctx: click.Context) -> None:
    """Ingest the bundled sample logs (Linux auth, web access, Windows events), detect with the bundled rules
    and show the triage screen.

    Uses a temporary database unless --db or SECCENTER_DB names one.

    Example: seccenter demo
    """
    app: AppContext = ctx.obj
    explicit_db = ctx.parent is not None and ctx.parent.get_parameter_source("db") in (
        ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seccenter-demo-") as scratch:
        db = app.db() if explicit_db else open_db(Path(scratch) / "demo.db")
        ruleset = load_ruleset([sigma_rules()])
        sources = sorted(path for path in samples().iterdir() if path.suffix in (".log", ".jsonl"))
        summary = pipeline.ingest(db, sources, ruleset, options=CollectOptions(year=DEMO_YEAR))
        console = make_console()
        console.print(summary_table(summary))
        console.print(triage_view(build_triage(db), DEFAULT_ZONE))
        console.print(load_sample_register(db), markup=False)
        db.close()
    console.print(f"demo finished in {time.perf_counter() - started:.1f} s with {len(ruleset.rules)} rules; "
                  "try `seccenter ingest /var/log/auth.log` next.", markup=False)
