"""Suricata EVE JSON (``eve.json``): one event per line, each with ``timestamp`` and ``event_type``.

Fields are the EVE object flattened with dots, as in the generic JSON lines collector (``alert.signature``,
``dns.rrname``, ``http.hostname``, ``http.url``, ``tls.sni``, ``src_ip``, ``src_port``, ``dest_ip``,
``dest_port``, ``proto``…), plus Sigma's names:

- always: ``dst_ip``/``dst_port`` (copies of ``dest_ip``/``dest_port``, as in Sigma's firewall/proxy taxonomy);
- with an ``http`` object: ``c-uri`` (``http.url``), ``c-uri-stem``, ``c-uri-query``, ``c-uri-extension``,
  ``cs-host`` (``http.hostname``), ``cs-method`` (``http.http_method``), ``c-useragent``
  (``http.http_user_agent``), ``cs-referrer`` (``http.http_refer``), ``sc-status`` (``http.status``);
- with a ``dns`` object: ``query`` (``dns.rrname``, or ``dns.queries[].rrname`` in EVE DNS v3),
  ``record_type`` (``dns.rrtype``), ``answer`` (the answers' ``rdata``, or the grouped answers).

Logsource: product ``suricata``, service the ``event_type`` (so a rule can select any EVE event type), and a
category where Sigma has one for that kind of log:

==============  ======================  ===========================================================
event_type      category                why
==============  ======================  ===========================================================
alert           ids                     Sigma has no standard category for IDS alerts
dns             dns                     Sigma's dns category (query, record_type, answer)
http            proxy                   Sigma's category for HTTP request logs is proxy
flow            firewall                a flow record is what a firewall connection log holds
tls, fileinfo,  none                    no Sigma category; select with service tls / fileinfo / …
netflow, other
==============  ======================  ===========================================================

A timestamp without zone is read in the configured zone (``CollectOptions.tz``, else the local zone).
"""

from __future__ import annotations

import re
from typing import Any

from seccenter.collect.interface import CollectOptions, LineRejected
from seccenter.collect.jsonlines import JsonObjectCollector, dns_fields, flatten, load_object, proxy_fields
from seccenter.collect.timeparse import iso_to_utc
from seccenter.events import Event, LogSource, Origin

CATEGORIES = {"alert": "ids", "dns": "dns", "http": "proxy", "flow": "firewall"}
"""EVE event_type → Sigma logsource category (the service is always the event_type)."""

_LOGSOURCE_CACHE_LIMIT = 256


def _http_fields(http: dict[str, Any]) -> dict[str, Any]:
    return proxy_fields(url=http.get("url"), host=http.get("hostname"), method=http.get("http_method"),
                        user_agent=http.get("http_user_agent"), status=http.get("status"),
                        referrer=http.get("http_refer"))


def _dns_fields(dns: dict[str, Any]) -> dict[str, Any]:
    query, record_type = dns.get("rrname"), dns.get("rrtype")
    queries = dns.get("queries")  # EVE DNS v3 (Suricata 8)
    if query is None and isinstance(queries, list):
        names = [item.get("rrname") for item in queries if isinstance(item, dict)]
        types = [item.get("rrtype") for item in queries if isinstance(item, dict)]
        query = _one_or_list([name for name in names if isinstance(name, str)])
        record_type = _one_or_list([kind for kind in types if isinstance(kind, str)])
    answers: Any = dns.get("rdata")  # EVE DNS v1: one answer per event
    if isinstance(dns.get("answers"), list):
        answers = [item["rdata"] for item in dns["answers"] if isinstance(item, dict) and "rdata" in item]
    elif isinstance(dns.get("grouped"), dict):
        answers = [value for values in dns["grouped"].values() if isinstance(values, list) for value in values]
    if isinstance(answers, list):
        answers = [answer for answer in answers if isinstance(answer, str | int | float)]
    return dns_fields(query, record_type, answers)


def _one_or_list(values: list[str]) -> str | list[str] | None:
    if not values:
        return None
    return values[0] if len(values) == 1 else values


class SuricataCollector(JsonObjectCollector):
    name = "suricata"

    sniff_prefix = re.compile(r'^\s*\{(?=.*(?<!\\)"event_type"\s*:\s*")(?=.*(?<!\\)"timestamp"\s*:\s*")', re.DOTALL)

    def __init__(self, options: CollectOptions | None = None) -> None:
        super().__init__(options)
        self._logsources: dict[str, LogSource] = {}

    def parse_line(self, text: str, origin: Origin) -> Event:
        eve = load_object(text)
        event_type, stamp = eve.get("event_type"), eve.get("timestamp")
        if not isinstance(event_type, str) or not event_type or not isinstance(stamp, str):
            raise LineRejected("not a Suricata EVE event (needs timestamp and event_type)")
        try:
            time = iso_to_utc(stamp, self.options.tz)
        except (ValueError, OverflowError):
            raise LineRejected("invalid Suricata timestamp") from None
        fields = flatten(eve)
        if "dest_ip" in fields:
            fields["dst_ip"] = fields["dest_ip"]
        if "dest_port" in fields:
            fields["dst_port"] = fields["dest_port"]
        http, dns = eve.get("http"), eve.get("dns")
        if isinstance(http, dict):
            fields.update(_http_fields(http))
        if isinstance(dns, dict):
            fields.update(_dns_fields(dns))
        return Event(time, self.name, self._logsource(event_type), fields, text, origin)

    def _logsource(self, event_type: str) -> LogSource:
        found = self._logsources.get(event_type)
        if found is None:
            if len(self._logsources) >= _LOGSOURCE_CACHE_LIMIT:
                self._logsources.clear()
            found = LogSource(product="suricata", category=CATEGORIES.get(event_type), service=event_type)
            self._logsources[event_type] = found
        return found
