"""pcap collector: the corpus captures give the events they hold, every link type and pcapng decode, flows end
for each reason, resuming reproduces exactly the events not yet stored, the payload hook and the scapy path."""

from __future__ import annotations

import gc
import io
import random
import struct
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from test_collect_pcap_support import (
    MAC_A,
    MAC_B,
    T0,
    arp,
    client_hello,
    dns_query,
    dns_response,
    epb,
    ether,
    events,
    idb,
    ip4,
    ipv4,
    ipv6,
    kinds,
    malformed,
    pb,
    pcap,
    read,
    shb,
    spb,
    tcp,
    tls_record,
    udp,
    vlan_frame,
)

from seccenter.collect.interface import Position
from seccenter.collect.pcap import PcapCollector, iter_flow_payloads
from seccenter.events import Event

PCAPS = "pcap"


def corpus_events(corpus: Path, name: str, **options) -> list:
    path = corpus / PCAPS / f"{name}.pcap"
    with path.open("rb") as stream:
        records = list(PcapCollector(**options).parse(stream, str(path), Position()))
    assert not malformed(records), malformed(records)
    return records


# --- the corpus ---------------------------------------------------------------------------------------------


def test_arp_who_has(corpus: Path) -> None:
    records = corpus_events(corpus, "arp_who_has")
    assert kinds(records) == {"arp": 2}
    who, answer = events(records, "arp")
    assert who.fields["operation"] == "who-has"
    assert (who.fields["sender_ip"], who.fields["target_ip"]) == ("10.0.0.2", "10.0.0.1")
    assert who.fields["sender_mac"] == "78:31:c1:c6:3f:c2"
    assert answer.fields["operation"] == "is-at"
    assert (answer.fields["sender_ip"], answer.fields["sender_mac"]) == ("10.0.0.1", "f8:ed:a5:c0:a4:f1")
    assert who.logsource.product == "pcap" and who.logsource.category is None and who.source == "pcap"


def test_dns_txt_tunnel_queries_match_scapy(corpus: Path) -> None:
    from scapy.all import DNS, UDP, PcapReader
    from scapy.layers.llmnr import LLMNRQuery

    records = corpus_events(corpus, "dns_txt_c2_tunnel")
    expected = Counter()
    with PcapReader(str(corpus / PCAPS / "dns_txt_c2_tunnel.pcap")) as packets:
        for packet in packets:
            layer = packet.getlayer(DNS) or packet.getlayer(LLMNRQuery)
            if UDP in packet and layer is not None and layer.qr == 0 and layer.qd:
                expected[(layer.qd[0].qname.decode().rstrip("."), layer.qd[0].qtype)] += 1
    found = Counter((event.fields["query"], event.fields["qtype"]) for event in events(records, "dns"))
    assert found == expected
    txt = [event for event in events(records, "dns") if event.fields["record_type"] == "TXT"]
    assert len(txt) == 50
    first = next(event for event in txt if event.fields["query"] == "l.ns.ostrykebs.pl")
    assert first.fields["answer"][0].startswith("@$str='';$i=1;while(1)")
    assert first.fields["rcode_name"] == "NOERROR" and first.fields["dst_ip"] == "8.8.8.8"
    assert {f"l.{n}.ns.ostrykebs.pl" for n in range(1, 18)} <= {event.fields["query"] for event in txt}
    assert sum(event.fields["query"] == "c.1-1.24006.ns.ostrykebs.pl" for event in txt) == 32
    assert first.logsource.category == "dns" and first.logsource.service == "dns"
    # LLMNR queries (UDP 5355) over IPv4 and IPv6
    llmnr = [event for event in events(records, "dns") if event.fields["dst_port"] == 5355]
    assert {event.fields["dst_ip"] for event in llmnr} == {"224.0.0.252", "ff02::1:3"}


def test_dns_answers_merged_into_their_query(corpus: Path) -> None:
    records = corpus_events(corpus, "dns_udp_google_a_aaaa_mx")
    assert kinds(records) == {"dns": 3, "flow": 3}
    by_type = {event.fields["record_type"]: event for event in events(records, "dns")}
    assert set(by_type) == {"A", "AAAA", "MX"}
    assert by_type["AAAA"].fields["answer"] == ["2607:f8b0:400f:801::200e"]
    assert "aspmx.l.google.com" in by_type["MX"].fields["answers"]
    assert all(event.fields["query"] == "google.com" and event.fields["rtt"] > 0 for event in by_type.values())
    assert all(event.fields["src_ip"] == "10.16.1.11" and event.fields["dst_port"] == 53 for event in by_type.values())


def test_http_get(corpus: Path) -> None:
    records = corpus_events(corpus, "http_get")
    (request,) = events(records, "http")
    fields = request.fields
    assert fields["cs-method"] == "GET"
    assert fields["cs-host"] == "bro.org"
    assert fields["c-uri"] == "/download/CHANGES.bro-aux.txt"
    assert fields["c-uri-extension"] == "txt"
    assert fields["c-useragent"] == "Wget/1.14 (darwin12.2.0)"
    assert fields["sc-status"] == 200
    assert (fields["src_ip"], fields["dst_ip"], fields["dst_port"]) == ("141.142.228.5", "192.150.187.43", 80)
    assert request.logsource.category == "proxy"
    assert request.raw.startswith("GET /download/CHANGES.bro-aux.txt HTTP/1.1\r\n")
    (flow,) = events(records, "flow")
    assert flow.fields["conn_state"] == "SF" and flow.fields["end_reason"] == "fin"
    assert flow.fields["history"] == "ShADadFf" and flow.fields["service"] == "http"
    assert flow.logsource.category == "firewall"


