"""HTTP/1.x request and response heads, recognised by content on any port.

A request starts with a method token (an upper-case letter, then up to 23 upper-case letters, digits, ``_``
or ``-``), a space and a target; its first line ends in `` HTTP/1.x``. A response starts with ``HTTP/1.``
and a three-digit status. Header names are matched without regard to case; the first of repeated headers
wins; only the headers the events use are kept (``WANTED``); folded (obsolete) continuation lines are not
joined. Heads are at most ``MAX_HEAD_BYTES``.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from seccenter.collect.interface import decode_line
from seccenter.collect.jsonlines import proxy_fields as sigma_proxy_fields

MAX_HEAD_BYTES = 32 << 10
WANTED = ("host", "user-agent", "referer", "content-length", "transfer-encoding")

REQUEST_START = re.compile(rb"[A-Z][A-Z0-9_-]{0,23} [^\x00-\x20\x7f]")
"""What the first bytes of a request look like (the rest of the line may be in a later segment)."""
_REQUEST_LINE = re.compile(rb"([A-Z][A-Z0-9_-]{0,23}) ([^\x00-\x20\x7f]+) (HTTP/1\.[0-9])\r?\Z")
_PARTIAL_REQUEST_LINE = re.compile(
    rb"([A-Z][A-Z0-9_-]{0,23}) ([^\x00-\x20\x7f]+)(?: (H(?:T(?:T(?:P(?:/1?)?)?)?)?)?)?\Z")
_WANTED_HEADER = re.compile(rb"\n(" + b"|".join(re.escape(name.encode()) for name in WANTED) + rb"):([^\n]*)",
                            re.IGNORECASE)
_WANTED_KEYS = {name.encode(): name for name in WANTED}
_STATUS_LINE = re.compile(rb"HTTP/(1\.[0-9]) ([0-9]{3})(?:[ \t][^\r\n]*)?\r?\Z")


class Request(NamedTuple):
    method: str
    target: str
    version: str
    headers: dict[str, str]
    complete: bool


class Response(NamedTuple):
    version: str
    status: int
    headers: dict[str, str]


def first_line_rejects(head: bytes | bytearray) -> bool:
    """True when the first line of ``head`` is complete and is not a request line."""
    end = head.find(b"\n")
    if end < 0:
        return len(head) > MAX_HEAD_BYTES
    return _REQUEST_LINE.match(bytes(head[:end])) is None


def _headers(head: bytes, start: int) -> dict[str, str]:
    """The headers the events use (``WANTED``), by lower-case name; the first of repeated ones wins. (HTTP/1.1
    allows no space between a header's name and its colon: a name followed by one is not that header.)"""
    # One regex pass over the head finds them all (a find per wanted name cost five scans and a lower-cased copy).
    headers: dict[str, str] = {}
    for name, value in _WANTED_HEADER.findall(head, start - 1):
        key = _WANTED_KEYS[name.lower()]
        if key not in headers:
            headers[key] = decode_line(value.strip())
    return headers


def parse_request(head: bytes, complete: bool = True) -> Request | None:
    """The request in ``head`` (without the blank line that ends it); None when it is not one.

    With ``complete`` False (the stream stopped early) a first line that is cut short after its target is
    still taken as a request, with ``version`` empty.
    """
    end = head.find(b"\n")
    match = _REQUEST_LINE.match(head if end < 0 else head[:end])
    if match is None:
        if complete or end >= 0:
            return None
        match = _PARTIAL_REQUEST_LINE.match(head)
        if match is None:
            return None
        return Request(match[1].decode("ascii"), decode_line(match[2]), "", {}, False)
    return Request(match[1].decode("ascii"), decode_line(match[2]), match[3].decode("ascii"),
                   _headers(head, end + 1) if end >= 0 else {}, complete)


def parse_response(head: bytes) -> Response | None:
    end = head.find(b"\n")
    match = _STATUS_LINE.match(head if end < 0 else head[:end])
    if match is None:
        return None
    return Response(match[1].decode("ascii"), int(match[2]), _headers(head, end + 1) if end >= 0 else {})


def body_length(headers: dict[str, str], response: bool = False) -> int | None:
    """Bytes of body after the head: its Content-Length; None when that cannot be known (chunked, or a
    response without a length, whose body runs to the end of the connection). A request without either has
    no body."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return None
    length = headers.get("content-length")
    if length is None:
        return None if response else 0
    length = length.strip()
    return int(length) if length.isascii() and length.isdigit() and len(length) < 16 else None


def proxy_fields(fields: dict[str, Any], request: Request) -> None:
    """Add Sigma's proxy fields for a request (``seccenter.collect.jsonlines.proxy_fields``), plus
    ``cs-version`` and ``r-dns`` (the host without its port)."""
    headers = request.headers
    host = headers.get("host")
    fields.update(sigma_proxy_fields(url=request.target, host=host, method=request.method,
                                     user_agent=headers.get("user-agent"), referrer=headers.get("referer")))
    if request.version:
        fields["cs-version"] = request.version
    if host:
        fields["r-dns"] = host if host.endswith("]") or ":" not in host else host[:host.rfind(":")]
