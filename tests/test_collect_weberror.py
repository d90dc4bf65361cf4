"""WebErrorCollector: Apache 2.2/2.4 and nginx error logs, zones, clients, bad lines, sniffing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter.collect.access import AccessLogCollector
from seccenter.collect.interface import CollectOptions, LineRejected, Position
from seccenter.collect.syslog import SyslogCollector
from seccenter.collect.weberror import WebErrorCollector
from seccenter.events import Event, LogSource, Malformed, Origin

BERLIN = ZoneInfo("Europe/Berlin")

APACHE22 = "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties"
APACHE22_CLIENT = ("[Sun Dec 04 05:15:09 2005] [error] [client 222.166.160.184] Directory index forbidden by rule: "
                   "/var/www/html/")
APACHE24 = ("[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:48000] "
            "AH00124: Request exceeded the limit of 10 internal redirects due to probable configuration error.")
NGINX = ('2026/11/24 10:00:00 [error] 1234#5678: *9 open() "/var/www/x" failed (2: No such file or directory), '
         'client: 203.0.113.7, server: example.org, request: "GET /x HTTP/1.1", host: "example.org"')


def collector(tz=UTC) -> WebErrorCollector:
    return WebErrorCollector(CollectOptions(tz=tz))


def parse_all(data: bytes, col: WebErrorCollector | None = None) -> list[Event | Malformed]:
    return list((col or collector()).parse(io.BytesIO(data), "error.log", Position()))


def one(line: str, col: WebErrorCollector | None = None) -> Event:
    records = parse_all(line.encode() + b"\n", col)
    assert len(records) == 1
    (record,) = records
    assert isinstance(record, Event), record
    return record


# --- Apache 2.2 -----------------------------------------------------------------------------------------


def test_apache22_line():
    event = one(APACHE22)
    assert event.time == datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC)
    assert event.fields == {"level": "notice", "message": "workerEnv.init() ok /etc/httpd/conf/workers2.properties"}
    assert event.source == "weberror"
    assert event.logsource == LogSource(product="apache", category="webserver", service="error")
    assert event.raw == APACHE22


def test_apache22_client_without_port():
    event = one(APACHE22_CLIENT)
    assert event.fields == {
        "level": "error", "c-ip": "222.166.160.184", "message": "Directory index forbidden by rule: /var/www/html/",
    }


def test_apache22_ipv6_client_is_not_split_into_address_and_port():
    event = one("[Sun Dec 04 05:15:09 2005] [error] [client 2001:db8::1] File does not exist: /var/www/x")
    assert event.fields["c-ip"] == "2001:db8::1"
    assert "c-port" not in event.fields


def test_apache22_referer_is_split_off():
    event = one("[Sun Dec 04 05:15:09 2005] [error] [client 192.0.2.1] File does not exist: /var/www/favicon.ico, "
                "referer: https://example.org/start")
    assert event.fields["cs-referer"] == "https://example.org/start"
    assert event.fields["message"] == "File does not exist: /var/www/favicon.ico"


# --- Apache 2.4 -----------------------------------------------------------------------------------------


def test_apache24_line():
    event = one(APACHE24)
    assert event.time == datetime(2000, 10, 11, 14, 32, 52, 123456, tzinfo=UTC)
    assert event.fields == {
        "level": "error", "module": "core", "pid": 35708, "tid": 4328636416, "c-ip": "72.15.99.187",
        "c-port": 48000, "error_code": "AH00124",
        "message": "Request exceeded the limit of 10 internal redirects due to probable configuration error.",
    }
    assert event.logsource.product == "apache"


def test_apache24_os_error_and_ipv6_client_without_brackets():
    # Apache 2.4 writes "%a" as address:port even for IPv6, with no brackets.
    event = one("[Thu May 12 08:28:57.652118 2011] [core:error] [pid 8777:tid 4326490112] (13)Permission denied: "
                "[client ::1:50470] AH00035: access to / denied (filesystem path '/srv/www') because search "
                "permissions are missing on a component of the path")
    assert event.fields["c-ip"] == "::1"
    assert event.fields["c-port"] == 50470
    assert event.fields["os_errno"] == 13
    assert event.fields["os_error"] == "Permission denied"
    assert event.fields["error_code"] == "AH00035"
    assert event.fields["message"].startswith("access to / denied")


def test_apache24_ipv6_client_in_brackets():
    event = one("[Wed Oct 11 14:32:52.123456 2000] [ssl:warn] [pid 1:tid 2] [client [2001:db8::1]:443] AH01909: x")
    assert event.fields["c-ip"] == "2001:db8::1"
    assert event.fields["c-port"] == 443
    assert event.fields["module"] == "ssl"
    assert event.fields["level"] == "warn"


def test_apache24_prefork_pid_without_tid_and_empty_module():
    event = one("[Tue Mar 08 10:34:31.123 2016] [:error] [pid 4321] [client 198.51.100.7:50000] PHP Warning:  "
                "include(): Failed opening 'x.php' in /var/www/index.php on line 3, referer: http://example.org/")
    assert event.fields["pid"] == 4321
    assert "tid" not in event.fields
    assert "module" not in event.fields
    assert event.fields["level"] == "error"
    assert event.fields["cs-referer"] == "http://example.org/"
    assert event.fields["message"].startswith("PHP Warning:  include()")
    assert event.time == datetime(2016, 3, 8, 10, 34, 31, 123000, tzinfo=UTC)


def test_apache24_without_client_and_trace_level():
    event = one("[Wed Oct 11 14:32:52.000001 2000] [mpm_event:trace3] [pid 1:tid 1] AH00489: Apache/2.4 configured")
    assert event.fields == {"level": "trace3", "module": "mpm_event", "pid": 1, "tid": 1, "error_code": "AH00489",
                            "message": "Apache/2.4 configured"}


def test_apache24_source_file_at_debug_level():
    event = one("[Wed Oct 11 14:32:52.5 2000] [ssl:debug] [pid 7:tid 8] ssl_engine_kernel.c(383): "
                "[client 192.0.2.1:1234] AH02034: Initial (No.1) HTTPS request received for child 1")
    assert event.fields["source_file"] == "ssl_engine_kernel.c(383)"
    assert event.fields["c-ip"] == "192.0.2.1"
    assert event.fields["error_code"] == "AH02034"
    assert event.time.microsecond == 500000


def test_message_with_ansi_escapes_and_markup_is_kept_verbatim():
    message = "\x1b[31mred\x1b[0m [bold]not markup[/bold] [client 6.6.6.6] \x07"
    event = one(f"[Sun Dec 04 04:47:44 2005] [error] {message}")
    assert event.fields["message"] == message
    assert "c-ip" not in event.fields
    event = one(f"2026/11/24 10:00:00 [warn] 1#1: {message}")
    assert event.fields["message"] == message


def test_empty_message():
    assert one("[Sun Dec 04 04:47:44 2005] [error]").fields == {"level": "error", "message": ""}


# --- nginx ----------------------------------------------------------------------------------------------


def test_nginx_line():
    event = one(NGINX)
    assert event.time == datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
    assert event.fields == {
        "level": "error", "pid": 1234, "tid": 5678, "connection": 9,
        "message": 'open() "/var/www/x" failed (2: No such file or directory)',
        "c-ip": "203.0.113.7", "server": "example.org", "request": "GET /x HTTP/1.1",
        "cs-method": "GET", "cs-uri-stem": "/x", "cs-version": "HTTP/1.1", "cs-host": "example.org",
    }
    assert event.logsource == LogSource(product="nginx", category="webserver", service="error")


def test_nginx_without_connection_or_context():
    event = one("2026/11/24 10:00:00 [notice] 812#812: signal process started")
    assert event.fields == {"level": "notice", "pid": 812, "tid": 812, "message": "signal process started"}


def test_nginx_upstream_referrer_and_query():
    event = one('2026/11/24 10:00:00 [error] 1#2: *3 upstream timed out (110: Connection timed out) while reading '
                'response header from upstream, client: 2001:db8::7, server: _, request: "POST /api?id=1 HTTP/2.0", '
                'upstream: "http://127.0.0.1:8080/api?id=1", host: "example.org", referrer: "https://example.org/"')
    assert event.fields["c-ip"] == "2001:db8::7"
    assert event.fields["server"] == "_"
    assert event.fields["cs-uri-query"] == "id=1"
    assert event.fields["upstream"] == "http://127.0.0.1:8080/api?id=1"
    assert event.fields["cs-host"] == "example.org"
    assert event.fields["cs-referer"] == "https://example.org/"
    assert event.fields["message"] == ("upstream timed out (110: Connection timed out) while reading response "
                                       "header from upstream")


def test_nginx_client_in_decoded_uri_cannot_spoof_the_client():
    event = one('2026/11/24 10:00:00 [error] 1#1: *1 open() "/var/www/x, client: 6.6.6.6, server: evil, request: '
                '"GET / HTTP/1.1", host: "evil" failed (2: No such file or directory), client: 203.0.113.7, '
                'server: example.org, request: "GET /x%2C%20client HTTP/1.1", host: "example.org"')
    assert event.fields["c-ip"] == "203.0.113.7"
    assert event.fields["server"] == "example.org"
    assert event.fields["cs-host"] == "example.org"
    assert "6.6.6.6" in event.fields["message"]


def test_nginx_unsplittable_request_is_kept_only_as_request():
    event = one('2026/11/24 10:00:00 [info] 1#1: *1 client sent invalid method while reading client request line, '
                'client: 198.51.100.4, server: _, request: "\\x16\\x03\\x01"')
    assert event.fields["request"] == "\\x16\\x03\\x01"
    assert "cs-method" not in event.fields
    assert "cs-request" not in event.fields


def test_nginx_stream_context_keeps_message_whole():
    line = ('2026/11/24 10:00:00 [error] 1#1: *5 upstream timed out (110: Connection timed out) while proxying '
            'connection, client: 192.0.2.9, server: 0.0.0.0:443, upstream: "10.0.0.1:443", bytes from/to '
            'client:0/0, bytes from/to upstream:0/0')
    event = one(line)
    assert event.fields["c-ip"] == "192.0.2.9"
    assert event.fields["server"] == "0.0.0.0:443"
    assert event.fields["message"] == line.split(": *5 ", 1)[1]


# --- time zones -----------------------------------------------------------------------------------------


def test_times_are_read_in_the_configured_zone():
    col = collector(tz=BERLIN)
    assert one(APACHE22, col).time == datetime(2005, 12, 4, 3, 47, 44, tzinfo=UTC)
    assert one("[Sat Jul 01 12:00:00.25 2006] [error] x", col).time == datetime(2006, 7, 1, 10, 0, 0, 250000,
                                                                               tzinfo=UTC)
    assert one(NGINX, col).time == datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)
    assert one(NGINX, col).time.utcoffset() == timedelta(0)


def test_without_a_configured_zone_the_local_zone_is_used():
    col = WebErrorCollector()
    expected = datetime(2005, 12, 4, 4, 47, 44).astimezone().astimezone(UTC)
    assert one(APACHE22, col).time == expected
    assert one(APACHE22, col).time.tzinfo == UTC


# --- bad input ------------------------------------------------------------------------------------------

NEXT = b"2026/11/24 10:00:01 [error] 1#1: the next line"


@pytest.mark.parametrize(
    "line",
    [
        "[Sun Dec 04 04:47:44 2005] [noti",
        "[Sun Dec 04 04:47",
        "[Sun Dec 04 04:47:44 2005]",
        "[Wed Oct 11 14:32:52.123456 2000] [core:",
        "[Sun Dec 04 04:47:44 2005] [loud] unknown level",
        "[Sun Dec 04 04:47:44 2005] [error]message without space",
        "[Sun Foo 04 04:47:44 2005] [error] bad month",
        "[Sun Feb 30 04:47:44 2005] [error] no such day",
        "[Sun Dec 04 25:47:44 2005] [error] no such hour",
        "[Sun Dec 04 04:47:44 0000] [error] year zero",
        "2026/11/24 10:00:00 [error] 1234#",
        "2026/11/24 10:00",
        "2026/13/24 10:00:00 [error] 1#1: no such month",
        "2026/11/24 10:00:00 [fatal] 1#1: unknown level",
        "Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2",
        '203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8.0"',
        "just some text",
        "\x00\x01\x02garbage",
    ],
)
def test_bad_lines_are_malformed_and_the_next_line_still_parses(line):
    records = parse_all(line.encode() + b"\n" + NEXT + b"\n")
    assert [type(record) for record in records] == [Malformed, Event]
    assert records[0].reason
    assert records[0].raw == line.encode()
    assert records[1].fields["message"] == "the next line"


def test_parse_line_rejects_non_error_log_line():
    with pytest.raises(LineRejected, match="error log"):
        collector().parse_line("nope", Origin("error.log", 0, 1))
    with pytest.raises(LineRejected, match="Apache"):
        collector().parse_line("[nope]", Origin("error.log", 0, 1))
    with pytest.raises(LineRejected, match="nginx"):
        collector().parse_line("2026 nope", Origin("error.log", 0, 1))


@pytest.mark.reliability
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data):
    for record in parse_all(data):
        assert isinstance(record, (Event, Malformed))


@pytest.mark.reliability
@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from([
        "[Sun Dec 04 04:47:44 2005] [error] ", "[Wed Oct 11 14:32:52.1 2000] [core:error] [pid 1:tid 2] ",
        "[Sun Dec 04 04:47:44 2005] [error] [client ", "2026/11/24 10:00:00 [error] 1#1: *1 x, client: ",
    ]),
    tail=st.text(st.sampled_from(list('[]":, ()AH0123client: server: request: host: referer:')) | st.characters(),
                 max_size=80),
)
def test_error_log_like_text_is_an_event_or_rejected(prefix, tail):
    try:
        event = collector().parse_line(prefix + tail, Origin("error.log", 0, 1))
    except LineRejected as rejected:
        assert str(rejected)
    else:
        assert isinstance(event.fields["message"], str)


# --- sniffing -------------------------------------------------------------------------------------------

APACHE_HEAD = (APACHE22 + "\n" + APACHE22_CLIENT + "\n" + APACHE22 + "\n").encode()
APACHE24_HEAD = (APACHE24 + "\n").encode() * 3
NGINX_HEAD = (NGINX + "\n2026/11/24 10:00:01 [notice] 812#812: signal process started\n").encode()
SYSLOG_HEAD = (
    b"Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2\n"
    b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - An application event\n"
    b"2026-11-25T10:00:00.123+01:00 srv01 systemd[1]: Started Session 3.\n"
)
ACCESS_HEAD = (
    b'203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8.0"\n'
    b'www.example.org:443 203.0.113.7 - - [10/Oct/2026:13:55:37 -0700] "GET /x HTTP/1.1" 404 0 "-" "curl/8.0"\n'
    b'203.0.113.7 - - [10/Oct/2026:13:55:38 -0700] "GET /favicon.ico HTTP/1.1" 404 0\n'
)


@pytest.mark.parametrize("head", [APACHE_HEAD, APACHE24_HEAD, NGINX_HEAD], ids=["apache22", "apache24", "nginx"])
def test_sniff_accepts_error_logs_and_other_collectors_reject_them(head):
    assert collector().sniff(head) is True
    assert SyslogCollector().sniff(head) is False
    assert AccessLogCollector().sniff(head) is False


@pytest.mark.parametrize(
    "head",
    [SYSLOG_HEAD, ACCESS_HEAD, bytes(range(256)) * 8, b"", b'{"level": "error"}\n' * 3],
    ids=["syslog", "access", "all-bytes", "empty", "json"],
)
def test_sniff_rejects_other_formats(head):
    assert collector().sniff(head) is False


def test_corpus_apache_log_is_read_whole(corpus):
    path = corpus / "logs" / "Apache_2k.log"
    with path.open("rb") as stream:
        records = list(collector().parse(stream, str(path), Position()))
    malformed = [record for record in records if isinstance(record, Malformed)]
    assert malformed == []
    assert len(records) == 2000
    assert {record.fields["level"] for record in records} == {"notice", "error"}
    assert all(record.logsource.product == "apache" for record in records)
    with_client = [record for record in records if "c-ip" in record.fields]
    assert with_client
    assert all(not record.fields["message"].startswith("[client") for record in with_client)
    assert all(record.time.year == 2005 for record in records)
    with path.open("rb") as stream:
        assert collector().sniff(stream.read(8192)) is True
