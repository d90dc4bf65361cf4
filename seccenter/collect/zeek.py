"""Zeek logs, in both of Zeek's writers: tab-separated text (``zeek``) and JSON lines (``zeek_json``).

Fields keep Zeek's names (``id.orig_h``, ``query``, ``uri``…) and values (TSV values converted by ``#types``
to what Zeek's JSON writer gives: numbers, ``true``/``false``, lists for sets and vectors; escapes such as
``\\x00`` stay as Zeek wrote them, as Sigma's Zeek rules expect). Unset (``-``) and empty (``(empty)``) TSV
fields are left out. Added for Sigma:

- ``src_ip``, ``src_port``, ``dst_ip``, ``dst_port`` from ``id.orig_h``, ``id.orig_p``, ``id.resp_h``, ``id.resp_p``;
- http: ``c-uri`` (uri), ``c-uri-stem``, ``c-uri-query``, ``c-uri-extension``, ``cs-host`` (host),
  ``cs-method`` (method), ``c-useragent`` (user_agent), ``cs-referrer`` (referrer), ``sc-status`` (status_code);
- dns: ``query`` (Zeek's own name), ``record_type`` (qtype_name), ``answer`` (answers).

Logsource: product ``zeek``, service the log's path, and a category where Sigma has one:

=======  ==========  =========  ======================================================
path     service     category   note
=======  ==========  =========  ======================================================
conn     conn        –
dns      dns         dns        SigmaHQ's zeek dns rules and the generic dns rules
http     http        proxy      SigmaHQ's zeek http rules and the generic proxy rules
ssl      ssl         –
notice   notice      –
weird    weird       –
other    the path    –          smb_files, dce_rpc, kerberos, x509, files…
=======  ==========  =========  ======================================================

The path is ``#path`` (TSV) or ``_path`` (JSON); a JSON log without ``_path`` (Zeek's default) takes it from
its file name when that is a Zeek log name (``dns.log``, ``http.00:00:00-01:00:00.log.gz``), else it has none.
Time is ``ts`` (seconds since the epoch, or ISO 8601 with ``JSON::TS_ISO8601``).

TSV is stateful: rows are read with the ``#separator``/``#fields``/``#types`` header before them (a new
header, as in concatenated logs, replaces the old one). Resuming in the middle of a file first reads the
header lines from its start. Header and comment lines (``#open``, ``#close``) yield nothing; a row before
any ``#fields`` or with another number of columns is malformed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from seccenter.collect import interface
from seccenter.collect.interface import CollectOptions, LineCollector, LineRejected, Position, decode_line
from seccenter.collect.jsonlines import JsonObjectCollector, dns_fields, flatten, load_object, proxy_fields
from seccenter.collect.timeparse import iso_to_utc
from seccenter.events import Event, LogSource, Malformed, Origin

CATEGORIES = {"dns": "dns", "http": "proxy"}
"""Zeek log path → Sigma logsource category (the service is always the path)."""

LOG_NAMES = frozenset({
    "conn", "dns", "http", "ssl", "x509", "files", "notice", "notice_alarm", "weird", "dpd", "ftp", "smtp", "ssh",
    "rdp", "sip", "snmp", "dhcp", "ntlm", "kerberos", "smb_files", "smb_mapping", "dce_rpc", "tunnel", "software",
    "known_hosts", "known_services", "known_certs", "pe", "mysql", "radius", "irc", "modbus", "dnp3", "socks",
    "syslog", "ntp", "quic", "traceroute", "intel", "signatures", "capture_loss", "stats", "reporter",
    "packet_filter", "loaded_scripts", "analyzer", "websocket", "ldap", "ldap_search", "ocsp", "openflow",
    "netcontrol", "mqtt_connect", "mqtt_publish", "mqtt_subscribe", "rfb", "bacnet", "cip", "enip", "s7comm",
})
"""Zeek's log names, for taking a JSON log's path from its file name."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ADDRESS_ALIASES = (("id.orig_h", "src_ip"), ("id.orig_p", "src_port"), ("id.resp_h", "dst_ip"),
                    ("id.resp_p", "dst_port"))
