"""SuricataCollector: EVE JSON events, flattened fields, Sigma proxy/dns names, logsource per event_type."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter.collect.interface import CollectOptions, LineRejected, Position
from seccenter.collect.journald import JournaldCollector
from seccenter.collect.jsonlines import JsonLinesCollector
from seccenter.collect.suricata import SuricataCollector
from seccenter.collect.zeek import ZeekJsonCollector, ZeekTsvCollector
from seccenter.events import Event, LogSource, Malformed, Origin

PATH = "/var/log/suricata/eve.json"

ALERT = (
    '{"timestamp":"2026-11-03T10:00:01.123456+0100","flow_id":1234567890123456,"in_iface":"eth0",'
    '"event_type":"alert","src_ip":"203.0.113.9","src_port":52113,"dest_ip":"192.0.2.10","dest_port":80,'
    '"proto":"TCP","pkt_src":"wire/pcap","tx_id":0,"alert":{"action":"allowed","gid":1,"signature_id":2013028,'
    '"rev":7,"signature":"ET POLICY curl User-Agent Outbound","category":"Attempted Information Leak",'
    '"severity":2,"metadata":{"created_at":["2011_06_14"],"updated_at":["2024_03_05"]}},'
    '"http":{"hostname":"rathaus.example.de","url":"/login.php?user=admin","http_user_agent":"curl/8.5.0",'
    '"http_method":"GET","protocol":"HTTP/1.1","length":0},"app_proto":"http","direction":"to_server",'
    '"flow":{"pkts_toserver":4,"pkts_toclient":1,"bytes_toserver":400,"bytes_toclient":66,'
    '"start":"2026-11-03T10:00:01.000000+0100","src_ip":"203.0.113.9","dest_ip":"192.0.2.10",'
    '"src_port":52113,"dest_port":80}}'
)
DNS_QUERY = (
    '{"timestamp":"2026-11-03T10:00:02.000100+0100","flow_id":222,"in_iface":"eth0","event_type":"dns",'
    '"src_ip":"10.1.2.3","src_port":53012,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","pkt_src":"wire/pcap",'
    '"dns":{"type":"query","id":16000,"rrname":"x1.burpcollaborator.net","rrtype":"TXT","tx_id":0,"opcode":0}}'
)
DNS_ANSWER = (
    '{"timestamp":"2026-11-03T10:00:02.010000+0100","flow_id":222,"in_iface":"eth0","event_type":"dns",'
    '"src_ip":"10.0.0.53","src_port":53,"dest_ip":"10.1.2.3","dest_port":53012,"proto":"UDP",'
    '"dns":{"version":2,"type":"answer","id":16000,"flags":"8180","qr":true,"rd":true,"ra":true,"opcode":0,'
    '"rrname":"www.example.org","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"www.example.org",'
    '"rrtype":"CNAME","ttl":300,"rdata":"example.org"},{"rrname":"example.org","rrtype":"A","ttl":300,'
    '"rdata":"93.184.216.34"}]}}'
)
DNS_V3 = (
    '{"timestamp":"2026-11-03T10:00:02.5+0100","flow_id":223,"event_type":"dns","src_ip":"10.1.2.3",'
    '"src_port":53013,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"version":3,"type":"request",'
    '"tx_id":0,"id":4660,"flags":"0100","rd":true,"opcode":0,"rcode":"NOERROR",'
    '"queries":[{"rrname":"pool.minexmr.com","rrtype":"A"}]}}'
)
HTTP = (
    '{"timestamp":"2026-11-03T10:00:03.500000+0100","flow_id":333,"in_iface":"eth0","event_type":"http",'
    '"src_ip":"10.1.2.3","src_port":50000,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","tx_id":0,'
    '"http":{"hostname":"downloads.example.com","url":"/files/Invoice.EXE?id=7","http_user_agent":"Mozilla/5.0",'
    '"http_content_type":"application/octet-stream","http_refer":"http://mail.example.com/","http_method":"GET",'
    '"protocol":"HTTP/1.1","status":200,"length":123456,'
    '"request_headers":[{"name":"Host","value":"downloads.example.com"}]}}'
)
TLS = (
    '{"timestamp":"2026-11-03T10:00:04.000000+0100","flow_id":444,"event_type":"tls","src_ip":"10.1.2.3",'
    '"src_port":50001,"dest_ip":"198.51.100.9","dest_port":443,"proto":"TCP","tls":{"subject":"CN=example.com",'
    '"issuerdn":"C=US, O=Let\'s Encrypt, CN=R3","serial":"04:A1:B2","fingerprint":"aa:bb:cc","sni":"example.com",'
    '"version":"TLS 1.3","notbefore":"2026-09-01T00:00:00","notafter":"2026-11-30T00:00:00",'
    '"ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865","string":"771,4865-4866"}}}'
)
FLOW = (
    '{"timestamp":"2026-11-03T10:05:00.000000+0100","flow_id":555,"event_type":"flow","src_ip":"10.1.2.3",'
    '"src_port":50002,"dest_ip":"198.51.100.8","dest_port":23,"proto":"TCP","app_proto":"failed",'
    '"flow":{"pkts_toserver":3,"pkts_toclient":0,"bytes_toserver":180,"bytes_toclient":0,'
    '"start":"2026-11-03T10:04:00.000000+0100","end":"2026-11-03T10:04:03.000000+0100","age":3,"state":"new",'
    '"reason":"timeout","alerted":false},"tcp":{"tcp_flags":"02","syn":true,"state":"syn_sent"}}'
)
FILEINFO = (
    '{"timestamp":"2026-11-03T10:00:03.600000+0100","flow_id":333,"event_type":"fileinfo","src_ip":"198.51.100.7",'
    '"src_port":80,"dest_ip":"10.1.2.3","dest_port":50000,"proto":"TCP","http":{"hostname":"downloads.example.com",'
    '"url":"/files/Invoice.EXE?id=7"},"app_proto":"http","fileinfo":{"filename":"/files/Invoice.EXE",'
    '"sid":[],"magic":"PE32 executable","gaps":false,"state":"CLOSED","sha256":"ab12","stored":false,'
    '"size":123456,"tx_id":0}}'
)
STATS = ('{"timestamp":"2026-11-03T10:01:00.000000+0100","event_type":"stats",'
         '"stats":{"uptime":60,"decoder":{"pkts":100}}}')

ALL = [ALERT, DNS_QUERY, DNS_ANSWER, DNS_V3, HTTP, TLS, FLOW, FILEINFO, STATS]


def collector(tz=UTC) -> SuricataCollector:
    return SuricataCollector(CollectOptions(tz=tz))


def parse_all(data: bytes, col: SuricataCollector | None = None) -> list[Event | Malformed]:
    return list((col or collector()).parse(io.BytesIO(data), PATH, Position()))


def one(line: str | bytes, col: SuricataCollector | None = None) -> Event:
    data = line if isinstance(line, bytes) else line.encode()
    records = parse_all(data + b"\n", col)
    assert len(records) == 1
    assert isinstance(records[0], Event), records[0]
    return records[0]


# --- fields and logsource -------------------------------------------------------------------------------


def test_alert_fields_time_and_logsource():
    event = one(ALERT)
    assert event.time == datetime(2026, 11, 3, 9, 0, 1, 123456, tzinfo=UTC)
    assert event.source == "suricata"
    assert event.logsource == LogSource(product="suricata", category="ids", service="alert")
    fields = event.fields
    assert fields["alert.signature"] == "ET POLICY curl User-Agent Outbound"
    assert fields["alert.signature_id"] == 2013028
    assert fields["alert.severity"] == 2
    assert fields["alert.metadata.created_at"] == ["2011_06_14"]
    assert (fields["src_ip"], fields["src_port"], fields["dest_ip"], fields["dest_port"], fields["proto"]) == (
        "203.0.113.9", 52113, "192.0.2.10", 80, "TCP")
    assert (fields["dst_ip"], fields["dst_port"]) == ("192.0.2.10", 80)
    assert fields["flow_id"] == 1234567890123456
    assert fields["flow.bytes_toserver"] == 400
    assert fields["http.hostname"] == "rathaus.example.de"
    assert fields["c-uri"] == "/login.php?user=admin"  # the alert's http metadata gets the proxy names too
    assert event.raw == ALERT
    assert event.origin == Origin(PATH, 0, 1)


def test_dns_query_sigma_names():
    event = one(DNS_QUERY)
    assert event.logsource == LogSource(product="suricata", category="dns", service="dns")
    assert event.fields["dns.rrname"] == "x1.burpcollaborator.net"
    assert event.fields["query"] == "x1.burpcollaborator.net"
    assert event.fields["record_type"] == "TXT"
    assert "answer" not in event.fields


def test_dns_answer_sigma_names():
    event = one(DNS_ANSWER)
    assert event.fields["query"] == "www.example.org"
    assert event.fields["record_type"] == "A"
    assert event.fields["answer"] == ["example.org", "93.184.216.34"]
    assert event.fields["dns.answers"] == [
        '{"rrname":"www.example.org","rrtype":"CNAME","ttl":300,"rdata":"example.org"}',
        '{"rrname":"example.org","rrtype":"A","ttl":300,"rdata":"93.184.216.34"}',
    ]
    assert event.fields["dns.qr"] is True


def test_dns_grouped_and_v1_answers():
    grouped = json.loads(DNS_ANSWER)
    del grouped["dns"]["answers"]
    grouped["dns"]["grouped"] = {"A": ["192.0.78.24", "192.0.78.25"], "CNAME": ["suricata.io"]}
    assert one(json.dumps(grouped)).fields["answer"] == ["192.0.78.24", "192.0.78.25", "suricata.io"]
    v1 = json.loads(DNS_ANSWER)
    del v1["dns"]["answers"]
    v1["dns"]["rdata"] = "199.16.156.6"
    assert one(json.dumps(v1)).fields["answer"] == "199.16.156.6"


def test_dns_v3_queries_list():
    event = one(DNS_V3)
    assert event.fields["query"] == "pool.minexmr.com"
    assert event.fields["record_type"] == "A"
    assert event.fields["dns.queries"] == ['{"rrname":"pool.minexmr.com","rrtype":"A"}']


def test_http_sigma_proxy_names():
    event = one(HTTP)
    assert event.logsource == LogSource(product="suricata", category="proxy", service="http")
    fields = event.fields
    assert fields["c-uri"] == "/files/Invoice.EXE?id=7"
    assert fields["c-uri-stem"] == "/files/Invoice.EXE"
    assert fields["c-uri-query"] == "id=7"
    assert fields["c-uri-extension"] == "EXE"
    assert fields["cs-host"] == "downloads.example.com"
    assert fields["cs-method"] == "GET"
    assert fields["c-useragent"] == "Mozilla/5.0"
    assert fields["cs-referrer"] == "http://mail.example.com/"
    assert fields["sc-status"] == 200
    assert fields["http.url"] == "/files/Invoice.EXE?id=7"
    assert fields["http.request_headers"] == ['{"name":"Host","value":"downloads.example.com"}']


def test_http_status_as_text_becomes_int():
    line = json.loads(HTTP)
    line["http"]["status"] = "404"
    assert one(json.dumps(line)).fields["sc-status"] == 404


@pytest.mark.parametrize(
    ("line", "logsource"),
    [
        (TLS, LogSource(product="suricata", service="tls")),
        (FLOW, LogSource(product="suricata", category="firewall", service="flow")),
        (FILEINFO, LogSource(product="suricata", service="fileinfo")),
        (STATS, LogSource(product="suricata", service="stats")),
        (FLOW.replace('"event_type":"flow"', '"event_type":"netflow"'), LogSource(product="suricata",
                                                                                   service="netflow")),
    ],
    ids=["tls", "flow", "fileinfo", "stats", "netflow"],
)
def test_logsource_table(line, logsource):
    assert one(line).logsource == logsource


def test_tls_and_flow_fields():
    tls = one(TLS).fields
    assert tls["tls.sni"] == "example.com"
    assert tls["tls.ja3.hash"] == "e7d705a3286e19ea42f587b344ee6865"
    flow = one(FLOW).fields
    assert flow["dst_port"] == 23  # what Sigma's firewall rules (cleartext protocols) select on
    assert flow["flow.alerted"] is False
    assert "c-uri" not in flow


def test_stats_without_addresses():
    fields = one(STATS).fields
    assert fields["stats.decoder.pkts"] == 100
    assert "dst_ip" not in fields


def test_timestamp_without_zone_uses_configured_zone():
    line = ALERT.replace("2026-11-03T10:00:01.123456+0100", "2026-11-03T10:00:01.123456")
    event = one(line, collector(tz=timezone(timedelta(hours=2))))
    assert event.time == datetime(2026, 11, 3, 8, 0, 1, 123456, tzinfo=UTC)


def test_whole_file_in_order():
    data = ("\n".join(ALL) + "\n").encode()
    records = parse_all(data)
    assert all(isinstance(r, Event) for r in records)
    assert [r.logsource.service for r in records] == [
        "alert", "dns", "dns", "dns", "http", "tls", "flow", "fileinfo", "stats"]
    offsets = [0]
    for line in ALL[:-1]:
        offsets.append(offsets[-1] + len(line.encode()) + 1)
    assert [r.origin.offset for r in records] == offsets


# --- sniffing -------------------------------------------------------------------------------------------

SYSLOG_LINE = b"Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2"
ACCESS_LINE = b'203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8"'
ZEEK_LINE = (b'{"ts":1793527200.123456,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.168.1.10","id.orig_p":52113,'
             b'"id.resp_h":"93.184.216.34","id.resp_p":80,"proto":"tcp","conn_state":"SF"}')
JOURNALD_LINE = (b'{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1793696401123456","_HOSTNAME":"srv01",'
                 b'"SYSLOG_IDENTIFIER":"suricata","MESSAGE":"{\\"event_type\\":\\"alert\\",\\"timestamp\\":\\"x\\"}"}')
GENERIC_LINE = b'{"@timestamp":"2026-11-03T10:00:01Z","message":"hello","host":{"name":"srv01"}}'
ZEEK_TSV = b"#separator \\x09\n#set_separator\t,\n#fields\tts\tuid\n#types\ttime\tstring\n1.0\tCx\n"


def test_sniff_accepts_eve():
    assert collector().sniff(("\n".join(ALL) + "\n").encode()) is True


def test_sniff_accepts_first_line_longer_than_head():
    big = json.loads(HTTP)
    big["http"]["url"] = "/" + "a" * 20_000
    assert collector().sniff(json.dumps(big).encode()[:8192]) is True


@pytest.mark.parametrize(
    "line", [SYSLOG_LINE, ACCESS_LINE, ZEEK_LINE, JOURNALD_LINE, GENERIC_LINE],
    ids=["syslog", "access", "zeek", "journald", "generic"],
)
def test_sniff_rejects_other_formats(line):
    assert collector().sniff(line + b"\n" + line + b"\n") is False
    assert collector().sniff(line[:60]) is False


def test_sniff_rejects_zeek_tsv():
    assert collector().sniff(ZEEK_TSV) is False


def test_other_sniffers_reject_eve():
    head = ("\n".join(ALL) + "\n").encode()
    for other in (ZeekJsonCollector(), JournaldCollector(), ZeekTsvCollector()):
        assert other.sniff(head) is False, other.name
    assert JsonLinesCollector().sniff(head) is True


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b'{"timestamp":"2026-11-03T10:00:01+0100","src_ip":"1.2.3.4"}', "needs timestamp and event_type"),
        (b'{"event_type":"alert"}', "needs timestamp and event_type"),
        (b'{"timestamp":1793527200,"event_type":"alert"}', "needs timestamp and event_type"),
        (b'{"timestamp":"2026-11-03T10:00:01+0100","event_type":""}', "needs timestamp and event_type"),
        (b'{"timestamp":"yesterday","event_type":"alert"}', "invalid Suricata timestamp"),
        (b'{"timestamp":"0001-01-01T00:00:00+0100","event_type":"alert"}', "invalid Suricata timestamp"),
        (b'{"timestamp":"2026-11-03T10:00:01+0100","event_type":"alert"', "invalid JSON"),
        (b'["timestamp","event_type"]', "not an object"),
        (b"[" * 10_000 + b"]" * 10_000, "nested deeper"),
        (b'{"timestamp":"2026-11-03T10:00:01+0100","event_type":"x","a":' + b'{"a":' * 10_000 + b"1"
         + b"}" * 10_001, "nested deeper"),
        (b'{"timestamp":"2026-11-03T10:00:01+0100","event_type":"x","n":1e999}', "number too large"),
        (b'{"timestamp":"2026-11-03T10:00:01+0100","event_type":"x","n":' + b"9" * 5000 + b"}", "number too large"),
        (b"\x00" * 64, "invalid JSON"),
        (b'{"timestamp":"2026-11-03T10:00:01+0100","event_type":"x","p":"' + b"P" * (2 * 1024 * 1024) + b'"}',
         "longer than"),
    ],
    ids=["no-event-type", "no-timestamp", "numeric-timestamp", "empty-event-type", "bad-timestamp", "year-1",
         "truncated", "array", "deep-array", "deep-object", "inf", "5000-digits", "nul", "2mb-payload"],
)
def test_bad_line_is_malformed_and_neighbours_parse(bad, reason):
    data = ALERT.encode() + b"\n" + bad + b"\n" + DNS_QUERY.encode() + b"\n"
    records = parse_all(data)
    assert [type(r) for r in records] == [Event, Malformed, Event]
    assert reason in records[1].reason
    assert records[1].origin == Origin(PATH, len(ALERT) + 1, 2)
    assert records[2].fields["query"] == "x1.burpcollaborator.net"
    assert records[2].origin == Origin(PATH, len(ALERT) + len(bad) + 2, 3)


def test_attacker_text_kept_verbatim():
    line = json.loads(HTTP)
    agent = "\x1b[2J\x1b[31m[bold]sqlmap[/bold]\x00 j\u00f6rg"
    line["http"]["http_user_agent"] = agent
    line["http"]["url"] = "/?q=[link=http://evil]x[/link]"
    event = one(json.dumps(line, ensure_ascii=False))
    assert event.fields["c-useragent"] == agent
    assert event.fields["http.http_user_agent"] == agent
    assert event.fields["c-uri-query"] == "q=[link=http://evil]x[/link]"


def test_latin1_bytes_in_line():
    line = HTTP.encode().replace(b'"Mozilla/5.0"', b'"J\xf6rg-Agent"')
    assert one(line).fields["c-useragent"] == "J\xf6rg-Agent"


def test_truncated_last_line():
    records = parse_all(ALERT.encode() + b"\n" + DNS_QUERY.encode())
    assert [type(r) for r in records] == [Event, Event]
    records = parse_all(ALERT.encode() + b"\n" + DNS_QUERY.encode()[:-40])
    assert [type(r) for r in records] == [Event, Malformed]


def test_parse_line_rejects_generic_json():
    with pytest.raises(LineRejected):
        collector().parse_line(GENERIC_LINE.decode(), Origin(PATH, 0, 1))


@pytest.mark.reliability
@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600))
def test_property_arbitrary_bytes_never_raise(data):
    position = Position()
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    assert all(isinstance(r, Event | Malformed) for r in records)
    assert position.offset == len(data)


odd_leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63), st.text(max_size=5))
odd_values = st.recursive(
    odd_leaves,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["rrname", "rrtype", "queries", "answers", "grouped", "rdata", "url", "status",
                         "hostname", "http_method"]), children, max_size=4),
    max_leaves=12,
)


@pytest.mark.reliability
@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ALL), st.dictionaries(st.sampled_from(["http", "dns", "alert", "tls"]), odd_values, max_size=3))
def test_property_odd_shapes_of_known_sections_never_raise(base, overrides):
    record = json.loads(base)
    record.update(overrides)
    event = one(json.dumps(record))
    assert event.logsource.product == "suricata"
