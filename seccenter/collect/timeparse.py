"""Timestamp parsing shared by the text formats, cached because log timestamps repeat line after line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

MONTHS = {name: number for number, name in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}

_CACHE_LIMIT = 4096


class TimestampCache:
    """Maps a timestamp string to a UTC datetime, remembering recent strings."""

    def __init__(self, convert) -> None:
        self._convert = convert
        self._seen: dict[str, datetime] = {}

    def __call__(self, text: str) -> datetime:
        found = self._seen.get(text)
        if found is None:
            found = self._convert(text)
            if len(self._seen) >= _CACHE_LIMIT:
                self._seen.clear()
            self._seen[text] = found
        return found


def in_zone(stamp: datetime, tz: tzinfo | None) -> datetime:
    """A zone-less time read in ``tz``, or without one in this machine's zone with the offset of its own
    date (summer or winter time), not of today's."""
    return stamp.replace(tzinfo=tz) if tz is not None else stamp.astimezone()


def rfc3164_converter(tz: tzinfo | None, year: int | None, now: datetime | None = None):
    """Build a converter for ``Mmm dd hh:mm:ss``: the year is taken from config or inferred, the zone likewise.

    Without a configured year the current one is used, except that a date more than a day in the future
    belongs to last year (a December line read in January).
    """

    def convert(text: str) -> datetime:
        month = MONTHS[text[0:3]]
        day = int(text[4:6])
        hour, minute, second = int(text[7:9]), int(text[10:12]), int(text[13:15])
        if year is not None:
            return in_zone(datetime(year, month, day, hour, minute, second), tz).astimezone(UTC)
        reference = now or datetime.now(UTC)
        for candidate in range(reference.year, reference.year - 8, -1):
            try:
                stamp = in_zone(datetime(candidate, month, day, hour, minute, second), tz)
            except ValueError:  # Feb 29 outside a leap year: the line is from an earlier year
                continue
            if stamp - reference <= timedelta(days=1):
                return stamp.astimezone(UTC)
        raise ValueError(f"no year fits {text!r}")

    return convert


def iso_to_utc(text: str, tz: tzinfo | None = None) -> datetime:
    """RFC 3339 / ISO 8601; a stamp without offset is read in ``tz`` (local zone by default)."""
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if stamp.tzinfo is None:
        stamp = in_zone(stamp, tz)
    return stamp.astimezone(UTC)


def clf_to_utc(text: str) -> datetime:
    """Common Log Format: ``10/Oct/2000:13:55:36 -0700``."""
    day, month, year = int(text[0:2]), MONTHS[text[3:6]], int(text[7:11])
    hour, minute, second = int(text[12:14]), int(text[15:17]), int(text[18:20])
    sign = -1 if text[21] == "-" else 1
    offset = timedelta(hours=int(text[22:24]), minutes=int(text[24:26])) * sign
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset)).astimezone(UTC)
