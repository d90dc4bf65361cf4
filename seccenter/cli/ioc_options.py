"""``--ioc PATH``: IOC lists for the commands that detect (ingest, detect), loaded with warnings on stderr."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from seccenter.detect.ioc import IocSet
from seccenter.report.terminal import make_console, visible

MAX_WARNINGS = 20


def ioc_option(command: Callable) -> Callable:
    return click.option("--ioc", "ioc_paths", multiple=True, type=click.Path(path_type=Path),
                        help="IOC list or folder of lists in signature-base's formats (hash-*, filename-*, c2-*; "
                             "repeatable): C2 addresses and names are matched in events (ingest, detect), hash and "
                             "file name indicators in files (yara scan).")(command)


def load_iocs(paths: tuple[Path, ...], files: bool = False) -> IocSet | None:
    """The lists of ``--ioc``; lines that did not load are warned about; no indicator at all is a user error.
    ``files``: the command scans files (hash and file name indicators apply), not events (C2 indicators do)."""
    if not paths:
        return None
    iocs = IocSet.load(paths)
    console = make_console(stderr=True)
    for problem in iocs.problems[:MAX_WARNINGS]:
        console.print(f"warning: IOC not loaded: {visible(str(problem), limit=None)}", markup=False, soft_wrap=True)
    if iocs.problem_count > MAX_WARNINGS:
        console.print(f"warning: {iocs.problem_count - MAX_WARNINGS} more IOC lines not loaded", markup=False,
                      soft_wrap=True)
    if not len(iocs):
        raise click.ClickException(f"no indicator could be loaded from {', '.join(map(str, paths))}")
    if files and not (iocs.hashes or iocs.filenames):
        console.print("note: no hash or file name indicators among the lists; C2 indicators apply to events "
                      "(seccenter ingest --ioc), not to files", markup=False, soft_wrap=True)
    elif not files and not len(iocs.c2):
        console.print("note: no C2 indicators among the lists; hash and file name indicators apply to files "
                      "(seccenter yara scan --ioc), not to events", markup=False, soft_wrap=True)
    return iocs
