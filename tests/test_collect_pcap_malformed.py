"""pcap collector on bad input: damaged files, lying headers and hostile payloads are counted as malformed (or,
when they never claimed to be a protocol, are just flow payload); nothing raises, whatever the bytes."""

from __future__ import annotations

import io
import os
import random
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_collect_pcap_support import (
    T0,
    client_hello,
    dns_query,
    epb,
    ether,
    events,
    idb,
    ipv4,
    ipv6,
    kinds,
    malformed,
    pcap,
    pcap_header,
    pcap_record,
    read,
    shb,
    tcp,
    tls_record,
    udp,
    vlan_frame,
)

from seccenter.collect.interface import Position
from seccenter.collect.packets import dns, tls
from seccenter.collect.packets.capture import CaptureReader
from seccenter.collect.packets.decode import decode
from seccenter.collect.packets.flows import Analyzer
from seccenter.collect.pcap import PcapCollector
from seccenter.events import Event, Malformed

QUERY = ether(ipv4("10.1.1.1", "10.2.2.2", 17, udp(40000, 53, dns_query(7, "ok.example"))))


def reasons(records) -> list[str]:
    return [record.reason for record in malformed(records)]


# --- the file ------------------------------------------------------------------------------------------------


def test_wrong_magic_is_one_malformed_record() -> None:
    position = Position()
    records = read(b"GIF89a" + bytes(100), position)
    assert reasons(records) == ["not a pcap or pcapng file (unknown magic)"]
    assert records[0].origin.offset == 0 and records[0].raw.startswith(b"GIF89a")
    assert position.offset == 0


def test_global_header_cut_short() -> None:
    records = read(pcap_header()[:10])
    assert reasons(records) == ["pcap global header cut short"]


def test_empty_file_and_header_only() -> None:
    assert read(b"") == []
    position = Position()
    assert read(pcap_header(), position) == []
    assert position.offset == 24


def test_record_header_cut_short() -> None:
    position = Position()
    records = read(pcap([QUERY]) + b"\x01" * 10, position)
    assert kinds(records) == {"dns": 1, "flow": 1, "malformed": 1}
    assert reasons(records) == ["record header cut short by the end of the file (10 of 16 bytes)"]
    assert position.offset == len(pcap([QUERY]))  # not past the record being written


def test_record_cut_mid_packet() -> None:
    data = pcap([QUERY, QUERY])
    position = Position()
    records = read(data[:-5], position)
    assert len(events(records, "dns")) == 1
    (bad,) = malformed(records)
    assert bad.reason.startswith("record cut short by the end of the file")
    assert bad.origin.offset == len(pcap([QUERY])) == position.offset


def test_caplen_above_length_is_skipped() -> None:
    data = pcap_header() + pcap_record(QUERY, length=len(QUERY) - 1) + pcap_record(QUERY, T0 + 1)
    records = read(data)
    assert reasons(records) == ["pcap record caplen exceeds the packet's length"]
    assert len(events(records, "dns")) == 1


def test_absurd_caplen_resynchronises_on_the_next_record() -> None:
    good = [pcap_record(QUERY, T0 + n) for n in range(3)]
    broken = struct.pack("<IIII", int(T0) + 1, 0, 10_000_000, 10_000_000) + os.urandom(700)
    data = pcap_header() + good[0] + broken + good[1] + good[2]
    position = Position()
    records = read(data, position)
    (bad,) = malformed(records)
    assert bad.reason == (f"pcap record header cannot be true (caplen 10000000, length 10000000): "
                          f"{len(broken)} bytes skipped")
    assert bad.origin.offset == 24 + len(good[0]) and bad.raw == broken[:4096]
    assert len(events(records, "dns")) == 3
    assert position.offset == len(data)


def test_absurd_caplen_in_the_first_record() -> None:
    broken = struct.pack("<IIII", int(T0), 0, 1 << 30, 60) + b"\xee" * 333
    data = pcap_header() + broken + pcap_record(QUERY, T0) + pcap_record(QUERY, T0 + 1)
    records = read(data)
    assert [r.split(":")[1].strip() for r in reasons(records)] == [f"{len(broken)} bytes skipped"]
    assert len(events(records, "dns")) == 2


@pytest.mark.parametrize(("endian", "nano"), [("<", False), (">", False), ("<", True), (">", True)])
def test_resynchronising_in_every_pcap_flavour(endian: str, nano: bool) -> None:
    good = pcap([QUERY, QUERY, QUERY], endian=endian, nano=nano)
    header, records = good[:24], good[24:]
    size = len(records) // 3
    broken = struct.pack(endian + "IIII", 0xFFFFFFFF, 0xFFFFFFFF, 1 << 30, 1 << 30) + random.Random(3).randbytes(5000)
    records_found = read(header + broken + records[size:])
    assert [r.split(": ")[1] for r in reasons(records_found)] == [f"{len(broken)} bytes skipped"]
    assert len(events(records_found, "dns")) == 2


