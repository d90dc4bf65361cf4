"""Incident cases: open (from alerts or by hand), update, the status workflow, notes and linked alerts.

Every write runs in one transaction with its timeline entry (``incident_activity``) and its audit entry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from seccenter.incidents import audit
from seccenter.store import breaches as breach_store
from seccenter.store import incidents as store
from seccenter.store.alerts import named_host
from seccenter.store.transaction import write_transaction

STATUSES = ("new", "triage", "contained", "eradicated", "recovered", "closed")
SEVERITIES = ("low", "medium", "high", "critical")
WORKFLOW = " → ".join(STATUSES)
# one step forward at a time; a case found to be no incident (false positive, duplicate) may be closed from
# new or triage, with the reason recorded; a closed case is reopened into triage
_NEXT = {"new": {"triage", "closed"}, "triage": {"contained", "closed"}, "contained": {"eradicated"},
         "eradicated": {"recovered"}, "recovered": {"closed"}, "closed": set()}
_CLOSE_NEEDS_REASON = {"new", "triage"}
MAX_TEXT = 100_000


class IncidentError(Exception):
    """A request about incidents that cannot be done as asked (unknown id, invalid transition…)."""


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _text(value: str, what: str, required: bool = True) -> str:
    text = value.strip()
    if required and not text:
        raise IncidentError(f"{what} must not be empty")
    if len(text) > MAX_TEXT:
        raise IncidentError(f"{what} is {len(text)} characters long; at most {MAX_TEXT} are kept")
    return text


def _severity(value: str) -> str:
    if value not in SEVERITIES:
        raise IncidentError(f"unknown severity {value!r}; use one of {', '.join(SEVERITIES)}")
    return value


def get(db: Database, incident_id: int) -> dict[str, Any]:
    incident = store.get_incident(db, incident_id)
    if incident is None:
        raise IncidentError(f"no incident {incident_id}")
    return incident


def get_with_obligations(db: Database, incident_id: int) -> dict[str, Any]:
    """A case with its legal obligations (``obligations``) and linked alert ids (``alerts``)."""
    case = get(db, incident_id)
    case["obligations"] = breach_store.obligations(db, [incident_id])[incident_id]
    case["alerts"] = store.alert_ids(db, incident_id)
    return case


def _record(db: Database, incident_id: int, actor: str, kind: str, detail: str, action: str,
            before: Any, after: Any, when: str, object_type: str = "incident", object_id: Any = None) -> None:
    store.insert_activity(db, incident_id, when, actor, kind, detail)
    audit.append(db, actor, action, object_type, incident_id if object_id is None else object_id, before, after)


def _check_alerts(db: Database, alert_ids: Sequence[int]) -> None:
    missing = sorted(set(alert_ids) - store.existing_alert_ids(db, alert_ids))
    if missing:
        raise IncidentError(f"no alert {', '.join(map(str, missing))}")


def open_incident(db: Database, title: str, actor: str, category: str = "other", severity: str = "medium",
                  owner: str | None = None, alert_ids: Sequence[int] = ()) -> dict[str, Any]:
    """Open a case (status new), from alerts or by hand; returns it."""
    values = {"title": _text(title, "title"), "category": _text(category, "category").lower(),
              "severity": _severity(severity), "owner": owner.strip() if owner and owner.strip() else None,
              "status": "new"}
    with write_transaction(db):
        _check_alerts(db, alert_ids)
        when = now_utc()
        incident_id = store.insert_incident(db, {**values, "created": when, "updated": when})
        store.link_alerts(db, incident_id, alert_ids, when)
        incident = get(db, incident_id)
        detail = f"opened from alerts {', '.join(map(str, sorted(set(alert_ids))))}" if alert_ids else "opened"
        _record(db, incident_id, actor, "opened", detail, "incident.open", None,
                {**incident, "alerts": sorted(set(alert_ids))}, when)
    return incident


def link_alerts(db: Database, incident_id: int, alert_ids: Sequence[int], actor: str) -> list[int]:
    """Add alerts to a case; returns those that were new to it."""
    with write_transaction(db):
        _open_case(db, incident_id)
        _check_alerts(db, alert_ids)
        before = store.alert_ids(db, incident_id)
        when = now_utc()
        added = store.link_alerts(db, incident_id, alert_ids, when)
        if added:
            _record(db, incident_id, actor, "alerts", f"alerts {', '.join(map(str, added))} linked",
                    "incident.link_alerts", {"alerts": before}, {"alerts": store.alert_ids(db, incident_id)}, when)
    return added


def _open_case(db: Database, incident_id: int) -> dict[str, Any]:
    incident = get(db, incident_id)
    if incident["status"] == "closed":
        raise IncidentError(f"incident {incident_id} is closed; reopen it first (seccenter incident reopen)")
    return incident


def update(db: Database, incident_id: int, actor: str, title: str | None = None, category: str | None = None,
           severity: str | None = None, owner: str | None = None) -> dict[str, Any]:
    """Change the descriptive fields of a case (the status has its own workflow: ``change_status``)."""
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = _text(title, "title")
    if category is not None:
        changes["category"] = _text(category, "category").lower()
    if severity is not None:
        changes["severity"] = _severity(severity)
    if owner is not None:
        changes["owner"] = owner.strip() or None
    with write_transaction(db):
        before = get(db, incident_id)
        changes = {key: value for key, value in changes.items() if before[key] != value}
        if not changes:
            return before
        when = now_utc()
        store.update_incident(db, incident_id, {**changes, "updated": when})
        after = get(db, incident_id)
        detail = "; ".join(f"{key}: {before[key] or '-'} → {value or '-'}" for key, value in changes.items())
        _record(db, incident_id, actor, "updated", detail, "incident.update", before, after, when)
    return after


def allowed_next(status: str) -> list[str]:
    return [candidate for candidate in STATUSES if candidate in _NEXT[status]]


def change_status(db: Database, incident_id: int, status: str, actor: str, reason: str | None = None) -> dict[str, Any]:
    """Move a case along new → triage → contained → eradicated → recovered → closed; refuses anything else."""
    if status not in STATUSES:
        raise IncidentError(f"unknown status {status!r}; the workflow is {WORKFLOW}")
    reason = _text(reason, "reason") if reason is not None else None
    with write_transaction(db):
        before = get(db, incident_id)
        current = before["status"]
        if status == current:
            raise IncidentError(f"incident {incident_id} is already {current}")
        if status not in _NEXT[current]:
            if current == "closed":
                raise IncidentError(f"incident {incident_id} is closed; reopen it (seccenter incident reopen)")
            raise IncidentError(f"incident {incident_id} is {current}: it can move to "
                                f"{' or '.join(allowed_next(current))}, not {status} (workflow: {WORKFLOW})")
        if status == "closed":
            _check_closable(db, incident_id, current, reason)
        when = now_utc()
        changes: dict[str, Any] = {"status": status, "updated": when}
        if status == "closed":
            changes.update(closed=when, close_reason=reason)
        store.update_incident(db, incident_id, changes)
        after = get(db, incident_id)
        detail = f"status {current} → {status}" + (f": {reason}" if reason else "")
        _record(db, incident_id, actor, "status", detail, "incident.status", before, after, when)
    return after


def _check_closable(db: Database, incident_id: int, current: str, reason: str | None) -> None:
    if current in _CLOSE_NEEDS_REASON and not reason:
        raise IncidentError(f"incident {incident_id} is {current}: closing it before containment needs a reason "
                            "(--reason, e.g. false positive or duplicate)")
    pending = [item["obligation"] for item in breach_store.obligations(db, [incident_id])[incident_id]
               if item["status"] in ("open", "partial")]
    if pending:
        raise IncidentError(f"incident {incident_id} has open obligations ({', '.join(pending)}); record them with "
                            "`seccenter breach notified` first")


def close(db: Database, incident_id: int, actor: str, reason: str | None = None) -> dict[str, Any]:
    return change_status(db, incident_id, "closed", actor, reason)


def reopen(db: Database, incident_id: int, actor: str, reason: str) -> dict[str, Any]:
    """A closed case goes back to triage; the reason is recorded."""
    reason = _text(reason, "reason")
    with write_transaction(db):
        before = get(db, incident_id)
        if before["status"] != "closed":
            raise IncidentError(f"incident {incident_id} is {before['status']}, not closed")
        when = now_utc()
        store.update_incident(db, incident_id, {"status": "triage", "updated": when, "closed": None,
                                                "close_reason": None})
        after = get(db, incident_id)
        _record(db, incident_id, actor, "status", f"reopened (closed → triage): {reason}", "incident.reopen",
                before, after, when)
    return after


def add_note(db: Database, incident_id: int, actor: str, text: str) -> None:
    """A note is kept as written; it is data and is escaped wherever it is shown."""
    text = _text(text, "note")
    with write_transaction(db):
        get(db, incident_id)
        when = now_utc()
        note_id = store.insert_activity(db, incident_id, when, actor, "note", text)
        audit.append(db, actor, "incident.note", "incident_note", note_id, None,
                     {"incident_id": incident_id, "text": text})


def record_activity(db: Database, incident_id: int, actor: str, kind: str, detail: str) -> None:
    """For other writers (breach assessments, playbooks): a timeline entry; call inside their transaction,
    next to their own audit entry."""
    store.insert_activity(db, incident_id, now_utc(), actor, kind, detail)


def list_cases(db: Database, include_closed: bool = False) -> list[dict[str, Any]]:
    """Cases (open ones unless asked), each with its obligations and alert count."""
    cases = store.list_incidents(db, include_closed)
    obligations = breach_store.obligations(db, [case["id"] for case in cases])
    for case in cases:
        case["obligations"] = obligations[case["id"]]
        case["alerts"] = len(store.alert_ids(db, case["id"]))
    return cases


@dataclass(frozen=True)
class Proposal:
    """Alerts of one rule on one host, close together in time: a candidate incident."""

    rule_id: str
    rule_title: str
    host: str
    level: str
    first: str
    last: str
    alert_ids: tuple[int, ...]

    @property
    def title(self) -> str:
        return f"{self.rule_title} on {self.host}"

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "rule_id": self.rule_id, "host": self.host, "level": self.level,
                "first": self.first, "last": self.last, "alert_ids": list(self.alert_ids)}


def _host(alert: dict[str, Any]) -> str:
    """The host the alert's event names, else the name of the file it was read from."""
    host = named_host(alert["fields"])
    return str(host) if host else str(alert["origin_path"]).rsplit("/", 1)[-1]


def propose(db: Database, window: timedelta, since: datetime | None = None) -> list[Proposal]:
    """Group alerts not yet in any incident by rule and host; a pause longer than ``window`` starts a new group."""
    groups: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}
    since_text = since.astimezone(UTC).isoformat() if since else None
    for alert in store.unassigned_alerts(db, since_text):
        runs = groups.setdefault((alert["rule_id"], _host(alert)), [])
        time = datetime.fromisoformat(alert["time"])
        if runs and time - datetime.fromisoformat(runs[-1][-1]["time"]) <= window:
            runs[-1].append(alert)
        else:
            runs.append([alert])
    proposals = [Proposal(rule_id, run[0]["rule_title"] or rule_id, host, _highest(run), run[0]["time"],
                          run[-1]["time"], tuple(alert["id"] for alert in run))
                 for (rule_id, host), runs in groups.items() for run in runs]
    return sorted(proposals, key=lambda proposal: (proposal.first, proposal.rule_id, proposal.host))


def _highest(alerts: Iterable[dict[str, Any]]) -> str:
    order = ("informational", "low", "medium", "high", "critical")
    return max((alert["level"] for alert in alerts), key=lambda level: order.index(level) if level in order else -1)
