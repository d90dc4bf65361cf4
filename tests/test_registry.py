"""Every format is found by sniffing through the real registry, and ingests end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccenter.collect.registry import COLLECTORS, FORMAT_NAMES, create, sniff
from seccenter.detect.sigma import load_rules
from seccenter.pipeline import ingest
from seccenter.resources import sigma_rules
from seccenter.store.db import open_db

SAMPLES = {
    "syslog": b"Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2\n",
    "access": b'203.0.113.7 - - [10/Oct/2026:13:55:36 -0700] "GET /.env HTTP/1.1" 404 2326 "-" "curl/8"\n',
    "jsonl": b'{"@timestamp":"2026-11-03T10:00:01Z","user":{"name":"alice"},"msg":"login"}\n',
    "suricata": (b'{"timestamp":"2026-11-03T10:00:01.123456+0100","flow_id":1,"event_type":"dns",'
                 b'"src_ip":"10.1.2.3","src_port":53123,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP",'
                 b'"dns":{"type":"query","id":1,"rrname":"example.org","rrtype":"A"}}\n'),
    "zeek_json": (b'{"_path":"dns","ts":1793527200.123456,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"192.168.1.10",'
                  b'"id.orig_p":52113,"id.resp_h":"192.168.1.1","id.resp_p":53,"proto":"udp",'
                  b'"query":"example.org"}\n'),
    "journald": (b'{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1793696401123456","_HOSTNAME":"srv01",'
                 b'"SYSLOG_IDENTIFIER":"sshd","_PID":"1234","MESSAGE":"Failed password for root from '
                 b'203.0.113.9 port 52113 ssh2","PRIORITY":"6"}\n'),
    "zeek": (b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
             b"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n"
             b"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\n"
             b"1793527200.123456\tCHhAvVGS1DHFjwGM9\t192.168.1.10\t52113\t192.168.1.1\t53\tudp\n"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_is_sniffed_as_its_own_format(name: str) -> None:
    collector = sniff(SAMPLES[name])
    assert collector is not None and collector.name == name


def test_every_format_and_alias_can_be_named() -> None:
    for name in FORMAT_NAMES:
        assert create(name).name in COLLECTORS


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_format_ingests_once(tmp_path: Path, name: str) -> None:
    source = tmp_path / f"sample.{name}"
    source.write_bytes(SAMPLES[name])
    db = open_db(tmp_path / "s.db")
    rules = load_rules([sigma_rules()])
    first = ingest(db, [source], rules)
    assert (first.sources[0].format, first.total("new_events"), first.total("malformed")) == (name, 1, 0)
    assert ingest(db, [source], rules).total("new_events") == 0


def test_every_corpus_evtx_record_is_ingested_once(tmp_path: Path, corpus: Path) -> None:
    from evtx import PyEvtxParser

    files = sorted((corpus / "evtx").rglob("*.evtx"))
    expected = sum(sum(1 for _ in PyEvtxParser(str(path)).records_json()) for path in files)
    db = open_db(tmp_path / "s.db")
    rules = load_rules([sigma_rules()])
    summary = ingest(db, [corpus / "evtx"], rules)
    assert {source.format for source in summary.sources} == {"evtx"}
    assert (summary.total("new_events"), summary.total("malformed")) == (expected, 0)
    assert ingest(db, [corpus / "evtx"], rules).total("new_events") == 0
    channels = {json.loads(row["fields"]).get("Channel") for row in db["events"].rows}
    assert {"Security", "Microsoft-Windows-Sysmon/Operational"} <= channels


@pytest.mark.parametrize(("name", "fmt"), [("OpenSSH_2k.log", "syslog"), ("Linux_2k.log", "syslog"),
                                           ("Apache_2k.log", "weberror")])
def test_every_corpus_log_line_becomes_an_event(tmp_path: Path, corpus: Path, name: str, fmt: str) -> None:
    path = corpus / "logs" / name
    lines = sum(1 for line in path.read_bytes().splitlines() if line.strip())
    summary = ingest(open_db(tmp_path / "s.db"), [path], load_rules([sigma_rules()]))
    assert (summary.sources[0].format, summary.total("new_events"), summary.total("malformed")) == (fmt, lines, 0)


def test_pcap_ingest_counts_events_by_kind(tmp_path: Path, corpus: Path) -> None:
    from click.testing import CliRunner

    from seccenter.cli import main

    result = CliRunner().invoke(main, ["--db", str(tmp_path / "s.db"), "ingest", "--json",
                                       str(corpus / "pcap" / "dns_udp_google_a_aaaa_mx.pcap"),
                                       str(corpus / "pcap" / "http_get.pcap")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["by_kind"]["dns"] >= 3 and summary["by_kind"]["http"] >= 1 and summary["by_kind"]["flow"] >= 2
    assert {source["format"] for source in summary["sources"]} == {"pcap"}
