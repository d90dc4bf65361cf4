"""Resource limits: hostile rules, configs and inputs are refused or stopped in bounded time and memory.

- YAML alias bombs (and nesting bombs) through every YAML entry point: refused with file:line.
- Regular expressions and wildcards in rules (Sigma, IOC file name lists): a classic ReDoS pattern on a
  50 kB field takes well under a second.
- gzip input: a decompression bomb stops that source with a reason in the summary; the other sources are read.
- The flow table and the correlation windows stay at their limit and count what they evict, and the ingest
  summary says so.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import textwrap
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.collect.gzipped import MAX_RATIO, WINDOW, BoundedGzipFile, DecompressionBomb
from seccenter.detect.engine import Engine
from seccenter.detect.ioc import IocSet
from seccenter.detect.regex import compile_fullmatch, compile_search
from seccenter.detect.sigma import load_rules
from seccenter.events import Event, LogSource, Origin
from seccenter.yamlfile import MAX_ALIAS_EXPANSION, MAX_DEPTH

pytestmark = pytest.mark.reliability

LINUX = LogSource(product="linux", service="auth")


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    """The block must finish within ``seconds``."""
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s"


def peak_megabytes(work: Callable[[], object]) -> float:
    """What ``work`` allocates at its peak (measured apart from the time: tracemalloc slows Python down)."""
    tracemalloc.start()
    try:
        work()
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak / 2**20


# --- YAML: alias and nesting bombs through every entry point ------------------------------------------------


def laughs(levels: int = 9) -> str:
    """Billion laughs: nine levels of nine aliases each (387 million nodes once expanded)."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"lol{level}: &lol{level} [{', '.join([f'*lol{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def wide_bomb() -> str:
    """One anchor of 1000 items, aliased 200 times: 200,000 nodes from 10 kB."""
    return "base: &base [" + ", ".join(["x"] * 1000) + "]\nmany: [" + ", ".join(["*base"] * 200) + "]\n"


DEEP = f"nested deeper than {MAX_DEPTH} levels"  # PyYAML alone: a RecursionError past ~330 levels
BOMBS = {"billion_laughs": (laughs(), "alias bomb"), "wide_aliases": (wide_bomb(), "alias bomb"),
         "deep_block": ("deep:\n" + "- " * 5_000 + "x\n", DEEP),
         "deep_flow": ("deep: " + "[\n " * 5_000 + "]" * 5_000 + "\n", DEEP)}


def _sigma(path: Path) -> str:
    (error,) = load_rules([path]).errors
    return str(error)


def _playbook(path: Path) -> str:
    from seccenter.playbooks.library import load_file
    from seccenter.playbooks.model import PlaybookError

    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    return str(caught.value)


def _register(path: Path) -> str:
    from seccenter.privacy.records import RegisterError
    from seccenter.privacy.register_io import read_register

    with pytest.raises(RegisterError) as caught:
        read_register(path)
    return "; ".join(map(str, caught.value.errors))


def _dpia(path: Path) -> str:
    from seccenter.privacy.dpia import read_content_yaml
    from seccenter.privacy.records import RegisterError

    with pytest.raises(RegisterError) as caught:
        read_content_yaml(path.read_text(), str(path))
    return "; ".join(map(str, caught.value.errors))


def _config(path: Path) -> str:
    from seccenter.config import ConfigError, load_config

    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return str(caught.value)


def _placeholders(path: Path) -> str:
    import click

    from seccenter.cli.context import read_placeholders

    with pytest.raises(click.ClickException) as caught:
        read_placeholders(path)
    return caught.value.message


def _convert(path: Path) -> str:
    from seccenter.detect.convert import convert_rules

    (conversion,) = convert_rules([path], "sqlite")
    assert conversion.error is not None
    return conversion.error


ENTRY_POINTS: dict[str, Callable[[Path], str]] = {
    "sigma_rule": _sigma, "playbook": _playbook, "ropa_register": _register, "dpia_content": _dpia,
    "scan_config": _config, "placeholders": _placeholders, "rules_convert": _convert,
}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_yaml_bombs_are_refused_with_file_and_line_by_every_reader(tmp_path: Path, entry: str, bomb: str) -> None:
    text, reason = BOMBS[bomb]
    path = tmp_path / "hostile.yml"
    path.write_text("title: first line is fine\n" + text)
    with bounded(seconds=3):
        message = ENTRY_POINTS[entry](path)
    assert peak_megabytes(lambda: ENTRY_POINTS[entry](path)) < 16
    assert f"{path}:" in message and reason in message, message
    line = int(message.split(f"{path}:", 1)[1].split(":", 1)[0])
    assert 1 <= line <= text.count("\n") + 1


def test_deep_nesting_on_one_line_is_refused_in_bounded_time() -> None:
    from seccenter.yamlfile import YamlFileError, load_documents

    with bounded(seconds=3), pytest.raises(YamlFileError, match=DEEP):
        load_documents("deep: " + "[" * 100_000 + "]" * 100_000 + "\n", "deep.yml")


def test_the_alias_limit_sits_between_real_documents_and_bombs(tmp_path: Path) -> None:
    from seccenter.yamlfile import YamlFileError, load_documents

    items = MAX_ALIAS_EXPANSION // 100
    fits = "base: &base [" + ", ".join(["x"] * 99) + "]\nmany: [" + ", ".join(["*base"] * items) + "]\n"
    assert len(load_documents(fits, "fits.yml")[0]["many"]) == items
    with pytest.raises(YamlFileError, match="alias bomb"):
        load_documents(fits.replace("[x,", "[x, x,", 1), "over.yml")


def test_rules_check_reports_a_bomb_and_loads_the_other_rules(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "bomb.yml").write_text(laughs())
    (tmp_path / "good.yml").write_text(rule_text("sel:\n  user: root\ncondition: sel"))
    with bounded(seconds=5):
        result = runner.invoke(main, ["rules", "check", str(tmp_path), "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert report["loaded"] == 1
    (failure,) = report["failed"]
    assert failure["path"] == str(tmp_path / "bomb.yml") and failure["line"] == 1 and "alias bomb" in failure["reason"]


# --- regular expressions and wildcards -----------------------------------------------------------------------

FIELD = "a" * 50_000 + "!"

# pattern, hostile field, expected verdict; each takes seconds to years on a backtracking engine
REDOS = [
    ("(a+)+$", FIELD, False),
    ("(x|xy)*$", "x" * 50_000 + "!", True),
    ("(a|a)*$", FIELD, True),
    ("(.*a){20}$", "a" * 19 + "b" * 50_000, False),
    ("^(\\w+\\s?)*$", FIELD, False),
    ("(a|aa)+$", FIELD, False),
    ("a*a*a*a*a*b", FIELD, False),
    ("cmd.*/c.*powershell", "cmd/c" * 10_000, False),
    ("(a|a){0,100}b", FIELD, False),
    ("\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}x", "1." * 25_000, False),
]


def rule_text(detection: str) -> str:
    return ("title: hostile field\nid: 5f0b7c9e-1111-4222-8333-944455556666\nstatus: test\nlevel: high\n"
            "logsource:\n  product: linux\n  service: auth\ndetection:\n"
            + textwrap.indent(detection.strip(), "  ") + "\n")


def sigma_verdicts(tmp_path: Path, detection: str, value: str) -> tuple[bool, bool]:
    """Generated code and closure matchers on one event; the rules must load."""
    path = tmp_path / "rule.yml"
    path.write_text(rule_text(detection))
    ruleset = load_rules([path])
    assert not ruleset.errors, ruleset.errors
    event = Event(datetime(2026, 11, 25, tzinfo=UTC), "test", LINUX, {"CommandLine": value}, value, Origin("t", 0, 1))
    return (bool(Engine(ruleset.rules).match(event)), bool(Engine(ruleset.rules, generate_code=False).match(event)))


@pytest.mark.parametrize(("pattern", "value", "expected"), REDOS, ids=[case[0] for case in REDOS])
def test_sigma_regex_on_a_hostile_field_is_time_bounded(tmp_path: Path, pattern: str, value: str,
                                                        expected: bool) -> None:
    detection = f"sel:\n  CommandLine|re: '{pattern}'\ncondition: sel"
    with bounded(seconds=1):
        verdicts = sigma_verdicts(tmp_path, detection, value)
    assert verdicts == (expected, expected)


@pytest.mark.parametrize("pattern", ["(?<=x)a+b", "(a)\\1+$", "(?<!\\\\)\\\\\\w+\\.exe"])
def test_a_slow_pattern_the_linear_engine_cannot_run_is_refused_with_file_and_line(tmp_path: Path,
                                                                                   pattern: str) -> None:
    path = tmp_path / "rule.yml"
    path.write_text(rule_text(f"sel:\n  CommandLine|re: '{pattern}'\ncondition: sel"))
    (error,) = load_rules([path]).errors
    assert error.line == 10 and "quadratic time or worse" in error.reason and "look-around" in error.reason


def test_fast_patterns_keep_pythons_semantics() -> None:
    """Patterns without unbounded repetition stay on Python's re: Unicode classes, look-around, back-references."""
    assert compile_search("\\d\\.dll$")("/x/\u0663.dll\n")  # an Arabic-Indic digit, $ before a final newline
    assert compile_search("bash(?! -c)")("/bin/bash -i")
    assert compile_search("(\\w)\\1")("öö")
    assert compile_search("(?i)whoami")("WHOAM\u0131")  # Python folds the dotless i onto i
    assert not compile_search("(?i)whoami.*")("WHOAM\u0131")  # RE2 (unbounded .*): Unicode simple case folding


def test_lone_surrogates_from_json_reach_the_linear_engine_as_data() -> None:
    search = compile_search("a.*b")
    assert search("x\ud800a-b")
    assert not search("\ud800" * 10)
    assert compile_fullmatch(".*a.*b", 16).fullmatch("\udcffab") is not None


@pytest.mark.parametrize(("value", "expected"), [("*a*a*a*a*b", False), ("*a*a*a*a*", True)])
def test_sigma_wildcards_on_a_hostile_field_are_time_bounded(tmp_path: Path, value: str, expected: bool) -> None:
    with bounded(seconds=1):
        verdicts = sigma_verdicts(tmp_path, f"sel:\n  CommandLine: '{value}'\ncondition: sel", FIELD)
    assert verdicts == (expected, expected)


def test_ioc_file_name_regexes_on_a_hostile_path_are_time_bounded(tmp_path: Path) -> None:
    path = tmp_path / "filename-iocs.txt"
    path.write_text("# ReDoS patterns\n(a+)+\\.exe;60\n.*a.*a.*b\\.exe;60\n(.*a){20}\\.dll;60\n"
                    "a+b\\.exe;60;(a|a)*z$\n\\\\evil\\.exe$;80\n")
    iocs = IocSet.load([path], posix_paths=True)
    assert [str(problem) for problem in iocs.problems] == []
    hostile = "/srv/share/" + "a" * 50_000 + ".ex"
    with bounded(seconds=1):
        assert iocs.match_file(hostile) == []
        assert [hit.indicator.line for hit in iocs.match_file("/srv/aab.exe")] == [3, 5]


# --- gzip: decompression bombs ------------------------------------------------------------------------------


def auth_lines(count: int, start: int = 0) -> bytes:
    return b"".join(b"Dec  5 21:%02d:%02d host sshd[%d]: Failed password for root from 10.%d.%d.%d port %d ssh2\n"
                    % (n // 60 % 60, n % 60, n, n >> 16 & 255, n >> 8 & 255, n & 255, 1024 + n % 60000)
                    for n in range(start, start + count))


def write_bomb(path: Path, prefix: bytes, filler: bytes, mebibytes: int) -> None:
    """``prefix`` then ``mebibytes`` MiB of ``filler`` repeated, compressed as it is written (never held whole)."""
    block = filler * ((1 << 20) // len(filler))
    with gzip.open(path, "wb", compresslevel=9) as stream:
        stream.write(prefix)
        for _ in range(mebibytes):
            stream.write(block)


@pytest.mark.parametrize(("filler", "prefix_lines"), [(b"\0", 50), (b"a", 3000)], ids=["zeros", "no_newline"])
def test_a_gzip_bomb_stops_its_source_and_the_other_sources_are_read(tmp_path: Path, runner: CliRunner,
                                                                     filler: bytes, prefix_lines: int) -> None:
    bomb, plain = tmp_path / "auth.log.1.gz", tmp_path / "auth.log"
    write_bomb(bomb, auth_lines(prefix_lines), filler, mebibytes=64)  # 64 MiB from about 64 kB
    plain.write_bytes(auth_lines(40, start=prefix_lines))
    assert bomb.stat().st_size * MAX_RATIO < 64 << 20
    with bounded(seconds=15):
        result = runner.invoke(main, ["--db", str(tmp_path / "s.db"), "ingest", "--json", str(bomb), str(plain)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    by_path = {source["path"]: source for source in summary["sources"]}
    assert "a decompression bomb?" in by_path[str(bomb)]["error"]
    assert f"more than {MAX_RATIO}:1" in by_path[str(bomb)]["error"]
    assert by_path[str(bomb)]["events"] == prefix_lines  # everything before the bomb was read and kept
    assert (by_path[str(plain)]["events"], by_path[str(plain)]["error"]) == (40, None)
    assert summary["new_events"] == prefix_lines + 40
    stopped_after = int(by_path[str(bomb)]["error"].split("after ", 1)[1].split(" ", 1)[0])
    assert stopped_after <= len(auth_lines(prefix_lines)) + 2 * WINDOW < 64 << 20


def test_a_bomb_is_stopped_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.gz"
    write_bomb(bomb, b"", b"\0", mebibytes=64)

    def read() -> None:
        with bomb.open("rb") as raw, BoundedGzipFile(raw) as stream, pytest.raises(DecompressionBomb):
            while stream.readline(1 << 20):
                pass

    assert peak_megabytes(read) < 8


@pytest.mark.parametrize("kind", ["timestamped", "one_line_flood", "one_long_line_flood"])
def test_compressible_logs_are_read_whole(kind: str) -> None:
    """Logs far above the usual 10:1 (a flood of one identical line is about 300:1) are not taken for bombs."""
    line = b"Dec  5 21:42:01 host sshd[123]: Connection closed by 10.0.0.1 port 22"
    data = {"timestamped": auth_lines(200_000),
            "one_line_flood": (line + b"\n") * 300_000,
            "one_long_line_flood": (line + b" " + b"x" * 180 + b"\n") * 80_000}[kind]
    assert len(data) > WINDOW
    stream = BoundedGzipFile(io.BytesIO(gzip.compress(data)))  # gzip's and logrotate's default level
    assert b"".join(iter(lambda: stream.readline(1 << 20), b"")) == data


# --- flow table and correlation windows ---------------------------------------------------------------------


def udp_packet(number: int) -> bytes:
    """Ethernet + IPv4 + UDP from 10.0.x.y:sport to 192.0.2.1:9999, one flow per ``number``."""
    payload = b"hello"
    source = bytes([10, 0, number >> 8 & 255, number & 255])
    udp = struct.pack("!HHHH", 1024 + number % 60000, 9999, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), number & 0xFFFF, 0, 64, 17, 0, source,
                     bytes([192, 0, 2, 1]))
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def write_pcap(path: Path, flows: int) -> None:
    """``flows`` one-packet UDP flows within one second of capture time (no flow goes idle)."""
    with path.open("wb") as stream:
        stream.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for number in range(flows):
            packet = udp_packet(number)
            stream.write(struct.pack("<IIII", 1_795_000_000, number, len(packet), len(packet)) + packet)


def test_the_flow_table_stays_at_its_limit_and_counts_what_it_evicts() -> None:
    from seccenter.collect.packets.flows import Analyzer

    analyzer, ended = Analyzer("t.pcap", max_flows=50), []
    for number in range(1_000):
        analyzer.packet(24 + number * 60, 40 + number * 60, 1_795_000_000 + number / 1e6, 1, udp_packet(number))
        assert len(analyzer.flows) <= 50
        ended.extend(analyzer.out)
        analyzer.out.clear()
    assert len(analyzer.flows) == 50
    analyzer.finish()
    ended.extend(analyzer.out)
    reasons = Counter(event.fields["end_reason"] for event in ended)
    assert reasons == {"evicted": 950, "end_of_input": 50}
    assert analyzer.stats["evicted"] == 950


def test_evicted_flows_are_counted_in_the_ingest_summary(tmp_path: Path) -> None:
    from seccenter import pipeline
    from seccenter.collect.interface import CollectOptions
    from seccenter.store.db import open_db

    capture = tmp_path / "many-flows.pcap"
    write_pcap(capture, flows=600)
    db = open_db(tmp_path / "s.db")
    summary = pipeline.ingest(db, [capture], load_rules([]), options=CollectOptions(max_flows=100))
    (source,) = summary.to_dict()["sources"]
    assert (source["error"], source["flows_evicted"], source["by_kind"]) == (None, 500, {"flow": 600})
    stored = [json.loads(fields)["end_reason"] for (fields,) in db.execute("SELECT fields FROM events")]
    assert Counter(stored) == {"evicted": 500, "end_of_input": 100}


CORRELATION = """title: failed login
id: 0a1b2c3d-0000-4000-8000-000000000001
name: failed_login
logsource:
  product: linux
  service: auth
detection:
  sel:
    outcome: failure
  condition: sel
level: low
---
title: many failures per user
id: 0a1b2c3d-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules:
    - failed_login
  group-by:
    - user
  timespan: 1h
  condition:
    gte: 1000000
level: high
"""


def test_correlation_windows_stay_at_their_limit_and_count_what_they_evict(tmp_path: Path) -> None:
    from seccenter.detect.correlation import CorrelationEngine

    path = tmp_path / "correlation.yml"
    path.write_text(CORRELATION)
    ruleset = load_rules([path])
    assert not ruleset.errors
    engine = CorrelationEngine(ruleset.correlations, max_entries=100)
    for number in range(5_000):
        event = Event(datetime(2026, 11, 25, 9, 0, number % 60, tzinfo=UTC), "test", LINUX,
                      {"user": f"user{number}", "outcome": "failure"}, "", Origin("t", number, number + 1))
        assert engine.process([("failed_login", event)]) == []
        groups = engine.state()["rules"]["0a1b2c3d-0000-4000-8000-000000000002"]["groups"]
        assert sum(len(group["entries"]) for group in groups) <= 100
    held = sum(len(group["entries"]) for group in groups)
    assert engine.skipped == {"0a1b2c3d-0000-4000-8000-000000000002": {"evicted": 5_000 - held}}


def test_correlation_skip_counters_reach_the_ingest_summary(tmp_path: Path, runner: CliRunner) -> None:
    """What the windows could not count (evicted, capped, late…) is in ``ingest --json``: here a match older than
    its group's window, which a second run finds (the windows are kept in the store between runs)."""
    rules, log = tmp_path / "correlation.yml", tmp_path / "auth.log"
    rules.write_text(CORRELATION)
    arguments = ["--db", str(tmp_path / "s.db"), "ingest", "--json", "--rules", str(rules), "--year", "2026",
                 "--timezone", "UTC", str(log)]
    log.write_text("Dec  5 21:30:00 host sshd[1]: Failed password for alice from 10.0.0.1 port 2222 ssh2\n")
    assert json.loads(runner.invoke(main, arguments).output)["correlation_skipped"] == {}
    with log.open("a") as stream:
        stream.write("Dec  5 19:00:00 host sshd[2]: Failed password for alice from 10.0.0.1 port 2223 ssh2\n")
    result = runner.invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["correlation_skipped"] == {"0a1b2c3d-0000-4000-8000-000000000002": {"late": 1}}
