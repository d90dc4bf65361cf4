#!/usr/bin/env python3
"""Benchmark: how fast does seccenter read auth.log + access.log, compared with a bare regex parse?

What is measured, all in the same run on the same generated files:

(a) ingest     ``seccenter --db <out>/bench.db ingest auth.log access.log --json`` as a subprocess, with the
               bundled rules: parse + timestamp normalisation + auth.log semantics + Sigma detection + SQLite
               store. Wall time of the whole process (interpreter start-up included) and the child's peak RSS,
               taken from the child's own rusage (``os.wait4``), so no other child can inflate it.
(b) bare regex the peer: a plain Python loop over the same two files, one compiled regex per format
               (RFC 3164 header + tag for auth.log, the combined log format for access.log), turning each
               line into a dict of fields with ``groupdict()`` and nothing else. Run in-process, best of
               ``--repeat`` runs.
(c) detect     ``seccenter detect --rules <repo>/rules/sigma auth.log access.log --format jsonl > /dev/null``:
               stateless parse + detect, nothing stored.

Why the peer is fair: any Python tool that turns these logs into fields must at least open the files, decode
and split the lines and run one regex per line to find the fields. That is all the peer does, so it is a
floor, not a competitor: the ratios ``ingest / bare-regex`` and ``detect / bare-regex`` say how many times the
minimum seccenter spends to also normalise timestamps, interpret auth messages, match the Sigma rules and (for
ingest) store events and alerts. The comparison leans towards the peer: it gets the best of several warm
in-process runs, while the seccenter commands run once each and pay for interpreter start-up and imports
(shown on its own row, ``seccenter --version``). Figures are only comparable as ratios within one run, on
one machine; absolute seconds depend on the machine.

Nothing is written into the repository: workloads, database and outputs go to ``--out`` (default: a temporary
directory, deleted afterwards unless ``--keep``).

Example: python bench/ingest_logs.py --scale 0.2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import (
    DEFAULT_WORKLOADS,
    GENERATOR,
    REPO,
    BenchError,
    check_run_args,
    default_seccenter,
    generate,
    run_in_workdir,
)

LOG_FILES = ("auth.log", "access.log")
DB_NAME = "bench.db"

# RFC 3164 header + tag: "Nov  1 00:00:00 srv03 sshd[1234]: message".
AUTH_LINE = re.compile(
    r"^(?P<timestamp>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d)"
    r" (?P<host>\S+) (?P<program>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: ?(?P<message>.*)$"
)
# Combined log format: client ident user [time] "request" status size "referer" "user agent".
ACCESS_LINE = re.compile(
    r"^(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\]"
    r' "(?P<method>[A-Za-z]+) (?P<target>\S+)(?: (?P<protocol>[^"]*))?"'
    r' (?P<status>\d{3}|-) (?P<size>\d+|-) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)"$'
)
PEER_PATTERNS = {"auth.log": AUTH_LINE, "access.log": ACCESS_LINE}


@dataclass
class Timing:
    """One measured contender."""

    name: str
    seconds: float
    lines: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class ChildRun:
    """A finished subprocess: exit code, wall time, peak RSS (MiB), and where its output went."""

    returncode: int
    seconds: float
    peak_rss_mb: float
    stdout: Path | None
    stderr: Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time seccenter ingest and detect against a bare regex parse of the same auth/access "
                    "logs.",
        epilog="Figures are ratios measured in the same run; absolute seconds depend on the machine.",
    )
    parser.add_argument("--scale", type=float, default=1.0,
                        help="workload scale for make_workloads.py (1.0 = 500k auth + 300k access lines)")
    parser.add_argument("--workloads", type=Path, default=DEFAULT_WORKLOADS, metavar="DIR",
                        help=f"folder holding {GENERATOR} (default: <repo>/../shared/bench)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write logs, database and outputs (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the output directory afterwards")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the bare regex peer; the best counts")
    parser.add_argument("--seccenter", metavar="CMD", default=default_seccenter(),
                        help="seccenter executable (default: the one next to this Python, else on PATH)")
    args = parser.parse_args(argv)
    check_run_args(parser, args, need_seccenter=True)
    return args


def max_rss_mb(rusage: Any) -> float:
    """ru_maxrss is in KiB on Linux and in bytes on macOS."""
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return rusage.ru_maxrss / divisor


def run_child(command: list[str], cwd: Path, label: str, keep_stdout: bool) -> ChildRun:
    """Run a command, timing it and reading its own rusage with os.wait4 (exact per-child peak RSS)."""
    stdout_path = cwd / f"{label}.stdout" if keep_stdout else None
    stderr_path = cwd / f"{label}.stderr"
    with open(stderr_path, "wb") as err, open(stdout_path or os.devnull, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, status, rusage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen not to wait again
    return ChildRun(proc.returncode, seconds, max_rss_mb(rusage), stdout_path, stderr_path)


def child_failure(label: str, run: ChildRun) -> str:
    text = run.stderr.read_text(errors="replace").strip()
    if not text and run.stdout is not None:
        text = run.stdout.read_text(errors="replace").strip()
    return f"{label} failed (exit {run.returncode}):\n{text or '(no output)'}"


def bare_parse_once(paths: list[Path]) -> tuple[int, int]:
    """The peer: decode, split and regex each line into a dict. Returns (lines, lines that did not match)."""
    lines = unmatched = 0
    for path in paths:
        match = PEER_PATTERNS[path.name].match
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                lines += 1
                found = match(line.rstrip("\r\n"))
                if found is None:
                    unmatched += 1
                    continue
                found.groupdict()  # the fields; a real tool would now hand them on
    return lines, unmatched


def time_bare_regex(paths: list[Path], repeat: int) -> Timing:
    best = float("inf")
    lines = unmatched = 0
    for _ in range(repeat):
        start = time.perf_counter()
        lines, unmatched = bare_parse_once(paths)
        best = min(best, time.perf_counter() - start)
    return Timing("bare regex", best, lines, {"unmatched": unmatched, "runs": repeat})


def time_startup(seccenter: str, out: Path, repeat: int) -> Timing:
    best = float("inf")
    for _ in range(repeat):
        run = run_child([seccenter, "--version"], out, "version", keep_stdout=False)
        if run.returncode != 0:
            raise BenchError(child_failure("seccenter --version", run))
        best = min(best, run.seconds)
    return Timing("startup", best, 0)


def time_ingest(seccenter: str, out: Path, lines: int) -> tuple[Timing | None, str | None]:
    db = out / DB_NAME
    for leftover in (db, out / f"{DB_NAME}-wal", out / f"{DB_NAME}-shm"):
        leftover.unlink(missing_ok=True)  # a previous run's store would make this ingest incremental
    command = [seccenter, "--db", str(db), "ingest", *LOG_FILES, "--json"]
    run = run_child(command, out, "ingest", keep_stdout=True)
    if run.returncode != 0:
        return None, child_failure("seccenter ingest", run)
    assert run.stdout is not None
    try:
        summary = json.loads(run.stdout.read_text())
        extra = {key: summary[key] for key in ("new_events", "alerts", "malformed")}
    except (ValueError, KeyError, TypeError) as error:
        printed = run.stdout.read_text(errors="replace")[:2000]
        return None, f"seccenter ingest printed no usable JSON summary ({error}):\n{printed}"
    extra["peak_rss_mb"] = round(run.peak_rss_mb, 1)
    return Timing("ingest", run.seconds, lines, extra), None


def time_detect(seccenter: str, out: Path, lines: int) -> tuple[Timing | None, str | None]:
    command = [seccenter, "detect", "--rules", str(REPO / "rules" / "sigma"), *LOG_FILES, "--format", "jsonl"]
    run = run_child(command, out, "detect", keep_stdout=False)
    if run.returncode != 0:
        return None, child_failure("seccenter detect", run)
    return Timing("detect", run.seconds, lines, {"peak_rss_mb": round(run.peak_rss_mb, 1)}), None


def ratio(timing: Timing | None, peer: Timing) -> float | None:
    return timing.seconds / peer.seconds if timing is not None and peer.seconds > 0 else None


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(peer: Timing, ingest: Timing | None, detect: Timing | None, startup: Timing) -> None:
    rows = [
        (f"bare regex (best of {peer.extra['runs']})", peer),
        ("seccenter ingest", ingest),
        ("seccenter detect", detect),
    ]
    print(f"{'contender':<26} {'lines':>10} {'seconds':>9} {'lines/s':>11} {'x bare':>7}")
    for label, timing in rows:
        if timing is None:
            print(f"{label:<26} {'failed':>10}")
            continue
        print(f"{label:<26} {timing.lines:>10,} {timing.seconds:>9.2f} {timing.lines_per_second:>11,.0f} "
              f"{fmt(ratio(timing, peer), '.1f'):>7}")
    print(f"{'seccenter --version':<26} {'':>10} {startup.seconds:>9.2f}   "
          "(start-up, included in the two rows above)")
    print()
    print(f"ratio ingest / bare-regex: {fmt(ratio(ingest, peer), '.2f')}")
    print(f"ratio detect / bare-regex: {fmt(ratio(detect, peer), '.2f')}")
    if ingest is not None:
        extra = ingest.extra
        print(f"ingest peak RSS: {extra['peak_rss_mb']:.1f} MB; new events: {extra['new_events']:,}; "
              f"alerts: {extra['alerts']:,}; malformed: {extra['malformed']:,}")
        if extra["new_events"] + extra["malformed"] != ingest.lines:
            print(f"warning: ingest accounted for {extra['new_events'] + extra['malformed']:,} lines "
                  f"(new events + malformed), the files hold {ingest.lines:,}")
    if peer.extra["unmatched"]:
        print(f"warning: the bare regex did not match {peer.extra['unmatched']:,} lines")


def summary_json(args: argparse.Namespace, peer: Timing, ingest: Timing | None, detect: Timing | None,
                 startup: Timing) -> str:
    def figures(timing: Timing | None) -> dict[str, Any] | None:
        if timing is None:
            return None
        return {"seconds": round(timing.seconds, 3), "lines_per_s": round(timing.lines_per_second),
                **timing.extra}

    ingest_ratio, detect_ratio = ratio(ingest, peer), ratio(detect, peer)
    document = {
        "benchmark": "ingest_logs", "scale": args.scale, "lines": peer.lines,
        "bare_regex": figures(peer), "ingest": figures(ingest), "detect": figures(detect),
        "startup_seconds": round(startup.seconds, 3),
        "ratio_ingest_bare": None if ingest_ratio is None else round(ingest_ratio, 2),
        "ratio_detect_bare": None if detect_ratio is None else round(detect_ratio, 2),
        "python": sys.version.split()[0],
    }
    return json.dumps(document, sort_keys=False)


def run(args: argparse.Namespace, out: Path) -> int:
    print(f"generating auth.log + access.log at scale {args.scale} in {out} ...", file=sys.stderr)
    generate(args.workloads, out, args.scale, "auth,access", LOG_FILES)
    paths = [out / name for name in LOG_FILES]
    print(f"bare regex parse, best of {args.repeat} ...", file=sys.stderr)
    peer = time_bare_regex(paths, args.repeat)
    startup = time_startup(args.seccenter, out, args.repeat)
    print("seccenter ingest ...", file=sys.stderr)
    ingest, ingest_error = time_ingest(args.seccenter, out, peer.lines)
    print("seccenter detect ...", file=sys.stderr)
    detect, detect_error = time_detect(args.seccenter, out, peer.lines)
    print_table(peer, ingest, detect, startup)
    print(summary_json(args, peer, ingest, detect, startup))
    for error in (ingest_error, detect_error):
        if error:
            print(f"\nerror: {error}", file=sys.stderr)
    return 1 if ingest_error or detect_error else 0


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
