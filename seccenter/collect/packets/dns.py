"""DNS messages (RFC 1035, also mDNS and LLMNR), parsed with every length and pointer checked.

``parse_message(message, cut)`` returns:

- None when the bytes do not look like DNS at all (shorter than a header, an opcode DNS does not have, more
  than ``MAX_QUESTIONS`` questions): garbage on a DNS port is part of its flow, not a malformed record;
- a string, the reason a message that looks like DNS is malformed: a compression pointer loop or one pointing
  outside the message, a label type DNS does not define, a name longer than 255 bytes, records that run past
  the end of the message;
- a ``DnsMessage`` otherwise. ``cut`` says the capture holds less than the packet carried (a snaplen cut):
  then running off the end is not malformed, the message is decoded as far as it goes (``complete`` False).

Names are text: labels joined with ``.``, bytes outside printable ASCII (and ``.``, ``\\``, space inside a
label) written as ``\\xNN`` so a name cannot smuggle control characters or fake label boundaries; the root
is ``.``. Record data is text too: addresses for A/AAAA, the name for NS/CNAME/PTR/DNAME/MX/SRV/SOA, the
strings of a TXT record joined, and for other types ``<TYPE> <hex>`` (at most ``MAX_RDATA_HEX`` bytes).
"""

from __future__ import annotations

import socket
import struct
from typing import NamedTuple

from seccenter.collect.interface import decode_line

MAX_QUESTIONS = 16
MAX_POINTER_JUMPS = 64
MAX_NAME_BYTES = 255
MAX_RDATA_HEX = 64
MAX_ANSWERS = 100
"""Answers kept per message (a response may hold thousands: the rest are counted, not listed)."""

QTYPE_NAMES = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT",
    17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY", 28: "AAAA", 29: "LOC", 33: "SRV", 35: "NAPTR", 36: "KX",
    37: "CERT", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG",
    47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP",
    59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF",
    249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI",
    257: "CAA",
}
RCODE_NAMES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED", 6: "YXDOMAIN",
    7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE",
}
_OPCODES = frozenset({0, 1, 2, 4, 5, 6})
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_NAME_RDATA = frozenset({2, 5, 12, 39, 3, 4, 7, 8, 9})  # NS, CNAME, PTR, DNAME and the obsolete MD/MF/MB/MG/MR
_OUT_OF_RANGE = "DNS compression pointer out of range"
_SAFE = bytes(range(0x21, 0x7F)).replace(b".", b"").replace(b"\\", b"")


def qtype_name(qtype: int) -> str:
    return QTYPE_NAMES.get(qtype) or f"TYPE{qtype}"


def rcode_name(rcode: int) -> str:
    return RCODE_NAMES.get(rcode) or f"RCODE{rcode}"


class DnsMessage(NamedTuple):
    trans_id: int
    flags: int
    questions: list[tuple[str, int, int]]
    """(name, qtype, qclass) per question."""
    answers: list[tuple[str, int, int, str]]
    """(name, rtype, ttl, data) per answer record (at most MAX_ANSWERS)."""
    answer_count: int
    complete: bool

    @property
    def response(self) -> bool:
        return bool(self.flags & 0x8000)

    @property
    def rcode(self) -> int:
        return self.flags & 0x000F


class _Cut(Exception):
    """The message ends before the structure it declares."""


class _Bad(Exception):
    """The message contradicts itself."""


def _label_text(label: bytes) -> str:
    if not label.translate(None, _SAFE):
        return label.decode("ascii")
    return "".join(chr(byte) if byte in _SAFE else f"\\x{byte:02x}" for byte in label)


