"""SyslogCollector: RFC 3164 / RFC 3339 headers, time zones and years, auth.log fields, sniffing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from seccenter.collect.interface import CollectOptions, LineRejected, Position
from seccenter.collect.syslog import SyslogCollector
from seccenter.collect.timeparse import rfc3164_converter
from seccenter.events import Event, LogSource, Malformed, Origin

BERLIN = ZoneInfo("Europe/Berlin")


def collector(tz=UTC, year: int | None = 2026) -> SyslogCollector:
    return SyslogCollector(CollectOptions(tz=tz, year=year))


def parse_all(data: bytes, col: SyslogCollector | None = None) -> list[Event | Malformed]:
    return list((col or collector()).parse(io.BytesIO(data), "x.log", Position()))


def one(line: str, col: SyslogCollector | None = None) -> Event:
    """Parse one line through the full driver and insist it became an event."""
    records = parse_all(line.encode() + b"\n", col)
    assert len(records) == 1
    (record,) = records
    assert isinstance(record, Event), record
    return record


def fields_of(message: str, program: str = "sshd", pid: int | None = 1234) -> dict:
    tag = f"{program}[{pid}]" if pid is not None else program
    return one(f"Nov  3 10:00:01 srv01 {tag}: {message}").fields


# --- RFC 3164 -------------------------------------------------------------------------------------------


def test_rfc3164_line_header_fields():
    event = one("Nov  3 10:00:01 srv01 sshd[1234]: Server listening on 0.0.0.0 port 22.")
    assert event.time == datetime(2026, 11, 3, 10, 0, 1, tzinfo=UTC)
    assert event.fields["host"] == "srv01"
    assert event.fields["process"] == "sshd"
    assert event.fields["pid"] == 1234
    assert event.fields["message"] == "Server listening on 0.0.0.0 port 22."
    assert event.source == "syslog"
    assert event.raw == "Nov  3 10:00:01 srv01 sshd[1234]: Server listening on 0.0.0.0 port 22."


def test_rfc3164_two_digit_day():
    event = one("Dec 24 23:59:59 srv01 kernel: [12345.678] eth0: link up")
    assert event.time == datetime(2026, 12, 24, 23, 59, 59, tzinfo=UTC)
    assert event.fields["process"] == "kernel"
    assert "pid" not in event.fields
    assert event.fields["message"] == "[12345.678] eth0: link up"


@pytest.mark.parametrize(
    ("pri", "facility", "severity"),
    [(34, 4, 2), (13, 1, 5), (0, 0, 0), (86, 10, 6), (191, 23, 7)],
)
def test_rfc3164_priority_gives_facility_and_severity(pri, facility, severity):
    event = one(f"<{pri}>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    assert event.fields["facility"] == facility
    assert event.fields["severity"] == severity
    assert event.fields["host"] == "mymachine"
    assert event.fields["process"] == "su"
    assert event.time == datetime(2026, 10, 11, 22, 14, 15, tzinfo=UTC)


def test_no_priority_means_no_facility_or_severity():
    fields = one("Oct 11 22:14:15 mymachine su: hello").fields
    assert "facility" not in fields
    assert "severity" not in fields


# --- RFC 3339 -------------------------------------------------------------------------------------------


def test_rfc3339_with_offset_is_converted_to_utc():
    event = one("2026-11-25T10:00:00.123+01:00 host prog[1]: msg")
    assert event.time == datetime(2026, 11, 25, 9, 0, 0, 123000, tzinfo=UTC)
    assert event.time.utcoffset() == timedelta(0)
    assert event.fields["host"] == "host"
    assert event.fields["process"] == "prog"
    assert event.fields["pid"] == 1
    assert event.fields["message"] == "msg"


def test_rfc3339_zulu_and_microseconds():
    event = one("2026-03-01T23:30:00.654321Z web01 nginx[77]: started")
    assert event.time == datetime(2026, 3, 1, 23, 30, 0, 654321, tzinfo=UTC)


def test_rfc3339_negative_offset_crosses_midnight():
    event = one("2026-12-31T20:00:00-05:00 host prog: msg")
    assert event.time == datetime(2027, 1, 1, 1, 0, 0, tzinfo=UTC)


def test_rfc3339_without_offset_is_read_in_configured_zone():
    event = one("2026-11-25T10:00:00 host prog: msg", collector(tz=BERLIN))
    assert event.time == datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)


def test_rfc3339_with_offset_ignores_configured_zone():
    event = one("2026-07-01T10:00:00+00:00 host prog: msg", collector(tz=BERLIN))
    assert event.time == datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC)


# --- time zone and year --------------------------------------------------------------------------------


def test_time_is_utc_aware():
    event = one("Nov  3 10:00:01 srv01 sshd[1234]: x", collector(tz=BERLIN))
    assert event.time.tzinfo is not None
    assert event.time.utcoffset() == timedelta(0)


def test_rfc3164_honours_zone_and_year_in_winter():
    event = one("Nov  3 10:00:01 srv01 sshd[1234]: x", collector(tz=BERLIN, year=2026))
    assert event.time == datetime(2026, 11, 3, 9, 0, 1, tzinfo=UTC)


def test_rfc3164_honours_zone_in_summer_time():
    event = one("Jul 15 10:00:01 srv01 sshd[1234]: x", collector(tz=BERLIN, year=2026))
    assert event.time == datetime(2026, 7, 15, 8, 0, 1, tzinfo=UTC)


def test_rfc3164_configured_year_is_used():
    event = one("Mar  1 00:00:00 srv01 cron: x", collector(tz=UTC, year=2019))
    assert event.time == datetime(2019, 3, 1, 0, 0, 0, tzinfo=UTC)


def test_rfc3164_zone_shift_can_change_the_utc_date():
    event = one("Jan  1 00:30:00 srv01 cron: x", collector(tz=BERLIN, year=2027))
    assert event.time == datetime(2026, 12, 31, 23, 30, 0, tzinfo=UTC)


def test_year_rollover_december_line_read_in_january_is_last_year():
    convert = rfc3164_converter(UTC, None, now=datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    assert convert("Dec 31 23:59:00") == datetime(2026, 12, 31, 23, 59, 0, tzinfo=UTC)
    assert convert("Dec  1 00:00:00") == datetime(2026, 12, 1, 0, 0, 0, tzinfo=UTC)


def test_year_inference_keeps_current_year_for_past_and_near_dates():
    convert = rfc3164_converter(UTC, None, now=datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    assert convert("Jan  1 12:00:00") == datetime(2027, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert convert("Jan  2 07:00:00") == datetime(2027, 1, 2, 7, 0, 0, tzinfo=UTC)
    # Slightly in the future (clock skew between hosts) is still this year.
    assert convert("Jan  2 20:00:00") == datetime(2027, 1, 2, 20, 0, 0, tzinfo=UTC)


def test_year_inference_with_zone():
    convert = rfc3164_converter(BERLIN, None, now=datetime(2027, 1, 2, 8, 0, tzinfo=UTC))
    assert convert("Dec 31 23:59:00") == datetime(2026, 12, 31, 22, 59, 0, tzinfo=UTC)


def test_year_rollover_leap_day_from_last_year():
    # Read on 2025-01-02 (not a leap year), a "Feb 29" line can only be from 2024.
    convert = rfc3164_converter(UTC, None, now=datetime(2025, 1, 2, 8, 0, tzinfo=UTC))
    assert convert("Feb 29 10:00:00") == datetime(2024, 2, 29, 10, 0, 0, tzinfo=UTC)


def test_collector_without_year_uses_current_year():
    stamp = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    line = f"{stamp:%b} {stamp.day:2d} {stamp:%H:%M:%S} srv01 cron: x"
    event = one(line, collector(tz=UTC, year=None))
    assert event.time == stamp


def test_invalid_calendar_date_is_malformed_not_an_exception():
    records = parse_all(b"Feb 30 10:00:01 srv01 sshd[1]: x\nNov  3 25:00:01 srv01 sshd[1]: x\n")
    assert [type(r) for r in records] == [Malformed, Malformed]
    assert all(r.reason for r in records)


# --- logsource ------------------------------------------------------------------------------------------


def test_logsource_product_linux_and_service_is_program():
    event = one("Nov  3 10:00:01 srv01 sshd[1234]: Connection from 1.2.3.4")
    assert event.logsource == LogSource(product="linux", category=None, service="sshd")


def test_logsource_service_is_lowercased_program():
    event = one("Nov  3 10:17:01 srv01 CRON[4444]: (root) CMD (   cd / && run-parts /etc/cron.hourly)")
    assert event.logsource.product == "linux"
    assert event.logsource.service == "cron"
    assert event.fields["process"] == "CRON"
    assert event.fields["pid"] == 4444


def test_program_with_pam_suffix_routes_to_base_service():
    event = one(
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 "
        "tty=NODEVssh ruser= rhost=218.188.2.4 "
    )
    assert event.logsource.service == "sshd"
    assert event.fields["process"] == "sshd(pam_unix)"
    assert event.fields["pid"] == 19939
    assert event.fields["src_ip"] == "218.188.2.4"
    assert event.fields["outcome"] == "failure"
    assert event.fields["action"] == "authentication"


def test_line_without_program_tag_keeps_message():
    event = one("Nov  3 10:00:01 srv01 -- MARK --")
    assert event.fields["host"] == "srv01"
    assert event.fields["message"] == "-- MARK --"
    assert "process" not in event.fields
    assert "pid" not in event.fields
    assert event.logsource.product == "linux"
    assert event.logsource.service is None


def test_non_syslog_line_is_rejected_by_parse_line():
    with pytest.raises(LineRejected):
        collector().parse_line("this is not syslog", Origin("x.log", 0, 1))


def test_parse_line_directly():
    event = collector().parse_line("Nov  3 10:00:01 srv01 sshd[1234]: hi", Origin("x.log", 10, 2))
    assert event.origin == Origin("x.log", 10, 2)
    assert event.fields["message"] == "hi"


# --- sshd -----------------------------------------------------------------------------------------------


def test_sshd_failed_password():
    fields = fields_of("Failed password for root from 203.0.113.9 port 52113 ssh2")
    assert fields["user"] == "root"
    assert fields["src_ip"] == "203.0.113.9"
    assert fields["src_port"] == 52113
    assert isinstance(fields["src_port"], int)
    assert fields["outcome"] == "failure"
    assert fields["action"] == "login"
    assert fields["auth_method"] == "password"
    assert "invalid_user" not in fields


def test_sshd_failed_password_invalid_user():
    fields = fields_of("Failed password for invalid user admin from 198.51.100.23 port 40022 ssh2")
    assert fields["user"] == "admin"
    assert fields["invalid_user"] is True
    assert fields["src_ip"] == "198.51.100.23"
    assert fields["src_port"] == 40022
    assert fields["outcome"] == "failure"


def test_sshd_failed_publickey():
    fields = fields_of("Failed publickey for git from 2001:db8::7 port 61000 ssh2: ED25519 SHA256:abcdef")
    assert fields["auth_method"] == "publickey"
    assert fields["user"] == "git"
    assert fields["src_ip"] == "2001:db8::7"
    assert fields["src_port"] == 61000
    assert fields["outcome"] == "failure"


def test_sshd_accepted_password():
    fields = fields_of("Accepted password for alice from 10.0.0.5 port 50000 ssh2")
    assert fields["user"] == "alice"
    assert fields["src_ip"] == "10.0.0.5"
    assert fields["src_port"] == 50000
    assert fields["outcome"] == "success"
    assert fields["action"] == "login"
    assert fields["auth_method"] == "password"


def test_sshd_accepted_publickey():
    fields = fields_of("Accepted publickey for deploy from 192.0.2.44 port 33000 ssh2: RSA SHA256:xyz")
    assert fields["user"] == "deploy"
    assert fields["auth_method"] == "publickey"
    assert fields["outcome"] == "success"
    assert fields["src_ip"] == "192.0.2.44"


def test_sshd_session_process_is_treated_as_sshd():
    event = one("Nov  3 10:00:01 srv01 sshd-session[99]: Failed password for root from 203.0.113.9 port 1 "
                "ssh2")
    assert event.fields["user"] == "root"
    assert event.fields["src_ip"] == "203.0.113.9"


@pytest.mark.parametrize(
    ("message", "port"),
    [
        ("Invalid user oracle from 203.0.113.50 port 51234", 51234),
        ("Invalid user oracle from 203.0.113.50", None),
    ],
)
def test_sshd_invalid_user(message, port):
    fields = fields_of(message)
    assert fields["user"] == "oracle"
    assert fields["src_ip"] == "203.0.113.50"
    assert fields["outcome"] == "failure"
    assert fields["action"] == "invalid_user"
    if port is None:
        assert "src_port" not in fields
    else:
        assert fields["src_port"] == port


def test_sshd_source_hostname_goes_to_src_host():
    fields = fields_of("Failed password for root from attacker.example.net port 22 ssh2")
    assert fields["src_host"] == "attacker.example.net"
    assert "src_ip" not in fields


@pytest.mark.parametrize(
    ("message", "user"),
    [
        # The user name is chosen by the attacker and may contain spaces: the source address sshd
        # appends at the end must win, not one smuggled into the user name.
        ("Failed password for invalid user x from 6.6.6.6 port 1 from 203.0.113.9 port 52000 ssh2",
         "x from 6.6.6.6 port 1"),
        ("Connection closed by invalid user x 6.6.6.6 port 1 203.0.113.9 port 52000 [preauth]",
         "x 6.6.6.6 port 1"),
    ],
    ids=["failed-password", "connection-closed"],
)
def test_sshd_user_name_cannot_spoof_source_address(message, user):
    fields = fields_of(message)
    assert fields["src_ip"] == "203.0.113.9"
    assert fields["src_port"] == 52000
    assert fields["user"] == user


def test_unrelated_sshd_message_has_no_auth_fields():
    fields = fields_of("Server listening on :: port 22.")
    assert "outcome" not in fields
    assert "user" not in fields
    assert "src_ip" not in fields


# --- PAM ------------------------------------------------------------------------------------------------


def test_pam_authentication_failure_with_ip_rhost():
    fields = fields_of(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
        "rhost=218.92.0.112  user=root"
    )
    assert fields["src_ip"] == "218.92.0.112"
    assert "src_host" not in fields
    assert fields["user"] == "root"
    assert fields["pam_service"] == "sshd"
    assert fields["outcome"] == "failure"
    assert fields["action"] == "authentication"
    assert "rhost" not in fields


def test_pam_authentication_failure_with_hostname_rhost():
    fields = fields_of(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
        "rhost=scanner.example.org  user=admin"
    )
    assert fields["src_host"] == "scanner.example.org"
    assert "src_ip" not in fields
    assert fields["user"] == "admin"


def test_pam_authentication_failure_without_rhost():
    fields = fields_of(
        "pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 "
        "ruser=alice rhost=  user=alice",
        program="sudo",
    )
    assert fields["user"] == "alice"
    assert fields["pam_service"] == "sudo"
    assert "src_ip" not in fields
    assert "src_host" not in fields


def test_pam_more_authentication_failures():
    fields = fields_of(
        "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
        "rhost=203.0.113.9  user=root"
    )
    assert fields["attempts"] == 5
    assert fields["src_ip"] == "203.0.113.9"
    assert fields["user"] == "root"


def test_pam_session_opened():
    fields = fields_of("pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
                       program="sudo")
    assert fields["action"] == "session"
    assert fields["session"] == "opened"
    assert fields["user"] == "root"
    assert fields["by_user"] == "alice"


# --- sudo -----------------------------------------------------------------------------------------------


def test_sudo_command():
    event = one(
        "Nov  3 10:00:01 srv01 sudo[2222]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/usr/bin/apt install -y nmap"
    )
    fields = event.fields
    assert event.logsource.service == "sudo"
    assert fields["user"] == "alice"
    assert fields["tty"] == "pts/0"
    assert fields["pwd"] == "/home/alice"
    assert fields["target_user"] == "root"
    assert fields["command"] == "/usr/bin/apt install -y nmap"
    assert fields["action"] == "sudo"
    assert "sudo_error" not in fields


def test_sudo_with_extra_env_and_pwd_with_spaces():
    fields = fields_of(
        "alice : TTY=pts/3 ; PWD=/srv/my files ; USER=postgres ; ENV=PGDATA=/x ; COMMAND=/usr/bin/psql",
        program="sudo",
    )
    assert fields["pwd"] == "/srv/my files"
    assert fields["target_user"] == "postgres"
    assert fields["command"] == "/usr/bin/psql"


@pytest.mark.parametrize("error", ["user NOT in sudoers", "3 incorrect password attempts"])
def test_sudo_with_error_prefix(error):
    fields = fields_of(
        f"     bob : {error} ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/cat /etc/shadow",
        program="sudo",
    )
    assert fields["user"] == "bob"
    assert fields["sudo_error"] == error
    assert fields["target_user"] == "root"
    assert fields["command"] == "/bin/cat /etc/shadow"
    assert fields["tty"] == "pts/1"


# --- su -------------------------------------------------------------------------------------------------


def test_su_failed():
    fields = fields_of("FAILED SU (to root) alice on pts/0", program="su", pid=3333)
    assert fields["target_user"] == "root"
    assert fields["user"] == "alice"
    assert fields["tty"] == "pts/0"
    assert fields["outcome"] == "failure"
    assert fields["action"] == "su"


def test_su_successful():
    fields = fields_of("Successful su for root by alice", program="su")
    assert fields["target_user"] == "root"
    assert fields["user"] == "alice"
    assert fields["outcome"] == "success"
    assert fields["action"] == "su"


def test_su_failed_lowercase_variant():
    fields = fields_of("FAILED su for postgres by mallory", program="su")
    assert fields["target_user"] == "postgres"
    assert fields["user"] == "mallory"
    assert fields["outcome"] == "failure"


# --- useradd --------------------------------------------------------------------------------------------


def test_useradd_new_user():
    fields = fields_of(
        "new user: name=mallory, UID=1001, GID=1001, home=/home/mallory, shell=/bin/bash, from=/dev/pts/0",
        program="useradd",
    )
    assert fields["target_user"] == "mallory"
    assert fields["uid"] == 1001
    assert isinstance(fields["uid"], int)
    assert fields["gid"] == 1001
    assert fields["home"] == "/home/mallory"
    assert fields["shell"] == "/bin/bash"
    assert fields["action"] == "user_created"


def test_useradd_root_uid_zero():
    fields = fields_of("new user: name=toor, UID=0, GID=0, home=/root, shell=/bin/sh", program="useradd")
    assert fields["uid"] == 0
    assert fields["shell"] == "/bin/sh"


def test_auth_patterns_only_apply_to_their_program():
    fields = fields_of("Failed password for root from 203.0.113.9 port 22 ssh2", program="myapp")
    assert "src_ip" not in fields
    assert "outcome" not in fields


# --- sniffing -------------------------------------------------------------------------------------------

SYSLOG_HEAD = (
    b"Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2\n"
    b"Nov  3 10:00:02 srv01 sshd[1234]: Connection closed by 203.0.113.9 port 52113 [preauth]\n"
    b"Nov  3 10:17:01 srv01 CRON[4444]: (root) CMD (run-parts /etc/cron.hourly)\n"
    b"2026-11-25T10:00:00.123+01:00 srv01 systemd[1]: Started Session 3.\n"
)

ACCESS_HEAD = (
    b'203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8.0"\n'
    b'203.0.113.7 - - [10/Oct/2026:13:55:37 -0700] "GET /favicon.ico HTTP/1.1" 404 0 "-" "curl/8.0"\n'
)


def test_sniff_accepts_syslog():
    assert collector().sniff(SYSLOG_HEAD) is True


def test_sniff_accepts_syslog_with_last_line_cut_short():
    assert collector().sniff(SYSLOG_HEAD + b"Nov  3 10:1") is True


def test_sniff_accepts_priority_prefixed_syslog():
    assert collector().sniff(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n") is True


@pytest.mark.parametrize(
    "head",
    [
        ACCESS_HEAD,
        bytes(range(256)) * 8,
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200 + b"\n\x89PNG\r\n\x1a\n",
        b"",
        b"\n\n  \n",
        b'{"time": "2026-11-03T10:00:01Z", "msg": "json log"}\n' * 3,
    ],
    ids=["access-log", "all-bytes", "binary", "empty", "blank", "json"],
)
def test_sniff_rejects_other_formats(head):
    assert collector().sniff(head) is False


def test_zone_less_times_use_the_local_offset_of_their_own_date(monkeypatch):
    import time as time_module

    from seccenter.collect.timeparse import rfc3164_converter

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time_module.tzset()
    try:
        convert = rfc3164_converter(None, 2026)
        assert convert("Jan 15 12:00:00").hour == 11  # CET, UTC+1
        assert convert("Jul 15 12:00:00").hour == 10  # CEST, UTC+2
    finally:
        monkeypatch.undo()
        time_module.tzset()
