"""The audit chain: appended in the caller's transaction, and tampering done directly in SQLite is found."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.incidents.audit import GENESIS, append, canonical_json, current_actor, digest, verify
from seccenter.store.db import open_db
from seccenter.store.transaction import write_transaction


def write_entries(db_path: Path, count: int = 5) -> None:
    db = open_db(db_path)
    for number in range(1, count + 1):
        with write_transaction(db):
            append(db, "analyst", "incident.update", "incident", number, {"status": "new"}, {"status": "triage"})
    db.conn.close()


def tamper(db_path: Path, *statements: str) -> None:
    """What someone with the file and the sqlite3 shell could do: drop the guards, then change rows."""
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def verify_cli(db_path: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["--db", str(db_path), "audit", "verify", "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


def test_an_untouched_chain_verifies(db_path: Path) -> None:
    write_entries(db_path)
    code, report = verify_cli(db_path)
    assert code == 0
    assert report["ok"] is True and report["entries"] == 5 and report["problems"] == []
    assert report["head"]["id"] == 5 and len(report["head"]["hash"]) == 64


def test_entries_carry_digests_time_and_chain(tmp_path: Path) -> None:
    db = open_db(":memory:")
    with write_transaction(db):
        first = append(db, "dpo", "ropa.create", "processing_activity", "payroll", None, {"name": "Payroll"})
        second = append(db, "dpo", "ropa.update", "processing_activity", "payroll", {"name": "Payroll"},
                        {"name": "Staff payroll"})
    assert first["prev_hash"] == GENESIS and second["prev_hash"] == first["hash"]
    assert first["before_digest"] is None and first["after_digest"] == second["before_digest"]
    assert first["after_digest"] == digest({"name": "Payroll"})
    assert first["time"].endswith("+00:00")
    assert verify(db) == []


def test_digest_does_not_depend_on_key_order() -> None:
    assert digest({"a": 1, "b": "ü"}) == digest({"b": "ü", "a": 1})
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_append_rolls_back_with_the_callers_transaction() -> None:
    db = open_db(":memory:")
    with pytest.raises(RuntimeError), write_transaction(db):
        append(db, "analyst", "incident.open", "incident", 1, None, {"title": "x"})
        raise RuntimeError("the change failed")
    assert db["audit_log"].count == 0 and verify(db) == []


def test_the_log_refuses_update_and_delete_through_seccenters_own_connection() -> None:
    db = open_db(":memory:")
    with write_transaction(db):
        append(db, "analyst", "incident.open", "incident", 1, None, {"title": "x"})
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")


def test_an_edited_entry_is_named(db_path: Path) -> None:
    write_entries(db_path)
    tamper(db_path, "UPDATE audit_log SET actor = 'mallory' WHERE id = 3")
    code, report = verify_cli(db_path)
    assert code == 1
    assert [(p["entry_id"], p["kind"]) for p in report["problems"]] == [(3, "edited")]
    assert "entry 3 was changed" in report["problems"][0]["message"]


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(db_path: Path) -> None:
    write_entries(db_path)
    tamper(db_path, "UPDATE audit_log SET action = 'x', hash = "
           "(CASE WHEN hash LIKE 'f%' THEN '0' ELSE 'f' END) || substr(hash, 2) WHERE id = 2")
    code, report = verify_cli(db_path)
    assert code == 1
    assert {p["entry_id"] for p in report["problems"]} >= {2, 3}


def test_a_deleted_entry_is_named(db_path: Path) -> None:
    write_entries(db_path)
    tamper(db_path, "DELETE FROM audit_log WHERE id = 2")
    code, report = verify_cli(db_path)
    assert code == 1
    messages = " ".join(p["message"] for p in report["problems"])
    assert "entry 2 missing before entry 3" in messages
    assert "holds 4 entries but 5 were written" in messages


def test_a_swapped_pair_is_found(db_path: Path) -> None:
    write_entries(db_path)
    columns = "time, actor, action, object_type, object_id, before_digest, after_digest, prev_hash, hash"
    tamper(db_path,
           "CREATE TEMP TABLE keep AS SELECT * FROM audit_log WHERE id IN (2, 3)",
           f"UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM keep WHERE keep.id = 3) WHERE id = 2",
           f"UPDATE audit_log SET ({columns}) = (SELECT {columns} FROM keep WHERE keep.id = 2) WHERE id = 3")
    code, report = verify_cli(db_path)
    assert code == 1
    kinds = {(p["entry_id"], p["kind"]) for p in report["problems"]}
    assert {(2, "edited"), (3, "edited"), (3, "reordered")} <= kinds


def test_entries_deleted_from_the_end_are_caught_by_the_anchor(db_path: Path) -> None:
    write_entries(db_path)
    tamper(db_path, "DELETE FROM audit_log WHERE id >= 4")
    code, report = verify_cli(db_path)
    assert code == 1
    assert any(p["kind"] == "truncated" and "entry 5 was written" in p["message"] for p in report["problems"])


def test_a_deleted_anchor_is_reported(db_path: Path) -> None:
    write_entries(db_path)
    tamper(db_path, "DELETE FROM audit_anchor")
    code, report = verify_cli(db_path)
    assert code == 1 and report["problems"][0]["kind"] == "truncated"


def test_a_rewritten_chain_is_caught_by_a_head_recorded_elsewhere(db_path: Path, runner: CliRunner) -> None:
    write_entries(db_path, 3)
    _code, report = verify_cli(db_path)
    recorded = f"{report['head']['id']}:{report['head']['hash']}"
    args = ["--db", str(db_path), "audit", "verify", "--expect-head", recorded]
    assert runner.invoke(main, args).exit_code == 0
    tamper(db_path, "DELETE FROM audit_log", "DELETE FROM audit_anchor")
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and "entry 3, recorded earlier as a head, is gone" in result.output


def test_expect_head_must_look_like_a_head(db_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["--db", str(db_path), "audit", "verify", "--expect-head", "3:abc"])
    assert result.exit_code == 2 and "ID:HASH" in result.output


def test_verify_text_output_names_the_problem(db_path: Path, runner: CliRunner) -> None:
    write_entries(db_path, 2)
    tamper(db_path, "UPDATE audit_log SET object_id = '99' WHERE id = 1")
    result = runner.invoke(main, ["--db", str(db_path), "audit", "verify"])
    assert result.exit_code == 1
    assert "problem: entry 1 was changed" in result.output and "Traceback" not in result.output


def test_an_empty_log_is_intact(db_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["--db", str(db_path), "audit", "verify"])
    assert result.exit_code == 0 and "0 entries, intact" in result.output


def test_actor_from_the_environment_or_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECCENTER_ACTOR", "dpo@city.example")
    assert current_actor() == "dpo@city.example"
    monkeypatch.delenv("SECCENTER_ACTOR")
    assert current_actor()
