"""Reading IOC list files in the formats of Neo23x0/signature-base (``iocs/``) as Loki reads them.

Every format: one indicator a line, ``#`` comment lines, blank lines. As in Loki, an indicator's description
is the comment line above it (the latest one; a blank line ends it) unless the line gives its own.

- hash lists: ``HASH;DESCRIPTION`` or ``HASH;SCORE;DESCRIPTION`` (MD5, SHA1 or SHA256 by length; score 100
  when not given); a bare ``HASH`` is accepted too. The hashes of an empty file and of a lone line break
  (Loki's ``HASH_WHITELIST``) are refused: they would match harmless files.
- file name lists: ``REGEX;SCORE`` or ``REGEX;SCORE;FALSE_POSITIVE_REGEX``, searched in the full path, case
  sensitive. On a POSIX host the regex is read as Loki's ``transformOS`` does (``\\\\`` → ``/``, ``C:``
  removed), so the Windows paths of signature-base match files under a mounted share.
- C2 lists: ``VALUE`` or ``VALUE;DESCRIPTION``: an IP address, a network in CIDR notation or a domain name.

A line that cannot be read is a ``ListProblem`` with file:line and the reason; the lines after it still load.
Bytes are read as UTF-8 (a BOM is skipped, CRLF accepted), a line that is not UTF-8 as Latin-1.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from seccenter.detect.regex import Search, UnsafeRegex, compile_search

MAX_LINE_BYTES = 64 * 1024
MAX_DESCRIPTION_CHARS = 300
MAX_PROBLEMS_PER_LIST = 100
"""Problems kept per list (all are counted): a binary file read as a list must not fill the memory."""

_SCORE = re.compile(r"[0-9]{1,6}")
_HEX = re.compile(r"[0-9a-f]+")
_LABELS = re.compile(r"[a-z0-9_-]{1,63}(?:\.[a-z0-9_-]{1,63})+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UTF8_BOM = b"\xef\xbb\xbf"

# Loki's HASH_WHITELIST: an empty file, a file holding one "\n", one "\r\n"
HARMLESS_HASHES = frozenset({
    "d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "68b329da9893e34099c7d8ad5cb9c940", "adc83b19e793491b1c6ea0fd8b46cd9f32e592fc",
    "01ba4719c80b6fe911b091a7c05124b64eeece964e09c058ef8f9805daca546b",
    "81051bcc2cf1bedf378224b0a93e2877", "ba8ab5a0280b953aa97435ff8946cbcbb2755a27",
    "7eb70257593da06f682a3ddda54a9d260d4fc514f645237f5ca74b08f8da61a6",
})
MIN_PREFIX = {4: 8, 6: 32}
"""Widest network a C2 list may name: a /0 would turn every connection into an alert."""


class LineError(ValueError):
    """Why one line of an IOC list cannot be used."""


@dataclass(frozen=True, slots=True)
class ListProblem:
    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "reason": self.reason}


@dataclass
class ListReport:
    """What loading one list file did: lines read, indicators kept, problems (the first few) and their count."""

    path: str
    kind: str | None
    lines: int = 0
    indicators: int = 0
    duplicates: int = 0
    problem_count: int = 0
    problems: list[ListProblem] = field(default_factory=list)

    def problem(self, line: int | None, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_PER_LIST:
            self.problems.append(ListProblem(self.path, line, reason))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "lines": self.lines, "indicators": self.indicators,
                "duplicates": self.duplicates, "problem_count": self.problem_count,
                "problems": [problem.to_dict() for problem in self.problems]}


def read_lines(stream: BinaryIO) -> Iterator[tuple[int, str | None]]:
    """(line number, text without its line break) for every line; None as text for a line longer than
    ``MAX_LINE_BYTES``, which is skipped without being held in memory."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(_UTF8_BOM):
            raw = raw[len(_UTF8_BOM):]
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE_BYTES)
            yield number, None
            continue
        raw = raw.rstrip(b"\r\n")
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, raw.decode("latin-1")


def clean_description(text: str) -> str:
    """A description as data: control characters (terminal escapes) written as ``\\xNN``, length bounded."""
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text.strip())
    return text if len(text) <= MAX_DESCRIPTION_CHARS else text[:MAX_DESCRIPTION_CHARS - 1] + "…"


def comment_text(line: str) -> str:
    """A comment line's text as Loki takes it for the description of the lines below."""
    return clean_description(line.lstrip().lstrip("#"))


def _score(text: str) -> int:
    text = text.strip()
    if not _SCORE.fullmatch(text):
        raise LineError(f"score {clean_description(text)[:40]!r} is not a whole number (0-999999)")
    return int(text)


