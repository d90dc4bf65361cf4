"""An ingest killed with SIGKILL at any moment and run again ends with every event exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

FAILED = "Nov  3 10:{m:02d}:{s:02d} srv01 sshd[{n}]: Failed password for root from 203.0.113.7 port {p} ssh2\n"
BENIGN = "Nov  3 10:{m:02d}:{s:02d} srv01 CRON[{n}]: pam_unix(cron:session): session closed for user root\n"
LINES = 40_000


def write_log(path: Path) -> int:
    """A log where every fifth line is a failed root login; returns how many of those."""
    with path.open("w") as stream:
        for n in range(LINES):
            template = FAILED if n % 5 == 0 else BENIGN
            stream.write(template.format(m=n // 60 % 60, s=n % 60, n=n, p=1024 + n % 60000))
    return LINES // 5


def committed_offset(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT max(offset) FROM ingest_state").fetchone()
    except sqlite3.Error:
        return 0
    return row[0] or 0 if row else 0


def ingest_command(db: Path, log: Path) -> list[str]:
    return [sys.executable, "-m", "seccenter.cli", "--db", str(db), "ingest", "--year", "2026", str(log), "--json"]


def test_sigkill_at_several_points_then_rerun_stores_each_event_once(tmp_path: Path) -> None:
    log, db = tmp_path / "auth.log", tmp_path / "s.db"
    failures = write_log(log)
    size = log.stat().st_size
    kills = 0
    for fraction in (0.1, 0.3, 0.55, 0.8):
        process = subprocess.Popen(ingest_command(db, log), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while process.poll() is None and committed_offset(db) < size * fraction and time.monotonic() < deadline:
            time.sleep(0.005)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
    assert kills >= 2, "the ingest finished before it could be killed: make the log longer"
    final = subprocess.run(ingest_command(db, log), capture_output=True, text=True, check=True)
    assert '"errors": []' in final.stdout
    with sqlite3.connect(db) as conn:
        events = conn.execute("SELECT count(*), count(DISTINCT origin_offset) FROM events").fetchone()
        alerts = conn.execute(
            "SELECT count(*) FROM alerts WHERE rule_title = 'SSH Login Failure for root'").fetchone()[0]
    assert events == (LINES, LINES)
    assert alerts == failures
