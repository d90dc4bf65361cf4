#!/usr/bin/env python3
"""Benchmark: one full ``seccenter scan`` over every shared workload, stage by stage, against the same work done
by the separate commands.

What is measured, all in the same run on the same generated files (``make_workloads.py``, every workload:
auth.log, access.log, events.jsonl, mixed.pcap, files/):

(a) scan       ``seccenter scan --config OUT/seccenter.yaml --json`` as a child process, over a config naming
               the three logs, the capture folder, the file tree as a YARA target and the bundled IOC lists,
               with a retention period (applied after the sources; nothing is old enough to go, so it times
               the look-up) and a webhook on 127.0.0.1 served by this script (one digest of the run's new
               alerts at or above ``high``). Wall time of the process, and the scan's own time per stage
               (``stages`` of its summary: rules, logs, pcaps, yara, retention, notify).
(b) separate   the same sources with the commands an operator would otherwise schedule, into another fresh
    commands   store: ``seccenter ingest`` of the three logs, ``seccenter ingest`` of the capture (each with
               ``--ioc``), ``seccenter yara scan`` of the tree with ``--ioc``. Wall time of each process.

The figure that matters is ``scan / separate``: the scheduled job against the sum of the commands doing the
same work (target: 1.0 or less; the scan starts one interpreter instead of three and loads the rules once).
Each stage is also put beside its command (``stage / command``; the command's time includes its start-up,
shown on its own row as ``seccenter --version``). Both must store the same events and alerts: the script
compares the counts and exits 1 when they differ. Events/s is events read / seconds.

The contenders take turns at going first for ``--repeat`` rounds, each on a fresh store, and the best round of
each counts (the machine may be busy with other work). The YARA rule cache is warmed before both (in
``OUT/cache``) and the files are read once beforehand, so neither pays for compiling or a cold page cache.
Nothing is written into the repository: workloads, stores and outputs go to ``--out`` (default: a temporary
directory, deleted afterwards unless ``--keep``).

Example: python bench/scan_e2e.py --scale 0.2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchkit import DEFAULT_WORKLOADS, BenchError, check_run_args, default_seccenter, generate, run_in_workdir

from seccenter.resources import ioc_lists

LOGS = ("auth.log", "access.log", "events.jsonl")
CAPTURE = "mixed.pcap"
TARGET_VS_SEPARATE = 1.0


@dataclass
class Child:
    """A finished command: its wall time and its parsed JSON output."""

    label: str
    seconds: float
    output: dict[str, Any]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time one seccenter scan over every shared workload, per stage, against the separate "
                    "ingest and yara scan commands doing the same work.",
        epilog="Figures are ratios measured in the same run; absolute seconds depend on the machine.")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="workload scale (default 1.0: 500k auth + 300k access lines, 200k events, "
                             "50k packets, about 100 MiB of files)")
    parser.add_argument("--workloads", type=Path, default=DEFAULT_WORKLOADS, metavar="DIR",
                        help="folder holding make_workloads.py (default: <repo>/../shared/bench)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write workloads, stores and outputs (default: a temporary directory)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="rounds; the contenders take turns at going first, the best of each counts (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the output directory afterwards")
    parser.add_argument("--seccenter", metavar="CMD", default=default_seccenter(),
                        help="seccenter executable (default: the one next to this Python, else on PATH)")
    args = parser.parse_args(argv)
    check_run_args(parser, args, need_seccenter=True)
    return args


class _Receiver(BaseHTTPRequestHandler):
    """The webhook the scan notifies: accepts every POST, keeps nothing."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def lay_out(out: Path) -> None:
    """Logs, the capture and the file tree each in a folder of their own, as a site would keep them."""
    for folder in ("logs", "pcaps"):
        (out / folder).mkdir(exist_ok=True)
    for name in LOGS:
        (out / name).replace(out / "logs" / name)
    (out / CAPTURE).replace(out / "pcaps" / CAPTURE)


