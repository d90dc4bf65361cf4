"""The slow path: DHCP (BOOTP on UDP ports 67/68) described with scapy's full dissection.

DHCP is rare (a few packets per host per day) and its options are many and irregular, so it is the one
protocol handed to scapy instead of being decoded by hand; scapy is imported on the first DHCP packet.
``describe(payload)`` returns the event fields, or a reason string when scapy cannot dissect the payload.
"""

from __future__ import annotations

from typing import Any

from seccenter.collect.interface import decode_line

_TEXT_OPTIONS = {"hostname": "hostname", "vendor_class_id": "vendor_class", "domain": "domain",
                 "client_FQDN": "client_fqdn"}
_ADDRESS_OPTIONS = {"requested_addr": "requested_addr", "server_id": "server_id", "router": "router",
                    "subnet_mask": "subnet_mask"}


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return decode_line(value.rstrip(b"\x00")) or None
    if isinstance(value, str):
        return value or None
    return None


def describe(payload: bytes) -> dict[str, Any] | str:
    try:
        from scapy.layers.dhcp import BOOTP, DHCP, DHCPTypes

        packet = BOOTP(payload)
        bootp = packet[BOOTP]
        fields: dict[str, Any] = {
            "trans_id": int(bootp.xid),
            "client_mac": ":".join(f"{byte:02x}" for byte in bytes(bootp.chaddr)[:6]),
        }
        for name, value in (("client_addr", bootp.ciaddr), ("assigned_addr", bootp.yiaddr)):
            if value and value != "0.0.0.0":
                fields[name] = str(value)
        if DHCP in packet:
            for option in packet[DHCP].options:
                if not isinstance(option, tuple) or len(option) < 2:
                    continue
                name, value = option[0], option[1]
                if name == "message-type":
                    fields["message_type"] = DHCPTypes.get(value, str(value)) if isinstance(value, int) else str(value)
                elif name in _TEXT_OPTIONS:
                    text = _text(value)
                    if text:
                        fields[_TEXT_OPTIONS[name]] = text
                elif name in _ADDRESS_OPTIONS and isinstance(value, str):
                    fields[_ADDRESS_OPTIONS[name]] = value
                elif name == "param_req_list" and isinstance(value, list | tuple):
                    fields["param_req_list"] = [int(item) for item in value if isinstance(item, int)]
        else:
            fields["message_type"] = "bootrequest" if bootp.op == 1 else "bootreply"
        return fields
    except Exception as error:  # scapy raises many things on hostile bytes; none may end the run
        return f"DHCP payload scapy cannot dissect: {type(error).__name__}"
