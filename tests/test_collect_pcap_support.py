"""Builders for small captures written byte by byte (shared by the test_collect_pcap* modules), and the helpers
that read them through the collector. Holds no tests itself."""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Iterable

from seccenter.collect.interface import CollectOptions, Position
from seccenter.collect.pcap import PcapCollector
from seccenter.events import Event, Malformed

T0 = 1_700_000_000.0

# --- layers -------------------------------------------------------------------------------------------------


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ip4(text: str) -> bytes:
    return socket.inet_aton(text)


def ip6(text: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, text)


def ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int = 1, flags: int = 0x4000,
         total: int | None = None, options: bytes = b"") -> bytes:
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total if total is not None else ihl * 4 + len(payload),
                         ident & 0xFFFF, flags, 64, proto, 0, ip4(src), ip4(dst)) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(src: str, dst: str, next_header: int, payload: bytes, extensions: bytes = b"") -> bytes:
    body = extensions + payload
    return struct.pack("!IHBB16s16s", 6 << 28, len(body), next_header, 64, ip6(src), ip6(dst)) + body


def tcp(sport: int, dport: int, seq: int, flags: int, data: bytes = b"", ack: int = 0, options: bytes = b"") -> bytes:
    offset = (5 + len(options) // 4) << 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack, offset, flags, 65535, 0, 0) + options + data


def udp(sport: int, dport: int, data: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def icmp_echo(kind: int, ident: int, seq: int, data: bytes = b"ping") -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, seq) + data


MAC_A = bytes.fromhex("001122334455")
MAC_B = bytes.fromhex("66778899aabb")


def ether(payload: bytes, ethertype: int = 0x0800, src: bytes = MAC_A, dst: bytes = MAC_B) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def vlan_frame(payload: bytes, vlans: list[int], ethertype: int = 0x0800) -> bytes:
    """Ethernet with 802.1Q (one tag) or QinQ (outer 802.1ad 0x88a8, then 0x8100) tags."""
    header = MAC_B + MAC_A
    types = ([0x88A8] + [0x8100] * (len(vlans) - 1)) if len(vlans) > 1 else [0x8100]
    for tag_type, vlan in zip(types, vlans, strict=True):
        header += struct.pack("!HH", tag_type, vlan)
    return header + struct.pack("!H", ethertype) + payload


def arp(operation: int, sender_mac: bytes, sender_ip: str, target_mac: bytes, target_ip: str) -> bytes:
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, operation, sender_mac, ip4(sender_ip), target_mac,
                       ip4(target_ip))


def dns_name(name: str) -> bytes:
    if name in ("", "."):
        return b"\0"
    return b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"


def dns_query(qid: int, name: str, qtype: int = 1) -> bytes:
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", qtype, 1)


def dns_response(qid: int, name: str, qtype: int, answers: list[bytes], rcode: int = 0) -> bytes:
    """Answers are rdata for records named by a pointer to the question (offset 12)."""
    body = dns_name(name) + struct.pack("!HH", qtype, 1)
    for rdata in answers:
        body += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 300, len(rdata)) + rdata
    return struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(answers), 0, 0) + body


def client_hello(sni: str | None = "example.org", ciphers: Iterable[int] = (0x1301, 0xC02F, 0x002F),
                 alpn: Iterable[bytes] = (b"h2", b"http/1.1"), versions: Iterable[int] = (0x0304, 0x0303),
                 groups: Iterable[int] = (0x001D, 0x0017), signatures: Iterable[int] = (0x0403, 0x0804),
                 extra: Iterable[tuple[int, bytes]] = ()) -> bytes:
    """A ClientHello handshake message (type, length, body)."""
    extensions = []
    if sni is not None:
        name = sni.encode()
        extensions.append((0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name))
    groups = list(groups)
    extensions.append((10, struct.pack("!H", 2 * len(groups)) + b"".join(struct.pack("!H", g) for g in groups)))
    extensions.append((11, b"\x01\x00"))
    signatures = list(signatures)
    extensions.append((13, struct.pack("!H", 2 * len(signatures))
                       + b"".join(struct.pack("!H", s) for s in signatures)))
    alpn = list(alpn)
    if alpn:
        names = b"".join(bytes([len(value)]) + value for value in alpn)
        extensions.append((16, struct.pack("!H", len(names)) + names))
    versions = list(versions)
    if versions:
        extensions.append((43, bytes([2 * len(versions)]) + b"".join(struct.pack("!H", v) for v in versions)))
    extensions.extend(extra)
    blob = b"".join(struct.pack("!HH", kind, len(data)) + data for kind, data in extensions)
    ciphers = list(ciphers)
    body = (b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!H", 2 * len(ciphers))
            + b"".join(struct.pack("!H", c) for c in ciphers) + b"\x01\x00" + struct.pack("!H", len(blob)) + blob)
    return b"\x01" + struct.pack("!I", len(body))[1:] + body


