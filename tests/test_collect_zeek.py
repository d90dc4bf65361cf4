"""Zeek logs: TSV (stateful header, resume mid-file) and JSON, Zeek names plus Sigma names, logsource per path."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter.collect import interface
from seccenter.collect.interface import LineRejected, Position
from seccenter.collect.journald import JournaldCollector
from seccenter.collect.jsonlines import JsonLinesCollector
from seccenter.collect.suricata import SuricataCollector
from seccenter.collect.zeek import ZeekJsonCollector, ZeekTsvCollector, path_from_filename
from seccenter.events import Event, LogSource, Malformed, Origin


def words(text: str) -> list[str]:
    return text.split()


CONN_FIELDS = words("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes "
                    "conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts "
                    "resp_ip_bytes tunnel_parents")
CONN_TYPES = words("time string addr port addr port enum string interval count count string bool bool count string "
                   "count count count count set[string]")
DNS_FIELDS = words("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass qclass_name qtype "
                   "qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected")
DNS_TYPES = words("time string addr port addr port enum count interval string count string count string count string "
                  "bool bool bool bool count vector[string] vector[interval] bool")
HTTP_FIELDS = words("ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri referrer version "
                    "user_agent origin request_body_len response_body_len status_code status_msg info_code info_msg "
                    "tags username password proxied orig_fuids orig_filenames orig_mime_types resp_fuids "
                    "resp_filenames resp_mime_types")
HTTP_TYPES = words("time string addr port addr port count string string string string string string string count "
                   "count count string count string set[enum] string string set[string] vector[string] "
                   "vector[string] vector[string] vector[string] vector[string] vector[string]")

CONN_ROWS = [
    "1793527200.123456\tCHhAvVGS1DHFjwGM9\t192.168.1.10\t52113\t93.184.216.34\t80\ttcp\thttp\t0.512345\t100\t2000\tSF"
    "\tT\tF\t0\tShADadFf\t6\t420\t5\t2268\t(empty)",
    "1793527201.000001\tCk3Lz01WmLk5bJ8Dw1\t192.168.1.10\t52114\t198.51.100.8\t23\ttcp\t-\t-\t-\t-\tS0\tT\tF\t0\tS"
    "\t1\t60\t0\t0\tCabc,Cdef",
    "1793527202.5\tC4J4Th3PJpwUYZZ6gc\tfe80::1\t5353\tff02::fb\t5353\tudp\tdns\t-\t-\t-\tS0\tF\tF\t0\tD\t1\t100\t0"
    "\t0\t(empty)",
]
DNS_ROWS = [
    "1793527203.25\tC8nxdv3lqR9LFdoGy4\t192.168.1.10\t53012\t192.168.1.1\t53\tudp\t4660\t0.012300\tpool.minexmr.com"
    "\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t94.130.12.27,94.130.12.30\t60.000000,60.000000\tF",
    "1793527204.0\tCdnsTXT0000000001\t192.168.1.11\t53013\t192.168.1.1\t53\tudp\t7\t-\tx\\x09y.example\t1\tC_INTERNET"
    "\t16\tTXT\t-\t-\tF\tF\tT\tF\t1\t-\t-\tF",
]
HTTP_ROWS = [
    "1793527205.75\tCHhAvVGS1DHFjwGM9\t192.168.1.10\t52113\t93.184.216.34\t80\t1\tPUT\tfiles.example.org"
    "\t/dav/Report.docx.exe?x=1\t-\t1.1\tMicrosoft-WebDAV-MiniRedir/10.0.19045\t-\t1024\t0\t201\tCreated\t-\t-"
    "\t(empty)\t-\t-\t-\tFhV7Kf2Ue8uEXw6jW3\t-\tapplication/x-dosexec\t-\t-\t-",
]


def header(path: str, names: list[str], types: list[str], open_stamp: str = "2026-11-01-10-00-00") -> list[str]:
    return [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        f"#path\t{path}",
        f"#open\t{open_stamp}",
        "#fields\t" + "\t".join(names),
        "#types\t" + "\t".join(types),
    ]


def tsv(path: str, names: list[str], types: list[str], rows: list[str], close: bool = True) -> bytes:
    lines = header(path, names, types) + rows + (["#close\t2026-11-01-11-00-00"] if close else [])
    return ("\n".join(lines) + "\n").encode()


CONN_LOG = tsv("conn", CONN_FIELDS, CONN_TYPES, CONN_ROWS)
DNS_LOG = tsv("dns", DNS_FIELDS, DNS_TYPES, DNS_ROWS)
HTTP_LOG = tsv("http", HTTP_FIELDS, HTTP_TYPES, HTTP_ROWS)


def parse_tsv(data: bytes, position: Position | None = None, path: str = "conn.log") -> list[Event | Malformed]:
    position = position if position is not None else Position()
    stream = io.BytesIO(data)
    stream.seek(position.offset)  # as the pipeline does before parse()
    return list(ZeekTsvCollector().parse(stream, path, position))


def events(records) -> list[Event]:
    assert all(isinstance(r, Event) for r in records), [r for r in records if isinstance(r, Malformed)]
    return records


# --- TSV fields and logsource ---------------------------------------------------------------------------


def test_conn_rows_fields_types_time_and_logsource():
    records = events(parse_tsv(CONN_LOG))
    assert len(records) == 3
    first = records[0]
    assert first.source == "zeek"
    assert first.logsource == LogSource(product="zeek", service="conn")
    assert first.time == datetime(2026, 11, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert first.fields == {
        "ts": 1793527200.123456, "uid": "CHhAvVGS1DHFjwGM9", "id.orig_h": "192.168.1.10", "id.orig_p": 52113,
        "id.resp_h": "93.184.216.34", "id.resp_p": 80, "proto": "tcp", "service": "http", "duration": 0.512345,
        "orig_bytes": 100, "resp_bytes": 2000, "conn_state": "SF", "local_orig": True, "local_resp": False,
        "missed_bytes": 0, "history": "ShADadFf", "orig_pkts": 6, "orig_ip_bytes": 420, "resp_pkts": 5,
        "resp_ip_bytes": 2268,
        "src_ip": "192.168.1.10", "src_port": 52113, "dst_ip": "93.184.216.34", "dst_port": 80,
    }
    assert first.raw == CONN_ROWS[0]
    second = records[1]
    for unset in ("service", "duration", "orig_bytes", "resp_bytes"):
        assert unset not in second.fields
    assert second.fields["tunnel_parents"] == ["Cabc", "Cdef"]
    assert second.time == datetime(2026, 11, 1, 10, 0, 1, 1, tzinfo=UTC)
    assert records[2].fields["dst_ip"] == "ff02::fb"


def test_header_and_close_lines_are_neither_events_nor_malformed():
    position = Position()
    records = list(ZeekTsvCollector().parse(io.BytesIO(CONN_LOG), "conn.log", position))
    assert len(records) == 3
    assert [r.origin.line for r in records] == [9, 10, 11]
    assert [CONN_LOG[r.origin.offset:].split(b"\n", 1)[0].decode() for r in records] == CONN_ROWS
    assert position.offset == len(CONN_LOG)
    assert position.line == 12


def test_dns_rows_sigma_names_and_category():
    first, second = events(parse_tsv(DNS_LOG, path="dns.log"))
    assert first.logsource == LogSource(product="zeek", category="dns", service="dns")
    assert first.fields["query"] == "pool.minexmr.com"
    assert first.fields["record_type"] == "A"
    assert first.fields["qtype_name"] == "A"
    assert first.fields["answers"] == ["94.130.12.27", "94.130.12.30"]
    assert first.fields["answer"] == ["94.130.12.27", "94.130.12.30"]
    assert first.fields["TTLs"] == [60.0, 60.0]
    assert first.fields["Z"] == 0
    assert first.fields["RD"] is True and first.fields["AA"] is False
    assert first.fields["rtt"] == 0.0123
    assert second.fields["query"] == "x\\x09y.example"  # Zeek's escapes are kept, as Sigma's Zeek rules expect
    assert "answer" not in second.fields
    assert second.fields["Z"] == 1


def test_http_rows_sigma_proxy_names_and_category():
    (event,) = events(parse_tsv(HTTP_LOG, path="http.log"))
    assert event.logsource == LogSource(product="zeek", category="proxy", service="http")
    fields = event.fields
    assert fields["c-uri"] == "/dav/Report.docx.exe?x=1"
    assert fields["c-uri-stem"] == "/dav/Report.docx.exe"
    assert fields["c-uri-query"] == "x=1"
    assert fields["c-uri-extension"] == "exe"
    assert fields["cs-host"] == "files.example.org"
    assert fields["cs-method"] == "PUT"
    assert fields["c-useragent"] == "Microsoft-WebDAV-MiniRedir/10.0.19045"
    assert fields["sc-status"] == 201
    assert fields["user_agent"] == "Microsoft-WebDAV-MiniRedir/10.0.19045"
    assert fields["method"] == "PUT"
    assert fields["orig_fuids"] == ["FhV7Kf2Ue8uEXw6jW3"]  # a PUT uploads: the file comes from the originator
    assert fields["orig_mime_types"] == ["application/x-dosexec"]
    assert "tags" not in fields and "referrer" not in fields and "cs-referrer" not in fields


@pytest.mark.parametrize(
    ("path", "logsource"),
    [
        ("ssl", LogSource(product="zeek", service="ssl")),
        ("notice", LogSource(product="zeek", service="notice")),
        ("weird", LogSource(product="zeek", service="weird")),
        ("smb_files", LogSource(product="zeek", service="smb_files")),
    ],
)
def test_logsource_table_for_other_paths(path, logsource):
    data = tsv(path, ["ts", "uid", "name"], ["time", "string", "string"], ["1793527200.0\tCx\tsomething"])
    (event,) = events(parse_tsv(data))
    assert event.logsource == logsource


def test_log_without_types_keeps_text():
    lines = ["#separator \\x09", "#path\tconn", "#fields\tts\tuid\tid.orig_p", "1793527200.5\tCx\t22"]
    (event,) = events(parse_tsv(("\n".join(lines) + "\n").encode()))
    assert event.fields["ts"] == "1793527200.5"
    assert event.fields["src_port"] == "22"
    assert event.time == datetime(2026, 11, 1, 10, 0, 0, 500000, tzinfo=UTC)


def test_other_separator():
    lines = ["#separator \\x2c", "#set_separator,|", "#path,dns", "#fields,ts,uid,query,answers",
             "#types,time,string,string,vector[addr]", "1793527200.0,Cx,example.org,1.2.3.4|5.6.7.8"]
    (event,) = events(parse_tsv(("\n".join(lines) + "\n").encode()))
    assert event.fields["query"] == "example.org"
    assert event.fields["answers"] == ["1.2.3.4", "5.6.7.8"]


def test_concatenated_logs_switch_header():
    data = CONN_LOG + DNS_LOG
    records = events(parse_tsv(data))
    assert [r.logsource.service for r in records] == ["conn"] * 3 + ["dns"] * 2
    assert records[3].fields["query"] == "pool.minexmr.com"


# --- TSV resume -----------------------------------------------------------------------------------------


def comparable(records) -> list:
    return [(type(r).__name__, r.origin, getattr(r, "fields", None), getattr(r, "reason", None),
             getattr(r, "logsource", None), getattr(r, "time", None)) for r in records]


@pytest.mark.parametrize("data", [CONN_LOG, CONN_LOG + DNS_LOG + HTTP_LOG], ids=["one-log", "concatenated"])
def test_resume_from_every_line_boundary_equals_reading_from_start(data):
    full = parse_tsv(data)
    boundary = 0
    for line, raw_line in enumerate(data.split(b"\n")[:-1], start=1):
        boundary += len(raw_line) + 1
        rest = parse_tsv(data, Position(boundary, line))
        expected = [r for r in full if r.origin.offset >= boundary]
        assert comparable(rest) == comparable(expected), (boundary, line)


def test_resume_after_first_read_stopped_midway_with_a_new_collector():
    data = CONN_LOG + DNS_LOG
    full = parse_tsv(data)
    position = Position()
    first = []
    for record in ZeekTsvCollector().parse(io.BytesIO(data), "conn.log", position):
        first.append(record)
        if len(first) == 4:
            break
    rest = parse_tsv(data, Position(position.offset, position.line))
    assert comparable(first + rest) == comparable(full)


def test_resume_after_file_grew():
    old = tsv("conn", CONN_FIELDS, CONN_TYPES, CONN_ROWS[:1], close=False)
    position = Position()
    assert len(list(ZeekTsvCollector().parse(io.BytesIO(old), "conn.log", position))) == 1
    grown = old + ("\n".join(CONN_ROWS[1:]) + "\n").encode()
    records = events(parse_tsv(grown, position))
    assert [r.fields["uid"] for r in records] == ["Ck3Lz01WmLk5bJ8Dw1", "C4J4Th3PJpwUYZZ6gc"]
    assert records[0].logsource == LogSource(product="zeek", service="conn")


def test_resume_ignores_an_overlong_header_like_line(monkeypatch):
    monkeypatch.setattr(interface, "MAX_LINE_BYTES", 256)
    bogus = "#fields\t" + "\t".join(f"f{i}" for i in range(100))
    lines = header("conn", ["ts", "uid"], ["time", "string"]) + [bogus, "1793527200.0\tCa", "1793527201.0\tCb"]
    data = ("\n".join(lines) + "\n").encode()
    full = parse_tsv(data)
    assert [type(r) for r in full] == [Malformed, Event, Event]
    start = data.index(b"1793527201.0")
    assert comparable(parse_tsv(data, Position(start, len(lines) - 1))) == comparable(full[2:])


# --- TSV bad input --------------------------------------------------------------------------------------


def test_row_with_wrong_column_count_is_malformed():
    lines = header("conn", ["ts", "uid", "proto"], ["time", "string", "enum"])
    lines += ["1793527200.0\tCa\ttcp", "1793527201.0\tCb", "1793527202.0\tCc\ttcp\textra", "1793527203.0\tCd\tudp"]
    records = parse_tsv(("\n".join(lines) + "\n").encode())
    assert [type(r) for r in records] == [Event, Malformed, Malformed, Event]
    assert "2 columns" in records[1].reason and "3" in records[1].reason
    assert records[1].raw == b"1793527201.0\tCb"
    assert records[1].origin.line == 10
    assert records[3].fields["uid"] == "Cd"


def test_row_before_header_is_malformed():
    data = b"1793527200.0\tCa\ttcp\n" + CONN_LOG
    records = parse_tsv(data)
    assert isinstance(records[0], Malformed)
    assert records[0].reason == "row before #fields header"
    assert records[0].origin == Origin("conn.log", 0, 1)
    assert len(events(records[1:])) == 3


def test_parse_line_rejects_row_before_header():
    with pytest.raises(LineRejected, match="row before #fields header"):
        ZeekTsvCollector().parse_line("1793527200.0\tCa", Origin("conn.log", 0, 1))


@pytest.mark.parametrize(
    ("row", "reason"),
    [("-\tCa\ttcp", "without ts"), ("yesterday\tCa\ttcp", "invalid Zeek ts"), ("1e300\tCa\ttcp", "invalid Zeek ts"),
     ("\x00" * 40, "columns"), ("\x7fELF\x02\x01\xff\xfe", "columns")],
    ids=["unset-ts", "text-ts", "huge-ts", "nul-region", "binary"],
)
def test_bad_rows_are_malformed_and_neighbours_parse(row, reason):
    lines = header("conn", ["ts", "uid", "proto"], ["time", "string", "enum"])
    lines += ["1793527200.0\tCa\ttcp", row, "1793527201.0\tCb\tudp"]
    records = parse_tsv("\n".join(lines).encode("latin-1") + b"\n")
    assert [type(r) for r in records] == [Event, Malformed, Event]
    assert reason in records[1].reason
    assert records[2].fields["uid"] == "Cb"


def test_odd_bytes_in_values_are_kept():
    lines = header("http", ["ts", "uid", "user_agent", "uri"], ["time", "string", "string", "string"])
    row = "1793527200.0\tCa\t\x1b[31mj\xf6rg\x00[bold]x[/bold]\t/a\\x00b"
    data = ("\n".join(lines) + "\n").encode() + row.encode("latin-1") + b"\n"
    (event,) = events(parse_tsv(data))
    assert event.fields["user_agent"] == "\x1b[31mj\xf6rg\x00[bold]x[/bold]"
    assert event.fields["c-useragent"] == "\x1b[31mj\xf6rg\x00[bold]x[/bold]"
    assert event.fields["uri"] == "/a\\x00b"


def test_two_megabyte_value_is_malformed_and_reading_continues():
    lines = header("conn", ["ts", "uid", "history"], ["time", "string", "string"])
    big = "1793527200.0\tCa\t" + "H" * (2 * 1024 * 1024)
    data = ("\n".join(lines + [big, "1793527201.0\tCb\tS"]) + "\n").encode()
    records = parse_tsv(data)
    assert [type(r) for r in records] == [Malformed, Event]
    assert "longer than" in records[0].reason
    assert records[1].fields["history"] == "S"


def test_truncated_last_line():
    data = tsv("conn", CONN_FIELDS, CONN_TYPES, CONN_ROWS, close=False).rstrip(b"\n")
    assert len(events(parse_tsv(data))) == 3
    cut = data[: data.rindex(b"\t")]
    records = parse_tsv(cut)
    assert [type(r) for r in records] == [Event, Event, Malformed]
    assert "columns" in records[2].reason


def test_empty_and_header_only_files_yield_nothing():
    assert parse_tsv(b"") == []
    only_header = ("\n".join(header("conn", CONN_FIELDS, CONN_TYPES)) + "\n").encode()
    position = Position()
    assert list(ZeekTsvCollector().parse(io.BytesIO(only_header), "conn.log", position)) == []
    assert position.offset == len(only_header)


# --- JSON -----------------------------------------------------------------------------------------------

CONN_JSON = ('{"ts":1793527200.123456,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.168.1.10","id.orig_p":52113,'
             '"id.resp_h":"93.184.216.34","id.resp_p":80,"proto":"tcp","service":"http","duration":0.512345,'
             '"orig_bytes":100,"resp_bytes":2000,"conn_state":"SF","local_orig":true,"local_resp":false,'
             '"missed_bytes":0,"history":"ShADadFf","orig_pkts":6,"orig_ip_bytes":420,"resp_pkts":5,'
             '"resp_ip_bytes":2268}')
DNS_JSON = ('{"ts":1793527203.25,"uid":"C8nxdv3lqR9LFdoGy4","id.orig_h":"192.168.1.10","id.orig_p":53012,'
            '"id.resp_h":"192.168.1.1","id.resp_p":53,"proto":"udp","trans_id":4660,"rtt":0.0123,'
            '"query":"pool.minexmr.com","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,'
            '"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,'
            '"answers":["94.130.12.27","94.130.12.30"],"TTLs":[60.0,60.0],"rejected":false}')
HTTP_JSON = ('{"_path":"http","_write_ts":"2026-11-01T10:00:06.000000Z","ts":"2026-11-01T10:00:05.750000Z",'
             '"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.168.1.10","id.orig_p":52113,"id.resp_h":"93.184.216.34",'
             '"id.resp_p":80,"trans_depth":1,"method":"PUT","host":"files.example.org",'
             '"uri":"/dav/Report.docx.exe?x=1","version":"1.1","user_agent":"Microsoft-WebDAV-MiniRedir/10.0.19045",'
             '"request_body_len":1024,"response_body_len":0,"status_code":201,"status_msg":"Created","tags":[],'
             '"orig_fuids":["FhV7Kf2Ue8uEXw6jW3"],"orig_mime_types":["application/x-dosexec"]}')
X509_JSON = ('{"ts":1793527206.0,"fingerprint":"9f8e7d","certificate.version":3,'
             '"certificate.subject":"CN=Major Cobalt Strike","certificate.issuer":"CN=Major Cobalt Strike"}')


def parse_json(data: bytes, path: str = "/var/log/zeek/current/conn.log") -> list[Event | Malformed]:
    return list(ZeekJsonCollector().parse(io.BytesIO(data), path, Position()))


def one_json(line: str | bytes, path: str = "/var/log/zeek/current/conn.log") -> Event:
    data = line if isinstance(line, bytes) else line.encode()
    records = parse_json(data + b"\n", path)
    assert len(records) == 1
    assert isinstance(records[0], Event), records[0]
    return records[0]


def test_json_conn_has_the_same_fields_as_tsv():
    event = one_json(CONN_JSON)
    (tsv_event, *_) = parse_tsv(CONN_LOG)
    assert event.fields == tsv_event.fields
    assert event.time == tsv_event.time
    assert event.logsource == LogSource(product="zeek", service="conn")  # path from the file name
    assert event.source == "zeek_json"


def test_json_dns_sigma_names_and_same_fields_as_tsv():
    event = one_json(DNS_JSON, "/var/log/zeek/dns.00:00:00-01:00:00.log.gz")
    assert event.logsource == LogSource(product="zeek", category="dns", service="dns")
    assert event.fields["query"] == "pool.minexmr.com"
    assert event.fields["record_type"] == "A"
    assert event.fields["answer"] == ["94.130.12.27", "94.130.12.30"]
    assert event.fields == events(parse_tsv(DNS_LOG))[0].fields


def test_json_http_with_path_field_and_iso_ts():
    event = one_json(HTTP_JSON, "zeek-export.json")
    assert event.logsource == LogSource(product="zeek", category="proxy", service="http")
    assert event.time == datetime(2026, 11, 1, 10, 0, 5, 750000, tzinfo=UTC)
    assert event.fields["c-uri-extension"] == "exe"
    assert event.fields["cs-method"] == "PUT"
    assert event.fields["sc-status"] == 201
    assert event.fields["tags"] == []
    tsv_fields = events(parse_tsv(HTTP_LOG))[0].fields
    assert {k: v for k, v in event.fields.items() if k not in ("_path", "_write_ts", "ts", "tags")} == {
        k: v for k, v in tsv_fields.items() if k != "ts"}


def test_json_without_path_or_known_file_name_has_no_service():
    event = one_json(CONN_JSON, "export.json")
    assert event.logsource == LogSource(product="zeek")
    assert event.fields["src_ip"] == "192.168.1.10"


def test_json_without_uid_is_accepted_when_the_file_name_is_a_zeek_log():
    event = one_json(X509_JSON, "/var/log/zeek/x509.log")
    assert event.logsource == LogSource(product="zeek", service="x509")
    assert event.fields["certificate.subject"] == "CN=Major Cobalt Strike"


@pytest.mark.parametrize(
    ("filename", "path"),
    [("conn.log", "conn"), ("/a/b/dns.00:00:00-01:00:00.log.gz", "dns"), ("smb_files.log", "smb_files"),
     ("eve.json", None), ("conn", "conn"), ("", None), ("http_2026.log", None)],
)
def test_path_from_filename(filename, path):
    assert path_from_filename(filename) == path


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"uid":"Cx","id.orig_h":"1.2.3.4"}', "needs ts"),
        (X509_JSON.encode(), "needs ts and uid or _path"),
        (b'{"ts":"yesterday","uid":"Cx"}', "invalid Zeek ts"),
        (b'{"ts":1e300,"uid":"Cx"}', "invalid Zeek ts"),
        (b'{"ts":true,"uid":"Cx"}', "invalid Zeek ts"),
        (b'{"ts":1,"uid":"Cx"', "invalid JSON"),
        (b"[1793527200.0]", "not an object"),
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper"),
        (b'{"ts":1,"uid":"C","a":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001, "nested deeper"),
        (b'{"ts":1,"uid":"C","n":1e999}', "number too large"),
        (b'{"ts":1,"uid":"C","n":' + b"4" * 5000 + b"}", "number too large"),
        (b"\x00" * 64, "invalid JSON"),
        (b'{"ts":1,"uid":"C","v":"' + b"V" * (2 * 1024 * 1024) + b'"}', "longer than"),
    ],
    ids=["no-ts", "no-uid-unknown-file", "text-ts", "huge-ts", "bool-ts", "truncated", "array", "deep-array",
         "deep-object", "inf", "5000-digits", "nul", "2mb-value"],
)
def test_json_bad_line_is_malformed_and_neighbours_parse(bad, reason):
    data = CONN_JSON.encode() + b"\n" + bad + b"\n" + CONN_JSON.encode() + b"\n"
    records = parse_json(data, "export.json")
    assert [type(r) for r in records] == [Event, Malformed, Event]
    assert reason in records[1].reason
    assert records[1].origin == Origin("export.json", len(CONN_JSON) + 1, 2)
    assert records[2].origin == Origin("export.json", len(CONN_JSON) + len(bad) + 2, 3)


def test_json_odd_text_kept_and_truncated_last_line():
    line = json.loads(HTTP_JSON)
    line["user_agent"] = "\x1b[31m[bold]j\u00f6rg[/bold]\x00"
    assert one_json(json.dumps(line)).fields["c-useragent"] == "\x1b[31m[bold]j\u00f6rg[/bold]\x00"
    latin = HTTP_JSON.encode().replace(b"Microsoft-WebDAV-MiniRedir/10.0.19045", b"J\xf6rg")
    assert one_json(latin).fields["user_agent"] == "J\xf6rg"
    records = parse_json(CONN_JSON.encode() + b"\n" + CONN_JSON.encode())
    assert [type(r) for r in records] == [Event, Event]
    records = parse_json(CONN_JSON.encode() + b"\n" + CONN_JSON.encode()[:50])
    assert [type(r) for r in records] == [Event, Malformed]


def test_json_parse_line_rejects_suricata():
    with pytest.raises(LineRejected):
        ZeekJsonCollector().parse_line(SURICATA_LINE.decode(), Origin("eve.json", 0, 1))


# --- sniffing -------------------------------------------------------------------------------------------

SYSLOG_LINE = b"Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2"
ACCESS_LINE = b'203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8"'
SURICATA_LINE = (b'{"timestamp":"2026-11-03T10:00:01.123456+0100","flow_id":1,"event_type":"dns","src_ip":"10.1.2.3",'
                 b'"dns":{"type":"query","rrname":"example.org","rrtype":"A"}}')
JOURNALD_LINE = (b'{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1793696401123456","_HOSTNAME":"srv01",'
                 b'"SYSLOG_IDENTIFIER":"zeek","MESSAGE":"{\\"ts\\":1,\\"uid\\":\\"C\\"}"}')
GENERIC_LINE = b'{"@timestamp":"2026-11-03T10:00:01Z","message":"hello","host":{"name":"srv01"}}'
OTHERS = [SYSLOG_LINE, ACCESS_LINE, SURICATA_LINE, JOURNALD_LINE, GENERIC_LINE]
OTHER_IDS = ["syslog", "access", "suricata", "journald", "generic"]


def test_tsv_sniff_accepts_zeek_tsv():
    assert ZeekTsvCollector().sniff(CONN_LOG) is True
    assert ZeekTsvCollector().sniff(b"\xef\xbb\xbf" + DNS_LOG[:100]) is True


@pytest.mark.parametrize("line", [*OTHERS, CONN_JSON.encode()], ids=[*OTHER_IDS, "zeek-json"])
def test_tsv_sniff_rejects_other_formats(line):
    assert ZeekTsvCollector().sniff(line + b"\n" + line + b"\n") is False


def test_json_sniff_accepts_zeek_json():
    assert ZeekJsonCollector().sniff((CONN_JSON + "\n" + DNS_JSON + "\n" + HTTP_JSON + "\n").encode()) is True
    big = json.loads(CONN_JSON)
    big["history"] = "S" * 20_000
    assert ZeekJsonCollector().sniff(json.dumps(big).encode()[:8192]) is True


@pytest.mark.parametrize("line", OTHERS, ids=OTHER_IDS)
def test_json_sniff_rejects_other_formats(line):
    assert ZeekJsonCollector().sniff(line + b"\n" + line + b"\n") is False
    assert ZeekJsonCollector().sniff(line[:60]) is False


def test_json_sniff_rejects_zeek_tsv():
    assert ZeekJsonCollector().sniff(CONN_LOG) is False


def test_other_sniffers_reject_zeek():
    json_head = (CONN_JSON + "\n" + DNS_JSON + "\n").encode()
    for other in (SuricataCollector(), JournaldCollector()):
        assert other.sniff(json_head) is False, other.name
        assert other.sniff(CONN_LOG) is False, other.name
    assert JsonLinesCollector().sniff(CONN_LOG) is False
    assert JsonLinesCollector().sniff(json_head) is True


# --- properties -----------------------------------------------------------------------------------------

row_pieces = st.one_of(
    st.sampled_from(CONN_ROWS + ["#close\t2026-11-01-11-00-00", "", "1793527200.0\tCshort"]),
    st.sampled_from(header("dns", DNS_FIELDS, DNS_TYPES) + DNS_ROWS),
    st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=40),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(row_pieces, max_size=25), st.booleans(), st.data())
def test_property_resume_anywhere_equals_reading_from_start(pieces, with_header, data):
    lines = (header("conn", CONN_FIELDS, CONN_TYPES) if with_header else []) + pieces
    blob = ("\n".join(lines) + "\n").encode()
    full = parse_tsv(blob)
    assert all(isinstance(r, Event | Malformed) for r in full)
    boundaries = [0]
    for line in blob.split(b"\n")[:-1]:
        boundaries.append(boundaries[-1] + len(line) + 1)
    index = data.draw(st.integers(0, len(boundaries) - 1))
    rest = parse_tsv(blob, Position(boundaries[index], index))
    assert comparable(rest) == comparable([r for r in full if r.origin.offset >= boundaries[index]])


@pytest.mark.reliability
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([b"", CONN_LOG[:300]]))
def test_property_arbitrary_bytes_never_raise(data, prefix):
    blob = prefix + data
    for col in (ZeekTsvCollector(), ZeekJsonCollector()):
        position = Position()
        records = list(col.parse(io.BytesIO(blob), "conn.log", position))
        assert all(isinstance(r, Event | Malformed) for r in records)
        assert position.offset == len(blob)
    middle = len(blob) // 2
    records = list(ZeekTsvCollector().parse(io.BytesIO(blob), "conn.log", Position(middle, 1)))
    assert all(isinstance(r, Event | Malformed) for r in records)