def _hello_lists(hello: bytes) -> dict:
    """An independent walk over a ClientHello (handshake header on) for the fingerprint oracle."""
    body = hello[4:]
    pos = 35 + body[34]
    (count,) = struct.unpack_from("!H", body, pos)
    ciphers = list(struct.unpack_from(f"!{count // 2}H", body, pos + 2))
    pos += 2 + count
    pos += 1 + body[pos]
    (total,) = struct.unpack_from("!H", body, pos)
    pos += 2
    out = {"version": struct.unpack_from("!H", body)[0], "ciphers": ciphers, "extensions": [], "groups": [],
           "formats": [], "signatures": [], "alpn": [], "versions": []}
    end = pos + total
    while pos < end:
        kind, size = struct.unpack_from("!HH", body, pos)
        data = body[pos + 4:pos + 4 + size]
        out["extensions"].append(kind)
        if kind == 10:
            out["groups"] = list(struct.unpack_from(f"!{(len(data) - 2) // 2}H", data, 2))
        elif kind == 11:
            out["formats"] = list(data[1:])
        elif kind == 13:
            out["signatures"] = list(struct.unpack_from(f"!{(len(data) - 2) // 2}H", data, 2))
        elif kind == 16:
            at = 2
            while at < len(data):
                out["alpn"].append(data[at + 1:at + 1 + data[at]])
                at += 1 + data[at]
        elif kind == 43:
            out["versions"] = list(struct.unpack_from(f"!{data[0] // 2}H", data, 1))
        pos += 4 + size
    return out


def _oracle(lists: dict) -> tuple[str, str]:
    import hashlib

    grease = {0x0A0A + 0x1010 * n for n in range(16)}

    def clean(values):
        return [value for value in values if value not in grease]

    ja3 = ",".join([str(lists["version"]), "-".join(map(str, clean(lists["ciphers"]))),
                    "-".join(map(str, clean(lists["extensions"]))), "-".join(map(str, clean(lists["groups"]))),
                    "-".join(map(str, lists["formats"]))])
    ciphers, extensions = clean(lists["ciphers"]), clean(lists["extensions"])
    version = max(clean(lists["versions"])) if clean(lists["versions"]) else lists["version"]
    label = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3"}.get(version, "00")
    alpn = lists["alpn"][0].decode() if lists["alpn"] else ""
    head = (f"t{label}{'d' if 0 in extensions else 'i'}{len(ciphers):02d}{len(extensions):02d}"
            f"{alpn[0] + alpn[-1] if alpn else '00'}")
    part_b = hashlib.sha256(",".join(f"{c:04x}" for c in sorted(ciphers)).encode()).hexdigest()[:12]
    part_c = ",".join(f"{e:04x}" for e in sorted(extensions) if e not in (0, 16))
    if lists["signatures"]:
        part_c += "_" + ",".join(f"{s:04x}" for s in clean(lists["signatures"]))
    return ja3, f"{head}_{part_b}_{hashlib.sha256(part_c.encode()).hexdigest()[:12]}"


def test_tls_client_hello_sni_ja3_ja4(corpus: Path) -> None:
    import hashlib

    from scapy.all import TCP, PcapReader, Raw

    records = corpus_events(corpus, "tls_chrome34_google_sni")
    (hello,) = events(records, "tls")
    with PcapReader(str(corpus / PCAPS / "tls_chrome34_google_sni.pcap")) as packets:
        payload = next(bytes(p[Raw]) for p in packets if Raw in p and p[TCP].dport == 443)
    lists = _hello_lists(payload[5:])
    ja3, ja4 = _oracle(lists)
    fields = hello.fields
    assert fields["tls.sni"] == fields["server_name"] == "google.de"
    assert fields["tls.version"] == "TLS 1.2"
    assert fields["tls.ja3"] == ja3
    assert fields["tls.ja3_hash"] == hashlib.md5(ja3.encode()).hexdigest()
    assert fields["tls.ja4"] == ja4
    assert fields["tls.ja4"].startswith("t12d2011s3_")  # spdy/3 is the first ALPN value
    assert fields["tls.alpn"] == ["spdy/3", "spdy/3.1", "http/1.1"]
    assert fields["tls.ciphers"] == lists["ciphers"]
    assert (fields["dst_ip"], fields["dst_port"]) == ("74.125.239.152", 443)
    assert hello.logsource.service == "tls" and hello.logsource.category is None


def test_ssh_banners(corpus: Path) -> None:
    records = corpus_events(corpus, "ssh_bruteforce_sshguess")
    ssh = events(records, "ssh")
    flows = events(records, "flow")
    assert len(ssh) == len(flows) == 11
    for event in ssh:
        assert event.fields["client"] == "SSH-2.0-OpenSSH_6.2"
        assert event.fields["server"] == "SSH-2.0-OpenSSH_6.7p1 Debian-3"
        assert event.fields["dst_port"] == 22 and event.fields["ssh_version"] == "2.0"
    assert all(flow.fields["service"] == "ssh" for flow in flows)