def test_garbage_to_the_end_is_skipped_in_one_record() -> None:
    tail = struct.pack("<IIII", int(T0), 0, 1 << 30, 60) + os.urandom(5000)
    position = Position()
    records = read(pcap([QUERY]) + tail, position)
    assert reasons(records) == [f"pcap record header cannot be true (caplen {1 << 30}, length 60): "
                                f"{len(tail)} bytes skipped"]
    assert position.offset == len(pcap([QUERY]))


def test_junk_after_a_valid_header_is_streamed() -> None:
    junk = random.Random(7).randbytes(3 << 20)
    junk = struct.pack("<IIII", 1, 0, 1 << 29, 1) + junk
    started = time.perf_counter()
    records = read(pcap_header() + junk)
    assert time.perf_counter() - started < 20
    assert len(records) <= 3 and all(isinstance(r, Malformed | Event) for r in records)


def test_unknown_link_type_is_reported_once() -> None:
    records = read(pcap([QUERY, QUERY], linktype=127))
    assert reasons(records) == ["link type 127 is not decoded: its packets are skipped"]


def test_pcapng_damaged_blocks() -> None:
    good = epb(QUERY, T0)
    bad_length = struct.pack("<II", 6, 30) + bytes(22)  # not a multiple of 4
    bad_trailer = bytearray(epb(QUERY, T0 + 1))
    bad_trailer[-4:] = struct.pack("<I", 999)
    unknown_interface = epb(QUERY, T0 + 2, interface=5)
    data = (shb() + idb() + good + bad_length + epb(QUERY, T0 + 0.5) + bytes(bad_trailer) + unknown_interface
            + epb(QUERY, T0 + 3))
    position = Position()
    records = read(data, position)
    found = reasons(records)
    assert found[0] == f"pcapng block length 30 cannot be true: {len(bad_length)} bytes skipped"
    assert found[1] == f"pcapng block's trailing length differs from its length: {len(bad_trailer)} bytes skipped"
    assert found[2] == "pcapng packet names interface 5, which is not described"
    assert len(found) == 3
    assert len(events(records, "dns")) == 3
    assert position.offset == len(data)


def test_pcapng_section_header_damaged() -> None:
    assert reasons(read(b"\x0a\x0d\x0d\x0a" + bytes(8) + b"\x01\x02\x03\x04" + bytes(20))) == [
        "pcapng section header with an unknown byte-order magic"]


# --- the packets -------------------------------------------------------------------------------------------


def test_headers_cut_short_are_malformed() -> None:
    ip_header = ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1, 2, 3, 0x02))
    frames = [
        b"\x00\x11\x22\x33",  # Ethernet
        ether(ip_header[:12]),  # IPv4
        ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1, 2, 3, 0x02)[:12])),  # TCP
        ether(ipv4("10.0.0.1", "10.0.0.2", 17, b"\x00\x35\x00")),  # UDP
        ether(ipv6("2001:db8::1", "2001:db8::2", 6, b"")[:30], 0x86DD),  # IPv6
        vlan_frame(b"", [5])[:14],  # VLAN tag
        ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + bytes(6), 0x0806),  # ARP body
        ether(b"\x45" + bytes(19)[:3]),  # IPv4 again, shorter
        ether(bytes([0x42]) + bytes(30)),  # IPv4 header length below 20
        ether(ipv4("10.0.0.1", "10.0.0.2", 6, struct.pack("!HHIIBBHHH", 1, 2, 3, 0, 0x20, 2, 0, 0, 0))),  # offset 8
    ]
    records = read(pcap(frames))
    assert reasons(records) == [
        "Ethernet header cut short", "IPv4 header cut short", "TCP header cut short", "UDP header cut short",
        "IPv6 header cut short", "VLAN tag cut short", "ARP body cut short", "IPv4 header cut short",
        "IPv4 header length below 20 bytes", "TCP data offset below 20 bytes"]
    offsets = [record.origin.offset for record in malformed(records)]
    assert offsets == sorted(offsets) and offsets[0] == 24
    assert not events(records)


