"""Streaming readers for pcap and pcapng files: records out, damage reported, memory bounded.

``CaptureReader(stream, start)`` iterates over a capture from byte ``start`` (a record boundary that an
earlier read reported) and yields, in file order:

- a record ``(offset, data_offset, next_offset, time, linktype, data, wire_length)``: ``offset`` is where the
  record (pcap) or block (pcapng) starts, ``data_offset`` where its packet bytes start, ``next_offset`` where
  the next record starts, ``time`` seconds since the epoch (float), ``data`` the captured bytes;
- a ``Damage`` for what cannot be read: a wrong magic or a global header cut short (the file is not read on),
  a record header that cannot be true (caplen above ``MAX_CAPLEN``, a pcapng block length that is not a
  multiple of 4 or whose trailing copy differs…), after which the reader searches forward for the next
  plausible record and goes on from there (``Damage.resume``), a record whose caplen exceeds its original
  length (skipped), and a last record cut short by the end of the file. A pcapng interface whose link type
  is not decoded is reported once, as a Damage that skips nothing.

The file is read in chunks of ``CHUNK_BYTES``; no more than a chunk plus one record is held at a time.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from typing import BinaryIO

PCAP_MAGICS: dict[bytes, tuple[str, float]] = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
"""pcap magic as it appears in the file → (byte order, seconds per timestamp fraction unit)."""

PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
PCAP_HEADER_BYTES = 24
PCAP_RECORD_HEADER_BYTES = 16

MAX_CAPLEN = 256 << 10
"""A captured length above this (libpcap's own maximum snaplen) cannot be true: the framing is damaged."""
MAX_WIRE_LENGTH = 1 << 24
MAX_BLOCK_BYTES = MAX_CAPLEN + (64 << 10)
"""A pcapng block longer than a maximal packet plus room for options is taken as damage."""
CHUNK_BYTES = 1 << 20
KEEP_BYTES = 4096
"""How many bytes of a damaged record a Damage keeps (its full length is reported beside them)."""
RESYNC_SECONDS = 7 * 86400
"""A record after damage is plausible when its time lies within this many seconds of the last good one."""

SUPPORTED_LINKTYPES = frozenset({0, 1, 12, 14, 101, 108, 113, 228, 229, 276})

_SHB, _IDB, _PB, _SPB, _EPB = 0x0A0D0D0A, 1, 2, 3, 6
_BYTE_ORDER_MAGIC = 0x1A2B3C4D


class Damage:
    """Bytes of a capture that are not a readable record; ``resume`` is where reading went on (None: it did not)."""

    __slots__ = ("offset", "reason", "raw", "length", "resume")

    def __init__(self, offset: int, reason: str, raw: bytes, length: int, resume: int | None) -> None:
        self.offset = offset
        self.reason = reason
        self.raw = raw
        self.length = length
        self.resume = resume

    def __repr__(self) -> str:
        return f"Damage({self.offset}, {self.reason!r}, length={self.length}, resume={self.resume})"


Record = tuple[int, int, int, float, int, bytes, int]


def capture_format(head: bytes) -> str | None:
    """``pcap``, ``pcapng`` or None, from the first bytes of a file."""
    if head[:4] in PCAP_MAGICS:
        return "pcap"
    if head[:4] == PCAPNG_MAGIC and len(head) >= 12 and head[8:12] in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
        return "pcapng"
    if head[:4] == PCAPNG_MAGIC and len(head) < 12:
        return "pcapng"
    return None


class _Window:
    """A sliding window over the stream: ``data`` holds the bytes from file offset ``base`` on."""

    __slots__ = ("stream", "data", "base", "eof")

    def __init__(self, stream: BinaryIO, base: int) -> None:
        self.stream = stream
        self.data = b""
        self.base = base
        self.eof = False

    def fill(self, pos: int, need: int) -> None:
        """Drop the bytes before ``pos`` and read until ``need`` bytes follow it (or the stream ends)."""
        data = self.data[pos:]
        self.base += pos
        parts, have = [data], len(data)
        while have < need and not self.eof:
            more = self.stream.read(max(CHUNK_BYTES, need - have))
            if not more:
                self.eof = True
                break
            parts.append(more)
            have += len(more)
        self.data = b"".join(parts) if len(parts) > 1 else data


class CaptureReader:
    """Records of a pcap or pcapng stream from ``start`` on (see the module docstring).

    ``wait_for_tail``: a last record cut short is left for a later read (a capture still being written)
    instead of being reported. ``end`` is, after iterating, the offset just past the last record read.
    """

    def __init__(self, stream: BinaryIO, start: int = 0, wait_for_tail: bool = False) -> None:
        self.stream = stream
        self.start = start
        self.wait_for_tail = wait_for_tail
        self.format: str | None = None
        self.end = start

    def __iter__(self) -> Iterator[Record | Damage]:
        stream = self.stream
        try:
            stream.seek(0)
        except (OSError, ValueError):  # a pipe: fine when reading from its start
            if self.start:
                raise
        head = stream.read(PCAP_HEADER_BYTES)
        if len(head) < 4:
            if head:
                yield Damage(0, "capture file header cut short", head, len(head), None)
            return
        if head[:4] in PCAP_MAGICS:
            self.format = "pcap"
            yield from self._pcap(head)
        elif head[:4] == PCAPNG_MAGIC:
            self.format = "pcapng"
            yield from self._pcapng(head)
        else:
            yield Damage(0, "not a pcap or pcapng file (unknown magic)", head[:KEEP_BYTES], len(head), None)

    # --- pcap -------------------------------------------------------------------------------------------

    def _pcap(self, head: bytes) -> Iterator[Record | Damage]:
        endian, unit = PCAP_MAGICS[head[:4]]
        if len(head) < PCAP_HEADER_BYTES:
            yield Damage(0, "pcap global header cut short", head, len(head), None)
            return
        _major, _minor, _zone, _sigfigs, _snaplen, network = struct.unpack(endian + "HHiIII", head[4:])
        linktype = network & 0x0FFFFFFF  # the top bits may say whether frames carry an FCS
        start = max(self.start, PCAP_HEADER_BYTES)
        if start == PCAP_HEADER_BYTES and linktype not in SUPPORTED_LINKTYPES:
            yield Damage(0, f"link type {linktype} is not decoded: its packets are skipped", head, len(head), None)
        self.end = start
        stream = self.stream
        if start != PCAP_HEADER_BYTES:
            stream.seek(start)
        header = struct.Struct(endian + "IIII")
        unpack = header.unpack_from
        frac_limit = round(1 / unit)
        window = _Window(stream, start)
        data, pos, last_sec = b"", 0, None
        while True:
            if len(data) - pos < 16:
                window.fill(pos, 16)
                data, pos = window.data, 0
                if len(data) < 16:
                    if data:
                        yield from self._tail(window.base, data, 16, "record header")
                    return
            sec, frac, caplen, length = unpack(data, pos)
            if caplen > MAX_CAPLEN or length > MAX_WIRE_LENGTH:
                offset = window.base + pos
                found = self._resync(window, pos, lambda d, p, e, near=last_sec: _pcap_plausible(
                    d, p, e, unpack, frac_limit, near), _pcap_anchor(endian, last_sec) or _pcap_shape(endian, unit))
                data, pos = window.data, found[0]
                damage = Damage(offset, f"pcap record header cannot be true (caplen {caplen}, length {length}):"
                                f" {found[1]} bytes skipped", found[2], found[1], found[3])
                if found[3] is not None:
                    self.end = found[3]
                yield damage
                if found[3] is None:
                    return
                continue
            total = 16 + caplen
            if len(data) - pos < total:
                window.fill(pos, total)
                data, pos = window.data, 0
                if len(data) < total:
                    yield from self._tail(window.base, data, total, "record")
                    return
            offset = window.base + pos
            packet = data[pos + 16:pos + total]
            pos += total
            self.end = offset + total
            if caplen > length:
                yield Damage(offset, "pcap record caplen exceeds the packet's length",
                             data[pos - total:pos][:KEEP_BYTES], total, offset + total)
                continue
            last_sec = sec
            yield offset, offset + 16, offset + total, sec + frac * unit, linktype, packet, length

    def _tail(self, offset: int, data: bytes, need: int, what: str) -> Iterator[Damage]:
        """The end of the file cuts a record short: reported (unless waiting for the writer), never read past."""
        if not self.wait_for_tail:
            yield Damage(offset, f"{what} cut short by the end of the file ({len(data)} of {need} bytes)",
                         data[:KEEP_BYTES], len(data), None)

    def _resync(self, window: _Window, pos: int, plausible, anchor) -> tuple[int, int, bytes, int | None]:
        """Search forward from the damaged record at ``window.data[pos]`` for one that ``plausible`` accepts.

        Returns (its index in ``window.data``, bytes skipped, the first of them, its file offset or None when
        none was found before the end of the file). ``anchor`` (needles, distance) narrows the search to where
        one of those byte strings occurs at that distance into a record, or (a compiled pattern) to where the
        pattern matches, so the search runs at the speed of ``bytes.find`` or ``re``, not byte by byte.
        """
        window.fill(pos, KEEP_BYTES)
        damaged_at = window.base
        kept = window.data[:KEEP_BYTES]
        scan = 1
        while True:
            data = window.data
            end = len(data)
            while scan < end:
                if anchor.__class__ is tuple:
                    needles, at = anchor
                    hit = -1
                    for needle in needles:
                        found = data.find(needle, scan + at)
                        if found >= 0 and (hit < 0 or found < hit):
                            hit = found
                    if hit < 0:
                        scan = max(scan, end - at - 3)
                        break
                    scan = hit - at
                else:
                    match = anchor.search(data, scan)
                    if match is None:
                        scan = max(scan, end - 15)
                        break
                    scan = match.start()
                verdict = plausible(data, scan, window.eof)
                if verdict is None:
                    break
                if verdict:
                    skipped = window.base + scan - damaged_at
                    return scan, skipped, kept[:skipped], window.base + scan
                scan += 1
            if window.eof:
                return self._give_up(window, damaged_at, kept)
            window.fill(scan, MAX_BLOCK_BYTES + 64)
            scan = 0

    def _give_up(self, window: _Window, damaged_at: int, kept: bytes) -> tuple[int, int, bytes, None]:
        """No record found: the rest of the stream is skipped (read through, to say how much)."""
        skipped = window.base + len(window.data) - damaged_at
        while not window.eof:
            more = self.stream.read(CHUNK_BYTES)
            if not more:
                break
            skipped += len(more)
        window.data, window.eof = b"", True
        return 0, skipped, kept, None

    # --- pcapng -----------------------------------------------------------------------------------------

    def _pcapng(self, head: bytes) -> Iterator[Record | Damage]:
        skip_until = self.start
        window = _Window(self.stream, 0)
        window.data = head
        data, pos = head, 0
        endian = "<"
        interfaces: list[tuple[int, int, float, int]] = []  # linktype, snaplen, divisor, offset seconds
        stamp = 0.0  # a simple packet block has no time: it gets the time of the packet before it
        while True:
            if len(data) - pos < 12:
                window.fill(pos, 12)
                data, pos = window.data, 0
                if len(data) < 12:
                    if data and window.base >= skip_until:
                        yield from self._tail(window.base, data, 12, "pcapng block header")
                    return
            offset = window.base + pos
            if data[pos:pos + 4] == PCAPNG_MAGIC:
                bom = data[pos + 8:pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    endian = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    endian = ">"
                else:
                    if offset == 0:
                        yield Damage(0, "pcapng section header with an unknown byte-order magic", data[:KEEP_BYTES],
                                     len(data), None)
                        return
                    found = self._resync(window, pos, lambda d, p, e, o=endian: _pcapng_plausible(d, p, e, o),
                                         _pcapng_anchor(endian))
                    data, pos = window.data, found[0]
                    if offset >= skip_until:
                        yield Damage(offset, f"pcapng section header with an unknown byte-order magic:"
                                     f" {found[1]} bytes skipped", found[2], found[1], found[3])
                    if found[3] is None:
                        return
                    continue
            block_type, length = struct.unpack_from(endian + "II", data, pos)
            if length < 12 or length % 4 or length > MAX_BLOCK_BYTES:
                if offset == 0:
                    yield Damage(0, f"pcapng section header length {length} cannot be true", data[:KEEP_BYTES],
                                 len(data), None)
                    return
                found = self._resync(window, pos, lambda d, p, e, o=endian: _pcapng_plausible(d, p, e, o),
                                     _pcapng_anchor(endian))
                data, pos = window.data, found[0]
                if offset >= skip_until:
                    yield Damage(offset, f"pcapng block length {length} cannot be true: {found[1]} bytes skipped",
                                 found[2], found[1], found[3])
                if found[3] is None:
                    return
                continue
            if len(data) - pos < length:
                window.fill(pos, length)
                data, pos = window.data, 0
                if len(data) < length:
                    if window.base >= skip_until:
                        yield from self._tail(window.base, data, length, "pcapng block")
                    return
            if struct.unpack_from(endian + "I", data, pos + length - 4)[0] != length:
                if offset == 0:
                    yield Damage(0, "pcapng section header's trailing length differs", data[:KEEP_BYTES],
                                 len(data), None)
                    return
                found = self._resync(window, pos, lambda d, p, e, o=endian: _pcapng_plausible(d, p, e, o),
                                     _pcapng_anchor(endian))
                data, pos = window.data, found[0]
                if offset >= skip_until:
                    yield Damage(offset, f"pcapng block's trailing length differs from its length: {found[1]} bytes"
                                 " skipped", found[2], found[1], found[3])
                if found[3] is None:
                    return
                continue
            start = pos
            pos += length
            next_offset = offset + length
            if block_type in (_EPB, _PB):
                if offset < skip_until:
                    continue
                self.end = next_offset
                if block_type == _EPB:
                    if length < 32:
                        yield Damage(offset, "pcapng packet block too short", data[start:pos][:KEEP_BYTES], length,
                                     next_offset)
                        continue
                    interface, high, low, caplen, wire = struct.unpack_from(endian + "IIIII", data, start + 8)
                else:
                    if length < 32:
                        yield Damage(offset, "pcapng packet block too short", data[start:pos][:KEEP_BYTES], length,
                                     next_offset)
                        continue
                    interface, _drops, high, low, caplen, wire = struct.unpack_from(endian + "HHIIII", data,
                                                                                    start + 8)
                if caplen > length - 32:
                    yield Damage(offset, "pcapng packet caplen exceeds its block", data[start:pos][:KEEP_BYTES],
                                 length, next_offset)
                    continue
                if caplen > MAX_CAPLEN or caplen > wire:
                    yield Damage(offset, "pcapng packet caplen exceeds the packet's length" if caplen > wire else
                                 f"pcapng packet caplen {caplen} cannot be true", data[start:pos][:KEEP_BYTES],
                                 length, next_offset)
                    continue
                if interface >= len(interfaces):
                    yield Damage(offset, f"pcapng packet names interface {interface}, which is not described",
                                 data[start:pos][:KEEP_BYTES], length, next_offset)
                    continue
                linktype, _snaplen, divisor, shift = interfaces[interface]
                stamp = (high << 32 | low) / divisor + shift
                yield (offset, offset + 28, next_offset, stamp, linktype, data[start + 28:start + 28 + caplen],
                       wire)
            elif block_type == _SPB:
                if offset < skip_until:
                    continue
                self.end = next_offset
                if length < 16 or not interfaces:
                    yield Damage(offset, "pcapng simple packet block without an interface or too short",
                                 data[start:pos][:KEEP_BYTES], length, next_offset)
                    continue
                wire = struct.unpack_from(endian + "I", data, start + 8)[0]
                linktype, snaplen, divisor, shift = interfaces[0]
                caplen = min(wire, length - 16, snaplen or MAX_CAPLEN)
                yield offset, offset + 12, next_offset, stamp, linktype, data[start + 12:start + 12 + caplen], wire
            elif block_type == _SHB:
                interfaces = []
                if offset >= skip_until:
                    self.end = next_offset
            elif block_type == _IDB:
                if length < 20:
                    if offset >= skip_until:
                        self.end = next_offset
                        yield Damage(offset, "pcapng interface block too short", data[start:pos][:KEEP_BYTES],
                                     length, next_offset)
                    interfaces.append((-1, 0, 1e6, 0))
                    continue
                linktype, _reserved, snaplen = struct.unpack_from(endian + "HHI", data, start + 8)
                divisor, shift = _interface_options(data[start + 16:pos - 4], endian)
                interfaces.append((linktype, snaplen, divisor, shift))
                if offset >= skip_until:
                    self.end = next_offset
                    if linktype not in SUPPORTED_LINKTYPES:
                        yield Damage(offset, f"link type {linktype} is not decoded: its packets are skipped",
                                     data[start:pos][:KEEP_BYTES], length, next_offset)
            elif offset >= skip_until:
                self.end = next_offset


def _interface_options(options: bytes, endian: str) -> tuple[float, int]:
    """``if_tsresol`` (as a divisor) and ``if_tsoffset`` (seconds) from an interface block's options."""
    divisor, shift, pos = 1e6, 0, 0
    while pos + 4 <= len(options):
        code, size = struct.unpack_from(endian + "HH", options, pos)
        value = options[pos + 4:pos + 4 + size]
        if code == 0:
            break
        if code == 9 and size >= 1:
            resolution = value[0]
            divisor = float(2 ** (resolution & 0x7F)) if resolution & 0x80 else float(10 ** min(resolution, 30))
        elif code == 14 and size >= 8:
            shift = struct.unpack_from(endian + "q", value)[0]
        pos += 4 + ((size + 3) & ~3)
    return divisor, shift


def _pcap_anchor(endian: str, last_sec: int | None) -> tuple[list[bytes], int] | None:
    """The high half of the last good timestamp (and the next value), where it sits in a record header."""
    if last_sec is None:
        return None
    high = last_sec >> 16
    halves = {high, min(high + 1, 0xFFFF)}
    if endian == "<":
        return [struct.pack("<H", value) for value in sorted(halves)], 2
    return [struct.pack(">H", value) for value in sorted(halves)], 0


def _pcap_shape(endian: str, unit: float) -> re.Pattern[bytes]:
    """Where a pcap record header may start when no good timestamp is known: the top bytes of its fraction,
    caplen (at most 256 KiB) and original length (under 16 MiB) must be small."""
    fraction = rb"[\x00-\x0f]\x00" if unit > 1e-7 else rb"[\x00-\x3b]"
    if endian == "<":
        shape = rb".{6}" + fraction if unit > 1e-7 else rb".{7}" + fraction
        return re.compile(rb"(?s)(?=" + shape + rb".{2}[\x00-\x04]\x00.{3}\x00)")
    fraction = rb"\x00[\x00-\x0f]" if unit > 1e-7 else rb"[\x00-\x3b]."
    return re.compile(rb"(?s)(?=.{4}" + fraction + rb".{2}\x00[\x00-\x04].{2}\x00.{3})")


def _pcap_plausible(data: bytes, pos: int, eof: bool, unpack, frac_limit: int,
                    last_sec: int | None) -> bool | None:
    """Whether a pcap record header at ``pos`` looks real, and so does the one after it (None: need more bytes)."""
    if pos + 16 > len(data):
        return False if eof else None
    sec, frac, caplen, length = unpack(data, pos)
    if not _pcap_header_ok(sec, frac, caplen, length, frac_limit, last_sec):
        return False
    after = pos + 16 + caplen
    if after + 16 > len(data):
        return after <= len(data) if eof else None
    sec2, frac2, caplen2, length2 = unpack(data, after)
    return _pcap_header_ok(sec2, frac2, caplen2, length2, frac_limit, sec)


def _pcap_header_ok(sec: int, frac: int, caplen: int, length: int, frac_limit: int, near: int | None) -> bool:
    if frac >= frac_limit or caplen == 0 or caplen > MAX_CAPLEN or caplen > length or length > MAX_WIRE_LENGTH:
        return False
    return near is None or abs(sec - near) <= RESYNC_SECONDS


def _pcapng_anchor(endian: str) -> tuple[list[bytes], int]:
    return [struct.pack(endian + "I", _EPB), PCAPNG_MAGIC], 0


def _pcapng_plausible(data: bytes, pos: int, eof: bool, endian: str) -> bool | None:
    if pos + 12 > len(data):
        return False if eof else None
    block_type, length = struct.unpack_from(endian + "II", data, pos)
    if block_type == _SHB:
        return data[pos + 8:pos + 12] in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d")
    if block_type not in (_EPB, _IDB, _SPB, _PB) or length < 12 or length % 4 or length > MAX_BLOCK_BYTES:
        return False
    if pos + length > len(data):
        return False if eof else None
    return struct.unpack_from(endian + "I", data, pos + length - 4)[0] == length
