"""Finds the collector for a source: by the name the user gave, or by sniffing its first bytes."""

from __future__ import annotations

from seccenter.collect.access import AccessLogCollector
from seccenter.collect.evtx import EvtxCollector
from seccenter.collect.interface import CollectError, CollectOptions, Collector
from seccenter.collect.journald import JournaldCollector
from seccenter.collect.jsonlines import JsonDocumentsCollector, JsonLinesCollector
from seccenter.collect.pcap import PcapCollector
from seccenter.collect.suricata import SuricataCollector
from seccenter.collect.syslog import SyslogCollector
from seccenter.collect.weberror import WebErrorCollector
from seccenter.collect.zeek import ZeekJsonCollector, ZeekTsvCollector

COLLECTORS: dict[str, type[Collector]] = {
    collector.name: collector
    for collector in (
        # sniffed in this order: the binary format by its magic, then the specific JSON shapes before
        # generic JSON lines, then the text formats
        EvtxCollector,
        PcapCollector,
        SuricataCollector,
        ZeekJsonCollector,
        JournaldCollector,
        JsonLinesCollector,
        JsonDocumentsCollector,
        ZeekTsvCollector,
        SyslogCollector,
        AccessLogCollector,
        WebErrorCollector,
    )
}

ALIASES = {
    "auth": "syslog", "rfc3164": "syslog", "rfc5424": "syslog", "apache": "access", "nginx": "access",
    "combined": "access", "eve": "suricata", "json-pretty": "json", "evtx_dump": "json", "ndjson": "jsonl",
    "journal": "journald",
    "pcapng": "pcap", "tcpdump": "pcap", "zeek_tsv": "zeek", "bro": "zeek", "vhost_combined": "access",
    "apache-error": "weberror",
    "nginx-error": "weberror", "error_log": "weberror",
}

FORMAT_NAMES = sorted([*COLLECTORS, *ALIASES])

SNIFF_BYTES = 8192


def create(name: str, options: CollectOptions | None = None) -> Collector:
    canonical = ALIASES.get(name, name)
    try:
        return COLLECTORS[canonical](options)
    except KeyError:
        raise CollectError(f"unknown format {name!r}; known: {', '.join(FORMAT_NAMES)}") from None


def sniff(head: bytes, options: CollectOptions | None = None) -> Collector | None:
    """The first collector whose format the head of a source looks like, or None."""
    for collector_class in COLLECTORS.values():
        collector = collector_class(options)
        if collector.sniff(head):
            return collector
    return None
