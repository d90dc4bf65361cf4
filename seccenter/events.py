"""The one record type that flows from the collectors to detection and the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class LogSource:
    """Sigma logsource attributes of an event; ``None`` means the attribute does not apply."""

    product: str | None = None
    category: str | None = None
    service: str | None = None


@dataclass(slots=True)
class Origin:
    """Where an event (or a malformed record) was read: file path, byte offset, 1-based line.

    Not frozen: one is made per line, and a frozen dataclass's constructor costs twice as much."""

    path: str
    offset: int
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "offset": self.offset}


@dataclass(slots=True)
class Event:
    """One normalised event. ``fields`` use Sigma taxonomy names; ``time`` is timezone-aware UTC."""

    time: datetime
    source: str
    logsource: LogSource
    fields: dict[str, Any]
    raw: str | bytes
    origin: Origin


@dataclass(frozen=True, slots=True)
class Malformed:
    """A record a collector could not parse: kept with its origin so nothing is silently dropped."""

    origin: Origin
    reason: str
    raw: bytes
    raw_length: int = field(default=0)
