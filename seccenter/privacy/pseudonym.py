"""Pseudonyms for IP addresses, host names and user names in exports (GDPR Art. 4(5), 25, 32(1)(a)).

A pseudonym is HMAC-SHA256 under a secret key, shortened to 16 hex digits (64 bits) behind a prefix that says
what it stands for:

- ``ip4-`` / ``ip6-`` + hex: an IPv4 / IPv6 address (the family stays visible). Addresses are compared as
  addresses: ``2001:DB8::1`` and ``2001:db8:0::1`` are the same, and an IPv4-mapped IPv6 address
  (``::ffff:192.0.2.1``) is its IPv4 address. Loopback and unspecified addresses (``127.0.0.1``, ``::1``,
  ``0.0.0.0``) name no one and stay as they are.
- ``user-`` + hex: a user name, exactly as written (Linux user names are case-sensitive). A Windows
  ``DOMAIN\\name`` becomes ``host-…\\user-…``, the name's pseudonym the same as for the name alone.
- ``host-`` + hex: anything else in a field that holds an address (a host name, ``rhost`` text), lower-cased
  first (DNS names are not case-sensitive).

The same value under the same key always gives the same pseudonym, so one person's alerts stay linkable across
exports; another key gives unrelated pseudonyms. Whoever holds the key can test a guess (the IPv4 space is small
enough to try whole), so the key is kept as secret as the data: a file of at least 32 bytes, readable by its
owner only. Values without a letter or digit (``-``, empty) name no one and are left as they are.

``record`` applies this to a stored event or alert as ``store.events.iter_events`` and ``store.alerts.list_alerts``
give them: the fields named in ``ADDRESS_FIELDS`` and ``USER_FIELDS`` (at any depth: correlation details too)
are replaced, and in every other text of the record (``raw``, ``message``, URLs, paths) every IPv4 and IPv6
address and every whole-word occurrence of a name that a field of this record, or of any record passed to
``learn`` before, holds. That errs on the side of privacy: a user called ``admin`` turns ``/admin/`` in a URL
into ``/user-…/`` too. Names that no field of the export holds (MAC addresses, e-mail addresses, a name in free
text only) are not found; an export that must hold none of them needs a review of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from seccenter.secretfile import SecretFileError, read_secret

MIN_KEY_BYTES = 32
MAX_KEY_BYTES = 4096
DIGITS = 16
"""Hex digits kept of each HMAC: 64 bits, so two of a city's millions of values share a pseudonym only by a
chance of about one in a million."""

ADDRESS_FIELDS = frozenset({
    # Sigma/seccenter names (auth.log, packets, Suricata, Zeek aliases), alerts' source_ip
    "src_ip", "dst_ip", "dest_ip", "source_ip", "client_ip", "src_host", "rhost", "sender_ip", "target_ip",
    "client_addr", "requested_addr", "assigned_addr", "client_fqdn",
    # web servers (W3C names), Zeek, Windows and Sysmon, ECS-shaped JSON
    "c-ip", "id.orig_h", "id.resp_h", "IpAddress", "SourceIp", "DestinationIp", "SourceAddress", "DestAddress",
    "SourceHostname", "DestinationHostname", "WorkstationName", "source.ip", "destination.ip", "client.ip",
})
"""Fields that hold an IP address (or, where no address was known, a host name) of a person's device."""

USER_FIELDS = frozenset({
    "user", "User", "username", "UserName", "user_name", "cs-username", "ruser", "by_user", "target_user",
    "TargetUserName", "SubjectUserName", "TargetOutboundUserName", "AccountName", "SamAccountName",
    "user.name", "source.user.name", "user.target.name",
})
"""Fields that hold a user name (auth.log, access logs, Windows Security and Sysmon, ECS-shaped JSON)."""

# An address candidate: hex digits, dots and colons with at least one dot or colon, not inside a longer word
# (a %-escape in a URL, "%2F192.0.2.1%2F", ends the word before it)
_ADDRESS_CANDIDATE = re.compile(r"(?:(?<![\w.:%])|(?<=%[0-9A-Fa-f]{2}))[0-9A-Fa-f]*[.:][0-9A-Fa-f.:]*(?![\w:])")
_MAX_CANDIDATE = 64
_WORD = re.compile(r"\w+")
_WORD_AFTER_ESCAPE = re.compile(r"(?<=%[0-9A-Fa-f]{2})\w+")


class PseudonymError(Exception):
    """The key cannot be used (missing, too short, readable by others) or a new one cannot be written."""


def _names_someone(value: str) -> bool:
    return any(character.isalnum() for character in value)


def _is_word(character: str) -> bool:
    return character.isalnum() or character == "_"  # what ``\w`` matches


