"""JournaldCollector: ``journalctl -o json`` entries with syslog field names and auth.log semantics."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter.collect.interface import LineRejected, Position
from seccenter.collect.journald import JournaldCollector
from seccenter.collect.jsonlines import JsonLinesCollector
from seccenter.collect.suricata import SuricataCollector
from seccenter.collect.zeek import ZeekJsonCollector, ZeekTsvCollector
from seccenter.events import Event, LogSource, Malformed, Origin

PATH = "journal.json"
STAMP = "1793696401123456"  # 2026-11-03T09:00:01.123456Z
TIME = datetime(2026, 11, 3, 9, 0, 1, 123456, tzinfo=UTC)


def entry(**fields) -> dict:
    base = {
        "__CURSOR": "s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8b34d8a;m=2dd5b0c8;t=62c6b1a4f3c40;x=a",
        "__REALTIME_TIMESTAMP": STAMP,
        "__MONOTONIC_TIMESTAMP": "769241288",
        "_BOOT_ID": "6c7c6013a8b34d8a8a5b1b7e1e0c4b1d",
        "_MACHINE_ID": "9d3c4fdf4a6e4b9c8a2e1f0b7c6d5e4f",
        "_HOSTNAME": "srv01",
        "PRIORITY": "6",
        "SYSLOG_FACILITY": "4",
        "_UID": "0",
        "_GID": "0",
        "_TRANSPORT": "syslog",
        "SYSLOG_IDENTIFIER": "sshd",
        "SYSLOG_PID": "1234",
        "_PID": "1234",
        "_COMM": "sshd",
        "_EXE": "/usr/sbin/sshd",
        "_CMDLINE": "sshd: root [priv]",
        "_SYSTEMD_UNIT": "ssh.service",
        "_SYSTEMD_CGROUP": "/system.slice/ssh.service",
        "MESSAGE": "Failed password for root from 203.0.113.9 port 52113 ssh2",
        "SYSLOG_TIMESTAMP": "Nov  3 10:00:01 ",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not ...}


def line_of(**fields) -> bytes:
    return json.dumps(entry(**fields)).encode()


SSHD_FAILED = line_of()


def parse_all(data: bytes) -> list[Event | Malformed]:
    return list(JournaldCollector().parse(io.BytesIO(data), PATH, Position()))


def one(line: bytes) -> Event:
    records = parse_all(line + b"\n")
    assert len(records) == 1
    assert isinstance(records[0], Event), records[0]
    return records[0]


# --- fields ---------------------------------------------------------------------------------------------


def test_syslog_names_time_and_logsource():
    event = one(SSHD_FAILED)
    assert event.time == TIME
    assert event.source == "journald"
    assert event.logsource == LogSource(product="linux", service="sshd")
    fields = event.fields
    assert fields["host"] == "srv01"
    assert fields["process"] == "sshd"
    assert fields["pid"] == 1234
    assert fields["message"] == "Failed password for root from 203.0.113.9 port 52113 ssh2"
    assert fields["unit"] == "ssh.service"
    assert fields["priority"] == 6
    assert fields["uid"] == 0
    assert event.raw == SSHD_FAILED.decode()
    assert event.origin == Origin(PATH, 0, 1)


def test_auth_fields_like_auth_log():
    fields = one(SSHD_FAILED).fields
    assert fields["user"] == "root"
    assert fields["src_ip"] == "203.0.113.9"
    assert fields["src_port"] == 52113
    assert fields["outcome"] == "failure"
    assert fields["action"] == "login"


def test_every_journal_field_is_kept_as_text():
    fields = one(SSHD_FAILED).fields
    for name, value in entry().items():
        assert fields[name] == value
    assert fields["_CMDLINE"] == "sshd: root [priv]"
    assert fields["__MONOTONIC_TIMESTAMP"] == "769241288"


def test_sudo_entry():
    line = line_of(SYSLOG_IDENTIFIER="sudo", _COMM="sudo", _PID="4321", SYSLOG_PID=..., _SYSTEMD_UNIT=...,
                   MESSAGE="    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id")
    event = one(line)
    assert event.logsource == LogSource(product="linux", service="sudo")
    assert event.fields["user"] == "alice"
    assert event.fields["target_user"] == "root"
    assert event.fields["command"] == "/usr/bin/id"
    assert event.fields["pid"] == 4321
    assert "unit" not in event.fields


def test_sshd_session_is_service_sshd():
    event = one(line_of(SYSLOG_IDENTIFIER="sshd-session", _COMM="sshd-session",
                        MESSAGE="Accepted publickey for alice from 10.0.0.5 port 50000 ssh2: ED25519 SHA256:abc"))
    assert event.logsource.service == "sshd"
    assert event.fields["process"] == "sshd-session"
    assert event.fields["outcome"] == "success"
    assert event.fields["user"] == "alice"


def test_useradd_uid_is_the_new_users_and_process_uid_stays_under_journal_name():
    event = one(line_of(SYSLOG_IDENTIFIER="useradd", _COMM="useradd",
                        MESSAGE="new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, shell=/bin/bash"))
    assert event.fields["uid"] == 1001
    assert event.fields["_UID"] == "0"
    assert event.fields["target_user"] == "backdoor"
    assert event.fields["action"] == "user_created"


def test_process_from_comm_and_pid_from_syslog_pid_when_missing():
    event = one(line_of(SYSLOG_IDENTIFIER=..., _PID=..., SYSLOG_PID="77", _COMM="CRON", MESSAGE="x"))
    assert event.fields["process"] == "CRON"
    assert event.fields["pid"] == 77
    assert event.logsource == LogSource(product="linux", service="cron")


def test_kernel_entry_without_process_fields():
    line = json.dumps({"__REALTIME_TIMESTAMP": STAMP, "_TRANSPORT": "kernel", "PRIORITY": "4",
                       "MESSAGE": "usb 1-1: new high-speed USB device number 2", "_HOSTNAME": "srv01"}).encode()
    event = one(line)
    assert "process" not in event.fields
    assert "pid" not in event.fields
    assert event.logsource == LogSource(product="linux")
    assert event.fields["priority"] == 4


def test_binary_message_as_byte_list_is_decoded():
    message = "Invalid user jörg\x01 from 203.0.113.9 port 4444"
    event = one(line_of(MESSAGE=list(message.encode())))
    assert event.fields["message"] == message
    assert event.fields["MESSAGE"] == message
    assert event.fields["user"] == "jörg\x01"


def test_binary_message_that_is_not_utf8_falls_back_to_latin1():
    event = one(line_of(MESSAGE=list(b"Invalid user j\xf6rg from 203.0.113.9 port 4444")))
    assert event.fields["message"] == "Invalid user j\xf6rg from 203.0.113.9 port 4444"
    assert event.fields["user"] == "j\xf6rg"


def test_repeated_field_is_a_list_and_null_field_is_omitted():
    event = one(line_of(TAG=["one", [116, 119, 111]], COREDUMP=None))
    assert event.fields["TAG"] == ["one", "two"]
    assert "COREDUMP" not in event.fields


def test_json_seq_record_separator_is_accepted():
    assert one(b"\x1e" + SSHD_FAILED).fields["user"] == "root"


def test_latin1_and_nul_and_ansi_and_markup_kept():
    message = "Invalid user \x1b[31mroot\x1b[0m[bold]x[/bold]\x00 from 203.0.113.9 port 22"
    event = one(line_of(MESSAGE=message))
    assert event.fields["message"] == message
    assert event.fields["user"] == "\x1b[31mroot\x1b[0m[bold]x[/bold]\x00"
    latin = line_of(MESSAGE="x").replace(b'"MESSAGE": "x"', b'"MESSAGE": "j\xf6rg"')
    assert one(latin).fields["message"] == "j\xf6rg"


def test_lone_surrogate_escape_in_message_is_kept_as_text():
    line = line_of(MESSAGE="x").replace(b'"MESSAGE": "x"', b'"MESSAGE": "bad \\ud800 text"')
    event = one(line)
    assert event.fields["message"] == "bad \\ud800 text"
    event.fields["message"].encode("utf-8")


# --- sniffing -------------------------------------------------------------------------------------------

SURICATA_LINE = (b'{"timestamp":"2026-11-03T10:00:01.123456+0100","event_type":"alert","src_ip":"10.1.2.3",'
                 b'"alert":{"signature":"ET X"}}')
ZEEK_LINE = b'{"ts":1793527200.123456,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.168.1.10","proto":"tcp"}'
GENERIC_LINE = b'{"@timestamp":"2026-11-03T10:00:01Z","message":"hello","host":{"name":"srv01"}}'


def test_sniff_accepts_journal():
    assert JournaldCollector().sniff(SSHD_FAILED + b"\n" + line_of(MESSAGE="x") + b"\n") is True
    assert JournaldCollector().sniff((SSHD_FAILED * 40)[:8192]) is True  # one line longer than the head


@pytest.mark.parametrize(
    "line",
    [b"Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2",
     b'203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 2326', SURICATA_LINE, ZEEK_LINE,
     GENERIC_LINE, b'{"message":"__REALTIME_TIMESTAMP is a journald field"}'],
    ids=["syslog", "access", "suricata", "zeek", "generic", "mention"],
)
def test_sniff_rejects_other_formats(line):
    assert JournaldCollector().sniff(line + b"\n" + line + b"\n") is False
    assert JournaldCollector().sniff(line[:50]) is False


def test_other_sniffers_reject_journal():
    head = SSHD_FAILED + b"\n" + SSHD_FAILED + b"\n"
    for other in (SuricataCollector(), ZeekJsonCollector(), ZeekTsvCollector()):
        assert other.sniff(head) is False, other.name
    assert JsonLinesCollector().sniff(head) is True  # generic JSON lines takes anything, and comes last


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"MESSAGE":"no time"}', "__REALTIME_TIMESTAMP"),
        (b'{"__REALTIME_TIMESTAMP":1793696401123456}', "__REALTIME_TIMESTAMP"),
        (b'{"__REALTIME_TIMESTAMP":"soon"}', "__REALTIME_TIMESTAMP"),
        (b'{"__REALTIME_TIMESTAMP":"' + b"9" * 40 + b'"}', "__REALTIME_TIMESTAMP"),
        (b'{"__REALTIME_TIMESTAMP":"9999999999999999999"}', "out of range"),
        (b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":{"nested":1}}', "neither text"),
        (b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":42}', "neither text"),
        (b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":[300]}', "neither text"),
        (b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":[true]}', "neither text"),
        (b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":["a",5]}', "neither text"),
        (b'{"__REALTIME_TIMESTAMP":"1"', "invalid JSON"),
        (b"[1,2]", "not an object"),
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested deeper"),
        (b'{"__REALTIME_TIMESTAMP":"1","n":1e999}', "neither text"),
        (b'{"__REALTIME_TIMESTAMP":"1","n":' + b"1" * 5000 + b"}", "number too large"),
        (b"\x00" * 100, "invalid JSON"),
        (b'{"__REALTIME_TIMESTAMP":"1","MESSAGE":"' + b"x" * (2 * 1024 * 1024) + b'"}', "longer than"),
    ],
    ids=["no-time", "numeric-time", "text-time", "huge-time", "time-overflow", "object-value", "number-value",
         "byte-over-255", "bool-byte", "mixed-list", "truncated", "array", "deep-array", "deep-object", "inf",
         "5000-digits", "nul-region", "2mb-value"],
)
def test_bad_entry_is_malformed_and_neighbours_parse(bad, reason):
    data = SSHD_FAILED + b"\n" + bad + b"\n" + SSHD_FAILED + b"\n"
    records = parse_all(data)
    assert [type(r) for r in records] == [Event, Malformed, Event]
    assert reason in records[1].reason
    assert records[1].origin == Origin(PATH, len(SSHD_FAILED) + 1, 2)
    assert records[2].origin == Origin(PATH, len(SSHD_FAILED) + len(bad) + 2, 3)


def test_truncated_last_line():
    records = parse_all(SSHD_FAILED + b"\n" + SSHD_FAILED)
    assert [type(r) for r in records] == [Event, Event]
    records = parse_all(SSHD_FAILED + b"\n" + SSHD_FAILED[:100])
    assert [type(r) for r in records] == [Event, Malformed]


def test_parse_line_rejects_non_journal():
    with pytest.raises(LineRejected):
        JournaldCollector().parse_line('{"MESSAGE":"x"}', Origin(PATH, 0, 1))


@pytest.mark.reliability
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_property_arbitrary_bytes_never_raise(data):
    position = Position()
    records = list(JournaldCollector().parse(io.BytesIO(data), PATH, position))
    assert all(isinstance(r, Event | Malformed) for r in records)
    assert position.offset == len(data)


journal_values = st.one_of(
    st.text(max_size=30),
    st.lists(st.integers(0, 255), max_size=30),
    st.none(),
    st.lists(st.one_of(st.text(max_size=5), st.lists(st.integers(0, 255), min_size=1, max_size=5)),
             min_size=1, max_size=3),
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda key: key != "__REALTIME_TIMESTAMP"), journal_values, max_size=8),
    st.integers(0, 4_102_444_800_000_000))
def test_property_generated_entries_parse(extra, microseconds):
    record = dict(extra)
    record["__REALTIME_TIMESTAMP"] = str(microseconds)
    event = one(json.dumps(record).encode())
    assert event.time == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=microseconds)
    for name, value in extra.items():
        if value is None:
            assert name not in event.fields
        else:
            assert name in event.fields
