"""What every benchmark script shares: its error type, its scratch folder, and the main() around a run.

The scripts run as ``python bench/NAME.py``, so this module is importable beside them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKLOADS = REPO.parent / "shared" / "bench"
GENERATOR = "make_workloads.py"


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def default_seccenter() -> str | None:
    """The ``seccenter`` beside the running Python (its venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "seccenter"
    return str(beside) if beside.exists() else shutil.which("seccenter")


def check_run_args(parser: argparse.ArgumentParser, args: argparse.Namespace, need_seccenter: bool = False) -> None:
    """The checks every script makes of ``--scale``, ``--repeat`` and (when it runs the CLI) ``--seccenter``."""
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if need_seccenter and args.seccenter is None:
        parser.error("no seccenter executable found; pass --seccenter")


def generate(workloads: Path, out: Path, scale: float, only: str, expected: tuple[str, ...]) -> None:
    """Run the shared workload generator for ``only`` into ``out``; each of ``expected`` must then exist."""
    script = workloads / GENERATOR
    if not script.is_file():
        raise BenchError(f"workload generator not found: {script}")
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(script), str(out), "--scale", str(scale), "--only", only]
    result = subprocess.run(command, cwd=out, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"{GENERATOR} failed (exit {result.returncode}):\n{result.stderr.strip()}")
    for name in expected:
        if not (out / name).is_file():
            raise BenchError(f"{GENERATOR} did not write {name}")


def prepare_out(out: Path | None) -> Path:
    """A fresh temporary folder, or the one given with --out, which must be outside the repository."""
    if out is None:
        return Path(tempfile.mkdtemp(prefix="seccenter-bench-"))
    if out.resolve().is_relative_to(REPO):
        raise BenchError(f"--out {out} is inside the repository; choose a folder outside {REPO}")
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_in_workdir(args: argparse.Namespace, run: Callable[[argparse.Namespace, Path], int]) -> int:
    """Run in the scratch folder (``args.out`` or a temporary one, removed afterwards unless ``args.keep``);
    exit 2 when the folder is refused, 1 when a step failed."""
    created = args.out is None
    try:
        out = prepare_out(args.out)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return run(args, out)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {out}", file=sys.stderr)
        elif created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            print(f"left {out} in place (it was given with --out)", file=sys.stderr)
