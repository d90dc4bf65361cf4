"""The open windows of the correlation rules between scheduled runs: one row per correlation rule id.

The engine hands its state out (``CorrelationEngine.state()``) and takes it back in; this module only keeps it.
Save it in the same transaction as the events and reading positions it covers, so a run killed at any point
resumes with windows that match what was stored."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.detect.correlation import STATE_VERSION

log = logging.getLogger(__name__)

_CREATE = (
    "CREATE TABLE IF NOT EXISTS correlation_state ("
    "rule_id TEXT PRIMARY KEY, state TEXT NOT NULL, updated TEXT NOT NULL)"
)


def _ensure_table(db: Database) -> None:
    db.execute(_CREATE)


def load_state(db: Database) -> dict[str, Any]:
    """Everything saved, in the shape ``CorrelationEngine(rules, state=...)`` takes; unreadable rows are skipped."""
    _ensure_table(db)
    rules: dict[str, Any] = {}
    for rule_id, text in db.execute("SELECT rule_id, state FROM correlation_state ORDER BY rule_id").fetchall():
        try:
            rules[rule_id] = json.loads(text)
        except (TypeError, ValueError) as error:
            log.warning("correlation state of %s is not JSON (%s); ignored", rule_id, error)
    return {"version": STATE_VERSION, "rules": rules}


def save_state(db: Database, state: Mapping[str, Any]) -> None:
    """Write the rules in ``state`` (a whole or a ``changed_only`` state): a rule without open windows loses
    its row, rules not named keep theirs. Runs inside the caller's transaction when there is one."""
    rules = state.get("rules") or {}
    now = datetime.now(UTC).isoformat()
    with db.atomic():
        _ensure_table(db)
        for rule_id, data in rules.items():
            if not data or not data.get("groups"):
                db.execute("DELETE FROM correlation_state WHERE rule_id = ?", [rule_id])
                continue
            db.execute(
                "INSERT INTO correlation_state (rule_id, state, updated) VALUES (?, ?, ?)"
                " ON CONFLICT(rule_id) DO UPDATE SET state = excluded.state, updated = excluded.updated",
                [rule_id, json.dumps(data, separators=(",", ":"), allow_nan=False), now],
            )
