"""TLS ClientHello: reassembled from the records of a TCP stream, parsed with every length checked, and
fingerprinted as JA3 and JA4.

``HelloAssembler.feed(data)`` takes the client's stream bytes from the first record on and returns
``NEED`` (more bytes wanted), ``NOT_HELLO`` (the first handshake message is not a ClientHello), a reason
string (lengths that cannot be true: a record longer than TLS allows, a zero-length handshake record, a
ClientHello longer than ``MAX_HELLO_BYTES``, a non-handshake record in the middle of it) or a ``ClientHello``.
``HelloAssembler.partial()`` gives what a stream that ended early (a gap, a snaplen cut, the end of the flow)
holds: a ClientHello with ``complete`` False, or None when not even its version arrived.

``parse_client_hello(body, complete)`` reads the handshake body (after the 4-byte handshake header). When
``complete``, any inner length that runs past the body or disagrees with its container is malformed; when
not, the body is read as far as it goes.

JA3 (Salesforce): ``version,ciphers,extensions,groups,point_formats``, decimal values joined with ``-``,
GREASE values left out; ``ja3_hash`` is its MD5. JA4 (FoxIO, ``technical_details/JA4.md``):
``t`` + version (highest non-GREASE supported_versions entry, else the ClientHello version: 13, 12, 11, 10,
s3, s2, d1, d2, d3, or 00) + ``d``/``i`` (SNI present or not) + two-digit cipher and extension counts (GREASE
left out, at most 99) + first and last character of the first ALPN value (``00`` without one; the first and
last hex digit of the value when its first or last byte is not alphanumeric) ``_`` the first 12 hex digits
of the SHA-256 of the sorted 4-digit hex ciphers joined by commas ``_`` the same of the sorted extensions
without SNI (0000) and ALPN (0010), then ``_`` and the signature algorithms in their order (no ``_`` when
there are none). An empty cipher or extension list hashes as ``000000000000``. This collector sees TLS over
TCP only, so the first character is always ``t``.
"""

from __future__ import annotations

import hashlib
import struct
from typing import NamedTuple

MAX_RECORD_BYTES = (1 << 14) + 2048
"""TLSCiphertext may carry at most 2^14 + 2048 bytes: a longer record length is a lie."""
MAX_HELLO_BYTES = 1 << 16

GREASE = frozenset(0x0A0A + 0x1010 * step for step in range(16))
VERSION_NAMES = {0x0002: "SSL 2.0", 0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2",
                 0x0304: "TLS 1.3", 0xFEFF: "DTLS 1.0", 0xFEFD: "DTLS 1.2", 0xFEFC: "DTLS 1.3"}
JA4_VERSIONS = {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
                0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}
_EMPTY_HASH = "000000000000"


class ClientHello(NamedTuple):
    version: int
    ciphers: list[int]
    extensions: list[int]
    server_name: str | None
    groups: list[int]
    point_formats: list[int]
    signature_algorithms: list[int]
    alpn: list[bytes]
    supported_versions: list[int]
    complete: bool


class _Short(Exception):
    pass


class _Lie(Exception):
    pass


def _u16_list(data: bytes, start: int, end: int) -> list[int]:
    count = (end - start) >> 1
    return list(struct.unpack_from(f"!{count}H", data, start)) if count > 0 else []


def _runs_past(what: str, complete: bool) -> None:
    """A length check failed: malformed in a complete message, the end of what arrived in a partial one."""
    raise _Lie(f"TLS ClientHello {what} runs past the message") if complete else _Short


_READ_EXTENSIONS = frozenset({0, 10, 11, 13, 16, 43})
"""The extensions ``_extension`` reads; the others are only listed."""


