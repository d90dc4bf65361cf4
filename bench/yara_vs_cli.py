#!/usr/bin/env python3
"""Benchmark: how fast does seccenter scan a tree of files with YARA, compared with the yara command line?

What is measured, all in the same run on the same generated tree (``files/`` from ``make_workloads.py --only
files``: about 450 files, 100 MiB at scale 1, text, compressed-looking and random data, every 37th file holding
the EICAR test string):

The rules: the corpus's signature-base files (``../shared/corpus/yara``, 40 files, about 290 rules) plus the
team's ``rules/yara``; ``rules/yara`` alone where the corpus is absent (the output says which). Both contenders
use the same files under the same namespaces (seccenter's: the file's name) and the same externals.

(a) yara CLI    ``yara -C RULES.yarc -r -p THREADS files/ > stdout``, the rules compiled once beforehand with
                ``yarac`` (Debian package ``yara``) and the externals defined as empty strings, as seccenter
                declares them (the CLI has no per-file externals). Best of ``--repeat``.
(b) seccenter   in-process, a fresh store each run: ``compile_rules`` (which loads the compiled set from its
    first scan  on-disk cache, warmed once before the rounds, as the CLI loads its ``.yarc``), then
                ``pipeline.yara_scan`` with ``--threads`` threads: walk, read, per-file externals, YARA, SHA-256 of
                matching files, events and alerts stored, the scan state of every file stored. Best of
                ``--repeat``.
(c) seccenter   the same call again on the store of (b): every file is unchanged, so it is walked and looked up
    re-scan     and not read. Best of ``--repeat``.
(d) seccenter   ``seccenter --db FRESH yara scan --rules ... files/ --json --threads THREADS`` as a child process,
    CLI         the rules from the same warm cache: (b) plus interpreter start-up and imports, which are shown on
                their own row (``seccenter --version``). Skipped with ``--no-cli``.

The contenders take turns, one run each per round, and the page cache is warmed before the first, so all read
from memory. The figures that matter are the ratios: seccenter's first scan / yara CLI (target: 1.2 or less)
and seccenter's first scan / its unchanged re-scan (target: 10 or more). Compiling the rules (yarac, and
seccenter with its cache off) is timed once and shown apart. MB/s is file bytes / seconds (MB = 10^6 bytes).

Both must report the same (rule, file) matches: the script compares them and exits 1 when they differ.

Nothing is written into the repository: the tree, the compiled rules, the stores and the cache go to ``--out``
(default: a temporary directory, deleted afterwards unless ``--keep``).

Example: python bench/yara_vs_cli.py --scale 0.2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import DEFAULT_WORKLOADS, REPO, BenchError, default_seccenter, generate, run_in_workdir

from seccenter import pipeline
from seccenter.detect.yara_rules import EXTERNALS, compile_rules
from seccenter.detect.yarascan import ScanOptions
from seccenter.resources import yara_rules
from seccenter.store.db import open_db

CORPUS_RULES = REPO.parent / "shared" / "corpus" / "yara"
TARGET_VS_CLI = 1.2
TARGET_RESCAN = 10.0


@dataclass
class Timing:
    """One contender: best seconds over its runs, and the bytes and matches of its last run."""

    name: str
    seconds: float = float("inf")
    bytes: int = 0
    matches: set[tuple[str, str]] = field(default_factory=set)
    runs: int = 0

    @property
    def mb_per_second(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds > 0 else float("nan")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time seccenter's YARA file scan against the yara command line on the same tree and rules.",
        epilog="Figures are ratios measured in the same run; absolute seconds depend on the machine.")
    parser.add_argument("--scale", type=float, default=1.0, help="workload scale (default 1.0: about 100 MiB)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the best counts (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both (yara -p; default 2)")
    parser.add_argument("--rules", type=Path, action="append", metavar="PATH",
                        help="rule file or folder (repeatable; default: corpus signature-base + rules/yara)")
    parser.add_argument("--yara", metavar="CMD", default=shutil.which("yara"), help="yara CLI (default: on PATH)")
    parser.add_argument("--yarac", metavar="CMD", default=shutil.which("yarac"), help="yarac (default: on PATH)")
    parser.add_argument("--seccenter", metavar="CMD", default=default_seccenter(), help="for the CLI row")
    parser.add_argument("--no-cli", action="store_true", help="skip the seccenter CLI row")
    parser.add_argument("--workloads", type=Path, default=DEFAULT_WORKLOADS, metavar="DIR",
                        help="folder holding make_workloads.py")
    parser.add_argument("--out", type=Path, metavar="DIR", help="scratch folder (outside the repository)")
    parser.add_argument("--keep", action="store_true", help="keep the output directory afterwards")
    return parser.parse_args(argv)


def default_rules() -> tuple[list[Path], str]:
    if CORPUS_RULES.is_dir():
        return [CORPUS_RULES, yara_rules()], "corpus signature-base + rules/yara"
    return [yara_rules()], "rules/yara only (the corpus is absent)"


def compile_for_cli(yarac: str, namespaces: dict[str, str], out: Path) -> tuple[Path, float]:
    """The same files under the same namespaces, compiled by yarac with the externals seccenter declares."""
    compiled = out / "rules.yarc"
    defines = [argument for name in EXTERNALS for argument in ("-d", f"{name}=")]
    command = [yarac, *defines, *(f"{namespace}:{path}" for namespace, path in namespaces.items()), str(compiled)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise BenchError(f"yarac failed (exit {result.returncode}):\n{result.stderr.strip()}")
    return compiled, seconds


def run_yara_cli(yara: str, compiled: Path, files: Path, threads: int, timing: Timing) -> None:
    start = time.perf_counter()
    result = subprocess.run([yara, "-C", "-r", "-p", str(threads), str(compiled), str(files)],
                            capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise BenchError(f"yara failed (exit {result.returncode}):\n{result.stderr.strip()}")
    timing.matches = {tuple(line.split(" ", 1)) for line in result.stdout.splitlines() if line}  # type: ignore[misc]
    timing.seconds, timing.runs = min(timing.seconds, seconds), timing.runs + 1


def run_seccenter(rule_paths: list[Path], cache: Path, files: Path, threads: int, db_path: Path, fresh: bool,
                  timing: Timing) -> None:
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    db = open_db(db_path)
    rules = compile_rules(rule_paths, cache)
    summary = pipeline.yara_scan(db, rules, [files], ScanOptions(threads=threads))
    seconds = time.perf_counter() - start
    db.conn.close()
    if not rules.from_cache:
        raise BenchError("the compiled rules did not come from the warm cache")
    if fresh:
        timing.bytes = summary.bytes_scanned
        timing.matches = {(match["rule"], match["path"]) for match in summary.matches}
    elif summary.files_scanned:
        raise BenchError(f"the re-scan read {summary.files_scanned} files; expected none (all unchanged)")
    timing.seconds, timing.runs = min(timing.seconds, seconds), timing.runs + 1


def run_seccenter_cli(command: list[str], timing: Timing, env: dict[str, str], db_path: Path | None) -> None:
    if db_path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise BenchError(f"{' '.join(command[:4])} ... failed (exit {result.returncode}):\n{result.stderr.strip()}")
    timing.seconds, timing.runs = min(timing.seconds, seconds), timing.runs + 1


def warm_page_cache(files: Path) -> int:
    total = 0
    for path in sorted(files.rglob("*")):
        if path.is_file():
            total += len(path.read_bytes())
    return total


def print_report(rows: list[Timing], yara_cli: Timing, first: Timing, rescan: Timing, notes: dict[str, Any]
                 ) -> dict[str, Any]:
    print(f"\n{'contender':<28}{'seconds':>10}{'MB/s':>10}{'x yara':>9}{'runs':>6}")
    for row in rows:
        ratio = row.seconds / yara_cli.seconds
        speed = f"{row.mb_per_second:>10.1f}" if row.bytes else f"{'-':>10}"
        print(f"{row.name:<28}{row.seconds:>10.3f}{speed}{ratio:>9.2f}{row.runs:>6}")
    vs_cli = first.seconds / yara_cli.seconds
    rescan_speedup = first.seconds / rescan.seconds
    print(f"\nseccenter first scan / yara CLI:     {vs_cli:.2f}x the time  (target <= {TARGET_VS_CLI})"
          f"{'' if vs_cli <= TARGET_VS_CLI else '  MISSED'}")
    print(f"seccenter first scan / re-scan:      {rescan_speedup:.1f}x faster re-scan  (target >= {TARGET_RESCAN})"
          f"{'' if rescan_speedup >= TARGET_RESCAN else '  MISSED'}")
    for name, note in notes.items():
        print(f"{name}: {note}")
    return {"rows": {row.name: {"seconds": round(row.seconds, 4), "mb_per_s": round(row.mb_per_second, 1)
                                if row.bytes else None} for row in rows},
            "first_vs_yara_cli": round(vs_cli, 3), "rescan_speedup": round(rescan_speedup, 1), **notes}


def best_of_turns(contenders: dict[str, Callable[[], None]], rounds: int) -> None:
    for _ in range(rounds):
        for run in contenders.values():
            run()


def run(args: argparse.Namespace, out: Path) -> int:
    if not args.yara or not args.yarac:
        raise BenchError("the yara command line (yara and yarac) is not installed: apt-get install yara")
    rule_paths, rules_note = (args.rules, "as given with --rules") if args.rules else default_rules()
    print(f"generating files/ at scale {args.scale} ...", file=sys.stderr)
    generate(args.workloads, out, args.scale, "files", ())
    files = out / "files"
    if not files.is_dir():
        raise BenchError("the generator did not write files/")
    cache = out / "cache"
    start = time.perf_counter()
    cold = compile_rules(rule_paths, cache, use_cache=False)
    seccenter_compile = time.perf_counter() - start
    if cold.rules is None:
        raise BenchError("no rule compiled: " + "; ".join(f"{e.path}:{e.line}: {e.reason}" for e in cold.errors))
    compile_rules(rule_paths, cache)  # warms the cache the timed runs load from
    compiled, yarac_seconds = compile_for_cli(args.yarac, cold.namespaces, out)
    total = warm_page_cache(files)
    notes: dict[str, Any] = {
        "rules": f"{rules_note}: {len(cold.namespaces)} files ({len(cold.errors)} did not compile)",
        "tree": f"{sum(1 for p in files.rglob('*') if p.is_file())} files, {total / 1e6:.1f} MB",
        "compile (once, not in the rows)": f"yarac {yarac_seconds:.2f} s, seccenter without cache "
                                           f"{seccenter_compile:.2f} s",
        "threads": args.threads,
    }
    yara_cli, first, rescan = Timing("yara CLI (-C, -r, -p)"), Timing("seccenter first scan"), \
        Timing("seccenter unchanged re-scan")
    db_path = out / "bench.db"
    contenders: dict[str, Callable[[], None]] = {
        "yara": lambda: run_yara_cli(args.yara, compiled, files, args.threads, yara_cli),
        "first": lambda: run_seccenter(rule_paths, cache, files, args.threads, db_path, True, first),
        "rescan": lambda: run_seccenter(rule_paths, cache, files, args.threads, db_path, False, rescan),
    }
    rows = [yara_cli, first, rescan]
    if not args.no_cli and args.seccenter:
        cli, startup = Timing("seccenter yara scan (CLI)"), Timing("seccenter start-up")
        env = {**os.environ, "XDG_CACHE_HOME": str(out), "SECCENTER_CACHE_DIR": str(cache)}
        cli_db = out / "cli.db"
        command = [args.seccenter, "--db", str(cli_db), "yara", "scan", *(f"--rules={p}" for p in rule_paths),
                   str(files), "--json", "--threads", str(args.threads)]
        contenders["cli"] = lambda: run_seccenter_cli(command, cli, env, cli_db)
        contenders["startup"] = lambda: run_seccenter_cli([args.seccenter, "--version"], startup, env, None)
        rows += [cli, startup]
        cli.bytes = total
    print(f"{len(contenders)} contenders, {args.repeat} rounds ...", file=sys.stderr)
    best_of_turns(contenders, args.repeat)
    yara_cli.bytes = first.bytes
    document = print_report(rows, yara_cli, first, rescan, notes)
    only_yara, only_ours = yara_cli.matches - first.matches, first.matches - yara_cli.matches
    print(f"matches: yara CLI {len(yara_cli.matches)}, seccenter {len(first.matches)}; "
          f"only yara {len(only_yara)}, only seccenter {len(only_ours)}")
    for rule, path in sorted(only_yara | only_ours)[:5]:
        print(f"  differs: {rule} {path}")
    document["matches"] = {"yara_cli": len(yara_cli.matches), "seccenter": len(first.matches),
                           "differ": len(only_yara | only_ours)}
    print(json.dumps(document))
    return 1 if only_yara or only_ours else 0


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
