"""`seccenter triage`: counts since the last scan, open incidents with their deadlines, special categories of
personal data, the top lists and the newest alerts; 80 columns, plain text off a terminal, hostile text inert."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len
from rich.console import Console

from seccenter.cli import main
from seccenter.privacy.deadlines import DEFAULT_ZONE
from seccenter.report.terminal import alerts_table, local_time
from seccenter.report.triage import build
from seccenter.report.triage_view import triage_view
from seccenter.resources import samples
from seccenter.store.alerts import list_alerts
from seccenter.store.db import open_db
from seccenter.store.scan_runs import finish_run, start_run

OLD_KEYS = {"total", "by_level", "events", "quarantined", "top_rules", "top_sources", "newest"}
REGISTER = """\
processing_activities:
  - id: VT-007
    name: School portal
    data_subjects: [pupils, parents]
    data_categories: [contact details, grades]
    special_categories: [health]
    legal_basis: ["Art. 6(1)(e)", "Art. 9(2)(g)"]
    systems: [srv01]
  - id: VT-012
    name: Fines office
    data_subjects: [offenders]
    data_categories: [names, fines]
    special_categories: [criminal_convictions]
    legal_basis: ["Art. 6(1)(e)", "Art. 10 with § 46 OWiG"]
    systems: [court01]
  - id: VT-020
    name: Library loans
    data_subjects: [readers]
    data_categories: [names]
    legal_basis: ["Art. 6(1)(e)"]
    systems: [lib01]
assets:
  - id: srv01
    hostname: srv01
  - id: court01
    hostname: court01.city.example
  - id: lib01
    hostname: lib01