def test_masscan_portscan_flows(corpus: Path) -> None:
    records = corpus_events(corpus, "portscan_masscan_tcp_0_1000")
    flows = events(records, "flow")
    assert len(flows) > 990 and kinds(records) == {"flow": len(flows)}
    scanner = [flow for flow in flows if flow.fields["src_ip"] == "172.31.15.102"]
    assert len({flow.fields["dst_port"] for flow in scanner}) > 990
    states = Counter(flow.fields["conn_state"] for flow in scanner)
    assert states.most_common(1)[0][0] == "S0"
    assert all(flow.fields["vlan"] == 943 for flow in flows)


def test_ftp_bruteforce_flows(corpus: Path) -> None:
    records = corpus_events(corpus, "ftp_bruteforce")
    flows = events(records, "flow")
    assert kinds(records) == {"flow": 30, "credential": 30}  # one USER/PASS login per connection
    assert all(flow.fields["dst_port"] == 21 and flow.fields["proto"] == "tcp" for flow in flows)
    assert sum(flow.fields["conn_state"] == "SF" for flow in flows) >= 25
    assert len({flow.fields["src_port"] for flow in flows}) == 30


def test_icmp_pings(corpus: Path) -> None:
    records = corpus_events(corpus, "icmp_5_pings")
    assert kinds(records) == {"icmp": 10, "flow": 1}
    (flow,) = events(records, "flow")
    assert (flow.fields["orig_pkts"], flow.fields["resp_pkts"]) == (5, 5)
    assert (flow.fields["icmp_type"], flow.fields["icmp_code"]) == (8, 0) and "dst_port" not in flow.fields
    names = Counter(event.fields["icmp_type_name"] for event in events(records, "icmp"))
    assert names == {"echo-request": 5, "echo-reply": 5}


def test_nmap_capture(corpus: Path) -> None:
    records = corpus_events(corpus, "nmap_service_version_detection")
    assert kinds(records)["arp"] == 503
    assert {event.fields["operation"] for event in events(records, "arp")} <= {"who-has", "is-at"}
    assert all(event.fields["query"].endswith("in-addr.arpa") for event in events(records, "dns"))


def test_every_corpus_capture_reaches_its_end(corpus: Path) -> None:
    for path in sorted((corpus / PCAPS).glob("*.pcap")):
        position = Position()
        with path.open("rb") as stream:
            records = list(PcapCollector().parse(stream, str(path), position))
        assert position.offset == path.stat().st_size, path.name
        offsets = [record.origin.offset for record in records]
        assert len(offsets) == len(set(offsets)), f"{path.name}: two events share an origin offset"


# --- mixed.pcap from the shared workload generator ---------------------------------------------------------


def test_mixed_workload_counts(tmp_path: Path, workloads: ModuleType) -> None:
    """Scale 0.02: 1000 packets, every fifth of each kind: 200 DNS queries, HTTP requests, scan SYNs, pings, TLS
    ClientHellos; one flow per distinct conversation (counted independently with scapy)."""
    from scapy.all import ICMP, IP, TCP, UDP, PcapReader

    path = tmp_path / "mixed.pcap"
    workloads.make_pcap(str(path), int(50_000 * 0.02), random.Random(1))
    conversations = set()
    with PcapReader(str(path)) as packets:
        for packet in packets:
            ip = packet[IP]
            if ICMP in packet:
                conversations.add(("icmp", ip.src, ip.dst, packet[ICMP].type, packet[ICMP].code))
            else:
                layer = packet[TCP] if TCP in packet else packet[UDP]
                conversations.add((ip.proto, frozenset({(ip.src, layer.sport), (ip.dst, layer.dport)})))
    with path.open("rb") as stream:
        records = list(PcapCollector().parse(stream, str(path), Position()))
    assert kinds(records) == {"dns": 200, "http": 200, "tls": 200, "icmp": 200, "flow": len(conversations)}
    http = events(records, "http")
    assert {event.fields["cs-host"] for event in http} == {"portal.example.com"}
    assert sorted(int(event.fields["c-uri-query"].split("=")[1]) for event in http) == list(range(1, 1000, 5))
    assert {event.fields["tls.sni"] for event in events(records, "tls")} == {
        f"cdn{i % 50}.example.net" for i in range(4, 1000, 5)}
    assert {event.fields["query"] for event in events(records, "dns")} == {
        f"host{i % 500}.example.org" for i in range(0, 1000, 5)}
    scan = [event for event in events(records, "flow") if event.fields["src_ip"] == "10.9.9.9"]
    assert len(scan) == 200 and {event.fields["conn_state"] for event in scan} == {"S0"}


# --- link types, tags, pcapng -------------------------------------------------------------------------------

QUERY = ipv4("10.1.1.1", "10.2.2.2", 17, udp(40000, 53, dns_query(7, "link.example")))
QUERY6 = ipv6("2001:db8::1", "2001:db8::2", 17, udp(40000, 53, dns_query(8, "six.example", 28)))


def _one_query(data: bytes) -> Event:
    records = read(data)
    assert not malformed(records), malformed(records)
    (query,) = events(records, "dns")
    (flow,) = events(records, "flow")
    assert flow.fields["service"] == "dns"
    return query