def test_snaplen_cut_payloads_decode_what_is_there() -> None:
    request = b"GET /a/very/long/path/that/the/snaplen/cuts HTTP/1.1\r\nHost: cut.example\r\n\r\n"
    http_frame = ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 80, 1, 0x18, request)))
    dns_frame = ether(ipv4("10.0.0.1", "10.0.0.53", 17, udp(40001, 53, dns_query(3, "cut.example")
                                                             + bytes(40))))
    data = (pcap_header() + pcap_record(http_frame[:80], caplen=80, length=len(http_frame))
            + pcap_record(dns_frame[:75], T0 + 1, caplen=75, length=len(dns_frame)))
    records = read(data)
    assert not malformed(records)
    (request_event,) = events(records, "http")
    assert request_event.fields["c-uri"].startswith("/a/very") and request_event.fields["http_truncated"]
    (query,) = events(records, "dns")
    assert query.fields["query"] == "cut.example" and "dns_truncated" not in query.fields  # the question is whole
    flows = {e.fields["dst_port"]: e for e in events(records, "flow")}
    assert flows[80].fields["orig_bytes"] == len(request)  # counted as the header declares


def _dns_frame(message: bytes, port: int = 53) -> bytes:
    return ether(ipv4("10.0.0.1", "10.0.0.53", 17, udp(40000, port, message)))


def test_dns_pointer_loop_and_out_of_range() -> None:
    header = struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0)
    loop = header + b"\x03abc\xc0\x0c" + b"\x00\x01\x00\x01"  # points back at itself
    far = header + b"\xc0\xff" + b"\x00\x01\x00\x01"
    two_step = header + b"\xc0\x12\x00\x01\x00\x01" + b"\xc0\x0c"  # 12 -> 18 -> 12
    records = read(pcap([_dns_frame(loop), _dns_frame(far), _dns_frame(two_step)]))
    assert reasons(records) == ["DNS compression pointer loop", "DNS compression pointer out of range",
                                "DNS compression pointer loop"]
    assert not events(records, "dns") and len(events(records, "flow")) == 1


def test_dns_records_running_past_the_message() -> None:
    lying = struct.pack("!HHHHHH", 1, 0x8180, 1, 3, 0, 0) + b"\x01a\x00\x00\x01\x00\x01"
    assert reasons(read(pcap([_dns_frame(lying)]))) == ["DNS message cut short: its records run past its end"]


def test_garbage_on_well_known_ports_is_just_payload() -> None:
    garbage = bytes(range(256)) * 2
    frames = [
        _dns_frame(b"\xff" * 40),
        _dns_frame(b"hi"),
        ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 80, 1, 0x18, garbage))),
        ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40001, 443, 1, 0x18, garbage))),
        ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40002, 443, 1, 0x18, b"\x16\x03"))),
        ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40003, 22, 1, 0x18, b"SSH" + garbage))),
    ]
    records = read(pcap(frames))
    assert kinds(records) == {"flow": 5}  # the two datagrams to port 53 are one flow


def test_tls_records_with_lying_lengths() -> None:
    hello = client_hello("liar.example")
    too_long = struct.pack("!BHH", 22, 0x0301, 20000) + hello
    zero = struct.pack("!BHH", 22, 0x0301, 0) + hello
    inner = bytearray(tls_record(hello))
    inner[-5] = 0x40  # the supported_versions list length no longer fits its extension
    session = bytearray(tls_record(hello))
    session[5 + 4 + 34] = 200  # a session id of 200 bytes
    frames = [ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(41000 + n, 443, 1, 0x18, bytes(payload))))
              for n, payload in enumerate([too_long, zero, inner, session])]
    records = read(pcap(frames))
    assert reasons(records) == [
        "TLS record length 20000 exceeds what TLS allows (18432)",
        "TLS handshake record of length 0",
        "TLS supported_versions length disagrees with its extension",
        "TLS ClientHello session id of 200 bytes (at most 32)"]
    assert not events(records, "tls") and len(events(records, "flow")) == 4


def test_malformed_origins_point_into_the_file() -> None:
    data = pcap([QUERY, _dns_frame(struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01")])
    (bad,) = malformed(read(data))
    record = len(pcap([QUERY]))
    assert record < bad.origin.offset < len(data)  # the DNS message's first byte, inside its record
    assert bad.origin.line is None and bad.raw_length == len(bad.raw)


def test_parsers_hold_a_bounded_number_of_partial_messages(monkeypatch) -> None:
    from seccenter.collect.packets import flows

    monkeypatch.setattr(flows, "MAX_HELD", 1)
    frames = []
    for port in (41000, 41001):
        record = tls_record(client_hello(f"p{port}.example"))
        frames.append(ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(port, 443, 1, 0x18, record[:100]))))
    for port in (41000, 41001):
        record = tls_record(client_hello(f"p{port}.example"))
        frames.append(ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(port, 443, 101, 0x18, record[100:]))))
    collector = PcapCollector()
    records = read(pcap(frames), collector=collector)
    hellos = {event.fields["tls.sni"]: event for event in events(records, "tls")}
    assert "tls.ja4" in hellos["p41000.example"].fields  # waited for its second segment
    assert hellos["p41001.example"].fields["tls.truncated"]  # no room: decoded from its first segment
    assert collector.stats["unbuffered"] == 1


