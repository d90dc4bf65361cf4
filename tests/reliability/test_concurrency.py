"""Concurrency: scheduled scans run back to back over logs that keep growing while four analysts write with the CLI
(alerts ack with a note, incident note, incident open, asset add), each in its own process, for 20 seconds in the
default run (``SECCENTER_CONCURRENCY_SECONDS`` changes that) and 60 seconds in the slow variant. Not one command may
meet "database is locked" or fail, and afterwards every write is in the store: each writer's rows and audit entries
number what it says it made, every appended log line is one event, the audit chain verifies.

``tests/test_scan.py`` shows one analyst's acks and notes succeed while one long scan ingests; this test runs the
whole scan (sources, retention erasing old lines, notification) again and again against several writers in other
processes. The figures are printed (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.incidents.cases import open_incident
from seccenter.resources import samples
from seccenter.store.db import open_db

pytestmark = pytest.mark.reliability

SECCENTER = [sys.executable, "-m", "seccenter.cli"]
WRITER = Path(__file__).with_name("cli_writer.py")
SECONDS = float(os.environ.get("SECCENTER_CONCURRENCY_SECONDS", "20"))
CHUNKS_PER_SECOND = 10
LINES_PER_CHUNK = {"auth.log": 120, "access.log": 60, "old.log": 10}
"""Lines appended per chunk: 1900 a second for the scans to read (a scan keeps up on a busy machine), 100 of them
dated 1980 for retention to erase."""
WRITER_PAUSE = 0.02
"""Seconds between two commands of a writer: dozens of writes a second each, and processor time left for the scan."""
LOCKED = "database is locked"


@dataclass
class Appender:
    """Appends whole lines to the logs in ``folder``, ``CHUNKS_PER_SECOND`` chunks a second, cycling through
    ``text``, while ``running`` until its deadline; counts the lines written to each log."""

    folder: Path
    text: dict[str, list[str]]
    written: dict[str, int] = field(default_factory=dict)

    @contextlib.contextmanager
    def running(self, deadline: float) -> Iterator[None]:
        stop = threading.Event()

        def append() -> None:
            while not stop.wait(1 / CHUNKS_PER_SECOND) and time.monotonic() < deadline:
                for name, lines in self.text.items():
                    start = self.written.get(name, 0) % len(lines)
                    chunk = lines[start:start + LINES_PER_CHUNK[name]]
                    with (self.folder / name).open("a", encoding="utf-8") as log:
                        log.write("".join(chunk))
                    self.written[name] = self.written.get(name, 0) + len(chunk)

        thread = threading.Thread(target=append, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


@dataclass
class Site:
    db: Path
    config: Path
    appender: Appender
    alert_ids: list[int]
    incident_id: int


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def site(tmp_path: Path, workloads: ModuleType) -> Site:
    """A store with alerts (the sample logs ingested) and an open incident; empty logs named in a scan config with
    retention and a webhook (on 127.0.0.1, a closed port: every delivery fails and is retried next run)."""
    generated, logs = tmp_path / "generated", tmp_path / "logs"
    generated.mkdir()
    logs.mkdir()
    workloads.make_auth(str(generated / "auth.log"), 30_000, random.Random(2))
    workloads.make_access(str(generated / "access.log"), 15_000, random.Random(3))
    workloads.make_auth(str(generated / "old.log"), 3_000, random.Random(9))
    text = {name: (generated / name).read_text(encoding="utf-8").splitlines(keepends=True) for name in LINES_PER_CHUNK}
    for name in text:
        (logs / name).touch()
    config = tmp_path / "seccenter.yaml"
    config.write_text(textwrap.dedent(f"""\
        database: seccenter.db
        organisation: {{actor: scan, timezone: UTC}}
        sources:
          logs:
            - {{path: logs/auth.log, year: 2026}}
            - {{path: logs/old.log, year: 1980}}
            - logs/access.log
        threshold: high
        retention: {{events: 7300d, alerts: 7300d, quarantine: 7300d}}
        notifications:
          webhook: {{url: "http://127.0.0.1:{_closed_port()}/csc", timeout: 1}}
    """), encoding="utf-8")

    db = tmp_path / "seccenter.db"
    runner = CliRunner()
    ingested = runner.invoke(main, ["--db", str(db), "ingest", "--year", "2026", str(samples() / "auth.log"),
                                    str(samples() / "access.log")])
    assert ingested.exit_code == 0, ingested.output
    opened = runner.invoke(main, ["--db", str(db), "incident", "open", "--title", "brute force on gw", "--json"])
    assert opened.exit_code == 0, opened.output
    with contextlib.closing(sqlite3.connect(db)) as connection:
        alert_ids = [row[0] for row in connection.execute("SELECT id FROM alerts ORDER BY id LIMIT 50")]
    assert len(alert_ids) == 50
    return Site(db, config, Appender(logs, text), alert_ids, json.loads(opened.stdout)["id"])


@dataclass(frozen=True)
class Writer:
    """A writer's command (``{n}``: its run number, ``{item}``: one of ``items`` in turn), the query that counts the
    rows it must have left (one a run) and the action of its audit entries (one a run)."""

    args: tuple[str, ...]
    rows: str
    action: str
    items: Callable[[Site], list[Any]] = lambda site: ["-"]


WRITERS = {
    "ack": Writer(("alerts", "ack", "{item}", "--note", "ack-writer {n}"),
                  "SELECT count(DISTINCT note) FROM alert_notes WHERE note LIKE 'ack-writer %'", "alert.ack",
                  lambda site: site.alert_ids),
    "note": Writer(("incident", "note", "{item}", "note-writer {n}"),
                   "SELECT count(DISTINCT detail) FROM incident_activity WHERE kind = 'note'"
                   " AND detail LIKE 'note-writer %'", "incident.note", lambda site: [site.incident_id]),
    "open": Writer(("incident", "open", "--title", "open-writer {n}", "--severity", "low"),
                   "SELECT count(DISTINCT title) FROM incidents WHERE title LIKE 'open-writer %'", "incident.open"),
    "asset": Writer(("asset", "add", "asset-writer-{n}", "--hostname", "host-{n}", "--criticality", "low"),
                    "SELECT count(*) FROM assets WHERE id LIKE 'asset-writer-%'", "asset.add"),
}


def _start_writer(site: Site, name: str, seconds: float) -> subprocess.Popen[str]:
    writer = WRITERS[name]
    environment = {key: value for key, value in os.environ.items() if key != "SECCENTER_DB"}
    environment["SECCENTER_ACTOR"] = f"writer-{name}"
    return subprocess.Popen([sys.executable, str(WRITER), str(site.db), str(seconds), str(WRITER_PAUSE),
                             ",".join(map(str, writer.items(site))), *writer.args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def _scan(site: Site) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "SECCENTER_DB"}
    return subprocess.run([*SECCENTER, "--db", str(site.db), "scan", "--config", str(site.config), "--json"],
                          capture_output=True, text=True, env=environment, timeout=300, check=False)


@pytest.mark.parametrize("seconds", [SECONDS, pytest.param(60.0, marks=pytest.mark.slow)], ids=["default", "60s"])
def test_scans_and_four_cli_writers_at_once_never_meet_a_lock_and_lose_no_write(
        site: Site, seconds: float, record_property: Callable[[str, Any], None]) -> None:
    writers = {name: _start_writer(site, name, seconds) for name in WRITERS}
    scans: list[subprocess.CompletedProcess[str]] = []
    try:
        deadline = time.monotonic() + seconds
        with site.appender.running(deadline):
            while time.monotonic() < deadline:
                scans.append(_scan(site))
        reports = {}
        for name, process in writers.items():
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            reports[name] = json.loads(out)
    finally:
        for process in writers.values():
            process.kill()
    final = _scan(site)  # reads what the last lines appended left

    writes = sum(report["runs"] for report in reports.values())
    failed = sum(len(report["failed"]) for report in reports.values())
    locked = sum(LOCKED in json.dumps(report["failed"]) for report in reports.values()) + sum(
        LOCKED in scan.stderr for scan in [*scans, final])
    each = ", ".join(f"{name} {report['runs']}" for name, report in reports.items())
    print(f"\n{seconds:g} s: {len(scans)} scans (and one after them) read {sum(site.appender.written.values())} "
          f"appended lines while 4 writers made {writes} CLI writes ({each}); {failed} failed, {locked} locked; "
          f"slowest write {max(report['slowest'] for report in reports.values())} s")
    record_property("concurrent_writes", writes)
    assert locked == 0
    for scan in [*scans, final]:
        assert scan.returncode in (0, 1), scan.stderr
        assert json.loads(scan.stdout)["error"] is None
    for name, report in reports.items():
        assert report["failed"] == [], name
    assert writes >= 4 * seconds

    with contextlib.closing(sqlite3.connect(site.db)) as connection:
        for name, report in reports.items():
            assert connection.execute(WRITERS[name].rows).fetchone()[0] == report["runs"], name
            assert connection.execute("SELECT count(*) FROM audit_log WHERE actor = ? AND action = ?",
                                      [f"writer-{name}", WRITERS[name].action]).fetchone()[0] == report["runs"], name
        # (events, distinct origins) by log: every appended line once, the 1980 lines erased but for those an alert
        # points to (an alert counts from when it was stored as well)
        stored = {Path(path).name: (count, distinct) for path, count, distinct in connection.execute(
            "SELECT origin_path, count(*), count(DISTINCT origin_offset) FROM events WHERE origin_path LIKE ?"
            " AND NOT (origin_path LIKE '%/old.log' AND EXISTS (SELECT 1 FROM alerts WHERE alerts.event_id ="
            " events.id)) GROUP BY origin_path", [f"{site.appender.folder}/%"])}
        purges = connection.execute("SELECT count(*) FROM purges").fetchone()[0]
        assert connection.execute("SELECT count(*) FROM audit_log WHERE action = 'store.purge'").fetchone()[0] == purges
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    written = site.appender.written
    assert stored == {"auth.log": (written["auth.log"], written["auth.log"]),
                      "access.log": (written["access.log"], written["access.log"])}
    assert purges > 0  # the 1980 lines were read and erased
    verified = CliRunner().invoke(main, ["--db", str(site.db), "audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_opening_the_store_again_in_one_process_loses_no_write_of_its_first_connection(tmp_path: Path) -> None:
    """A second ``open_db`` beside a connection still open in the same process (a program using seccenter as a
    library, a harness running commands in one process, as the writers above do) must leave that connection its
    lock on the store: without it, another process ending its connection takes itself for the store's last user and
    deletes the write-ahead log, and what the first connection writes next is lost to everyone else."""
    db = tmp_path / "seccenter.db"
    first = open_db(db)
    open_db(db)
    environment = {key: value for key, value in os.environ.items() if key != "SECCENTER_DB"}
    other = subprocess.run([*SECCENTER, "--db", str(db), "incident", "open", "--title", "from another terminal"],
                           capture_output=True, text=True, env=environment, timeout=120, check=False)
    assert other.returncode == 0, other.stderr
    open_incident(first, "from this process", actor="analyst")
    listed = subprocess.run([*SECCENTER, "--db", str(db), "incident", "list", "--json"], capture_output=True,
                            text=True, env=environment, timeout=120, check=False)
    assert {case["title"] for case in json.loads(listed.stdout)} == {"from another terminal", "from this process"}
