"""``seccenter scan``: one run over logs, captures and files gives what the separate commands give, a second run
adds nothing; the lock keeps runs apart; the exit codes; the stored summary; analysts' writes during a scan."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner

from seccenter import pipeline
from seccenter.cli import main
from seccenter.config import load_config
from seccenter.detect.sigma import load_rules, standard_pipeline
from seccenter.resources import ioc_lists, samples, sigma_rules
from seccenter.scan import ScanLocked, applied_environment, scan_lock
from seccenter.store.db import open_db
from seccenter.store.retention import purge

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
SOURCE_KEYS = {"name", "kind", "files", "events", "new", "malformed", "alerts", "error", "failed", "note", "seconds"}
SUMMARY_KEYS = {"run_id", "started", "finished", "duration", "status", "exit_code", "config", "database", "threshold",
                "sources", "totals", "alerts_by_level", "new_at_or_above_threshold", "stages", "retention",
                "notifications", "warnings", "error"}
SECCENTER = [sys.executable, "-m", "seccenter.cli"]
NO_DB_OVERRIDE: dict[str, str | None] = {"SECCENTER_DB": None}


def _write_config(folder: Path, text: str) -> Path:
    path = folder / "seccenter.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def site(tmp_path: Path, workloads: ModuleType) -> Path:
    """A folder with sample logs, a capture folder (and a file in it that is no capture), a file share holding
    the EICAR test file, and a config naming them all."""
    (tmp_path / "logs").mkdir()
    for name in ("auth.log", "access.log"):
        shutil.copy(samples() / name, tmp_path / "logs" / name)
    (tmp_path / "pcaps").mkdir()
    workloads.make_pcap(str(tmp_path / "pcaps" / "mixed.pcap"), 300, random.Random(7))
    (tmp_path / "pcaps" / "README.txt").write_text("captures of the DMZ switch port\n")
    (tmp_path / "share").mkdir()
    (tmp_path / "share" / "eicar.com").write_bytes(EICAR)
    (tmp_path / "share" / "report.txt").write_text("quarterly report\n")
    _write_config(tmp_path, f"""
        database: seccenter.db
        organisation: {{actor: scan-bot, timezone: Europe/Berlin}}
        sources:
          logs: ["logs/*.log"]
          pcaps: [pcaps]
          yara: [{{paths: [share]}}]
          ioc: ["{ioc_lists()}"]
        threshold: high
    """)
    return tmp_path


def _scan(runner: CliRunner, config: Path, *args: str, env: dict[str, str | None] | None = None) -> Any:
    return runner.invoke(main, [*args, "scan", "--config", str(config), "--json"],
                         env={**NO_DB_OVERRIDE, **(env or {})})


def _by_kind(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {source["kind"]: source for source in summary["sources"]}


def _alert_count(db: Path, where: str = "1", params: tuple[Any, ...] = ()) -> int:
    with sqlite3.connect(db) as connection:
        return connection.execute(f"SELECT count(*) FROM alerts WHERE {where}", params).fetchone()[0]


def test_a_scan_reads_every_source_like_the_separate_commands_and_a_second_run_adds_nothing(
        site: Path, runner: CliRunner) -> None:
    first = _scan(runner, site / "seccenter.yaml")
    assert first.exit_code == 1, first.output
    summary = json.loads(first.stdout)
    sources = _by_kind(summary)

    # the peers: the same work done by `seccenter ingest` and `seccenter yara scan` into another store
    peer_db = site / "peer.db"
    logs = runner.invoke(main, ["--db", str(peer_db), "ingest", str(site / "logs" / "access.log"),
                                str(site / "logs" / "auth.log"), "--ioc", str(ioc_lists()), "--json"])
    pcap = runner.invoke(main, ["--db", str(peer_db), "ingest", str(site / "pcaps" / "mixed.pcap"), "--json"])
    files = runner.invoke(main, ["--db", str(peer_db), "yara", "scan", str(site / "share"), "--ioc",
                                 str(ioc_lists()), "--json"])
    assert logs.exit_code == pcap.exit_code == files.exit_code == 0, logs.output + pcap.output + files.output
    logs_peer, pcap_peer = json.loads(logs.stdout), json.loads(pcap.stdout)
    assert (sources["logs"]["files"], sources["logs"]["events"], sources["logs"]["alerts"]) == (
        2, logs_peer["events"], logs_peer["alerts"])
    assert sources["logs"]["new"] == logs_peer["events"] > 500
    assert (sources["pcaps"]["files"], sources["pcaps"]["events"], sources["pcaps"]["alerts"]) == (
        1, pcap_peer["events"], pcap_peer["alerts"])
    assert sources["pcaps"]["note"] == "1 other file left alone"
    assert sources["yara"]["files"] == 2 and sources["yara"]["alerts"] == len(json.loads(files.stdout)["matches"]) > 0
    assert summary["totals"]["alerts"] == _alert_count(site / "seccenter.db") == _alert_count(peer_db)
    assert summary["alerts_by_level"] == {level: _alert_count(site / "seccenter.db", "level = ?", (level,))
                                          for level in ("critical", "high", "medium", "low", "informational")}
    assert summary["new_at_or_above_threshold"] == _alert_count(
        site / "seccenter.db", "level IN ('high', 'critical')") > 0
    assert _alert_count(site / "seccenter.db", "rule_title LIKE '%EICAR%'") >= 1
    assert summary["status"] == "alerts" and summary["error"] is None and summary["warnings"] == []

    second = _scan(runner, site / "seccenter.yaml")
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["totals"] == {"files": 3, "events": 0, "new": 0, "malformed": 0, "alerts": 0}
    assert again["new_at_or_above_threshold"] == 0 and again["status"] == "ok"
    assert _by_kind(again)["yara"]["note"] == "2 unchanged"


def test_new_log_lines_and_files_are_read_on_the_next_run(site: Path, runner: CliRunner) -> None:
    assert _scan(runner, site / "seccenter.yaml").exit_code == 1
    with (site / "logs" / "auth.log").open("a") as log:
        log.write("Mar  3 10:00:01 gw sshd[4242]: Failed password for root from 203.0.113.50 port 50000 ssh2\n")
        log.write("Mar  3 10:00:02 gw sshd[4242]: Failed password for root from 203.0.113.50 port 50001")
    shutil.copy(samples() / "access.log", site / "logs" / "vhost-access.log")  # a new file matching the glob
    result = _scan(runner, site / "seccenter.yaml")
    logs = _by_kind(json.loads(result.stdout))["logs"]
    # the line without its newline is still being written: it is left for the run after
    assert logs["files"] == 3 and logs["new"] == 1 + sum(1 for _ in (samples() / "access.log").open())


def test_the_summary_is_stored_as_printed(site: Path, runner: CliRunner) -> None:
    result = _scan(runner, site / "seccenter.yaml")
    printed = json.loads(result.stdout)
    assert set(printed) == SUMMARY_KEYS
    assert all(set(source) == SOURCE_KEYS for source in printed["sources"])
    assert set(printed["stages"]) == {"rules", "logs", "pcaps", "interface", "yara", "retention", "notify"}
    assert printed["database"] == str(site / "seccenter.db") and printed["config"] == str(site / "seccenter.yaml")
    with sqlite3.connect(site / "seccenter.db") as connection:
        row = connection.execute("SELECT id, status, exit_code, finished, summary, first_alert_id FROM scan_runs"
                                 ).fetchone()
    assert row[:3] == (printed["run_id"], "alerts", 1) and row[3] is not None and row[5] == 1
    assert json.loads(row[4]) == printed


def test_the_table_and_the_exit_code_without_json(site: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["scan", "--config", str(site / "seccenter.yaml")], env=NO_DB_OVERRIDE)
    assert result.exit_code == 1
    assert "Scan 1" in result.stdout and "new alerts at or above high" in result.stdout
    assert "exit 1 (alerts)" in result.stdout
    quiet = runner.invoke(main, ["scan", "--config", str(site / "seccenter.yaml"), "--quiet"], env=NO_DB_OVERRIDE)
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_db_option_and_environment_override_the_configured_database(site: Path, runner: CliRunner) -> None:
    other = site / "other.db"
    assert _scan(runner, site / "seccenter.yaml", "--db", str(other)).exit_code == 1
    assert other.exists() and not (site / "seccenter.db").exists()
    from_env = site / "env.db"
    assert _scan(runner, site / "seccenter.yaml", env={"SECCENTER_DB": str(from_env)}).exit_code == 1
    assert from_env.exists() and not (site / "seccenter.db").exists()


def test_a_bad_config_exits_2_with_every_problem_and_file_line(tmp_path: Path, runner: CliRunner) -> None:
    config = _write_config(tmp_path, """
        database: seccenter.db
        sources:
          logs: [a.log]
          pcap: [captures]
        threshold: severe
    """)
    result = _scan(runner, config)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {config}:4: unknown key 'pcap' in sources; did you mean 'pcaps'?",
        f"Error: {config}:5: threshold: 'severe' is not one of informational, low, medium, high, critical",
    ]
    assert not (tmp_path / "seccenter.db").exists()
    missing = _scan(runner, tmp_path / "absent.yaml")
    assert missing.exit_code == 2 and f"{tmp_path / 'absent.yaml'}: No such file or directory" in missing.stderr
    assert runner.invoke(main, ["scan"]).exit_code == 2  # --config is required


def test_a_database_folder_that_does_not_exist_exits_2(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "a.log").write_text("x\n")
    result = _scan(runner, _write_config(tmp_path, "database: missing/s.db\nsources: {logs: [a.log]}\n"))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"Error: cannot open the lock file {tmp_path / 'missing' / 's.db.lock'}: "
                             "No such file or directory\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a link to another user needs root")
def test_a_database_path_that_is_another_users_symbolic_link_exits_2(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "a.log").write_text("")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "s.db"
    os.symlink(elsewhere / "chosen.db", link)
    os.lchown(link, 65534, 65534)
    config = _write_config(tmp_path, "database: s.db\nsources: {logs: [a.log]}\n")
    result = runner.invoke(main, ["scan", "--config", str(config)], env=NO_DB_OVERRIDE)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {link} is a symbolic link owned by another user (uid 65534); refusing to open"
                             " the database through it\n")
    assert list(elsewhere.iterdir()) == []  # neither the store nor its lock file was made where the link points


def test_unusable_rules_and_placeholders_exit_2(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "empty-rules").mkdir()
    (tmp_path / "a.log").write_text("x\n")
    config = _write_config(tmp_path, "database: s.db\nsources: {logs: [a.log]}\nrules: {sigma: [empty-rules]}\n")
    result = _scan(runner, config)
    assert result.exit_code == 2
    stored = json.loads(result.stdout)
    assert stored["status"] == "failed" and "no Sigma rule could be loaded" in stored["error"]
    assert "Error: no Sigma rule could be loaded" in result.stderr
    (tmp_path / "placeholders.yaml").write_text("- not a mapping\n")
    config = _write_config(tmp_path, "database: s.db\nsources: {logs: [a.log]}\nrules: {placeholders: "
                                     "placeholders.yaml}\n")
    result = _scan(runner, config)
    assert result.exit_code == 2 and "placeholders must be a mapping" in result.stderr


def test_a_failing_source_is_reported_and_the_run_goes_on(site: Path, runner: CliRunner) -> None:
    (site / "logs" / "secret.log").write_text("Mar  3 10:00:01 gw sshd[1]: Failed password for root from 1.2.3.4\n")
    (site / "logs" / "secret.log").chmod(0)
    config = _write_config(site, """
        database: seccenter.db
        sources:
          logs: [logs/secret.log, "missing/*.log", logs/access.log]
          interface: {name: nosuch0, seconds: 1}
          yara: [{paths: [nowhere]}]
    """)
    result = _scan(runner, config)
    summary = json.loads(result.stdout)
    failed = {source["name"]: source["error"] for source in summary["sources"] if source["failed"]}
    if os.geteuid() != 0:  # root reads the file anyway
        assert failed.pop(str(site / "logs" / "secret.log")) == "Permission denied"
    assert failed == {str(site / "missing" / "*.log"): "no file matches",
                      "nosuch0": "cannot capture on nosuch0: Interface 'nosuch0' not found !",
                      str(site / "nowhere"): "no such file or directory"}
    read = {source["name"]: source for source in summary["sources"]}[str(site / "logs" / "access.log")]
    assert read["new"] > 200 and read["error"] is None
    assert result.exit_code == 1 and summary["error"] is None


def test_every_source_failing_exits_2(tmp_path: Path, runner: CliRunner) -> None:
    config = _write_config(tmp_path, "database: s.db\nsources: {logs: [gone.log], pcaps: [no-captures]}\n")
    result = _scan(runner, config)
    assert result.exit_code == 2 and json.loads(result.stdout)["status"] == "failed"
    assert "Error: every source failed" in result.stderr
    quiet = runner.invoke(main, ["scan", "--config", str(config), "--quiet"], env=NO_DB_OVERRIDE)
    assert quiet.exit_code == 2 and quiet.stdout == ""
    assert quiet.stderr.splitlines() == [f"logs {tmp_path / 'gone.log'}: no such file or directory",
                                         f"pcaps {tmp_path / 'no-captures'}: no such file or directory",
                                         "Error: every source failed"]


def test_an_empty_capture_folder_is_no_failure(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "pcaps").mkdir()
    result = _scan(runner, _write_config(tmp_path, "database: s.db\nsources: {pcaps: [pcaps]}\n"))
    assert result.exit_code == 0 and json.loads(result.stdout)["sources"][0]["note"] == "no capture files"


def test_compressed_captures_are_found_by_their_content(tmp_path: Path, runner: CliRunner,
                                                        workloads: ModuleType) -> None:
    (tmp_path / "pcaps" / "2026").mkdir(parents=True)
    workloads.make_pcap(str(tmp_path / "capture"), 200, random.Random(3))
    (tmp_path / "pcaps" / "2026" / "dmz-0800").write_bytes(gzip.compress((tmp_path / "capture").read_bytes()))
    (tmp_path / "pcaps" / "notes.gz").write_bytes(gzip.compress(b"not a capture\n"))
    (tmp_path / "pcaps" / "broken.gz").write_bytes(b"\x1f\x8b garbage")
    result = _scan(runner, _write_config(tmp_path, "database: s.db\nsources: {pcaps: [pcaps]}\n"))
    summary = json.loads(result.stdout)
    [source] = summary["sources"]
    assert (source["files"], source["note"], source["error"]) == (1, "2 other files left alone", None)
    assert source["new"] > 200 and result.exit_code == (1 if summary["new_at_or_above_threshold"] else 0)


def test_hostile_file_names_are_shown_escaped(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "logs").mkdir()
    shutil.copy(samples() / "auth.log", tmp_path / "logs" / "[red]x\x1b[31m.log")
    (tmp_path / "logs" / "[bold]gone\x1b]0;title\x07.log").write_text("")
    (tmp_path / "logs" / "[bold]gone\x1b]0;title\x07.log").chmod(0)
    config = _write_config(tmp_path, "database: s.db\nsources: {logs: [\"logs\"]}\n")
    result = runner.invoke(main, ["scan", "--config", str(config)], env={**NO_DB_OVERRIDE, "COLUMNS": "200"})
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert result.exit_code == 1


C1_AND_BIDI = "\x9b31m\u202e"
"""A C1 CSI (some terminals act on it) and a right-to-left override: JSON output holds them as \\u escapes."""


def test_json_output_of_scan_and_detect_holds_no_raw_c1_or_bidi_character(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / f"access{C1_AND_BIDI}.log"
    log.write_text(f'198.51.100.23 - - [24/Nov/2026:00:58:40 +0100] "GET /../../etc/passwd HTTP/1.1" 404 12 "-"'
                   f' "curl/8.5 {C1_AND_BIDI}gnp.exe"\n', encoding="utf-8")
    # the source named in YAML escapes, which the config loader turns into the characters
    config = _write_config(tmp_path, 'database: s.db\nsources: {logs: ["logs/access\\x9b31m\\u202e.log"]}\n')
    scanned = _scan(runner, config)
    detected = runner.invoke(main, ["detect", "--rules", str(sigma_rules()), "--input-format", "access", str(log)])
    assert scanned.exit_code in (0, 1) and detected.exit_code == 0, (scanned.output, detected.output)
    for output in (scanned.stdout, detected.stdout):
        assert "\x9b" not in output and "\u202e" not in output and "\\u009b31m\\u202e" in output
    # the same values, escaped: a JSON reader gets them back
    assert json.loads(scanned.stdout)["sources"][0]["name"] == str(log)
    alerts = [json.loads(line) for line in detected.stdout.splitlines()]
    assert alerts and all(C1_AND_BIDI in json.dumps(alert, ensure_ascii=False) for alert in alerts)


@pytest.mark.parametrize(("url", "warned"), [
    ("http://csc:pw@siem.example.org:8080/hooks/csc?token=s3cret", "http://siem.example.org:8080"),
    ("HTTP://192.0.2.10/hook", "http://192.0.2.10"),
    ("http://[2001:db8::1]/hook", "http://[2001:db8::1]"),
    ("https://siem.example.org/hooks/csc", None),
    ("http://127.0.0.2:9/hook", None),
    ("http://[::1]:9/hook", None),
    ("http://LOCALHOST:9/hook", None),
])
def test_a_webhook_over_plain_http_to_another_host_is_warned_about_on_every_run(
        tmp_path: Path, runner: CliRunner, url: str, warned: str | None) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "empty.log").write_text("")  # no alert: nothing is sent anywhere
    config = _write_config(tmp_path, f"""
        database: s.db
        sources: {{logs: [logs/empty.log]}}
        notifications: {{webhook: {{url: "{url}", timeout: 1}}}}
    """)
    for quiet in ((), ("--quiet",)):
        result = runner.invoke(main, ["scan", "--config", str(config), *quiet], env=NO_DB_OVERRIDE)
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.stderr.splitlines() if "unencrypted" in line]
        assert warnings == ([f"warning: the webhook {warned} gets the alert digest (personal data) unencrypted"
                             " over http://; use https://"] if warned else [])
        assert "s3cret" not in result.stderr and "pw@" not in result.stderr and "/hook" not in result.stderr


def test_organisation_settings_apply_for_the_run_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECCENTER_ACTOR", "analyst")
    monkeypatch.delenv("SECCENTER_NIS2", raising=False)
    with applied_environment({"SECCENTER_ACTOR": "scan-bot", "SECCENTER_NIS2": "essential"}):
        assert os.environ["SECCENTER_ACTOR"] == "scan-bot" and os.environ["SECCENTER_NIS2"] == "essential"
    assert os.environ["SECCENTER_ACTOR"] == "analyst" and "SECCENTER_NIS2" not in os.environ


def test_the_contrib_example_loads() -> None:
    config = load_config(Path(__file__).resolve().parent.parent / "contrib" / "seccenter.yaml")
    assert config.sources.logs and config.sources.pcaps and config.sources.yara and config.sources.interface



# --- the interface --------------------------------------------------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="capturing packets needs root or CAP_NET_RAW")


def _send_dns_queries(name: str, until: float) -> None:
    question = b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        number = 0
        while time.monotonic() < until:
            number += 1
            sender.sendto(struct.pack("!HHHHHH", number, 0x0100, 1, 0, 0, 0) + question + b"\0\x01\0\x01",
                          ("127.0.0.1", 53))
            time.sleep(0.2)


@needs_root
def test_the_interface_is_captured_for_its_seconds(tmp_path: Path, runner: CliRunner) -> None:
    config = _write_config(tmp_path, """
        database: s.db
        sources:
          interface: {name: lo, seconds: 3, filter: "udp dst port 53 and host 127.0.0.1"}
    """)
    sender = threading.Thread(target=_send_dns_queries, args=("seccenter-scan-test.example", time.monotonic() + 4))
    sender.start()
    began = time.monotonic()
    result = _scan(runner, config)
    sender.join()
    summary = json.loads(result.stdout)
    [interface] = summary["sources"]
    assert result.exit_code == 0 and interface["kind"] == "interface" and interface["error"] is None
    assert interface["new"] >= 3 and interface["note"].endswith("packets in 3 s")
    assert 3 <= time.monotonic() - began < 30
    with sqlite3.connect(tmp_path / "s.db") as connection:
        assert connection.execute("SELECT count(*) FROM events WHERE fields LIKE '%seccenter-scan-test.example%'"
                                  ).fetchone()[0] >= 3


@needs_root
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv to drop privileges")
def test_an_interface_that_may_not_be_captured_fails_alone() -> None:
    folder = Path(tempfile.mkdtemp(prefix="seccenter-unprivileged-"))
    try:
        folder.chmod(0o777)  # the scan runs as nobody
        shutil.copy(samples() / "auth.log", folder / "auth.log")
        (folder / "auth.log").chmod(0o644)
        config = _write_config(folder, "database: s.db\nsources:\n  logs: [auth.log]\n"
                                       "  interface: {name: lo, seconds: 1}\n")
        config.chmod(0o644)
        result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *SECCENTER, "scan",
                                 "--config", str(config), "--json"], capture_output=True, text=True,
                                env=_environment(), timeout=120, check=False)
        assert result.stdout, f"the scan as nobody printed no summary (can nobody run {sys.executable}?): " \
                              f"{result.stderr}"
        summary = json.loads(result.stdout)
    finally:
        shutil.rmtree(folder)
    logs, interface = summary["sources"]
    assert interface["failed"] and interface["error"] == "cannot capture on lo: [Errno 1] Operation not permitted"
    assert logs["new"] > 200 and not logs["failed"]
    assert result.returncode == 1 and summary["status"] == "alerts"


# --- the lock -------------------------------------------------------------------------------------------------


def _running_scans(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT count(*) FROM scan_runs WHERE status = 'running'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def _wait_for_scan(db: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    """Until the scan has recorded itself as running, which it does holding its lock. (Probing the lock with
    flock would take it for an instant, and a scan trying it in that instant would rightly give up.)"""
    deadline = time.monotonic() + timeout
    while not _running_scans(db):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the scan never started"
        time.sleep(0.05)


def _environment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "SECCENTER_DB"}


def test_a_run_finding_the_lock_held_exits_2_at_once(site: Path) -> None:
    db = site / "seccenter.db"
    with scan_lock(db) as lock:
        assert lock == Path(f"{db}.lock") and stat.S_IMODE(lock.stat().st_mode) == 0o600
        with pytest.raises(ScanLocked), scan_lock(db):
            pass
        began = time.monotonic()
        result = subprocess.run([*SECCENTER, "scan", "--config", str(site / "seccenter.yaml")], capture_output=True,
                                text=True, env=_environment(), timeout=120, check=False)
        waited = time.monotonic() - began
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"Error: another seccenter scan is running (lock {lock} held)\n"
    assert waited < 30  # start-up only: it does not wait for the lock
    assert not db.exists()  # the store is not even opened
    with scan_lock(db):  # released with its holder
        pass


def test_two_scans_at_once_one_works_the_other_exits_with_the_lock_message(site: Path, workloads: ModuleType) -> None:
    workloads.make_auth(str(site / "logs" / "big-auth.log"), 150_000, random.Random(2))
    config = site / "seccenter.yaml"
    first = subprocess.Popen([*SECCENTER, "scan", "--config", str(config), "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=_environment())
    try:
        _wait_for_scan(site / "seccenter.db", first)
        second = subprocess.run([*SECCENTER, "scan", "--config", str(config), "--json"], capture_output=True,
                                text=True, env=_environment(), timeout=120, check=False)
        first_still_running = first.poll() is None
        out, err = first.communicate(timeout=300)
    finally:
        first.kill()
    assert first_still_running, "the first scan ended before the second started: the workload is too small"
    assert second.returncode == 2 and second.stdout == ""
    assert "another seccenter scan is running (lock" in second.stderr
    assert first.returncode == 1, err
    summary = json.loads(out)
    assert _by_kind(summary)["logs"]["new"] > 150_000 and summary["status"] == "alerts"
    with sqlite3.connect(site / "seccenter.db") as connection:
        assert connection.execute("SELECT count(*), min(status) FROM scan_runs").fetchone() == (1, "alerts")


# --- analysts write while a scan ingests ----------------------------------------------------------------------


def _writes_during_a_scan(site: Path, workloads: ModuleType, runner: CliRunner, seconds: float, copies: int) -> None:
    """Fill the store (alerts, an incident), start a scan over a large workload, and while it ingests ack alerts
    and add incident notes with the CLI for ``seconds``; then stop the scan (SIGTERM). Every write must succeed
    at once and be in the store."""
    db = site / "seccenter.db"
    base = ["--db", str(db)]
    assert _scan(runner, site / "seccenter.yaml").exit_code == 1
    opened = runner.invoke(main, [*base, "incident", "open", "--title", "brute force on gw", "--json"])
    incident = json.loads(opened.stdout)["id"]
    with sqlite3.connect(db) as connection:
        alert_ids = [row[0] for row in connection.execute("SELECT id FROM alerts ORDER BY id LIMIT 40")]
    (site / "big").mkdir()
    workloads.make_auth(str(site / "big" / "auth-0.log"), 250_000, random.Random(2))
    for number in range(1, copies):
        shutil.copy(site / "big" / "auth-0.log", site / "big" / f"auth-{number}.log")
    config = _write_config(site / "big", "database: ../seccenter.db\nsources: {logs: [\"*.log\"]}\n")
    scan = subprocess.Popen([*SECCENTER, "scan", "--config", str(config), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_environment())
    acks = notes = 0
    try:
        _wait_for_scan(db, scan)
        with sqlite3.connect(db) as connection:
            events_before = connection.execute("SELECT count(*) FROM events").fetchone()[0]
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            alert = alert_ids[acks % len(alert_ids)]
            ack = runner.invoke(main, [*base, "alerts", "ack", str(alert), "--note", f"write test ack {acks}"])
            assert ack.exit_code == 0, ack.output
            acks += 1
            note = runner.invoke(main, [*base, "incident", "note", str(incident), f"write test note {notes}"])
            assert note.exit_code == 0, note.output
            notes += 1
            if notes % 20 == 0:  # a separate process too, as an analyst's terminal is
                other = subprocess.run([*SECCENTER, *base, "incident", "note", str(incident),
                                        f"write test note {notes}"], capture_output=True, text=True,
                                       env=_environment(), timeout=60, check=False)
                assert other.returncode == 0, other.stderr
                notes += 1
        assert scan.poll() is None, f"the scan ended before the writers did: {scan.communicate()}"
        with sqlite3.connect(db) as connection:
            events_during = connection.execute("SELECT count(*) FROM events").fetchone()[0] - events_before
        scan.send_signal(signal.SIGTERM)
        out, err = scan.communicate(timeout=120)
    finally:
        scan.kill()
    assert "database is locked" not in err
    assert scan.returncode == 2 and json.loads(out)["status"] == "interrupted", (out, err)
    assert events_during > 10_000  # the scan was writing all along
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM alert_notes WHERE note LIKE 'write test ack %'"
                                  ).fetchone()[0] == acks
        assert connection.execute("SELECT count(*) FROM incident_activity WHERE detail LIKE 'write test note %'"
                                  ).fetchone()[0] == notes
        assert connection.execute("SELECT status, exit_code FROM scan_runs ORDER BY id DESC LIMIT 1"
                                  ).fetchone() == ("interrupted", 2)
    assert acks > 20 and notes > 20


def test_each_batch_takes_the_write_lock_before_it_reads(tmp_path: Path) -> None:
    """The last batch of a file that ends on a batch boundary stores no event: it reads (the correlation table)
    before it writes its reading position. A deferred transaction would then fail at once with "database is
    locked" when another process committed in between; the batch must hold the write lock from its start."""
    log = tmp_path / "auth.log"
    log.write_text("".join((samples() / "auth.log").read_text().splitlines(keepends=True)[:100]))
    db = open_db(tmp_path / "s.db")
    analyst = sqlite3.connect(tmp_path / "s.db", isolation_level=None, timeout=0)
    analyst.execute("CREATE TABLE notes (note TEXT)")
    attempts: list[str] = []

    def write_between(statement: str) -> None:
        if statement.startswith("INSERT INTO ingest_state") and len(attempts) < 3:
            try:
                analyst.execute("INSERT INTO notes VALUES ('written while the batch runs')")
                attempts.append("committed")
            except sqlite3.OperationalError as error:
                attempts.append(str(error))

    db.conn.set_trace_callback(write_between)
    summary = pipeline.ingest(db, [log], load_rules([sigma_rules()], standard_pipeline()), batch_size=50)
    assert summary.sources[0].error is None and summary.sources[0].new_events == 100
    # 100 lines in batches of 50: the third batch is the empty one; no write got in while any batch ran
    assert attempts == ["database is locked"] * 3


