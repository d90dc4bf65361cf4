"""The flow table and the events: decoded packets in, ``Event``/``Malformed`` records out.

``Analyzer.packet(...)`` takes one capture record; what it produces is appended to ``Analyzer.out`` (the
collector drains that list after every record). ``Analyzer.finish()`` ends every flow still open (reason
``end_of_input``). ``Analyzer.safe_offset(next_offset)`` says from which record a new read reproduces every
event not yet emitted (see "Resuming" in ``seccenter.collect.pcap``).

Flows are keyed by (originator address, responder address, originator port, responder port, protocol);
both directions of a conversation share one flow. The originator is the side that sent the first packet,
except that a first packet that is a SYN-ACK, or that goes from a port below 1024 to one above, is taken as
the responder's. ICMP flows follow Zeek: a request type and its reply type (echo, timestamp, information,
address mask, router and neighbour discovery) are one flow, keyed by the request type and the code.
A non-first IP fragment carries no ports: it is counted on the flow of its first fragment when that was seen
(matched by addresses, protocol and IP id), else on a flow of the addresses and protocol with ports 0.
Fragments are counted, never reassembled.

A TCP flow ends once both sides sent a FIN, or either sent a RST; it lingers ``close_delay`` seconds of
capture time for the last ACKs, and a new SYN on its ports starts a new flow at once. Any flow ends after
``idle_timeout`` seconds without a packet, and the least recently active flow is ended (``evicted``) when a
new one would exceed ``max_flows``. Time is always capture time: the table is swept when a packet's time
passes a whole second.

TCP payload is followed per direction by sequence number: retransmitted bytes are dropped, a gap (a lost or
uncaptured segment) makes the parser resynchronise at the next segment. Each direction's parser is chosen by
the first bytes of its stream (and again after a gap or anything it does not know): an HTTP request or
response head, a TLS handshake record, an ``SSH-`` banner, DNS over TCP on port 53. UDP payload is DNS on
ports 53, 5353 (mDNS) and 5355 (LLMNR) and DHCP on 67/68.
"""

from __future__ import annotations

import socket
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from seccenter.collect.interface import decode_line
from seccenter.collect.packets import credentials, dhcp, dns, http, tls
from seccenter.collect.packets.decode import decode
from seccenter.events import Event, LogSource, Malformed, Origin

SOURCE = "pcap"
KINDS = ("flow", "dns", "http", "tls", "ssh", "arp", "icmp", "dhcp", "credential")
CATEGORIES = {"flow": "firewall", "dns": "dns", "http": "proxy"}
LOGSOURCES = {kind: LogSource(SOURCE, CATEGORIES.get(kind), kind) for kind in KINDS}

DEFAULT_IDLE_TIMEOUT = 60.0
DEFAULT_MAX_FLOWS = 100_000
DEFAULT_CLOSE_DELAY = 5.0
DEFAULT_PAYLOAD_LIMIT = 64 << 10
DEFAULT_PAYLOAD_BUDGET = 256 << 20
QUARANTINE_BYTES = 4096

DNS_PORTS = frozenset({53, 5353, 5355})
DHCP_PORTS = frozenset({67, 68})
PROTO_NAMES = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah", 58: "icmp6", 89: "ospf",
               103: "pim", 112: "vrrp", 132: "sctp"}
_ICMP_REPLIES = {1: {0: 8, 14: 13, 16: 15, 18: 17}, 58: {129: 128, 134: 133, 136: 135}}
ICMP_TYPE_NAMES = {
    1: {0: "echo-reply", 3: "destination-unreachable", 4: "source-quench", 5: "redirect", 8: "echo-request",
        9: "router-advertisement", 10: "router-solicitation", 11: "time-exceeded", 12: "parameter-problem",
        13: "timestamp-request", 14: "timestamp-reply"},
    58: {1: "destination-unreachable", 2: "packet-too-big", 3: "time-exceeded", 4: "parameter-problem",
         128: "echo-request", 129: "echo-reply", 130: "mld-query", 131: "mld-report", 133: "router-solicitation",
         134: "router-advertisement", 135: "neighbor-solicitation", 136: "neighbor-advertisement",
         137: "redirect", 143: "mldv2-report"},
}
ARP_OPERATIONS = {1: "who-has", 2: "is-at", 3: "rarp-request", 4: "rarp-reply"}

MAX_DNS_PENDING = 256
MAX_HTTP_PENDING = 32
MAX_BANNER_BYTES = 512
MAX_FRAGMENT_IDS = 4096
MAX_HELD = 4096
"""How many stream directions may hold part of a message at once (an HTTP head, a TLS ClientHello, a banner, a
DNS message over TCP spanning segments): with the per-message limits, this bounds the parsers' memory. Past it,
a message that spans segments is decoded from its first segment only (counted in ``stats["unbuffered"]``)."""
_SAFE_INTERVALS = 20_000
_MASK = 0xFFFFFFFF
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

# what a direction's parser is doing
NEW, OTHER, IGNORE, HTTP_REQUEST, HTTP_RESPONSE, TLS_HELLO, SSH_BANNER, DNS_TCP = range(8)
_HOLDING = frozenset({HTTP_REQUEST, TLS_HELLO, SSH_BANNER})
"""Modes in which a direction may hold part of a message that becomes an event when the stream breaks off."""
# the kinds made once or more per packet build their Event inline (no _event call, no LOGSOURCES lookup)
_FLOW_SOURCE, _ICMP_SOURCE = LOGSOURCES["flow"], LOGSOURCES["icmp"]
_DNS_SOURCE, _HTTP_SOURCE, _TLS_SOURCE = LOGSOURCES["dns"], LOGSOURCES["http"], LOGSOURCES["tls"]


class FlowPayload(NamedTuple):
    """The first bytes each way of one flow, handed to ``payload_hook`` when the flow's event is made."""

    event: Event
    client: bytes
    server: bytes
    truncated: bool