# --- fuzzing -------------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 127]


@pytest.mark.reliability
@FUZZ
@given(st.sampled_from(LINKTYPES), st.binary(max_size=300))
def test_fuzz_decode_never_raises(linktype: int, data: bytes) -> None:
    result = decode(linktype, data)
    assert result is None or isinstance(result, str | tuple)


@pytest.mark.reliability
@FUZZ
@given(st.binary(max_size=200), st.sampled_from([b"", QUERY[:34], ether(b"")[:14] + b"\x45\x00", QUERY[:42]]))
def test_fuzz_packets_through_the_analyzer(tail: bytes, head: bytes) -> None:
    analyzer = Analyzer("fuzz")
    for linktype in (1, 101, 113):
        analyzer.packet(24, 40, T0, linktype, head + tail)
        analyzer.packet(100, 116, T0 + 70, linktype, tail)
    analyzer.finish()
    assert all(isinstance(record, Event | Malformed) for record in analyzer.out)
    assert analyzer.held == 0 and not analyzer.flows


@pytest.mark.reliability
@FUZZ
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_dns_messages(message: bytes, cut: bool) -> None:
    result = dns.parse_message(message, cut)
    assert result is None or isinstance(result, str | dns.DnsMessage)


@pytest.mark.reliability
@FUZZ
@given(st.binary(min_size=12, max_size=300))
def test_fuzz_dns_messages_with_a_plausible_header(body: bytes) -> None:
    message = struct.pack("!HHHHHH", 1, 0x8180, 1, 2, 1, 1) + body
    result = dns.parse_message(message)
    assert result is None or isinstance(result, str | dns.DnsMessage)


@pytest.mark.reliability
@FUZZ
@given(st.binary(max_size=600), st.booleans())
def test_fuzz_client_hello_bodies(body: bytes, complete: bool) -> None:
    result = tls.parse_client_hello(body, complete)
    assert isinstance(result, str | tls.ClientHello)
    if isinstance(result, tls.ClientHello) and result.complete:
        tls.fingerprints(result)


@pytest.mark.reliability
@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=5))
def test_fuzz_tls_records(chunks: list[bytes]) -> None:
    assembler = tls.HelloAssembler()
    for chunk in [b"\x16\x03\x01" + (chunks[0] if chunks else b""), *chunks[1:]]:
        result = assembler.feed(chunk)
        assert isinstance(result, int | str | tls.ClientHello)
        if not isinstance(result, int) or result == tls.NOT_HELLO:
            break
    assembler.partial()


@pytest.mark.reliability
@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_whole_files(data: bytes) -> None:
    for prefix in (b"", pcap_header(), shb() + idb()):
        position = Position()
        records = list(PcapCollector().parse(io.BytesIO(prefix + data), "fuzz", position))
        assert all(isinstance(record, Event | Malformed) for record in records)
        assert 0 <= position.offset <= len(prefix + data)


@pytest.mark.reliability
@FUZZ
@given(st.lists(st.tuples(st.integers(0, 3), st.binary(max_size=120)), max_size=12))
def test_fuzz_tcp_streams(segments: list[tuple[int, bytes]]) -> None:
    """Segments with payloads from the protocols' first bytes on, sent in any order and overlap."""
    starts = [b"GET / HTTP/1.1\r\n", b"\x16\x03\x01\x00\x40\x01\x00\x00\x3c", b"SSH-2.0-", b"HTTP/1.1 200 OK\r\n"]
    frames, seq = [], 1000
    for index, (kind, payload) in enumerate(segments):
        data = starts[kind] + payload if index % 2 == 0 else payload
        frames.append(ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 80 if kind else 53, seq, 0x18, data))))
        seq += len(data) - (kind * 7)
    records = read(pcap(frames))
    assert all(isinstance(record, Event | Malformed) for record in records)


def test_capture_reader_on_a_stream_of_junk_keeps_memory_bounded() -> None:
    class Endless(io.RawIOBase):
        """Six MiB of junk after a pcap header, read in small pieces."""

        def __init__(self) -> None:
            self.left = 6 << 20
            self.head = pcap_header()
            self.largest = 0

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, offset: int, whence: int = 0) -> int:
            return offset

        def readinto(self, buffer) -> int:
            if self.head:
                size = min(len(buffer), len(self.head))
                buffer[:size] = self.head[:size]
                self.head = self.head[size:]
                return size
            size = min(len(buffer), self.left, 1 << 16)
            buffer[:size] = b"\xa5" * size
            self.left -= size
            self.largest = max(self.largest, size)
            return size

    stream = Endless()
    items = list(CaptureReader(io.BufferedReader(stream)))
    assert len(items) == 1 and items[0].resume is None
