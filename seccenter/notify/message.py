"""The digest of a run's new alerts: built once, stored in the outbox as JSON, rendered for each channel.

Alert fields come from logs and packets (attacker-controlled): every text in the digest is one bounded line with
control and line-breaking characters shown as ``\\xNN``/``\\uNNNN``, so no channel can be steered by it (no mail
header, no extra syslog line, no terminal escape for whoever reads the webhook's JSON). Rendering cleans again,
since a payload is read back from the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from seccenter.store.alerts import HOST_FIELDS, LEVELS

MAX_LISTED = 50
"""Alerts listed in one message; the rest are counted ("and N more")."""
FIELD_LIMIT = 200
"""Characters kept of each text field."""
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(value: Any, limit: int = FIELD_LIMIT) -> str:
    """``value`` as one line of at most ``limit`` characters, control and bidi characters made visible."""
    text = value if isinstance(value, str) else str(value)
    line = _UNSAFE.sub(_escape, text[:limit])
    if len(line) > limit or len(text) > limit:
        line = line[: limit - 1] + "…"
    return line


def _rank(level: Any) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def at_or_above(level: Any, threshold: str) -> bool:
    return _rank(level) >= LEVELS.index(threshold)


def _utc(value: Any) -> str:
    """An ISO 8601 time in UTC with a ``Z``; stored times are UTC, a time without zone is taken as UTC."""
    try:
        time = datetime.fromisoformat(str(value))
    except ValueError:
        return one_line(value)
    return _iso_utc(time if time.tzinfo else time.replace(tzinfo=UTC))


def _iso_utc(time: datetime) -> str:
    return time.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _host(fields: Mapping[str, Any]) -> str | None:
    """The host an alert concerns, named by the same event fields (and order) as ``seccenter alerts --host``."""
    for name in HOST_FIELDS:
        if fields.get(name) is not None:
            return one_line(fields[name])
    return None


def _listed(alert: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": alert["id"],
        "rule_id": one_line(alert["rule_id"]),
        "rule_title": one_line(alert["rule_title"]),
        "level": alert["level"],
        "time": _utc(alert["time"]),
        "source_ip": one_line(alert["source_ip"]) if alert.get("source_ip") else None,
        "host": _host(alert.get("fields") or {}),
    }


def build_message(run_id: int | None, alerts: Sequence[Mapping[str, Any]], threshold: str,
                  now: datetime | None = None) -> dict[str, Any]:
    """The digest (also the webhook's JSON body): counts by level, highest first, and the alerts, highest level
    and newest first, at most ``MAX_LISTED`` of them."""
    ordered = sorted(alerts, key=lambda alert: (_rank(alert["level"]), str(alert["time"]), alert["id"]),
                     reverse=True)
    by_level = {level: 0 for level in reversed(LEVELS)}
    for alert in alerts:
        if alert["level"] in by_level:
            by_level[alert["level"]] += 1
    return {
        "source": "seccenter",
        "run_id": run_id,
        "created": _iso_utc((now or datetime.now(UTC)).replace(microsecond=0)),
        "threshold": threshold,
        "total": len(alerts),
        "by_level": {level: count for level, count in by_level.items() if count},
        "alerts": [_listed(alert) for alert in ordered[:MAX_LISTED]],
        "more": max(0, len(alerts) - MAX_LISTED),
    }


def headline(message: Mapping[str, Any]) -> str:
    """"3 new alerts (1 critical, 2 high)": made of numbers and level names only, so it is safe in a header."""
    counts = [(level, int(message["by_level"].get(level, 0))) for level in reversed(LEVELS)]
    total = sum(count for _, count in counts)
    parts = ", ".join(f"{count} {level}" for level, count in counts if count)
    return f"{total} new alert{'' if total == 1 else 's'} ({parts})"


def alert_line(alert: Mapping[str, Any]) -> str:
    """One listed alert: level, time, rule title, then where it came from and its id."""
    where = [f"source ip {one_line(alert['source_ip'])}"] if alert.get("source_ip") else []
    where += [f"host {one_line(alert['host'])}"] if alert.get("host") else []
    where.append(f"alert {int(alert['id'])}")
    title = one_line(alert["rule_title"])
    return f"[{one_line(alert['level'])}] {one_line(alert['time'])} {title} ({', '.join(where)})"


def plain_text(message: Mapping[str, Any]) -> str:
    """The e-mail body."""
    run = f" in scan run {int(message['run_id'])}" if message.get("run_id") is not None else ""
    lines = [f"seccenter found {headline(message)} at or above level {one_line(message['threshold'])}{run}"
             f" ({one_line(message['created'])}).", ""]
    lines += [alert_line(alert) for alert in message["alerts"]]
    if message["more"]:
        lines.append(f"and {int(message['more'])} more")
    lines += ["", f"Review them with: seccenter triage, or seccenter alerts --status new --level "
                  f"{one_line(message['threshold'])}", ""]
    return "\n".join(lines)
