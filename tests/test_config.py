"""The scan configuration: the documented example loads, and every kind of mistake is named with file:line."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from seccenter.config import ConfigError, load_config
from seccenter.resources import sigma_rules, yara_rules
from seccenter.units import parse_duration, parse_size

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "contrib" / "seccenter.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "seccenter.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == "\n".join(map(str, caught.value.problems))
    return [str(problem).removeprefix(f"{path}:") for problem in caught.value.problems]


def test_the_documented_example_loads_with_every_section(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    assert config.database == Path("/var/lib/seccenter/seccenter.db")
    assert config.organisation.actor == "seccenter-scan"
    assert config.organisation.nis2 == "important"
    assert config.organisation.timezone == ZoneInfo("Europe/Berlin")
    logs = config.sources.logs
    assert [log.pattern for log in logs] == ["/var/log/auth.log", "/var/log/nginx/*access.log", "/var/log/legacy/*.log"]
    assert logs[1].format == "access"
    assert logs[0].timezone == ZoneInfo("Europe/Berlin") and logs[2].timezone == ZoneInfo("UTC")
    assert config.sources.pcaps == (Path("/var/spool/seccenter/pcap"),)
    assert config.sources.interface is not None and config.sources.interface.seconds == 60
    assert config.sources.interface.filter == "port 53 or port 80"
    target = config.sources.yara[0]
    assert target.paths == (Path("/srv/share/upload"), Path("/home"))
    assert target.exclude == ("*.iso", "/home/*/.cache") and target.max_size == 64 << 20 and target.timeout == 60
    assert target.rules == (yara_rules(),)
    assert config.sources.ioc == (Path("/etc/seccenter/ioc"),)
    assert config.rules.sigma == (sigma_rules(), Path("/etc/seccenter/sigma"))
    assert config.rules.payload_limit == 64 << 10 and config.rules.payload_scan is True
    assert config.threshold == "high"
    assert config.notifications.channels == ["syslog", "smtp", "webhook"]
    smtp = config.notifications.smtp
    assert smtp is not None and smtp.port == 587 and smtp.starttls and smtp.recipients == ("csc@stadt.example",)
    assert config.notifications.webhook is not None
    assert config.notifications.webhook.headers == (("X-Source", "seccenter"),)
    assert config.retention.events == timedelta(days=90) and config.retention.alerts == timedelta(days=180)
    assert config.retention.quarantine == timedelta(days=30)
    assert config.pseudonymisation_key_file == Path("/etc/seccenter/pseudonym.key")


def test_a_minimal_file_takes_the_defaults_and_relative_paths_count_from_its_folder(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, """
        database: store/seccenter.db
        sources:
          logs: [logs/auth.log]
    """))
    assert config.database == tmp_path / "store" / "seccenter.db"
    assert config.sources.logs[0].pattern == str(tmp_path / "logs" / "auth.log")
    assert config.sources.logs[0].timezone == ZoneInfo("Europe/Berlin")
    assert config.threshold == "high"
    assert config.rules.sigma == (sigma_rules(),) and config.rules.yara == (yara_rules(),)
    assert config.notifications.channels == [] and not config.retention.any
    assert config.organisation.environment() == {"SECCENTER_TIMEZONE": "Europe/Berlin"}


def test_home_folders_are_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(_write(tmp_path, "sources:\n  pcaps: [~/captures]\n"))
    assert config.sources.pcaps == (tmp_path / "home" / "captures",)


def test_organisation_settings_become_the_environment_of_the_run(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, """
        organisation: {actor: scan-bot, nis2: essential, timezone: UTC}
        sources: {logs: [a.log]}
    """))
    assert config.organisation.environment() == {"SECCENTER_TIMEZONE": "UTC", "SECCENTER_ACTOR": "scan-bot",
                                                 "SECCENTER_NIS2": "essential"}


def test_unknown_keys_are_named_with_their_line_and_the_closest_known_key(tmp_path: Path) -> None:
    assert _problems(tmp_path, """
        sources:
          logs: [a.log]
          pcap: [captures]
        treshold: high
        notifications:
          smtp:
            host: mail.example.org
            from: a@example.org
            to: b@example.org
            recipients: c@example.org
        zzz: 1
    """) == [
        "3: unknown key 'pcap' in sources; did you mean 'pcaps'?",
        "4: unknown key 'treshold' in the config file; did you mean 'threshold'?",
        "10: unknown key 'recipients' in notifications.smtp (known: host, port, starttls, user, password_file, "
        "password_env, password, from, to, timeout)",
        "11: unknown key 'zzz' in the config file (known: database, organisation, sources, rules, threshold, "
        "notifications, retention, pseudonymisation)",
    ]


def test_wrong_types_are_named_with_their_line(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """
        threshold: severe
        organisation:
          timezone: Mars/Olympus
          nis2: importnt
        sources:
          logs:
            - path: a.log
              format: sylog
              year: 20
          interface: {name: eth0, seconds: ten}
          yara:
            - paths: [share]
              max_size: lots
              timeout: 0
        rules:
          payload_scan: "yes"
          payload_limit: -1
        retention:
          events: 90
          alerts: forever
        notifications: [syslog]
    """)
    assert problems == [
        "1: threshold: 'severe' is not one of informational, low, medium, high, critical",
        "3: organisation.timezone: unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Berlin)",
        "4: organisation.nis2: 'importnt' is not one of essential, important, none; did you mean 'important'?",
        "8: sources.logs.format: 'sylog' is not one of " + problems[3].split("is not one of ", 1)[1],
        "9: sources.logs.year: expected a year from 1970 to 9999, got 20",
        "10: sources.interface.seconds: expected a number from 1 to 86400, got 'ten'",
        "13: sources.yara.max_size: 'lots' is not a size like 65536, 64K, 64M or 1G",
        "14: sources.yara.timeout: expected a number from 1 to 3600, got 0",
        "16: rules.payload_scan: expected true or false, got text",
        "17: rules.payload_limit: -1 is negative",
        "19: retention.events: '90' is not a duration like 12h, 90d or 2w",
        "20: retention.alerts: 'forever' is not a duration like 12h, 90d or 2w",
        "21: notifications must be a mapping, not a list",
    ]
    assert "did you mean 'syslog'?" in problems[3]


def test_missing_required_values_are_named(tmp_path: Path) -> None:
    assert _problems(tmp_path, """
        sources:
          logs:
            - format: auth
          interface:
            filter: port 53
          yara:
            - exclude: ["*.iso"]
        notifications:
          smtp:
            port: 25
          webhook:
            timeout: 5
    """) == [
        "3: sources.logs needs 'path'",
        "4: sources.interface needs 'name'",
        "4: sources.interface needs 'seconds'",
        "7: a YARA target needs 'paths': a list of files or folders",
        "9: notifications.smtp needs 'host'",
        "9: notifications.smtp needs 'from'",
        "9: notifications.smtp needs 'to': one or more addresses",
        "11: notifications.webhook needs 'url'",
    ]


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o606, 0o660])
def test_a_password_file_others_can_read_or_change_is_refused_at_load(tmp_path: Path, mode: int) -> None:
    secret = tmp_path / "smtp secret"
    secret.write_text("s3cret\n")
    secret.chmod(mode)
    text = """
        sources: {logs: [a.log]}
        notifications:
          smtp:
            host: mail.example.org
            user: csc
            password_file: smtp secret
            from: csc@example.org
            to: [team@example.org]
    """
    assert _problems(tmp_path, text) == [f"6: notifications.smtp.password_file: {secret} can be read or changed by"
                                         f" others (mode {mode:04o}); run chmod 600 {secret}"]
    secret.chmod(0o600)
    assert load_config(_write(tmp_path, text)).notifications.smtp.password() == "s3cret"
    secret.unlink()  # not there (yet): the sending run reports it as that channel's failure
    assert load_config(_write(tmp_path, text)).notifications.smtp.password_file == secret


def test_an_inline_password_is_refused_and_secrets_are_read_at_sending_time(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert _problems(tmp_path, """
        sources: {logs: [a.log]}
        notifications:
          smtp:
            host: mail.example.org
            user: csc
            password: hunter2
            from: csc@example.org
            to: [team@example.org]
    """) == ["6: notifications.smtp: the password is never written into the config file; use password_file "
             "(mode 0600) or password_env"]
    (tmp_path / "secret").write_text("s3cret\n")
    (tmp_path / "secret").chmod(0o600)
    config = load_config(_write(tmp_path, """
        sources: {logs: [a.log]}
        notifications:
          smtp: {host: mail.example.org, user: csc, password_file: secret, from: csc@example.org, to: t@example.org}
    """))
    assert config.notifications.smtp is not None and config.notifications.smtp.password() == "s3cret"
    assert config.notifications.smtp.port == 25
    monkeypatch.setenv("SMTP_SECRET", "from-env")
    config = load_config(_write(tmp_path, """
        sources: {logs: [a.log]}
        notifications:
          smtp: {host: mail.example.org, user: csc, password_env: SMTP_SECRET, starttls: true, from: c@example.org,
                 to: t@example.org}
    """))
    assert config.notifications.smtp is not None and config.notifications.smtp.password() == "from-env"
    assert config.notifications.smtp.port == 587


def test_smtp_and_webhook_values_are_checked(tmp_path: Path) -> None:
    assert _problems(tmp_path, """
        sources: {logs: [a.log]}
        notifications:
          smtp:
            host: mail.example.org
            password_file: secret
            password_env: "NOT A NAME"
            from: "CSC <csc@example.org>"
            to: [ok@example.org, nobody]
          webhook:
            url: ftp://hooks.example.org/x
            headers:
              X-Token: "a\\r\\nInjected: yes"
    """) == [
        "3: notifications.smtp: a password needs 'user'",
        "6: notifications.smtp.password_env: 'NOT A NAME' is not an environment variable name",
        "7: notifications.smtp.from: 'CSC <csc@example.org>' is not a plain e-mail address (name@example.org)",
        "8: notifications.smtp.to: 'nobody' is not a plain e-mail address (name@example.org)",
        "10: notifications.webhook.url: 'ftp://hooks.example.org/x' is not an http:// or https:// address",
        "12: notifications.webhook: header 'X-Token' needs a one-line text value",
    ]


def test_both_password_sources_are_refused(tmp_path: Path) -> None:
    assert _problems(tmp_path, """
        sources: {logs: [a.log]}
        notifications:
          smtp: {host: h, user: u, password_file: s, password_env: S, from: a@example.org, to: b@example.org}
    """) == ["3: notifications.smtp: give password_file or password_env, not both"]


def test_syslog_can_be_switched_on_with_its_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "sources: {logs: [a.log]}\nnotifications: {syslog: true}\n"))
    assert config.notifications.syslog is not None and config.notifications.syslog.address == "/dev/log"
    assert config.notifications.channels == ["syslog"]
    assert _problems(tmp_path, "sources: {logs: [a.log]}\nnotifications:\n  syslog: {facility: local9}\n") == [
        "3: notifications.syslog.facility: 'local9' is not one of user, daemon, auth, authpriv, security, local0, "
        "local1, local2, local3, local4, local5, local6, local7; did you mean 'local7'?"]


def test_rule_lists_accept_bundled_and_must_not_be_empty(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    config = load_config(_write(tmp_path, """
        sources:
          yara: [{paths: [share], rules: [bundled, mine]}]
        rules: {sigma: [mine, bundled], yara: mine}
    """))
    assert config.rules.sigma == (tmp_path / "mine", sigma_rules())
    assert config.rules.yara == (tmp_path / "mine",)
    assert config.sources.yara[0].rules == (yara_rules(), tmp_path / "mine")
    assert _problems(tmp_path, "sources: {logs: [a.log]}\nrules:\n  sigma: []\n") == [
        "3: rules.sigma is empty; name folders or files of rules, or 'bundled' for the rules shipped with seccenter"]


def test_a_yara_target_without_its_own_rules_uses_the_rule_sets(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "sources:\n  yara: [{paths: share}]\nrules: {yara: [mine]}\n"))
    assert config.sources.yara[0].rules == (tmp_path / "mine",)
    assert config.sources.yara[0].paths == (tmp_path / "share",)


def test_a_file_without_any_source_is_refused(tmp_path: Path) -> None:
    assert _problems(tmp_path, "threshold: low\nsources:\n  ioc: [lists]\n") == [
        "2: no source configured (sources: logs, pcaps, interface, yara)"]
    assert _problems(tmp_path, "threshold: low\n") == ["1: no source configured (sources: logs, pcaps, interface, "
                                                       "yara)"]


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("", 1, "the config file must hold one mapping"),
    ("- a\n- b\n", 1, "the config file must hold one mapping"),
    ("a: 1\n---\nb: 2\n", 1, "the config file must hold one mapping"),
    ("sources:\n  logs: [a.log\n", 3, "expected ',' or ']'"),
    ("threshold: high\nthreshold: low\nsources: {logs: [a]}\n", 2, "duplicate key 'threshold'"),
    ("sources: {logs: [a.log]}\nthreshold: 'x'; DROP TABLE alerts;--\n", 2, "expected <block end>"),
])
def test_unusable_files_say_where(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = tmp_path / "seccenter.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [problem] = caught.value.problems
    assert problem.location.line == line and reason in problem.message, str(problem)


def test_control_characters_and_markup_in_values(tmp_path: Path) -> None:
    problems = _problems(tmp_path, 'sources:\n  logs: ["a\\u001b[31m.log"]\n  pcaps: ["[red]x[/red]"]\n')
    assert problems == ["2: sources.logs.path: control characters are not allowed"]


def test_binary_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "seccenter.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(path)
    with pytest.raises(ConfigError, match="No such file"):
        load_config(tmp_path / "absent.yaml")


def test_a_huge_file_of_unknown_keys_lists_each(tmp_path: Path) -> None:
    text = "sources: {logs: [a.log]}\n" + "".join(f"key{i}: {i}\n" for i in range(2000))
    problems = _problems(tmp_path, text)
    assert len(problems) == 2000 and problems[0].startswith("2: unknown key 'key0'")


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)), ("15m", timedelta(minutes=15)), ("12h", timedelta(hours=12)),
    ("90d", timedelta(days=90)), ("2w", timedelta(weeks=2)), (" 7 d ", timedelta(days=7)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0d", "90", "d", "-1d", "1.5d", "1y", "99999999999999999999d", "36501d", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("65536", 65536), (65536, 65536), ("64K", 64 << 10), ("64M", 64 << 20), ("1G", 1 << 30), ("2 MiB", 2 << 20),
    ("1t", 1 << 40), (0, 0),
])
def test_sizes(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1", -1, "1.5M", "1P", True])
def test_bad_sizes(text: str | int) -> None:
    with pytest.raises(ValueError):
        parse_size(text)