@pytest.mark.parametrize(("linktype", "frame"), [
    (1, ether(QUERY)),
    (0, struct.pack("<I", 2) + QUERY),  # NULL, little-endian host
    (0, struct.pack(">I", 2) + QUERY),  # NULL, big-endian host
    (108, struct.pack(">I", 2) + QUERY),  # LOOP: network order
    (101, QUERY),
    (12, QUERY),
    (14, QUERY),
    (228, QUERY),
    (113, struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", 0x0800) + QUERY),
    (276, struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, MAC_A + b"\0\0") + QUERY),
    (1, vlan_frame(QUERY, [100])),
    (1, vlan_frame(QUERY, [200, 100])),
    (1, ether(struct.pack("!I", 0x1F41FF) + QUERY, 0x8847)),  # one MPLS label, bottom of stack
])
def test_link_types_ipv4(linktype: int, frame: bytes) -> None:
    query = _one_query(pcap([frame], linktype=linktype))
    assert query.fields["query"] == "link.example"
    assert (query.fields["src_ip"], query.fields["dst_ip"], query.fields["dst_port"]) == ("10.1.1.1", "10.2.2.2", 53)


@pytest.mark.parametrize(("linktype", "frame"), [
    (1, ether(QUERY6, 0x86DD)),
    (0, struct.pack("<I", 30) + QUERY6),  # macOS AF_INET6
    (0, struct.pack("<I", 24) + QUERY6),  # OpenBSD/NetBSD
    (0, struct.pack("<I", 28) + QUERY6),  # FreeBSD
    (101, QUERY6),
    (229, QUERY6),
    (113, struct.pack("!HHH8sH", 0, 1, 6, MAC_A + b"\0\0", 0x86DD) + QUERY6),
    (276, struct.pack("!HHIHBB8s", 0x86DD, 0, 2, 1, 0, 6, MAC_A + b"\0\0") + QUERY6),
])
def test_link_types_ipv6(linktype: int, frame: bytes) -> None:
    query = _one_query(pcap([frame], linktype=linktype))
    assert query.fields["query"] == "six.example" and query.fields["record_type"] == "AAAA"
    assert (query.fields["src_ip"], query.fields["dst_ip"]) == ("2001:db8::1", "2001:db8::2")


def test_vlan_id_on_flow() -> None:
    records = read(pcap([vlan_frame(QUERY, [200, 100])]))
    (flow,) = events(records, "flow")
    assert flow.fields["vlan"] == 200


def test_read_leaves_the_garbage_collector_as_it_found_it() -> None:
    """The read tunes the collector for itself (frozen heap, larger first generation) and gives it back: when it
    ends, when it is abandoned halfway, and not at all when the program froze its objects itself."""
    capture = pcap([ether(QUERY)] * 3)
    thresholds = gc.get_threshold()
    records = PcapCollector().parse(io.BytesIO(capture), "x.pcap", Position())
    next(records)
    records.close()
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
    assert kinds(read(capture)) == {"dns": 3, "flow": 1}
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        read(capture)
        assert gc.get_threshold() == thresholds and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_pcap_byte_orders_and_nanoseconds() -> None:
    for endian in "<>":
        for nano in (False, True):
            records = read(pcap([(T0 + 0.123456, ether(QUERY))], endian=endian, nano=nano))
            (query,) = events(records, "dns")
            assert query.time.timestamp() == pytest.approx(T0 + 0.123456, abs=1e-6)


def test_pcapng_blocks_interfaces_and_resolution() -> None:
    data = (shb() + idb(1) + idb(101, tsresol=9)
            + epb(ether(QUERY), T0 + 1.5)
            + epb(QUERY6, T0 + 2.25, interface=1, units=1_000_000_000)
            + spb(ether(ipv4("10.3.3.3", "10.4.4.4", 17, udp(5000, 53, dns_query(9, "simple.example")))))
            + pb(ether(ipv4("10.5.5.5", "10.6.6.6", 17, udp(5001, 53, dns_query(10, "obsolete.example")))),
                 T0 + 3))
    records = read(data)
    assert not malformed(records)
    queries = {event.fields["query"]: event for event in events(records, "dns")}
    assert set(queries) == {"link.example", "six.example", "simple.example", "obsolete.example"}
    assert queries["link.example"].time.timestamp() == pytest.approx(T0 + 1.5)
    assert queries["six.example"].time.timestamp() == pytest.approx(T0 + 2.25)
    assert queries["obsolete.example"].time.timestamp() == pytest.approx(T0 + 3)
    # origins of a flow are its first block's offset
    flow_origins = sorted(event.origin.offset for event in events(records, "flow"))
    assert flow_origins[0] == len(shb() + idb(1) + idb(101, tsresol=9))


def test_pcapng_big_endian_and_second_section() -> None:
    data = (shb(">") + idb(1, endian=">") + epb(ether(QUERY), T0, endian=">")
            + shb("<") + idb(101) + epb(QUERY6, T0 + 1))
    records = read(data)
    assert not malformed(records)
    assert {event.fields["query"] for event in events(records, "dns")} == {"link.example", "six.example"}


