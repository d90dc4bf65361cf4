"""SyslogCollector reading RFC 5424: the RFC's own examples, NILVALUEs, structured data, BOM, bad input, fuzzing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter.collect.access import AccessLogCollector
from seccenter.collect.interface import CollectOptions, LineRejected, Position
from seccenter.collect.syslog import SyslogCollector
from seccenter.events import Event, LogSource, Malformed, Origin

BERLIN = ZoneInfo("Europe/Berlin")
BOM = "\ufeff"


def collector(tz=UTC, year: int | None = 2026) -> SyslogCollector:
    return SyslogCollector(CollectOptions(tz=tz, year=year))


def parse_all(data: bytes, col: SyslogCollector | None = None) -> list[Event | Malformed]:
    return list((col or collector()).parse(io.BytesIO(data), "x.log", Position()))


def one(line: str | bytes, col: SyslogCollector | None = None) -> Event:
    """Parse one line through the full driver and insist it became an event."""
    data = line if isinstance(line, bytes) else line.encode()
    records = parse_all(data + b"\n", col)
    assert len(records) == 1
    (record,) = records
    assert isinstance(record, Event), record
    return record


# --- RFC 5424 section 6.5, examples 1-4 -----------------------------------------------------------------

EXAMPLE_1 = (f"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - {BOM}'su root' failed for lonvick "
             "on /dev/pts/8")
EXAMPLE_2 = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts."
EXAMPLE_3 = ('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
             f'eventSource="Application" eventID="1011"] {BOM}An application event log entry...')
EXAMPLE_4 = ('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
             'eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]')


def test_rfc5424_example_1_no_structured_data_and_bom():
    event = one(EXAMPLE_1)
    assert event.time == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert event.fields == {
        "facility": 4, "severity": 2, "host": "mymachine.example.com", "process": "su", "msgid": "ID47",
        "message": "'su root' failed for lonvick on /dev/pts/8",
    }
    assert event.source == "syslog"
    assert event.logsource == LogSource(product="linux", service="su")
    assert event.raw == EXAMPLE_1


def test_rfc5424_example_2_offset_microseconds_and_numeric_procid():
    event = one(EXAMPLE_2)
    assert event.time == datetime(2003, 8, 24, 12, 14, 15, 3, tzinfo=UTC)
    assert event.time.utcoffset() == timedelta(0)
    assert event.fields == {
        "facility": 20, "severity": 5, "host": "192.0.2.1", "process": "myproc", "pid": 8710,
        "message": "%% It's time to make the do-nuts.",
    }
    assert isinstance(event.fields["pid"], int)
    assert event.logsource.service == "myproc"


def test_rfc5424_example_3_structured_data_and_message():
    event = one(EXAMPLE_3)
    assert event.time == datetime(2003, 10, 11, 22, 14, 15, 3000, tzinfo=UTC)
    assert event.fields == {
        "facility": 20, "severity": 5, "host": "mymachine.example.com", "process": "evntslog", "msgid": "ID47",
        "sd.exampleSDID@32473.iut": "3",
        "sd.exampleSDID@32473.eventSource": "Application",
        "sd.exampleSDID@32473.eventID": "1011",
        "message": "An application event log entry...",
    }


def test_rfc5424_example_4_two_elements_and_no_message():
    event = one(EXAMPLE_4)
    assert event.fields["sd.exampleSDID@32473.iut"] == "3"
    assert event.fields["sd.exampleSDID@32473.eventSource"] == "Application"
    assert event.fields["sd.exampleSDID@32473.eventID"] == "1011"
    assert event.fields["sd.examplePriority@32473.class"] == "high"
    assert event.fields["message"] == ""
    assert event.fields["msgid"] == "ID47"
    assert "pid" not in event.fields and "procid" not in event.fields


# --- NILVALUE and header fields -------------------------------------------------------------------------


def test_all_header_fields_nil():
    before = datetime.now(UTC)
    event = one("<13>1 - - - - - -")
    assert before - timedelta(seconds=1) <= event.time <= datetime.now(UTC) + timedelta(seconds=1)
    assert event.fields == {"facility": 1, "severity": 5, "time_missing": True, "message": ""}
    assert event.logsource == LogSource(product="linux", service=None)


def test_nil_fields_are_omitted_and_message_kept():
    event = one("<14>1 2026-11-25T10:00:00Z - - - - - just a message")
    assert event.time == datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
    assert event.fields == {"facility": 1, "severity": 6, "message": "just a message"}
    assert "time_missing" not in event.fields


@pytest.mark.parametrize(
    ("procid", "expected"),
    [
        ("4711", {"pid": 4711}),
        ("0", {"pid": 0}),
        ("worker-3", {"procid": "worker-3"}),
        ("12345678901", {"procid": "12345678901"}),  # longer than any pid: kept as text, not a huge int
        ("٣", {"procid": "٣"}),  # a non-ASCII digit is not a pid
    ],
)
def test_procid_is_pid_when_numeric_else_text(procid, expected):
    fields = one(f"<14>1 2026-11-25T10:00:00Z host app {procid} - - m").fields
    assert {key: fields[key] for key in ("pid", "procid") if key in fields} == expected


def test_message_keeps_its_spaces_and_brackets():
    event = one('<14>1 2026-11-25T10:00:00Z host app - - -   [not sd] "quoted"  ')
    assert event.fields["message"] == '  [not sd] "quoted"  '


def test_bom_is_stripped_only_at_message_start():
    assert one(f"<14>1 2026-11-25T10:00:00Z h a - - - {BOM}x{BOM}y").fields["message"] == f"x{BOM}y"
    assert one(f'<14>1 2026-11-25T10:00:00Z h a - - [a b="c"] {BOM}msg').fields["message"] == "msg"


def test_bom_stripped_when_rest_of_line_is_not_utf8():
    line = b"<14>1 2026-11-25T10:00:00Z h a - - - \xef\xbb\xbfcaf\xe9"
    assert one(line).fields["message"] == "caf\xe9"


def test_auth_fields_come_from_the_app_name():
    event = one("<38>1 2026-11-25T10:00:00.5+01:00 srv01 sshd 1234 - - Failed password for invalid user admin "
                "from 203.0.113.9 port 52113 ssh2")
    assert event.time == datetime(2026, 11, 25, 9, 0, 0, 500000, tzinfo=UTC)
    assert event.logsource == LogSource(product="linux", service="sshd")
    assert event.fields["process"] == "sshd"
    assert event.fields["pid"] == 1234
    assert event.fields["user"] == "admin"
    assert event.fields["invalid_user"] is True
    assert event.fields["src_ip"] == "203.0.113.9"
    assert event.fields["src_port"] == 52113
    assert event.fields["outcome"] == "failure"
    assert event.fields["action"] == "login"


def test_app_name_with_pam_suffix_and_upper_case_routes_to_base_service():
    event = one("<86>1 2026-11-25T10:00:00Z srv01 CRON 4444 - - (root) CMD (run-parts /etc/cron.hourly)")
    assert event.logsource.service == "cron"
    assert event.fields["process"] == "CRON"


# --- time -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-25T10:00:00Z", datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-25T10:00:00.1Z", datetime(2026, 11, 25, 10, 0, 0, 100000, tzinfo=UTC)),
        ("2026-12-31T20:00:00-05:00", datetime(2027, 1, 1, 1, 0, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00+05:30", datetime(2026, 7, 1, 4, 30, 0, tzinfo=UTC)),
        # Longer fractions than RFC 5424's six digits come from real senders (.NET, Go): truncated, not refused.
        ("2026-07-01T10:00:00.123456789Z", datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_rfc3339_timestamps_become_utc(stamp, expected):
    event = one(f"<14>1 {stamp} host app - - - m", collector(tz=BERLIN))
    assert event.time == expected
    assert event.time.utcoffset() == timedelta(0)


def test_timestamp_without_offset_is_read_in_configured_zone():
    assert one("<14>1 2026-11-25T10:00:00 host app - - - m", collector(tz=BERLIN)).time == \
        datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)


# --- structured data ------------------------------------------------------------------------------------


def test_escapes_in_param_values():
    event = one(r'<14>1 2026-11-25T10:00:00Z h a - - [x@1 q="say \"hi\"" b="a\]b" s="C:\\temp" n="a\nb\x"] m')
    assert event.fields["sd.x@1.q"] == 'say "hi"'
    assert event.fields["sd.x@1.b"] == "a]b"
    assert event.fields["sd.x@1.s"] == "C:\\temp"
    # Any other backslash is an ordinary character (RFC 5424 section 6.3.3).
    assert event.fields["sd.x@1.n"] == "a\\nb\\x"
    assert event.fields["message"] == "m"


def test_escaped_quote_and_bracket_do_not_end_the_element():
    event = one(r'<14>1 2026-11-25T10:00:00Z h a - - [x@1 v="\"] [y=\"z\"]"][y@1 w="2"] tail')
    assert event.fields["sd.x@1.v"] == '"] [y="z"]'
    assert event.fields["sd.y@1.w"] == "2"
    assert event.fields["message"] == "tail"


def test_empty_value_unescaped_bracket_and_utf8_value():
    event = one('<14>1 2026-11-25T10:00:00Z h a - - [x@1 e="" r="1]2" u="Grüße 🙂"] m')
    assert event.fields["sd.x@1.e"] == ""
    assert event.fields["sd.x@1.r"] == "1]2"
    assert event.fields["sd.x@1.u"] == "Grüße 🙂"


def test_several_elements_element_without_params_and_repeated_param():
    event = one('<14>1 2026-11-25T10:00:00Z h a - - [timeQuality tzKnown="1" isSynced="1"][origin ip="192.0.2.1" '
                'ip="2001:db8::1" software="rsyslogd"][meta@9] m')
    assert event.fields["sd.timeQuality.tzKnown"] == "1"
    assert event.fields["sd.timeQuality.isSynced"] == "1"
    assert event.fields["sd.origin.ip"] == ["192.0.2.1", "2001:db8::1"]
    assert event.fields["sd.origin.software"] == "rsyslogd"
    assert not any(key.startswith("sd.meta@9") for key in event.fields)
    assert event.fields["message"] == "m"


def test_many_elements_with_a_repeated_param_are_all_kept():
    line = "<14>1 2026-11-25T10:00:00Z h a - - " + "".join(f'[seq n="{i}"]' for i in range(5000)) + " end"
    event = one(line)
    assert event.fields["sd.seq.n"] == [str(i) for i in range(5000)]
    assert event.fields["message"] == "end"


# --- bad input ------------------------------------------------------------------------------------------

NEXT = b"<14>1 2026-11-25T10:00:00Z host app - - - the next line"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('<14>1 2026-11-25T10:00:00Z h a - - [exampleSDID@32473 iut="3" m', "unterminated"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [exampleSDID@32473 iut="3"', "unterminated"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [x@1 a="1"][y@1', "unterminated"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [x@1 a="1\\"]', "unterminated"),
        ("<14>1 2026-11-25T10:00:00Z h a - - [x@1 a=1] m", "SD-PARAM"),
        ("<14>1 2026-11-25T10:00:00Z h a - - [x@1 a] m", "SD-PARAM"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [x@1 ="1"] m', "SD-PARAM"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [x@1  a="1"] m', "SD-PARAM"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [x@1 a = "1"] m', "SD-PARAM"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [="1"] m', "SD-ID"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [] m', "SD-ID"),
        ('<14>1 2026-11-25T10:00:00Z h a - - [x@1 a="1"]m', "followed by a space"),
        ("<14>1 2026-11-25T10:00:00Z h a - - -m", "structured data"),
        ("<14>1 2026-11-25T10:00:00Z h a - - hello", "structured data"),
        ("<192>1 2026-11-25T10:00:00Z h a - - - m", "priority"),
        ("<999>1 2026-11-25T10:00:00Z h a - - - m", "priority"),
        ("<14>2 2026-11-25T10:00:00Z h a - - - m", "version 2"),
        ("<14>1 2026-13-25T10:00:00Z h a - - - m", "timestamp"),
        ("<14>1 2026-02-30T10:00:00Z h a - - - m", "timestamp"),
        ("<14>1 2026-11-25T24:00:00Z h a - - - m", "timestamp"),
        ("<14>1 2026-11-25t10:00:00z h a - - - m", "timestamp"),
        ("<14>1 2026-11-25T10:00:00+24:00 h a - - - m", "timestamp"),
        ("<14>1 yesterday h a - - - m", "timestamp"),
        ("<14>1 2026-11-25 10:00:00Z h a - - - m", "timestamp"),
        ("<14>1 2026-11-25T10:00:00Z host", "header"),
        ("<14>1 ", "header"),
    ],
)
def test_bad_lines_are_malformed_with_a_reason_and_the_next_line_still_parses(line, reason):
    records = parse_all(line.encode() + b"\n" + NEXT + b"\n")
    assert [type(record) for record in records] == [Malformed, Event]
    bad, good = records
    assert reason.lower() in bad.reason.lower(), bad.reason
    assert bad.raw == line.encode()
    assert bad.origin.line == 1
    assert good.fields["message"] == "the next line"
    assert good.origin.offset == len(line) + 1


def test_priority_above_191_is_rejected_in_rfc3164_lines_too():
    records = parse_all(b"<192>Oct 11 22:14:15 mymachine su: x\n<191>Oct 11 22:14:15 mymachine su: x\n")
    assert [type(record) for record in records] == [Malformed, Event]
    assert "priority" in records[0].reason


def test_parse_line_raises_line_rejected():
    with pytest.raises(LineRejected, match="version"):
        collector().parse_line("<14>3 - - - - - -", Origin("x.log", 0, 1))


# --- other syslog flavours in the same file -------------------------------------------------------------


def test_rfc3164_rsyslog_and_rfc5424_lines_mix_in_one_file():
    data = (
        b"Nov  3 10:00:01 srv01 sshd[1234]: Accepted password for alice from 10.0.0.5 port 50000 ssh2\n"
        b"<34>2026-11-25T10:00:00.123+01:00 srv02 prog[7]: rsyslog stamp with priority\n"
        b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n"
        + EXAMPLE_3.encode() + b"\n"
    )
    records = parse_all(data)
    assert all(isinstance(record, Event) for record in records), records
    assert [record.fields["host"] for record in records] == ["srv01", "srv02", "mymachine", "mymachine.example.com"]
    assert records[1].time == datetime(2026, 11, 25, 9, 0, 0, 123000, tzinfo=UTC)
    assert records[1].fields["pid"] == 7


def test_sniff_accepts_rfc5424_and_access_sniff_rejects_it():
    head = "\n".join([EXAMPLE_1, EXAMPLE_2, EXAMPLE_3, EXAMPLE_4]).encode() + b"\n"
    assert collector().sniff(head) is True
    assert AccessLogCollector().sniff(head) is False


def test_linux_corpus_parses_without_malformed(corpus):
    path = corpus / "logs" / "Linux_2k.log"
    with path.open("rb") as stream:
        records = list(collector().parse(stream, str(path), Position()))
    assert len(records) == 2000
    assert [record for record in records if isinstance(record, Malformed)] == []


# --- generated input ------------------------------------------------------------------------------------

PRINTUSASCII = st.characters(min_codepoint=33, max_codepoint=126)
TOKEN = st.text(PRINTUSASCII, min_size=1, max_size=48).filter(lambda token: token != "-")
SD_NAME = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters='=]". '),
                  min_size=1, max_size=32)
LINE_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r")
OFFSETS = st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30)), BERLIN])


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _stamp(moment: datetime, zulu: bool) -> str:
    if zulu:
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return moment.isoformat(timespec="microseconds")


@settings(max_examples=300, deadline=None)
@given(
    pri=st.integers(0, 191),
    moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=OFFSETS),
    zulu=st.booleans(),
    host=st.none() | TOKEN,
    app=st.none() | TOKEN,
    procid=st.none() | TOKEN | st.integers(0, 2**31).map(str),
    msgid=st.none() | TOKEN.map(lambda token: token[:32]),
    sd=st.dictionaries(SD_NAME.map(lambda name: name + "@32473"),
                       st.dictionaries(SD_NAME, st.text(LINE_TEXT, max_size=30), max_size=4), max_size=3),
    message=st.none() | st.text(LINE_TEXT, max_size=80).filter(lambda text: not text.startswith(BOM)),
    bom=st.booleans(),
)
def test_generated_rfc5424_lines_round_trip(pri, moment, zulu, host, app, procid, msgid, sd, message, bom):
    structured = "".join(
        f"[{sd_id}" + "".join(f' {name}="{_escape(value)}"' for name, value in params.items()) + "]"
        for sd_id, params in sd.items()
    ) or "-"
    line = (f"<{pri}>1 {_stamp(moment, zulu)} {host or '-'} {app or '-'} {procid or '-'} {msgid or '-'} "
            f"{structured}")
    if message is not None:
        line += " " + (BOM if bom else "") + message
    event = one(line, collector(tz=UTC))
    fields = event.fields
    assert event.time == moment.astimezone(UTC)
    assert (fields["facility"], fields["severity"]) == (pri >> 3, pri & 7)
    assert fields.get("host") == host
    assert fields.get("process") == app
    if procid is not None and procid.isdigit() and len(procid) <= 10:
        assert fields["pid"] == int(procid)
        assert "procid" not in fields
    else:
        assert fields.get("procid") == procid
        assert "pid" not in fields
    assert fields.get("msgid") == msgid
    assert fields["message"] == (message or "")
    expected_sd = {f"sd.{sd_id}.{name}": value for sd_id, params in sd.items() for name, value in params.items()}
    assert {key: value for key, value in fields.items() if key.startswith("sd.")} == expected_sd
    assert event.raw == line


@pytest.mark.reliability
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data):
    for record in parse_all(data):
        assert isinstance(record, (Event, Malformed))
        if isinstance(record, Malformed):
            assert record.reason


@pytest.mark.reliability
@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(
        ["<14>1 ", "<14>1 2026-11-25T10:00:00Z h a - - ", "<14>1 - - - - - [x@1 ", "<0>1 - - - - - ["]),
    tail=st.text(st.sampled_from(list('[]"\\= -@ax1\ufeff')) | LINE_TEXT, max_size=60),
)
def test_rfc5424_like_text_is_an_event_or_rejected(prefix, tail):
    try:
        event = collector().parse_line(prefix + tail, Origin("x.log", 0, 1))
    except LineRejected as rejected:
        assert str(rejected)
    else:
        assert event.time.utcoffset() == timedelta(0)
        assert isinstance(event.fields["message"], str)