def _history_table() -> list[tuple[int, tuple[tuple[int, str], ...]]]:
    """Zeek-style history letters for (flags & FIN|SYN|RST|ACK) | data << 5 | originator << 6."""
    table = []
    for index in range(128):
        flags, data, originator = index & 0x17, index & 32, index & 64
        letters = []
        if flags & 2:
            letters.append("H" if flags & 16 else "S")
        elif flags & 16 and not data and not flags & 5:
            letters.append("A")
        if data:
            letters.append("D")
        if flags & 1:
            letters.append("F")
        if flags & 4:
            letters.append("R")
        marks = tuple((1 << ("SHADFR".index(letter) * 2 + (0 if originator else 1)),
                       letter if originator else letter.lower()) for letter in letters)
        mask = 0
        for bit, _letter in marks:
            mask |= bit
        table.append((mask, marks))
    return table


_HISTORY = _history_table()
_S, _H, _F, _R = 1, 1 << 2, 1 << 8, 1 << 10  # the originator's SYN, SYN-ACK, FIN, RST bits; the responder's are << 1


_TIMES: dict[float, datetime] = {}


def utc(stamp: float) -> datetime:
    """A capture time as an aware datetime (kept for a while: a packet's time is often that of two events)."""
    found = _TIMES.get(stamp)
    if found is None:
        if len(_TIMES) >= 4096:
            _TIMES.clear()
        try:
            found = datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):
            found = _EPOCH if stamp < 0 else _LATEST
        _TIMES[stamp] = found
    return found


class Half:
    """One direction of a TCP connection: where its sequence numbers are and what its parser is doing."""

    __slots__ = ("next_seq", "mode", "buf", "start", "time", "skip", "hello", "held")

    def __init__(self) -> None:
        self.held = False
        """Whether it holds part of a message (counted against ``MAX_HELD``)."""
        self.next_seq: int | None = None
        self.mode = NEW
        self.buf: bytearray | None = None
        self.start = 0
        self.time = 0.0
        self.skip = 0
        self.hello: tls.HelloAssembler | None = None


class Flow:
    __slots__ = ("key", "start", "first_ts", "last_ts", "last_offset", "orig_pkts", "resp_pkts", "orig_bytes",
                 "resp_bytes", "orig_ip_bytes", "resp_ip_bytes", "history", "seen", "fins", "closed", "fragments",
                 "vlan", "service", "halves", "dns", "http", "ssh", "payload", "payload_cut", "done", "login")

    def __init__(self, key: tuple, offset: int, stamp: float, vlan: int | None) -> None:
        self.key = key
        self.start = offset
        self.first_ts = stamp
        self.last_ts = stamp
        self.last_offset = offset
        self.orig_pkts = self.resp_pkts = 0
        self.orig_bytes = self.resp_bytes = 0
        self.orig_ip_bytes = self.resp_ip_bytes = 0
        self.history = ""
        self.seen = 0
        self.fins = 0
        self.closed: str | None = None
        self.fragments = 0
        self.vlan = vlan
        self.service: str | None = None
        self.halves: list[Half | None] | None = None
        self.dns: dict[int, list] | None = None
        self.http: deque[list] | None = None
        self.ssh: list | None = None
        self.payload: list[bytearray] | None = None
        self.payload_cut = False
        self.done = False
        self.login: credentials.LoginTracker | None = None


