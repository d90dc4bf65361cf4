"""Assets (the city's systems) and how an event's host names and addresses find them.

An asset is linked to processing activities through the activities' ``systems`` lists (one source of truth);
an alert on an asset therefore knows which personal data is at stake.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from seccenter.detect.alert import SOURCE_IP_FIELDS
from seccenter.privacy.records import FieldSpec, Problem, record_to_dict

CRITICALITIES = ("low", "medium", "high", "critical")

HOST_FIELDS = ("host", "Computer", "hostname", "cs-host", "src_host", "WorkstationName")
"""Event fields that name a machine: syslog/journald ``host``, Windows ``Computer``, DHCP ``hostname``, the web
host asked for (``cs-host``), sshd's client name, the Windows logon workstation."""

ADDRESS_FIELDS = tuple(dict.fromkeys((*SOURCE_IP_FIELDS, "dst_ip", "dest_ip", "DestinationIp", "sender_ip",
                                      "target_ip", "id.orig_h", "id.resp_h")))
"""Event fields that hold an IP address, either end of a connection: an asset can be the attacker's target or,
when compromised, the source."""


@dataclass(frozen=True)
class Asset:
    id: str
    name: str = ""
    hostname: str = ""
    addresses: tuple[str, ...] = ()
    owner: str = ""
    criticality: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return record_to_dict(self)


ASSET_FIELDS = (
    FieldSpec("id", "text", required=True), FieldSpec("name", "text"), FieldSpec("hostname", "text"),
    FieldSpec("addresses", "texts"), FieldSpec("owner", "text"), FieldSpec("criticality", "text", CRITICALITIES),
    FieldSpec("description", "text"),
)


def address_problem(text: str) -> str | None:
    """Why ``text`` is not an IP address or network (CIDR), or None when it is one."""
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return str(error)
        return f"{text} has host bits set; the network is {ipaddress.ip_network(text, strict=False)}"
    return None


def asset_problems(asset: Asset, location: str, where: str) -> list[Problem]:
    return [Problem(location, f"{where}.addresses", reason)
            for reason in map(address_problem, asset.addresses) if reason]


def _host_key(value: str) -> str:
    """Lower case, without a trailing dot or a ``:port``; IPv6 literals in brackets lose the brackets."""
    text = value.strip().lower().rstrip(".")
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text


def _address(value: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = str(value).strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


@dataclass(frozen=True)
class AssetMatch:
    asset: Asset
    field: str
    value: str


class AssetIndex:
    """Finds assets by host name (full name, or a bare name against the first label of a full one) and by
    address (exact or inside a network). Lookups are cached: alerts repeat the same few values."""

    def __init__(self, assets: Iterable[Asset]) -> None:
        self.assets = {asset.id: asset for asset in assets}
        self._full: dict[str, list[str]] = {}
        self._first_label: dict[str, list[str]] = {}
        self._bare: dict[str, list[str]] = {}
        self._exact: dict[Any, list[str]] = {}
        self._networks: list[tuple[Any, str]] = []
        for asset in self.assets.values():
            if asset.hostname:
                name = _host_key(asset.hostname)
                self._full.setdefault(name, []).append(asset.id)
                target = self._first_label if "." in name else self._bare
                target.setdefault(name.split(".", 1)[0], []).append(asset.id)
            for text in asset.addresses:
                try:
                    network = ipaddress.ip_network(text, strict=False)
                except ValueError:
                    continue
                if network.num_addresses == 1:
                    self._exact.setdefault(network.network_address, []).append(asset.id)
                else:
                    self._networks.append((network, asset.id))
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}

    def _by_host(self, value: str) -> tuple[str, ...]:
        name = _host_key(value)
        found = list(self._full.get(name, ()))
        if "." in name:
            found += self._bare.get(name.split(".", 1)[0], ())
        else:
            found += self._first_label.get(name, ())
        return tuple(dict.fromkeys(found))

    def _by_address(self, value: str) -> tuple[str, ...]:
        address = _address(value)
        if address is None:
            return ()
        found = list(self._exact.get(address, ()))
        found += [asset_id for network, asset_id in self._networks
                  if network.version == address.version and address in network]
        return tuple(dict.fromkeys(found))

    def lookup(self, kind: str, value: str) -> tuple[str, ...]:
        key = (kind, value)
        if key not in self._cache:
            self._cache[key] = self._by_host(value) if kind == "host" else self._by_address(value)
        return self._cache[key]

    def match(self, fields: Mapping[str, Any]) -> list[AssetMatch]:
        """The assets an event's fields name, each once, with the field that named it."""
        matches: dict[str, AssetMatch] = {}
        for kind, names in (("host", HOST_FIELDS), ("address", ADDRESS_FIELDS)):
            for name in names:
                value = fields.get(name)
                if value is None or value == "" or isinstance(value, dict | list):
                    continue
                for asset_id in self.lookup(kind, str(value)):
                    matches.setdefault(asset_id, AssetMatch(self.assets[asset_id], name, str(value)))
        return list(matches.values())
