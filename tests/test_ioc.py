"""IOC lists in signature-base/Loki formats: loading with file:line problems, file and event matching, ingest, CLI."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seccenter.cli import main
from seccenter.detect.alert import level_for_score
from seccenter.detect.ioc import IocSet, list_kind
from seccenter.detect.ioc.lists import LineError, parse_c2, parse_filename, parse_hash
from seccenter.detect.ioc.pathmatch import PathMatcher
from seccenter.detect.regex import compile_search
from seccenter.detect.sigma import RuleSet
from seccenter.events import Event, LogSource, Origin
from seccenter.pipeline import detect_paths, ingest
from seccenter.resources import ioc_lists, sigma_rules
from seccenter.store.alerts import list_alerts
from seccenter.store.db import open_db

EICAR_MD5 = "44d88612fea8a8f36de82e1278abb02f"
EICAR_SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"
EICAR_SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
C2_LIST = """\
#
# C2 servers of a made-up campaign
evil.example
198.51.100.66;Beacon server
203.0.113.0/24
203.0.113.128/25;Inner range
2001:db8:c2::/48;IPv6 C2
"""
VHOST_LINE = ('c2.evil.example:80 192.0.2.10 - - [24/Nov/2026:09:12:01 +0100] "GET /gate.php HTTP/1.1" '
              '200 12 "-" "Mozilla/5.0"\n')


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def one_list(tmp_path: Path, name: str, text: str | bytes) -> IocSet:
    return IocSet.load([write(tmp_path / name, text)], posix_paths=True)


def event(**fields) -> Event:
    return Event(datetime(2026, 11, 24, tzinfo=UTC), "test", LogSource(), fields, "", Origin("test", 0))


def problems(iocs: IocSet) -> list[str]:
    return [str(problem) for problem in iocs.problems]


# --- loading --------------------------------------------------------------------------------------------------

def test_hash_list_kinds_scores_and_descriptions(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "hash-iocs.txt", f"""\
# FORMAT: HASH;COMMENT

{EICAR_MD5};EICAR test file
{EICAR_SHA1.upper()};50;EICAR; sha1 with a ; in its text
# From the comment
{EICAR_SHA256}
""")
    assert problems(iocs) == []
    report = iocs.reports[0]
    assert (report.kind, report.lines, report.indicators) == ("hash", 6, 3)
    md5, sha1, sha256 = (iocs.hashes[digest] for digest in (EICAR_MD5, EICAR_SHA1, EICAR_SHA256))
    assert (md5.score, md5.description, md5.line) == (100, "EICAR test file", 3)
    assert (sha1.score, sha1.description) == (50, "EICAR; sha1 with a ; in its text")
    assert (sha256.score, sha256.description) == (100, "From the comment")
    assert md5.title == f"MD5 hash indicator: {EICAR_MD5} (EICAR test file)"
    assert sha1.level == "low" and md5.level == "high"


def test_bad_hash_lines_are_reported_with_file_and_line_and_the_rest_loads(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "hash-iocs.txt", f"""\
abc;too short
{"z" * 32};not hex
d41d8cd98f00b204e9800998ecf8427e;empty file
{EICAR_MD5};still loaded
""")
    path = tmp_path / "hash-iocs.txt"
    assert problems(iocs) == [
        f"{path}:1: hash has 3 hex digits: not MD5 (32), SHA1 (40) or SHA256 (64)",
        f"{path}:2: hash {'z' * 32!r} is not hexadecimal",
        f"{path}:3: hash of an empty file or a lone line break: it would match harmless files",
    ]
    assert list(iocs.hashes) == [EICAR_MD5]
    assert iocs.reports[0].lines == 4


def test_filename_list_score_false_positive_and_loki_path_transform(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "filename-iocs.txt", """\
# Mimikatz
\\\\mimikatz\\.exe$;80
\\\\tools\\\\;50;\\\\tools\\\\approved\\\\

