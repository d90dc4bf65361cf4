"""An analyst's decisions on alerts: acknowledge (seen, being looked at) or close, each with an optional note.

Every change is one write transaction holding the status, the note (``alert_notes``) and the audit entry, so a
scan writing at the same time neither blocks it for long nor loses it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.incidents import audit
from seccenter.store import alerts as store
from seccenter.store.transaction import write_transaction

MAX_NOTE = 10_000
ACTIONS = {"ack": "acknowledged", "close": "closed"}


class AlertStatusError(Exception):
    """A change that cannot be made as asked (unknown alert, a closed alert acknowledged, a note too long)."""


def change(db: Database, alert_ids: Sequence[int], action: str, actor: str, note: str | None = None
           ) -> list[dict[str, Any]]:
    """Apply ``action`` (ack or close) to every alert of ``alert_ids``, all or nothing; returns per alert its
    status before and after. Acknowledging a closed alert is refused; repeating a status keeps it (the note is
    still recorded)."""
    status = ACTIONS[action]
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise AlertStatusError(f"the note is {len(note)} characters long; at most {MAX_NOTE} are kept")
    wanted = sorted(set(alert_ids))
    changes = []
    with write_transaction(db):
        current = store.alert_statuses(db, wanted)
        missing = [alert_id for alert_id in wanted if alert_id not in current]
        if missing:
            raise AlertStatusError(f"no alert {', '.join(map(str, missing))}")
        closed = [alert_id for alert_id in wanted if current[alert_id] == "closed" and status != "closed"]
        if closed:
            raise AlertStatusError(f"alert {', '.join(map(str, closed))} is closed; it cannot be acknowledged")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for alert_id in wanted:
            store.set_status(db, alert_id, status)
            store.insert_note(db, alert_id, now, actor, status, note)
            audit.append(db, actor, f"alert.{action}", "alert", alert_id, {"status": current[alert_id]},
                         {"status": status, "note": note})
            changes.append({"id": alert_id, "before": current[alert_id], "status": status})
    return changes
