#!/usr/bin/env python3
"""Benchmark: how fast does seccenter turn EVTX files into events, compared with a bare evtx loop?

What is measured, in the same run on the same files, best of ``--repeat`` runs each (the two contenders take
turns, so drift in the machine's speed hits both):

(a) seccenter  ``EvtxCollector().parse(stream, path, Position())`` over every file, consuming every Event and
               Malformed: chunk planning (record order, resume support), the Rust parser, JSON decoding, the
               flattening into Sigma field names, timestamps and logsource.
(b) peer       ``for r in PyEvtxParser(path).records_json(): json.loads(r["data"])``: the least any Python tool
               using the same parser must do to get at a record's fields (a parse error is counted and the loop
               goes on, as seccenter does).

The peer is a floor, not a rival: ``seccenter / peer`` says how many times that minimum seccenter spends to also
hand out normalised events. Figures are comparable only as ratios within one run; absolute seconds depend on
the machine. ``--repeat-files K`` reads the file list K times per run for a longer measurement.

Files: the EVTX files of ``<repo>/../shared/corpus/evtx`` unless ``--files`` names files or folders.

Example: python bench/evtx_read.py --repeat-files 20
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from evtx import PyEvtxParser

from seccenter.collect.evtx import PARSER_THREADS, EvtxCollector
from seccenter.collect.interface import Position
from seccenter.events import Malformed

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILES = REPO.parent / "shared" / "corpus" / "evtx"


@dataclass
class Timing:
    name: str
    seconds: float
    records: int
    failed: int  # malformed records (seccenter) or parse errors (peer)

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", nargs="+", type=Path, metavar="PATH",
                        help="EVTX files or folders (searched for *.evtx); default: the shared corpus")
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per contender, best counts (3)")
    parser.add_argument("--repeat-files", type=int, default=1, metavar="K",
                        help="read the file list K times per run (1)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.repeat_files < 1:
        parser.error("--repeat and --repeat-files must be at least 1")
    return args


def find_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob("*.evtx")))
        elif path.is_file():
            found.append(path)
    return found


def run_seccenter(files: list[Path]) -> tuple[int, int]:
    events = malformed = 0
    for path in files:
        with path.open("rb") as stream:
            for record in EvtxCollector().parse(stream, str(path), Position()):
                if isinstance(record, Malformed):
                    malformed += 1
                else:
                    events += 1
    return events, malformed


def run_peer(files: list[Path]) -> tuple[int, int]:
    records = errors = 0
    loads = json.loads
    for path in files:
        iterator = PyEvtxParser(str(path)).records_json()
        while True:
            try:
                for record in iterator:
                    loads(record["data"])
                    records += 1
                break
            except RuntimeError:  # a damaged record or chunk; the parser goes on after it
                errors += 1
    return records, errors


def measure(files: list[Path], repeat: int) -> tuple[Timing, Timing]:
    best = {"seccenter": float("inf"), "peer": float("inf")}
    counts: dict[str, tuple[int, int]] = {}
    contenders = {"seccenter": run_seccenter, "peer": run_peer}
    for _ in range(repeat):
        for name, contender in contenders.items():
            start = time.perf_counter()
            counts[name] = contender(files)
            best[name] = min(best[name], time.perf_counter() - start)
    return (Timing("seccenter", best["seccenter"], *counts["seccenter"]),
            Timing("peer", best["peer"], *counts["peer"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    distinct = find_files(args.files or [DEFAULT_FILES])
    if not distinct:
        print(f"error: no EVTX files in {', '.join(str(p) for p in args.files or [DEFAULT_FILES])}", file=sys.stderr)
        return 2
    files = distinct * args.repeat_files
    size = sum(path.stat().st_size for path in distinct) * args.repeat_files
    print(f"{len(distinct)} EVTX files x {args.repeat_files} = {len(files)} reads, {size / 1e6:.1f} MB; "
          f"best of {args.repeat} ...", file=sys.stderr)
    ours, peer = measure(files, args.repeat)
    ratio = ours.seconds / peer.seconds if peer.seconds > 0 else None

    print(f"{'contender':<34} {'records':>10} {'failed':>7} {'seconds':>9} {'records/s':>11} {'x peer':>7}")
    for label, timing in ((f"seccenter EvtxCollector ({PARSER_THREADS} thread)", ours),
                          ("peer PyEvtxParser + json.loads", peer)):
        print(f"{label:<34} {timing.records:>10,} {timing.failed:>7,} {timing.seconds:>9.3f} "
              f"{timing.records_per_second:>11,.0f} {timing.seconds / peer.seconds:>7.2f}")
    print()
    print(f"ratio seccenter / peer: {'-' if ratio is None else format(ratio, '.2f')}")
    if ours.records + ours.failed != peer.records + peer.failed:
        print(f"warning: seccenter gave {ours.records + ours.failed:,} events + malformed, "
              f"the peer {peer.records + peer.failed:,} records + errors")
    print(json.dumps({
        "benchmark": "evtx_read", "files": len(distinct), "repeat_files": args.repeat_files, "bytes": size,
        "repeat": args.repeat, "parser_threads": PARSER_THREADS,
        "seccenter": {"seconds": round(ours.seconds, 4), "events": ours.records, "malformed": ours.failed,
                      "records_per_s": round(ours.records_per_second)},
        "peer": {"seconds": round(peer.seconds, 4), "records": peer.records, "errors": peer.failed,
                 "records_per_s": round(peer.records_per_second)},
        "ratio_seccenter_peer": None if ratio is None else round(ratio, 2),
        "python": sys.version.split()[0],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