def parse_client_hello(body: bytes, complete: bool = True) -> ClientHello | str:
    """A ClientHello body (see the module docstring); never raises."""
    # Called once per ClientHello: the length checks are inline ``if``s (a helper is called only when one
    # fails) and the extensions land in a dict that exists only when one of them is read.
    size = len(body)
    version = 0
    ciphers: list[int] = []
    extensions: list[int] = []
    found: dict = {}
    try:
        if size < 2:
            _runs_past("version", complete)
        version = body[0] << 8 | body[1]
        if size < 35:
            _runs_past("random", complete)
        session = body[34]
        if session > 32:
            raise _Lie(f"TLS ClientHello session id of {session} bytes (at most 32)")
        pos = 35 + session
        if pos + 2 > size:
            _runs_past("session id", complete)
        length = body[pos] << 8 | body[pos + 1]
        pos += 2
        if length % 2:
            raise _Lie("TLS ClientHello cipher suite list of odd length")
        if pos + length > size:
            if not complete:
                ciphers = _u16_list(body, pos, size)
            _runs_past("cipher suites", complete)
        ciphers = _u16_list(body, pos, pos + length)
        pos += length
        if pos + 1 > size:
            _runs_past("compression methods", complete)
        pos += 1 + body[pos]
        if pos > size:
            _runs_past("compression methods", complete)
        if pos < size or not complete:  # no extensions at all is allowed (SSL 3.0 style)
            if pos + 2 > size:
                _runs_past("extensions length", complete)
            total = body[pos] << 8 | body[pos + 1]
            pos += 2
            end = pos + total
            if complete and end != size:
                raise _Lie(f"TLS ClientHello extensions length {total} disagrees with the message")
            stop = min(end, size)
            append = extensions.append
            while pos < stop:
                if pos + 4 > size:
                    _runs_past("extension header", complete)
                kind, length = body[pos] << 8 | body[pos + 1], body[pos + 2] << 8 | body[pos + 3]
                pos += 4
                append(kind)
                if pos + length > end:
                    raise _Lie(f"TLS extension {kind} runs past the extensions")
                if pos + length > size:
                    _runs_past("extension", complete)
                if kind in _READ_EXTENSIONS:
                    _extension(body, kind, pos, pos + length, found)
                pos += length
    except _Lie as lie:
        return str(lie)
    except _Short:
        complete = False
    if not found:
        return ClientHello(version, ciphers, extensions, None, [], [], [], [], [], complete)
    return ClientHello(version, ciphers, extensions, found.get("server_name"), found.get("groups", []),
                       found.get("point_formats", []), found.get("signatures", []), found.get("alpn", []),
                       found.get("versions", []), complete)


def _extension(body: bytes, kind: int, start: int, end: int, out: dict) -> None:
    """Read the extensions the fingerprints and the event use; raises _Lie on inner lengths that lie."""
    if kind == 0:  # server_name: list length, then (type, length, name)*
        if end - start < 2:
            if end == start:
                return  # a server's empty echo; in a ClientHello it means nothing either
            raise _Lie("TLS server_name extension too short")
        listed = body[start] << 8 | body[start + 1]
        if start + 2 + listed != end:
            raise _Lie("TLS server_name list length disagrees with its extension")
        pos = start + 2
        while pos + 3 <= end:
            name_type, length = body[pos], body[pos + 1] << 8 | body[pos + 2]
            pos += 3
            if pos + length > end:
                raise _Lie("TLS server name runs past its extension")
            if name_type == 0 and "server_name" not in out:
                out["server_name"] = body[pos:pos + length].decode("utf-8", "backslashreplace")
            pos += length
        if pos != end:
            raise _Lie("TLS server_name list ends inside an entry")
    elif kind == 10 or kind == 13:  # supported_groups, signature_algorithms: u16 length, u16 values
        if end - start < 2:
            raise _Lie(f"TLS extension {kind} too short")
        length = body[start] << 8 | body[start + 1]
        if length % 2 or start + 2 + length != end:
            raise _Lie(f"TLS extension {kind} list length disagrees with its extension")
        out["groups" if kind == 10 else "signatures"] = _u16_list(body, start + 2, end)
    elif kind == 11:  # ec_point_formats: u8 length, u8 values
        if end - start < 1 or start + 1 + body[start] != end:
            raise _Lie("TLS ec_point_formats length disagrees with its extension")
        out["point_formats"] = list(body[start + 1:end])
    elif kind == 16:  # ALPN: u16 length, (u8 length, name)*
        if end - start < 2:
            raise _Lie("TLS ALPN extension too short")
        length = body[start] << 8 | body[start + 1]
        if start + 2 + length != end:
            raise _Lie("TLS ALPN list length disagrees with its extension")
        names, pos = [], start + 2
        while pos < end:
            size = body[pos]
            pos += 1
            if pos + size > end:
                raise _Lie("TLS ALPN name runs past its extension")
            names.append(body[pos:pos + size])
            pos += size
        out["alpn"] = names
    elif kind == 43:  # supported_versions (client): u8 length, u16 values
        if end - start < 1 or start + 1 + body[start] != end or body[start] % 2:
            raise _Lie("TLS supported_versions length disagrees with its extension")
        out["versions"] = _u16_list(body, start + 1, end)


FINGERPRINT_CACHE = 4096
_fingerprints: dict[tuple, tuple[str, str, str, str]] = {}


def fingerprints(hello: ClientHello) -> tuple[str, str, str, str]:
    """(JA3, its MD5, JA4, JA4_r) of a complete ClientHello. Clients send the same lists on every connection,
    so the strings and hashes are kept for the last ``FINGERPRINT_CACHE`` distinct sets of lists."""
    key = (hello.version, tuple(hello.ciphers), tuple(hello.extensions), tuple(hello.groups),
           tuple(hello.point_formats), tuple(hello.signature_algorithms), hello.alpn[0] if hello.alpn else None,
           tuple(hello.supported_versions), 0 in hello.extensions)
    found = _fingerprints.get(key)
    if found is None:
        text = ja3(hello)
        print_hash, raw = ja4(hello)
        if len(_fingerprints) >= FINGERPRINT_CACHE:
            _fingerprints.clear()
        found = _fingerprints[key] = (text, hashlib.md5(text.encode("ascii"), usedforsecurity=False).hexdigest(),
                                      print_hash, raw)
    return found


