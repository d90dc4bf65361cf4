"""JsonLinesCollector: generic JSON lines, flattened field names, time precedence, Windows logsource, hostile input."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter.collect.access import AccessLogCollector
from seccenter.collect.interface import CollectOptions, LineRejected, Position
from seccenter.collect.journald import JournaldCollector
from seccenter.collect.jsonlines import MAX_DEPTH, JsonLinesCollector, windows_logsource
from seccenter.collect.suricata import SuricataCollector
from seccenter.collect.syslog import SyslogCollector
from seccenter.collect.zeek import ZeekJsonCollector, ZeekTsvCollector
from seccenter.events import Event, LogSource, Malformed, Origin

PATH = "app.json"

APP = ('{"@timestamp":"2026-11-03T10:00:01.250Z","level":"warn","user":{"name":"alice","id":1001},'
       '"tags":["vpn","login"]}')
SYSMON = (
    '{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS-042.rathaus.local",'
    '"UtcTime":"2026-11-01 10:00:00.000","Image":"C:\\\\Windows\\\\System32\\\\cmd.exe",'
    '"CommandLine":"cmd.exe /c whoami","User":"RATHAUS\\\\jdoe"}'
)
SECURITY = ('{"TimeCreated":"2026-11-01T09:59:58.1234567Z","EventID":4625,"Channel":"Security",'
            '"TargetUserName":"administrator","IpAddress":"203.0.113.9","LogonType":3}')

SYSLOG_LINE = b"Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2"
ACCESS_LINE = b'203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8"'
SURICATA_LINE = (b'{"timestamp":"2026-11-03T10:00:01.123456+0100","flow_id":1,"event_type":"dns","src_ip":"10.1.2.3",'
                 b'"src_port":53012,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP",'
                 b'"dns":{"type":"query","id":1,"rrname":"example.org","rrtype":"A","tx_id":0}}')
ZEEK_LINE = (b'{"ts":1793527200.123456,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.168.1.10","id.orig_p":52113,'
             b'"id.resp_h":"93.184.216.34","id.resp_p":80,"proto":"tcp","conn_state":"SF"}')
JOURNALD_LINE = (b'{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1793696401123456","_HOSTNAME":"srv01",'
                 b'"SYSLOG_IDENTIFIER":"sshd","_PID":"1234","MESSAGE":"Server listening on :: port 22."}')


def collector(tz=UTC) -> JsonLinesCollector:
    return JsonLinesCollector(CollectOptions(tz=tz))


def parse_all(data: bytes, col: JsonLinesCollector | None = None) -> list[Event | Malformed]:
    return list((col or collector()).parse(io.BytesIO(data), PATH, Position()))


def one(line: str | bytes, col: JsonLinesCollector | None = None) -> Event:
    data = line if isinstance(line, bytes) else line.encode()
    records = parse_all(data + b"\n", col)
    assert len(records) == 1
    assert isinstance(records[0], Event), records[0]
    return records[0]


# --- fields ---------------------------------------------------------------------------------------------


def test_nested_objects_are_flattened_with_dots_and_lists_kept():
    event = one(APP)
    assert event.fields == {
        "@timestamp": "2026-11-03T10:00:01.250Z",
        "level": "warn",
        "user.name": "alice",
        "user.id": 1001,
        "tags": ["vpn", "login"],
    }
    assert event.source == "jsonl"
    assert event.raw == APP
    assert event.origin == Origin(PATH, 0, 1)
    assert event.logsource == LogSource()


def test_objects_inside_lists_are_kept_as_json_text():
    event = one('{"answers":[{"rdata":"1.2.3.4","ttl":60},[1,2],"x",null,true,2.5]}')
    assert event.fields["answers"] == ['{"rdata":"1.2.3.4","ttl":60}', "[1,2]", "x", None, True, 2.5]


def test_empty_objects_vanish_and_scalars_keep_their_types():
    event = one('{"a":{},"b":{"c":{}},"n":null,"t":true,"f":1.5,"i":-3,"s":""}')
    assert event.fields == {"n": None, "t": True, "f": 1.5, "i": -3, "s": ""}
    assert event.fields["t"] is True


def test_deep_but_allowed_nesting_is_flattened():
    line = '{"a":' * (MAX_DEPTH - 1) + "1" + "}" * (MAX_DEPTH - 1)
    event = one(line)
    assert event.fields == {".".join(["a"] * (MAX_DEPTH - 1)): 1}


def test_key_order_and_unicode_are_kept():
    event = one('{"z":1,"ä":"Straße","a":"日本"}')
    assert list(event.fields) == ["z", "ä", "a"]
    assert event.fields["ä"] == "Straße"


# --- time -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"@timestamp":"2026-11-03T10:00:01.250Z"}', datetime(2026, 11, 3, 10, 0, 1, 250000, tzinfo=UTC)),
        ('{"timestamp":"2026-11-03T10:00:01+01:00"}', datetime(2026, 11, 3, 9, 0, 1, tzinfo=UTC)),
        ('{"timestamp":"2026-11-03T10:00:01.123456+0100"}', datetime(2026, 11, 3, 9, 0, 1, 123456, tzinfo=UTC)),
        ('{"time":1793527200}', datetime(2026, 11, 1, 10, 0, 0, tzinfo=UTC)),
        ('{"time":1793527200.5}', datetime(2026, 11, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ('{"time":1793527200250}', datetime(2026, 11, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ('{"time":1793527200250001}', datetime(2026, 11, 1, 10, 0, 0, 250001, tzinfo=UTC)),
        ('{"time":1793527200250001000}', datetime(2026, 11, 1, 10, 0, 0, 250001, tzinfo=UTC)),
        ('{"time":"1793527200"}', datetime(2026, 11, 1, 10, 0, 0, tzinfo=UTC)),
        ('{"TimeCreated":"/Date(1793527200000)/"}', datetime(2026, 11, 1, 10, 0, 0, tzinfo=UTC)),
        ('{"TimeCreated":"2026-11-01T09:59:58.1234567Z"}', datetime(2026, 11, 1, 9, 59, 58, 123456, tzinfo=UTC)),
        ('{"Event":{"System":{"TimeCreated":{"#attributes":{"SystemTime":"2026-11-01T10:00:00.000000Z"}}}}}',
         datetime(2026, 11, 1, 10, 0, 0, tzinfo=UTC)),
    ],
)
def test_time_formats(line, expected):
    assert one(line).time == expected


def test_sysmon_utctime_without_zone_is_utc_even_when_configured_zone_differs():
    event = one(SYSMON, collector(tz=timezone(timedelta(hours=1))))
    assert event.time == datetime(2026, 11, 1, 10, 0, 0, tzinfo=UTC)


def test_zoneless_generic_timestamp_is_read_in_configured_zone():
    event = one('{"timestamp":"2026-11-01 10:00:00"}', collector(tz=timezone(timedelta(hours=1))))
    assert event.time == datetime(2026, 11, 1, 9, 0, 0, tzinfo=UTC)


def test_time_field_precedence():
    line = '{"time":"2020-01-01T00:00:00Z","timestamp":"2021-01-01T00:00:00Z","@timestamp":"2022-01-01T00:00:00Z"}'
    assert one(line).time.year == 2022
    assert one('{"time":"2020-01-01T00:00:00Z","timestamp":"2021-01-01T00:00:00Z"}').time.year == 2021
    assert one('{"UtcTime":"2020-01-01 00:00:00.000","TimeCreated":"2019-01-01T00:00:00Z"}').time.year == 2019


def test_unreadable_time_falls_through_to_next_field_then_ingest_time():
    assert one('{"@timestamp":"yesterday","time":1793527200}').time == datetime(2026, 11, 1, 10, tzinfo=UTC)
    before = datetime.now(UTC)
    event = one('{"msg":"no time here","time":"soon","timestamp":true}')
    assert before <= event.time <= datetime.now(UTC)
    assert event.time.tzinfo is not None
    assert event.fields["time"] == "soon"


@pytest.mark.parametrize("value", ['"0001-01-01T00:00:00+01:00"', "1e300", "-1e300", '"9999-12-31T23:59:59-01:00"'])
def test_out_of_range_times_fall_back_to_ingest_time(value):
    event = one('{"time":' + value + ',"x":1}')
    assert abs(event.time - datetime.now(UTC)) < timedelta(minutes=1)


# --- Windows logsource ----------------------------------------------------------------------------------


def test_windows_event_gets_windows_logsource():
    event = one(SECURITY)
    assert event.logsource == LogSource(product="windows", service="security")
    assert event.fields["TargetUserName"] == "administrator"
    assert event.fields["EventID"] == 4625


def test_sysmon_event_gets_service_and_category():
    event = one(SYSMON)
    assert event.logsource == LogSource(product="windows", category="process_creation", service="sysmon")
    assert event.fields["Image"] == "C:\\Windows\\System32\\cmd.exe"


def test_evtx_dump_style_event_gets_windows_logsource():
    line = ('{"Event":{"System":{"EventID":4688,"Channel":"Security","TimeCreated":{"#attributes":'
            '{"SystemTime":"2026-11-01T10:00:00Z"}}},"EventData":{"NewProcessName":"C:\\\\x.exe"}}}')
    event = one(line)
    assert event.logsource == LogSource(product="windows", service="security")
    assert event.fields["NewProcessName"] == "C:\\x.exe"  # the EVTX collector's names, not the nesting
    assert event.fields["EventID"] == 4688 and event.fields["Channel"] == "Security"


def test_event_id_without_channel_is_windows_without_service():
    assert one('{"EventID":4624}').logsource == LogSource(product="windows")


@pytest.mark.parametrize(
    ("channel", "service"),
    [
        ("Security", "security"),
        ("System", "system"),
        ("Application", "application"),
        ("Microsoft-Windows-Sysmon/Operational", "sysmon"),
        ("Microsoft-Windows-PowerShell/Operational", "powershell"),
        ("Windows PowerShell", "powershell-classic"),
        ("security", "security"),
        ("Some-Vendor/Admin", None),
        (None, None),
        (42, None),
    ],
)
def test_windows_logsource_table(channel, service):
    assert windows_logsource(channel) == LogSource(product="windows", service=service)


def test_windows_logsource_sysmon_categories():
    assert windows_logsource("Microsoft-Windows-Sysmon/Operational", 3).category == "network_connection"
    assert windows_logsource("Microsoft-Windows-Sysmon/Operational", "22").category == "dns_query"
    assert windows_logsource("Microsoft-Windows-Sysmon/Operational", 4).category == "sysmon_status"
    assert windows_logsource("Microsoft-Windows-Sysmon/Operational", 12, "DeleteKey").category == "registry_delete"
    assert windows_logsource("Microsoft-Windows-PowerShell/Operational", 4104).category == "ps_script"
    assert windows_logsource("Microsoft-Windows-Sysmon/Operational", "x").category is None
    assert windows_logsource("Security", 1).category is None


# --- sniffing -------------------------------------------------------------------------------------------


def test_sniff_accepts_any_json_object_lines():
    col = collector()
    assert col.sniff((APP + "\n" + SYSMON + "\n").encode()) is True
    for line in (SURICATA_LINE, ZEEK_LINE, JOURNALD_LINE):
        assert col.sniff(line + b"\n" + line + b"\n") is True


def test_sniff_accepts_a_first_line_longer_than_the_head():
    head = ('{"message":"' + "x" * 9000).encode()[:8192]
    assert collector().sniff(head) is True


def test_sniff_accepts_bom():
    assert collector().sniff(b"\xef\xbb\xbf" + APP.encode() + b"\n") is True


@pytest.mark.parametrize(
    "head",
    [SYSLOG_LINE * 1, ACCESS_LINE, b"[1,2,3]", b'"just a string"', b"#separator \\x09\n#fields\tts\n",
     b"not json at all", bytes(range(256))],
    ids=["syslog", "access", "array", "string", "zeek-tsv", "text", "binary"],
)
def test_sniff_rejects_other_formats(head):
    assert collector().sniff(head + b"\n" + head + b"\n") is False


def test_specific_sniffers_reject_generic_json():
    data = (APP + "\n" + SYSMON + "\n").encode()
    for other in (SuricataCollector(), ZeekJsonCollector(), JournaldCollector(), ZeekTsvCollector()):
        assert other.sniff(data) is False, other.name


# --- bad input ------------------------------------------------------------------------------------------

GOOD_A = b'{"n":1}'
GOOD_B = b'{"n":2}'


def between(bad: bytes) -> list[Event | Malformed]:
    """Parse ``bad`` between two valid lines; the neighbours must come out as events."""
    data = GOOD_A + b"\n" + bad + b"\n" + GOOD_B + b"\n"
    records = parse_all(data)
    assert len(records) == 3
    assert isinstance(records[0], Event) and records[0].fields == {"n": 1}
    assert isinstance(records[2], Event) and records[2].fields == {"n": 2}
    assert records[2].origin == Origin(PATH, len(GOOD_A) + len(bad) + 2, 3)
    assert records[1].origin == Origin(PATH, len(GOOD_A) + 1, 2)
    return records


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"a":1', "invalid JSON"),
        (b'{"a":1}}', "invalid JSON"),
        (b"{'a':1}", "invalid JSON"),
        (b"plain text", "invalid JSON"),
        (b"[1,2]", "not an object"),
        (b'"text"', "not an object"),
        (b"42", "not an object"),
        (b"null", "not an object"),
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper"),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "nested deeper"),
        (b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), "nested deeper"),
        (b'{"a":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}", "nested deeper"),
        (b'{"a":[1,' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"]}", "nested deeper"),
        (b'{"n":1e999}', "number too large"),
        (b'{"n":-1e999}', "number too large"),
        (b'{"n":[1e999]}', "number too large"),
        (b'{"n":' + b"7" * 5000 + b"}", "number too large"),
        (b'{"n":' + b"7" * 4000 + b"}", "number too large"),
        (b'{"n":18446744073709551616}', "number too large"),
        (b'{"n":NaN}', "NaN"),
        (b'{"n":-Infinity}', "Infinity"),
        (b"\x00" * 300, "invalid JSON"),
        (b'{"a":1}\x00', "invalid JSON"),
        (b"\x7fELF\x02\x01\x01\x00\xff\xfe", "invalid JSON"),
    ],
    ids=["unclosed", "extra-brace", "single-quotes", "text", "array", "string", "number", "null", "deep-array",
         "deep-object", "depth-65", "deep-list-in-object", "deep-list-in-list", "inf", "-inf", "inf-in-list",
         "5000-digits", "4000-digits", "2**64", "nan", "-infinity", "nul-region", "nul-after", "binary"],
)
def test_bad_line_is_malformed_with_reason_and_neighbours_parse(bad, reason):
    records = between(bad)
    bad_record = records[1]
    assert isinstance(bad_record, Malformed)
    assert reason in bad_record.reason
    assert bad_record.raw == bad[: len(bad_record.raw)]
    assert bad_record.raw_length == len(bad)


def test_parse_line_raises_only_line_rejected():
    for bad in ("[" * 100_000, '{"a":' * 100_000, "1e999", '{"x":1e999}', "{" + '"a":1,' * 10 + "}"):
        with pytest.raises(LineRejected):
            collector().parse_line(bad, Origin(PATH, 0, 1))


def test_largest_accepted_numbers():
    event = one('{"max":18446744073709551615,"min":-9223372036854775808,"big":1.7976931348623157e308}')
    assert event.fields["max"] == 2**64 - 1
    assert event.fields["min"] == -(2**63)
    assert event.fields["big"] == 1.7976931348623157e308


def test_nul_inside_strings_is_kept():
    event = one(b'{"escaped":"a\\u0000b","raw":"c\x00d"}')
    assert event.fields == {"escaped": "a\x00b", "raw": "c\x00d"}


def test_latin1_bytes_are_decoded_without_loss():
    line = b'{"user":"j\xf6rg","city":"M\xfcnster"}'
    event = one(line)
    assert event.fields == {"user": "j\xf6rg", "city": "M\xfcnster"}
    assert event.raw.encode("latin-1") == line


def test_utf8_is_decoded_as_utf8():
    event = one('{"user":"jörg"}'.encode())
    assert event.fields["user"] == "jörg"


def test_lone_surrogate_escapes_are_kept_as_text_the_store_can_encode():
    event = one(r'{"user\ud800":"x\udfffy","pair":"\ud83d\ude00","l":["\ud800"],"o":{"k":"\udc00"}}')
    assert event.fields == {"user\\ud800": "x\\udfffy", "pair": "\U0001f600", "l": ["\\ud800"], "o.k": "\\udc00"}
    json.dumps(event.fields, ensure_ascii=False).encode("utf-8")


def test_two_megabyte_value_is_malformed_and_reading_continues():
    bad = b'{"blob":"' + b"A" * (2 * 1024 * 1024) + b'"}'
    records = between(bad)
    assert isinstance(records[1], Malformed)
    assert "longer than" in records[1].reason
    assert records[1].raw_length == len(bad)


def test_large_value_under_the_line_limit_is_parsed():
    value = "B" * 500_000
    assert one(json.dumps({"blob": value})).fields["blob"] == value


def test_ansi_escapes_and_markup_are_kept_verbatim():
    message = "\x1b[31mroot\x1b[0m [bold]x[/bold] [link=file:///etc/passwd]y[/link]"
    escaped = one(json.dumps({"msg": message}))
    raw_esc = one(b'{"msg":"\x1b[31mroot\x1b[0m [bold]x[/bold]"}')
    assert escaped.fields["msg"] == message
    assert raw_esc.fields["msg"] == "\x1b[31mroot\x1b[0m [bold]x[/bold]"
    assert "\x1b[31m" in raw_esc.raw


def test_truncated_last_line_without_newline():
    position = Position()
    data = GOOD_A + b"\n" + GOOD_B
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    assert [type(r) for r in records] == [Event, Event]
    assert records[1].fields == {"n": 2}
    assert position.offset == len(data)

    cut = GOOD_A + b"\n" + b'{"n":2,"msg":"half wri'
    records = parse_all(cut)
    assert [type(r) for r in records] == [Event, Malformed]
    assert records[1].origin == Origin(PATH, len(GOOD_A) + 1, 2)


def test_crlf_and_blank_lines():
    records = parse_all(GOOD_A + b"\r\n\r\n   \n" + GOOD_B + b"\r\n")
    assert [r.fields for r in records] == [{"n": 1}, {"n": 2}]
    assert [r.origin.line for r in records] == [1, 4]


def test_bom_at_start_is_ignored():
    (event,) = parse_all(b"\xef\xbb\xbf" + GOOD_A + b"\n")
    assert isinstance(event, Event)
    assert event.fields == {"n": 1}


# --- properties -----------------------------------------------------------------------------------------

keys = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="."), max_size=8)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=25,
)
json_objects = st.dictionaries(keys, json_values, max_size=6)


def expected_leaves(obj: dict, prefix: str = "") -> dict:
    leaves = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            leaves.update(expected_leaves(value, prefix + key + "."))
        else:
            leaves[prefix + key] = value
    return leaves


def same_scalar(left, right) -> bool:
    return type(left) is type(right) and left == right


@settings(max_examples=100, deadline=None)
@given(json_objects, st.booleans())
def test_property_every_scalar_leaf_appears_under_its_dotted_path(obj, ascii_only):
    line = json.dumps(obj, ensure_ascii=ascii_only)
    records = parse_all(line.encode() + b"\n")
    assert len(records) == 1
    event = records[0]
    assert isinstance(event, Event), event
    leaves = expected_leaves(obj)
    assert set(event.fields) == set(leaves)
    for path, value in leaves.items():
        found = event.fields[path]
        if isinstance(value, list):
            assert isinstance(found, list) and len(found) == len(value)
            for item, got in zip(value, found, strict=True):
                if isinstance(item, dict | list):
                    assert json.loads(got) == item
                else:
                    assert same_scalar(got, item)
        else:
            assert same_scalar(found, value)
    assert event.time.tzinfo is not None
    assert collector().parse_line(line, Origin(PATH, 0, 1)).fields == event.fields


@pytest.mark.reliability
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_property_arbitrary_bytes_never_raise(data):
    position = Position()
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    assert all(isinstance(r, Event | Malformed) for r in records)
    assert position.offset == len(data)
    for line in data.split(b"\n"):
        with contextlib.suppress(LineRejected):
            collector().parse_line(line.decode("latin-1"), Origin(PATH, 0, 1))


def all_text(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in [key, *all_text(item)]]
    if isinstance(value, list):
        return [text for item in value for text in all_text(item)]
    return []


@pytest.mark.reliability
@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=6), st.recursive(
    st.text(max_size=10) | st.integers(-5, 5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=10), max_size=5))
def test_property_any_text_including_surrogates_becomes_utf8_encodable_fields(obj):
    event = one(json.dumps(obj))
    for text in all_text(event.fields):
        text.encode("utf-8")


json_fragments = st.sampled_from([b"{", b"}", b"[", b"]", b'"a":', b"1e999", b"-", b"0", b",", b'"\\u', b"null",
                                  b"NaN", b"\\", b'"', b"\x00", b"\xff", b"\n", b" ", b"9" * 30, b"1.5e-400"])


@pytest.mark.reliability
@settings(max_examples=100, deadline=None)
@given(st.lists(json_fragments, max_size=60))
def test_property_json_like_garbage_never_raises(pieces):
    data = b"".join(pieces)
    records = parse_all(data)
    assert all(isinstance(r, Event | Malformed) for r in records)


# --- the registration order -----------------------------------------------------------------------------


def test_sniffing_in_registration_order_picks_each_format():
    """The order the registry is meant to use: specific JSON formats first, generic JSON lines last."""
    order = [SyslogCollector, AccessLogCollector, ZeekTsvCollector, SuricataCollector, ZeekJsonCollector,
             JournaldCollector, JsonLinesCollector]
    zeek_tsv = b"#separator \\x09\n#set_separator\t,\n#path\tconn\n#fields\tts\tuid\n#types\ttime\tstring\n1.0\tCa\n"
    heads = {
        "syslog": SYSLOG_LINE + b"\n",
        "access": ACCESS_LINE + b"\n",
        "zeek": zeek_tsv,
        "suricata": SURICATA_LINE + b"\n",
        "zeek_json": ZEEK_LINE + b"\n",
        "journald": JOURNALD_LINE + b"\n",
        "jsonl": (APP + "\n" + SYSMON + "\n" + SECURITY + "\n").encode(),
    }
    for expected, head in heads.items():
        for cut in (head, head * 3, (head * 400)[:8192]):
            chosen = next((c.name for c in order if c().sniff(cut)), None)
            assert chosen == expected, (expected, cut[:80])
