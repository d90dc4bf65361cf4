"""Crash consistency: ``seccenter ingest`` and ``seccenter scan`` killed with SIGKILL at 10 random moments each, then
run to completion, store what one clean run stores: every event once, the same alerts, an intact database, an audit
chain that verifies, and (scan) a lock that never outlives the run that held it.

The logs grow before each killed run, as a scheduled job meets them, so every run has work from start to end and
the kill moments can be spread over all of it. Each run is killed in one phase of a fixed plan (the first batch,
the middle, the end; for the scan also retention and notification), at a moment drawn with a fixed seed inside
that phase. Moments are placed by the run's progress, not by the clock alone: the files it has open, the share of
its bytes committed, the purge it recorded; so a machine busy with other work moves them no more than it slows the
run. Where each kill really landed is read back from the store and printed (``pytest -s``).

``tests/test_crash_consistency.py`` kills an ingest of one log at fixed fractions of its reading position; this
module adds the other formats, the scan and its later stages, and the random moments.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.scan import scan_lock

pytestmark = pytest.mark.reliability

SECCENTER = [sys.executable, "-m", "seccenter.cli"]
KILLS = 10
SEED = 1105
RECENT_LINES = {"auth.log": 40_000, "access.log": 20_000, "events.jsonl": 10_000}
OLD_LINES = 1_000
"""Lines added to the old log before each killed run: read, then erased by the run's retention (but for those an
alert points to: an alert counts from when it was stored as well)."""
PACKETS = 2_000
WEBHOOK_TIMEOUT = 1.0
FILE_SECONDS = 0.05
"""How long after opening a file a run may be killed (reading a part of any log takes longer)."""
POLL = 0.005
SCAN_ORDER = ("logs/auth.log", "logs/old-auth.log", "logs/access.log", "logs/events.jsonl", "pcaps/mixed.pcap")
"""The files of the scan's config, in the order it reads them."""
LOCK_MESSAGE = "another seccenter scan is running"


