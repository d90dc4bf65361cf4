"""What every channel module offers: ``send(settings, message)``, raising ``DeliveryError`` when it failed."""

from __future__ import annotations


class DeliveryError(Exception):
    """A message did not reach its channel. The text is stored and logged: it names the server and the reason,
    never a password, a header value or a URL's path and query (they may hold a token)."""
