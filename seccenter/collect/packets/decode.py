"""The fast path: link, network and transport headers decoded straight from a packet's bytes.

``decode(linktype, data)`` returns one of:

- an IP tuple ``(family, src, dst, proto, sport, dport, tcp_flags, seq, start, end, ip_length, fragment,
  ip_id, truncated, vlan)``: ``family`` 4 or 6; ``src``/``dst`` the raw address bytes; ``sport``/``dport``
  the ports (ICMP: type and code; other protocols: 0); ``start:end`` the transport payload within ``data``
  (ICMP: the ICMP header on) as the IP header declares it, so ``end`` may lie past the captured bytes (slicing
  ``data[start:end]`` gives what was captured); ``ip_length`` the length the IP header declares; ``fragment`` 0 (none),
  1 (first fragment) or 2 (later fragment: no transport header, ports 0); ``truncated`` True when the
  capture holds less than the IP header declares (a snaplen cut); ``vlan`` the outer VLAN id or None;
- an ARP tuple ``(0, operation, sender_mac, sender_ip, target_mac, target_ip, arp_start)`` (Ethernet/IPv4 ARP);
- a string: why the packet is malformed (a header cut short or one that cannot be true);
- None: a frame that is neither IP nor ARP (STP, LLDP, IPX…), or a link type that is not decoded.

Link types: Ethernet (1) with 802.1Q/802.1ad/QinQ tags, MPLS and PPPoE sessions, Linux cooked SLL (113) and
SLL2 (276), raw IP (101, 12, 14, and 228/229), BSD loopback NULL (0, host byte order) and LOOP (108).
IPv6 extension headers (hop-by-hop, routing, fragment, destination options, AH, mobility, HIP, shim6) are
walked; ESP and "no next header" end the walk. A payload cut by the snaplen is decoded as far as it goes.
"""

from __future__ import annotations

import struct

ETHERNET, NULL, RAW, LOOP, SLL, RAW_IPV4, RAW_IPV6, SLL2 = 1, 0, 101, 108, 113, 228, 229, 276
RAW_LINKTYPES = frozenset({101, 12, 14})

IP_VERSION_TYPES = {4: 0x0800, 6: 0x86DD}
_VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
_AF_INET6 = frozenset({10, 23, 24, 28, 30})
_IPV6_OPTION_HEADERS = frozenset({0, 43, 60, 135, 139, 140, 253, 254})
_MAX_IPV6_HEADERS = 16
_MAX_TAGS = 8

_TCP = struct.Struct("!HHIIBB")
_UDP = struct.Struct("!HHH")
_ARP = struct.Struct("!HHBBH")
_tcp = _TCP.unpack_from
_udp = _UDP.unpack_from
_I = struct.Struct("!I").unpack_from