def _split(text: str, parts: int) -> list[str]:
    lines = text.splitlines(keepends=True)
    size = -(-len(lines) // parts)
    return ["".join(lines[start:start + size]) for start in range(0, size * parts, size)]


@dataclass
class Inputs:
    """The finished input files (``reference``) and the site whose logs grow towards them, one part per run."""

    reference: Path
    site: Path
    parts: dict[str, list[str]] = field(default_factory=dict)
    """Log name → its text in ``KILLS`` parts."""

    def add_log(self, name: str) -> None:
        """Grow the site's ``name`` towards the reference's, starting empty."""
        self.parts[name] = _split((self.reference / "logs" / name).read_text(encoding="utf-8"), KILLS)
        (self.site / "logs" / name).touch()

    def grow(self, run: int) -> None:
        """Append each log's part for ``run``."""
        for name, parts in self.parts.items():
            with (self.site / "logs" / name).open("a", encoding="utf-8") as log:
                log.write(parts[run])

    def files(self) -> list[Path]:
        """In the order ``seccenter ingest`` reads them."""
        return sorted((self.site / "logs").iterdir()) + sorted((self.site / "pcaps").iterdir())


@pytest.fixture
def inputs(tmp_path: Path, workloads: ModuleType) -> Inputs:
    """Syslog auth lines, a web access log and Sysmon JSON lines of known line counts, and a small capture (whole
    from the start: a capture that grows between reads splits its flows)."""
    reference, site = tmp_path / "reference", tmp_path / "site"
    for folder in (reference, site):
        (folder / "logs").mkdir(parents=True)
        (folder / "pcaps").mkdir()
    makers = {"auth.log": workloads.make_auth, "access.log": workloads.make_access,
              "events.jsonl": workloads.make_events}
    for seed, (name, lines) in enumerate(RECENT_LINES.items(), start=2):
        makers[name](str(reference / "logs" / name), lines, random.Random(seed))
    workloads.make_pcap(str(reference / "pcaps" / "mixed.pcap"), PACKETS, random.Random(1))
    shutil.copy(reference / "pcaps" / "mixed.pcap", site / "pcaps" / "mixed.pcap")
    grown = Inputs(reference, site)
    for name in RECENT_LINES:
        grown.add_log(name)
    return grown


# --- reading the store ---------------------------------------------------------------------------------------------


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql``; none while the store is not there or not yet migrated (a first run creating it)."""
    if not db.exists():
        return []
    try:
        with contextlib.closing(_connect(db)) as connection:
            return connection.execute(sql).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return []
        raise


def _offsets(db: Path) -> dict[str, int]:
    """Committed reading position of every file, by path."""
    return dict(_query(db, "SELECT path, offset FROM ingest_state"))


def _count(db: Path, table: str) -> int:
    rows = _query(db, f"SELECT count(*) FROM {table}")
    return rows[0][0] if rows else 0


def _left_to_read(files: list[Path], offsets: dict[str, int]) -> int:
    return sum(max(path.stat().st_size - offsets.get(str(path.resolve()), 0), 0) for path in files)


def _stored(db: Path, folder: Path) -> tuple[Counter[tuple[str, int, str]], Counter[tuple[str, str, int]],
                                              Counter[tuple[str, int]]]:
    """Events (path below ``folder``, offset, raw), alerts (rule, event path, offset) and quarantined records
    (path, offset), as multisets: a duplicate shows as a count of 2."""
    prefix = len(str(folder.resolve())) + 2
    with contextlib.closing(_connect(db)) as connection:
        events = Counter(connection.execute(
            "SELECT substr(origin_path, ?), origin_offset, raw FROM events", [prefix]))
        alerts = Counter(connection.execute(
            "SELECT a.rule_id, substr(e.origin_path, ?), e.origin_offset FROM alerts a"
            " JOIN events e ON e.id = a.event_id", [prefix]))
        quarantined = Counter(connection.execute(
            "SELECT substr(origin_path, ?), origin_offset FROM quarantine", [prefix]))
    return events, alerts, quarantined


def _assert_same_as_reference(db: Path, site: Path, reference_db: Path, reference: Path) -> Counter[str]:
    """The crashed store holds exactly what the clean run stored, each once; returns events by file."""
    events, alerts, quarantined = _stored(db, site)
    expected_events, expected_alerts, expected_quarantined = _stored(reference_db, reference)
    assert [key for key, count in events.items() if count > 1] == []
    assert [key for key, count in alerts.items() if count > 1] == []
    assert len(events) == len(expected_events) and events == expected_events
    assert len(alerts) == len(expected_alerts) and alerts == expected_alerts
    assert quarantined == expected_quarantined
    return Counter(path for path, _, _ in events.elements())


def _assert_intact(db: Path) -> None:
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    verified = CliRunner().invoke(main, ["--db", str(db), "audit", "verify", "--json"])
    assert verified.exit_code == 0, verified.output


# --- running and killing -------------------------------------------------------------------------------------------


def _environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "SECCENTER_DB"}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, env=_environment(), timeout=300, check=False)


@dataclass
class KillPoint:
    run: int
    phase: str
    """The phase of the plan the moment was drawn in."""
    moment: str
    """The moment drawn, in words."""
    killed: bool = False
    landed: str = ""
    """Where the run was when it died, read back from the store."""


class Watched:
    """A run of ``command`` reading ``files`` (in this order) into ``db``, watched from outside: the input file it
    holds open, the bytes it committed since it started, the notifications it tried, the purges it recorded."""

    def __init__(self, command: list[str], db: Path, files: list[Path]) -> None:
        self.db = db
        self.offsets = _offsets(db)
        # the files with something new to read, in reading order
        self.files = [str(path.resolve()) for path in files if _left_to_read([path], self.offsets)]
        self.to_read = _left_to_read(files, self.offsets)
        self.purges = _count(db, "purges")
        self.last_message = max([row[0] for row in _query(db, "SELECT id FROM notification_outbox")], default=0)
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env=_environment())

    def reading(self, path: str) -> Callable[[], bool]:
        """A condition: the run holds ``path`` open."""
        folder = f"/proc/{self.process.pid}/fd"

        def holds_open() -> bool:
            try:
                descriptors = os.listdir(folder)
            except OSError:
                return False
            for descriptor in descriptors:
                with contextlib.suppress(OSError):
                    if os.readlink(f"{folder}/{descriptor}") == path:
                        return True
            return False
        return holds_open

    def committed(self) -> int:
        now = _offsets(self.db)
        return sum(now.get(path, 0) - self.offsets.get(path, 0) for path in self.files)

    def notified(self) -> bool:
        """The run's notification stage is over: it tries the waiting messages oldest first, so its own message
        (it has new alerts every time) is the last one it tries."""
        return bool(_query(self.db, "SELECT 1 FROM notification_outbox WHERE id > "
                                    f"{self.last_message} AND attempts > 0"))

    def purged(self) -> bool:
        return _count(self.db, "purges") > self.purges

    def kill_after(self, condition: Callable[[], bool], delay: float) -> tuple[bool, str]:
        """SIGKILL the run ``delay`` seconds after ``condition`` first holds; (killed, stderr). A run that ended
        first must have ended well."""
        while self.process.poll() is None:
            if condition():
                try:
                    self.process.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    os.kill(self.process.pid, signal.SIGKILL)
                break
            time.sleep(POLL)
        _, err = self.process.communicate(timeout=300)
        killed = self.process.returncode == -signal.SIGKILL
        assert killed or self.process.returncode in (0, 1), err
        return killed, err


def _kill_in_phase(watched: Watched, phase: str, rng: random.Random, retention_seconds: float = 0.0
                   ) -> tuple[str, bool, str]:
    """Kill ``watched`` at a moment of ``phase`` drawn from ``rng``: (the moment in words, killed, stderr).

    The first batch, mid-run and near the end are a while after the run opens its first, a middle or its last file
    with new data; notification is after the last source is committed, retention after the run's own message was
    tried."""
    if phase in ("first batch", "mid-run", "near the end"):
        files = watched.files
        path = {"first batch": files[0], "near the end": files[-1]}.get(phase) or rng.choice(files[1:-1])
        delay = rng.uniform(0, FILE_SECONDS)
        return (f"{delay:.3f} s into {Path(path).name}",
                *watched.kill_after(watched.reading(path), delay))
    if phase == "notify":
        delay = rng.uniform(0, WEBHOOK_TIMEOUT)
        return (f"{delay:.3f} s after the last source",
                *watched.kill_after(lambda: watched.committed() >= watched.to_read, delay))
    assert phase == "retention"
    delay = rng.uniform(0, retention_seconds)
    return f"{delay:.3f} s after its notification", *watched.kill_after(watched.notified, delay)


def _report(command: str, points: list[KillPoint]) -> int:
    """Print where each kill landed; returns how many runs were killed (and recovered from)."""
    killed = [point for point in points if point.killed]
    print(f"\n{command}: {len(killed)} of {len(points)} kill points survived "
          f"(landed: {dict(Counter(point.landed for point in killed))})")
    for point in points:
        print(f"  run {point.run}: {point.phase}, {point.moment} -> "
              f"{point.landed if point.killed else 'ended before the kill'}")
    return len(killed)


# --- ingest ----------------------------------------------------------------------------------------------------------


def _ingest(db: Path, folder: Path) -> list[str]:
    return [*SECCENTER, "--db", str(db), "ingest", "--year", "2026", "--json",
            *map(str, sorted((folder / "logs").iterdir())), str(folder / "pcaps")]


def test_an_ingest_killed_at_ten_random_moments_then_run_again_stores_each_event_once(
        inputs: Inputs, record_property: Callable[[str, Any], None]) -> None:
    reference_db, db = inputs.reference / "seccenter.db", inputs.site / "seccenter.db"
    clean = _run(_ingest(reference_db, inputs.reference))
    assert clean.returncode == 0 and json.loads(clean.stdout)["errors"] == [], clean.stderr

    rng = random.Random(SEED)
    plan = ["first batch"] * 3 + ["mid-run"] * 5 + ["near the end"] * 2
    rng.shuffle(plan)
    points: list[KillPoint] = []
    for run, phase in enumerate(plan):
        inputs.grow(run)
        watched = Watched(_ingest(db, inputs.site), db, inputs.files())
        moment, killed, _ = _kill_in_phase(watched, phase, rng)
        offsets = _offsets(db)
        landed = ("before its first commit" if offsets == watched.offsets else
                  "after its last commit" if not _left_to_read(inputs.files(), offsets) else "mid-run")
        points.append(KillPoint(run, phase, moment, killed, landed))
    survived = _report("ingest", points)
    record_property("ingest_kill_points_survived", survived)

    final = _run(_ingest(db, inputs.site))
    assert final.returncode == 0 and json.loads(final.stdout)["errors"] == [], final.stderr
    assert survived >= KILLS - 1, "runs ended before their kill: the workload is too small"
    by_file = _assert_same_as_reference(db, inputs.site, reference_db, inputs.reference)
    assert {name: by_file[f"logs/{name}"] for name in RECENT_LINES} == RECENT_LINES
    assert by_file["pcaps/mixed.pcap"] > PACKETS // 2
    _assert_intact(db)


# --- scan ------------------------------------------------------------------------------------------------------------


@pytest.fixture
def silent_webhook() -> Iterator[str]:
    """A webhook URL on 127.0.0.1 whose port takes connections and never answers: every delivery waits for its
    timeout, so a run spends a while in its notification stage (and a kill can land there)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/csc"
    finally:
        listener.close()


def _write_config(folder: Path, webhook: str) -> Path:
    """Every source kind the growing logs need, retention that erases the 1980 log (but for the lines with alerts)
    and keeps the rest for 20 years, and a webhook for the new alerts."""
    path = folder / "seccenter.yaml"
    path.write_text(textwrap.dedent(f"""\
        database: seccenter.db
        organisation: {{actor: crash-test, timezone: UTC}}
        sources:
          logs:
            - {{path: logs/auth.log, year: 2026}}
            - {{path: logs/old-auth.log, year: 1980}}
            - logs/access.log
            - logs/events.jsonl
          pcaps: [pcaps]
        threshold: high
        retention: {{events: 7300d, alerts: 7300d, quarantine: 7300d}}
        notifications:
          webhook: {{url: "{webhook}", timeout: {WEBHOOK_TIMEOUT:g}}}
    """), encoding="utf-8")
    return path


def _scan(db: Path, config: Path) -> list[str]:
    return [*SECCENTER, "--db", str(db), "scan", "--config", str(config), "--json"]


def _where_the_scan_died(watched: Watched, runs_before: int) -> str:
    if _count(watched.db, "scan_runs") == runs_before:
        return "start-up"
    if _query(watched.db, "SELECT status FROM scan_runs ORDER BY id DESC LIMIT 1")[0][0] != "running":
        return "after its summary was stored"
    committed = watched.committed()
    if committed == 0:
        return "rules or first batch"
    if committed < watched.to_read:
        return "sources"
    return "retention" if watched.notified() else "notify"


def test_a_scan_killed_at_ten_random_moments_then_run_again_stores_each_event_once(
        inputs: Inputs, workloads: ModuleType, silent_webhook: str,
        record_property: Callable[[str, Any], None]) -> None:
    workloads.make_auth(str(inputs.reference / "logs" / "old-auth.log"), OLD_LINES * KILLS, random.Random(9))
    inputs.add_log("old-auth.log")
    reference_db, db = inputs.reference / "seccenter.db", inputs.site / "seccenter.db"
    config = _write_config(inputs.site, silent_webhook)
    clean = _run(_scan(reference_db, _write_config(inputs.reference, silent_webhook)))
    assert clean.returncode == 1, clean.stderr
    retention_seconds = json.loads(clean.stdout)["stages"]["retention"] / KILLS  # each run purges one part

    rng = random.Random(SEED)
    plan = ["first batch"] * 2 + ["mid-run"] * 4 + ["retention"] * 2 + ["notify"] * 2
    rng.shuffle(plan)
    points: list[KillPoint] = []
    lock = Path(f"{db.resolve()}.lock")
    for run, phase in enumerate(plan):
        inputs.grow(run)
        runs_before = _count(db, "scan_runs")
        watched = Watched(_scan(db, config), db, [inputs.site / name for name in SCAN_ORDER])
        moment, killed, err = _kill_in_phase(watched, phase, rng, retention_seconds)
        assert LOCK_MESSAGE not in err
        point = KillPoint(run, phase, moment, killed, _where_the_scan_died(watched, runs_before))
        if killed and point.landed != "start-up":
            # the lock file stays; its flock died with the process: the next run is not kept out
            assert lock.exists()
            with scan_lock(db):
                pass
        points.append(point)
    survived = _report("scan", points)
    record_property("scan_kill_points_survived", survived)

    final = _run(_scan(db, config))
    assert final.returncode in (0, 1) and LOCK_MESSAGE not in final.stderr, final.stderr
    summary = json.loads(final.stdout)
    assert summary["status"] in ("ok", "alerts") and summary["error"] is None
    assert all(source["error"] is None for source in summary["sources"])
    assert survived >= KILLS - 1, "runs ended before their kill: the workload is too small"
    landed = {point.landed for point in points if point.killed}
    assert {"sources", "notify"} <= landed, landed

    by_file = _assert_same_as_reference(db, inputs.site, reference_db, inputs.reference)
    assert {name: by_file[f"logs/{name}"] for name in RECENT_LINES} == RECENT_LINES
    assert by_file["pcaps/mixed.pcap"] > PACKETS // 2
    _assert_intact(db)
    with contextlib.closing(_connect(db)) as connection:
        assert connection.execute("SELECT count(*) FROM events WHERE origin_path LIKE '%/old-auth.log' AND NOT EXISTS"
                                  " (SELECT 1 FROM alerts WHERE alerts.event_id = events.id)").fetchone()[0] == 0
        # each purge is documented by its row and its audit entry together, or not at all
        assert connection.execute("SELECT count(*) FROM purges").fetchone()[0] == connection.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'store.purge'").fetchone()[0] > 0
        # a run killed after queueing its message leaves one message, retried by the next run, not two
        assert connection.execute("SELECT count(*) - count(DISTINCT run_id) FROM notification_outbox"
                                  ).fetchone()[0] == 0
