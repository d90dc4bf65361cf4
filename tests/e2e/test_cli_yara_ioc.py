"""`seccenter yara scan --ioc`: hash and file name indicators checked on the same read as the YARA rules."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.resources import ioc_lists

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("SECCENTER_CACHE_DIR", raising=False)


def scan(runner: CliRunner, db: Path, *args: str) -> dict:
    result = runner.invoke(main, ["--db", str(db), "yara", "scan", "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_bundled_lists_find_eicar_by_hash_and_name(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "eicar.com").write_bytes(EICAR)
    (share / "renamed.bin").write_bytes(EICAR)
    (share / "notes.txt").write_text("nothing to see\n")
    found = scan(runner, db_path, "--ioc", str(ioc_lists()), str(share))
    by_file: dict[str, set[tuple[str, str]]] = {}
    for match in found["matches"]:
        by_file.setdefault(Path(match["path"]).name, set()).add((match["namespace"], match["rule"].split(":")[0]))
    # the YARA rule and the SHA256 (or MD5/SHA1) line find both copies; the file name line only eicar.com
    assert by_file["renamed.bin"] == {("eicar", "EICAR_Test_File"), ("hash", "hash-iocs-example.txt")}
    assert by_file["eicar.com"] == {("eicar", "EICAR_Test_File"), ("hash", "hash-iocs-example.txt"),
                                    ("filename", "filename-iocs-example.txt")}
    assert "notes.txt" not in by_file
    hash_hit = next(m for m in found["matches"] if m["namespace"] == "hash" and m["path"].endswith("renamed.bin"))
    assert hash_hit["meta"]["score"] == 100
    assert hash_hit["meta"]["list"].endswith("hash-iocs-example.txt:10")  # the SHA256 line

    alerts = json.loads(runner.invoke(main, ["--db", str(db_path), "alerts", "--json"]).stdout)
    ioc_alerts = sorted((a["rule_id"].split(":")[1], a["level"]) for a in alerts if a["rule_id"].startswith("ioc:"))
    assert ioc_alerts == [("filename", "medium"), ("hash", "high"), ("hash", "high")]


def test_editing_a_list_rechecks_unchanged_files(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (share / "tool.bin").write_bytes(b"\x90" * 64)
    lists = tmp_path / "iocs"
    lists.mkdir()
    hashes = lists / "hash-iocs.txt"
    hashes.write_text("00000000000000000000000000000000;placeholder\n")
    assert scan(runner, db_path, "--ioc", str(lists), str(share))["matches"] == []
    assert scan(runner, db_path, "--ioc", str(lists), str(share))["files_scanned"] == 0  # unchanged: skipped
    sled = hashlib.md5(b"\x90" * 64).hexdigest()
    hashes.write_text(f"{sled};Hacktool padding sled\n")
    again = scan(runner, db_path, "--ioc", str(lists), str(share))
    assert again["files_scanned"] == 1
    assert [(m["namespace"], m["meta"]["description"]) for m in again["matches"]] == [
        ("hash", "Hacktool padding sled")]


def test_c2_only_lists_say_they_do_not_apply_to_files(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    lists = tmp_path / "iocs"
    lists.mkdir()
    (lists / "c2-iocs.txt").write_text("203.0.113.9;test C2\n")
    (tmp_path / "f.txt").write_text("x")
    result = runner.invoke(main, ["--db", str(db_path), "yara", "scan", "--ioc", str(lists), str(tmp_path / "f.txt")])
    assert result.exit_code == 0
    assert "C2 indicators apply to events" in result.stderr
