"""ECS export: documents a SIEM can take, with nothing lost, and the README's table matching the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from seccenter.cli import main
from seccenter.report.ecs import FIELD_MAP, event_document

REPO = Path(__file__).resolve().parent.parent
SQLI = ('198.51.100.7 - bob [24/Nov/2026:09:12:01 +0100] '
        '"GET /api/v1/user?id=1%20UNION%20SELECT%20password HTTP/1.1" 403 512 "-" "sqlmap/1.7.2"\n')


def test_readme_table_lists_every_mapping() -> None:
    readme = (REPO / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([\w.@-]+)` \| (.+) \|$", readme, flags=re.MULTILINE))
    for name, target in FIELD_MAP.items():
        assert f"`{name}`" in rows.get(target, ""), f"README export table lacks {name} → {target}"


def test_event_document_uses_ecs_names_and_keeps_the_rest() -> None:
    document = event_document({
        "time": "2026-11-24T08:12:01+00:00", "source": "access", "raw": "raw line",
        "origin": {"path": "/var/log/access.log", "offset": 42, "line": 3},
        "fields": {"c-ip": "198.51.100.7", "cs-uri-stem": "/x", "sc-status": 403, "cs-version": "HTTP/1.1",
                   "EventID": 4624, "odd-field": "kept"},
    })
    assert document["@timestamp"] == "2026-11-24T08:12:01+00:00"
    assert document["source"] == {"ip": "198.51.100.7"}
    assert document["url"] == {"path": "/x"}
    assert document["http"] == {"response": {"status_code": 403}, "version": "1.1"}
    assert document["event"]["code"] == "4624" and document["event"]["original"] == "raw line"
    assert document["log"] == {"file": {"path": "/var/log/access.log"}, "offset": 42}
    assert document["seccenter"] == {"fields": {"odd-field": "kept"}}


def test_conflicting_names_are_kept_not_overwritten() -> None:
    document = event_document({"time": "t", "source": "jsonl", "raw": "", "origin": {"path": "p", "offset": 0},
                               "fields": {"user": "alice", "User": "bob"}})
    assert document["user"] == {"name": "alice"}
    assert document["seccenter"]["fields"] == {"User": "bob"}


def test_export_command_writes_events_and_alerts(tmp_path: Path) -> None:
    runner, db = CliRunner(), tmp_path / "s.db"
    log = tmp_path / "access.log"
    log.write_text(SQLI)
    assert runner.invoke(main, ["--db", str(db), "ingest", str(log)]).exit_code == 0
    events = runner.invoke(main, ["--db", str(db), "export", "events", "--format", "ecs-jsonl"])
    assert events.exit_code == 0
    (document,) = [json.loads(line) for line in events.stdout.splitlines()]
    assert document["user"] == {"name": "bob"} and document["http"]["request"]["method"] == "GET"
    target = tmp_path / "alerts.ndjson"
    alerts = runner.invoke(main, ["--db", str(db), "export", "alerts", "-o", str(target)])
    assert alerts.exit_code == 0 and "alerts exported" in alerts.stderr
    documents = [json.loads(line) for line in target.read_text().splitlines()]
    assert documents and all(d["event"]["kind"] == "alert" and d["rule"]["name"] for d in documents)
    assert {d["event"]["severity"] for d in documents} >= {"high"}
    assert not (tmp_path / "alerts.ndjson.part").exists()


def test_export_since_filters_by_event_time(tmp_path: Path) -> None:
    runner, db = CliRunner(), tmp_path / "s.db"
    log = tmp_path / "access.log"
    log.write_text(SQLI)
    runner.invoke(main, ["--db", str(db), "ingest", str(log)])
    later = runner.invoke(main, ["--db", str(db), "export", "events", "--since", "2026-11-25T00:00:00+00:00"])
    assert later.exit_code == 0 and later.stdout == ""