"""
PLAIN_ENV = {"COLUMNS": "80", "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "NO_COLOR": None}
# what terminals act on: ESC (CSI, OSC, anything after ESC) and the C1 controls
ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|[\x80-\x9f]")


def invoke(runner: CliRunner, db: Path, *args: str, env: dict | None = None):
    return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False, env=env or PLAIN_ENV)


def auth_line(host: str, user: str = "root", when: str = "Nov  3 10:00:01") -> str:
    return f"{when} {host} sshd[1]: Failed password for {user} from 203.0.113.7 port 51234 ssh2\n"


def ingest(runner: CliRunner, db: Path, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    result = invoke(runner, db, "ingest", str(path), "--year", "2026")
    assert result.exit_code == 0, result.output


def ingest_samples(runner: CliRunner, db: Path, *names: str) -> None:
    result = invoke(runner, db, "ingest", *[str(samples() / name) for name in names], "--year", "2026")
    assert result.exit_code == 0, result.output


def triage_json(runner: CliRunner, db: Path, *args: str) -> dict:
    result = invoke(runner, db, "triage", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def render(db: Path, width: int = 80, terminal: bool = False) -> str:
    """The triage screen as a terminal (``terminal``: colours forced as on a TTY) or a pipe would get it."""
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system="standard" if terminal else None,
                      highlight=False, soft_wrap=False)
    database = open_db(db)
    console.print(triage_view(build(database), DEFAULT_ZONE))
    database.close()
    return out.getvalue()


def test_json_keeps_every_existing_key_and_adds_the_new_ones(runner: CliRunner, db_path: Path) -> None:
    ingest_samples(runner, db_path, "auth.log", "access.log")
    summary = triage_json(runner, db_path)
    assert set(summary) == OLD_KEYS | {"top_hosts", "by_status", "since_last_run", "incidents",
                                       "special_category_alerts"}
    assert summary["total"] == sum(summary["by_level"].values()) == 210
    assert list(summary["by_level"]) == ["critical", "high", "medium", "low", "informational"]
    assert summary["events"] == 518 and summary["quarantined"] == 0
    assert summary["top_rules"][0] == {"rule_id": "473d8151-6ee1-4aff-b319-3f0cbba58865",
                                       "rule_title": "Web Vulnerability Scanner User Agent", "level": "medium",
                                       "count": 55}
    assert summary["top_sources"][0] == {"source_ip": "203.0.113.7", "count": 63}
    assert summary["top_hosts"] == [{"host": "rathaus-web01", "count": 59}, {"host": "schule-srv02", "count": 17},
                                    {"host": "rathaus-db01", "count": 3}]
    assert summary["by_status"] == {"new": 210, "acknowledged": 0, "closed": 0}
    assert summary["since_last_run"] is None and summary["incidents"] == []
    assert summary["special_category_alerts"] == {"count": 0, "by_category": {}}
    assert len(summary["newest"]) == 10
    assert {"id", "rule_id", "rule_title", "level", "time", "fields", "origin", "assets", "processing_activities",
            "special_categories"} <= set(summary["newest"][0])


def test_by_status_follows_ack_and_close(runner: CliRunner, db_path: Path) -> None:
    ingest_samples(runner, db_path, "auth.log")
    invoke(runner, db_path, "alerts", "ack", "1", "2", "3")
    invoke(runner, db_path, "alerts", "close", "3", "4")
    summary = triage_json(runner, db_path)
    assert summary["by_status"] == {"new": summary["total"] - 4, "acknowledged": 2, "closed": 2}
    assert f"new: {summary['total'] - 4}  acknowledged: 2  closed: 2" in invoke(runner, db_path, "triage").output


def test_counts_since_the_last_scan(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    ingest_samples(runner, db_path, "auth.log")
    db = open_db(db_path)
    before = db["alerts"].count
    run_id, _first = start_run(db)
    ingest(runner, db_path, tmp_path / "new.log", auth_line("srv01") * 2)
    finish_run(db, run_id, "ok", 1, {})
    start_run(db)  # a scan still running is not "the last scan"
    started = db.execute("SELECT started FROM scan_runs WHERE id = ?", [run_id]).fetchone()[0]
    db.close()
    summary = triage_json(runner, db_path)
    last = summary["since_last_run"]
    assert (last["run_id"], last["first_alert_id"], last["started"]) == (run_id, before + 1, started)
    assert last["total"] == 2 and last["by_level"]["medium"] == 2 and summary["total"] == before + 2
    screen = invoke(runner, db_path, "triage").output
    assert f"since the last scan at {local_time(started)}: 2 new alerts" in screen
    assert "critical: 0  high: 0  medium: 2  low: 0  informational: 0" in screen


def test_without_a_scan_all_alerts_or_those_since(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    ingest(runner, db_path, tmp_path / "a.log", auth_line("srv01", when="Nov  3 10:00:01")
           + auth_line("srv02", when="Nov  5 10:00:01") + auth_line("srv02", when="Nov  5 10:00:02"))
    assert triage_json(runner, db_path)["total"] == 3
    since = triage_json(runner, db_path, "--since", "2026-11-04T00:00:00+00:00")
    assert since["total"] == 2 and since["top_hosts"] == [{"host": "srv02", "count": 2}]
    assert [alert["fields"]["host"] for alert in since["newest"]] == ["srv02", "srv02"]
    screen = invoke(runner, db_path, "triage").output
    assert "since the last scan" not in screen and "3 alerts from 3 events" in screen


def open_breach(runner: CliRunner, db: Path, title: str, aware: datetime) -> None:
    assert invoke(runner, db, "incident", "open", "--title", title).exit_code == 0
    incident_id = title.split()[-1]
    result = invoke(runner, db, "breach", "assess", incident_id, "--aware-at", aware.isoformat(timespec="seconds"),
                    "--data-type", "financial", "--confidentiality")
    assert result.exit_code == 0, result.output


def test_open_incidents_with_countdowns_red_under_twelve_hours(runner: CliRunner, db_path: Path) -> None:
    now = datetime.now(UTC)
    open_breach(runner, db_path, "payroll export leaked 1", now - timedelta(hours=62))
    open_breach(runner, db_path, "laptop lost 2", now - timedelta(hours=10))
    assert invoke(runner, db_path, "incident", "open", "--title", "closed 3").exit_code == 0
    assert invoke(runner, db_path, "incident", "close", "3", "--reason", "false positive").exit_code == 0
    summary = triage_json(runner, db_path)
    assert sorted(case["id"] for case in summary["incidents"]) == [1, 2]
    art33 = {case["id"]: next(item for item in case["obligations"] if item["obligation"] == "art33_authority")
             for case in summary["incidents"]}
    assert 9 * 3600 < art33[1]["seconds_left"] <= 10 * 3600 and art33[2]["seconds_left"] > 61 * 3600
    assert art33[1]["basis"] == "GDPR Art. 33(1)" and art33[1]["due"].endswith(("+01:00", "+02:00"))
    coloured = render(db_path, width=200, terminal=True)
    assert "\x1b[1;31mGDPR Art. 33(1): 9h 59m left" in coloured
    calm = coloured.index("GDPR Art. 33(1): 2d 13h")
    assert coloured[calm - 9:calm] != "\x1b[1;31m" and "\x1b[1;31mGDPR Art. 33(1): 2d" not in coloured
    assert "\x1b[1;31m; 1 deadline under 12 h or overdue" in coloured
    screen = invoke(runner, db_path, "triage", env={**PLAIN_ENV, "COLUMNS": "200"}).output
    assert "2 open incidents; 1 deadline under 12 h or overdue" in screen
    assert "payroll export leaked 1" in screen and "closed 3" not in screen


def test_alerts_on_systems_with_special_categories_are_flagged(runner: CliRunner, db_path: Path,
                                                               tmp_path: Path) -> None:
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER, encoding="utf-8")
    assert invoke(runner, db_path, "ropa", "import", str(register)).exit_code == 0
    ingest(runner, db_path, tmp_path / "a.log", auth_line("srv01", when="Nov  3 10:00:01")
           + auth_line("SRV01", when="Nov  3 10:00:02") + auth_line("court01", when="Nov  3 10:00:03")
           + auth_line("lib01", when="Nov  3 10:00:04") + auth_line("www01", when="Nov  3 10:00:05"))
    summary = triage_json(runner, db_path)
    assert summary["special_category_alerts"] == {"count": 3, "by_category": {"health": 2, "criminal_convictions": 1}}
    assert {alert["fields"]["host"]: alert["special_categories"] for alert in summary["newest"]} == {
        "srv01": ["health"], "SRV01": ["health"], "court01": ["criminal_convictions"], "lib01": [], "www01": []}
    screen = invoke(runner, db_path, "triage").output
    assert "3 alerts on systems with special-category data (Art. 9, Art. 10 GDPR)" in screen
    marks = {line.split()[0]: line.split()[-1] for line in screen.splitlines()
             if re.match(r"^\s*\d+\s+\d\d-\d\d \d\d:\d\d", line)}
    ids = {alert["fields"]["host"]: str(alert["id"]) for alert in summary["newest"]}
    assert marks[ids["srv01"]] == marks[ids["SRV01"]] == "9"  # "Art. 9"
    assert marks[ids["court01"]] == "10"
    assert not marks[ids["lib01"]].isdigit() and not marks[ids["www01"]].isdigit()
    assert triage_json(runner, db_path, "--since", "2026-11-03T10:00:03+00:00")["special_category_alerts"] == {
        "count": 1, "by_category": {"criminal_convictions": 1}}


def busy_store(runner: CliRunner, db: Path, tmp_path: Path) -> None:
    """Everything the screen can show at once, with long text in every place that has text."""
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER, encoding="utf-8")
    invoke(runner, db, "ropa", "import", str(register))
    ingest_samples(runner, db, "auth.log", "access.log")
    long_host = "h" + "x" * 300
    ingest(runner, db, tmp_path / "extra.log", auth_line("srv01", when="Dec  1 10:00:00")
           + auth_line("court01", when="Dec  1 10:00:01")
           + auth_line(long_host, "invalid user " + "y" * 5000, when="Dec  1 10:00:02"))
    open_breach(runner, db, ("A very long incident title that goes on and on " * 5) + "1",
                datetime.now(UTC) - timedelta(hours=62))
    db_handle = open_db(db)
    run_id, _ = start_run(db_handle)
    finish_run(db_handle, run_id, "ok", 0, {})
    db_handle.close()


def test_fits_80_columns_and_is_plain_text_off_a_terminal(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    busy_store(runner, db_path, tmp_path)
    screens = [render(db_path), invoke(runner, db_path, "triage").output]
    for screen in screens:
        lines = screen.splitlines()
        assert len(lines) > 60 and "Top hosts" in screen and "Art. 9" in screen and "Art. 10" in screen
        assert max(cell_len(line) for line in lines) <= 80
        assert "\x1b" not in screen
    # every alert of the newest list takes two lines, however long its text
    assert screens[1].count("xxxx…") == 2


def hostile_line(text: str) -> str:
    return auth_line("srv01", f"invalid user {text}")


HOSTILE = ("\x1b[38;5;201mP\x1b[0m \x1b]8;;x\x07L\x1b]8;;\x07 \x1b]52;c;ZQ==\x07 b\x1bc \u009b2J [red]m[/red] "
           "[link=x]l[/link] " + "A" * 100_000)
SHOWN = ("\\x1b[38;5;201mP\\x1b[0m \\x1b]8;;x\\x07L\\x1b]8;;\\x07 \\x1b]52;c;ZQ==\\x07 b\\x1bc \\x9b2J [red]m[/red] "
         "[link=x]l[/link] AAA")
"""HOSTILE as the screen shows it: every control character visible, markup as text."""


def hostile_store(runner: CliRunner, db: Path, tmp_path: Path, text: str) -> None:
    ingest(runner, db, tmp_path / f"{db.stem}.log", hostile_line(text))


def escapes(screen: str) -> set[str]:
    return set(ESCAPE.findall(screen))


@pytest.mark.parametrize("command", ["triage", "alerts"])
def test_hostile_log_line_is_printed_literally_by_the_cli(runner: CliRunner, db_path: Path, tmp_path: Path,
                                                          command: str) -> None:
    hostile_store(runner, db_path, tmp_path, HOSTILE)
    for width in ("80", "200"):
        screen = invoke(runner, db_path, command, env={**PLAIN_ENV, "COLUMNS": width}).output
        assert escapes(screen) == set()
        assert len(screen) < 40_000 and "A" * 300 not in screen
        assert max(cell_len(line) for line in screen.splitlines()) <= int(width)
    assert SHOWN in invoke(runner, db_path, command, env={**PLAIN_ENV, "COLUMNS": "400"}).output
    document = invoke(runner, db_path, command, "--json").output
    assert escapes(document) == set()
    payload = json.loads(document)
    alert = payload["newest"][0] if command == "triage" else payload[0]
    assert alert["fields"]["user"] == HOSTILE  # the data itself is kept as it came


def test_hostile_log_line_sends_no_escape_to_a_terminal(runner: CliRunner, tmp_path: Path) -> None:
    hostile, harmless = tmp_path / "hostile.db", tmp_path / "harmless.db"
    hostile_store(runner, hostile, tmp_path, HOSTILE)
    hostile_store(runner, harmless, tmp_path, "P L b m l " + "A" * 100_000)
    for width in (80, 200):
        allowed, screen = escapes(render(harmless, width, terminal=True)), render(hostile, width, terminal=True)
        assert allowed and escapes(screen) <= allowed  # only rich's own colours, as for harmless text
        assert "\x1b[38;5;201m" not in screen and "\x1b]" not in screen and "\u009b" not in screen
        assert "\\x1b[" in screen and "A" * 300 not in screen
        assert max(cell_len(line) for line in ESCAPE.sub("", screen).splitlines()) <= width
    assert SHOWN[:40] in render(hostile, 200, terminal=True)
    hostile_alerts, harmless_alerts = alerts_screen(hostile), alerts_screen(harmless)
    assert escapes(hostile_alerts) <= escapes(harmless_alerts)
    assert SHOWN in hostile_alerts and "\x1b]" not in hostile_alerts


def alerts_screen(db: Path) -> str:
    """``seccenter alerts`` as a terminal gets it."""
    out = io.StringIO()
    console = Console(file=out, width=400, force_terminal=True, color_system="standard", highlight=False)
    database = open_db(db)
    console.print(alerts_table(list_alerts(database), stored=True))
    database.close()
    return out.getvalue()


def test_an_empty_store(runner: CliRunner, db_path: Path) -> None:
    screen = invoke(runner, db_path, "triage").output
    assert "0 alerts from 0 events" in screen and "0 open incidents" in screen
    assert triage_json(runner, db_path)["newest"] == []
