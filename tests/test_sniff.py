"""Live capture on loopback only: DNS queries sent to 127.0.0.1 come out as stored events."""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="capturing packets needs root or CAP_NET_RAW")

PORT = 53


def dns_query(query_id: int, name: str) -> bytes:
    question = b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 16, 1)


def send_queries(names: list[str], rounds: int = 1) -> None:
    """Each name once per round, a round every 1.5 s after the first 1.5 s: on a busy machine the sniffer may
    start late, and a later round still reaches it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for round_number in range(rounds):
            time.sleep(1.5)
            for index, name in enumerate(names):
                sender.sendto(dns_query(4000 + 10 * round_number + index, name), ("127.0.0.1", PORT))
                time.sleep(0.05)


def test_sniff_loopback_dns_into_the_store(tmp_path: Path) -> None:
    names = ["seccenter-test-one.example", "seccenter.test-two.example", "seccenter-test-three.example"]
    c2_list = tmp_path / "c2-iocs.txt"
    c2_list.write_text("test-two.example;test C2 domain\n")  # never queried itself: subdomains match
    sender = threading.Thread(target=send_queries, args=(names, 3))
    sender.start()
    result = CliRunner().invoke(main, [
        "--db", str(tmp_path / "s.db"), "sniff", "--iface", "lo", "--filter", f"udp dst port {PORT} and host 127.0.0.1",
        "--duration", "6", "--ioc", str(c2_list), "--json"])  # no --count: on lo a capture may see a packet both ways
    sender.join()
    if result.exit_code != 0 and "cannot capture" in result.output:
        pytest.skip(f"no capture privilege here: {result.output.strip()}")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["packets"] >= len(names)
    assert summary["by_kind"]["dns"] >= len(names)
    export = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "export", "events"])
    queries = {json.loads(line).get("dns", {}).get("question", {}).get("name") for line in export.stdout.splitlines()}
    assert set(names) <= queries
    alerts = json.loads(CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "alerts", "--json"]).stdout)
    assert {alert["rule_title"] for alert in alerts} == {"C2 indicator: test-two.example (test C2 domain)"}


def test_ctrl_c_stops_cleanly_and_stores_what_was_captured(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    names = ["seccenter-ctrl-c.example"]
    process = subprocess.Popen(
        [sys.executable, "-m", "seccenter.cli", "--db", str(tmp_path / "s.db"), "sniff", "--iface", "lo",
         "--filter", f"udp dst port {PORT} and host 127.0.0.1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(8):  # the process takes a moment to start capturing: keep asking
        send_queries(names)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    if process.returncode != 0 and "cannot capture" in stderr:
        pytest.skip(f"no capture privilege here: {stderr.strip()}")
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert json.loads(stdout)["by_kind"]["dns"] >= 1
