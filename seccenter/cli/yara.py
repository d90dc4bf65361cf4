from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from seccenter import pipeline
from seccenter.cli.context import AppContext
from seccenter.cli.ioc_options import ioc_option, load_iocs
from seccenter.cli.options import json_option
from seccenter.detect.filewalk import Skipped, WalkOptions
from seccenter.detect.ioc.filecheck import IocFileCheck
from seccenter.detect.yara_rules import CompiledRules, compile_rules
from seccenter.detect.yarascan import (
    DEFAULT_MAX_SIZE,
    DEFAULT_TIMEOUT,
    FileResult,
    ProcessScanError,
    ScanOptions,
    level_of,
)
from seccenter.report.terminal import level_text, make_console, safe, visible
from seccenter.resources import yara_rules

_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
SKIPPED_SHOWN = 20


class SizeType(click.ParamType):
    """A byte count: ``65536``, ``64K``, ``64M``, ``1G`` (powers of 1024)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a size like 65536, 64K, 64M or 1G", param, ctx)
        return int(match.group(1)) * _UNITS[match.group(2).lower()]


def load_yara_rules(paths: Sequence[Path], cache_dir: Path | None, use_cache: bool = True,
                    quiet: bool = False) -> CompiledRules:
    """Compile (or load cached) rules; files that failed are warned about on stderr unless ``quiet`` (``--json``
    lists them), and no loadable rule at all is a user error."""
    compiled = compile_rules(paths, cache_dir, use_cache)
    if not quiet:
        console = make_console(stderr=True)
        for error in compiled.errors:
            console.print(f"warning: YARA rule file not loaded: {visible(str(error), limit=None)}", markup=False,
                          soft_wrap=True)
    if compiled.rules is None:
        raise click.ClickException(f"no YARA rule could be loaded from {', '.join(map(str, paths))}")
    return compiled


def _matches_table(matches: list[dict[str, Any]]) -> Table:
    table = Table(title="YARA matches", expand=True)
    table.add_column("level", no_wrap=True)
    table.add_column("rule", ratio=2, overflow="fold")
    table.add_column("file", ratio=3, overflow="fold")
    table.add_column("first string", ratio=2, overflow="fold")
    table.add_column("sha256", no_wrap=True)
    for match in matches:
        first = match["strings"][0] if match["strings"] else None
        where = f"@{first['offset']} {first['identifier']} {first['data']}" if first else "-"
        table.add_row(level_text(level_of(match["meta"])), safe(f"{match['namespace']}:{match['rule']}", limit=None),
                      safe(match["path"], limit=None), safe(where), (match["sha256"] or "-")[:16])
    return table


def _skipped_table(skipped: list[Skipped]) -> Table:
    table = Table(title=f"Skipped ({len(skipped)})", expand=True)
    table.add_column("path", ratio=3, overflow="fold")
    table.add_column("reason", ratio=2, overflow="fold")
    for item in skipped[:SKIPPED_SHOWN]:
        data = item.to_dict()
        table.add_row(safe(data["path"], limit=None), safe(data["reason"], limit=None))
    if len(skipped) > SKIPPED_SHOWN:
        table.add_row(f"… and {len(skipped) - SKIPPED_SHOWN} more (--json lists all)", "")
    return table


def _render(console: Console, summary: pipeline.FileScanSummary) -> None:
    if summary.matches:
        console.print(_matches_table(summary.matches))
    if summary.skipped:
        console.print(_skipped_table(summary.skipped))
    console.print(
        f"{summary.files_scanned} files scanned ({summary.bytes_scanned / (1 << 20):.1f} MiB), "
        f"{summary.unchanged} unchanged since the last scan, {len(summary.skipped)} skipped, "
        f"{len(summary.matches)} matches ({summary.new_alerts} new alerts), "
        f"{len(summary.rule_errors)} rule files failed; rules "
        f"{'loaded from the cache' if summary.rules_from_cache else 'compiled'}", markup=False)


def _progress_reporter(progress: Progress) -> Callable[[FileResult | Skipped], None]:
    task = progress.add_task("scanning", files=0, mib=0.0, matches=0, skipped=0)
    counts = {"files": 0, "bytes": 0, "matches": 0, "skipped": 0}

    def report(result: FileResult | Skipped) -> None:
        if isinstance(result, Skipped):
            counts["skipped"] += 1
        else:
            counts["files"] += 1
            counts["bytes"] += result.size
            counts["matches"] += len(result.findings)
        progress.update(task, files=counts["files"], mib=counts["bytes"] / (1 << 20), matches=counts["matches"],
                        skipped=counts["skipped"])
    return report


@click.group("yara")
def command() -> None:
    """Scan files and process memory with YARA rules."""


@command.command("scan")
@click.argument("targets", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(path_type=Path),
              help="YARA rule file or folder (repeatable; default: the bundled rules/yara).")
@click.option("--threads", type=click.IntRange(1, 256), default=os.cpu_count() or 2, show_default=True,
              help="Files scanned at once.")
@click.option("--full", is_flag=True, help="Scan files again even when unchanged since their last scan.")
@click.option("--max-size", type=SizeType(), default=DEFAULT_MAX_SIZE, show_default="64M",
              help="Larger files are skipped (listed with the reason).")
@click.option("--timeout", type=click.IntRange(1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds YARA may spend on one file.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files and folders whose name or path matches (repeatable), e.g. '*.iso' or '/proc'.")
@click.option("--one-filesystem", is_flag=True, help="Do not enter folders on another file system.")
@click.option("--follow-symlinks", is_flag=True, help="Follow symbolic links that stay inside the scanned tree.")
@click.option("--pid", type=click.IntRange(1), help="Also scan this process's memory (needs root/CAP_SYS_PTRACE).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar="SECCENTER_CACHE_DIR",
              help="Where compiled rules are cached (env SECCENTER_CACHE_DIR; default $XDG_CACHE_HOME/seccenter).")
@click.option("--no-cache", is_flag=True, help="Compile the rules without reading or writing the cache.")
@ioc_option
@json_option
@click.pass_obj
def scan(app: AppContext, targets: tuple[Path, ...], rule_paths: tuple[Path, ...], threads: int, full: bool,
         max_size: int, timeout: int, exclude: tuple[str, ...], one_filesystem: bool, follow_symlinks: bool,
         pid: int | None, cache_dir: Path | None, no_cache: bool, ioc_paths: tuple[Path, ...], as_json: bool) -> None:
    """Scan files (folders recursively) with YARA rules; matches are stored as alerts (see `seccenter triage`).

    Files unchanged since their last scan with the same rules are skipped (--full scans them again). Devices,
    FIFOs, sockets and symbolic links are skipped with the reason; rule files that do not compile are reported
    with file:line while all others load. Compiled rules are cached, so the next run does not compile again.

    With --ioc, hash and file name indicators (signature-base's hash-iocs.txt, filename-iocs.txt) are checked
    on the same read and alert the same way.

    Example: seccenter yara scan --rules signature-base/yara --ioc signature-base/iocs /srv/share --json
    """
    if not targets and pid is None:
        raise click.UsageError("name at least one file or folder to scan (or --pid)")
    if targets and not any(os.path.lexists(target) for target in targets):
        raise click.ClickException("nothing to scan: " + "; ".join(
            f"{visible(str(target))}: no such file or directory" for target in targets))
    rules = load_yara_rules(rule_paths or (yara_rules(),), cache_dir, use_cache=not no_cache, quiet=as_json)
    iocs = load_iocs(ioc_paths, files=True)
    checks = [check] if iocs is not None and (check := IocFileCheck(iocs)) else []
    db = app.db()
    options = ScanOptions(threads=threads, max_size=max_size, timeout=timeout)
    walk_options = WalkOptions(tuple(exclude), one_filesystem, follow_symlinks, max_size)
    console = make_console()
    summary = pipeline.FileScanSummary(rule_errors=list(rules.errors), rules_from_cache=rules.from_cache)
    if targets:
        status = make_console(stderr=True)
        if status.is_terminal and not as_json:
            with Progress(SpinnerColumn(), TextColumn(
                    "{task.fields[files]} files, {task.fields[mib]:.1f} MiB, {task.fields[matches]} matches, "
                    "{task.fields[skipped]} skipped"), console=status, transient=True) as progress:
                summary = pipeline.yara_scan(db, rules, targets, options, walk_options, checks, full=full,
                                             progress=_progress_reporter(progress))
        else:
            summary = pipeline.yara_scan(db, rules, targets, options, walk_options, checks, full=full)
    if pid is not None:
        try:
            memory = pipeline.yara_scan_pid(db, rules, pid, timeout)
        except ProcessScanError as error:
            raise click.ClickException(str(error)) from None
        summary.matches.extend(memory.matches)
        summary.new_alerts += memory.new_alerts
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        _render(console, summary)
