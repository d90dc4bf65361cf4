"""The pcap collector's parts: the fast header decoder agrees with scapy's full dissection on every corpus
packet, and the DNS, TLS (JA3/JA4) and HTTP parsers give what their specifications say."""

from __future__ import annotations

import hashlib
import socket
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_collect_pcap_support import client_hello, dns_name

from seccenter.collect.jsonlines import proxy_fields as shared_proxy_fields
from seccenter.collect.packets import dns, http, tls
from seccenter.collect.packets.decode import decode

# --- the fast path against scapy ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dns_txt_c2_tunnel", "portscan_masscan_tcp_0_1000", "http_get",
                                  "nmap_service_version_detection", "icmp_5_pings", "tls_chrome34_google_sni"])
def test_fast_path_agrees_with_scapy(corpus: Path, name: str) -> None:
    from scapy.all import ARP, ICMP, IP, TCP, UDP, IPv6, PcapReader, RawPcapReader, raw
    from scapy.layers.inet6 import _ICMPv6

    path = str(corpus / "pcap" / f"{name}.pcap")
    with RawPcapReader(path) as raw_reader, PcapReader(path) as reader:
        linktype = raw_reader.linktype
        compared = 0
        for (data, _meta), packet in zip(raw_reader, reader, strict=True):
            ours = decode(linktype, data)
            if ARP in packet:
                assert ours[0] == 0
                assert socket.inet_ntoa(ours[3]) == packet[ARP].psrc and socket.inet_ntoa(ours[5]) == packet[ARP].pdst
                assert ours[2].hex(":") == packet[ARP].hwsrc and ours[1] == packet[ARP].op
                compared += 1
                continue
            ip = packet.getlayer(IP) or packet.getlayer(IPv6)
            if ip is None:
                assert ours is None, packet.summary()
                continue
            family = socket.AF_INET if IP in packet else socket.AF_INET6
            assert ours[0] == (4 if IP in packet else 6)
            assert socket.inet_ntop(family, ours[1]) == ip.src and socket.inet_ntop(family, ours[2]) == ip.dst
            layer = packet.getlayer(TCP) or packet.getlayer(UDP)
            if layer is not None and layer.underlayer is ip:
                assert (ours[3], ours[4], ours[5]) == (6 if TCP in packet else 17, layer.sport, layer.dport)
                if TCP in packet:
                    assert ours[6] == int(packet[TCP].flags) and ours[7] == packet[TCP].seq
                    assert data[ours[8]:ours[9]] == raw(packet[TCP].payload)[:ours[9] - ours[8]]
                else:
                    assert data[ours[8]:ours[9]] == raw(layer.payload)[:ours[9] - ours[8]]
            elif ICMP in packet and packet[ICMP].underlayer is ip:
                assert (ours[3], ours[4], ours[5]) == (1, packet[ICMP].type, packet[ICMP].code)
            elif packet.haslayer(_ICMPv6):
                icmp6 = packet.getlayer(_ICMPv6)
                assert (ours[3], ours[4], ours[5]) == (58, icmp6.type, icmp6.code)
            compared += 1
    assert compared > 0


def test_vlan_and_qinq_agree_with_scapy() -> None:
    from scapy.all import IP, TCP, UDP, Dot1AD, Dot1Q, Ether, IPv6, raw

    packets = [
        Ether() / Dot1Q(vlan=5) / IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S"),
        Ether() / Dot1AD(vlan=7) / Dot1Q(vlan=9) / IP(src="10.0.0.3", dst="10.0.0.4") / UDP(sport=53, dport=5353),
        Ether() / Dot1Q(vlan=11) / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2),
        Ether() / IP(src="10.0.0.5", dst="10.0.0.6", options=b"\x01\x01\x01\x00") / TCP(sport=9, dport=10),
    ]
    for packet in packets:
        ours = decode(1, raw(packet))
        layer = packet.getlayer(TCP) or packet.getlayer(UDP)
        ip = packet.getlayer(IP) or packet.getlayer(IPv6)
        assert (ours[4], ours[5]) == (layer.sport, layer.dport)
        family = socket.AF_INET if ours[0] == 4 else socket.AF_INET6
        assert socket.inet_ntop(family, ours[1]) == ip.src
        assert ours[14] == (packet[Dot1AD].vlan if packet.haslayer(Dot1AD) else
                            packet[Dot1Q].vlan if packet.haslayer(Dot1Q) else None)