def tls_record(handshake: bytes, version: int = 0x0301) -> bytes:
    return struct.pack("!BHH", 22, version, len(handshake)) + handshake


# --- capture files ------------------------------------------------------------------------------------------


def pcap(frames: Iterable[bytes | tuple[float, bytes]], linktype: int = 1, endian: str = "<", nano: bool = False,
         step: float = 0.001) -> bytes:
    """A classic pcap; frames are bytes (times T0, T0+step…) or (time, bytes)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, linktype)]
    for index, frame in enumerate(frames):
        stamp, data = frame if isinstance(frame, tuple) else (T0 + index * step, frame)
        seconds = int(stamp)
        fraction = round((stamp - seconds) * (1e9 if nano else 1e6))
        out.append(struct.pack(endian + "IIII", seconds, fraction, len(data), len(data)) + data)
    return b"".join(out)


def pcap_record(data: bytes, stamp: float = T0, caplen: int | None = None, length: int | None = None) -> bytes:
    seconds = int(stamp)
    return struct.pack("<IIII", seconds, round((stamp - seconds) * 1e6), len(data) if caplen is None else caplen,
                       len(data) if length is None else length) + data


def pcap_header(linktype: int = 1) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)


def _block(kind: int, body: bytes, endian: str = "<") -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack(endian + "II", kind, length) + body + struct.pack(endian + "I", length)


def shb(endian: str = "<") -> bytes:
    return _block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1), endian)


def idb(linktype: int = 1, tsresol: int | None = None, endian: str = "<") -> bytes:
    options = b""
    if tsresol is not None:
        options = struct.pack(endian + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0" + struct.pack(endian + "HH", 0, 0)
    return _block(1, struct.pack(endian + "HHI", linktype, 0, 0) + options, endian)


def epb(data: bytes, stamp: float = T0, interface: int = 0, units: int = 1_000_000, endian: str = "<") -> bytes:
    ticks = round(stamp * units)
    return _block(6, struct.pack(endian + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
                  + data, endian)


def spb(data: bytes, endian: str = "<") -> bytes:
    return _block(3, struct.pack(endian + "I", len(data)) + data, endian)


def pb(data: bytes, stamp: float = T0, interface: int = 0, endian: str = "<") -> bytes:
    ticks = round(stamp * 1_000_000)
    return _block(2, struct.pack(endian + "HHIIII", interface, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data),
                                 len(data)) + data, endian)


# --- reading ------------------------------------------------------------------------------------------------


def read(data: bytes, position: Position | None = None, collector: PcapCollector | None = None,
         options: CollectOptions | None = None) -> list[Event | Malformed]:
    collector = collector or PcapCollector(options)
    return list(collector.parse(io.BytesIO(data), "test.pcap", position or Position()))


def events(records: list[Event | Malformed], kind: str | None = None) -> list[Event]:
    return [r for r in records if isinstance(r, Event) and (kind is None or r.logsource.service == kind)]


def malformed(records: list[Event | Malformed]) -> list[Malformed]:
    return [r for r in records if isinstance(r, Malformed)]


def kinds(records: list[Event | Malformed]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        name = record.logsource.service if isinstance(record, Event) else "malformed"
        counts[name] = counts.get(name, 0) + 1  # type: ignore[index]
    return counts
