"""The Sigma compiler: modifiers and conditions match like the spec says; broken rules say file:line why."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seccenter.detect.engine import Engine
from seccenter.detect.sigma import load_rules
from seccenter.events import Event, LogSource, Origin

LINUX = LogSource(product="linux", service="sshd")


def rule_file(tmp_path: Path, detection: str, logsource: str = "product: linux\n  service: auth",
              name: str = "rule.yml", rule_id: str = "5f0b7c9e-1111-4222-8333-944455556666") -> Path:
    text = (
        f"title: test rule\nid: {rule_id}\nstatus: test\nlevel: high\ntags:\n  - attack.t1110\n"
        f"logsource:\n  {logsource}\ndetection:\n" + textwrap.indent(textwrap.dedent(detection).strip(), "  ")
        + "\n"
    )
    path = tmp_path / name
    path.write_text(text)
    return path


def matches(tmp_path: Path, detection: str, fields: dict, raw: str = "", logsource: LogSource = LINUX) -> bool:
    ruleset = load_rules([rule_file(tmp_path, detection)])
    assert not ruleset.errors, ruleset.errors
    event = Event(datetime(2026, 11, 25, tzinfo=UTC), "test", logsource, fields, raw, Origin("t", 0, 1))
    generated = bool(Engine(ruleset.rules).match(event))
    closures = bool(Engine(ruleset.rules, generate_code=False).match(event))
    assert generated == closures, "generated code and closure matchers disagree"
    return generated


@pytest.mark.parametrize(("detection", "fields", "expected"), [
    ("sel:\n  user: root\ncondition: sel", {"user": "ROOT"}, True),
    ("sel:\n  user: root\ncondition: sel", {"user": "rooty"}, False),
    ("sel:\n  user|cased: root\ncondition: sel", {"user": "ROOT"}, False),
    ("sel:\n  message|contains: 'Failed pass'\ncondition: sel", {"message": "x failed password y"}, True),
    ("sel:\n  message|startswith: failed\ncondition: sel", {"message": "Failed password"}, True),
    ("sel:\n  message|startswith: failed\ncondition: sel", {"message": "not Failed"}, False),
    ("sel:\n  command|endswith:\n    - /bash\n    - /sh\ncondition: sel", {"command": "/bin/BASH"}, True),
    ("sel:\n  command|endswith:\n    - /bash\n    - /sh\ncondition: sel", {"command": "/bin/zsh"}, False),
    ("sel:\n  command: '/bin/*sh'\ncondition: sel", {"command": "/bin/bash"}, True),
    ("sel:\n  command: '/bin/?sh'\ncondition: sel", {"command": "/bin/zsh"}, True),
    ("sel:\n  command: '/bin/?sh'\ncondition: sel", {"command": "/bin/bash"}, False),
    ("sel:\n  command: 'a\\*b'\ncondition: sel", {"command": "a*b"}, True),
    ("sel:\n  command: 'a\\*b'\ncondition: sel", {"command": "axxb"}, False),
    ("sel:\n  message|contains|all:\n    - foo\n    - bar\ncondition: sel", {"message": "bar and foo"}, True),
    ("sel:\n  message|contains|all:\n    - foo\n    - bar\ncondition: sel", {"message": "foo only"}, False),
    ("sel:\n  user|re: '^ad.in$'\ncondition: sel", {"user": "admin"}, True),
    ("sel:\n  user|re: '^AD.IN$'\ncondition: sel", {"user": "admin"}, False),
    ("sel:\n  user|re|i: '^AD.IN$'\ncondition: sel", {"user": "admin"}, True),
    ("sel:\n  src_ip|cidr: 10.0.0.0/8\ncondition: sel", {"src_ip": "10.2.3.4"}, True),
    ("sel:\n  src_ip|cidr: 10.0.0.0/8\ncondition: sel", {"src_ip": "11.2.3.4"}, False),
    ("sel:\n  src_ip|cidr: 10.0.0.0/8\ncondition: sel", {"src_ip": "not an ip"}, False),
    ("sel:\n  src_ip|cidr: '2001:db8::/32'\ncondition: sel", {"src_ip": "2001:db8::1"}, True),
    ("sel:\n  src_port: 22\ncondition: sel", {"src_port": 22}, True),
    ("sel:\n  src_port: 22\ncondition: sel", {"src_port": "22"}, True),
    ("sel:\n  src_port: '22'\ncondition: sel", {"src_port": 22}, True),
    ("sel:\n  src_port|gt: 1024\ncondition: sel", {"src_port": 2048}, True),
    ("sel:\n  src_port|lte: 1024\ncondition: sel", {"src_port": 2048}, False),
    ("sel:\n  invalid_user: true\ncondition: sel", {"invalid_user": True}, True),
    ("sel:\n  tty: null\ncondition: sel", {"user": "x"}, True),
    ("sel:\n  tty: null\ncondition: sel", {"tty": "pts/0"}, False),
    ("sel:\n  tty|exists: true\ncondition: sel", {"tty": "pts/0"}, True),
    ("sel:\n  tty|exists: false\ncondition: sel", {"tty": "pts/0"}, False),
    ("sel:\n  user|fieldref: target_user\ncondition: sel", {"user": "root", "target_user": "Root"}, True),
    ("sel:\n  user: '*'\ncondition: sel", {"user": "anything"}, True),
    ("sel:\n  user: '*'\ncondition: sel", {}, False),
    ("sel:\n  user: root\nfilter:\n  src_ip|cidr: 10.0.0.0/8\ncondition: sel and not filter",
     {"user": "root", "src_ip": "10.1.1.1"}, False),
    ("sel:\n  user: root\nfilter:\n  src_ip|cidr: 10.0.0.0/8\ncondition: sel and not filter",
     {"user": "root", "src_ip": "8.8.8.8"}, True),
    ("sel_a:\n  user: a\nsel_b:\n  user: b\ncondition: 1 of sel_*", {"user": "b"}, True),
    ("sel_a:\n  user: a\nsel_b:\n  pid: 1\ncondition: all of sel_*", {"user": "a", "pid": 2}, False),
    ("sel_a:\n  user: a\nsel_b:\n  pid: 1\ncondition: all of them", {"user": "a", "pid": 1}, True),
    ("sel:\n  groups: wheel\ncondition: sel", {"groups": ["users", "WHEEL"]}, True),
    ("sel:\n  - user: a\n  - user: b\ncondition: sel", {"user": "b"}, True),
    ("sel:\n  user: a\n  pid: 1\ncondition: sel", {"user": "a", "pid": 2}, False),
    ("sel:\n  message|base64offset|contains: 'whoami'\ncondition: sel", {"message": "x d2hvYW1p y"}, True),
    ("sel:\n  message|base64: 'whoami'\ncondition: sel", {"message": "d2hvYW1p"}, True),
    ("sel:\n  message|base64: 'whoami'\ncondition: sel", {"message": "whoami"}, False),
    ("sel:\n  message|wide|base64offset|contains: 'ping'\ncondition: sel", {"message": "-enc cABpAG4AZwA="}, True),
])
def test_field_matching(tmp_path: Path, detection: str, fields: dict, expected: bool) -> None:
    assert matches(tmp_path, detection, fields) is expected


def test_keywords_match_the_raw_line(tmp_path: Path) -> None:
    detection = "keywords:\n  - 'POSSIBLE BREAK-IN'\n  - 'Too many authentication'\ncondition: keywords"
    assert matches(tmp_path, detection, {}, raw="... failed - possible break-in attempt!")
    assert not matches(tmp_path, detection, {}, raw="all quiet")


def test_windash_expands_dash_variants(tmp_path: Path) -> None:
    detection = "sel:\n  command|windash|contains: ' -enc '\ncondition: sel"
    assert matches(tmp_path, detection, {"command": "powershell /enc AAAA"})
    assert not matches(tmp_path, detection, {"command": "powershell -encode"})


def test_auth_rules_see_every_auth_program_but_not_other_products(tmp_path: Path) -> None:
    detection = "sel:\n  user: root\ncondition: sel"
    assert matches(tmp_path, detection, {"user": "root"}, logsource=LogSource("linux", None, "sudo"))
    assert not matches(tmp_path, detection, {"user": "root"}, logsource=LogSource("linux", None, "kernel"))
    assert not matches(tmp_path, detection, {"user": "root"}, logsource=LogSource(None, "webserver", "access"))


def test_broken_yaml_reports_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("title: x\nid: 1\ndetection:\n  sel: [unclosed\n  condition: sel\n")
    ruleset = load_rules([path])
    assert not ruleset.rules
    (error,) = ruleset.errors
    assert error.path == str(path) and error.line in (4, 5, 6)
    assert error.reason.startswith("invalid YAML")


def test_duplicate_keys_are_refused_with_their_line(tmp_path: Path) -> None:
    path = rule_file(tmp_path, "sel:\n  user: a\nsel:\n  user: b\ncondition: sel")
    (error,) = load_rules([path]).errors
    assert "duplicate key 'sel'" in error.reason
    assert error.line == 13


def test_unknown_modifier_points_at_its_line(tmp_path: Path) -> None:
    path = rule_file(tmp_path, "sel:\n  user|frobnicate: a\ncondition: sel")
    (error,) = load_rules([path]).errors
    assert "frobnicate" in error.reason
    assert error.line == 12
    assert path.read_text().splitlines()[error.line - 1].strip().startswith("user|frobnicate")


def test_invalid_regex_and_undefined_condition_are_reported(tmp_path: Path) -> None:
    rule_file(tmp_path, "sel:\n  user|re: '(unclosed'\ncondition: sel", name="a.yml")
    rule_file(tmp_path, "sel:\n  user: a\ncondition: sel and other", name="b.yml",
                              rule_id="5f0b7c9e-1111-4222-8333-944455556667")
    errors = {Path(error.path).name: error for error in load_rules([tmp_path]).errors}
    assert "invalid" in errors["a.yml"].reason.lower()
    assert "other" in errors["b.yml"].reason
    assert errors["b.yml"].line == 13


def test_duplicate_rule_ids_are_reported(tmp_path: Path) -> None:
    rule_file(tmp_path, "sel:\n  user: a\ncondition: sel", name="a.yml")
    rule_file(tmp_path, "sel:\n  user: b\ncondition: sel", name="b.yml")
    ruleset = load_rules([tmp_path])
    assert len(ruleset.rules) == 1
    (error,) = ruleset.errors
    assert "duplicate rule id" in error.reason and error.path.endswith("b.yml")


def test_non_rule_files_fail_cleanly(tmp_path: Path) -> None:
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    (tmp_path / "empty.yml").write_text("")
    (tmp_path / "binary.yml").write_bytes(b"\xff\xfe\x00garbage")
    reasons = {Path(error.path).name: error.reason for error in load_rules([tmp_path]).errors}
    assert set(reasons) == {"list.yml", "empty.yml", "binary.yml"}
    assert "not UTF-8" in reasons["binary.yml"]


def test_unresolved_placeholder_is_a_clear_error(tmp_path: Path) -> None:
    path = rule_file(tmp_path, "sel:\n  user|expand: '%admins%'\ncondition: sel")
    (error,) = load_rules([path]).errors
    assert "%admins%" in error.reason


def test_registry_event_rules_see_every_registry_category(tmp_path: Path) -> None:
    detection = "sel:\n  TargetObject|contains: '\\\\Run\\\\'\ncondition: sel"
    fields = {"TargetObject": "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\evil"}
    path = rule_file(tmp_path, detection, logsource="product: windows\n  category: registry_event")
    engine = Engine(load_rules([path]).rules)
    for category in ("registry_set", "registry_add", "registry_event"):
        event = Event(datetime(2026, 11, 25, tzinfo=UTC), "evtx", LogSource("windows", category, "sysmon"), fields,
                      "", Origin("t", 0))
        assert engine.match(event), category
    other = Event(datetime(2026, 11, 25, tzinfo=UTC), "evtx", LogSource("windows", "process_creation", "sysmon"),
                  fields, "", Origin("t", 0))
    assert not engine.match(other)


@pytest.mark.parametrize(("detection", "fields", "expected"), [
    ("sel:\n  UtcTime|hour: 3\ncondition: sel", {"UtcTime": "2026-11-01 03:15:00.000"}, True),
    ("sel:\n  UtcTime|hour: 3\ncondition: sel", {"UtcTime": "2026-11-01 04:15:00.000"}, False),
    ("sel:\n  ts|minute: 15\ncondition: sel", {"ts": "2026-11-01T03:15:00Z"}, True),
    ("sel:\n  ts|day: 1\ncondition: sel", {"ts": 1793502900}, True),
    ("sel:\n  ts|week: 44\ncondition: sel", {"ts": "2026-10-29T00:00:00+00:00"}, True),
    ("sel:\n  ts|month: 11\ncondition: sel", {"ts": "not a time"}, False),
    ("sel:\n  ts|year: 2026\ncondition: sel", {"ts": "2026-01-01"}, True),
])
def test_timestamp_part_modifiers(tmp_path: Path, detection: str, fields: dict, expected: bool) -> None:
    assert matches(tmp_path, detection, fields) is expected


def test_catastrophic_regex_runs_in_linear_time(tmp_path: Path) -> None:
    import time

    detection = "sel:\n  user|re: '^(a+)+$'\ncondition: sel"
    started = time.perf_counter()
    assert not matches(tmp_path, detection, {"user": "a" * 5000 + "!"})
    assert matches(tmp_path, detection, {"user": "aaaa"})
    assert time.perf_counter() - started < 5  # Python's re alone would not finish this in years


def test_catastrophic_regex_the_linear_engine_cannot_run_is_rejected(tmp_path: Path) -> None:
    path = rule_file(tmp_path, "sel:\n  user|re: '^(a+)+(?=b)'\ncondition: sel")
    (error,) = load_rules([path]).errors
    assert "exponential time" in error.reason and error.line == 12


def test_safe_regex_with_lookahead_stays_on_python_re(tmp_path: Path) -> None:
    detection = "sel:\n  command|re: 'bash(?! -c)'\ncondition: sel"
    assert matches(tmp_path, detection, {"command": "/bin/bash -i"})
    assert not matches(tmp_path, detection, {"command": "/bin/bash -c id"})


def test_expand_placeholders_take_configured_values(tmp_path: Path) -> None:
    from seccenter.detect.sigma import standard_pipeline

    path = rule_file(tmp_path, "sel:\n  user|expand: '%admins%'\ncondition: sel")
    ruleset = load_rules([path], standard_pipeline({"admins": ["root", "Administrator"]}))
    assert not ruleset.errors
    engine = Engine(ruleset.rules)
    for user, expected in (("administrator", True), ("root", True), ("alice", False)):
        event = Event(datetime(2026, 11, 25, tzinfo=UTC), "t", LINUX, {"user": user}, "", Origin("t", 0))
        assert bool(engine.match(event)) is expected, user


def test_placeholders_file_on_the_command_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from seccenter.cli import main

    rule_file(tmp_path, "sel:\n  user|expand: '%admins%'\ncondition: sel")
    values = tmp_path / "placeholders.yml"
    values.write_text("admins:\n  - root\n  - admin\n")
    runner = CliRunner()
    without = runner.invoke(main, ["rules", "check", str(tmp_path / "rule.yml"), "--json"])
    assert without.exit_code == 1 and "%admins%" in without.output
    with_values = runner.invoke(main, ["rules", "check", str(tmp_path / "rule.yml"), "--placeholders", str(values)])
    assert with_values.exit_code == 0, with_values.output
    values.write_text("admins: {nested: map}\n")
    bad = runner.invoke(main, ["rules", "check", str(tmp_path / "rule.yml"), "--placeholders", str(values)])
    assert bad.exit_code == 1 and "placeholders must be a mapping" in bad.output


def test_wrongly_typed_values_are_errors_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "typed.yml").write_text("title: t\nid: {a}\nlogsource:\n  product: linux\n"
                                        "detection:\n  sel:\n    user: root\n  condition: sel\n")
    (tmp_path / "title.yml").write_text("title: [1, 2]\nid: 5f0b7c9e-1111-4222-8333-944455556699\n"
                                        "logsource:\n  product: linux\ndetection:\n  sel:\n    user: root\n"
                                        "  condition: sel\n")
    ruleset = load_rules([tmp_path])
    assert {Path(error.path).name for error in ruleset.errors} >= {"typed.yml"}
    assert all(error.reason for error in ruleset.errors)
