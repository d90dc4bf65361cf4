"""The team's network rules on real captures: scans, tunnelling, ARP spoofing and brute force alert."""

from __future__ import annotations

from pathlib import Path

import pytest

from seccenter.detect.sigma import load_rules
from seccenter.pipeline import ingest
from seccenter.resources import sigma_rules
from seccenter.store.alerts import list_alerts
from seccenter.store.db import open_db


@pytest.fixture(scope="module")
def rules():
    return load_rules([sigma_rules()])


def alert_titles(tmp_path: Path, rules, *captures: Path) -> set[str]:
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, list(captures), rules)
    assert summary.total("malformed") == 0 and not summary.nothing_read
    return {alert["rule_title"] for alert in list_alerts(db)}


@pytest.mark.parametrize(("capture", "expected"), [
    ("portscan_masscan_tcp_0_1000.pcap", "Vertical Port Scan of One Host"),
    ("dns_txt_c2_tunnel.pcap", "High Volume of DNS TXT Queries From One Host"),
    ("ftp_bruteforce.pcap", "Brute Force by Connection Count Against a Login Service"),
    ("ftp_bruteforce.pcap", "Cleartext Credentials on the Network"),
    ("ssh_bruteforce_sshguess.pcap", "Brute Force by Connection Count Against a Login Service"),
])
def test_attack_capture_alerts(tmp_path: Path, rules, corpus: Path, capture: str, expected: str) -> None:
    assert expected in alert_titles(tmp_path, rules, corpus / "pcap" / capture)


@pytest.mark.parametrize("capture", ["http_get.pcap", "dns_udp_google_a_aaaa_mx.pcap", "icmp_5_pings.pcap",
                                     "tls_chrome34_google_sni.pcap", "arp_who_has.pcap"])
def test_benign_captures_stay_quiet(tmp_path: Path, rules, corpus: Path, capture: str) -> None:
    assert alert_titles(tmp_path, rules, corpus / "pcap" / capture) == set()


def test_arp_spoofing_and_long_dns_labels(tmp_path: Path, rules) -> None:
    from scapy.layers.dns import DNS, DNSQR
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import ARP, Ether
    from scapy.utils import wrpcap

    packets = []
    for index, mac in enumerate(["aa:aa:aa:aa:aa:01", "bb:bb:bb:bb:bb:02"]):  # two MACs claim the gateway
        packet = Ether(src=mac) / ARP(op=2, hwsrc=mac, psrc="10.0.0.1", hwdst="cc:cc:cc:cc:cc:03", pdst="10.0.0.7")
        packet.time = 1_700_000_000 + index
        packets.append(packet)
    label = "a3f9c2d81b7e4f60a1c3e5f7091b2d4f6a8c0e2b"
    query = Ether() / IP(src="10.0.0.7", dst="10.0.0.53") / UDP(sport=5353, dport=53) / DNS(
        qd=DNSQR(qname=f"{label}.exfil.example"))
    query.time = 1_700_000_005
    packets.append(query)
    capture = tmp_path / "spoof.pcap"
    wrpcap(str(capture), packets)
    titles = alert_titles(tmp_path, rules, capture)
    assert {"ARP Spoofing - One Address Claimed by Several MAC Addresses",
            "DNS Query With a Long Encoded-Looking Label"} <= titles