# --- DNS ----------------------------------------------------------------------------------------------------


def _message(flags: int, body: bytes, qd: int = 1, an: int = 0) -> bytes:
    return struct.pack("!HHHHHH", 0x1234, flags, qd, an, 0, 0) + body


def test_dns_compression_and_record_types() -> None:
    question = dns_name("www.example.com") + b"\x00\x01\x00\x01"
    answers = [
        (5, b"\x03cdn\xc0\x10"),  # CNAME cdn.example.com (a pointer to "example.com" in the question)
        (1, socket.inet_aton("192.0.2.1")),
        (28, socket.inet_pton(socket.AF_INET6, "2001:db8::1")),
        (15, b"\x00\x0a\x04mail\xc0\x10"),
        (16, b"\x05hello\x06 world"),
        (33, b"\x00\x01\x00\x02\x01\xbb\x03sip\xc0\x10"),
        (99, b"\x05v=spf"),
        (257, b"\x00\x05issue"),
    ]
    body = question + b"".join(b"\xc0\x0c" + struct.pack("!HHIH", kind, 1, 60, len(data)) + data
                               for kind, data in answers)
    message = dns.parse_message(_message(0x8180, body, an=len(answers)))
    assert isinstance(message, dns.DnsMessage) and message.complete and message.response
    assert message.questions == [("www.example.com", 1, 1)]
    assert [answer[3] for answer in message.answers] == [
        "cdn.example.com", "192.0.2.1", "2001:db8::1", "mail.example.com", "hello world", "sip.example.com",
        "v=spf", "<CAA> 00056973737565"]
    assert {answer[0] for answer in message.answers} == {"www.example.com"}


def test_dns_names_are_escaped() -> None:
    body = b"\x05a.b\\c" + b"\x04\x00\x07 \xff" + b"\x00" + b"\x00\x10\x00\x01"
    message = dns.parse_message(_message(0x0100, body))
    assert message.questions[0][0] == "a\\x2eb\\x5cc.\\x00\\x07\\x20\\xff"
    assert dns.parse_message(_message(0x0100, b"\x00\x00\x02\x00\x01")).questions[0][0] == "."


@pytest.mark.parametrize(("body", "reason"), [
    (b"\xc0\x0c\x00\x01\x00\x01", "DNS compression pointer loop"),
    (b"\x01a\xc0\x0e\x00\x01\x00\x01", "DNS compression pointer loop"),
    (b"\xc0\x40\x00\x01\x00\x01", "DNS compression pointer out of range"),
    (b"\x41abc\x00\x00\x01\x00\x01", "DNS label type not defined (0x40/0x80)"),
    ((b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x01\x00\x01", "DNS name longer than 255 bytes"),
    (b"\x01a\x00\x00\x01", "DNS message cut short: its records run past its end"),
])
def test_dns_malformed(body: bytes, reason: str) -> None:
    assert dns.parse_message(_message(0x0100, body)) == reason


def test_dns_chain_of_pointers_is_bounded() -> None:
    """Each pointer aims at the one before it: never a loop, but more than MAX_POINTER_JUMPS is refused."""

    def chain(length: int) -> bytes:
        message = b"\x01a\x00"
        for index in range(length):
            message += struct.pack("!H", 0xC000 | (0 if index == 0 else 3 + (index - 1) * 2))
        return message

    short, long = chain(dns.MAX_POINTER_JUMPS), chain(dns.MAX_POINTER_JUMPS + 5)
    assert dns.read_name(short, len(short) - 2) == ("a", len(short))
    with pytest.raises(dns._Bad, match="loop"):
        dns.read_name(long, len(long) - 2)


def test_dns_not_dns() -> None:
    assert dns.parse_message(b"short") is None
    assert dns.parse_message(struct.pack("!HHHHHH", 1, 0x7800, 1, 0, 0, 0)) is None  # opcode 15
    assert dns.parse_message(struct.pack("!HHHHHH", 1, 0, 200, 0, 0, 0)) is None  # 200 questions
    cut = _message(0x8180, dns_name("a.example") + b"\x00\x01\x00\x01\xc0\x0c\x00\x01", an=1)
    partial = dns.parse_message(cut, cut=True)
    assert isinstance(partial, dns.DnsMessage) and not partial.complete and partial.questions


# --- TLS: JA3 and JA4 --------------------------------------------------------------------------------------

CHROME_CIPHERS = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C,
                  0x009D, 0x002F, 0x0035]
SIGNATURES = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]