def test_sniff() -> None:
    collector = PcapCollector()
    assert collector.sniff(pcap([]))
    assert collector.sniff(pcap([], endian=">"))
    assert collector.sniff(pcap([], nano=True))
    assert collector.sniff(pcap([], nano=True, endian=">"))
    assert collector.sniff(shb() + idb())
    assert not collector.sniff(b"\x0a\x0d\x0d\x0a" + b"\0" * 20)  # pcapng magic without a byte-order magic
    assert not collector.sniff(b"Jan  1 00:00:00 host sshd[1]: hello\n")
    assert not collector.sniff(b"ElfFile\x00")
    assert not collector.sniff(b"")


# --- IPv6, fragments ---------------------------------------------------------------------------------------


def test_ipv6_extension_headers() -> None:
    hop_by_hop = bytes([60, 0]) + b"\x01\x04\0\0\0\0"  # next: destination options
    destination = bytes([6, 0]) + b"\x01\x04\0\0\0\0"  # next: TCP
    syn = ipv6("2001:db8::a", "2001:db8::b", 0, tcp(40000, 443, 1, 0x02), hop_by_hop + destination)
    records = read(pcap([ether(syn, 0x86DD)]))
    (flow,) = events(records, "flow")
    assert (flow.fields["src_port"], flow.fields["dst_port"], flow.fields["proto"]) == (40000, 443, "tcp")
    assert flow.fields["history"] == "S" and flow.fields["conn_state"] == "S0"


def test_ipv4_fragments_are_counted_on_their_flow() -> None:
    payload = udp(5000, 9999, b"A" * 64)
    first = ipv4("10.0.0.1", "10.0.0.2", 17, payload[:24], ident=77, flags=0x2000, total=20 + 24)
    middle = ipv4("10.0.0.1", "10.0.0.2", 17, payload[24:48], ident=77, flags=0x2000 | 3)
    last = ipv4("10.0.0.1", "10.0.0.2", 17, payload[48:], ident=77, flags=6)
    orphan = ipv4("10.9.0.1", "10.9.0.2", 17, b"B" * 16, ident=78, flags=5)  # its first fragment was not seen
    records = read(pcap([ether(first), ether(middle), ether(last), ether(orphan)]))
    assert not malformed(records)
    flows = {event.fields["src_ip"]: event for event in events(records, "flow")}
    assert flows["10.0.0.1"].fields["fragments"] == 3
    assert flows["10.0.0.1"].fields["orig_pkts"] == 3 and flows["10.0.0.1"].fields["dst_port"] == 9999
    assert flows["10.9.0.1"].fields["fragments"] == 1 and flows["10.9.0.1"].fields["dst_port"] == 0


def test_ipv6_fragments() -> None:
    fragment_first = struct.pack("!BBHI", 17, 0, 1, 99)  # offset 0, more fragments
    fragment_next = struct.pack("!BBHI", 17, 0, 8 << 3, 99)
    payload = udp(6000, 7000, b"C" * 40)
    records = read(pcap([
        ether(ipv6("2001:db8::1", "2001:db8::2", 44, payload[:16], fragment_first), 0x86DD),
        ether(ipv6("2001:db8::1", "2001:db8::2", 44, payload[16:], fragment_next), 0x86DD),
    ]))
    (flow,) = events(records, "flow")
    assert flow.fields["fragments"] == 2 and flow.fields["dst_port"] == 7000


# --- flow ends ---------------------------------------------------------------------------------------------


def _conversation(sport: int, start: float, closing: str) -> list[tuple[float, bytes]]:
    client, server = "10.0.0.10", "10.0.0.20"

    def out(seq, flags, data=b""):
        return ether(ipv4(client, server, 6, tcp(sport, 80, seq, flags, data)))

    def back(seq, flags, data=b""):
        return ether(ipv4(server, client, 6, tcp(80, sport, seq, flags, data)))

    frames = [(start, out(100, 0x02)), (start + 0.01, back(500, 0x12)), (start + 0.02, out(101, 0x10))]
    if closing == "fin":
        frames += [(start + 0.03, out(101, 0x11)), (start + 0.04, back(501, 0x11)), (start + 0.05, out(102, 0x10))]
    elif closing == "rst":
        frames += [(start + 0.03, back(501, 0x14))]
    return frames


def _flows_by_port(records) -> dict[int, Event]:
    return {event.fields["src_port"]: event for event in events(records, "flow")}


def test_flow_end_reasons() -> None:
    frames = (_conversation(1001, T0, "fin") + _conversation(1002, T0, "rst") + _conversation(1003, T0, "")
              + _conversation(1004, T0 + 100, ""))
    frames.sort(key=lambda frame: frame[0])
    records = read(pcap(frames))
    flows = _flows_by_port(records)
    assert flows[1001].fields["end_reason"] == "fin" and flows[1001].fields["conn_state"] == "SF"
    assert flows[1001].fields["orig_pkts"] == 4  # the last ACK lingers into the flow
    assert flows[1002].fields["end_reason"] == "rst" and flows[1002].fields["conn_state"] == "RSTR"
    assert flows[1003].fields["end_reason"] == "idle" and flows[1003].fields["conn_state"] == "S1"
    assert flows[1004].fields["end_reason"] == "end_of_input"
    order = [event.fields["src_port"] for event in events(records, "flow")]
    assert order.index(1003) < order.index(1004)  # ended by the sweep when time passed, before the end


