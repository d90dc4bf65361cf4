"""Legal deadlines of a personal-data breach or significant incident, computed in UTC.

* GDPR Art. 33(1): the supervisory authority is notified without undue delay and, where feasible, not later
  than 72 hours after the controller became aware of the breach; later notifications carry the reasons for the
  delay. Art. 33(4): the information may be provided in phases.
* GDPR Art. 34(1): data subjects are told without undue delay when the risk is high (no fixed hours).
* NIS2 (Directive (EU) 2022/2555) Art. 23(4): (a) early warning within 24 hours of becoming aware of a
  significant incident, (b) incident notification within 72 hours, (d) final report not later than one month
  after the incident notification was submitted.

Hours are exact elapsed time (72 h after 22:30 on the Friday before the October change is 21:30 on Monday,
local time). Regulation (EEC, Euratom) No 1182/71 would start an hours period only at the next full hour and
end a months period at the end of the day; the due times here are never later than that, so meeting them
meets the law. A month is added on the calendar of the controller's zone (same date and wall time, the last
day of a shorter month), because that is the calendar the period is counted in.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_ZONE = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Obligation:
    key: str
    label: str
    basis: str


OBLIGATIONS = {item.key: item for item in (
    Obligation("art33_authority", "notify the supervisory authority", "GDPR Art. 33(1)"),
    Obligation("art34_data_subjects", "communicate the breach to the data subjects", "GDPR Art. 34(1)"),
    Obligation("art34_public_communication", "public communication instead of telling each person",
               "GDPR Art. 34(3)(c)"),
    Obligation("nis2_early_warning", "early warning to the CSIRT / competent authority", "NIS2 Art. 23(4)(a)"),
    Obligation("nis2_notification", "incident notification to the CSIRT / competent authority",
               "NIS2 Art. 23(4)(b)"),
    Obligation("nis2_final_report", "final report to the CSIRT / competent authority", "NIS2 Art. 23(4)(d)"),
)}


def art33_due(aware_at: datetime) -> datetime:
    return _utc(aware_at) + timedelta(hours=72)


def nis2_early_warning_due(aware_at: datetime) -> datetime:
    return _utc(aware_at) + timedelta(hours=24)


def nis2_notification_due(aware_at: datetime) -> datetime:
    return _utc(aware_at) + timedelta(hours=72)


def add_month(moment: datetime, zone: tzinfo = DEFAULT_ZONE) -> datetime:
    """One calendar month later in ``zone`` (same wall time; the month's last day if the date does not exist),
    returned in UTC. An ambiguous or skipped wall time resolves to the earlier instant."""
    local = _utc(moment).astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    later = datetime(year, month, day, local.hour, local.minute, local.second, local.microsecond, tzinfo=zone, fold=0)
    return later.astimezone(UTC)


def nis2_final_report_due(notification_at: datetime, zone: tzinfo = DEFAULT_ZONE) -> datetime:
    return add_month(notification_at, zone)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("deadlines need times with a zone")
    return moment.astimezone(UTC)


def shown(moment: datetime | str, zone: tzinfo = DEFAULT_ZONE) -> str:
    """ISO 8601 with the offset of ``zone`` at that moment (UTC inside, the analyst's zone outside)."""
    stamp = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return _utc(stamp).astimezone(zone).isoformat(timespec="seconds")


def countdown(due: datetime | str, now: datetime) -> tuple[str, float]:
    """("2d 3h left" | "overdue by 5h 10m", seconds left, negative when overdue)."""
    stamp = datetime.fromisoformat(due) if isinstance(due, str) else due
    seconds = (_utc(stamp) - _utc(now)).total_seconds()
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(days or hours) + [f"{minutes}m"] * (not days)
    text = " ".join(parts)
    return (f"{text} left" if seconds >= 0 else f"overdue by {text}"), seconds
