"""Packet captures (pcap and pcapng): flows, the DNS, HTTP, TLS, SSH, ARP, ICMP and DHCP they carry, and
credentials sent in clear.

The capture is streamed record by record (``packets.capture``); each packet's headers are decoded straight
from its bytes (``packets.decode``, the fast path), its flow is looked up in a bounded table and its payload
given to the parser of its protocol (``packets.flows``). Only DHCP goes through scapy's full dissection (the
slow path, ``packets.dhcp``). Link types: Ethernet (with 802.1Q/QinQ tags, MPLS, PPPoE), Linux cooked SLL and
SLL2, raw IP, BSD loopback NULL/LOOP; IPv4 and IPv6 with extension headers; TCP, UDP, ICMP and ICMPv6.

Events
======

Every event has source ``pcap`` and logsource product ``pcap``; the service is the kind below (the ingest
summary counts events by it), the category the one Sigma has for that kind of log.

==========  =========  ===================================================================================
kind        category   fields (besides ``src_ip``, ``src_port``, ``dst_ip``, ``dst_port``, ``proto``)
==========  =========  ===================================================================================
flow        firewall   one per conversation (5-tuple, both directions), made when it ends: ``duration``,
                       ``last_seen`` (ISO time), ``orig_pkts``/``resp_pkts``, ``orig_bytes``/``resp_bytes``
                       (transport payload), ``orig_ip_bytes``/``resp_ip_bytes`` (IP length), ``history`` (TCP:
                       Zeek's letters, S SYN, H SYN-ACK, A ACK, D data, F FIN, R RST; upper case from the
                       originator, each once per side), ``conn_state`` (Zeek's: S0, S1, SF, REJ, RSTO, RSTR,
                       RSTOS0, SH, S2, S3, OTH…), ``end_reason`` (``fin``, ``rst``, ``idle``, ``end_of_input``,
                       ``evicted``), ``fragments`` (IP fragments, when any), ``vlan``, ``service`` (dns, http,
                       tls, ssh, dhcp, when recognised). ICMP flows have ``icmp_type``/``icmp_code`` instead of
                       ports. The event time is the first packet's, its origin the first packet's record.
dns         dns        one per query, made when its response arrives (or its flow ends): ``query`` (the name;
                       a list for the rare multi-question query), ``qtype``, ``qtype_name``, ``record_type``
                       (= qtype_name, Sigma's name), ``qclass``, ``trans_id``; from the response ``rcode``,
                       ``rcode_name``, ``answers`` (Zeek's name) and ``answer`` (Sigma's; the same list),
                       ``TTLs``, ``rtt`` (seconds). A response whose query was not seen is an event of its own,
                       with src the asking side as for a query, and no ``rtt``. UDP 53, 5353 (mDNS), 5355
                       (LLMNR) and TCP 53. ``dns_truncated`` marks a message cut by the snaplen.
http        proxy      one per request found in a TCP stream on any port by its content: ``cs-method``,
                       ``c-uri`` (the target), ``c-uri-stem``, ``c-uri-query``, ``c-uri-extension``,
                       ``cs-host``, ``r-dns`` (host without port), ``c-useragent``, ``cs-referrer``,
                       ``cs-version`` and ``sc-status`` when the response is seen (the event waits for it, or
                       for the flow's end). ``http_truncated`` marks a request cut short by a gap or the snaplen.
tls         –          one per ClientHello: ``tls.sni`` and ``server_name`` (the same name), ``tls.version``
                       (the highest offered, as JA4 reads it), ``tls.client_version``, ``tls.ciphers`` and
                       ``tls.extensions`` (numbers in the order sent, GREASE included, as JA3 lists them),
                       ``tls.alpn``, ``tls.ja3``, ``tls.ja3_hash`` (MD5), ``tls.ja4``, ``tls.ja4_r`` (JA4 before
                       hashing). A ClientHello cut short has ``tls.truncated`` and no fingerprints.
ssh         –          one per connection with a banner: ``client`` and ``server`` (``SSH-2.0-…``),
                       ``ssh_version``; src is the connection's originator.
arp         –          one per ARP packet: ``operation`` (who-has, is-at), ``sender_mac``, ``sender_ip``,
                       ``target_mac``, ``target_ip`` (src_ip/dst_ip: the same addresses), ``gratuitous``.
icmp        –          one per ICMP/ICMPv6 message: ``icmp_type``, ``icmp_code``, ``icmp_type_name``,
                       ``icmp_id``/``icmp_seq`` for echo; no ports.
dhcp        –          one per DHCP message (scapy): ``message_type``, ``client_mac``, ``trans_id``,
                       ``hostname``, ``requested_addr``, ``assigned_addr``, ``server_id``, ``vendor_class``…
credential  –          one per login seen in clear (``packets.credentials``; src is the client): ``protocol``
                       (ftp, telnet, pop3, imap, smtp on their ports 21, 23, 110, 143, 25/587; http Basic on any
                       port), ``auth_mechanism`` (USER/PASS, APOP, LOGIN, AUTH PLAIN…, login prompt, Basic),
                       ``user``, ``password`` (always ``[redacted]``, present when a password was sent) and
                       ``password_length``, ``auth_result`` (success, failure, unknown: from the server's
                       reply), ``personal_data_risk`` (true). The password is never kept: not in the event, its
                       ``raw``, the http event's ``raw`` (Authorization values are redacted) or the quarantine.
==========  =========  ===================================================================================

An event's ``raw`` is a one-line summary (for http: the request head). Its origin is a byte offset in the
file: for a flow, its first packet's record (pcap) or block (pcapng); for the other kinds, the first byte of
the message inside its packet (the DNS message, the request line, the TLS record, the banner, the ARP or
ICMP header). Offsets inside a record keep every event of a packet apart (the store keeps one event per
origin offset): the packet that opens a DNS flow yields a flow event and a dns event.

Malformed records (quarantined, never raised): a wrong magic or a global header cut short (nothing read),
record framing that cannot be true (caplen above 256 KiB, a pcapng block whose lengths disagree: the reader
searches for the next plausible record and reports the bytes skipped), caplen above the packet's length,
a last record cut short by the end of the file (not reported with ``CollectOptions.wait_for_newline``: the
capture is still being written), a header cut short (Ethernet, VLAN, IP, IPv6 extension, TCP, UDP, ICMP,
ARP), DNS messages with pointer loops, pointers out of range or records running past their end, TLS records
whose lengths lie, DHCP that scapy cannot dissect. A payload cut by the snaplen is decoded as far as it
goes and is not malformed; bytes on port 53/80/443 that are not DNS/HTTP/TLS at all are just flow payload.
A link type that is not decoded is reported once per interface. The bytes kept of a malformed record have what
looks like a credential masked (``packets.credentials.redact``: the rest of a PASS, LOGIN, AUTH or
Authorization line, base64-only lines).

Resuming
========

``Position.offset`` is always a record boundary: the latest from which a new read reproduces every event
not yet emitted. While no flow is open that is the end of the last record read; otherwise it is the first
record of the oldest open flow, moved further back past any ended flow that spans it. So a read killed at
any point and rerun makes the same events again for what it rereads (the store keeps each once, by origin),
and the position reaches the end of the file when the read ends (every flow is ended then). Pcapng state
(byte order, interfaces) is rebuilt by reading the blocks before the position; pcap needs its header only.
A capture that grows between reads (a file still being written) splits the flows open at the end of one
read: they end there with ``end_of_input``, and their later packets form new flows in the next read. (Two
reads of the same bytes differ only where the flow table was full: eviction depends on what else is open.)

Memory
======

Bounded whatever the input: the reader holds one chunk (1 MiB) plus one record; the flow table at most ``max_flows``
flows (default 100,000, ``CollectOptions.max_flows``; when it is full the least recently active flow is ended early,
counted in ``stats["evicted"]`` and the ingest summary's ``flows_evicted``); each flow at most 256 pending DNS
queries and 32 HTTP requests awaiting their answers; message parsers hold at most one partial message per direction
(an HTTP head up to 32 KiB, a TLS ClientHello up to 64 KiB, a banner, a DNS message over TCP), and no more than 4096
directions at once hold one (past that a message is decoded from its first segment alone, counted in
``stats["unbuffered"]``). Connections to login ports hold at most a 1 KiB line per direction (4096 at once) and are
followed for their first 64 KiB each way (``packets.credentials``).

Payload for other scanners
==========================

Flow events carry no payload. To scan flow contents (YARA), set ``payload_hook`` (and ``payload_limit``,
default 64 KiB per direction): each flow then keeps its first bytes each way (TCP in sequence order,
retransmissions dropped; UDP datagrams appended), within ``payload_budget`` bytes over all open flows, and
the hook receives a ``FlowPayload(event, client, server, truncated)`` when the flow's event is made.
``iter_flow_payloads(stream)`` does that for a whole capture.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import BinaryIO

from seccenter.collect.interface import CollectOptions, Collector, Position
from seccenter.collect.packets.capture import CaptureReader, Damage, capture_format
from seccenter.collect.packets.credentials import redact
from seccenter.collect.packets.flows import (
    DEFAULT_CLOSE_DELAY,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_FLOWS,
    DEFAULT_PAYLOAD_BUDGET,
    DEFAULT_PAYLOAD_LIMIT,
    KINDS,
    Analyzer,
    FlowPayload,
)
from seccenter.events import Event, Malformed, Origin

__all__ = ["KINDS", "FlowPayload", "PcapCollector", "iter_flow_payloads"]

SAFE_OFFSET_EVERY = 1024
"""While flows are open, how many records go by between two updates of the position."""
YOUNG_GENERATION = 10_000
"""The garbage collector's first threshold while a capture is read (Python's default: 700)."""


class PcapCollector(Collector):
    name = "pcap"

    def __init__(self, options: CollectOptions | None = None, *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 max_flows: int = DEFAULT_MAX_FLOWS, close_delay: float = DEFAULT_CLOSE_DELAY,
                 payload_hook: Callable[[FlowPayload], None] | None = None,
                 payload_limit: int = DEFAULT_PAYLOAD_LIMIT, payload_budget: int = DEFAULT_PAYLOAD_BUDGET) -> None:
        super().__init__(options)
        self.idle_timeout = idle_timeout
        self.max_flows = self.options.max_flows or max_flows
        self.close_delay = close_delay
        self.payload_hook = payload_hook
        self.payload_limit = payload_limit
        self.payload_budget = payload_budget
        self.stats: dict[str, int] = {}
        """Counters of the last parse: packets, not_ip, fragments, malformed, flows, unbuffered, evicted (flows
        ended early because the table was full)."""

    def sniff(self, head: bytes) -> bool:
        return capture_format(head) is not None

    def parse(self, stream: BinaryIO, path: str, position: Position) -> Iterator[Event | Malformed]:
        if gc.get_freeze_count():  # the program (or a read under way) tunes the collector itself: left as it is
            yield from self._records(stream, path, position)
            return
        # The read makes many small objects and keeps few (the open flows). The objects alive before it
        # (modules, the program's state) are left out of the collections it sets off, and its youngest
        # generation is collected less often, so the open flows are not traversed over and over (7% of the
        # time before). Both are given back after.
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(max(thresholds[0], YOUNG_GENERATION), *thresholds[1:])
        try:
            yield from self._records(stream, path, position)
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()

    def _records(self, stream: BinaryIO, path: str, position: Position) -> Iterator[Event | Malformed]:
        analyzer = Analyzer(path, self.idle_timeout, self.max_flows, self.close_delay, self.payload_hook,
                            self.payload_limit, self.payload_budget)
        self.stats = analyzer.stats
        analyzer.safe = position.offset
        reader = CaptureReader(stream, position.offset, wait_for_tail=self.options.wait_for_newline)
        out = analyzer.out
        packet = analyzer.packet
        next_offset = position.offset
        packets = 0
        for count, item in enumerate(reader, 1):
            if item.__class__ is tuple:
                offset, data_offset, next_offset, stamp, linktype, data, _wire = item  # type: ignore[misc]
                packet(offset, data_offset, stamp, linktype, data)
                packets += 1
            else:
                damage: Damage = item  # type: ignore[assignment]
                analyzer.stats["malformed"] += 1
                out.append(Malformed(Origin(path, damage.offset, None), damage.reason, redact(damage.raw),
                                     damage.length))
                if damage.resume is not None:
                    next_offset = damage.resume
            if out:
                yield from out
                out.clear()
            if not analyzer.flows or not count % SAFE_OFFSET_EVERY:
                position.offset = analyzer.safe_offset(next_offset)
        analyzer.finish()
        analyzer.stats["packets"] = packets
        if out:
            yield from out
            out.clear()
        position.offset = analyzer.safe_offset(max(next_offset, reader.end) if reader.format else next_offset)


def iter_flow_payloads(stream: BinaryIO, path: str = "", limit: int = DEFAULT_PAYLOAD_LIMIT,
                       **options: float | int) -> Iterator[FlowPayload]:
    """Every flow of a capture with its first ``limit`` bytes each way (see "Payload for other scanners")."""
    found: list[FlowPayload] = []
    collector = PcapCollector(payload_hook=found.append, payload_limit=limit, **options)  # type: ignore[arg-type]
    for _record in collector.parse(stream, path, Position()):
        if found:
            yield from found
            found.clear()
    yield from found