def test_flows_end_when_time_passes_not_at_the_end() -> None:
    frames = _conversation(2001, T0, "fin") + [(T0 + 30, ether(QUERY))]
    records = read(pcap(frames))
    assert [r.logsource.service for r in events(records)][:1] == ["flow"]  # the FIN flow ends at T0+30


def test_idle_timeout_is_configurable() -> None:
    frames = _conversation(3001, T0, "") + [(T0 + 10, ether(QUERY))]
    flows = _flows_by_port(read(pcap(frames), collector=PcapCollector(idle_timeout=5)))
    assert flows[3001].fields["end_reason"] == "idle"
    flows = _flows_by_port(read(pcap(frames)))
    assert flows[3001].fields["end_reason"] == "end_of_input"


def test_eviction_at_the_table_limit() -> None:
    frames = [ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(4000 + n, 443, 1, 0x02))) for n in range(5)]
    records = read(pcap(frames), collector=PcapCollector(max_flows=2))
    flows = _flows_by_port(records)
    assert len(flows) == 5
    assert [flows[4000 + n].fields["end_reason"] for n in range(5)] == ["evicted"] * 3 + ["end_of_input"] * 2


def test_port_reuse_starts_a_new_flow() -> None:
    frames = _conversation(5001, T0, "fin") + _conversation(5001, T0 + 1, "fin")
    records = read(pcap(frames))
    flows = events(records, "flow")
    assert len(flows) == 2 and all(flow.fields["conn_state"] == "SF" for flow in flows)


def test_syn_ack_first_makes_the_receiver_the_originator() -> None:
    frame = ether(ipv4("10.0.0.20", "10.0.0.10", 6, tcp(80, 43210, 1, 0x12)))
    (flow,) = events(read(pcap([frame])), "flow")
    assert (flow.fields["src_ip"], flow.fields["src_port"], flow.fields["dst_port"]) == ("10.0.0.10", 43210, 80)
    assert flow.fields["history"] == "h"


# --- application layer details ------------------------------------------------------------------------------


def test_http_on_any_port_pipelined_and_split() -> None:
    client, server = "10.0.0.1", "10.0.0.2"
    first = b"GET /a?x=1 HTTP/1.1\r\nHost: one.example:8080\r\nUser-Agent: probe\r\n\r\n"
    second = b"POST /upload.php HTTP/1.1\r\nHost: one.example\r\nContent-Length: 5\r\nReferer: http://r.example/\r\n"
    second_end = b"\r\nhello"
    third = b"HEAD /x HTTP/1.0\r\n\r\n"
    response = (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n")
    seq = 1000
    frames = [ether(ipv4(client, server, 6, tcp(40000, 8081, seq, 0x18, first + second)))]
    seq += len(first + second)
    frames.append(ether(ipv4(client, server, 6, tcp(40000, 8081, seq, 0x18, second_end + third))))
    frames.append(ether(ipv4(client, server, 6, tcp(40000, 8081, seq, 0x18, second_end + third))))  # retransmit
    frames.append(ether(ipv4(server, client, 6, tcp(8081, 40000, 5000, 0x18, response))))
    records = read(pcap(frames))
    requests = events(records, "http")
    assert [(r.fields["cs-method"], r.fields["c-uri"], r.fields.get("sc-status")) for r in requests] == [
        ("GET", "/a?x=1", 200), ("POST", "/upload.php", 404), ("HEAD", "/x", 200)]
    assert requests[0].fields["r-dns"] == "one.example" and requests[0].fields["c-uri-query"] == "x=1"
    assert requests[1].fields["cs-referrer"] == "http://r.example/"
    assert requests[1].fields["c-uri-extension"] == "php"
    assert len({r.origin.offset for r in requests}) == 3


def test_tls_hello_split_over_segments_and_records() -> None:
    hello = client_hello("split.example")
    records_bytes = tls_record(hello[:50]) + tls_record(hello[50:])
    frames = [ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40001, 4443, 1, 0x02))),
              ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40001, 4443, 2, 0x18, records_bytes[:30]))),
              ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40001, 4443, 32, 0x18, records_bytes[30:])))]
    (event,) = events(read(pcap(frames)), "tls")
    assert event.fields["tls.sni"] == "split.example"
    assert event.fields["tls.version"] == "TLS 1.3" and event.fields["tls.ja4"].startswith("t13d0306h2_")


def test_tls_hello_cut_by_the_end_of_the_flow_is_partial() -> None:
    record = tls_record(client_hello("cut.example"))
    frames = [ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40002, 443, 1, 0x18, record[:60])))]
    records = read(pcap(frames))
    (event,) = events(records, "tls")
    assert event.fields["tls.truncated"] is True and "tls.ja4" not in event.fields
    assert not malformed(records)


def test_dns_response_without_query_and_tcp_dns() -> None:
    answer = dns_response(5, "solo.example", 1, [ip4("192.0.2.7")])
    message = dns_query(6, "tcp.example", 16)
    frames = [ether(ipv4("10.0.0.53", "10.0.0.1", 17, udp(53, 33333, answer))),
              ether(ipv4("10.0.0.1", "10.0.0.53", 6, tcp(44444, 53, 9, 0x18, struct.pack("!H", len(message))
                                                          + message)))]
    records = read(pcap(frames))
    queries = {event.fields["query"]: event for event in events(records, "dns")}
    solo = queries["solo.example"]
    assert solo.fields["answer"] == ["192.0.2.7"] and "rtt" not in solo.fields
    assert (solo.fields["src_ip"], solo.fields["dst_ip"]) == ("10.0.0.1", "10.0.0.53")  # seen from the asker
    assert queries["tcp.example"].fields["proto"] == "tcp" and queries["tcp.example"].fields["record_type"] == "TXT"


