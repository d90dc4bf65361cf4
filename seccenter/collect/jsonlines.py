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

Logsource: none, unless the object has ``Channel`` or ``EventID`` (also as ``Event.System.*``): then
``windows_logsource`` (product ``windows``, service from the channel, category for Sysmon event ids).

The helpers here (``load_object``, ``flatten``, ``JsonObjectCollector``, the Sigma taxonomy mappers) are
shared by the Suricata, Zeek and journald collectors.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from seccenter.collect.interface import LineCollector, LineRejected, decode_line
from seccenter.collect.timeparse import iso_to_utc
from seccenter.events import Event, LogSource, Origin

MAX_DEPTH = 64
"""Deepest nesting of objects/lists accepted; the top-level object is level 1."""

_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1
_UTF8_BOM = b"\xef\xbb\xbf"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _reject_constant(name: str) -> Any:
    raise LineRejected(f"invalid JSON: {name} is not a JSON number")


_DECODER = json.JSONDecoder(strict=False, parse_constant=_reject_constant)


def load_object(text: str) -> dict[str, Any]:
    """The JSON object on one line, or ``LineRejected`` saying why not (never another exception)."""
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

_WINDOWS_SERVICES = {
    "security": "security",
    "system": "system",
    "application": "application",
    "microsoft-windows-sysmon/operational": "sysmon",
    "microsoft-windows-powershell/operational": "powershell",
    "powershellcore/operational": "powershell",
    "windows powershell": "powershell-classic",
    "microsoft-windows-taskscheduler/operational": "taskscheduler",
    "microsoft-windows-wmi-activity/operational": "wmi",
    "microsoft-windows-windows defender/operational": "windefend",
    "microsoft-windows-ntlm/operational": "ntlm",
    "microsoft-windows-bits-client/operational": "bits-client",
    "microsoft-windows-codeintegrity/operational": "codeintegrity-operational",
    "microsoft-windows-windows firewall with advanced security/firewall": "firewall-as",
    "dns server": "dns-server",
    "openssh/operational": "openssh",
}
"""Windows event log channel (case-folded) → Sigma service, as SigmaHQ's windows pipeline names them."""

_SYSMON_CATEGORIES = {
    1: "process_creation", 2: "file_change", 3: "network_connection", 5: "process_termination",
    6: "driver_load", 7: "image_load", 8: "create_remote_thread", 9: "raw_access_thread", 10: "process_access",
    11: "file_event", 12: "registry_event", 13: "registry_set", 14: "registry_rename", 15: "create_stream_hash",
    17: "pipe_created", 18: "pipe_created", 19: "wmi_event", 20: "wmi_event", 21: "wmi_event", 22: "dns_query",
    23: "file_delete", 25: "process_tampering", 26: "file_delete",
}
"""Sysmon event id → Sigma category (SigmaHQ's rules for Sysmon select on these, not on service sysmon)."""

_WINDOWS_LOGSOURCES: dict[tuple[str | None, str | None], LogSource] = {}


def windows_logsource(channel: Any, event_id: Any = None) -> LogSource:
    """Sigma logsource of a Windows event: product ``windows``; service from the channel (Security → security,
    System → system, Application → application, Sysmon → sysmon, PowerShell/Operational → powershell,
    "Windows PowerShell" → powershell-classic, a few more; unknown → None); for Sysmon also the category."""
    service = _WINDOWS_SERVICES.get(channel.casefold()) if isinstance(channel, str) else None
    category = None
    if service == "sysmon":
        try:
            category = _SYSMON_CATEGORIES.get(int(event_id))
        except (TypeError, ValueError, OverflowError):
            category = None
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
    if isinstance(status, str) and status.isdigit() and len(status) <= 3:
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
        fields = flatten(load_object(text))
        time = event_time(fields, self.options.tz)
        return Event(time, self.name, self._logsource(fields), fields, text, origin)

    @staticmethod
    def _logsource(fields: dict[str, Any]) -> LogSource:
        for prefix in ("", "Event.System."):
            channel = fields.get(prefix + "Channel")
            event_id = fields.get(prefix + "EventID", fields.get(prefix + "EventID.#text"))
            if channel is not None or event_id is not None:
                return windows_logsource(channel, event_id)
        return _NO_LOGSOURCE


_NO_LOGSOURCE = LogSource()
