"""What every collector offers, and the shared machinery for line-based formats."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import BinaryIO

from seccenter.events import Event, Malformed, Origin

MAX_LINE_BYTES = 1 << 20
"""Longer lines are quarantined (their first MAX_LINE_BYTES kept) instead of being held in memory whole."""

QUARANTINE_KEEP_BYTES = 64 << 10
"""How much of a malformed record the quarantine keeps; its full length is recorded beside it."""


_UTF8_BOM = b"\xef\xbb\xbf"


class CollectError(Exception):
    """A source could not be read at all (missing, unreadable, unknown format)."""


class LineRejected(ValueError):
    """Raised by ``LineCollector.parse_line`` for a line that is not in the collector's format."""


@dataclass(frozen=True)
class CollectOptions:
    """Context a format cannot carry itself (RFC 3164 has neither year nor zone)."""

    tz: tzinfo | None = None
    year: int | None = None
    wait_for_newline: bool = False
    """Leave a last line without newline for the next run (a file still being written) instead of reading it."""
    max_flows: int | None = None
    """Packet captures: how many flows the table holds open (None: the collector's default, 100,000)."""


@dataclass
class Position:
    """Where reading starts (and, after reading, where it ended): byte offset and lines already read."""

    offset: int = 0
    line: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class Collector(ABC):
    name: str
    offsets_are_bytes = True
    """False for record-based formats (EVTX), whose ``Position.offset`` counts records, not bytes."""

    def __init__(self, options: CollectOptions | None = None) -> None:
        self.options = options or CollectOptions()

    @abstractmethod
    def sniff(self, head: bytes) -> bool:
        """True when the first bytes of a source look like this format."""

    def identity(self, head: bytes) -> bytes:
        """The part of the first bytes that tells this file from the next one at the same path."""
        return head

    def continues(self, head: bytes, offset: int) -> bool:
        """Whether a file that kept its identity can still be resumed at ``offset``."""
        return True

    @abstractmethod
    def parse(self, stream: BinaryIO, path: str, position: Position) -> Iterator[Event | Malformed]:
        """Read from ``position`` to the end (seeking there first), advancing it past each record yielded."""


def decode_line(data: bytes) -> str:
    """Log files are mostly UTF-8 with stray Latin-1 lines; Latin-1 decodes anything, so nothing is lost."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class LineCollector(Collector):
    """A format with one record per line; subclasses only say how to read one line."""

    sniff_lines = 5

    @abstractmethod
    def parse_line(self, text: str, origin: Origin) -> Event:
        """Turn one line (without its newline) into an event or raise ``LineRejected``."""

    def sniff(self, head: bytes) -> bool:
        lines = [line for line in head.split(b"\n")[: self.sniff_lines * 4] if line.strip()]
        # The head may cut the last line short: only judge complete lines when there are several.
        if len(lines) > 1 and not head.endswith(b"\n"):
            lines = lines[:-1]
        lines = lines[: self.sniff_lines]
        if not lines:
            return False
        accepted = 0
        for raw in lines:
            try:
                self.parse_line(decode_line(raw.rstrip(b"\r")), Origin("", 0, 0))
                accepted += 1
            except LineRejected:
                pass
        return accepted * 2 > len(lines)

    def parse(self, stream: BinaryIO, path: str, position: Position) -> Iterator[Event | Malformed]:
        readline = stream.readline
        parse_line = self.parse_line
        wait_for_newline = self.options.wait_for_newline
        offset, line_no = position.offset, position.line
        if offset:
            stream.seek(offset)
        while True:
            data = readline(MAX_LINE_BYTES)
            if not data:
                return
            if wait_for_newline and not data.endswith(b"\n") and len(data) < MAX_LINE_BYTES:
                return  # the writer has not finished this line: it is read, whole, next time
            start = offset
            offset += len(data)
            line_no += 1
            origin = Origin(path, start, line_no)
            if not data.endswith(b"\n") and len(data) == MAX_LINE_BYTES:
                kept, total = data, len(data)
                while True:  # skip the rest of the over-long line without holding it
                    more = readline(MAX_LINE_BYTES)
                    offset += len(more)
                    total += len(more)
                    if not more or more.endswith(b"\n"):
                        total -= len(more) - len(more.rstrip(b"\r\n"))
                        break
                position.offset, position.line = offset, line_no
                yield Malformed(origin, f"line longer than {MAX_LINE_BYTES} bytes ({total} bytes)",
                                kept[:QUARANTINE_KEEP_BYTES], total)
                continue
            body = data.rstrip(b"\r\n")
            position.offset, position.line = offset, line_no
            if not body or body.isspace():
                continue
            text = decode_line(body[len(_UTF8_BOM):] if start == 0 and body.startswith(_UTF8_BOM) else body)
            try:
                yield parse_line(text, origin)
            except LineRejected as rejected:
                yield Malformed(origin, str(rejected), body[:QUARANTINE_KEEP_BYTES], len(body))