class Analyzer:
    """Turns capture records into events (see the module docstring)."""

    def __init__(self, path: str, idle_timeout: float = DEFAULT_IDLE_TIMEOUT, max_flows: int = DEFAULT_MAX_FLOWS,
                 close_delay: float = DEFAULT_CLOSE_DELAY,
                 payload_hook: Callable[[FlowPayload], None] | None = None,
                 payload_limit: int = DEFAULT_PAYLOAD_LIMIT, payload_budget: int = DEFAULT_PAYLOAD_BUDGET) -> None:
        self.path = path
        self.idle_timeout = idle_timeout
        self.max_flows = max(1, max_flows)
        self.close_delay = min(close_delay, idle_timeout)
        self.payload_hook = payload_hook
        self.payload_limit = payload_limit if payload_hook is not None else 0
        self.payload_budget = payload_budget
        self.payload_held = 0
        self.out: list[Event | Malformed] = []
        self.flows: OrderedDict[tuple, Flow] = OrderedDict()
        self.closing: deque[tuple[float, Flow]] = deque()
        self.live: deque[Flow] = deque()
        self.ended: list[tuple[int, int]] = []
        self.safe = 0
        self.next_check = float("-inf")
        self.fragment_flows: OrderedDict[tuple, Flow] = OrderedDict()
        self.stats = {"packets": 0, "not_ip": 0, "fragments": 0, "malformed": 0, "flows": 0, "unbuffered": 0,
                      "evicted": 0}
        self.held = 0
        self._ips: dict[bytes, str] = {}
        self.logins = credentials.Logins(self.stats)

    # --- helpers ----------------------------------------------------------------------------------------

    def _ip(self, raw: bytes) -> str:
        text = self._ips.get(raw)
        if text is None:
            if len(self._ips) > 65536:
                self._ips.clear()
            text = self._ips[raw] = socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
        return text

    def _event(self, kind: str, stamp: float, offset: int, fields: dict[str, Any], raw: str) -> Event:
        return Event(utc(stamp), SOURCE, LOGSOURCES[kind], fields, raw, Origin(self.path, offset, None))

    def malformed(self, offset: int, reason: str, raw: bytes) -> None:
        self.stats["malformed"] += 1
        self.out.append(Malformed(Origin(self.path, offset, None), reason,
                                  credentials.redact(bytes(raw[:QUARANTINE_BYTES])), len(raw)))

    def _ends(self, flow: Flow, forward: bool) -> dict[str, Any]:
        """src/dst fields for a message sent in one direction of a flow."""
        key = flow.key
        proto = PROTO_NAMES.get(key[4]) or str(key[4])
        ips = self._ips
        orig = ips.get(key[0]) or self._ip(key[0])
        resp = ips.get(key[1]) or self._ip(key[1])
        if forward:
            return {"src_ip": orig, "src_port": key[2], "dst_ip": resp, "dst_port": key[3], "proto": proto}
        return {"src_ip": resp, "src_port": key[3], "dst_ip": orig, "dst_port": key[2], "proto": proto}

    # --- packets ----------------------------------------------------------------------------------------

    def packet(self, offset: int, data_offset: int, stamp: float, linktype: int, data: bytes) -> None:
        """One capture record: ``offset`` where it starts in the file, ``data_offset`` where its bytes do.
        (``stats["packets"]`` is counted by the caller.)"""
        decoded = decode(linktype, data)
        if decoded.__class__ is not tuple:
            if decoded is None:
                self.stats["not_ip"] += 1
            else:
                self.malformed(offset, decoded, data)
            return
        if stamp >= self.next_check:
            self._sweep(stamp)
        if not decoded[0]:
            self._arp(decoded, data_offset, stamp)
            return
        (_family, src, dst, proto, sport, dport, flags, seq, start, end, ip_length, fragment, ip_id, _cut,
         vlan) = decoded
        if fragment == 2:
            self._later_fragment(src, dst, proto, ip_id, offset, stamp, ip_length, end - start, vlan)
            return
        flows = self.flows
        if proto == 6 or proto == 17:
            key = (src, dst, sport, dport, proto)
            flow = flows.get(key)
            forward = True
            if flow is None:
                key = (dst, src, dport, sport, proto)
                flow = flows.get(key)
                forward = False
                if flow is None:
                    if proto == 6 and flags & 0x12 == 0x02 or not (sport < 1024 <= dport or flags & 0x12 == 0x12):
                        key = (src, dst, sport, dport, proto)
                        forward = True
                    flow = self._new_flow(key, offset, stamp, vlan)
                else:
                    flows.move_to_end(key)
            else:
                flows.move_to_end(key)
            if proto == 6 and flow.closed is not None and flags & 0x12 == 0x02 and forward:
                self._end(flow, flow.closed)  # the ports are used again: a new connection
                flow = self._new_flow(key, offset, stamp, vlan)
        elif proto == 1 or proto == 58:
            request = _ICMP_REPLIES[proto].get(sport)
            if request is None:
                key, forward = (src, dst, sport, dport, proto), True
            else:
                key, forward = (dst, src, request, dport, proto), False
            flow = flows.get(key)
            if flow is None:
                flow = self._new_flow(key, offset, stamp, vlan)
            else:
                flows.move_to_end(key)
        else:
            key = (src, dst, 0, 0, proto)
            flow = flows.get(key)
            forward = True
            if flow is None:
                flow = flows.get((dst, src, 0, 0, proto))
                if flow is None:
                    flow = self._new_flow(key, offset, stamp, vlan)
                else:
                    key, forward = flow.key, False
                    flows.move_to_end(key)
            else:
                flows.move_to_end(key)
        length = end - start
        if forward:
            flow.orig_pkts += 1
            flow.orig_ip_bytes += ip_length
            flow.orig_bytes += length
        else:
            flow.resp_pkts += 1
            flow.resp_ip_bytes += ip_length
            flow.resp_bytes += length
        flow.last_ts = stamp
        flow.last_offset = offset
        if fragment:
            flow.fragments += 1
            self.stats["fragments"] += 1
            self._remember_fragment(src, dst, proto, ip_id, flow)
        if proto == 6:
            mask, marks = _HISTORY[(flags & 0x17) | (32 if length > 0 else 0) | (64 if forward else 0)]
            if mask & ~flow.seen:
                for bit, letter in marks:
                    if not flow.seen & bit:
                        flow.seen |= bit
                        flow.history += letter
            if (length > 0 or flags & 2) and not fragment:
                self._tcp(flow, forward, seq, flags, data, start, end, data_offset, stamp)
            if flags & 5 and flow.closed is None:
                if flags & 4:
                    self._closing(flow, "rst", stamp)
                else:
                    flow.fins |= 1 if forward else 2
                    if flow.fins == 3:
                        self._closing(flow, "fin", stamp)
        elif proto == 17:
            if length > 0 and not fragment:
                if self.payload_limit:
                    self._keep_payload(flow, forward, data[start:end])
                if sport in DNS_PORTS or dport in DNS_PORTS:
                    message = data[start:end]
                    self._dns(flow, forward, message, data_offset + start, stamp, len(message) < length)
                elif sport in DHCP_PORTS and dport in DHCP_PORTS:
                    self._dhcp(flow, forward, data[start:end], data_offset + start, stamp)
        elif (proto == 1 or proto == 58) and not fragment:
            self._icmp(flow, forward, proto, sport, dport, data, start, data_offset, stamp)

    def _new_flow(self, key: tuple, offset: int, stamp: float, vlan: int | None) -> Flow:
        flows = self.flows
        if len(flows) >= self.max_flows:
            victim = next(iter(flows.values()))
            self.stats["evicted"] += 1
            self._end(victim, victim.closed or "evicted")
        flow = flows[key] = Flow(key, offset, stamp, vlan)
        self.live.append(flow)
        if key[4] == 6 and (key[3] in credentials.LOGIN_PORTS or key[2] in credentials.LOGIN_PORTS):
            flow.login = self.logins.track(key)
        self.stats["flows"] += 1
        return flow

    def _remember_fragment(self, src: bytes, dst: bytes, proto: int, ip_id: int, flow: Flow) -> None:
        table = self.fragment_flows
        table[(src, dst, proto, ip_id)] = flow
        if len(table) > MAX_FRAGMENT_IDS:
            table.popitem(last=False)

    def _later_fragment(self, src: bytes, dst: bytes, proto: int, ip_id: int, offset: int, stamp: float,
                        ip_length: int, length: int, vlan: int | None) -> None:
        self.stats["fragments"] += 1
        flow = self.fragment_flows.get((src, dst, proto, ip_id))
        if flow is not None and not flow.done:
            forward = flow.key[0] == src
            self.flows.move_to_end(flow.key)
        else:
            key = (src, dst, 0, 0, proto)
            flow = self.flows.get(key)
            forward = True
            if flow is None:
                flow = self.flows.get((dst, src, 0, 0, proto))
                forward = False
                if flow is None:
                    flow, forward = self._new_flow(key, offset, stamp, vlan), True
            self.flows.move_to_end(flow.key)
        flow.fragments += 1
        if forward:
            flow.orig_pkts += 1
            flow.orig_ip_bytes += ip_length
            flow.orig_bytes += length
        else:
            flow.resp_pkts += 1
            flow.resp_ip_bytes += ip_length
            flow.resp_bytes += length
        flow.last_ts = stamp
        flow.last_offset = offset

    # --- flow ends --------------------------------------------------------------------------------------

    def _closing(self, flow: Flow, reason: str, stamp: float) -> None:
        flow.closed = reason
        self.closing.append((stamp + self.close_delay, flow))

    def _sweep(self, now: float) -> None:
        """End the flows whose linger or idle time has passed; runs once per second of capture time."""
        self.next_check = float(int(now) + 1) if now >= 0 else now + 1.0
        closing = self.closing
        while closing and closing[0][0] <= now:
            _deadline, flow = closing.popleft()
            if flow.done:
                continue
            due = flow.last_ts + self.close_delay
            if due > now:
                closing.append((due, flow))
            else:
                self._end(flow, flow.closed or "idle")
        cutoff = now - self.idle_timeout
        flows = self.flows
        while flows:
            flow = next(iter(flows.values()))
            if flow.last_ts > cutoff:
                break
            self._end(flow, flow.closed or "idle")

    def finish(self) -> None:
        """End of input: every flow still open is ended."""
        for flow in list(self.flows.values()):
            self._end(flow, flow.closed or "end_of_input")
        self.closing.clear()

    def _end(self, flow: Flow, reason: str) -> None:
        del self.flows[flow.key]
        flow.done = True
        halves = flow.halves
        if halves is not None:  # every TCP flow: most have no Half (no payload), only sequence numbers
            first, second = halves
            if first.__class__ is Half or second.__class__ is Half:
                self._flush_halves(flow, halves)
        if flow.dns or flow.http or flow.ssh is not None:
            self._flush(flow)
        if flow.login is not None:
            found = flow.login.finish()
            if found:
                self._credentials(found, self._ends(flow, flow.login.client_forward))
        event = self._flow_event(flow, reason)
        self.out.append(event)
        ended = self.ended
        ended.append((flow.start, flow.last_offset))
        if len(ended) > _SAFE_INTERVALS:
            self._coarsen()
        if self.payload_hook is not None:
            client, server = flow.payload or (b"", b"")
            self.payload_held -= len(client) + len(server)
            self.payload_hook(FlowPayload(event, bytes(client), bytes(server), flow.payload_cut))

    def _flow_event(self, flow: Flow, reason: str) -> Event:
        # Made for every flow (most of them a packet or two): the common cases are kept to plain local
        # operations (no round() for a flow of one instant, the one-way state of other protocols inline).
        key = flow.key
        proto = key[4]
        ips = self._ips
        src = ips.get(key[0]) or self._ip(key[0])
        dst = ips.get(key[1]) or self._ip(key[1])
        name = PROTO_NAMES.get(proto) or str(proto)
        orig_pkts, resp_pkts = flow.orig_pkts, flow.resp_pkts
        state = _conn_state(flow) if proto == 6 else "SF" if resp_pkts and orig_pkts else "S0"
        first, last = flow.first_ts, flow.last_ts
        orig_ip_bytes, resp_ip_bytes = flow.orig_ip_bytes, flow.resp_ip_bytes
        if proto == 1 or proto == 58:
            fields: dict[str, Any] = {
                "src_ip": src, "dst_ip": dst, "icmp_type": key[2], "icmp_code": key[3], "proto": name,
                "duration": round(last - first, 6) if last > first else 0.0,
                "orig_pkts": orig_pkts, "resp_pkts": resp_pkts, "orig_bytes": flow.orig_bytes,
                "resp_bytes": flow.resp_bytes, "orig_ip_bytes": orig_ip_bytes,
                "resp_ip_bytes": resp_ip_bytes, "conn_state": state, "end_reason": reason}
        else:
            fields = {
                "src_ip": src, "src_port": key[2], "dst_ip": dst, "dst_port": key[3], "proto": name,
                "duration": round(last - first, 6) if last > first else 0.0,
                "orig_pkts": orig_pkts, "resp_pkts": resp_pkts, "orig_bytes": flow.orig_bytes,
                "resp_bytes": flow.resp_bytes, "orig_ip_bytes": orig_ip_bytes,
                "resp_ip_bytes": resp_ip_bytes, "conn_state": state, "end_reason": reason}
            if proto == 6:
                fields["history"] = flow.history
        if flow.fragments:
            fields["fragments"] = flow.fragments
        if flow.vlan is not None:
            fields["vlan"] = flow.vlan
        if flow.service:
            fields["service"] = flow.service
        raw = (f"{name} {src}:{key[2]} -> {dst}:{key[3]} {orig_pkts}/{resp_pkts} pkts "
               f"{orig_ip_bytes}/{resp_ip_bytes} bytes {state} {reason}")
        return Event(utc(first), SOURCE, _FLOW_SOURCE, fields, raw, Origin(self.path, flow.start, None))

    def _flush_halves(self, flow: Flow, halves: list) -> None:
        """What a flow's stream parsers still hold becomes events as the flow ends (before its DNS, HTTP and
        SSH events: ``_flush``), and they give up their room to hold."""
        for index in (0, 1):
            half = halves[index]
            if half.__class__ is Half:
                if half.mode in _HOLDING:
                    self._gap(flow, half, index == 0)
                self._release(half)

    def _flush(self, flow: Flow) -> None:
        """What a flow still waits for (DNS answers, HTTP responses, an SSH banner) becomes events as it ends."""
        if flow.dns:
            for pending in flow.dns.values():
                self._dns_event(pending)
            flow.dns = None
        if flow.http:
            for pending in flow.http:
                self._http_event(pending)
            flow.http = None
        if flow.ssh is not None:
            self._ssh_event(flow)

    # --- resuming ---------------------------------------------------------------------------------------

    def safe_offset(self, next_offset: int) -> int:
        """The latest record offset from which a new read reproduces every event not emitted yet.

        That is a record before which no flow still in the table started, and that no ended flow spans (one
        that started before it and had a packet at or after it: a new read would make a second, partial
        flow of its later packets). Never moves backwards.
        """
        if not self.flows:
            self.ended.clear()
            self.live.clear()
            self.safe = max(self.safe, next_offset)
            return self.safe
        live = self.live
        while live[0].done:
            live.popleft()
        if len(live) > 2 * len(self.flows) + 1024:
            self.live = live = deque(sorted(self.flows.values(), key=lambda flow: flow.start))
        candidate = live[0].start
        ended = self.ended
        ended.sort()
        for first, last in reversed(ended):
            if first < candidate <= last:
                candidate = first
        self.ended = [span for span in ended if span[0] >= candidate]
        self.safe = max(self.safe, candidate)
        return self.safe

    def _coarsen(self) -> None:
        """Bound the ended-flow spans kept for ``safe_offset``: merging neighbours only covers more, which can
        only hold the safe offset further back."""
        spans = sorted(self.ended)
        merged: list[tuple[int, int]] = []
        for first, last in spans:
            if merged and first <= merged[-1][1]:
                if last > merged[-1][1]:
                    merged[-1] = (merged[-1][0], last)
            else:
                merged.append((first, last))
        while len(merged) > _SAFE_INTERVALS // 2:
            merged = [(merged[index][0], max(merged[index][1], merged[index + 1][1]))
                      if index + 1 < len(merged) else merged[index] for index in range(0, len(merged), 2)]
        self.ended = merged

    # --- payload for other scanners ---------------------------------------------------------------------

    def _keep_payload(self, flow: Flow, forward: bool, data: bytes) -> None:
        payload = flow.payload
        if payload is None:
            payload = flow.payload = [bytearray(), bytearray()]
        part = payload[0 if forward else 1]
        room = min(self.payload_limit - len(part), self.payload_budget - self.payload_held)
        if room <= 0:
            flow.payload_cut = True
            return
        if len(data) > room:
            data = data[:room]
            flow.payload_cut = True
        part += data
        self.payload_held += len(data)

    # --- ARP and ICMP -----------------------------------------------------------------------------------

    def _arp(self, decoded: tuple, data_offset: int, stamp: float) -> None:
        _zero, operation, sender_mac, sender_ip, target_mac, target_ip, start = decoded
        fields = {
            "operation": ARP_OPERATIONS.get(operation, str(operation)),
            "sender_mac": sender_mac.hex(":"), "sender_ip": self._ip(sender_ip),
            "target_mac": target_mac.hex(":"), "target_ip": self._ip(target_ip),
        }
        fields["src_ip"], fields["dst_ip"] = fields["sender_ip"], fields["target_ip"]
        if sender_ip == target_ip:
            fields["gratuitous"] = True
        if operation == 1:
            raw = f"ARP who-has {fields['target_ip']} tell {fields['sender_ip']} ({fields['sender_mac']})"
        elif operation == 2:
            raw = f"ARP {fields['sender_ip']} is-at {fields['sender_mac']} (to {fields['target_ip']})"
        else:
            raw = f"ARP operation {operation} {fields['sender_ip']} -> {fields['target_ip']}"
        self.out.append(self._event("arp", stamp, data_offset + start, fields, raw))

    def _icmp(self, flow: Flow, forward: bool, proto: int, kind: int, code: int, data: bytes, start: int,
              data_offset: int, stamp: float) -> None:
        # the addresses straight from the flow key (no ports: the _ends dict would be built only to be copied)
        key, ips = flow.key, self._ips
        orig = ips.get(key[0]) or self._ip(key[0])
        resp = ips.get(key[1]) or self._ip(key[1])
        src, dst = (orig, resp) if forward else (resp, orig)
        proto_name = PROTO_NAMES[proto]
        fields = {"src_ip": src, "dst_ip": dst, "proto": proto_name, "icmp_type": kind, "icmp_code": code}
        name = ICMP_TYPE_NAMES[proto].get(kind)
        if name:
            fields["icmp_type_name"] = name
        if name in ("echo-request", "echo-reply") and len(data) >= start + 8:
            fields["icmp_id"] = data[start + 4] << 8 | data[start + 5]
            fields["icmp_seq"] = data[start + 6] << 8 | data[start + 7]
        raw = f"{proto_name} {src} -> {dst} type {kind} code {code}"
        self.out.append(Event(utc(stamp), SOURCE, _ICMP_SOURCE, fields, raw,
                              Origin(self.path, data_offset + start, None)))

    # --- DHCP: the slow path through scapy --------------------------------------------------------------

    def _dhcp(self, flow: Flow, forward: bool, payload: bytes, offset: int, stamp: float) -> None:
        described = dhcp.describe(payload)
        if isinstance(described, str):
            self.malformed(offset, described, payload)
            return
        flow.service = "dhcp"
        fields = {**self._ends(flow, forward), **described}
        raw = (f"DHCP {fields.get('message_type', '?')} {fields['src_ip']} -> {fields['dst_ip']} "
               f"client {fields.get('client_mac', '?')}")
        self.out.append(self._event("dhcp", stamp, offset, fields, raw))

    # --- DNS --------------------------------------------------------------------------------------------

    def _dns(self, flow: Flow, forward: bool, message: bytes, offset: int, stamp: float, cut: bool) -> None:
        parsed = dns.parse_message(message, cut)
        if parsed is None:
            return
        if parsed.__class__ is str:
            self.malformed(offset, parsed, message)
            return
        flow.service = "dns"
        pending = flow.dns
        if parsed.flags & 0x8000:
            query = pending.pop(parsed.trans_id, None) if pending else None
            if query is not None and query[4] != forward:
                fields = query[0]
                _add_answer(fields, parsed)
                fields["rtt"] = round(max(stamp - query[1], 0.0), 6)
                self._dns_event(query)
                return
            if query is not None:  # the same id from the same side: not its answer
                self._dns_event(query)
            ends = self._ends(flow, not forward)  # seen from the asking side
            fields = _question_fields(ends, parsed)
            _add_answer(fields, parsed)
            self._dns_event([fields, stamp, offset, "", forward])
            return
        fields = _question_fields(self._ends(flow, forward), parsed)
        if pending is None:
            pending = flow.dns = {}
        earlier = pending.pop(parsed.trans_id, None)
        if earlier is not None:
            self._dns_event(earlier)
        elif len(pending) >= MAX_DNS_PENDING:
            self._dns_event(pending.pop(next(iter(pending))))
        pending[parsed.trans_id] = [fields, stamp, offset, "", forward]

    def _dns_event(self, pending: list) -> None:
        fields, stamp, offset = pending[0], pending[1], pending[2]
        answers = fields.get("answers")
        raw = (f"DNS {fields['src_ip']}:{fields['src_port']} -> {fields['dst_ip']}:{fields['dst_port']} "
               f"{fields.get('qtype_name', '-')} {fields.get('query', '-')} {fields.get('rcode_name', '-')}"
               + (f" {' '.join(str(answer) for answer in answers)}" if answers else ""))
        self.out.append(Event(utc(stamp), SOURCE, _DNS_SOURCE, fields, raw, Origin(self.path, offset, None)))

    # --- TCP streams ------------------------------------------------------------------------------------

    def _hold(self, half: Half) -> bool:
        if half.held:
            return True
        if self.held >= MAX_HELD:
            self.stats["unbuffered"] += 1
            return False
        half.held = True
        self.held += 1
        return True

    def _release(self, half: Half) -> None:
        if half.held:
            half.held = False
            self.held -= 1

    def _tcp(self, flow: Flow, forward: bool, seq: int, flags: int, data: bytes, start: int, end: int,
             data_offset: int, stamp: float) -> None:
        """Follow one direction's bytes by sequence number. Until its first payload a direction is only the
        sequence number its bytes start at (an int in ``flow.halves``): most SYNs never carry any."""
        halves = flow.halves
        if halves is None:
            halves = flow.halves = [None, None]
        index = 0 if forward else 1
        half = halves[index]
        length = end - start
        if flags & 2:
            seq = (seq + 1) & _MASK
            if half.__class__ is Half:
                if half.next_seq is not None and half.next_seq != seq:
                    self._gap(flow, half, forward)
                half.next_seq = seq
            elif length <= 0:
                halves[index] = seq
                return
            else:
                half = None
        if length <= 0:
            return
        if half.__class__ is not Half:
            expected = half
            half = halves[index] = Half()
            half.next_seq = seq if expected is None or flags & 2 else expected
        ahead = (seq - half.next_seq) & _MASK
        if ahead:
            if ahead < 0x80000000:  # bytes before this segment were not captured
                self._gap(flow, half, forward)
            else:
                behind = 0x100000000 - ahead
                if behind >= length:
                    return  # a retransmission of bytes already seen
                start += behind
                length -= behind
                seq = half.next_seq
        half.next_seq = (seq + length) & _MASK
        chunk = data[start:end]
        if self.payload_limit:
            self._keep_payload(flow, forward, chunk)
        if flow.login is not None:
            found = flow.login.feed(forward, seq, chunk, data_offset + start, stamp)
            if found:
                self._credentials(found, self._ends(flow, flow.login.client_forward))
        if half.mode != IGNORE:
            self._feed(flow, half, forward, chunk, data_offset + start, stamp)
        if len(chunk) < length:  # the snaplen cut the segment: what follows is a gap
            self._gap(flow, half, forward)

    def _gap(self, flow: Flow, half: Half, forward: bool) -> None:
        """The stream of one direction breaks off (lost bytes, snaplen, the flow's end): what its parser holds
        is decoded as far as it goes, and the next segment is looked at afresh."""
        mode, buf = half.mode, half.buf
        if mode == HTTP_REQUEST and buf:
            request = http.parse_request(bytes(buf), complete=False)
            if request is not None:
                self._request(flow, forward, request, bytes(buf), half.start, half.time)
        elif mode == TLS_HELLO and half.hello is not None:
            hello = half.hello.partial()
            if hello is not None:
                self._hello(flow, forward, hello, half.start, half.time)
        elif mode == SSH_BANNER and buf and buf.startswith(b"SSH-"):
            self._banner(flow, forward, bytes(buf), half.start, half.time)
        half.mode = NEW
        half.buf = None
        half.hello = None
        half.skip = 0
        self._release(half)

    def _feed(self, flow: Flow, half: Half, forward: bool, chunk: bytes, offset: int, stamp: float) -> None:
        if half.mode == OTHER:
            half.mode = NEW  # every segment start is a chance to find a message again
        pos, size = 0, len(chunk)
        while pos < size:
            if half.skip:
                step = min(half.skip, size - pos)
                half.skip -= step
                pos += step
                continue
            mode = half.mode
            if mode == NEW:
                mode = half.mode = self._classify(flow, chunk, pos)
                half.start, half.time, half.buf = offset + pos, stamp, None
                if mode in (OTHER, IGNORE):
                    return
            if mode == HTTP_REQUEST:
                pos = self._http_head(flow, half, forward, chunk, pos, offset, stamp, True)
            elif mode == HTTP_RESPONSE:
                pos = self._http_head(flow, half, forward, chunk, pos, offset, stamp, False)
            elif mode == TLS_HELLO:
                pos = self._tls(flow, half, forward, chunk, pos)
            elif mode == SSH_BANNER:
                pos = self._ssh(flow, half, forward, chunk, pos)
            elif mode == DNS_TCP:
                pos = self._dns_tcp(flow, half, forward, chunk, pos, offset, stamp)
            else:
                return

    def _classify(self, flow: Flow, chunk: bytes, pos: int) -> int:
        first = chunk[pos]
        if first == 0x16:
            if len(chunk) - pos >= 6 and chunk[pos + 1] == 3:
                if chunk[pos + 5] == 1:
                    return TLS_HELLO
                if chunk[pos + 5] == 2:
                    flow.service = "tls"
                    return IGNORE
            return OTHER
        if 0x41 <= first <= 0x5A:
            if chunk.startswith(b"HTTP/1.", pos):
                return HTTP_RESPONSE
            if chunk.startswith(b"SSH-", pos):
                return SSH_BANNER
            if http.REQUEST_START.match(chunk, pos):
                return HTTP_REQUEST
        if flow.key[4] == 6 and (flow.key[2] == 53 or flow.key[3] == 53):
            return DNS_TCP
        return OTHER

    # --- HTTP -------------------------------------------------------------------------------------------

    def _http_head(self, flow: Flow, half: Half, forward: bool, chunk: bytes, pos: int, offset: int,
                   stamp: float, request: bool) -> int:
        buf = half.buf
        if buf is None:
            end = chunk.find(b"\r\n\r\n", pos)
            if end >= 0:
                self._http_message(flow, half, forward, chunk[pos:end], request)
                return end + 4
            buf = half.buf = bytearray(chunk[pos:])
            if not self._hold(half):
                self._gap(flow, half, forward)  # decoded from this segment alone
                half.mode = OTHER
                return len(chunk)
        else:
            before = len(buf)
            buf += chunk[pos:]
            end = buf.find(b"\r\n\r\n", max(0, before - 3))
            if end >= 0:
                head = bytes(buf[:end])
                half.buf = None
                self._release(half)
                self._http_message(flow, half, forward, head, request)
                return pos + end + 4 - before
        if request and http.first_line_rejects(buf):
            half.mode, half.buf = OTHER, None
            self._release(half)
        elif len(buf) > http.MAX_HEAD_BYTES:
            half.buf = buf[:http.MAX_HEAD_BYTES]
            self._gap(flow, half, forward)
            half.mode = OTHER
        return len(chunk)

    def _http_message(self, flow: Flow, half: Half, forward: bool, head: bytes, request: bool) -> None:
        half.mode = NEW
        if request:
            parsed = http.parse_request(head)
            if parsed is None:
                half.mode = OTHER
                return
            self._request(flow, forward, parsed, head, half.start, half.time)
            length = http.body_length(parsed.headers)
        else:
            response = http.parse_response(head)
            if response is None:
                half.mode = OTHER
                return
            method = self._response(flow, forward, response)
            if response.status == 101:  # switching protocols (WebSocket…): no more HTTP either way
                half.mode = IGNORE
                halves = flow.halves
                if halves is not None:
                    other = halves[1 if forward else 0]
                    if other.__class__ is not Half:
                        expected, other = other, Half()
                        other.next_seq = expected
                        halves[1 if forward else 0] = other
                    other.mode = IGNORE
                return
            if method == "HEAD" or response.status < 200 or response.status in (204, 304):
                length = 0
            else:
                length = http.body_length(response.headers, response=True)
        if length is None:
            half.mode = OTHER
        else:
            half.skip = length

    def _request(self, flow: Flow, forward: bool, request: http.Request, head: bytes, offset: int,
                 stamp: float) -> None:
        flow.service = "http"
        fields = self._ends(flow, forward)
        http.proxy_fields(fields, request)
        if not request.complete:
            fields["http_truncated"] = True
        queue = flow.http
        if queue is None:
            queue = flow.http = deque()
        elif len(queue) >= MAX_HTTP_PENDING:
            self._http_event(queue.popleft())
        login = credentials.http_authorization(head, offset, stamp, forward)  # its raw head keeps no secret
        if login is not None:
            head = login[0]
        queue.append([fields, stamp, offset, decode_line(head[:QUARANTINE_BYTES]), forward, request.method,
                      None if login is None else login[1]])

    def _response(self, flow: Flow, forward: bool, response: http.Response) -> str | None:
        """Give the status to the oldest request sent the other way; returns that request's method."""
        queue = flow.http
        if not queue or 100 <= response.status < 200 and response.status != 101:
            return None
        for index, pending in enumerate(queue):
            if pending[4] != forward:
                del queue[index]
                pending[0]["sc-status"] = response.status
                self._http_event(pending)
                return pending[5]
        return None

    def _http_event(self, pending: list) -> None:
        self.out.append(Event(utc(pending[1]), SOURCE, _HTTP_SOURCE, pending[0], pending[3],
                              Origin(self.path, pending[2], None)))
        if pending[6]:
            self._credentials(credentials.http_result(pending[6], pending[0].get("sc-status")), pending[0])

    def _credentials(self, found: list[credentials.Credential], ends: dict[str, Any]) -> None:
        """Events for logins seen in clear; ``ends``: the client's and the server's addresses and ports."""
        for credential in found:
            fields = credential.fields(ends)
            self.out.append(self._event("credential", credential.time, credential.offset, fields,
                                        credential.summary(fields)))

    # --- TLS --------------------------------------------------------------------------------------------

    def _tls(self, flow: Flow, half: Half, forward: bool, chunk: bytes, pos: int) -> int:
        assembler = half.hello
        if assembler is None:
            body = tls.HelloAssembler.whole(chunk, pos)
            if body is not None:
                half.mode = IGNORE
                hello = tls.parse_client_hello(body)
                if hello.__class__ is str:
                    self.malformed(half.start, hello, chunk[pos:])  # type: ignore[arg-type]
                else:
                    self._hello(flow, forward, hello, half.start, half.time)  # type: ignore[arg-type]
                return len(chunk)
            assembler = tls.HelloAssembler()
            if self._hold(half):
                half.hello = assembler
        result = assembler.feed(chunk[pos:] if pos else chunk)
        if result.__class__ is int:
            if result == tls.NOT_HELLO:
                half.mode, half.hello = IGNORE, None
                self._release(half)
            elif half.hello is None:  # no room to wait for the rest: decoded from this segment alone
                half.mode = IGNORE
                partial = assembler.partial()
                if partial is not None:
                    self._hello(flow, forward, partial, half.start, half.time)
            return len(chunk)
        half.mode, half.hello = IGNORE, None
        self._release(half)
        if result.__class__ is str:
            self.malformed(half.start, result, bytes(assembler.records[:QUARANTINE_BYTES]) or chunk[pos:])
        else:
            self._hello(flow, forward, result, half.start, half.time)
        return len(chunk)

    def _hello(self, flow: Flow, forward: bool, hello: tls.ClientHello, offset: int, stamp: float) -> None:
        flow.service = "tls"
        fields = self._ends(flow, forward)
        name = hello.server_name
        if name is not None:
            fields["tls.sni"] = fields["server_name"] = name
        version = tls.ja4_version(hello)
        fields["tls.version"] = tls.VERSION_NAMES.get(version) or f"0x{version:04x}"
        fields["tls.client_version"] = tls.VERSION_NAMES.get(hello.version) or f"0x{hello.version:04x}"
        fields["tls.ciphers"] = hello.ciphers
        fields["tls.extensions"] = hello.extensions
        if hello.alpn:
            fields["tls.alpn"] = [decode_line(protocol) for protocol in hello.alpn]
        if hello.complete:
            fields["tls.ja3"], fields["tls.ja3_hash"], fields["tls.ja4"], fields["tls.ja4_r"] = tls.fingerprints(hello)
            raw = (f"TLS ClientHello {fields['src_ip']}:{fields['src_port']} -> {fields['dst_ip']}:"
                   f"{fields['dst_port']} sni={name or '-'} {fields['tls.ja4']}")
        else:
            fields["tls.truncated"] = True
            raw = (f"TLS ClientHello (cut short) {fields['src_ip']}:{fields['src_port']} -> {fields['dst_ip']}:"
                   f"{fields['dst_port']} sni={name or '-'}")
        self.out.append(Event(utc(stamp), SOURCE, _TLS_SOURCE, fields, raw, Origin(self.path, offset, None)))

    # --- SSH --------------------------------------------------------------------------------------------

    def _ssh(self, flow: Flow, half: Half, forward: bool, chunk: bytes, pos: int) -> int:
        buf = half.buf
        end = chunk.find(b"\n", pos)
        if buf is None:
            if end >= 0:  # the whole banner in one segment: nothing to hold
                half.mode = IGNORE
                if end - pos <= MAX_BANNER_BYTES:
                    self._banner(flow, forward, chunk[pos:end], half.start, half.time)
                return len(chunk)
            if not self._hold(half):
                half.mode = IGNORE
                return len(chunk)
            buf = half.buf = bytearray()
        if end < 0:
            buf += chunk[pos:pos + MAX_BANNER_BYTES]
            if len(buf) > MAX_BANNER_BYTES:
                half.mode, half.buf = IGNORE, None
                self._release(half)
            return len(chunk)
        buf += chunk[pos:end]
        half.mode, half.buf = IGNORE, None
        self._release(half)
        if len(buf) <= MAX_BANNER_BYTES:
            self._banner(flow, forward, bytes(buf), half.start, half.time)
        return len(chunk)

    def _banner(self, flow: Flow, forward: bool, line: bytes, offset: int, stamp: float) -> None:
        flow.service = "ssh"
        ssh = flow.ssh
        if ssh is None:
            ssh = flow.ssh = [None, None, stamp, offset]
        ssh[0 if forward else 1] = decode_line(line.rstrip(b"\r"))
        if ssh[0] is not None and ssh[1] is not None:
            self._ssh_event(flow)

    def _ssh_event(self, flow: Flow) -> None:
        client, server, stamp, offset = flow.ssh  # type: ignore[misc]
        flow.ssh = None
        fields = self._ends(flow, True)
        if client is not None:
            fields["client"] = client
        if server is not None:
            fields["server"] = server
        version = (client or server or "").split("-", 2)
        if len(version) >= 2:
            fields["ssh_version"] = version[1]
        raw = f"SSH {fields['src_ip']}:{fields['src_port']} -> {fields['dst_ip']}:{fields['dst_port']} " \
              f"client={client or '-'} server={server or '-'}"
        self.out.append(self._event("ssh", stamp, offset, fields, raw))

    # --- DNS over TCP -----------------------------------------------------------------------------------

    def _dns_tcp(self, flow: Flow, half: Half, forward: bool, chunk: bytes, pos: int, offset: int,
                 stamp: float) -> int:
        """DNS over TCP: each message follows its two-byte length."""
        size = len(chunk)
        buf = half.buf
        if buf:
            if len(buf) < 2:
                take = min(2 - len(buf), size - pos)
                buf += chunk[pos:pos + take]
                pos += take
                if len(buf) < 2:
                    return size
            length = buf[0] << 8 | buf[1]
            take = min(2 + length - len(buf), size - pos)
            buf += chunk[pos:pos + take]
            pos += take
            if len(buf) < 2 + length:
                return size
            half.buf = None
            self._release(half)
            self._dns(flow, forward, bytes(buf[2:]), half.start + 2, half.time, False)
            return pos
        while pos + 2 <= size:
            length = chunk[pos] << 8 | chunk[pos + 1]
            if pos + 2 + length > size:
                break
            self._dns(flow, forward, chunk[pos + 2:pos + 2 + length], offset + pos + 2, stamp, False)
            pos += 2 + length
        if pos < size and self._hold(half):
            half.start, half.time = offset + pos, stamp
            half.buf = bytearray(chunk[pos:])
        return size