def test_cli_writes_succeed_while_a_scan_ingests_for_30_seconds(site: Path, workloads: ModuleType,
                                                                runner: CliRunner) -> None:
    _writes_during_a_scan(site, workloads, runner, seconds=30, copies=8)


# --- retention and notifications ------------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def _receiver(received: list[dict[str, Any]], port: int = 0) -> ThreadingHTTPServer:
    """A webhook receiver on 127.0.0.1 only, serving in a thread; what it receives goes to ``received``."""
    server = ThreadingHTTPServer(("127.0.0.1", port), type("Hook", (_Hook,), {"received": received}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]], ThreadingHTTPServer]]:
    received: list[dict[str, Any]] = []
    server = _receiver(received)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/csc", received, server
    finally:
        server.shutdown()
        server.server_close()


def _old_access_log(folder: Path) -> Path:
    """The sample access log moved to 2020: older than any retention period below."""
    folder.mkdir(exist_ok=True)
    path = folder / "access.log"
    path.write_text((samples() / "access.log").read_text().replace("/2026:", "/2020:"))
    return path


def test_retention_keeps_and_notifies_what_the_run_found_on_lines_dated_long_ago(
        tmp_path: Path, runner: CliRunner, webhook: tuple[str, list[dict[str, Any]], ThreadingHTTPServer]) -> None:
    # whoever writes a log line chooses its date: one dated 2020 must not have its alert erased unseen
    url, received, _ = webhook
    _old_access_log(tmp_path / "logs")
    config = _write_config(tmp_path, f"""
        database: s.db
        organisation: {{actor: scan-bot}}
        sources: {{logs: [logs/access.log]}}
        threshold: high
        retention: {{events: 1d, alerts: 1d, quarantine: 1d}}
        notifications: {{webhook: {{url: "{url}", timeout: 5}}}}
    """)
    result = _scan(runner, config)
    summary = json.loads(result.stdout)
    logs = summary["sources"][0]
    assert result.exit_code == 1 and summary["new_at_or_above_threshold"] > 0 and logs["alerts"] > 0
    [message] = received
    assert message["total"] == summary["new_at_or_above_threshold"]
    listed = runner.invoke(main, ["--db", str(tmp_path / "s.db"), "alerts", "--json"], env=NO_DB_OVERRIDE)
    assert len(json.loads(listed.stdout)) == logs["alerts"] == _alert_count(tmp_path / "s.db")
    with sqlite3.connect(tmp_path / "s.db") as connection:
        alert_events = connection.execute("SELECT count(DISTINCT event_id) FROM alerts").fetchone()[0]
        # the events no alert points to are gone at once, the others stay with their alerts
        assert summary["retention"]["alerts"] == 0 and summary["retention"]["events"] == logs["new"] - alert_events
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == alert_events
        assert connection.execute("SELECT actor FROM purges").fetchall() == [("scan-bot",)]
        stored = max(datetime.fromisoformat(row[0]) for row in connection.execute("SELECT created FROM alerts"))

    later = purge(open_db(tmp_path / "s.db"), events=timedelta(days=1), alerts=timedelta(days=1), quarantine=None,
                  now=stored + timedelta(days=1, seconds=1), actor="dpo")
    assert later.alerts == logs["alerts"] and later.events == alert_events
    assert _alert_count(tmp_path / "s.db") == 0
    again = _scan(runner, config)  # the reading position survives the purge: nothing is read twice
    assert again.exit_code == 0 and json.loads(again.stdout)["totals"]["new"] == 0


