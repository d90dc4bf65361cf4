"""C2 indicators looked up fast enough for every event of an ingest, with lists of any size.

Domain names: a set lookup for each suffix of the observed name on a label boundary (``a.b.evil.example``
asks for itself, ``b.evil.example``, ``evil.example``, ``example``), so an IOC domain matches its subdomains
and nothing else. Loki tests ``c2 in remote_system`` (a substring), which also matches ``notevil.example``
and needs one comparison per list entry; this does not.

Addresses: parsed with ``inet_pton``, a dict for single addresses; networks as sorted integer ranges
searched with bisect, each with the index of the network around it (CIDR networks nest or are apart), so
the most specific network holding the address is found in O(log n + depth).
"""

from __future__ import annotations

import bisect
import ipaddress
import socket
from dataclasses import dataclass, field

from seccenter.detect.ioc.model import Indicator

MAX_NAME_CHARS = 253
"""Longer host names cannot be resolved; an attacker's padding of a Host header is not looked up."""
CACHE_SIZE = 16384
_IPV4_MAPPED = bytes(10) + b"\xff\xff"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class _Ranges:
    """Networks of one IP version as [first, last] integer ranges, sorted by first address, widest first."""

    networks: list[tuple[int, int, Indicator]] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    dirty: bool = False

    def add(self, network: IPNetwork, indicator: Indicator) -> None:
        self.networks.append((int(network.network_address), int(network.broadcast_address), indicator))
        self.dirty = True

    def _build(self) -> None:
        self.networks.sort(key=lambda item: (item[0], -item[1]))
        self.starts = [start for start, _end, _indicator in self.networks]
        self.ends = [end for _start, end, _indicator in self.networks]
        self.indicators = [indicator for _start, _end, indicator in self.networks]
        self.parents = []
        open_networks: list[int] = []  # indices of the networks enclosing the current one, innermost last
        for index, (start, _end, _indicator) in enumerate(self.networks):
            while open_networks and self.ends[open_networks[-1]] < start:
                open_networks.pop()
            self.parents.append(open_networks[-1] if open_networks else -1)
            open_networks.append(index)
        self.dirty = False

    def find(self, number: int) -> Indicator | None:
        if self.dirty:
            self._build()
        index = bisect.bisect_right(self.starts, number) - 1
        # the networks holding ``number`` are this one or those around it: walk outwards
        while index >= 0 and self.ends[index] < number:
            index = self.parents[index]
        return self.indicators[index] if index >= 0 else None


def address_number(text: str) -> tuple[int, int] | None:
    """(IP version, address as an integer) for an address in any notation (``[v6]``, IPv4-mapped IPv6 as
    IPv4), or None; ``inet_pton`` is several times faster than ``ipaddress`` for the events of an ingest."""
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, text[1:-1] if text.startswith("[") else text)
    except OSError:
        return None
    if packed.startswith(_IPV4_MAPPED):
        return 4, int.from_bytes(packed[12:], "big")
    return 6, int.from_bytes(packed, "big")


class C2Index:
    """C2 indicators by domain, address and network; the first indicator for a value wins.

    Lookups are remembered (up to ``CACHE_SIZE`` values): the events of a capture or log repeat a few
    addresses and names many times."""

    def __init__(self) -> None:
        self.domains: dict[str, Indicator] = {}
        self.addresses: dict[tuple[int, int], Indicator] = {}
        self._ranges = {4: _Ranges(), 6: _Ranges()}
        self._network_values: set[str] = set()
        self._names_seen: dict[str, Indicator | None] = {}
        self._addresses_seen: dict[str, Indicator | None] = {}

    def __len__(self) -> int:
        return len(self.domains) + len(self.addresses) + len(self._network_values)

    def add(self, indicator: Indicator, address: IPAddress | IPNetwork | None) -> bool:
        """Add an indicator; False when its value is already there."""
        self._names_seen.clear()
        self._addresses_seen.clear()
        if address is None:
            return self.domains.setdefault(indicator.value, indicator) is indicator
        if isinstance(address, ipaddress.IPv4Network | ipaddress.IPv6Network):
            if indicator.value in self._network_values:
                return False
            self._network_values.add(indicator.value)
            self._ranges[address.version].add(address, indicator)
            return True
        key = (address.version, int(address))
        return self.addresses.setdefault(key, indicator) is indicator

    def match_name(self, name: str) -> Indicator | None:
        """The indicator for ``name`` or the nearest domain above it; an IP literal is looked up as an address."""
        try:
            return self._names_seen[name]
        except KeyError:
            pass
        found = self._lookup_name(name)
        if len(self._names_seen) >= CACHE_SIZE:
            self._names_seen.clear()
        self._names_seen[name] = found
        return found

    def _lookup_name(self, name: str) -> Indicator | None:
        if not name or len(name) > MAX_NAME_CHARS:
            return None
        name = name.lower().rstrip(".")
        if not name:
            return None
        if name[0].isdigit() or ":" in name:
            found = self.match_address(name)
            if found is not None:
                return found
        domains = self.domains
        if not domains:
            return None
        position = 0
        while True:
            found = domains.get(name[position:] if position else name)
            if found is not None:
                return found
            position = name.find(".", position) + 1
            if not position:
                return None

    def match_address(self, text: str) -> Indicator | None:
        """The indicator for the address ``text`` (any notation), or for the narrowest network holding it."""
        try:
            return self._addresses_seen[text]
        except KeyError:
            pass
        found = None
        number = address_number(text)
        if number is not None:
            found = self.addresses.get(number)
            if found is None and self._network_values:
                found = self._ranges[number[0]].find(number[1])
        if len(self._addresses_seen) >= CACHE_SIZE:
            self._addresses_seen.clear()
        self._addresses_seen[text] = found
        return found
