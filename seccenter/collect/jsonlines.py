"""Generic JSON lines: one JSON object per line, nested objects flattened to dotted field names.

``{"a": {"b": 1}, "tags": ["x", 2]}`` becomes ``{"a.b": 1, "tags": ["x", 2]}``: field names are kept, lists
stay lists (a list item that is itself an object or list is kept as its compact JSON text), empty objects
vanish. Lines that are not a JSON object, nest deeper than ``MAX_DEPTH`` levels, hold numbers outside 64 bits,
``NaN``/``Infinity`` or an infinite float (``1e999``) are rejected as malformed. Control characters inside
strings are accepted (many loggers write raw tabs); a lone surrogate escape (``"\\ud800"``), which no UTF-8
encoder accepts, is kept as its escape text.

Event time, from the first of these fields (after flattening) that is present and readable:

1. ``@timestamp``   2. ``timestamp``   3. ``time``   4. ``TimeCreated``   5. ``UtcTime``
6. ``Event.System.TimeCreated.#attributes.SystemTime`` (``evtx_dump`` JSON)

A string is read as ISO 8601 / RFC 3339; without a zone it is in the configured zone (``CollectOptions.tz``,
else the local zone), except for the Windows fields 4–6, which Windows writes in UTC (Sysmon's
``UtcTime: 2026-11-01 10:00:00.000``). A number (or a string of 9+ digits) is seconds since the epoch;
above 1e11 milliseconds, above 1e14 microseconds, above 1e17 nanoseconds. PowerShell's ``/Date(ms)/`` is
read too. When no field gives a time the event gets the time it was read (ingest time).

Logsource: none, unless the object has ``Channel`` or ``EventID``: then ``windows_logsource`` (product
``windows``, service from the channel, category for Sysmon and PowerShell event ids), the same as the EVTX
collector's. An ``evtx_dump``-style object (``{"Event": {"System": {...}, "EventData": {...}}}``) gets the
EVTX collector's fields (``Image``, not ``Event.EventData.Image``), time and logsource.

``JsonDocumentsCollector`` (format ``json``) reads JSON objects one after another, pretty-printed or not,
and arrays of them (``evtx_dump -o json``, ``ConvertTo-Json``), each object as a JSON line would be read.

The helpers here (``load_object``, ``flatten``, ``JsonObjectCollector``, the Sigma taxonomy mappers) are
shared by the Suricata, Zeek and journald collectors.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, BinaryIO

import orjson

from seccenter.collect.evtx import event_fields, parse_time, windows_category, windows_service
from seccenter.collect.interface import (
    MAX_LINE_BYTES,
    QUARANTINE_KEEP_BYTES,
    LineCollector,
    LineRejected,
    Position,
    decode_line,
)
from seccenter.collect.timeparse import iso_to_utc
from seccenter.events import Event, LogSource, Malformed, Origin

MAX_DEPTH = 64
"""Deepest nesting of objects/lists accepted; the top-level object is level 1."""

_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1
_UTF8_BOM = b"\xef\xbb\xbf"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _reject_constant(name: str) -> Any:
    raise LineRejected(f"invalid JSON: {name} is not a JSON number")


_DECODER = json.JSONDecoder(strict=False, parse_constant=_reject_constant)
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def load_object(text: str) -> dict[str, Any]:
    """The JSON object on one line, or ``LineRejected`` saying why not (never another exception).

    orjson reads the ordinary line (several times faster); whatever it refuses (lone surrogates, raw control
    characters, integers beyond 64 bits, deep nesting, invalid JSON) goes through ``json``, whose verdict and
    messages count."""
    if not _LONG_DIGITS.search(text):  # orjson reads integers past 64 bits as floats: those take json's path
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            if isinstance(value, dict):
                return value
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise LineRejected(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except LineRejected:
        raise
    except json.JSONDecodeError as error:
        raise LineRejected(f"invalid JSON: {error.msg}") from None
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise LineRejected("JSON number too large") from None
    if not isinstance(value, dict):
        raise LineRejected(f"JSON {_json_type(value)} is not an object")
    if _SURROGATE_ESCAPE.search(text):
        try:
            value = _without_lone_surrogates(value)
        except RecursionError:
            raise LineRejected(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _without_lone_surrogates(value: Any) -> Any:
    """``"\\ud800"`` decodes to a lone surrogate, which no UTF-8 encoder (SQLite's included) accepts: it is kept
    as the escape text it was written as."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_without_lone_surrogates(key): _without_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array"


def checked_scalar(value: Any) -> Any:
    """A JSON scalar, refusing numbers that do not fit what the store and rules handle."""
    if value.__class__ is int:
        if not _INT_MIN <= value <= _INT_MAX:
            raise LineRejected("JSON number too large")
    elif value.__class__ is float and not math.isfinite(value):
        raise LineRejected("JSON number too large")
    return value


def flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """Nested objects become dotted names; lists stay lists (nested containers inside as JSON text)."""
    out: dict[str, Any] = {}
    _flatten_into(out, obj, "", 1)
    return out


def _flatten_into(out: dict[str, Any], obj: dict[str, Any], prefix: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise LineRejected(f"JSON nested deeper than {MAX_DEPTH} levels")
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict):
            _flatten_into(out, value, name + ".", depth + 1)
        elif isinstance(value, list):
            out[name] = _list_items(value, depth + 1)
        else:
            out[name] = checked_scalar(value)


def _list_items(items: list[Any], depth: int) -> list[Any]:
    if depth > MAX_DEPTH:
        raise LineRejected(f"JSON nested deeper than {MAX_DEPTH} levels")
    result = []
    for item in items:
        if isinstance(item, dict | list):
            _check_nested(item, depth + 1)
            result.append(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
        else:
            result.append(checked_scalar(item))
    return result


def _check_nested(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise LineRejected(f"JSON nested deeper than {MAX_DEPTH} levels")
    children = value.values() if isinstance(value, dict) else value
    for child in children:
        if isinstance(child, dict | list):
            _check_nested(child, depth + 1)
        else:
            checked_scalar(child)


# --- time -----------------------------------------------------------------------------------------------

_EPOCH_DIGITS = re.compile(r"^-?\d{9,20}(?:\.\d{1,9})?$")
_DOTNET_DATE = re.compile(r"^/Date\((-?\d{1,20})(?:[+-]\d{4})?\)/$")


def epoch_to_utc(number: float) -> datetime:
    """Seconds since the epoch, or milli/micro/nanoseconds when the number is too large for seconds."""
    magnitude = abs(number)
    if magnitude > 1e17:
        number /= 1e9
    elif magnitude > 1e14:
        number /= 1e6
    elif magnitude > 1e11:
        number /= 1e3
    return _EPOCH + timedelta(seconds=number)


def value_to_utc(value: Any, zone: tzinfo | None) -> datetime | None:
    """A timestamp field's value as UTC, or None when it is not a readable time."""
    try:
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int | float):
            return epoch_to_utc(value)
        if not isinstance(value, str):
            return None
        text = value.strip()
        if _EPOCH_DIGITS.match(text):
            return epoch_to_utc(float(text))
        dotnet = _DOTNET_DATE.match(text)
        if dotnet:
            return _EPOCH + timedelta(milliseconds=int(dotnet.group(1)))
        return iso_to_utc(text, zone)
    except (ValueError, OverflowError, OSError):
        return None


_TIME_FIELDS: tuple[tuple[str, bool], ...] = (
    ("@timestamp", False),
    ("timestamp", False),
    ("time", False),
    ("TimeCreated", True),
    ("UtcTime", True),
    ("Event.System.TimeCreated.#attributes.SystemTime", True),
)
"""(field, written in UTC by Windows) in order of precedence."""


def event_time(fields: dict[str, Any], zone: tzinfo | None) -> datetime:
    for name, windows in _TIME_FIELDS:
        if name in fields:
            found = value_to_utc(fields[name], UTC if windows else zone)
            if found is not None:
                return found
    return datetime.now(UTC)


# --- Windows logsource ----------------------------------------------------------------------------------

_WINDOWS_LOGSOURCES: dict[tuple[str | None, str | None], LogSource] = {}


def windows_logsource(channel: Any, event_id: Any = None, event_type: Any = None) -> LogSource:
    """Sigma logsource of a Windows event, exactly as the EVTX collector gives it: product ``windows``, the
    service for the channel and the category for Sysmon and PowerShell event ids (``evtx.windows_service`` and
    ``evtx.windows_category``: one table for both collectors)."""
    service = windows_service(channel) if isinstance(channel, str) else None
    if isinstance(event_id, str) and event_id.strip().isascii() and event_id.strip().isdigit() and len(event_id) <= 20:
        event_id = int(event_id)
    category = windows_category(service, event_id, event_type) if service else None
    key = (service, category)
    found = _WINDOWS_LOGSOURCES.get(key)
    if found is None:
        found = _WINDOWS_LOGSOURCES[key] = LogSource(product="windows", category=category, service=service)
    return found


# --- Sigma taxonomy for network logs (shared by suricata.py and zeek.py) --------------------------------


def proxy_fields(url: Any = None, host: Any = None, method: Any = None, user_agent: Any = None,
                 status: Any = None, referrer: Any = None) -> dict[str, Any]:
    """Sigma's proxy taxonomy names for one HTTP request (only for the values that are present)."""
    fields: dict[str, Any] = {}
    if isinstance(url, str) and url:
        fields["c-uri"] = url
        stem, _, query = url.partition("?")
        if "://" in stem:
            stem = "/" + stem.split("://", 1)[1].partition("/")[2]
        fields["c-uri-stem"] = stem
        if query:
            fields["c-uri-query"] = query
        last = stem.rsplit("/", 1)[-1]
        if "." in last:
            extension = last.rsplit(".", 1)[1]
            if extension:
                fields["c-uri-extension"] = extension
    for name, value in (("cs-host", host), ("cs-method", method), ("c-useragent", user_agent),
                        ("cs-referrer", referrer)):
        if isinstance(value, str) and value:
            fields[name] = value
    if isinstance(status, str) and status.isascii() and status.isdigit() and len(status) <= 3:
        status = int(status)
    if status.__class__ is int:
        fields["sc-status"] = status
    return fields


def dns_fields(query: Any = None, record_type: Any = None, answers: Any = None) -> dict[str, Any]:
    """Sigma's dns taxonomy names: ``query``, ``record_type``, ``answer`` (a list when there are several)."""
    fields: dict[str, Any] = {}
    if isinstance(query, str | list) and query:
        fields["query"] = query
    if isinstance(record_type, str | list) and record_type:
        fields["record_type"] = record_type
    if isinstance(answers, str | list) and answers:
        fields["answer"] = answers
    return fields


# --- collectors -----------------------------------------------------------------------------------------


class JsonObjectCollector(LineCollector):
    """A format with one JSON object per line; sniffing also copes with a first line longer than the head."""

    sniff_prefix: re.Pattern[str] = re.compile(r"^\s*\{\s*(?:\"|\})")
    """What the start of a line cut short by the sniffing head must look like for this format."""

    def sniff(self, head: bytes) -> bool:
        if head.startswith(_UTF8_BOM):
            head = head[len(_UTF8_BOM):]
        lines = [line.rstrip(b"\r") for line in head.split(b"\n")[: self.sniff_lines * 4] if line.strip()]
        if not lines:
            return False
        if not head.endswith(b"\n"):
            if len(lines) == 1:  # a one-line file, or one line longer than the head: judge its beginning
                text = decode_line(lines[0])
                try:
                    self.parse_line(text, Origin("", 0, 0))
                    return True
                except LineRejected:
                    return self.sniff_prefix.search(text) is not None
            lines = lines[:-1]
        lines = lines[: self.sniff_lines]
        accepted = 0
        for raw in lines:
            try:
                self.parse_line(decode_line(raw), Origin("", 0, 0))
                accepted += 1
            except LineRejected:
                pass
        return accepted * 2 > len(lines)


class JsonLinesCollector(JsonObjectCollector):
    name = "jsonl"

    def parse_line(self, text: str, origin: Origin) -> Event:
        value = load_object(text)
        windows = value.get("Event")
        if windows.__class__ is dict and windows.get("System").__class__ is dict:
            return self._windows_event(windows, text, origin)
        fields = flatten(value)
        time = event_time(fields, self.options.tz)
        return Event(time, self.name, self._logsource(fields), fields, text, origin)

    def _windows_event(self, event: dict[str, Any], text: str, origin: Origin) -> Event:
        """An ``evtx_dump`` (or Get-WinEvent XML as JSON) record: the EVTX collector's fields and logsource."""
        fields = {name: _list_items(value, 2) if value.__class__ is list else checked_scalar(value)
                  for name, value in event_fields(event).items()}
        created = event["System"].get("TimeCreated")
        time = parse_time(created.get("#attributes", {}).get("SystemTime") if created.__class__ is dict else None)
        if time is None:
            time = event_time(fields, self.options.tz)
        else:
            fields.setdefault("TimeCreated", time.isoformat())
        return Event(time, self.name, windows_logsource(fields.get("Channel"), fields.get("EventID"),
                                                        fields.get("EventType")), fields, text, origin)

    @staticmethod
    def _logsource(fields: dict[str, Any]) -> LogSource:
        channel = fields.get("Channel")
        event_id = fields.get("EventID")
        if channel is not None or event_id is not None:
            return windows_logsource(channel, event_id, fields.get("EventType"))
        return _NO_LOGSOURCE


_NO_LOGSOURCE = LogSource()


_STRUCTURE = re.compile(rb'["{}\[\]]')
_IN_STRING = re.compile(rb'["\\]')
_EVTX_DUMP_HEADER = re.compile(rb"^\s*Record \d+\s*$")
MAX_DOCUMENT_BYTES = 16 << 20
"""A JSON object longer than this is quarantined (its start kept) instead of being held in memory whole."""


def _blank(data: bytes) -> bool:
    """Nothing but white space, commas between objects and byte-order marks (as whole marks, not their bytes)."""
    return not data.replace(_UTF8_BOM, b"").strip(b" \t\r\n,")


class JsonDocumentsCollector(JsonLinesCollector):
    """JSON objects one after another, pretty-printed or not, or arrays of them: ``evtx_dump -o json`` (also
    with its ``Record N`` lines), SigmaHQ's regression samples, ``ConvertTo-Json`` exports.

    Each object becomes one event exactly as a JSON line would (``JsonLinesCollector.parse_line``); an
    array's items are the objects. Whatever is not an object (text between objects, an array item that is no
    object) is malformed, never skipped. ``Origin`` is the byte offset and line of the object's first byte. The
    position advances past each top-level object, and past an array only when it is closed: an array read
    half-way is read again from its start, and the store keeps each event once by its origin offset.
    """

    name = "json"

    def sniff(self, head: bytes) -> bool:
        if head.startswith(_UTF8_BOM):
            head = head[len(_UTF8_BOM):]
        text = head.lstrip()
        if not text.startswith((b"{", b"[")) or b"\n" not in text.rstrip():
            return False
        for record in self.parse(io.BytesIO(head), "", Position()):
            if isinstance(record, Event):
                return True
            if not record.reason.startswith("JSON cut short"):
                return False
        return re.match(rb'[\[{]\s*[{"]', text) is not None  # a first object longer than the head

    def parse(self, stream: BinaryIO, path: str, position: Position) -> Iterator[Event | Malformed]:
        offset, line_no = position.offset, position.line
        if offset:
            stream.seek(offset)
        depth, in_string, top = 0, False, b""
        start = start_line = 0  # where the object being read starts
        opened = opened_line = 0  # where the top-level object or array being read starts
        buffer, buffer_at = bytearray(), offset  # the bytes read since ``buffer_at`` that may still be needed
        too_long = False
        while True:
            data = stream.readline(MAX_LINE_BYTES)
            if not data:
                break
            if self.options.wait_for_newline and not data.endswith(b"\n") and len(data) < MAX_LINE_BYTES:
                break
            base = offset
            offset += len(data)
            line_no += 1
            if depth == 0 and _blank(data):
                position.offset, position.line = offset, line_no
                buffer.clear()
                buffer_at = offset
                continue
            if depth == 0 and _EVTX_DUMP_HEADER.match(data):
                position.offset, position.line = offset, line_no
                buffer.clear()
                buffer_at = offset
                continue
            if not too_long:
                buffer += data
            index = 0
            # where text outside any object starts on this line (between an array's items too); None inside one
            outside = 0 if depth == 0 or (depth == 1 and top == b"[") else None
            while True:
                if in_string:
                    found = _IN_STRING.search(data, index)
                    if found is None:
                        break
                    index = found.end() + (1 if found.group() == b"\\" else 0)
                    in_string = found.group() != b'"'
                    continue
                found = _STRUCTURE.search(data, index)
                if found is None:
                    break
                char, at = found.group(), found.start()
                index = found.end()
                if char == b'"':
                    in_string = True  # outside any object, a string is text outside, reported with it
                elif char in b"{[":
                    if depth == 0:
                        top, opened, opened_line = char, base + at, line_no
                    if outside is not None:
                        if not _blank(data[outside:at]):
                            yield self._reject(path, base + outside, line_no, data[outside:at],
                                               "not a JSON object" if depth else "not a JSON object or array")
                        outside = None
                    if depth == (0 if top == b"{" else 1):
                        start, start_line, too_long = base + at, line_no, False
                        del buffer[:start - buffer_at]
                        buffer_at = start
                    depth += 1
                    if depth == 1 and top == b"[":
                        outside = index
                elif depth > 0:  # (a closing bracket outside any object is text outside)
                    if outside is not None:  # an array closes: the text after its last item
                        if not _blank(data[outside:at]):
                            yield self._reject(path, base + outside, line_no, data[outside:at],
                                               "not a JSON object")
                        outside = None
                    depth -= 1
                    if depth == (0 if top == b"{" else 1):  # an item is complete (one that is no object too)
                        end = base + found.end()
                        yield self._object(path, start, start_line, buffer[:end - buffer_at], too_long)
                        del buffer[:end - buffer_at]
                        buffer_at = end
                    if depth == 0 or (depth == 1 and top == b"["):
                        outside = index
            if outside is not None and not _blank(data[outside:]):
                yield self._reject(path, base + outside, line_no, data[outside:],
                                   "not a JSON object" if depth else "not a JSON object or array")
            if depth == 0:  # a line boundary with no object open: reading can resume here, nothing read is needed
                position.offset, position.line = offset, line_no
                buffer.clear()
                buffer_at, too_long = offset, False
            if not too_long and len(buffer) > MAX_DOCUMENT_BYTES:
                too_long = True
                buffer = bytearray(buffer[:QUARANTINE_KEEP_BYTES])
        if depth > 0 and not self.options.wait_for_newline:
            if depth == 1 and top == b"[":  # its items are read: only the closing bracket is missing
                yield self._reject(path, opened, opened_line, b"", "JSON cut short at the end of the file (an array "
                                                                   "not closed)")
            else:
                yield self._reject(path, start, start_line, bytes(buffer[:QUARANTINE_KEEP_BYTES]),
                                   "JSON cut short at the end of the file")
            position.offset, position.line = offset, line_no

    def _object(self, path: str, start: int, line: int, data: bytearray, too_long: bool) -> Event | Malformed:
        if too_long:
            return self._reject(path, start, line, bytes(data), f"JSON object longer than {MAX_DOCUMENT_BYTES} bytes")
        text = decode_line(bytes(data))
        try:
            return self.parse_line(text, Origin(path, start, line))
        except LineRejected as rejected:
            return self._reject(path, start, line, bytes(data), str(rejected))

    @staticmethod
    def _reject(path: str, offset: int, line: int, data: bytes, reason: str) -> Malformed:
        return Malformed(Origin(path, offset, line), reason, data[:QUARANTINE_KEEP_BYTES], len(data))
