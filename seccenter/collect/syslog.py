"""Syslog as written to files: RFC 3164 (``Mmm dd hh:mm:ss host tag[pid]: msg``), the RFC 3339 stamps of
Debian's rsyslog, and RFC 5424 (``<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG``), with auth.log semantics
for authentication programs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from seccenter.collect.auth import auth_fields, program_base
from seccenter.collect.interface import CollectOptions, LineCollector, LineRejected
from seccenter.collect.timeparse import TimestampCache, iso_to_utc, rfc3164_converter
from seccenter.events import Event, LogSource, Origin

MAX_PRI = 191
"""Facility 23, severity 7: the largest priority RFC 3164 and RFC 5424 allow."""

# Header and tag in one regex: one match per line on the common path. Without a "program[pid]:" tag the
# whole rest of the line is the message.
_LINE = re.compile(
    r"(?:<(\d{1,3})>)?"
    r"(?:((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d)"
    r"|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?))"
    r" (\S+) ?(?:([^\s\[:]+)(?:\[(\d{1,10})\])?: ?)?(.*)",
    re.DOTALL,
)

# RFC 5424: "<PRI>VERSION " tells it apart (RFC 3164 and rsyslog stamps never have a number and a space right
# after the priority); the six header fields are single tokens, "-" when nil.
_looks_5424 = re.compile(r"<\d{1,3}>\d{1,3} ").match
_5424_HEADER = re.compile(
    r"^<(?P<pri>\d{1,3})>(?P<version>\d{1,3}) (?P<stamp>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+)"
    r" (?P<msgid>\S+) (?P<rest>.*)$",
    re.DOTALL,
)
_5424_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)?$")
_SD_NAME = r'[^\s=\]"]+'  # RFC 5424 caps names at 32 characters; longer ones are kept, not rejected
_SD_ID = re.compile(r"\[(" + _SD_NAME + r")(?=[ \]]|$)")
_SD_PARAM = re.compile(r" (" + _SD_NAME + r')="((?:[^"\\]|\\.)*)"', re.DOTALL)
_SD_PARAM_OPEN = re.compile(r" " + _SD_NAME + '="')
_SD_UNESCAPE = re.compile(r'\\(["\\\]])')
_BOMS = ("\ufeff", "\xef\xbb\xbf")  # decoded as UTF-8, or as Latin-1 when the rest of the line is not UTF-8


class SyslogCollector(LineCollector):
    name = "syslog"

    def __init__(self, options: CollectOptions | None = None) -> None:
        super().__init__(options)
        self._bsd_time = TimestampCache(rfc3164_converter(self.options.tz, self.options.year))
        self._iso_time = TimestampCache(lambda text: iso_to_utc(text, self.options.tz))
        self._logsources: dict[str, LogSource] = {}

    def parse_line(self, text: str, origin: Origin) -> Event:
        header = _LINE.fullmatch(text)
        if header is None:
            # RFC 3164 and rsyslog lines go first and pay nothing for RFC 5424: its "<PRI>1 " never fits _HEADER.
            if text.startswith("<") and _looks_5424(text):
                return self._parse_5424(text, origin)
            raise LineRejected("not a syslog line (RFC 3164 or RFC 3339 timestamp, host, message)")
        pri, bsd, iso, host, process, pid, message = header.groups()
        try:
            time = self._bsd_time(bsd) if bsd else self._iso_time(iso)
        except (ValueError, OverflowError) as error:
            raise LineRejected(f"invalid syslog timestamp: {error}") from None
        fields: dict[str, object] = {"host": host}
        if pri is not None:
            priority = int(pri)
            if priority > MAX_PRI:
                raise LineRejected(f"invalid syslog priority <{priority}> (at most {MAX_PRI})")
            fields["facility"], fields["severity"] = priority >> 3, priority & 7
        program = None
        if process is not None:
            program = program_base(process)
            fields["process"] = process
            if pid is not None:
                fields["pid"] = int(pid)
        fields["message"] = message
        if program is not None:
            fields.update(auth_fields(program, message))
        return Event(time, self.name, self._logsource(program), fields, text, origin)

    def _parse_5424(self, text: str, origin: Origin) -> Event:
        header = _5424_HEADER.match(text)
        if header is None:
            raise LineRejected("incomplete RFC 5424 header (PRI, VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, "
                               "MSGID, STRUCTURED-DATA)")
        if header["version"] != "1":
            raise LineRejected(f"unsupported syslog protocol version {header['version']} (RFC 5424 is version 1)")
        priority = int(header["pri"])
        if priority > MAX_PRI:
            raise LineRejected(f"invalid syslog priority <{priority}> (at most {MAX_PRI})")
        fields: dict[str, object] = {"facility": priority >> 3, "severity": priority & 7}
        time = self._time_5424(header["stamp"], fields)
        host, app, procid, msgid = header.group("host", "app", "procid", "msgid")
        if host != "-":
            fields["host"] = host
        if app != "-":
            fields["process"] = app
        if procid != "-":
            if procid.isascii() and procid.isdigit() and len(procid) <= 10:
                fields["pid"] = int(procid)
            else:
                fields["procid"] = procid
        if msgid != "-":
            fields["msgid"] = msgid
        message = _structured_data(text, header.start("rest"), fields)
        if message.startswith(_BOMS):
            message = message[1:] if message[0] == "\ufeff" else message[3:]
        fields["message"] = message
        program = None
        if app != "-":
            program = program_base(app)
            fields.update(auth_fields(program, message))
        return Event(time, self.name, self._logsource(program), fields, text, origin)

    def _time_5424(self, stamp: str, fields: dict[str, object]) -> datetime:
        if stamp == "-":  # the sender had no clock: the time it is read is the best there is
            fields["time_missing"] = True
            return datetime.now(UTC)
        if not _5424_STAMP.match(stamp):
            raise LineRejected(f"invalid RFC 5424 timestamp {stamp[:40]!r} (expected RFC 3339, e.g. "
                               "2003-10-11T22:14:15.003Z)")
        try:
            return self._iso_time(stamp)
        except (ValueError, OverflowError) as error:
            raise LineRejected(f"invalid RFC 5424 timestamp {stamp[:40]!r}: {error}") from None

    def _logsource(self, program: str | None) -> LogSource:
        """Sigma names Linux services after the program (sshd, sudo, cron…)."""
        key = program or ""
        found = self._logsources.get(key)
        if found is None:
            found = LogSource(product="linux", service=program)
            self._logsources[key] = found
        return found


def _structured_data(text: str, position: int, fields: dict[str, object]) -> str:
    """Read the RFC 5424 STRUCTURED-DATA at ``position`` into ``sd.<SD-ID>.<PARAM>`` fields; return the MSG."""
    end = len(text)  # positions, and the columns in reasons, count from the start of the line
    if text.startswith("-", position):
        if position + 1 == end:
            return ""
        if text[position + 1] == " ":
            return text[position + 2:]
        raise LineRejected("structured data must be '-' or [SD-ELEMENT]… followed by a space")
    if not text.startswith("[", position):
        raise LineRejected("missing RFC 5424 structured data ('-' or [SD-ELEMENT])")
    while position < end and text[position] == "[":
        element = _SD_ID.match(text, position)
        if element is None:
            raise LineRejected(f"invalid SD-ID in structured data at column {position + 1}")
        sd_id = element[1]
        position = element.end()
        while True:
            param = _SD_PARAM.match(text, position)
            if param is None:
                break
            name, value = param.groups()
            if "\\" in value:
                value = _SD_UNESCAPE.sub(r"\1", value)
            _add_field(fields, f"sd.{sd_id}.{name}", value)
            position = param.end()
        if position < end and text[position] == "]":
            position += 1
            continue
        if position == end or _SD_PARAM_OPEN.match(text, position) or text.find("]", position) < 0:
            raise LineRejected(f"unterminated structured data element [{sd_id[:40]} (no closing ']')")
        raise LineRejected(f"invalid SD-PARAM syntax in [{sd_id[:40]}] at column {position + 1} "
                           '(expected name="value" or "]")')
    if position == end:
        return ""
    if text[position] != " ":
        raise LineRejected(f"structured data must be followed by a space, not {text[position]!r}")
    return text[position + 1:]


def _add_field(fields: dict[str, object], name: str, value: str) -> None:
    """A PARAM-NAME may repeat within an element: its values then become a list, in order."""
    found = fields.get(name)
    if found is None:
        fields[name] = value
    elif isinstance(found, list):
        found.append(value)
    else:
        fields[name] = [found, value]
