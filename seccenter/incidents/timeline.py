"""An incident's timeline: its alerts, the events behind them and every action on the case, in time order."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.report.terminal import event_summary
from seccenter.store import incidents as store


@dataclass(frozen=True)
class Entry:
    time: str  # ISO 8601, UTC
    kind: str  # event | alert | opened | status | note | evidence | alerts | updated | breach | …
    actor: str | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _utc(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def build(db: Database, incident_id: int) -> list[Entry]:
    entries: list[Entry] = []
    seen_events: set[int] = set()
    for alert in store.incident_alerts(db, incident_id):
        event = alert["event"]
        if event["id"] not in seen_events:
            seen_events.add(event["id"])
            entries.append(Entry(event["time"], "event", None,
                                 f"{event['source']}: {event_summary(event['fields'], event['raw'])}"))
        source = f" from {alert['source_ip']}" if alert["source_ip"] else ""
        entries.append(Entry(alert["time"], "alert", None,
                             f"alert {alert['id']} ({alert['level']}): {alert['rule_title'] or alert['rule_id']}"
                             f"{source}"))
    entries.extend(Entry(row["time"], row["kind"], row["actor"], row["detail"])
                   for row in store.activity(db, incident_id))
    # stable: an event comes before the alert it raised when both carry the same time
    return sorted(entries, key=lambda entry: _utc(entry.time))