def decode(linktype: int, data: bytes) -> tuple | str | None:
    """Headers of one packet (see the module docstring)."""
    n = len(data)
    vlan = None
    if linktype == 1:
        if n < 14:
            return "Ethernet header cut short"
        kind = data[12] << 8 | data[13]
        off = 14
    elif linktype == 113:
        if n < 16:
            return "Linux cooked (SLL) header cut short"
        kind = data[14] << 8 | data[15]
        off = 16
    elif linktype == 276:
        if n < 20:
            return "Linux cooked (SLL2) header cut short"
        kind = data[0] << 8 | data[1]
        off = 20
    elif linktype in RAW_LINKTYPES or linktype == 228 or linktype == 229:
        if not n:
            return "raw IP packet is empty"
        kind = IP_VERSION_TYPES.get(data[0] >> 4, -1)
        off = 0
        if kind < 0:
            return f"raw IP packet with IP version {data[0] >> 4}"
    elif linktype == 0 or linktype == 108:
        if n < 4:
            return "loopback header cut short"
        if linktype == 108 or data[0] == 0 and data[1] == 0:
            family = data[2] << 8 | data[3] if linktype == 0 else _I(data, 0)[0]
        else:
            family = data[0] | data[1] << 8
        off = 4
        if family == 2:
            kind = 0x0800
        elif family in _AF_INET6:
            kind = 0x86DD
        else:
            return None
    else:
        return None
    if kind in _VLAN_TYPES:
        for _ in range(_MAX_TAGS):
            if n < off + 4:
                return "VLAN tag cut short"
            if vlan is None:
                vlan = (data[off] << 8 | data[off + 1]) & 0x0FFF
            kind = data[off + 2] << 8 | data[off + 3]
            off += 4
            if kind not in _VLAN_TYPES:
                break
        else:
            return "too many VLAN tags"
    if kind == 0x0800:
        # IPv4, inline: it is most of the traffic
        if n < off + 20:
            return "IPv4 header cut short"
        first = data[off]
        if first >> 4 != 4:
            return f"IPv4 header with IP version {first >> 4}"
        ihl = (first & 15) << 2
        if ihl < 20:
            return "IPv4 header length below 20 bytes"
        if n < off + ihl:
            return "IPv4 options cut short"
        total = data[off + 2] << 8 | data[off + 3]
        end = off + total
        if total == 0:  # segmentation offload: the capture holds the whole (coalesced) packet
            end = n
            total = n - off
        elif total < ihl:
            return "IPv4 total length shorter than its header"
        truncated = end > n
        avail = n if truncated else end
        fragment_word = data[off + 6] << 8 | data[off + 7]
        proto = data[off + 9]
        src = data[off + 12:off + 16]
        dst = data[off + 16:off + 20]
        start = off + ihl
        if fragment_word & 0x3FFF:
            ip_id = data[off + 4] << 8 | data[off + 5]
            if fragment_word & 0x1FFF:
                return 4, src, dst, proto, 0, 0, 0, 0, start, end, total, 2, ip_id, truncated, vlan
            return _transport(4, src, dst, proto, data, start, end, total, 1, ip_id, truncated, vlan)
        # the common cases inline: an unfragmented TCP segment or UDP datagram with its header whole
        if proto == 6 and avail - start >= 20:
            sport, dport, seq, _ack, offset, flags = _tcp(data, start)
            payload = start + ((offset >> 4) << 2)
            if start + 20 <= payload <= avail:
                return 4, src, dst, 6, sport, dport, flags, seq, payload, end, total, 0, 0, truncated, vlan
        elif proto == 17 and avail - start >= 8:
            sport, dport, length = _udp(data, start)
            if 8 <= length < end - start:
                end = start + length
            return 4, src, dst, 17, sport, dport, 0, 0, start + 8, end, total, 0, 0, truncated, vlan
        return _transport(4, src, dst, proto, data, start, end, total, 0, 0, truncated, vlan)
    if kind == 0x86DD:
        return _ipv6(data, off, vlan)
    if kind == 0x0806:
        return _arp(data, off)
    if kind == 0x8847 or kind == 0x8848:
        return _mpls(data, off, vlan)
    if kind == 0x8864:
        if n < off + 8:
            return "PPPoE header cut short"
        ppp = data[off + 6] << 8 | data[off + 7]
        if ppp == 0x0021:
            return _reframe(data, off + 8, 0x0800, vlan)
        if ppp == 0x0057:
            return _reframe(data, off + 8, 0x86DD, vlan)
    return None


def _reframe(data: bytes, off: int, kind: int, vlan: int | None) -> tuple | str | None:
    """Decode an IP packet found inside another header (MPLS, PPPoE) as if it were raw IP."""
    if kind == 0x86DD:
        return _ipv6(data, off, vlan)
    result = decode(RAW, data[off:])
    if result.__class__ is not tuple or not result[0]:
        return result
    shifted = list(result)
    shifted[8] += off
    shifted[9] += off
    if vlan is not None:
        shifted[14] = vlan
    return tuple(shifted)


def _mpls(data: bytes, off: int, vlan: int | None) -> tuple | str | None:
    n = len(data)
    for _ in range(_MAX_TAGS):
        if n < off + 4:
            return "MPLS label cut short"
        bottom = data[off + 2] & 1
        off += 4
        if bottom:
            break
    else:
        return "too many MPLS labels"
    if n <= off:
        return "MPLS payload missing"
    kind = IP_VERSION_TYPES.get(data[off] >> 4)
    return None if kind is None else _reframe(data, off, kind, vlan)