class Pseudonymiser:
    """Keyed pseudonyms; one instance per export (it remembers the values it has seen, which repeat)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise PseudonymError(f"a pseudonymisation key needs at least {MIN_KEY_BYTES} bytes, not {len(key)}")
        self._key = key
        self._seen: dict[tuple[str, str], str] = {}
        self._vocabulary = _Vocabulary()
        self._candidates: dict[str, tuple[int, str] | None] = {}

    def _digest(self, kind: bytes, data: bytes) -> str:
        return hmac.new(self._key, kind + b"\0" + data, hashlib.sha256).hexdigest()[:DIGITS]

    def ip(self, value: str) -> str:
        """The pseudonym of an IP address (``ip4-…``/``ip6-…``); raises ``ValueError`` for anything else."""
        address = _parse_address(value)
        if address is None:
            raise ValueError(f"not an IP address: {value[:60]!r}")
        return self._address(address) or value

    def user(self, value: str) -> str:
        """The pseudonym of a user name (``user-…``). In a Windows ``DOMAIN\\name`` each part is replaced on its
        own (``host-…\\user-…``: a local account's domain is its computer's name), the name as it is written
        alone, so both forms stay linkable."""
        domain, name = _split_account(value)
        if domain is not None:
            return self.host(domain) + "\\" + self.user(name)
        if not _names_someone(value):
            return value
        return self._cached("user", value, lambda: "user-" + self._digest(b"user", _utf8(value)))

    def host(self, value: str) -> str:
        """The pseudonym of a value in an address field: an address's as ``ip``, else a host name's (``host-…``)."""
        if not _names_someone(value):
            return value
        return self._cached("host", value, lambda: self._host(value))

    def _host(self, value: str) -> str:
        address = _parse_address(value)
        if address is not None:
            return self._address(address) or value
        return "host-" + self._digest(b"host", _utf8(value.lower()))

    def _address(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        if address.is_loopback or address.is_unspecified:
            return None
        prefix = "ip4-" if address.version == 4 else "ip6-"
        return self._cached("ip", address.packed.hex(), lambda: prefix + self._digest(b"ip", address.packed))

    def _cached(self, kind: str, value: str, make: Callable[[], str]) -> str:
        key = (kind, value)
        found = self._seen.get(key)
        if found is None:
            if len(self._seen) > 100_000:  # an export of millions of distinct values must not grow without end
                self._seen.clear()
            found = self._seen[key] = make()
        return found

    def _address_in_text(self, candidate: str) -> tuple[int, str] | None:
        """(length, pseudonym) of the address a candidate starts with; None for look-alikes (times, versions)."""
        if candidate in self._candidates:
            return self._candidates[candidate]
        found = _address_prefix(candidate)
        pseudonym = self._address(found[0]) if found is not None else None
        result = (found[1], pseudonym) if found is not None and pseudonym is not None else None
        if len(self._candidates) > 100_000:
            self._candidates.clear()
        self._candidates[candidate] = result
        return result

    def learn(self, records: Iterable[dict[str, Any]]) -> None:
        """Take the names in the fields of ``records`` into the vocabulary, so that ``record`` replaces them in the
        text of every record, also where a record names someone in its text only ("New session 42 of user
        alice."). An export passes over its records once with this before it pseudonymises them."""
        for record in records:
            self._learn(record)

    def _learn(self, record: dict[str, Any]) -> None:
        for name, value in _named_values(record):
            for text in value if isinstance(value, list) else [value]:
                if not isinstance(text, str) or text in self._vocabulary or not _names_someone(text) \
                        or _parse_address(text) is not None:  # addresses are found in any text by their form
                    continue
                is_user = name in USER_FIELDS
                pseudonym = self.user(text) if is_user else self.host(text)
                if pseudonym == text:
                    continue
                self._vocabulary.add(text, pseudonym)
                # JSON lines keep the value escaped in their raw text ("DOMAIN\\\\user", "\\u00e9")
                self._vocabulary.add(json.dumps(text)[1:-1], json.dumps(pseudonym)[1:-1])
                bare = _split_account(text)[1] if is_user else text
                if bare != text:  # the name alone (a profile path, a command line)
                    self._vocabulary.add(bare, self.user(bare))

    def record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A copy of a stored event or alert with its addresses and user names replaced (see the module)."""
        self._learn(record)
        return self._walk(record, None)

    def _walk(self, value: Any, name: str | None) -> Any:
        if isinstance(value, dict):
            return {key: self._walk(item, key) for key, item in value.items()}
        if isinstance(value, list):
            return [self._walk(item, name) for item in value]
        if isinstance(value, str):
            if name in USER_FIELDS:
                return self.user(value)
            if name in ADDRESS_FIELDS:
                return self.host(value)
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
        return value

    def text(self, text: str) -> str:
        """``text`` with every IP address, and every whole-word occurrence of a name learned so far, replaced in
        one pass (a pseudonym is never replaced again; of two matches at one place the longer wins)."""
        spans = self._vocabulary.spans(text)
        for match in _ADDRESS_CANDIDATE.finditer(text):
            found = self._address_in_text(match.group())
            if found is not None:
                spans.append((match.start(), match.start() + found[0], found[1]))
        if not spans:
            return text
        spans.sort(key=lambda span: (span[0], -span[1]))
        parts, position = [], 0
        for start, end, pseudonym in spans:
            if start >= position:
                parts += [text[position:start], pseudonym]
                position = end
        parts.append(text[position:])
        return "".join(parts)


class _Vocabulary:
    """Names (original → pseudonym) found as whole words in a text in one pass, however many there are: a name
    is filed under its leading word (or, when it starts with another character, that character), and only the
    names filed under a word of the text are compared with it."""

    def __init__(self) -> None:
        self._by_word: dict[str, dict[str, str]] = {}
        self._by_character: dict[str, dict[str, str]] = {}
        self._starts: re.Pattern[str] | None = None

    def __contains__(self, original: str) -> bool:
        lead = _WORD.match(original)
        table = self._by_word.get(lead.group()) if lead else self._by_character.get(original[:1])
        return table is not None and original in table

    def add(self, original: str, pseudonym: str) -> None:
        lead = _WORD.match(original)
        if lead:
            self._by_word.setdefault(lead.group(), {}).setdefault(original, pseudonym)
        else:
            if original[0] not in self._by_character:
                self._starts = None
            self._by_character.setdefault(original[0], {}).setdefault(original, pseudonym)

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        by_word = self._by_word
        # most texts hold no name at all: found out by a set lookup per word before any of them is compared
        if by_word and not by_word.keys().isdisjoint(_WORD.findall(text)):
            for match in _WORD.finditer(text):
                names = by_word.get(match.group())
                if names:
                    self._compare(text, match.start(), names, found)
        if by_word and "%" in text:  # "%2Fanna%2F": the word after a %-escape
            for match in _WORD_AFTER_ESCAPE.finditer(text):
                names = by_word.get(match.group())
                if names:
                    self._compare(text, match.start(), names, found)
        if self._by_character:
            if self._starts is None:
                self._starts = re.compile("[" + "".join(map(re.escape, self._by_character)) + "]")
            for match in self._starts.finditer(text):
                start = match.start()
                if start == 0 or not _is_word(text[start - 1]):
                    self._compare(text, start, self._by_character[match.group()], found)
        return found

    @staticmethod
    def _compare(text: str, start: int, names: dict[str, str], found: list[tuple[int, int, str]]) -> None:
        for original, pseudonym in names.items():
            end = start + len(original)
            if text.startswith(original, start) and (end == len(text) or not _is_word(text[end])):
                found.append((start, end, pseudonym))


def _split_account(value: str) -> tuple[str | None, str]:
    """``DOMAIN\\name`` → (domain, name); anything else → (None, value)."""
    domain, separator, name = value.rpartition("\\")
    if separator and _names_someone(domain) and _names_someone(name):
        return domain, name
    return None, value


def _utf8(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")  # lone surrogates from JSON escapes are values too


def _named_values(value: Any, name: str | None = None) -> Iterable[tuple[str, Any]]:
    """(field name, value) of every address or user field in a record, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _named_values(item, key)
    elif isinstance(value, list) and name not in ADDRESS_FIELDS and name not in USER_FIELDS:
        for item in value:
            yield from _named_values(item, name)
    elif name in ADDRESS_FIELDS or name in USER_FIELDS:
        yield name, value


def _parse_address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if len(text) > _MAX_CANDIDATE:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:  # fe80::1%eth0: the interface is not part of who it is
            return ipaddress.IPv6Address(address.packed)
    return address


def _address_prefix(candidate: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None:
    """The address a candidate starts with and its length: ``192.0.2.1``, ``192.0.2.1.`` (end of a sentence),
    ``192.0.2.1:8080`` (a port), ``2001:db8::1``; None for times, versions and other look-alikes."""
    if len(candidate) > _MAX_CANDIDATE or not any(character not in ".:" for character in candidate):
        return None
    for text in (candidate, candidate.rstrip("."), candidate.rpartition(":")[0]):
        if text:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
            return mapped or address, len(text)
    return None


def read_key(path: Path) -> bytes:
    """The key in ``path``: at least MIN_KEY_BYTES bytes (surrounding whitespace left out), a regular file that
    neither group nor others can read or write."""
    try:
        key = read_secret(path, MAX_KEY_BYTES, what="key")
    except FileNotFoundError:
        raise PseudonymError(f"key file {path} does not exist; create one with `seccenter pseudonym keygen "
                             f"{path}`") from None
    except OSError as error:
        raise PseudonymError(f"cannot open key file {path}: {error.strerror}") from None
    except SecretFileError as error:
        raise PseudonymError(f"key file {error}") from None
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymError(f"key file {path} holds {len(key)} bytes; a key needs at least {MIN_KEY_BYTES} "
                             f"(create one with `seccenter pseudonym keygen FILE`)")
    return key


def write_new_key(path: Path) -> None:
    """Create ``path`` (mode 0600, never over an existing file) holding a new random key: 32 bytes as hex."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise PseudonymError(f"{path} exists; a key is never overwritten (pseudonyms made with it could no longer "
                             "be linked to new ones)") from None
    except OSError as error:
        raise PseudonymError(f"cannot create key file {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(secrets.token_hex(32) + "\n")
