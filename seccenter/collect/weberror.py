"""Web server error logs: Apache 2.2 and 2.4 (``[date] [module:level] [pid P:tid T] [client A] AHnnnnn: msg``)
and nginx (``yyyy/mm/dd hh:mm:ss [level] pid#tid: *conn msg, client: A, server: S, request: "…"``).

Neither format carries a time zone: stamps are read in the configured zone, else the local one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from seccenter.collect.access import add_request_fields
from seccenter.collect.interface import CollectOptions, LineCollector, LineRejected
from seccenter.collect.timeparse import MONTHS, TimestampCache, in_zone
from seccenter.events import Event, LogSource, Origin

APACHE_ERROR = LogSource(product="apache", category="webserver", service="error")
NGINX_ERROR = LogSource(product="nginx", category="webserver", service="error")

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_APACHE = re.compile(
    r"^\[(?P<time>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + _MONTH + r" [ \d]\d \d\d:\d\d:\d\d(?:\.\d{1,6})? \d{4})\] "
    # 2.4 writes "[module:level]", with an empty module for messages from outside a module ("[:error]")
    r"\[(?:(?P<module>[\w.-]*):)?(?P<level>emerg|alert|crit|error|warn|notice|info|debug|trace[1-8])\]"
    r"(?: \[pid (?P<pid>\d{1,10})(?::tid (?P<tid>\d{1,20}))?\]"
    r"(?: (?P<source_file>[^\s\[\]()]+\(\d{1,9}\)):)?"  # %7F, only at LogLevel debug: "core.c(4270):"
    r"(?: \((?P<os_errno>\d{1,9})\)(?P<os_error>[^:\[\]]*):)?"  # %E: "(13)Permission denied:"
    r")?"
    r"(?: \[client (?P<client>\[[^\]\s]*\](?::\d{1,5})?|[^\]\s]+)\])?"
    r"(?: (?:(?P<error_code>AH\d{5}): )?(?P<message>.*))?$",
    re.DOTALL,
)
_NGINX = re.compile(
    r"^(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>debug|info|notice|warn|error|crit|alert|emerg)\] "
    r"(?P<pid>\d{1,10})#(?P<tid>\d{1,20}): (?:\*(?P<connection>\d{1,20}) )?(?P<message>.*)$",
    re.DOTALL,
)
# nginx appends the request context in a fixed order. The message before it may quote attacker-chosen text
# (a decoded URI), but nginx's own words follow that text, so the first ", client: " from which the whole rest
# of the line reads as a context is nginx's own.
_NGINX_CONTEXT = re.compile(
    r"^(?P<message>.*?), client: (?P<client>[^\s,]+), server: (?P<server>[^,]*)"
    r'(?:, request: "(?P<request>[^"]*)")?(?:, subrequest: "(?P<subrequest>[^"]*)")?'
    r'(?:, upstream: "(?P<upstream>[^"]*)")?(?:, host: "(?P<host>[^"]*)")?(?:, referrer: "(?P<referrer>[^"]*)")?$',
    re.DOTALL,
)
# Other modules (stream, mail) add their own items: then only client and server are taken, the message is whole.
_NGINX_CLIENT = re.compile(r", client: (?P<client>[^\s,]+)(?:, server: (?P<server>[^,]*))?")


def _apache_converter(zone: tzinfo | None):
    """``Sun Dec 04 04:47:44 2005`` or, from 2.4, ``Wed Oct 11 14:32:52.123456 2000``."""

    def convert(text: str) -> datetime:
        month, day = MONTHS[text[4:7]], int(text[8:10])
        hour, minute, second = int(text[11:13]), int(text[14:16]), int(text[17:19])
        micro = int(text[20:-5].ljust(6, "0")) if text[19] == "." else 0
        return in_zone(datetime(int(text[-4:]), month, day, hour, minute, second, micro), zone).astimezone(UTC)

    return convert


def _nginx_converter(zone: tzinfo | None):
    """``2026/11/24 10:00:00``."""

    def convert(text: str) -> datetime:
        stamp = datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]),
                         int(text[17:19]))
        return in_zone(stamp, zone).astimezone(UTC)

    return convert


class WebErrorCollector(LineCollector):
    name = "weberror"

    def __init__(self, options: CollectOptions | None = None) -> None:
        super().__init__(options)
        zone = self.options.tz
        self._apache_time = TimestampCache(_apache_converter(zone))
        self._nginx_time = TimestampCache(_nginx_converter(zone))

    def parse_line(self, text: str, origin: Origin) -> Event:
        if text.startswith("["):
            return self._apache(text, origin)
        if text[:1].isdigit():
            return self._nginx(text, origin)
        raise LineRejected("not a web server error log line (Apache: '[date] [level] …', nginx: "
                           "'yyyy/mm/dd hh:mm:ss [level] pid#tid: …')")

    def _apache(self, text: str, origin: Origin) -> Event:
        match = _APACHE.match(text)
        if match is None:
            raise LineRejected("not an Apache error log line ('[Www Mmm dd hh:mm:ss yyyy] [level] message', "
                               "2.4: '[module:level] [pid P:tid T] [client A:P] …')")
        time = _convert(self._apache_time, match["time"])
        fields: dict[str, object] = {"level": match["level"]}
        module, pid, tid = match.group("module", "pid", "tid")
        if module:
            fields["module"] = module
        if pid is not None:
            fields["pid"] = int(pid)
        if tid is not None:
            fields["tid"] = int(tid)
        if match["source_file"] is not None:
            fields["source_file"] = match["source_file"]
        if match["os_errno"] is not None:
            fields["os_errno"] = int(match["os_errno"])
            fields["os_error"] = match["os_error"]
        message = match["message"] or ""
        client = match["client"]
        if client is not None:
            # Apache 2.4 always adds the port ("[client ::1:50470]", IPv6 without brackets); 2.2 never does.
            address, port = _split_client(client, port_expected=module is not None or pid is not None)
            fields["c-ip"] = address
            if port is not None:
                fields["c-port"] = port
            head, found, referer = message.rpartition(", referer: ")
            if found:
                message = head
                fields["cs-referer"] = referer
        if match["error_code"] is not None:
            fields["error_code"] = match["error_code"]
        fields["message"] = message
        return Event(time, self.name, APACHE_ERROR, fields, text, origin)

    def _nginx(self, text: str, origin: Origin) -> Event:
        match = _NGINX.match(text)
        if match is None:
            raise LineRejected("not an nginx error log line ('yyyy/mm/dd hh:mm:ss [level] pid#tid: message')")
        time = _convert(self._nginx_time, match["time"])
        fields: dict[str, object] = {"level": match["level"], "pid": int(match["pid"]), "tid": int(match["tid"])}
        if match["connection"] is not None:
            fields["connection"] = int(match["connection"])
        message = match["message"]
        if ", client: " in message:
            context = _NGINX_CONTEXT.match(message)
            if context is not None:
                message = context["message"]
                fields["c-ip"] = context["client"]
                fields["server"] = context["server"]
                request = context["request"]
                if request is not None:
                    fields["request"] = request
                    add_request_fields(request, fields, keep_unsplit=False)
                for group, name in (("subrequest", "subrequest"), ("upstream", "upstream"), ("host", "cs-host"),
                                    ("referrer", "cs-referer")):
                    if context[group] is not None:
                        fields[name] = context[group]
            else:
                loose = _NGINX_CLIENT.search(message)
                if loose is not None:
                    fields["c-ip"] = loose["client"]
                    if loose["server"] is not None:
                        fields["server"] = loose["server"]
        fields["message"] = message
        return Event(time, self.name, NGINX_ERROR, fields, text, origin)


def _convert(cache: TimestampCache, stamp: str) -> datetime:
    try:
        return cache(stamp)
    except (ValueError, KeyError, OverflowError) as error:
        raise LineRejected(f"invalid error log timestamp {stamp!r}: {error}") from None


def _split_client(client: str, port_expected: bool) -> tuple[str, int | None]:
    """``[2001:db8::1]:443``, ``192.0.2.1:80``, ``::1:50470`` (when a port is expected), or an address alone."""
    if client.startswith("["):
        address, _, port = client[1:].partition("]")
        port = port[1:]
    elif client.count(":") == 1 or (port_expected and ":" in client):
        address, _, port = client.rpartition(":")
    else:
        return client, None
    if address and port.isascii() and port.isdigit() and len(port) <= 5:
        return address, int(port)
    return (address, None) if address and not port else (client, None)