def test_arp_gratuitous_and_raw() -> None:
    frame = ether(arp(2, MAC_A, "10.0.0.9", b"\xff" * 6, "10.0.0.9"), 0x0806)
    (event,) = events(read(pcap([frame])), "arp")
    assert event.fields["gratuitous"] is True and event.fields["operation"] == "is-at"
    assert "10.0.0.9 is-at 00:11:22:33:44:55" in event.raw


def test_dhcp_through_scapy() -> None:
    from scapy.all import raw
    from scapy.layers.dhcp import BOOTP, DHCP

    message = raw(BOOTP(chaddr=MAC_B + bytes(10), xid=0x1234) / DHCP(options=[
        ("message-type", "request"), ("hostname", b"pc042"), ("requested_addr", "10.0.0.9"),
        ("vendor_class_id", b"MSFT 5.0"), ("server_id", "10.0.0.1"), "end"]))
    frame = ether(ipv4("0.0.0.0", "255.255.255.255", 17, udp(68, 67, message)))
    records = read(pcap([frame]))
    (event,) = events(records, "dhcp")
    assert event.fields["message_type"] == "request"
    assert event.fields["hostname"] == "pc042" and event.fields["requested_addr"] == "10.0.0.9"
    assert event.fields["client_mac"] == "66:77:88:99:aa:bb" and event.fields["trans_id"] == 0x1234
    assert event.fields["vendor_class"] == "MSFT 5.0" and event.fields["server_id"] == "10.0.0.1"
    (flow,) = events(records, "flow")
    assert flow.fields["service"] == "dhcp"


# --- resuming ------------------------------------------------------------------------------------------------


def _signature(record) -> tuple:
    if isinstance(record, Event):
        return record.logsource.service, record.time, tuple(sorted((k, repr(v)) for k, v in record.fields.items()))
    return "malformed", record.reason


def _resumed_run(data: bytes, stop_after: int) -> tuple[dict[int, tuple], int]:
    """Read until ``stop_after`` records were yielded (a run killed there), keep the position, read on from it:
    what would be stored, by origin (the store keeps the first event per origin), and the final offset."""
    stored: dict[int, tuple] = {}
    position = Position()
    saved = 0
    generator = PcapCollector().parse(io.BytesIO(data), "resume.pcap", position)
    for count, record in enumerate(generator):
        if count == stop_after:
            break
        stored.setdefault((record.origin.offset, _signature(record)[0]), _signature(record))
        saved = position.offset  # the pipeline commits the position with the records before it
    generator.close()
    position = Position(saved)
    for record in PcapCollector().parse(io.BytesIO(data), "resume.pcap", position):
        stored.setdefault((record.origin.offset, _signature(record)[0]), _signature(record))
    return stored, position.offset


def _resume_workload() -> bytes:
    frames = []
    for n in range(12):
        start = T0 + n * 0.5
        frames += _conversation(6000 + n, start, "fin" if n % 3 else "")
        frames.append((start + 0.2, ether(ipv4("10.0.0.1", "10.0.0.53", 17, udp(30000 + n, 53,
                                                                                  dns_query(n, f"q{n}.example"))))))
        frames.append((start + 0.3, ether(arp(1, MAC_A, "10.0.0.1", bytes(6), "10.0.0.254"), 0x0806)))
    frames.append((T0 + 200, ether(QUERY)))
    frames.sort(key=lambda frame: frame[0])
    return pcap(frames)


def test_killed_at_any_point_and_rerun_stores_every_event_once() -> None:
    data = _resume_workload()
    full = {(r.origin.offset, _signature(r)[0]): _signature(r) for r in read(data)}
    total = len(read(data))
    assert total == len(full)
    for stop in range(0, total + 1, 3):
        stored, end = _resumed_run(data, stop)
        assert stored == full, f"stopped after {stop} records"
        assert end == len(data)


def test_position_is_a_record_boundary_behind_open_flows() -> None:
    data = _resume_workload()
    boundaries = set()
    offset = 24
    while offset < len(data):
        boundaries.add(offset)
        offset += 16 + struct.unpack_from("<I", data, offset + 8)[0]
    boundaries.add(len(data))
    position = Position()
    seen = []
    for _record in PcapCollector().parse(io.BytesIO(data), "x", position):
        seen.append(position.offset)
    assert set(seen) <= boundaries | {0}
    assert seen == sorted(seen)
    assert position.offset == len(data)


def test_growing_capture_splits_open_flows() -> None:
    frames = _conversation(7001, T0, "fin")
    first, later = pcap(frames[:3]), pcap(frames)[len(pcap(frames[:3])):]
    position = Position()
    records = read(first, position)
    assert position.offset == len(first)
    assert events(records, "flow")[0].fields["end_reason"] == "end_of_input"
    more = read(first + later, position)
    (flow,) = events(more, "flow")
    assert flow.fields["history"] == "FfA" and flow.fields["conn_state"] == "OTH"
    assert position.offset == len(first + later)


