"""Apache/nginx access logs (combined, common and Apache's vhost_combined format) with Sigma's webserver field
names."""

from __future__ import annotations

import re

from seccenter.collect.interface import LineCollector, LineRejected
from seccenter.collect.timeparse import TimestampCache, clf_to_utc
from seccenter.events import Event, LogSource, Origin

_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'  # "unrolled loop": one regex step per run of plain characters
_COMBINED = (
    r"(\S+) (\S+) (\S+) \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    + _QUOTED + r" (\d{3}|-) (\d{1,20}|-)(?: " + _QUOTED + " " + _QUOTED + r")?(?P<extra>.*)$"
)
_LINE = re.compile("^" + _COMBINED)
# vhost_combined (Debian's other_vhosts_access.log): "%v:%p " before combined; tried only when _LINE fails,
# so the common formats pay nothing for it.
_VHOST_LINE = re.compile(r"^(\S+):(\d{1,5}) " + _COMBINED)
_REQUEST = re.compile(r"^([A-Za-z]+) (\S+)(?: (HTTP/[\d.]+))?$")

WEBSERVER = LogSource(category="webserver", service="access")


class AccessLogCollector(LineCollector):
    name = "access"

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self._time = TimestampCache(clf_to_utc)

    def parse_line(self, text: str, origin: Origin) -> Event:
        match = _LINE.match(text)
        vhost = None
        if match is None:
            match = _VHOST_LINE.match(text)
            if match is None:
                raise LineRejected("not an access log line (common, combined or vhost_combined format)")
            vhost, port, client, _ident, user, stamp, request, status, size, referer, agent, _extra = match.groups()
        else:
            client, _ident, user, stamp, request, status, size, referer, agent, _extra = match.groups()
        try:
            time = self._time(stamp)
        except (ValueError, KeyError, OverflowError) as error:
            raise LineRejected(f"invalid access log timestamp: {error}") from None
        fields: dict[str, object] = {"c-ip": client}
        if user != "-":
            fields["cs-username"] = user
        add_request_fields(request, fields)
        if status != "-":
            fields["sc-status"] = int(status)
        if size != "-":
            fields["sc-bytes"] = int(size)
        if referer is not None and referer != "-":
            fields["cs-referer"] = referer
        if agent is not None and agent != "-":
            fields["cs-user-agent"] = agent
        if vhost is not None:
            fields["cs-host"] = vhost[1:-1] if vhost.startswith("[") and vhost.endswith("]") else vhost
            fields["s-port"] = int(port)
        return Event(time, self.name, WEBSERVER, fields, text, origin)


def add_request_fields(request: str, fields: dict[str, object], keep_unsplit: bool = True) -> None:
    """Split an HTTP request line into cs-method, cs-uri-stem, cs-uri-query and cs-version; anything else that
    is not "-" is kept whole as cs-request (unless ``keep_unsplit`` is false: the caller keeps it itself)."""
    pieces = request.split(" ")
    if len(pieces) == 3 and pieces[2].startswith("HTTP/") and pieces[0].isalpha() and pieces[1]:
        method, target, version = pieces  # the common case, without a regex
    else:
        parts = _REQUEST.match(request)
        if parts is None:
            if keep_unsplit and request != "-":
                fields["cs-request"] = request  # e.g. a TLS handshake sent to a plain-HTTP port
            return
        method, target, version = parts.groups()
    stem, _, query = target.partition("?")
    fields["cs-method"] = method
    fields["cs-uri-stem"] = stem
    if query:
        fields["cs-uri-query"] = query
    if version:
        fields["cs-version"] = version