_LOGSOURCES: dict[str | None, LogSource] = {}


def zeek_logsource(path: str | None) -> LogSource:
    found = _LOGSOURCES.get(path)
    if found is None:
        found = LogSource(product="zeek", category=CATEGORIES.get(path) if path else None, service=path)
        if len(_LOGSOURCES) < 1024:
            _LOGSOURCES[path] = found
    return found


def path_from_filename(filename: str) -> str | None:
    """``/var/log/zeek/dns.00:00:00-01:00:00.log.gz`` → ``dns``; None unless it names a Zeek log."""
    stem = os.path.basename(filename).split(".", 1)[0]
    return stem if stem in LOG_NAMES else None


def add_sigma_fields(fields: dict[str, Any], path: str | None) -> None:
    """Sigma's names beside Zeek's (see the module docstring)."""
    for zeek_name, sigma_name in _ADDRESS_ALIASES:
        if zeek_name in fields:
            fields[sigma_name] = fields[zeek_name]
    if path == "http":
        fields.update(proxy_fields(url=fields.get("uri"), host=fields.get("host"), method=fields.get("method"),
                                   user_agent=fields.get("user_agent"), status=fields.get("status_code"),
                                   referrer=fields.get("referrer")))
    elif path == "dns":
        fields.update(dns_fields(fields.get("query"), fields.get("qtype_name"), fields.get("answers")))


def ts_to_utc(value: Any) -> datetime:
    """Zeek's ``ts``: seconds since the epoch (number or text), or ISO 8601 text."""
    if isinstance(value, bool):
        raise ValueError("ts is a boolean")
    if isinstance(value, int | float):
        return _EPOCH + timedelta(seconds=value)
    if isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            return iso_to_utc(value, UTC)
        return _EPOCH + timedelta(seconds=seconds)
    raise ValueError("ts is not a time")


# --- JSON -----------------------------------------------------------------------------------------------


class ZeekJsonCollector(JsonObjectCollector):
    name = "zeek_json"

    sniff_prefix = re.compile(r'^\s*\{\s*"(?:ts|_path)"\s*:')

    def parse_line(self, text: str, origin: Origin) -> Event:
        record = load_object(text)
        if "ts" not in record:
            raise LineRejected("not a Zeek JSON log entry (needs ts and uid or _path)")
        path = record.get("_path")
        if not isinstance(path, str) or not path:
            path = path_from_filename(origin.path) if origin.path else None
            if path is None and not isinstance(record.get("uid"), str):
                raise LineRejected("not a Zeek JSON log entry (needs ts and uid or _path)")
        try:
            time = ts_to_utc(record["ts"])
        except (ValueError, OverflowError):
            raise LineRejected("invalid Zeek ts") from None
        fields = flatten(record)
        add_sigma_fields(fields, path)
        return Event(time, self.name, zeek_logsource(path), fields, text, origin)


# --- TSV ------------------------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_INT = re.compile(r"^-?\d{1,20}$")


def _unescape_separator(text: str) -> str:
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


def _as_int(value: str) -> Any:
    if _INT.match(value):
        number = int(value)
        if -(1 << 63) <= number < (1 << 64):
            return number
    return value


def _as_float(value: str) -> Any:
    try:
        number = float(value)
    except ValueError:
        return value
    return number if number - number == 0 else value  # inf and nan stay text


def _as_bool(value: str) -> Any:
    return True if value == "T" else False if value == "F" else value


_SCALARS: dict[str, Callable[[str], Any]] = {
    "count": _as_int, "int": _as_int, "port": _as_int, "double": _as_float, "time": _as_float,
    "interval": _as_float, "bool": _as_bool,
}


def _identity(value: str) -> str:
    return value


