"""YARA over packet payloads: the first bytes each way of every flow in a capture, scanned when the flow ends,
alerts stored on the flow's event."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from seccenter import pipeline
from seccenter.collect.packets.flows import DEFAULT_PAYLOAD_LIMIT
from seccenter.detect.sigma import load_rules
from seccenter.detect.yara_rules import compile_rules
from seccenter.resources import sigma_rules, yara_rules
from seccenter.store.alerts import list_alerts
from seccenter.store.db import open_db

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLIENT, SERVER = "10.0.0.5", "198.51.100.20"


def http_download(body: bytes, client_port: int, start: float, segment: int = 20) -> list:
    """A whole HTTP/1.1 download: handshake, request, the response cut into ``segment``-byte TCP segments, FIN."""
    request = b"GET /eicar.com HTTP/1.1\r\nHost: files.example\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    client_seq, server_seq = 1000, 5000
    packets, clock = [], start

    def send(src: str, dst: str, sport: int, dport: int, flags: str, seq: int, ack: int, data: bytes = b"") -> None:
        nonlocal clock
        packet = Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
        if data:
            packet = packet / Raw(data)
        packet.time = clock
        clock += 0.001
        packets.append(packet)

    send(CLIENT, SERVER, client_port, 80, "S", client_seq, 0)
    send(SERVER, CLIENT, 80, client_port, "SA", server_seq, client_seq + 1)
    send(CLIENT, SERVER, client_port, 80, "A", client_seq + 1, server_seq + 1)
    send(CLIENT, SERVER, client_port, 80, "PA", client_seq + 1, server_seq + 1, request)
    acked = client_seq + 1 + len(request)
    for offset in range(0, len(response), segment):
        send(SERVER, CLIENT, 80, client_port, "PA", server_seq + 1 + offset, acked, response[offset:offset + segment])
    end = server_seq + 1 + len(response)
    send(SERVER, CLIENT, 80, client_port, "FA", end, acked)
    send(CLIENT, SERVER, client_port, 80, "FA", acked, end + 1)
    return packets


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """Two downloads of EICAR: at the start of the response, and past the default payload limit."""
    path = tmp_path / "downloads.pcap"
    wrpcap(str(path), http_download(EICAR, 40000, 1_700_000_000.0)
           + http_download(b"A" * DEFAULT_PAYLOAD_LIMIT + EICAR, 40001, 1_700_000_010.0, segment=1400))
    return path


@pytest.fixture
def payload_scan(tmp_path_factory: pytest.TempPathFactory) -> pipeline.PayloadScan:
    rules = compile_rules([yara_rules()], tmp_path_factory.mktemp("cache"))
    return pipeline.PayloadScan(lambda: rules)


def test_eicar_split_over_segments_alerts_on_its_flow_and_the_limit_is_respected(
        tmp_path: Path, capture: Path, payload_scan: pipeline.PayloadScan) -> None:
    db = open_db(tmp_path / "store.db")
    summary = pipeline.ingest(db, [capture], load_rules([sigma_rules()]), payload_scan=payload_scan)
    assert summary.sources[0].by_kind["flow"] == 2
    yara_alerts = [alert for alert in list_alerts(db) if alert["rule_id"].startswith("yara:")]
    assert len(yara_alerts) == 1
    alert, = yara_alerts
    assert alert["rule_id"] == "yara:eicar:EICAR_Test_File"
    assert alert["fields"]["src_port"] == 40000 and alert["fields"]["conn_state"] == "SF"
    assert alert["raw"].startswith("tcp ")  # linked to the flow event
    details = alert["details"]
    assert details["direction"] == "server" and details["strings"][0]["offset"] == 39
    assert alert["correlation"] is None


def test_a_larger_payload_limit_scans_further(tmp_path: Path, capture: Path,
                                              payload_scan: pipeline.PayloadScan) -> None:
    db = open_db(tmp_path / "store.db")
    wide = pipeline.PayloadScan(lambda: payload_scan.rules, limit=DEFAULT_PAYLOAD_LIMIT + 1024)
    pipeline.ingest(db, [capture], load_rules([sigma_rules()]), payload_scan=wide)
    ports = sorted(alert["fields"]["src_port"] for alert in list_alerts(db) if alert["rule_id"].startswith("yara:"))
    assert ports == [40000, 40001]


def test_rerun_adds_nothing_and_logs_never_load_yara_rules(tmp_path: Path, capture: Path,
                                                          payload_scan: pipeline.PayloadScan) -> None:
    db = open_db(tmp_path / "store.db")
    rules = load_rules([sigma_rules()])
    pipeline.ingest(db, [capture], rules, payload_scan=payload_scan)
    assert pipeline.ingest(db, [capture], rules, payload_scan=payload_scan).total("alerts") == 0

    def must_not_load():
        raise AssertionError("YARA rules loaded for a log file")

    log = tmp_path / "auth.log"
    log.write_text("Nov  3 10:00:01 srv01 sshd[1234]: Accepted publickey for anna from 192.0.2.4 port 5 ssh2\n")
    assert pipeline.ingest(db, [log], rules, payload_scan=pipeline.PayloadScan(must_not_load)).total("events") == 1


def test_without_payload_scan_no_yara_alert(tmp_path: Path, capture: Path) -> None:
    db = open_db(tmp_path / "store.db")
    pipeline.ingest(db, [capture], load_rules([sigma_rules()]))
    assert not [alert for alert in list_alerts(db) if alert["rule_id"].startswith("yara:")]