def _hello(**changes) -> tls.ClientHello:
    values = {"version": 0x0303, "ciphers": CHROME_CIPHERS, "extensions": [], "server_name": None, "groups": [],
              "point_formats": [], "signature_algorithms": SIGNATURES, "alpn": [b"h2", b"http/1.1"],
              "supported_versions": [0x0304, 0x0303], "complete": True}
    values.update(changes)
    return tls.ClientHello(**values)


def test_ja4_foxio_reference() -> None:
    """FoxIO's own test vector (rust/ja4/src/tls.rs, test_client_stats_into_out)."""
    extensions = [0x001B, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002D, 0x000D, 0x0005, 0x0023, 0x0012, 0x002B,
                  0xFF01, 0x000B, 0x000A, 0x0015]
    fingerprint, raw = tls.ja4(_hello(extensions=extensions))
    assert fingerprint == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    assert raw == ("t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,"
                   "000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601")


def test_ja3_and_ja4_of_a_chrome_hello_with_grease() -> None:
    """A published Chrome fingerprint set (JA3 text and hash, JA4), with GREASE values added where Chrome puts
    them: they change neither fingerprint."""
    extensions = [45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27]
    hello = _hello(version=771, ciphers=[0x4A4A, *CHROME_CIPHERS], extensions=[0xDADA, *extensions, 0x1A1A],
                   groups=[0x2A2A, 4588, 29, 23, 24], point_formats=[0],
                   supported_versions=[0x6A6A, 0x0304, 0x0303], signature_algorithms=SIGNATURES)
    text = tls.ja3(hello)
    assert text == ("771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
                    "45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0")
    assert hashlib.md5(text.encode()).hexdigest() == "98487aa16281980e7d1120d399efb6a4"
    assert tls.ja4(hello)[0] == "t13d1516h2_8daaf6152771_d8a2da3f94cd"
    assert tls.fingerprints(hello) == (text, "98487aa16281980e7d1120d399efb6a4",
                                       "t13d1516h2_8daaf6152771_d8a2da3f94cd", tls.ja4(hello)[1])


@pytest.mark.parametrize(("alpn", "expected"), [
    ([], "00"), ([b""], "00"), ([b"h2"], "h2"), ([b"http/1.1"], "h1"), ([b"h"], "hh"), ([b"\xab"], "ab"),
    ([b"\xab\xcd"], "ad"), ([b"\x30\xab"], "3b"), ([b"h2", b"x"], "h2"),
])
def test_ja4_alpn_characters(alpn: list[bytes], expected: str) -> None:
    assert tls.ja4(_hello(alpn=alpn))[0][8:10] == expected


def test_ja4_without_ciphers_extensions_or_signatures() -> None:
    fingerprint, raw = tls.ja4(_hello(ciphers=[], extensions=[], signature_algorithms=[], alpn=[],
                                      supported_versions=[], version=0x0301))
    assert fingerprint == "t10i000000_000000000000_000000000000"
    fingerprint, raw = tls.ja4(_hello(extensions=[0, 16, 10], signature_algorithms=[]))
    assert raw.endswith("_000a") and fingerprint.endswith("_" + hashlib.sha256(b"000a").hexdigest()[:12])
    assert fingerprint[3] == "d"