def read_name(message: bytes, pos: int) -> tuple[str, int]:
    """The name at ``pos`` and the position after it; raises _Cut or _Bad."""
    size = len(message)
    labels: list[bytes] = []
    after = -1
    total = 0
    jumps = 0
    seen: set[int] | None = None
    while True:
        if pos >= size:
            raise _Cut
        length = message[pos]
        if length == 0:
            pos += 1
            break
        if length >= 0xC0:
            if pos + 1 >= size:
                raise _Cut
            target = (length & 0x3F) << 8 | message[pos + 1]
            if after < 0:
                after = pos + 2
            if target >= size:
                raise _Bad(_OUT_OF_RANGE)
            if seen is None:
                seen = {pos}
            if target in seen or jumps >= MAX_POINTER_JUMPS:
                raise _Bad("DNS compression pointer loop")
            seen.add(target)
            jumps += 1
            pos = target
            continue
        if length & 0xC0:
            raise _Bad("DNS label type not defined (0x40/0x80)")
        pos += 1
        end = pos + length
        if end > size:
            raise _Cut
        total += length + 1
        if total > MAX_NAME_BYTES:
            raise _Bad("DNS name longer than 255 bytes")
        labels.append(message[pos:end])
        pos = end
    after = after if after >= 0 else pos
    if not labels:
        return ".", after
    # One check for the whole name instead of one per label: deleting the safe bytes leaves only the dots
    # that join the labels when no label holds a byte that must be escaped (a "." inside a label among them).
    joined = b".".join(labels)
    if len(joined.translate(None, _SAFE)) == len(labels) - 1:
        return joined.decode("ascii"), after
    return ".".join([_label_text(label) for label in labels]), after


def _rdata(message: bytes, rtype: int, start: int, end: int) -> str:
    size = end - start
    if rtype == 1 and size == 4:
        return socket.inet_ntop(socket.AF_INET, message[start:end])
    if rtype == 28 and size == 16:
        return socket.inet_ntop(socket.AF_INET6, message[start:end])
    if rtype in _NAME_RDATA:
        return read_name(message[:end], start)[0]
    if rtype == 15 and size >= 3:
        return read_name(message[:end], start + 2)[0]
    if rtype == 33 and size >= 7:
        return read_name(message[:end], start + 6)[0]
    if rtype == 6 and size >= 1:
        return read_name(message[:end], start)[0]
    if rtype == 16 or rtype == 99:
        parts, pos = [], start
        while pos < end:
            length = message[pos]
            pos += 1
            if pos + length > end:
                raise _Bad("DNS TXT string runs past its record")
            parts.append(message[pos:pos + length])
            pos += length
        return decode_line(b"".join(parts))
    return f"<{qtype_name(rtype)}> {message[start:start + MAX_RDATA_HEX].hex()}"


def parse_message(message: bytes, cut: bool = False) -> DnsMessage | str | None:
    """One DNS message (see the module docstring); never raises."""
    if len(message) < 12:
        return None
    trans_id, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(message)
    if (flags >> 11) & 0xF not in _OPCODES or qdcount > MAX_QUESTIONS:
        return None
    questions: list[tuple[str, int, int]] = []
    answers: list[tuple[str, int, int, str]] = []
    pos = 12
    size = len(message)
    try:
        for _ in range(qdcount):
            name, pos = read_name(message, pos)
            if pos + 4 > size:
                raise _Cut
            qtype, qclass = message[pos] << 8 | message[pos + 1], message[pos + 2] << 8 | message[pos + 3]
            pos += 4
            questions.append((name, qtype, qclass & 0x7FFF))
        if ancount or nscount or arcount:  # a query has no records: its three empty sections are not walked
            for section, count in enumerate((ancount, nscount, arcount)):
                for _ in range(count):
                    name, pos = read_name(message, pos)
                    if pos + 10 > size:
                        raise _Cut
                    rtype, _rclass, ttl, length = _RR.unpack_from(message, pos)
                    pos += 10
                    end = pos + length
                    if end > size:
                        raise _Cut
                    if section == 0 and len(answers) < MAX_ANSWERS:
                        answers.append((name, rtype, ttl, _rdata(message, rtype, pos, end)))
                    pos = end
    except _Cut:
        if not cut:
            return "DNS message cut short: its records run past its end"
        return DnsMessage(trans_id, flags, questions, answers, ancount, False)
    except _Bad as bad:
        if cut and str(bad) == _OUT_OF_RANGE:  # the pointer may aim at the part the snaplen cut off
            return DnsMessage(trans_id, flags, questions, answers, ancount, False)
        return str(bad)
    return DnsMessage(trans_id, flags, questions, answers, ancount, True)