def ja3(hello: ClientHello) -> str:
    def join(values: list[int]) -> str:
        return "-".join(str(value) for value in values if value not in GREASE)

    return (f"{hello.version},{join(hello.ciphers)},{join(hello.extensions)},{join(hello.groups)},"
            f"{'-'.join(str(value) for value in hello.point_formats)}")


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:12]


def ja4_version(hello: ClientHello) -> int:
    """The version JA4 (and the event) report: the highest non-GREASE supported_versions entry, else the
    ClientHello's own."""
    offered = [value for value in hello.supported_versions if value not in GREASE]
    return max(offered) if offered else hello.version


def _alpn_chars(alpn: list[bytes]) -> str:
    if not alpn or not alpn[0]:
        return "00"
    value = alpn[0]
    first, last = value[0], value[-1]
    if chr(first).isascii() and chr(first).isalnum() and chr(last).isascii() and chr(last).isalnum():
        return chr(first) + chr(last)
    digits = value.hex()
    return digits[0] + digits[-1]


def ja4(hello: ClientHello) -> tuple[str, str]:
    """(JA4, JA4_r): the fingerprint and its raw, unhashed form."""
    ciphers = [value for value in hello.ciphers if value not in GREASE]
    extensions = [value for value in hello.extensions if value not in GREASE]
    signatures = [value for value in hello.signature_algorithms if value not in GREASE]
    head = (f"t{JA4_VERSIONS.get(ja4_version(hello), '00')}{'d' if 0 in extensions else 'i'}"
            f"{min(len(ciphers), 99):02d}{min(len(extensions), 99):02d}{_alpn_chars(hello.alpn)}")
    cipher_text = ",".join(f"{value:04x}" for value in sorted(ciphers))
    extension_text = ",".join(f"{value:04x}" for value in sorted(extensions) if value != 0 and value != 16)
    if signatures:
        extension_text += "_" + ",".join(f"{value:04x}" for value in signatures)
    cipher_hash = _hash12(cipher_text) if ciphers else _EMPTY_HASH
    extension_hash = _hash12(extension_text) if any(value != 0 and value != 16 for value in extensions) \
        else _EMPTY_HASH
    return f"{head}_{cipher_hash}_{extension_hash}", f"{head}_{cipher_text}_{extension_text}"


NEED = 0
NOT_HELLO = 1


class HelloAssembler:
    """Collects TLS records of one direction until its first handshake message, a ClientHello, is whole."""

    __slots__ = ("records", "handshake")

    def __init__(self) -> None:
        self.records = bytearray()
        self.handshake = bytearray()

    def feed(self, data: bytes) -> ClientHello | str | int:
        records = self.records
        records += data
        handshake = self.handshake
        while len(records) >= 5:
            content, major, length = records[0], records[1], records[3] << 8 | records[4]
            if content != 22:
                if handshake:
                    return f"TLS record of type {content} inside a ClientHello"
                return NOT_HELLO
            if major != 3:
                return f"TLS record version {major}.{records[2]} inside a ClientHello"
            if length == 0:
                return "TLS handshake record of length 0"
            if length > MAX_RECORD_BYTES:
                return f"TLS record length {length} exceeds what TLS allows ({MAX_RECORD_BYTES})"
            if len(records) < 5 + length:
                return NEED
            handshake += records[5:5 + length]
            del records[:5 + length]
            if len(handshake) >= 4:
                if handshake[0] != 1:
                    return NOT_HELLO
                size = handshake[1] << 16 | handshake[2] << 8 | handshake[3]
                if size > MAX_HELLO_BYTES:
                    return f"TLS ClientHello length {size} exceeds {MAX_HELLO_BYTES} bytes"
                if len(handshake) >= 4 + size:
                    return parse_client_hello(bytes(handshake[4:4 + size]), True)
        return NEED

    @staticmethod
    def whole(chunk: bytes, pos: int) -> bytes | None:
        """The ClientHello body when one record at ``chunk[pos]`` holds all of it (the usual case), else None."""
        if len(chunk) - pos < 9 or chunk[pos + 5] != 1 or chunk[pos + 1] != 3:
            return None
        record = chunk[pos + 3] << 8 | chunk[pos + 4]
        size = chunk[pos + 6] << 16 | chunk[pos + 7] << 8 | chunk[pos + 8]
        if 4 + size > record or record > MAX_RECORD_BYTES or pos + 5 + record > len(chunk):
            return None
        return chunk[pos + 9:pos + 9 + size]

    def partial(self) -> ClientHello | None:
        handshake = self.handshake
        if len(self.records) >= 5 and self.records[0] == 22:
            handshake = handshake + self.records[5:]
        if len(handshake) < 6 or handshake[0] != 1:
            return None
        hello = parse_client_hello(bytes(handshake[4:]), False)
        return hello if isinstance(hello, ClientHello) else None
