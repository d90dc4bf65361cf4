#!/usr/bin/env python3
"""Benchmark: Sigma detection in seccenter against pySigma's SQLite backend (the method Zircolite uses).

What is measured, all in the same run on the same generated file (Sysmon-style process-creation events, EventID 1,
as JSON lines, from ``make_workloads.py --only events``) and the same rules (default: the corpus's
``windows/process_creation`` Sigma rules):

(a) seccenter      in-process: ``load_rules`` + ``seccenter.pipeline.detect_paths`` over the file, every alert
                   consumed. Includes reading, decoding and parsing the JSON lines, event time and logsource,
                   routing and matching. This is the main figure.
(a') seccenter CLI ``seccenter detect --rules DIR events.jsonl --format jsonl`` as a subprocess, output to a file:
                   the same plus interpreter start-up, imports and writing every alert as JSON.
(b) SQLite         the peer, in-process: parse the rules with pySigma and convert them with ``sqliteBackend``;
                   read the JSON lines (``json.loads``, nested objects flattened to dotted names) into an in-memory
                   SQLite table laid out as Zircolite lays it out (a column per field, ``INTEGER`` for integers,
                   ``TEXT COLLATE NOCASE`` otherwise, booleans as 'true'/'false', batches of 5000 rows); run one
                   ``SELECT`` per rule. Timed in total and per part (convert, load, query).

Both contenders must find the same (rule, event) pairs; the script prints how many pairs differ (expected: 0; the
differential test ``tests/test_sigma_differential.py`` documents where the SQLite backend is wrong, none of which
the generated events touch). The peer only gets the rules whose logsource fits Windows process creation, because
it has no routing of its own (Zircolite selects rules per log type the same way).

Why the peer is fair: it is how Zircolite runs Sigma rules, with the converter Zircolite uses, and it is given the
same work: start from the rule files and the JSON lines file, end with the matches. It runs in-process (no
interpreter start-up) on an in-memory database. Figures are only comparable as ratios within one run, on one
machine; the ratio printed is ``sqlite seconds / seccenter seconds`` (above 1: seccenter is faster).

Nothing is written into the repository: the workload and outputs go to ``--out`` (default: a temporary directory,
deleted afterwards unless ``--keep``).

Example: python bench/sigma_vs_sqlite.py --scale 0.1
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sqlite3
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

DEFAULT_RULES = REPO.parent / "shared" / "corpus" / "sigma" / "rules" / "windows" / "process_creation"
EVENTS = "events.jsonl"
BATCH = 5000
SELECT_PREFIX = "SELECT * FROM logs WHERE "

Pair = tuple[str, int]
"""(rule id, line number of the event)"""


@dataclass
class Timing:
    """One measured contender: total seconds (best run), its parts, the matches it found."""

    name: str
    seconds: float
    events: int
    parts: dict[str, float] = field(default_factory=dict)
    pairs: set[Pair] = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else float("nan")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time seccenter's Sigma detection against pySigma's SQLite backend (the Zircolite method) on "
                    "the same events and rules.",
        epilog="Figures are ratios measured in the same run; absolute seconds depend on the machine.",
    )
    parser.add_argument("--scale", type=float, default=1.0,
                        help="workload scale for make_workloads.py (1.0 = 200k events)")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, metavar="DIR",
                        help="Sigma rules (default: <repo>/../shared/corpus/sigma/rules/windows/process_creation)")
    parser.add_argument("--workloads", type=Path, default=DEFAULT_WORKLOADS, metavar="DIR",
                        help=f"folder holding {GENERATOR} (default: <repo>/../shared/bench)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="where to write the events and outputs (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the output directory afterwards")
    parser.add_argument("--repeat", type=int, default=1, help="runs per in-process contender; the best counts")
    parser.add_argument("--seccenter", metavar="CMD", default=default_seccenter(),
                        help="seccenter executable for the CLI row (default: the one next to this Python, else on "
                             "PATH)")
    parser.add_argument("--no-cli", action="store_true", help="skip the seccenter CLI row")
    args = parser.parse_args(argv)
    check_run_args(parser, args)
    if not args.rules.exists():
        parser.error(f"rules not found: {args.rules}")
    return args


def count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def best_of(repeat: int, run: Any) -> Timing:
    best: Timing | None = None
    for _ in range(repeat):
        gc.collect()
        timing = run()
        if best is None or timing.seconds < best.seconds:
            best = timing
    assert best is not None
    return best


# --- (a) seccenter in-process -----------------------------------------------------------------------------------


def time_seccenter(rules: Path, events_file: Path, events: int) -> Timing:
    from seccenter.detect.sigma import load_rules
    from seccenter.pipeline import SourceReport, detect_paths

    start = time.perf_counter()
    ruleset = load_rules([rules])
    loaded = time.perf_counter()
    reports: list[SourceReport] = []
    pairs = {(alert.rule_id, alert.event.origin.line) for alert in detect_paths([events_file], ruleset,
                                                                                   reports=reports)}
    end = time.perf_counter()
    if any(report.error for report in reports):
        raise BenchError(f"seccenter could not read {events_file}: {reports[0].error}")
    return Timing("seccenter", end - start, events, {"load rules": loaded - start, "read + detect": end - loaded},
                  pairs, {"rules": len(ruleset.rules), "rule_errors": len(ruleset.errors),
                          "malformed": sum(report.malformed for report in reports)})


# --- (a') seccenter CLI -----------------------------------------------------------------------------------------


def time_cli(seccenter: str, rules: Path, events_file: Path, out: Path, events: int) -> Timing:
    output, errors = out / "detect.jsonl", out / "detect.stderr"
    command = [seccenter, "detect", "--rules", str(rules), str(events_file), "--format", "jsonl"]
    with output.open("wb") as stdout, errors.open("wb") as stderr:
        start = time.perf_counter()
        result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, check=False)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise BenchError(f"seccenter detect failed (exit {result.returncode}):\n"
                         f"{errors.read_text(errors='replace').strip()}")
    pairs = set()
    with output.open(encoding="utf-8") as lines:
        for line in lines:
            alert = json.loads(line)
            pairs.add((alert["rule_id"], alert["origin"]["line"]))
    return Timing("seccenter CLI", seconds, events, {}, pairs)


# --- (b) pySigma's SQLite backend -------------------------------------------------------------------------------


def fits_process_creation(logsource: Any) -> bool:
    return (logsource.product in (None, "windows") and logsource.category in (None, "process_creation")
            and logsource.service in (None, "sysmon"))


def convert_rules(rules: Path) -> tuple[dict[str, list[str]], set[str], dict[str, int]]:
    """WHERE clauses per rule id, the fields the rules read, and counts of what was left out."""
    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    files = [rules] if rules.is_file() else sorted(p for p in rules.rglob("*") if p.suffix in (".yml", ".yaml"))
    queries: dict[str, list[str]] = {}
    fields: set[str] = set()
    left_out = {"unconvertible": 0, "other_logsource": 0}
    for path in files:
        collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"), collect_errors=True)
        for rule in collection.rules:
            if rule.errors:
                left_out["unconvertible"] += 1
                continue
            if not fits_process_creation(rule.logsource):
                left_out["other_logsource"] += 1
                continue
            backend = sqliteBackend()
            try:
                converted = backend.convert_rule(rule)
            except SigmaError:
                left_out["unconvertible"] += 1
                continue
            queries[str(rule.id)] = [query.removeprefix(SELECT_PREFIX) for query in converted]
            fields.update(backend.required_fields(rule))
    return queries, fields, left_out


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, bool):
            out[prefix + key] = "true" if value else "false"
        elif isinstance(value, list):
            out[prefix + key] = json.dumps(value)
        else:
            out[prefix + key] = value
    return out


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class Table:
    """Zircolite's layout, grown a column at a time as new fields appear (type from the first value seen)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.columns: list[str] = []
        self.known: set[str] = set()
        connection.execute("CREATE TABLE logs (row_id INTEGER PRIMARY KEY)")

    def add(self, name: str, value: Any) -> None:
        kind = "INTEGER" if isinstance(value, int) else "TEXT COLLATE NOCASE"
        self.connection.execute(f"ALTER TABLE logs ADD COLUMN {quote(name)} {kind}")
        self.columns.append(name)
        self.known.add(name.casefold())

    def insert(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        for _, row in rows:
            for name, value in row.items():
                if name.casefold() not in self.known:
                    self.add(name, value)
        columns = self.columns
        sql = (f"INSERT INTO logs (row_id, {', '.join(map(quote, columns))}) "
               f"VALUES ({', '.join('?' * (len(columns) + 1))})")
        self.connection.executemany(sql, [(line, *map(row.get, columns)) for line, row in rows])


def regexp(pattern: str, value: Any) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def time_sqlite(rules: Path, events_file: Path, events: int) -> Timing:
    start = time.perf_counter()
    queries, fields, left_out = convert_rules(rules)
    converted = time.perf_counter()

    connection = sqlite3.connect(":memory:")
    connection.create_function("regexp", 2, regexp, deterministic=True)
    table = Table(connection)
    rows: list[tuple[int, dict[str, Any]]] = []
    with events_file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            rows.append((number, flatten(json.loads(line))))
            if len(rows) >= BATCH:
                table.insert(rows)
                rows.clear()
    table.insert(rows)
    for name in sorted(fields):  # fields the rules read but no event has: NULL columns
        if name.casefold() not in table.known:
            table.add(name, None)
    connection.commit()
    loaded = time.perf_counter()

    pairs = set()
    for rule_id, wheres in queries.items():
        for where in wheres:
            for (row,) in connection.execute(f"SELECT row_id FROM logs WHERE {where}"):
                pairs.add((rule_id, row))
    end = time.perf_counter()
    connection.close()
    return Timing("sqlite", end - start, events,
                  {"convert rules": converted - start, "load events": loaded - converted, "query": end - loaded},
                  pairs, {"rules": len(queries), **left_out})


# --- report -----------------------------------------------------------------------------------------------------


def print_report(args: argparse.Namespace, ours: Timing, peer: Timing, cli: Timing | None) -> dict[str, Any]:
    ratio = peer.seconds / ours.seconds if ours.seconds > 0 else float("nan")
    only_ours, only_peer = ours.pairs - peer.pairs, peer.pairs - ours.pairs
    print(f"{'contender':<32} {'events':>9} {'seconds':>9} {'events/s':>10} {'matches':>8}")
    rows = [(f"seccenter (in-process, best of {args.repeat})", ours),
            (f"sqlite backend (best of {args.repeat})", peer)]
    if cli is not None:
        rows.append(("seccenter detect CLI", cli))
    for label, timing in rows:
        print(f"{label:<32} {timing.events:>9,} {timing.seconds:>9.2f} {timing.events_per_second:>10,.0f} "
              f"{len(timing.pairs):>8,}")
        if timing.parts:
            print(" " * 34 + "; ".join(f"{part} {seconds:.2f}s" for part, seconds in timing.parts.items()))
    print()
    print(f"rules: seccenter {ours.extra['rules']} loaded ({ours.extra['rule_errors']} failed); sqlite "
          f"{peer.extra['rules']} converted ({peer.extra['unconvertible']} not convertible, "
          f"{peer.extra['other_logsource']} for other logsources)")
    print(f"differing (rule, event) pairs: {len(only_ours) + len(only_peer)} "
          f"(seccenter only {len(only_ours)}, sqlite only {len(only_peer)})")
    for side, pairs in (("seccenter only", only_ours), ("sqlite only", only_peer)):
        for rule_id, line in sorted(pairs)[:5]:
            print(f"  {side}: rule {rule_id} line {line}")
    if cli is not None and cli.pairs != ours.pairs:
        print(f"warning: the CLI found {len(cli.pairs ^ ours.pairs)} pairs that differ from the in-process run")
    if ours.extra["malformed"]:
        print(f"warning: seccenter counted {ours.extra['malformed']:,} malformed lines")
    print(f"ratio sqlite / seccenter: {ratio:.2f} (target: >= 2)")

    def figures(timing: Timing | None) -> dict[str, Any] | None:
        if timing is None:
            return None
        return {"seconds": round(timing.seconds, 3), "events_per_s": round(timing.events_per_second),
                "matches": len(timing.pairs), **{key: round(value, 3) for key, value in timing.parts.items()}}

    return {
        "benchmark": "sigma_vs_sqlite", "scale": args.scale, "events": ours.events, "rules": ours.extra["rules"],
        "sqlite_rules": peer.extra["rules"], "seccenter": figures(ours), "sqlite": figures(peer),
        "seccenter_cli": figures(cli), "differing_pairs": len(only_ours) + len(only_peer),
        "ratio_sqlite_seccenter": round(ratio, 2), "python": sys.version.split()[0],
        "sqlite_version": sqlite3.sqlite_version,
    }


def run(args: argparse.Namespace, out: Path) -> int:
    print(f"generating {EVENTS} at scale {args.scale} in {out} ...", file=sys.stderr)
    generate(args.workloads, out, args.scale, "events", (EVENTS,))
    events_file = out / EVENTS
    events = count_lines(events_file)
    print(f"seccenter in-process, best of {args.repeat} ...", file=sys.stderr)
    ours = best_of(args.repeat, lambda: time_seccenter(args.rules, events_file, events))
    print(f"sqlite backend, best of {args.repeat} ...", file=sys.stderr)
    peer = best_of(args.repeat, lambda: time_sqlite(args.rules, events_file, events))
    cli = None
    if not args.no_cli:
        if args.seccenter is None:
            raise BenchError("no seccenter executable found; pass --seccenter or --no-cli")
        print("seccenter detect CLI ...", file=sys.stderr)
        cli = time_cli(args.seccenter, args.rules, events_file, out, events)
    document = print_report(args, ours, peer, cli)
    print(json.dumps(document))
    return 0 if document["differing_pairs"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir(parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