class _Header:
    """What the ``#`` lines of a Zeek TSV log said so far."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.separator = "\t"
        self.set_separator = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path: str | None = None
        self.names: list[str] | None = None
        self.types: list[str] | None = None
        self.columns: list[tuple[str, Callable[[str], Any]]] | None = None

    def directive(self, text: str) -> None:
        if text.startswith("#separator"):
            rest = text[len("#separator"):]
            self.reset()  # a new file's header (concatenated logs) starts afresh
            if rest[:1] in (" ", "\t"):
                self.separator = _unescape_separator(rest[1:]) or "\t"
            return
        name, _, value = text.partition(self.separator)
        if name == "#set_separator":
            self.set_separator = _unescape_separator(value) or ","
        elif name == "#empty_field":
            self.empty = value
        elif name == "#unset_field":
            self.unset = value
        elif name == "#path":
            self.path = value or None
        elif name == "#fields":
            self.names = value.split(self.separator)
            self.columns = None
        elif name == "#types":
            self.types = value.split(self.separator)
            self.columns = None

    def converters(self) -> list[tuple[str, Callable[[str], Any]]] | None:
        if self.columns is None and self.names is not None:
            types = self.types if self.types is not None and len(self.types) == len(self.names) else None
            self.columns = [(name, self._converter(types[index] if types else "string"))
                            for index, name in enumerate(self.names)]
        return self.columns

    def _converter(self, kind: str) -> Callable[[str], Any]:
        container, _, inner = kind.partition("[")
        if inner and container in ("set", "vector", "table"):
            element = _SCALARS.get(inner.rstrip("]"), _identity)
            set_separator, unset = self.set_separator, self.unset

            def split(value: str) -> list[Any]:
                return [element(item) for item in value.split(set_separator) if item != unset]

            return split
        return _SCALARS.get(kind, _identity)


class ZeekTsvCollector(LineCollector):
    name = "zeek"

    def __init__(self, options: CollectOptions | None = None) -> None:
        super().__init__(options)
        self._header = _Header()

    def sniff(self, head: bytes) -> bool:
        return head.removeprefix(b"\xef\xbb\xbf").startswith((b"#separator ", b"#separator\t"))

    def parse(self, stream: BinaryIO, path: str, position: Position) -> Iterator[Event | Malformed]:
        self._header = _Header()
        if position.offset > 0:
            self._restore_header(stream, position.offset)
            stream.seek(position.offset)
        for record in super().parse(stream, path, position):
            if record is not None:
                yield record

    def _restore_header(self, stream: BinaryIO, end: int) -> None:
        """Read the ``#`` lines before ``end`` as the line driver would have read them."""
        stream.seek(0)
        limit = interface.MAX_LINE_BYTES
        offset, at_line_start = 0, True
        while offset < end:
            data = stream.readline(min(limit, end - offset))
            if not data:
                return
            start = offset
            offset += len(data)
            whole = data.endswith(b"\n") or len(data) < limit  # the driver quarantines over-long lines
            if at_line_start and whole:
                body = data.rstrip(b"\r\n")
                if start == 0 and body.startswith(b"\xef\xbb\xbf"):
                    body = body[3:]
                if body.startswith(b"#"):
                    self._header.directive(decode_line(body))
            at_line_start = data.endswith(b"\n")

    def parse_line(self, text: str, origin: Origin) -> Event | None:  # type: ignore[override]
        """An event for a row; None for a header or comment line (which yields nothing)."""
        header = self._header
        if text.startswith("#"):
            header.directive(text)
            return None
        columns = header.converters()
        if columns is None:
            raise LineRejected("row before #fields header")
        values = text.split(header.separator)
        if len(values) != len(columns):
            raise LineRejected(f"row has {len(values)} columns, #fields names {len(columns)}")
        unset, empty = header.unset, header.empty
        fields: dict[str, Any] = {}
        for (name, convert), value in zip(columns, values, strict=True):
            if value != unset and value != empty:
                fields[name] = convert(value)
        stamp = fields.get("ts")
        if stamp is None:
            raise LineRejected("Zeek row without ts")
        try:
            time = ts_to_utc(stamp)
        except (ValueError, OverflowError):
            raise LineRejected("invalid Zeek ts") from None
        add_sigma_fields(fields, header.path)
        return Event(time, self.name, zeek_logsource(header.path), fields, text, origin)