def test_ja4_counts_cap_at_99() -> None:
    fingerprint = tls.ja4(_hello(ciphers=list(range(1, 200)), extensions=list(range(1, 200))))[0]
    assert fingerprint[:10] == "t13i9999h2"


def test_parse_client_hello_fields() -> None:
    message = client_hello("sni.example", ciphers=[0x0A0A, 0x1301], alpn=[b"h2"], versions=[0x0304],
                           extra=[(0xFF01, b"\x00")])
    hello = tls.parse_client_hello(message[4:])
    assert isinstance(hello, tls.ClientHello) and hello.complete
    assert hello.server_name == "sni.example" and hello.ciphers == [0x0A0A, 0x1301]
    assert hello.extensions == [0, 10, 11, 13, 16, 43, 0xFF01]
    assert hello.alpn == [b"h2"] and hello.supported_versions == [0x0304] and tls.ja4_version(hello) == 0x0304


@pytest.mark.parametrize(("cut", "reason"), [
    (lambda m: m[:-3], "TLS ClientHello extensions length"),
    (lambda m: m[:35] + b"\x00\x03" + m[37:], "TLS ClientHello cipher suite list of odd length"),
])
def test_parse_client_hello_lies(cut, reason: str) -> None:
    body = client_hello("x.example")[4:]
    result = tls.parse_client_hello(cut(body))
    assert isinstance(result, str) and result.startswith(reason)


def test_partial_client_hello() -> None:
    body = client_hello("partial.example")[4:]
    hello = tls.parse_client_hello(body[:60], complete=False)
    assert isinstance(hello, tls.ClientHello) and not hello.complete and hello.version == 0x0303


# --- HTTP ----------------------------------------------------------------------------------------------------


def test_parse_request_and_response() -> None:
    request = http.parse_request(b"PROPFIND /dav/ HTTP/1.1\r\nhOsT: dav.example\r\nUser-Agent: a\r\n"
                                 b"User-Agent: b\r\nContent-Length: 12")
    assert request.method == "PROPFIND" and request.target == "/dav/" and request.version == "HTTP/1.1"
    assert request.headers == {"host": "dav.example", "user-agent": "a", "content-length": "12"}
    assert http.body_length(request.headers) == 12
    assert http.parse_request(b"USER anonymous") is None
    assert http.parse_request(b"GET /x") is None
    cut = http.parse_request(b"GET /only/the/start", complete=False)
    assert cut.target == "/only/the/start" and cut.version == "" and not cut.complete
    response = http.parse_response(b"HTTP/1.1 302 Found\r\nTransfer-Encoding: chunked")
    assert response.status == 302 and http.body_length(response.headers, response=True) is None
    assert http.body_length({}, response=True) is None and http.body_length({}) == 0


TARGETS = st.one_of(
    st.text(alphabet="abc/.?=&%-_~:", min_size=1, max_size=40).map(lambda text: "/" + text),
    st.sampled_from(["http://proxy.example/a/b.js?x=1", "https://h/", "*", "host.example:443", "/a.b.c/d",
                     "/trailing.", "/.hidden", "http://x.example", "/q?a.b=c"]),
)


@settings(max_examples=200, deadline=None)
@given(TARGETS, st.sampled_from(["GET", "POST", "CONNECT"]),
       st.one_of(st.none(), st.sampled_from(["h.example", "h.example:8080", "[2001:db8::1]:80", "[::1]"])),
       st.one_of(st.none(), st.just("UA/1.0")), st.one_of(st.none(), st.just("http://ref.example/")))
def test_proxy_fields_match_the_shared_helper(target, method, host, agent, referrer) -> None:
    headers = {key: value for key, value in (("host", host), ("user-agent", agent), ("referer", referrer)) if value}
    ours: dict = {}
    http.proxy_fields(ours, http.Request(method, target, "HTTP/1.1", headers, True))
    shared = shared_proxy_fields(url=target, host=host, method=method, user_agent=agent, referrer=referrer)
    assert {key: ours[key] for key in shared} == shared
    assert set(ours) - set(shared) <= {"cs-version", "r-dns"}