def test_wait_for_newline_leaves_a_record_being_written() -> None:
    from seccenter.collect.interface import CollectOptions

    data = pcap([ether(QUERY), ether(QUERY6, 0x86DD)])
    cut = data[:-10]
    position = Position()
    records = read(cut, position, options=CollectOptions(wait_for_newline=True))
    assert not malformed(records) and len(events(records, "dns")) == 1
    whole_first = len(pcap([ether(QUERY)]))
    assert position.offset == whole_first
    records = read(cut, Position())
    assert [m.reason.split(" (")[0] for m in malformed(records)] == ["record cut short by the end of the file"]


def test_resume_in_pcapng_rebuilds_interfaces() -> None:
    head = shb() + idb(101) + idb(1)
    data = head + epb(QUERY6, T0, interface=0) + epb(ether(QUERY), T0 + 1, interface=1)
    position = Position(len(head) + len(epb(QUERY6, T0)))
    records = read(data, position)
    assert [event.fields["query"] for event in events(records, "dns")] == ["link.example"]
    assert position.offset == len(data)


# --- payload for YARA -----------------------------------------------------------------------------------------


def test_iter_flow_payloads(corpus: Path) -> None:
    with (corpus / PCAPS / "http_get.pcap").open("rb") as stream:
        (payload,) = list(iter_flow_payloads(stream, limit=1000))
    assert payload.client.startswith(b"GET /download/CHANGES.bro-aux.txt HTTP/1.1\r\n")
    assert payload.server.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(payload.server) == 1000 and payload.truncated
    assert payload.event.logsource.service == "flow"


def test_payloads_from_a_pipe() -> None:
    import os

    frames = [ether(ipv4("10.0.0.1", "10.0.0.2", 17, udp(40000, 2000, b"hello")))]
    for data in (pcap(frames), shb() + idb() + epb(frames[0])):
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "wb") as writer:
            writer.write(data)
        with os.fdopen(read_end, "rb") as reader:
            (payload,) = list(iter_flow_payloads(reader))
        assert payload.client == b"hello"


def test_payload_hook_off_by_default_and_budget() -> None:
    frames = [ether(ipv4("10.0.0.1", "10.0.0.2", 17, udp(40000 + n, 2000, b"x" * 100))) for n in range(4)]
    found = []
    read(pcap(frames), collector=PcapCollector(payload_hook=found.append, payload_budget=250))
    assert sorted(len(p.client) for p in found) == [0, 50, 100, 100]
    assert sum(p.truncated for p in found) == 2
    assert "payload_client" not in events(read(pcap(frames)), "flow")[0].fields


# --- the pipeline ------------------------------------------------------------------------------------------


def test_pipeline_ingest_and_reingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corpus: Path) -> None:
    """Through the real ingest path (the collector put in the registry for the test): counts by kind, and a
    second ingest adds nothing."""
    from seccenter import pipeline
    from seccenter.collect import registry
    from seccenter.detect.sigma import RuleSet
    from seccenter.store.db import open_db

    monkeypatch.setitem(registry.COLLECTORS, "pcap", PcapCollector)
    db = open_db(tmp_path / "seccenter.db")
    path = corpus / PCAPS / "dns_txt_c2_tunnel.pcap"
    summary = pipeline.ingest(db, [path], RuleSet())
    (report,) = summary.sources
    assert report.format == "pcap" and report.malformed == 0
    assert report.new_events == report.events == 247
    services = dict(db.execute("SELECT service, count(*) FROM events GROUP BY service").fetchall())
    assert services == {"arp": 10, "dns": 112, "icmp": 15, "flow": 110}
    again = pipeline.ingest(db, [path], RuleSet())
    assert again.sources[0].new_events == 0


RULES = """title: Traffic to DNS servers
id: 3f1c7b55-2c11-4a0e-9a57-6f6a3e0b0c01
status: test
logsource:
    category: firewall
detection:
    selection:
        dst_port: 53
    condition: selection
level: low
---
title: TXT lookups
id: 3f1c7b55-2c11-4a0e-9a57-6f6a3e0b0c02
status: test
logsource:
    category: dns
detection:
    selection:
        record_type: TXT
    condition: selection
level: medium
"""


def test_pipeline_alerts_on_events_out_of_origin_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        corpus: Path) -> None:
    from seccenter import pipeline
    from seccenter.collect import registry
    from seccenter.detect.sigma import load_rules
    from seccenter.store.db import open_db

    monkeypatch.setitem(registry.COLLECTORS, "pcap", PcapCollector)
    (tmp_path / "rules.yml").write_text(RULES)
    db = open_db(tmp_path / "seccenter.db")
    records = corpus_events(corpus, "dns_txt_c2_tunnel")
    expected = sum(e.fields.get("dst_port") == 53 for e in events(records, "flow")) + sum(
        e.fields["record_type"] == "TXT" for e in events(records, "dns"))
    summary = pipeline.ingest(db, [corpus / PCAPS / "dns_txt_c2_tunnel.pcap"], load_rules([tmp_path / "rules.yml"]))
    assert summary.sources[0].alerts == expected
