"""The audit log: every write to incidents, breaches, records and DPIAs appends one entry, chained by SHA-256.

An entry holds the time (UTC), the actor, the action, the object (type and id) and SHA-256 digests of the
object's state before and after, as canonical JSON (sorted keys, no whitespace) so the same state always gives
the same digest. ``hash`` = SHA-256 over the previous entry's hash followed by this entry's canonical content
(its id included), so an edited row, a deleted row and two rows swapped all break the chain where it happened.

Rows deleted from the end leave an intact but shorter chain; the anchor (table ``audit_anchor``: id, hash and
count of the newest entry, written in the same transaction as the entry) catches that. The anchor lives in the
same file on purpose: a second file could not be written atomically with the entry, and a chain whose anchor
can disagree after a crash would cry wolf. Someone who can rewrite both the rows and the anchor can rewrite
the whole chain; ``audit verify`` prints the head hash so it can be written down or sent elsewhere, and a head
recorded earlier is checked with ``--expect-head ID:HASH``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from seccenter.store import audit_log

GENESIS = "0" * 64
ACTOR_VARIABLE = "SECCENTER_ACTOR"


@dataclass(frozen=True)
class Problem:
    """One finding of ``verify``: the entry it concerns (None for the log as a whole) and what is wrong."""

    entry_id: int | None
    kind: str  # edited | missing | reordered | truncated | head
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical_json(value: Any) -> str:
    """The one text form of a value that is hashed: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=str)


def digest(value: Any) -> str | None:
    """SHA-256 of the canonical JSON of an object's state; None where there is no state (before a create)."""
    if value is None:
        return None
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def current_actor() -> str:
    """Who is acting: ``SECCENTER_ACTOR`` when set (a shared account, a service), else the OS user."""
    configured = os.environ.get(ACTOR_VARIABLE, "").strip()
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (containers)
        return f"uid:{os.getuid()}"


def _content(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in audit_log.COLUMNS if key not in ("prev_hash", "hash")}


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(_content(entry))).encode()).hexdigest()


def append(db: Database, actor: str, action: str, object_type: str, object_id: str | int,
           before: Any, after: Any) -> dict[str, Any]:
    """Append one entry inside the caller's transaction and return it.

    Call it in the transaction that makes the change (``seccenter.store.transaction.write_transaction``, which
    takes the write lock first so two writers cannot both chain onto the same head)."""
    previous = audit_log.head(db)
    entry: dict[str, Any] = {
        "id": previous[0] + 1 if previous else 1,
        "time": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor": actor, "action": action, "object_type": object_type, "object_id": str(object_id),
        "before_digest": digest(before), "after_digest": digest(after),
        "prev_hash": previous[1] if previous else GENESIS,
    }
    entry["hash"] = entry_hash(entry["prev_hash"], entry)
    audit_log.insert_entry(db, entry)
    return entry


def verify(db: Database, expect_head: tuple[int, str] | None = None) -> list[Problem]:
    """Every problem in the chain, in log order; an empty list means the log is intact."""
    problems: list[Problem] = []
    hashes: dict[str, int] = {}  # stored hash -> id, to tell a reordered entry from a missing one
    previous_id, previous_hash, count = 0, GENESIS, 0
    last: dict[str, Any] | None = None
    for entry in audit_log.iter_entries(db):
        count += 1
        entry_id = entry["id"]
        if entry_id != previous_id + 1:
            first, final = previous_id + 1, entry_id - 1
            gap = f"entry {first}" if first == final else f"entries {first}–{final}"
            problems.append(Problem(entry_id, "missing", f"{gap} missing before entry {entry_id} (deleted)"))
        if entry_hash(entry["prev_hash"], entry) != entry["hash"]:
            problems.append(Problem(entry_id, "edited",
                                    f"entry {entry_id} was changed after it was written (its hash does not match)"))
        if entry["prev_hash"] != previous_hash and entry_id == previous_id + 1:
            follows = hashes.get(entry["prev_hash"])
            if follows is not None:
                problems.append(Problem(entry_id, "reordered",
                                        f"entry {entry_id} was written after entry {follows}, not after entry "
                                        f"{previous_id} (entries reordered)"))
            else:
                problems.append(Problem(entry_id, "missing",
                                        f"entry {entry_id} does not follow entry {previous_id or 'start'}: the "
                                        "chain is broken (an entry deleted or replaced)"))
        hashes[entry["hash"]] = entry_id
        previous_id, previous_hash, last = entry_id, entry["hash"], entry
    problems.extend(_check_anchor(db, last, count))
    if expect_head is not None:
        problems.extend(_check_expected_head(db, expect_head))
    return problems


def _check_anchor(db: Database, last: dict[str, Any] | None, count: int) -> list[Problem]:
    anchor = audit_log.anchor(db)
    if anchor is None:
        if last is None:
            return []
        return [Problem(None, "truncated", "the audit anchor is missing (deleted); the end of the log cannot be "
                                           "checked")]
    if last is None or anchor.last_id > last["id"]:
        newest = f"entry {last['id']}" if last else "no entry"
        return [Problem(anchor.last_id, "truncated",
                        f"the log ends at {newest} but entry {anchor.last_id} was written (entries deleted from "
                        "the end)")]
    problems = []
    if anchor.last_id < last["id"]:
        problems.append(Problem(last["id"], "truncated",
                                f"entries after {anchor.last_id} were not written through seccenter (the anchor "
                                f"ends at entry {anchor.last_id})"))
    elif anchor.last_hash != last["hash"]:
        problems.append(Problem(last["id"], "edited",
                                f"entry {last['id']} does not match the anchor written with it"))
    if anchor.entries != count:
        problems.append(Problem(None, "missing", f"the log holds {count} entries but {anchor.entries} were "
                                                 "written"))
    return problems


def _check_expected_head(db: Database, expect_head: tuple[int, str]) -> list[Problem]:
    entry_id, expected = expect_head
    row = db.execute("SELECT hash FROM audit_log WHERE id = ?", [entry_id]).fetchone()
    if row is None:
        return [Problem(entry_id, "head", f"entry {entry_id}, recorded earlier as a head, is gone")]
    if row[0] != expected.lower():
        return [Problem(entry_id, "head", f"entry {entry_id} no longer has the hash recorded earlier: the chain "
                                          "up to it was rewritten")]
    return []


def head(db: Database) -> dict[str, Any] | None:
    """The newest entry's id and hash, to be written down or sent elsewhere as an outside anchor."""
    newest = audit_log.head(db)
    return {"id": newest[0], "hash": newest[1]} if newest else None
