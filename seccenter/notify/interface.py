"""What every channel module offers: ``send(settings, message)``, raising ``DeliveryError`` when it failed."""

from __future__ import annotations

import ipaddress


class DeliveryError(Exception):
    """A message did not reach its channel. The text is stored and logged: it names the server and the reason,
    never a password, a header value or a URL's path and query (they may hold a token)."""


def is_loopback(host: str) -> bool:
    """``host`` is this machine (127.0.0.0/8, ::1, localhost): what goes there never crosses the network."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"
