"""Durations (``90d``, ``12h``) and sizes (``64M``) as people write them in options and the config file."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
MAX_DAYS = 36_500
"""A hundred years: beyond this a duration is a typo (and ``timedelta`` overflows soon after)."""


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``12h``, ``90d``, ``2w``; raises ``ValueError`` saying what is expected."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 12h, 90d or 2w")
    try:
        duration = timedelta(**{_DURATION_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        duration = timedelta.max
    if duration > timedelta(days=MAX_DAYS):
        raise ValueError(f"{text!r} is longer than {MAX_DAYS} days")
    if not duration:
        raise ValueError(f"{text!r} is zero; give a positive duration")
    return duration


def parse_size(text: str | int) -> int:
    """A byte count: ``65536``, ``64K``, ``64M``, ``1G`` (powers of 1024); raises ``ValueError``."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"{text} is negative")
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a size like 65536, 64K, 64M or 1G")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
