"""AccessLogCollector: Apache/nginx common and combined format with Sigma webserver field names."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from seccenter.collect.access import AccessLogCollector
from seccenter.collect.interface import LineRejected, Position
from seccenter.events import Event, LogSource, Malformed, Origin

COMBINED = (
    '203.0.113.7 - alice [10/Oct/2026:13:55:36 -0700] "GET /search.php?q=1%27+OR+1=1&page=2 HTTP/1.1" '
    '200 2326 "https://example.org/start" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"'
)
COMMON = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'


def parse_all(data: bytes) -> list[Event | Malformed]:
    return list(AccessLogCollector().parse(io.BytesIO(data), "access.log", Position()))


def one(line: str) -> Event:
    records = parse_all(line.encode() + b"\n")
    assert len(records) == 1
    (record,) = records
    assert isinstance(record, Event), record
    return record


def test_combined_format_fields():
    event = one(COMBINED)
    assert event.fields == {
        "c-ip": "203.0.113.7",
        "cs-username": "alice",
        "cs-method": "GET",
        "cs-uri-stem": "/search.php",
        "cs-uri-query": "q=1%27+OR+1=1&page=2",
        "cs-version": "HTTP/1.1",
        "sc-status": 200,
        "sc-bytes": 2326,
        "cs-referer": "https://example.org/start",
        "cs-user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    }
    assert isinstance(event.fields["sc-status"], int)
    assert isinstance(event.fields["sc-bytes"], int)
    assert event.raw == COMBINED
    assert event.source == "access"


def test_common_format_fields():
    event = one(COMMON)
    assert event.fields == {
        "c-ip": "127.0.0.1",
        "cs-username": "frank",
        "cs-method": "GET",
        "cs-uri-stem": "/apache_pb.gif",
        "cs-version": "HTTP/1.0",
        "sc-status": 200,
        "sc-bytes": 2326,
    }


def test_timestamp_with_negative_offset_is_utc():
    event = one(COMMON)
    assert event.time == datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)
    assert event.time.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("25/Nov/2026:10:00:00 +0100", datetime(2026, 11, 25, 9, 0, 0, tzinfo=UTC)),
        ("01/Jan/2027:00:30:00 +0100", datetime(2026, 12, 31, 23, 30, 0, tzinfo=UTC)),
        ("31/Dec/2026:23:00:00 -0130", datetime(2027, 1, 1, 0, 30, 0, tzinfo=UTC)),
        ("15/Jul/2026:12:00:00 +0000", datetime(2026, 7, 15, 12, 0, 0, tzinfo=UTC)),
        ("15/Jul/2026:12:00:00 +0530", datetime(2026, 7, 15, 6, 30, 0, tzinfo=UTC)),
    ],
)
def test_timestamp_offsets(stamp, expected):
    event = one(f'192.0.2.1 - - [{stamp}] "GET / HTTP/1.1" 200 1')
    assert event.time == expected


def test_logsource_is_webserver():
    event = one(COMBINED)
    assert event.logsource.category == "webserver"
    assert event.logsource.product is None
    assert event.logsource == LogSource(category="webserver", service="access")


def test_dash_values_are_omitted():
    event = one('198.51.100.2 - - [10/Oct/2026:13:55:36 +0000] "GET /img.png HTTP/1.1" 304 - "-" "-"')
    assert event.fields == {
        "c-ip": "198.51.100.2",
        "cs-method": "GET",
        "cs-uri-stem": "/img.png",
        "cs-version": "HTTP/1.1",
        "sc-status": 304,
    }


def test_dash_status_is_omitted():
    event = one('198.51.100.2 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" - 0')
    assert "sc-status" not in event.fields
    assert event.fields["sc-bytes"] == 0


def test_request_without_query_has_no_query_field():
    event = one('192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] "POST /wp-login.php HTTP/2.0" 302 0 "-" "x"')
    assert event.fields["cs-method"] == "POST"
    assert event.fields["cs-uri-stem"] == "/wp-login.php"
    assert event.fields["cs-version"] == "HTTP/2.0"
    assert "cs-uri-query" not in event.fields


def test_http09_request_without_version():
    event = one('192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] "GET /old" 200 10')
    assert event.fields["cs-method"] == "GET"
    assert event.fields["cs-uri-stem"] == "/old"
    assert "cs-version" not in event.fields


def test_tls_handshake_on_plain_port_kept_as_request():
    request = r"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xa5\x8b"
    event = one(f'198.51.100.4 - - [25/Nov/2026:10:00:00 +0100] "{request}" 400 226 "-" "-"')
    assert event.fields["cs-request"] == request
    for absent in ("cs-method", "cs-uri-stem", "cs-uri-query", "cs-version"):
        assert absent not in event.fields
    assert event.fields["sc-status"] == 400
    assert event.fields["sc-bytes"] == 226
    assert event.fields["c-ip"] == "198.51.100.4"


def test_garbage_request_line_kept_as_request():
    event = one('198.51.100.4 - - [25/Nov/2026:10:00:00 +0100] "SSH-2.0-Go" 400 0')
    assert event.fields["cs-request"] == "SSH-2.0-Go"
    assert "cs-method" not in event.fields


def test_escaped_quotes_in_user_agent():
    line = (
        '192.0.2.9 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 5 "-" '
        r'"Mozilla/5.0 \"injected\" (sqlmap/1.7)"'
    )
    event = one(line)
    # Kept whole: the escaped quote neither ends the field nor rejects the line.
    assert event.fields["cs-user-agent"] in (
        r"Mozilla/5.0 \"injected\" (sqlmap/1.7)",
        'Mozilla/5.0 "injected" (sqlmap/1.7)',
    )
    assert "cs-referer" not in event.fields
    assert event.fields["sc-bytes"] == 5


def test_escaped_quote_in_request_does_not_break_the_line():
    line = r'192.0.2.9 - - [10/Oct/2026:13:55:36 +0000] "GET /a\"b HTTP/1.1" 404 0 "-" "curl/8"'
    event = one(line)
    assert event.fields["sc-status"] == 404
    assert event.fields["cs-user-agent"] == "curl/8"
    assert event.fields["cs-method"] == "GET"


def test_ipv6_client():
    event = one('2001:db8::1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1')
    assert event.fields["c-ip"] == "2001:db8::1"


def test_extra_trailing_fields_after_combined_are_tolerated():
    event = one(COMBINED + ' "10.0.0.1" rt=0.012')
    assert event.fields["cs-user-agent"] == "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
    assert event.fields["sc-status"] == 200


@pytest.mark.parametrize(
    "line",
    [
        "Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 1.2.3.4 port 22 ssh2",
        '203.0.113.7 - - [32/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
        '203.0.113.7 - - [10/Foo/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
        '203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 2000 1',
        '203.0.113.7 - - [10/Oct/2026:13:55:36] "GET / HTTP/1.1" 200 1',
        "just some text",
    ],
    ids=["syslog", "bad-day", "bad-month", "bad-status", "no-offset", "text"],
)
def test_non_access_lines_become_malformed(line):
    records = parse_all(line.encode() + b"\n")
    assert len(records) == 1
    assert isinstance(records[0], Malformed)
    assert records[0].reason
    assert records[0].raw == line.encode()


def test_parse_line_rejects_non_access_line():
    with pytest.raises(LineRejected):
        AccessLogCollector().parse_line("nope", Origin("access.log", 0, 1))


@pytest.mark.parametrize(
    "line",
    [
        # Out-of-range dates and absurd numbers in a corrupted line must not abort the whole file.
        b'1.2.3.4 - - [01/Jan/0001:00:00:00 +0100] "GET / HTTP/1.1" 200 5',
        b'1.2.3.4 - - [31/Dec/9999:23:59:59 -0100] "GET / HTTP/1.1" 200 5',
        b'1.2.3.4 - - [01/Jan/2026:00:00:00 +0100] "GET / HTTP/1.1" 200 ' + b"9" * 5000,
    ],
    ids=["year-1", "year-9999", "huge-bytes"],
)
def test_hostile_line_does_not_abort_reading(line):
    after = b'1.2.3.4 - - [01/Jan/2026:00:00:00 +0100] "GET /next HTTP/1.1" 200 5\n'
    records = parse_all(line + b"\n" + after)
    assert len(records) == 2
    assert isinstance(records[1], Event)
    assert records[1].fields["cs-uri-stem"] == "/next"
    assert records[1].origin.offset == len(line) + 1


def test_several_lines_and_origins():
    data = (COMMON + "\n" + COMBINED + "\n").encode()
    records = parse_all(data)
    assert [type(r) for r in records] == [Event, Event]
    assert [r.origin for r in records] == [
        Origin("access.log", 0, 1),
        Origin("access.log", len(COMMON) + 1, 2),
    ]


def test_sniff_accepts_access_log_and_rejects_syslog():
    head = (COMMON + "\n" + COMBINED + "\n").encode()
    assert AccessLogCollector().sniff(head) is True
    syslog = b"Nov  3 10:00:01 srv01 sshd[1234]: Accepted password for a from 1.2.3.4 port 1 ssh2\n" * 3
    assert AccessLogCollector().sniff(syslog) is False
    assert AccessLogCollector().sniff(bytes(range(256)) * 4) is False


# --- vhost_combined (Apache's other_vhosts_access.log) ---------------------------------------------------

VHOST = ('www.example.org:443 203.0.113.7 - alice [10/Oct/2026:13:55:36 -0700] "GET /login?next=/ HTTP/1.1" 302 0 '
         '"https://www.example.org/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"')


def test_vhost_combined_fields():
    event = one(VHOST)
    assert event.fields == {
        "cs-host": "www.example.org",
        "s-port": 443,
        "c-ip": "203.0.113.7",
        "cs-username": "alice",
        "cs-method": "GET",
        "cs-uri-stem": "/login",
        "cs-uri-query": "next=/",
        "cs-version": "HTTP/1.1",
        "sc-status": 302,
        "sc-bytes": 0,
        "cs-referer": "https://www.example.org/",
        "cs-user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
    }
    assert isinstance(event.fields["s-port"], int)
    assert event.time == datetime(2026, 10, 10, 20, 55, 36, tzinfo=UTC)
    assert event.logsource == LogSource(category="webserver", service="access")
    assert event.raw == VHOST


def test_vhost_with_ipv6_client_and_without_referer_and_agent():
    event = one('intranet.example.org:80 2001:db8::1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1')
    assert event.fields["cs-host"] == "intranet.example.org"
    assert event.fields["s-port"] == 80
    assert event.fields["c-ip"] == "2001:db8::1"
    assert "cs-user-agent" not in event.fields


def test_vhost_given_as_bracketed_ipv6_address():
    event = one('[2001:db8::80]:8080 192.0.2.1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "x"')
    assert event.fields["cs-host"] == "2001:db8::80"
    assert event.fields["s-port"] == 8080
    assert event.fields["c-ip"] == "192.0.2.1"


def test_common_and_combined_lines_have_no_vhost_fields():
    for line in (COMMON, COMBINED, '2001:db8::1 - - [10/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1'):
        fields = one(line).fields
        assert "cs-host" not in fields
        assert "s-port" not in fields


@pytest.mark.parametrize(
    "line",
    [
        'www.example.org 203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
        'www.example.org:https 203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
        'www.example.org:443 203.0.113.7 - - [10/Oct/2026:13:55:36] "GET / HTTP/1.1" 200 1',
        'www.example.org:443 x 203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 1',
    ],
    ids=["no-port", "named-port", "no-offset", "extra-token"],
)
def test_bad_vhost_lines_become_malformed(line):
    records = parse_all(line.encode() + b"\n" + COMMON.encode() + b"\n")
    assert [type(r) for r in records] == [Malformed, Event]
    assert "vhost_combined" in records[0].reason


def test_mixed_vhost_and_combined_file_and_sniff():
    data = (VHOST + "\n" + COMBINED + "\n" + VHOST + "\n").encode()
    records = parse_all(data)
    assert [r.fields.get("cs-host") for r in records] == ["www.example.org", None, "www.example.org"]
    assert AccessLogCollector().sniff(data) is True