def _ipv6(data: bytes, off: int, vlan: int | None) -> tuple | str:
    n = len(data)
    if n < off + 40:
        return "IPv6 header cut short"
    if data[off] >> 4 != 6:
        return f"IPv6 header with IP version {data[off] >> 4}"
    payload = data[off + 4] << 8 | data[off + 5]
    proto = data[off + 6]
    src = data[off + 8:off + 24]
    dst = data[off + 24:off + 40]
    end = off + 40 + payload
    total = 40 + payload
    if payload == 0:  # a jumbogram or segmentation offload
        end = n
        total = n - off
    truncated = end > n
    avail = n if truncated else end
    start = off + 40
    fragment, ip_id = 0, 0
    for _ in range(_MAX_IPV6_HEADERS):
        if proto in _IPV6_OPTION_HEADERS:
            if start + 8 > avail:
                return "IPv6 extension header cut short"
            proto, size = data[start], (data[start + 1] + 1) << 3
        elif proto == 44:
            if start + 8 > avail:
                return "IPv6 fragment header cut short"
            proto = data[start]
            word = data[start + 2] << 8 | data[start + 3]
            ip_id = _I(data, start + 4)[0]
            start += 8
            if word & 0xFFF8:
                return 6, src, dst, proto, 0, 0, 0, 0, start, end, total, 2, ip_id, truncated, vlan
            if word & 1:
                fragment = 1
            continue
        elif proto == 51:
            if start + 8 > avail:
                return "IPv6 authentication header cut short"
            proto, size = data[start], (data[start + 1] + 2) << 2
        else:
            return _transport(6, src, dst, proto, data, start, end, total, fragment, ip_id, truncated, vlan)
        start += size
        if start > avail:
            return "IPv6 extension header cut short"
    return "too many IPv6 extension headers"


def _transport(family: int, src: bytes, dst: bytes, proto: int, data: bytes, start: int, end: int, total: int,
               fragment: int, ip_id: int, truncated: bool, vlan: int | None) -> tuple | str:
    avail = len(data) if truncated else end
    if proto == 6:
        if avail - start < 20:
            return "TCP header cut short"
        sport, dport, seq, _ack, offset, flags = _tcp(data, start)
        size = (offset >> 4) << 2
        if size < 20:
            return "TCP data offset below 20 bytes"
        payload = start + size
        if payload > avail:
            if not truncated:
                return "TCP header longer than its packet"
            payload = avail  # options cut by the snaplen: the fixed header is enough
        return family, src, dst, 6, sport, dport, flags, seq, payload, end, total, fragment, ip_id, truncated, vlan
    if proto == 17:
        if avail - start < 8:
            return "UDP header cut short"
        sport, dport, length = _udp(data, start)
        if 8 <= length < end - start:
            end = start + length
        return family, src, dst, 17, sport, dport, 0, 0, start + 8, end, total, fragment, ip_id, truncated, vlan
    if proto == 1 or proto == 58:
        if avail - start < 4:
            return "ICMP header cut short"
        return (family, src, dst, proto, data[start], data[start + 1], 0, 0, start, end, total, fragment, ip_id,
                truncated, vlan)
    return family, src, dst, proto, 0, 0, 0, 0, start, end, total, fragment, ip_id, truncated, vlan


def _arp(data: bytes, off: int) -> tuple | str | None:
    if len(data) < off + 8:
        return "ARP header cut short"
    _hardware, protocol, hardware_size, protocol_size, operation = _ARP.unpack_from(data, off)
    if protocol != 0x0800 or hardware_size != 6 or protocol_size != 4:
        return None
    if len(data) < off + 28:
        return "ARP body cut short"
    return (0, operation, data[off + 8:off + 14], data[off + 14:off + 18], data[off + 18:off + 24],
            data[off + 24:off + 28], off)
