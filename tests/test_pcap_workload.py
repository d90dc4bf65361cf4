"""The generated mixed capture (make_workloads.py --only pcap) through the whole ingest: counts and the one scan."""

from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType

import pytest

from seccenter.detect.sigma import load_rules
from seccenter.pipeline import ingest
from seccenter.resources import sigma_rules
from seccenter.store.alerts import list_alerts
from seccenter.store.db import open_db

PACKETS_AT_SCALE_1 = 50_000


def ingest_mixed(tmp_path: Path, workloads: ModuleType, scale: float) -> tuple[dict, list]:
    capture = tmp_path / "mixed.pcap"
    workloads.make_pcap(str(capture), int(PACKETS_AT_SCALE_1 * scale), random.Random(1))
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, [capture], load_rules([sigma_rules()]))
    return summary.to_dict(), list_alerts(db)


def assert_counts_and_one_scan(summary: dict, alerts: list, per_kind: int) -> None:
    assert summary["malformed"] == 0
    assert {kind: summary["by_kind"][kind] for kind in ("dns", "http", "tls")} == {
        "dns": per_kind, "http": per_kind, "tls": per_kind}
    # 10.9.9.9 sends SYNs to ports 1-1024 of 10.0.0.5 all through the capture: one scan, one alert
    scans = [alert for alert in alerts if alert["rule_title"] == "Vertical Port Scan of One Host"]
    assert [(alert["source_ip"], alert["level"]) for alert in scans] == [("10.9.9.9", "high")]
    assert {alert["rule_title"] for alert in alerts} == {"Vertical Port Scan of One Host"}


def test_mixed_capture_fifth_scale(tmp_path: Path, workloads: ModuleType) -> None:
    summary, alerts = ingest_mixed(tmp_path, workloads, 0.2)
    assert_counts_and_one_scan(summary, alerts, 2_000)


@pytest.mark.slow
def test_mixed_capture_full_scale(tmp_path: Path, workloads: ModuleType) -> None:
    summary, alerts = ingest_mixed(tmp_path, workloads, 1)
    assert_counts_and_one_scan(summary, alerts, 10_000)
