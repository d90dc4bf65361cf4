"""systemd journal exported with ``journalctl -o json`` (also ``-o json-seq``): one entry per line.

Time is ``__REALTIME_TIMESTAMP`` (microseconds since the epoch, as a string); an entry without it is not a
journal entry. Every journal field is kept under its own name as text: journald writes a binary value as a
list of byte values (decoded as UTF-8, Latin-1 where that fails), a field that occurs several times as a
list, and a value it left out for size as ``null`` (omitted here). On top come the names the syslog
collector uses:

=========  ===========================================  ==============================================
field      from                                          note
=========  ===========================================  ==============================================
host       ``_HOSTNAME``
process    ``SYSLOG_IDENTIFIER``, else ``_COMM``
pid        ``_PID``, else ``SYSLOG_PID``                 int
message    ``MESSAGE``
unit       ``_SYSTEMD_UNIT``
priority   ``PRIORITY``                                  int (0 emerg … 7 debug)
uid        ``_UID``                                      int
=========  ===========================================  ==============================================

Messages of authentication programs get the auth.log fields of ``seccenter.collect.auth`` (``user``,
``src_ip``, ``outcome``…), exactly as in syslog files; where both name a field (useradd's ``uid`` of the new
user) the message's field wins, the journal's own stays under ``_UID``. Logsource: product ``linux``,
service the program's base name (``sshd``, ``sudo``, ``cron``…).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from seccenter.collect.auth import auth_fields, program_base
from seccenter.collect.interface import CollectOptions, LineRejected, decode_line
from seccenter.collect.jsonlines import JsonObjectCollector, load_object
from seccenter.events import Event, LogSource, Origin

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LOGSOURCE_CACHE_LIMIT = 1024


def _decode_bytes(values: list[Any], name: str) -> str:
    for value in values:
        if value.__class__ is not int or not 0 <= value <= 255:
            raise LineRejected(f"journal field {name[:64]!r} is neither text nor a list of byte values")
    return decode_line(bytes(values))


def _journal_value(value: Any, name: str) -> str | list[str]:
    """A journal field's value as text; several values (a field repeated in one entry) as a list of text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if value and all(item.__class__ is not int for item in value):  # repeated field
            return [item if isinstance(item, str) else _decode_bytes(_as_list(item, name), name) for item in value]
        return _decode_bytes(value, name)
    raise LineRejected(f"journal field {name[:64]!r} is neither text nor a list of byte values")


def _as_list(item: Any, name: str) -> list[Any]:
    if not isinstance(item, list):
        raise LineRejected(f"journal field {name[:64]!r} is neither text nor a list of byte values")
    return item


def _first_text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) and value else None


def _small_int(value: Any) -> int | None:
    text = _first_text(value)
    if text is not None and text.isascii() and text.isdigit() and len(text) <= 10:
        return int(text)
    return None


class JournaldCollector(JsonObjectCollector):
    name = "journald"

    sniff_prefix = re.compile(r'(?<!\\)"__(?:CURSOR|REALTIME_TIMESTAMP)"\s*:\s*"')

    def __init__(self, options: CollectOptions | None = None) -> None:
        super().__init__(options)
        self._logsources: dict[str, LogSource] = {}

    def parse_line(self, text: str, origin: Origin) -> Event:
        entry = load_object(text[1:] if text.startswith("\x1e") else text)  # json-seq puts RS before each entry
        stamp = entry.get("__REALTIME_TIMESTAMP")
        if not isinstance(stamp, str) or not stamp.isascii() or not stamp.isdigit() or len(stamp) > 19:
            raise LineRejected("not a journald JSON entry (no __REALTIME_TIMESTAMP)")
        try:
            time = _EPOCH + timedelta(microseconds=int(stamp))
        except OverflowError:
            raise LineRejected("journald __REALTIME_TIMESTAMP out of range") from None
        fields: dict[str, Any] = {}
        for name, value in entry.items():
            if value is not None:
                fields[name] = _journal_value(value, name)
        host = _first_text(fields.get("_HOSTNAME"))
        if host is not None:
            fields["host"] = host
        process = _first_text(fields.get("SYSLOG_IDENTIFIER")) or _first_text(fields.get("_COMM"))
        if process is not None:
            fields["process"] = process
        pid = _small_int(fields.get("_PID"))
        if pid is None:
            pid = _small_int(fields.get("SYSLOG_PID"))
        if pid is not None:
            fields["pid"] = pid
        message = fields.get("MESSAGE")
        if message is not None:
            fields["message"] = message
        unit = _first_text(fields.get("_SYSTEMD_UNIT"))
        if unit is not None:
            fields["unit"] = unit
        for source, target in (("PRIORITY", "priority"), ("_UID", "uid")):
            number = _small_int(fields.get(source))
            if number is not None:
                fields[target] = number
        program = program_base(process) if process is not None else None
        if program is not None and isinstance(message, str):
            fields.update(auth_fields(program, message))
        return Event(time, self.name, self._logsource(program), fields, text, origin)

    def _logsource(self, program: str | None) -> LogSource:
        key = program or ""
        found = self._logsources.get(key)
        if found is None:
            if len(self._logsources) >= _LOGSOURCE_CACHE_LIMIT:
                self._logsources.clear()
            found = self._logsources[key] = LogSource(product="linux", service=program)
        return found