# Kerberos tickets
\\.kirbi$;70
""")
    assert problems(iocs) == []
    assert [entry.indicator.description for entry in iocs.filenames] == ["Mimikatz", "Mimikatz", "Kerberos tickets"]
    hits = iocs.match_file("/mnt/share/Users/bob/mimikatz.exe")
    assert [(hit.indicator.value, hit.field, hit.level) for hit in hits] == [("\\\\mimikatz\\.exe$", "path", "medium")]
    assert [hit.indicator.score for hit in iocs.match_file("/srv/tools/x.sh")] == [50]
    assert iocs.match_file("/srv/tools/approved/x.sh") == []
    assert iocs.match_file("/home/a/ticket.kirbi")[0].indicator.title == \
        "File name indicator: \\.kirbi$ (Kerberos tickets)"


def test_filename_regexes_keep_windows_separators_when_asked(tmp_path: Path) -> None:
    iocs = IocSet.load([write(tmp_path / "filename-iocs.txt", "C:\\\\Temp\\\\evil\\.exe;80\n")], posix_paths=False)
    assert len(iocs.match_file("C:\\Temp\\evil.exe")) == 1
    assert iocs.match_file("/Temp/evil.exe") == []


def test_bad_filename_lines(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "filename-iocs.txt", """\
[unclosed;50
no-score-here
a;b;c;d
x;high
;40
\\\\ok\\.exe;60
""")
    path = tmp_path / "filename-iocs.txt"
    assert problems(iocs) == [
        f"{path}:1: invalid regular expression: unterminated character set at position 0",
        f"{path}:2: no score: file name lines are REGEX;SCORE or REGEX;SCORE;FALSE_POSITIVE_REGEX",
        f"{path}:3: more than three ';' fields (REGEX;SCORE;FALSE_POSITIVE_REGEX); write a ';' inside a regex as \\x3b",
        f"{path}:4: score 'high' is not a whole number (0-999999)",
        f"{path}:5: empty regex",
    ]
    assert len(iocs.filenames) == 1


def test_catastrophic_regex_is_rejected_or_runs_in_linear_time(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "filename-iocs.txt", "(a+)+\\1;50\n(a|aa)+$;50\n")
    path = tmp_path / "filename-iocs.txt"
    assert [str(problem).split(": ", 1)[0] for problem in iocs.problems] == [f"{path}:1"]
    assert "nests unbounded repetition" in iocs.problems[0].reason
    started = time.perf_counter()
    assert iocs.match_file("/" + "a" * 50_000 + "!") == []  # exponential on a backtracking engine
    assert time.perf_counter() - started < 1


TRICKY_PATTERNS = ["/[\\w]+\\.exe$", "\\s{2,}\\.exe", "\\d\\.dll$", "\\bx\\b", "a.$", "(?i)/EVIL", "ü\\w",
                   "[^/]+\\.tmp$", "(?=/x)/", "^/srv/", "\\.(doc|pdf)\\.exe$", "x{3,5}"]


@given(st.lists(st.sampled_from(TRICKY_PATTERNS), min_size=2, max_size=8, unique=True),
       st.text(alphabet="/xaü1 _.\n\t\x1cévilEVIL.exedltmp" + "\u0660", max_size=30))
def test_one_pass_path_matching_agrees_with_one_search_per_regex(patterns: list[str], path: str) -> None:
    compiled = [(pattern, compile_search(pattern)) for pattern in patterns]
    expected = [index for index, (_pattern, search) in enumerate(compiled) if search(path)]
    assert PathMatcher(compiled).matches(path) == expected


def test_thousands_of_filename_regexes_cost_one_pass(tmp_path: Path) -> None:
    lines = "".join(f"\\\\tool{number}\\.(exe|dll)$;60\n[\\s]{{7,}}x{number}\\.exe;45\n" for number in range(1500))
    iocs = one_list(tmp_path, "filename-iocs.txt", lines)
    paths = [f"/srv/share/user{number}/AppData/Roaming/file{number}.txt" for number in range(2000)]
    started = time.perf_counter()
    assert not any(iocs.match_file(path) for path in paths)
    assert time.perf_counter() - started < 2  # one search per regex: about 3 ms a path, 6 s
    assert [hit.indicator.line for hit in iocs.match_file("/srv/tool7.dll")] == [15]


def test_c2_list_addresses_networks_domains_and_descriptions(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "c2-iocs.txt", C2_LIST)
    assert problems(iocs) == []
    assert iocs.reports[0].indicators == 5
    assert iocs.c2.match_name("evil.example").description == "C2 servers of a made-up campaign"
    assert iocs.c2.match_address("198.51.100.66").description == "Beacon server"


def test_bad_c2_lines(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "c2-iocs.txt", """\
0.0.0.0/0
10.0.0.0/4
com
http://evil.example/gate.php
evil.example:8080
10.1.2.300/24
010.1.1.1
xn--bcher-kva.example
bücher.example
""")
    path = tmp_path / "c2-iocs.txt"
    assert problems(iocs) == [
        f"{path}:1: network 0.0.0.0/0 is too wide (shorter than /8): it would match most connections",
        f"{path}:2: network 0.0.0.0/4 is too wide (shorter than /8): it would match most connections",
        f"{path}:3: 'com' has a single label: it would match every name under that top-level domain",
        f"{path}:4: 'http://evil.example/gate.php' is a URL: C2 lists take a host name or address alone",
        f"{path}:5: 'evil.example:8080' is not an IP address, a CIDR network or a domain name",
        f"{path}:6: '10.1.2.300/24' is not a network in CIDR notation",
        f"{path}:7: '010.1.1.1' is not an IP address, a CIDR network or a domain name",
    ]
    assert iocs.reports[0].duplicates == 1  # the Unicode name is the punycode one
    assert iocs.c2.match_name("www.xn--bcher-kva.example") is not None


def test_list_kind_comes_from_the_file_name_as_in_loki(tmp_path: Path) -> None:
    assert [list_kind(name) for name in ("hash-iocs.txt", "otx-c2-iocs.txt", "filename-iocs.txt",
                                         "falsepositive-hashes.txt", "keywords.txt")] == [
        "hash", "c2", "filename", "falsepositive-hash", None]
    write(tmp_path / "keywords.txt", "mimikatz\n")
    write(tmp_path / "c2-iocs.txt", "evil.example\n")
    iocs = IocSet.load([tmp_path, tmp_path / "keywords.txt", tmp_path / "missing-c2.txt"])
    assert len(iocs) == 1
    assert [problem.reason.split(":")[0] for problem in iocs.problems] == [
        "cannot tell the kind of list from the file name", "no such file or directory"]


def test_false_positive_hashes_silence_the_whole_file(tmp_path: Path) -> None:
    write(tmp_path / "hash-iocs.txt", f"{EICAR_MD5};EICAR\n")
    write(tmp_path / "filename-iocs.txt", "eicar;80\n")
    write(tmp_path / "falsepositive-hashes.txt", f"{EICAR_SHA256};our own test file\n")
    iocs = IocSet.load([tmp_path])
    assert iocs.match_file("/x/eicar.com", {"md5": EICAR_MD5, "sha256": EICAR_SHA256}) == []
    assert len(iocs.match_file("/x/eicar.com", {"md5": EICAR_MD5})) == 2


def test_eicar_sample_matches_by_md5_and_sha256(corpus: Path) -> None:
    sample = corpus / "yara" / "samples" / "eicar.txt"
    data = sample.read_bytes()
    digests = {name: hashlib.new(name, data).hexdigest() for name in ("md5", "sha1", "sha256")}
    assert (digests["md5"], digests["sha256"]) == (EICAR_MD5, EICAR_SHA256)
    iocs = IocSet.load([ioc_lists()])
    hits = iocs.match_file(str(sample), digests)
    assert {(hit.field, hit.observed) for hit in hits if hit.indicator.kind == "hash"} == {
        ("md5", EICAR_MD5), ("sha1", EICAR_SHA1), ("sha256", EICAR_SHA256)}
    assert all(hit.level == "high" for hit in hits if hit.indicator.kind == "hash")


def test_bundled_example_lists_load_cleanly_and_match_only_reserved_values() -> None:
    iocs = IocSet.load([ioc_lists()])
    assert problems(iocs) == [] and len(iocs.hashes) == 3 and len(iocs.c2) == 5 and len(iocs.filenames) == 3
    for value in iocs.c2.domains:
        assert value.endswith(".example")
    assert iocs.c2.match_address("203.0.113.5") is not None and iocs.c2.match_address("8.8.8.8") is None


@pytest.mark.parametrize(("score", "level"), [(200, "high"), (100, "high"), (99, "medium"), (60, "medium"),
                                              (59, "low"), (40, "low"), (39, "informational"), (0, "informational")])
def test_loki_scores_become_levels(score: int, level: str) -> None:
    assert level_for_score(score) == level


def test_rule_ids_stay_when_lines_move(tmp_path: Path) -> None:
    before = one_list(tmp_path, "c2-iocs.txt", "evil.example\n")
    after = one_list(tmp_path, "c2-iocs.txt", "# new header\n\nother.example\nevil.example\n")
    assert before.c2.match_name("evil.example").rule_id == after.c2.match_name("evil.example").rule_id == \
        "ioc:c2:c2-iocs.txt:evil.example"


# --- C2 matching ----------------------------------------------------------------------------------------------

@pytest.fixture
def c2(tmp_path: Path) -> IocSet:
    return one_list(tmp_path, "c2-iocs.txt", C2_LIST)


def matched(iocs: IocSet, **fields) -> list[tuple[str, str, str]]:
    return [(hit.field, hit.observed, hit.indicator.value) for hit in iocs.match_event(event(**fields))]


def test_subdomains_match_and_lookalikes_do_not(c2: IocSet) -> None:
    assert matched(c2, query="a.b.EVIL.example.") == [("query", "a.b.EVIL.example.", "evil.example")]
    assert matched(c2, query="notevil.example") == []  # Loki's substring test would match this
    assert matched(c2, query="evil.example.attacker.test") == []
    assert matched(c2, QueryName=["x.example", "evil.example"]) == [("QueryName", "evil.example", "evil.example")]


def test_addresses_and_most_specific_network(c2: IocSet) -> None:
    assert matched(c2, dst_ip="198.51.100.66") == [("dst_ip", "198.51.100.66", "198.51.100.66")]
    assert matched(c2, DestinationIp="203.0.113.200")[0][2] == "203.0.113.128/25"
    assert matched(c2, dst="203.0.113.1")[0][2] == "203.0.113.0/24"
    assert matched(c2, **{"destination.ip": "2001:db8:c2::1"})[0][2] == "2001:db8:c2::/48"
    assert matched(c2, dst_ip="::ffff:198.51.100.66")[0][2] == "198.51.100.66"
    assert matched(c2, dst_ip="203.0.114.1") == matched(c2, dst_ip="not an address") == []
    assert matched(c2, src_ip="198.51.100.66") == []  # the attacker's side of an inbound connection is not C2


def test_http_and_tls_hosts(c2: IocSet) -> None:
    assert matched(c2, **{"cs-host": "cdn.evil.example:8443"}) == [
        ("cs-host", "cdn.evil.example:8443", "evil.example")]
    assert matched(c2, **{"c-uri": "http://user@[2001:db8:c2::9]:80/gate?x=1"})[0][2] == "2001:db8:c2::/48"
    assert matched(c2, **{"c-uri": "/evil.example/x"}) == []
    assert matched(c2, **{"tls.sni": "evil.example", "server_name": "evil.example"}) == [
        ("tls.sni", "evil.example", "evil.example")]  # one hit per indicator and event
    assert matched(c2, DestinationHostname="198.51.100.66")[0][2] == "198.51.100.66"
    assert matched(c2, **{"url.domain": "x" * 300 + ".evil.example"}) == []  # longer than any resolvable name


def test_a_list_added_after_lookups_is_seen(tmp_path: Path, c2: IocSet) -> None:
    assert matched(c2, query="late.example", dst_ip="192.0.2.99") == []
    c2.add_list(write(tmp_path / "late-c2.txt", "late.example\n192.0.2.99\n"))
    assert [value for _field, _observed, value in matched(c2, query="late.example", dst_ip="192.0.2.99")] == [
        "192.0.2.99", "late.example"]


def test_large_domain_list_is_looked_up_by_suffix(tmp_path: Path) -> None:
    names = "".join(f"host{number}.c2-{number % 97}.example\n" for number in range(50_000))
    iocs = one_list(tmp_path, "c2-iocs.txt", names + "203.0.113.0/24\n")
    assert len(iocs.c2) == 50_001
    queries = [event(query=f"x.y.host{number}.c2-{number % 97}.example", dst_ip="192.0.2.1")
               for number in range(0, 50_000, 5)]
    started = time.perf_counter()
    assert all(iocs.match_event(item) for item in queries)
    assert time.perf_counter() - started < 2  # 10,000 events; a scan of the list per event would take minutes


def test_dns_event_from_a_capture_and_access_log_host(tmp_path: Path, c2: IocSet) -> None:
    scapy = pytest.importorskip("scapy.all")
    query = (scapy.Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
             / scapy.IP(src="192.0.2.10", dst="192.0.2.53") / scapy.UDP(sport=40000, dport=53)
             / scapy.DNS(id=7, rd=1, qd=scapy.DNSQR(qname="beacon.evil.example")))
    query.time = 1_700_000_000
    capture = tmp_path / "c2.pcap"
    scapy.wrpcap(str(capture), [query])
    log = write(tmp_path / "other_vhosts_access.log", VHOST_LINE)
    alerts = list(detect_paths([capture, log], RuleSet(), iocs=c2))
    assert [(alert.event.source, alert.rule_id, alert.level) for alert in alerts] == [
        ("pcap", "ioc:c2:c2-iocs.txt:evil.example", "high"),
        ("access", "ioc:c2:c2-iocs.txt:evil.example", "high"),
    ]
    assert alerts[0].rule_title == "C2 indicator: evil.example (C2 servers of a made-up campaign)"
    assert alerts[0].tags == ("attack.command-and-control", "ioc.c2")


def test_corpus_dns_capture(tmp_path: Path, corpus: Path) -> None:
    iocs = one_list(tmp_path, "c2-iocs.txt", "google.com;stand-in for a C2 domain\n")
    alerts = list(detect_paths([corpus / "pcap" / "dns_udp_google_a_aaaa_mx.pcap"], RuleSet(), iocs=iocs))
    assert alerts and {alert.event.fields["query"].lower().rstrip(".") for alert in alerts} <= {"google.com"}


def test_ingest_stores_ioc_alerts_once(tmp_path: Path, c2: IocSet) -> None:
    log = write(tmp_path / "other_vhosts_access.log", VHOST_LINE)
    db = open_db(tmp_path / "seccenter.db")
    summary = ingest(db, [log], RuleSet(), iocs=c2)
    assert summary.total("alerts") == 1
    stored = list_alerts(db)
    assert [(row["rule_id"], row["level"], row["fields"]["cs-host"]) for row in stored] == [
        ("ioc:c2:c2-iocs.txt:evil.example", "high", "c2.evil.example")]
    with log.open("a") as stream:
        stream.write(VHOST_LINE.replace("09:12:01", "09:12:02"))
    assert ingest(db, [log], RuleSet(), iocs=c2).total("alerts") == 1
    assert ingest(db, [log], RuleSet(), iocs=c2).total("alerts") == 0
    assert len(list_alerts(db)) == 2


# --- bad input ------------------------------------------------------------------------------------------------

@given(st.text(max_size=300))
def test_line_parsers_raise_only_line_errors(line: str) -> None:
    for parse in (parse_hash, lambda text: parse_filename(text, True), parse_c2):
        with contextlib.suppress(LineError):
            parse(line)


@given(st.binary(max_size=2000))
def test_any_bytes_load_without_raising(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    folder = tmp_path_factory.mktemp("lists")
    for name in ("hash-iocs.txt", "filename-iocs.txt", "c2-iocs.txt"):
        write(folder / name, data)
    iocs = IocSet.load([folder])
    for report in iocs.reports:
        assert report.lines == len(data.split(b"\n")) - (1 if data.endswith(b"\n") or not data else 0)
        assert report.indicators + report.duplicates + report.problem_count <= report.lines


def test_binary_garbage_file_gives_bounded_problems(tmp_path: Path) -> None:
    data = bytes(range(256)) * 4000 + b"\n" * 500
    iocs = one_list(tmp_path, "c2-iocs.txt", data)
    report = iocs.reports[0]
    assert len(iocs.c2) == 0 and report.problem_count > 100 and len(report.problems) == 100


def test_crlf_bom_and_latin1(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "hash-iocs.txt",
                    b"\xef\xbb\xbf# Pr\xfcfsumme aus dem Bericht\r\n" + EICAR_MD5.encode() + b"\r\n"
                    + EICAR_SHA256.encode() + b";Gr\xc3\xbc\xc3\x9fe\r\n")
    assert problems(iocs) == []
    assert iocs.hashes[EICAR_MD5].description == "Prüfsumme aus dem Bericht"
    assert iocs.hashes[EICAR_SHA256].description == "Grüße"


def test_megabyte_line_is_skipped_and_the_next_line_loads(tmp_path: Path) -> None:
    iocs = one_list(tmp_path, "c2-iocs.txt", "a" * 1_000_000 + ".example\nevil.example\n")
    assert problems(iocs) == [f"{tmp_path / 'c2-iocs.txt'}:1: line longer than 64 KiB: skipped"]
    assert iocs.c2.match_name("evil.example").line == 2


def test_hostile_descriptions_are_data(tmp_path: Path, runner) -> None:
    hostile = "[bold red]x[/bold red]\x1b[2J\x1b]0;pwn\x07"
    lists = write(tmp_path / "c2-iocs.txt", f"evil.example;{hostile}\nlong.example;{'y' * 1000}\n")
    iocs = IocSet.load([lists])
    assert iocs.c2.match_name("evil.example").description == "[bold red]x[/bold red]\\x1b[2J\\x1b]0;pwn\\x07"
    assert len(iocs.c2.match_name("long.example").description) == 300
    log = write(tmp_path / "other_vhosts_access.log", VHOST_LINE)
    result = runner.invoke(main, ["detect", "--rules", str(sigma_rules()), "--ioc", str(lists), str(log),
                                  "--format", "table"], env={"COLUMNS": "400"})
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "[bold red]x[/bold red]" in result.output


# --- command line ---------------------------------------------------------------------------------------------

def test_cli_ingest_and_detect_with_ioc(runner, tmp_path: Path) -> None:
    lists = write(tmp_path / "c2-iocs.txt", C2_LIST + "not a value\n")
    log = write(tmp_path / "other_vhosts_access.log", VHOST_LINE)
    db = tmp_path / "seccenter.db"
    result = runner.invoke(main, ["--db", str(db), "ingest", str(log), "--ioc", str(lists), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["alerts"] == 1
    assert f"warning: IOC not loaded: {lists}:8: 'not a value' is not an IP address" in result.stderr
    alerts = json.loads(runner.invoke(main, ["--db", str(db), "alerts", "--json"]).stdout)
    assert [alert["rule_title"] for alert in alerts] == [
        "C2 indicator: evil.example (C2 servers of a made-up campaign)"]
    detected = runner.invoke(main, ["detect", "--rules", str(sigma_rules()), "--ioc", str(lists), str(log)])
    assert [json.loads(line)["rule_id"] for line in detected.stdout.splitlines()] == [
        "ioc:c2:c2-iocs.txt:evil.example"]


def test_cli_ioc_lists_without_any_indicator_are_a_user_error(runner, tmp_path: Path) -> None:
    log = write(tmp_path / "other_vhosts_access.log", VHOST_LINE)
    result = runner.invoke(main, ["--db", str(tmp_path / "x.db"), "ingest", str(log),
                                  "--ioc", str(tmp_path / "missing-c2.txt")])
    assert result.exit_code == 1
    assert f"Error: no indicator could be loaded from {tmp_path / 'missing-c2.txt'}" in result.stderr
    assert not (tmp_path / "x.db").exists()
