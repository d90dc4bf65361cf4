"""`seccenter yara scan` as analysts and scripts use it: the --json document, exit codes, escaped names, alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import wrpcap

from seccenter.cli import main

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compiled rules go to a temporary cache, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("SECCENTER_CACHE_DIR", raising=False)


@pytest.fixture
def share(tmp_path: Path) -> Path:
    root = tmp_path / "share"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "report.txt").write_text("quarterly figures\n")
    (root / "docs" / "test-virus.com").write_bytes(EICAR)
    return root


def tcp(src: tuple[str, int], dst: tuple[str, int], flags: str, seq: int, ack: int, data: bytes = b"") -> Packet:
    packet = Ether() / IP(src=src[0], dst=dst[0]) / TCP(sport=src[1], dport=dst[1], flags=flags, seq=seq, ack=ack)
    return packet / Raw(data) if data else packet


def invoke(runner: CliRunner, db: Path, *args: str):
    return runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)


def scan_json(runner: CliRunner, db: Path, *args: str) -> dict:
    result = invoke(runner, db, "yara", "scan", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_document_and_rescan(runner: CliRunner, db_path: Path, share: Path) -> None:
    first = scan_json(runner, db_path, str(share))
    assert list(first) == ["files_scanned", "bytes_scanned", "matches", "skipped", "rule_errors"]
    assert (first["files_scanned"], first["bytes_scanned"]) == (2, len(EICAR) + 18)
    match, = first["matches"]
    assert list(match) == ["path", "rule", "namespace", "tags", "meta", "strings", "sha256"]
    assert (match["path"], match["rule"], match["namespace"]) == (
        str(share / "docs" / "test-virus.com"), "EICAR_Test_File", "eicar")
    assert match["strings"][0]["offset"] == 0 and match["meta"]["score"] == 50
    assert (first["skipped"], first["rule_errors"]) == ([], [])
    assert scan_json(runner, db_path, str(share))["files_scanned"] == 0
    assert scan_json(runner, db_path, str(share), "--full")["files_scanned"] == 2


def test_matches_show_in_alerts_and_triage(runner: CliRunner, db_path: Path, share: Path) -> None:
    scan_json(runner, db_path, str(share))
    alerts = json.loads(invoke(runner, db_path, "alerts", "--json").output)
    assert [(a["rule_id"], a["fields"]["path"]) for a in alerts] == [
        ("yara:eicar:EICAR_Test_File", str(share / "docs" / "test-virus.com"))]
    triage = invoke(runner, db_path, "triage")
    assert triage.exit_code == 0 and "EICAR_Test_File" in triage.output


def test_rule_errors_are_listed_and_good_rules_still_scan(runner: CliRunner, db_path: Path, share: Path,
                                                          tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "eicar.yar").write_text('rule eicar_again { strings: $a = "EICAR-STANDARD" condition: $a }\n')
    (rules / "broken.yar").write_text("rule broken {\n  condition:\n}\n")
    document = scan_json(runner, db_path, "--rules", str(rules), str(share))
    assert document["rule_errors"] == [{"path": str(rules / "broken.yar"), "line": 3,
                                        "reason": "syntax error, unexpected '}'"}]
    assert [m["rule"] for m in document["matches"]] == ["eicar_again"]
    text = invoke(runner, db_path, "yara", "scan", "--rules", str(rules), "--full", str(share))
    assert text.exit_code == 0
    assert f"warning: YARA rule file not loaded: {rules / 'broken.yar'}:3: syntax error" in text.stderr


def test_user_errors_exit_1_without_traceback(runner: CliRunner, db_path: Path, share: Path,
                                              tmp_path: Path) -> None:
    bad = tmp_path / "bad.yar"
    bad.write_text("not yara at all")
    no_rules = invoke(runner, db_path, "yara", "scan", "--rules", str(bad), str(share))
    assert no_rules.exit_code == 1 and "no YARA rule could be loaded" in no_rules.stderr
    missing = invoke(runner, db_path, "yara", "scan", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "nothing to scan" in missing.stderr
    no_process = invoke(runner, db_path, "yara", "scan", "--pid", str(2**22 + 12345))
    assert no_process.exit_code == 1 and "no process with id" in no_process.stderr
    assert invoke(runner, db_path, "yara", "scan").exit_code == 2
    for result in (no_rules, missing, no_process):
        assert "Traceback" not in result.output


def test_limits_and_skips_are_reported(runner: CliRunner, db_path: Path, share: Path) -> None:
    (share / "big.bin").write_bytes(b"\0" * 5000)
    (share / "cache.iso").write_bytes(EICAR)
    document = scan_json(runner, db_path, str(share), "--max-size", "4K", "--exclude", "*.iso", "--threads", "1")
    assert document["skipped"] == [{"path": str(share / "big.bin"),
                                    "reason": "larger than the maximum size (5000 > 4096 bytes)"}]
    assert [Path(m["path"]).name for m in document["matches"]] == ["test-virus.com"]
    assert invoke(runner, db_path, "yara", "scan", "--max-size", "lots", str(share)).exit_code == 2


def test_hostile_file_names_are_shown_escaped(runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    name = "\x1b[2J\x1b[31mowned[bold red]x.txt"
    (folder / name).write_bytes(EICAR)
    result = runner.invoke(main, ["--db", str(db_path), "yara", "scan", str(folder)], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    assert "\x1b" not in result.output
    assert "\\x1b[2J\\x1b[31mowned[bold red]x.txt" in result.output


def test_ingest_scans_capture_payloads_with_yara_rules_and_can_be_told_not_to(
        runner: CliRunner, db_path: Path, tmp_path: Path) -> None:
    capture = tmp_path / "download.pcap"
    client, server = ("10.0.0.5", 40000), ("198.51.100.20", 80)
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 68\r\n\r\n" + EICAR
    packets = [tcp(client, server, "S", 1, 0), tcp(server, client, "SA", 100, 2), tcp(client, server, "A", 2, 101),
               tcp(client, server, "PA", 2, 101, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
               tcp(server, client, "PA", 101, 31, response), tcp(server, client, "FA", 101 + len(response), 31),
               tcp(client, server, "FA", 31, 102 + len(response))]
    for number, packet in enumerate(packets):
        packet.time = 1_700_000_000 + number / 100
    wrpcap(str(capture), packets)
    skipped = invoke(runner, tmp_path / "other.db", "ingest", "--no-payload-scan", str(capture), "--json")
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["alerts"] == 0
    result = invoke(runner, db_path, "ingest", str(capture), "--payload-limit", "16K", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["alerts"] == 1
    alert, = json.loads(invoke(runner, db_path, "alerts", "--json").output)
    assert alert["rule_id"] == "yara:eicar:EICAR_Test_File" and alert["details"]["direction"] == "server"
