"""The team's correlation rules: brute force, password spraying and scanning bursts, across runs."""

from __future__ import annotations

from pathlib import Path

from seccenter.collect.interface import CollectOptions
from seccenter.detect.sigma import load_rules
from seccenter.pipeline import ingest
from seccenter.resources import sigma_rules
from seccenter.store.alerts import list_alerts
from seccenter.store.db import open_db

OPTIONS = CollectOptions(year=2026)


def failed(second: int, user: str = "root", ip: str = "203.0.113.7") -> str:
    return (f"Nov 24 03:{second // 60:02d}:{second % 60:02d} rathaus-web01 sshd[4{second:03d}]: "
            f"Failed password for {user} from {ip} port {40000 + second} ssh2\n")


def correlation_alerts(db) -> list[dict]:
    return [alert for alert in list_alerts(db) if alert["correlation"]]


def test_brute_force_spread_over_two_runs_is_caught(tmp_path: Path) -> None:
    rules = load_rules([sigma_rules()])
    db = open_db(tmp_path / "s.db")
    log = tmp_path / "auth.log"
    log.write_text("".join(failed(second * 20) for second in range(6)))
    ingest(db, [log], rules, options=OPTIONS)
    assert correlation_alerts(db) == []
    db.close()
    db = open_db(tmp_path / "s.db")  # the next scheduled run: a new process, state from the store
    with log.open("a") as stream:
        stream.write("".join(failed(120 + second * 10) for second in range(4)))
    ingest(db, [log], rules, options=OPTIONS)
    (alert,) = correlation_alerts(db)
    assert alert["rule_title"] == "SSH Brute Force From One Address" and alert["level"] == "high"
    assert alert["correlation"]["group"] == {"src_ip": "203.0.113.7"} and alert["correlation"]["value"] == 10
    assert alert["origin"]["line"] == 10  # the attempt that completed the pattern
    assert not any(a["rule_title"] == "SSH Password Guessing Attempt" for a in list_alerts(db))


def test_attempts_spread_wider_than_the_window_do_not_fire(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("".join(failed(second * 40) for second in range(10)))  # 10 attempts over 6 minutes
    db = open_db(tmp_path / "s.db")
    ingest(db, [log], load_rules([sigma_rules()]), options=OPTIONS)
    assert correlation_alerts(db) == []


def test_password_spraying_needs_five_distinct_users_from_one_address(tmp_path: Path) -> None:
    users = ["anna", "ben", "carla", "dieter", "emil"]
    log = tmp_path / "auth.log"
    log.write_text("".join(failed(index * 30, user=user) for index, user in enumerate(users))
                   + "".join(failed(200 + index, user="anna", ip="198.51.100.9") for index in range(8)))
    db = open_db(tmp_path / "s.db")
    ingest(db, [log], load_rules([sigma_rules()]), options=OPTIONS)
    titles = [(alert["rule_title"], alert["correlation"]["group"]) for alert in correlation_alerts(db)]
    assert titles == [("SSH Password Spraying From One Address", {"src_ip": "203.0.113.7"})]


def test_web_scanning_burst(tmp_path: Path) -> None:
    lines = [f'203.0.113.66 - - [24/Nov/2026:03:00:{index:02d} +0000] "GET /probe{index} HTTP/1.1" 404 100 "-" '
             '"Mozilla/5.0"\n' for index in range(25)]
    lines += [f'10.1.1.{index} - - [24/Nov/2026:03:00:{index:02d} +0000] "GET /missing HTTP/1.1" 404 100 "-" '
              '"Mozilla/5.0"\n' for index in range(25)]
    log = tmp_path / "access.log"
    log.write_text("".join(lines))
    db = open_db(tmp_path / "s.db")
    ingest(db, [log], load_rules([sigma_rules()]))
    (alert,) = correlation_alerts(db)
    assert alert["rule_title"] == "Web Scanning Burst From One Address"
    assert alert["source_ip"] == "203.0.113.66"
