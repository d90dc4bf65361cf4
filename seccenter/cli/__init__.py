"""The ``seccenter`` command: click groups, one module per noun, each thin (parse → call → render)."""

from __future__ import annotations

from pathlib import Path

import click

from seccenter import __version__
from seccenter.cli import alerts, audit, breach, demo, detect, export, incident, ingest, rules, sniff, triage, yara
from seccenter.cli.asset import group as asset_group
from seccenter.cli.context import AppContext
from seccenter.cli.dpia import group as dpia_group
from seccenter.cli.playbook import command as playbook_group
from seccenter.cli.pseudonym import group as pseudonym_group
from seccenter.cli.purge import command as purge_command
from seccenter.cli.report import group as report_group
from seccenter.cli.report_incident import breach_report, incident_report
from seccenter.cli.ropa import group as ropa_group
from seccenter.cli.scan import command as scan_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seccenter")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=Path("seccenter.db"),
              envvar="SECCENTER_DB", show_default=True, help="SQLite store (env SECCENTER_DB).")
@click.pass_context
def main(ctx: click.Context, db: Path) -> None:
    """seccenter: logs and packets, Sigma detection, GDPR records and incidents for a city's CSC.

    Start with `seccenter demo`.
    """
    ctx.obj = AppContext(db_path=db)


for module in (demo, ingest, detect, rules, alerts, triage, export, sniff, yara, audit, incident, breach):
    main.add_command(module.command)
for group in (ropa_group, asset_group, dpia_group, report_group, playbook_group, pseudonym_group, purge_command):
    main.add_command(group)
for report in (breach_report, incident_report):  # report kinds kept beside their nouns
    report_group.add_command(report)
main.add_command(scan_command)