def _no_controls(value: str, what: str) -> str:
    if _CONTROL.search(value):
        raise LineError(f"{what} holds control characters or binary data")
    return value


def parse_hash(line: str) -> tuple[str, int, str]:
    """``HASH[;SCORE];DESCRIPTION`` → (lower-case digest, score, description)."""
    parts = line.split(";")
    digest = _no_controls(parts[0].strip().lower(), "hash")
    if not _HEX.fullmatch(digest):
        raise LineError(f"hash {clean_description(digest)[:80]!r} is not hexadecimal")
    if len(digest) not in (32, 40, 64):
        raise LineError(f"hash has {len(digest)} hex digits: not MD5 (32), SHA1 (40) or SHA256 (64)")
    if digest in HARMLESS_HASHES:
        raise LineError("hash of an empty file or a lone line break: it would match harmless files")
    rest = parts[1:]
    score = 100
    if len(rest) >= 2 and _SCORE.fullmatch(rest[0].strip()):
        score = int(rest[0].strip())
        rest = rest[1:]
    return digest, score, clean_description(";".join(rest))


def transform_for_posix(pattern: str) -> str:
    """Loki's ``transformOS`` for Linux/macOS: Windows path separators as ``/``, the ``C:`` drive removed."""
    return pattern.replace("\\\\", "/").replace("C:", "")


def compile_pattern(pattern: str) -> Search:
    """A search function for a list's regex; ``LineError`` for an invalid or catastrophically slow one."""
    try:
        return compile_search(pattern)
    except UnsafeRegex as error:
        raise LineError(str(error)) from None
    except (re.error, RecursionError, OverflowError, ValueError) as error:
        raise LineError(f"invalid regular expression: {error}") from None


def parse_filename(line: str, posix: bool) -> tuple[str, str, int, Search, Search | None]:
    """``REGEX;SCORE[;FALSE_POSITIVE_REGEX]`` → (regex as written, regex as searched, score, search,
    false-positive search)."""
    parts = line.rstrip().split(";")
    if len(parts) < 2:
        raise LineError("no score: file name lines are REGEX;SCORE or REGEX;SCORE;FALSE_POSITIVE_REGEX")
    if len(parts) > 3:
        raise LineError("more than three ';' fields (REGEX;SCORE;FALSE_POSITIVE_REGEX); "
                        "write a ';' inside a regex as \\x3b")
    pattern = _no_controls(parts[0], "regex")
    if not pattern:
        raise LineError("empty regex")
    score = _score(parts[1])
    searched = transform_for_posix(pattern) if posix else pattern
    search = compile_pattern(searched)
    exclude = None
    if len(parts) == 3 and parts[2]:
        false_positive = _no_controls(parts[2], "false-positive regex")
        exclude = compile_pattern(transform_for_posix(false_positive) if posix else false_positive)
    return pattern, searched, score, search, exclude


def parse_c2(line: str) -> tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network
                                  | ipaddress.IPv6Network | None, str]:
    """``VALUE[;DESCRIPTION]`` → (normalised value, its address or network or None for a domain, description)."""
    value, _, description = line.partition(";")
    value = _no_controls(value.strip().lower(), "C2 value")
    if not value:
        raise LineError("empty C2 value")
    if "://" in value:
        raise LineError(f"{clean_description(value)[:80]!r} is a URL: C2 lists take a host name or address alone")
    if "/" in value:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise LineError(f"{clean_description(value)[:80]!r} is not a network in CIDR notation") from None
        if network.prefixlen < MIN_PREFIX[network.version]:
            raise LineError(f"network {network} is too wide (shorter than /{MIN_PREFIX[network.version]}): "
                            "it would match most connections")
        return str(network), network, clean_description(description)
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return normalise_domain(value), None, clean_description(description)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address), address, clean_description(description)


def normalise_domain(value: str) -> str:
    """A C2 domain as matched: lower case, IDNA (punycode), no trailing dot or leading ``*.``."""
    name = value.rstrip(".").removeprefix("*.")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise LineError(f"{clean_description(value)[:80]!r} is not a valid international domain name") from None
    if len(name) > 253 or not _LABELS.fullmatch(name) or name.rpartition(".")[2].isdigit():
        if "." not in name and _LABELS.fullmatch(name + ".x"):
            raise LineError(f"{name!r} has a single label: it would match every name under that top-level domain")
        raise LineError(f"{clean_description(value)[:80]!r} is not an IP address, a CIDR network or a domain name")
    return name