def write_config(out: Path, webhook: str) -> Path:
    config = out / "seccenter.yaml"
    config.write_text(
        "database: scan.db\n"
        "sources:\n"
        f"  logs: [{', '.join(f'logs/{name}' for name in LOGS)}]\n"
        "  pcaps: [pcaps]\n"
        "  yara: [{paths: [files]}]\n"
        f"  ioc: [\"{ioc_lists()}\"]\n"
        "threshold: high\n"
        "retention: {events: 3650d, alerts: 3650d, quarantine: 3650d}\n"
        f"notifications: {{webhook: {{url: \"{webhook}\", timeout: 10}}}}\n", encoding="utf-8")
    return config


def run_child(label: str, command: list[str], out: Path, env: dict[str, str], ok: tuple[int, ...] = (0,),
              prints_json: bool = True) -> Child:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode not in ok:
        raise BenchError(f"{label} failed (exit {result.returncode}):\n{result.stderr.strip()[-3000:]}")
    if not prints_json:
        return Child(label, seconds, {})
    try:
        output = json.loads(result.stdout)
    except ValueError as error:
        raise BenchError(f"{label} printed no usable JSON ({error}):\n{result.stdout[:2000]}") from None
    return Child(label, seconds, output)


def warm(out: Path, seccenter: str, env: dict[str, str]) -> int:
    """Read every input once (page cache) and compile the bundled YARA rules into the cache; returns bytes."""
    total = 0
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                total += len(chunk)
    (out / "empty").mkdir(exist_ok=True)
    run_child("warming the YARA rule cache", [seccenter, "--db", str(out / "warm.db"), "yara", "scan",
                                              str(out / "empty"), "--json"], out, env)
    return total


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def run(args: argparse.Namespace, out: Path) -> int:
    print(f"generating every workload at scale {args.scale} ...", file=sys.stderr)
    generate(args.workloads, out, args.scale, "pcap,auth,access,files,events", (*LOGS, CAPTURE))
    lay_out(out)
    env = {**os.environ, "XDG_CACHE_HOME": str(out / "cache")}
    env.pop("SECCENTER_DB", None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = write_config(out, f"http://127.0.0.1:{server.server_address[1]}/hook")
        size = warm(out, args.seccenter, env)
        startup = run_child("seccenter --version", [args.seccenter, "--version"], out, env, prints_json=False)
        scan: Child | None = None
        separate: list[Child] | None = None
        for round_number in range(args.repeat):
            # the contenders take turns at going first, each on a fresh store; the best of each counts
            for contender in ("scan", "separate") if round_number % 2 == 0 else ("separate", "scan"):
                print(f"round {round_number + 1}: {contender} ...", file=sys.stderr)
                if contender == "scan":
                    this = run_scan(args.seccenter, config, out, env)
                    scan = this if scan is None or this.seconds < scan.seconds else scan
                else:
                    these = run_separate(args.seccenter, out, env)
                    if separate is None or total(these) < total(separate):
                        separate = these
    finally:
        server.shutdown()
        server.server_close()
    assert scan is not None and separate is not None
    return report(scan, separate, startup, size, args.repeat)


def fresh_store(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


def run_scan(seccenter: str, config: Path, out: Path, env: dict[str, str]) -> Child:
    fresh_store(out / "scan.db")
    return run_child("seccenter scan", [seccenter, "scan", "--config", str(config), "--json"], out, env, ok=(0, 1))


def run_separate(seccenter: str, out: Path, env: dict[str, str]) -> list[Child]:
    fresh_store(out / "separate.db")
    peer, ioc = ["--db", str(out / "separate.db")], str(ioc_lists())
    return [run_child("seccenter ingest (logs)", [seccenter, *peer, "ingest", *(f"logs/{name}" for name in LOGS),
                                                  "--ioc", ioc, "--json"], out, env),
            run_child("seccenter ingest (pcap)", [seccenter, *peer, "ingest", f"pcaps/{CAPTURE}", "--ioc", ioc,
                                                  "--json"], out, env),
            run_child("seccenter yara scan", [seccenter, *peer, "yara", "scan", "files", "--ioc", ioc, "--json"],
                      out, env)]


def total(children: list[Child]) -> float:
    return sum(child.seconds for child in children)


def by_kind(sources: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The scan's per-source counts added up per kind (three log sources make one ``logs``)."""
    kinds: dict[str, dict[str, int]] = {}
    for source in sources:
        counts = kinds.setdefault(source["kind"], dict.fromkeys(("files", "events", "new", "alerts"), 0))
        for key in counts:
            counts[key] += source[key]
    return kinds


def report(scan: Child, separate: list[Child], startup: Child, size: int, repeat: int) -> int:
    summary = scan.output
    sources = by_kind(summary["sources"])
    stages = summary["stages"]
    logs, pcap, files = separate
    separate_total = total(separate)
    events = summary["totals"]["events"]
    stage_rows = [("rules", stages["rules"], None, None),
                  ("logs", stages["logs"], sources["logs"]["events"], logs),
                  ("pcaps", stages["pcaps"], sources["pcaps"]["events"], pcap),
                  ("yara", stages["yara"], sources["yara"]["files"], files),
                  ("retention", stages["retention"], None, None),
                  ("notify", stages["notify"], None, None)]
    print(f"\n{'stage':<12}{'seconds':>10}{'events/s':>12}   {'command':<26}{'seconds':>10}{'stage/command':>15}")
    for name, seconds, count, command in stage_rows:
        rate = f"{ratio(count, seconds):>12,.0f}" if count is not None and name != "yara" else f"{'':>12}"
        if name == "yara":
            rate = f"{ratio(count, seconds):>9,.0f} f/s"
        peer = f"{command.label:<26}{command.seconds:>10.2f}{ratio(seconds, command.seconds):>15.2f}" \
            if command else ""
        print(f"{name:<12}{seconds:>10.2f}{rate}   {peer}")
    print(f"{'scan total':<12}{summary['duration']:>10.2f}{ratio(events, summary['duration']):>12,.0f}   "
          f"{'(wall, with start-up)':<26}{scan.seconds:>10.2f}")
    print(f"{'separate':<12}{separate_total:>10.2f}{ratio(events, separate_total):>12,.0f}   "
          f"(three commands, each with start-up; seccenter --version alone: {startup.seconds:.2f} s)")
    vs_separate = ratio(scan.seconds, separate_total)
    print(f"\nscan / separate commands: {vs_separate:.2f} (target {TARGET_VS_SEPARATE:.1f} or less; best of {repeat} "
          "rounds each)")
    print(f"inputs: {size / 1e6:.0f} MB; {events:,} events read, {summary['totals']['alerts']:,} new alerts, "
          f"{summary['new_at_or_above_threshold']:,} at or above high; notifications {summary['notifications']}")
    scan_counts = (sources["logs"]["new"], sources["logs"]["alerts"], sources["pcaps"]["new"],
                   sources["pcaps"]["alerts"], sources["yara"]["alerts"])
    separate_counts = (logs.output["new_events"], logs.output["alerts"], pcap.output["new_events"],
                       pcap.output["alerts"], len(files.output["matches"]))
    same = scan_counts == separate_counts
    if not same:
        print(f"error: the scan and the separate commands stored different counts (new log events, log alerts, "
              f"new capture events, capture alerts, YARA alerts): {scan_counts} != {separate_counts}",
              file=sys.stderr)
    print(json.dumps({
        "scan_wall_s": round(scan.seconds, 3), "scan_duration_s": summary["duration"], "stages_s": stages,
        "separate_s": {child.label: round(child.seconds, 3) for child in separate},
        "startup_s": round(startup.seconds, 3), "scan_vs_separate": round(vs_separate, 3), "rounds": repeat,
        "events": events, "events_per_s": round(ratio(events, summary["duration"])),
        "alerts": summary["totals"]["alerts"], "same_counts": same,
    }))
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
