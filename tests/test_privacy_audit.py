"""Writes to the register, assets and DPIAs are audited: one entry per record changed, a chain that verifies."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from seccenter.cli import main
from seccenter.store.audit_log import iter_entries
from seccenter.store.db import open_db

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def cli(runner: CliRunner, db: Path, *args: str) -> str:
    result = runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def actions(db: Path) -> list[tuple[str, str]]:
    return [(entry["action"], entry["object_id"]) for entry in iter_entries(open_db(db))]


def test_register_assets_and_dpia_writes_are_audited(runner: CliRunner, db_path: Path) -> None:
    cli(runner, db_path, "ropa", "import", str(EXAMPLES / "town-hall-register.yaml"))
    first = actions(db_path)
    # seccenter's own record first (created on first use), then each imported record once
    assert first[0] == ("processing_activity.add", "seccenter-monitoring")
    assert ("processing_activity.add", "VT-001") in first and ("processor.add", "AV-001") in first
    assert any(action == "asset.add" for action, _ in first)
    assert len(first) == len(set(first))

    cli(runner, db_path, "ropa", "import", str(EXAMPLES / "town-hall-register.yaml"))
    assert actions(db_path) == first  # nothing changed: nothing to audit

    cli(runner, db_path, "asset", "add", "depot-cam01", "--address", "10.30.0.21", "--activity", "VT-004")
    cli(runner, db_path, "dpia", "create", "VT-004")
    added = actions(db_path)[len(first):]
    assert added == [("asset.add", "depot-cam01"), ("processing_activity.update", "VT-004"),
                     ("dpia.create", "DPIA-0001")]
    verified = json.loads(cli(runner, db_path, "audit", "verify", "--json"))
    assert verified["ok"] is True and verified["entries"] == len(first) + 3


def test_an_audit_entry_digests_the_record_before_and_after(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    cli(runner, db_path, "ropa", "import", str(EXAMPLES / "town-hall-register.yaml"))
    exported = json.loads(cli(runner, db_path, "ropa", "export", "--format", "json"))
    vt2 = next(record for record in exported["processing_activities"] if record["id"] == "VT-002")
    vt2["retention"] = "Deleted 6 months after the permit expires"
    changed = tmp_path / "vt2.json"
    changed.write_text(json.dumps({"processing_activities": [vt2]}))
    cli(runner, db_path, "ropa", "import", str(changed))
    entries = [entry for entry in iter_entries(open_db(db_path)) if entry["object_id"] == "VT-002"]
    assert [entry["action"] for entry in entries] == ["processing_activity.add", "processing_activity.update"]
    assert entries[1]["before_digest"] == entries[0]["after_digest"] != entries[1]["after_digest"]