def test_notifications_for_new_alerts_at_or_above_the_threshold_and_retried_next_run(
        tmp_path: Path, runner: CliRunner, webhook: tuple[str, list[dict[str, Any]], ThreadingHTTPServer]) -> None:
    url, received, server = webhook
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(samples() / "access.log", logs / "access.log")
    config = _write_config(tmp_path, f"""
        database: s.db
        sources: {{logs: ["logs/*.log"]}}
        threshold: high
        notifications: {{webhook: {{url: "{url}", timeout: 5}}}}
    """)
    first = json.loads(_scan(runner, config).stdout)
    assert first["notifications"] == {"queued": 1, "delivered": 1, "failed": [], "pending": 0}
    [message] = received
    assert message["total"] == first["new_at_or_above_threshold"] > 0 and message["run_id"] == first["run_id"]
    assert set(message["by_level"]) <= {"high", "critical"}

    second = json.loads(_scan(runner, config).stdout)  # nothing new: nothing sent
    assert second["notifications"] == {"queued": 0, "delivered": 0, "failed": [], "pending": 0}

    server.shutdown()
    server.server_close()  # the receiver is down for the next run
    shutil.copy(samples() / "auth.log", logs / "auth.log")
    down = _scan(runner, config)
    failed = json.loads(down.stdout)
    assert down.exit_code == 1  # a failed notification does not fail the run
    assert failed["notifications"]["delivered"] == 0 and failed["notifications"]["pending"] == 1
    assert [failure["channel"] for failure in failed["notifications"]["failed"]] == ["webhook"]

    revived = _receiver(received, server.server_address[1])
    try:
        retried = json.loads(_scan(runner, config).stdout)
    finally:
        revived.shutdown()
        revived.server_close()
    assert retried["notifications"] == {"queued": 0, "delivered": 1, "failed": [], "pending": 0}
    assert len(received) == 2 and received[1]["run_id"] == failed["run_id"]
