"""Syslog as written to files: RFC 3164 (``Mmm dd hh:mm:ss host tag[pid]: msg``) and the RFC 3339 stamps
of Debian's rsyslog, with auth.log semantics for authentication programs."""

from __future__ import annotations

import re

from seccenter.collect.auth import auth_fields, program_base
from seccenter.collect.interface import CollectOptions, LineCollector, LineRejected
from seccenter.collect.timeparse import TimestampCache, iso_to_utc, rfc3164_converter
from seccenter.events import Event, LogSource, Origin

_HEADER = re.compile(
    r"^(?:<(?P<pri>\d{1,3})>)?"
    r"(?:(?P<bsd>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d)"
    r"|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?))"
    r" (?P<host>\S+) ?(?P<rest>.*)$",
    re.DOTALL,
)
_TAG = re.compile(r"^(?P<program>[^\s\[:]+)(?:\[(?P<pid>\d{1,10})\])?: ?(?P<message>.*)$", re.DOTALL)


class SyslogCollector(LineCollector):
    name = "syslog"

    def __init__(self, options: CollectOptions | None = None) -> None:
        super().__init__(options)
        self._bsd_time = TimestampCache(rfc3164_converter(self.options.tz, self.options.year))
        self._iso_time = TimestampCache(lambda text: iso_to_utc(text, self.options.tz))
        self._logsources: dict[str, LogSource] = {}

    def parse_line(self, text: str, origin: Origin) -> Event:
        header = _HEADER.match(text)
        if header is None:
            raise LineRejected("not a syslog line (RFC 3164 or RFC 3339 timestamp, host, message)")
        bsd = header["bsd"]
        try:
            time = self._bsd_time(bsd) if bsd else self._iso_time(header["iso"])
        except (ValueError, OverflowError) as error:
            raise LineRejected(f"invalid syslog timestamp: {error}") from None
        fields: dict[str, object] = {"host": header["host"]}
        if header["pri"] is not None:
            priority = int(header["pri"])
            fields["facility"], fields["severity"] = priority >> 3, priority & 7
        rest = header["rest"]
        tag = _TAG.match(rest)
        if tag is None:
            fields["message"] = rest
            program = None
        else:
            program = program_base(tag["program"])
            fields["process"] = tag["program"]
            if tag["pid"] is not None:
                fields["pid"] = int(tag["pid"])
            fields["message"] = tag["message"]
            fields.update(auth_fields(program, tag["message"]))
        return Event(time, self.name, self._logsource(program), fields, text, origin)

    def _logsource(self, program: str | None) -> LogSource:
        """Sigma names Linux services after the program (sshd, sudo, cron…)."""
        key = program or ""
        found = self._logsources.get(key)
        if found is None:
            found = LogSource(product="linux", service=program)
            self._logsources[key] = found
        return found
