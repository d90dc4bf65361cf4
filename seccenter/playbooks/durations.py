"""ISO 8601 durations of playbook deadlines (``PT72H``, ``P2D``, ``P1W``, ``P1DT12H``) and the time they end.

Weeks and days are calendar days in the team's zone (same wall time, as people count "in two days"); hours,
minutes and seconds are exact elapsed time, as the law counts "72 hours" (``seccenter.privacy.deadlines``).
Years and months are refused: their length depends on the date, and no playbook deadline needs them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from seccenter.privacy.deadlines import DEFAULT_ZONE

_PATTERN = re.compile(r"P(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
                      r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+)S)?)?")
_CALENDAR = re.compile(r"P(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+W)?(?:[0-9]+D)?")
MAX_DIGITS = 6  # a million hours is more than a century: larger numbers are typing mistakes


class DurationError(ValueError):
    """Text that is not a supported ISO 8601 duration."""


@dataclass(frozen=True)
class Duration:
    text: str
    days: int  # calendar days (weeks included)
    elapsed: timedelta  # the time part

    def after(self, start: datetime, zone: tzinfo = DEFAULT_ZONE) -> datetime:
        """When the duration ends if it starts at ``start`` (aware); UTC."""
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        moment = start.astimezone(UTC)  # adding hours to a zoned time would count wall-clock hours
        if self.days:
            local = start.astimezone(zone)
            # a wall time that does not exist (spring forward) is read with the offset before the change
            wall = (local.replace(tzinfo=None) + timedelta(days=self.days)).replace(tzinfo=zone)
            moment = wall.astimezone(UTC)
        return (moment + self.elapsed).astimezone(UTC)


def parse_duration(text: str) -> Duration:
    """``PnW``, ``PnDTnHnMnS`` (any part may be left out, at least one given); raises ``DurationError``."""
    if not isinstance(text, str):
        raise DurationError(f"a duration is text such as PT72H, not {type(text).__name__}")
    match = _PATTERN.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        date_part = text.split("T", 1)[0]
        if _CALENDAR.fullmatch(date_part) and ("Y" in date_part or "M" in date_part):
            raise DurationError(f"{text!r}: years and months are not supported (their length varies); "
                                "use days or weeks")
        raise DurationError(f"{text!r} is not an ISO 8601 duration such as PT72H, P2D, P1W or P1DT12H")
    digits = {name: value for name, value in match.groupdict().items() if value is not None}
    if any(len(value.lstrip("0")) > MAX_DIGITS for value in digits.values()):  # before int(), which refuses 4300
        raise DurationError(f"{text[:40]!r} is longer than any playbook deadline")
    parts = {name: int(value) for name, value in digits.items()}
    if "weeks" in parts and len(parts) > 1:
        raise DurationError(f"{text!r}: ISO 8601 writes weeks alone (P2W); use days for mixed durations")
    days = parts.get("weeks", 0) * 7 + parts.get("days", 0)
    elapsed = timedelta(hours=parts.get("hours", 0), minutes=parts.get("minutes", 0),
                        seconds=parts.get("seconds", 0))
    return Duration(text, days, elapsed)