def _question_fields(fields: dict[str, Any], message: dns.DnsMessage) -> dict[str, Any]:
    fields["trans_id"] = message.trans_id
    questions = message.questions
    if questions:
        name, qtype, qclass = questions[0]
        type_name = dns.QTYPE_NAMES.get(qtype) or f"TYPE{qtype}"
        fields["query"] = name if len(questions) == 1 else [question[0] for question in questions]
        fields["qtype"] = qtype
        fields["qtype_name"] = fields["record_type"] = type_name
        fields["qclass"] = qclass
    if not message.complete:
        fields["dns_truncated"] = True
    return fields


def _add_answer(fields: dict[str, Any], message: dns.DnsMessage) -> None:
    fields["rcode"] = message.rcode
    fields["rcode_name"] = dns.rcode_name(message.rcode)
    if message.answers:
        answers = [answer[3] for answer in message.answers]
        fields["answers"] = answers
        fields["TTLs"] = [answer[2] for answer in message.answers]
        fields["answer"] = answers
    if not message.complete:
        fields["dns_truncated"] = True


def _conn_state(flow: Flow) -> str:
    """Zeek's conn_state from the TCP flags each side sent (other protocols: see ``Analyzer._flow_event``)."""
    seen = flow.seen
    syn, synack = seen & _S, seen & (_H << 1)
    fin_o, fin_r, rst_o, rst_r = seen & _F, seen & (_F << 1), seen & _R, seen & (_R << 1)
    if syn and not synack:
        if rst_r:
            return "REJ"
        if rst_o:
            return "RSTOS0"
        if fin_o:
            return "SH"
        return "S0"
    if synack and not syn:
        if rst_r:
            return "RSTRH"
        if fin_r:
            return "SHR"
        return "OTH"
    if not syn:
        return "OTH"
    if rst_o:
        return "RSTO"
    if rst_r:
        return "RSTR"
    if fin_o and fin_r:
        return "SF"
    if fin_o:
        return "S2"
    if fin_r:
        return "S3"
    return "S1"
