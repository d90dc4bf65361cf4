"""Resource limits: hostile rules, configs and inputs are refused or stopped in bounded time and memory.

- YAML alias bombs (and nesting bombs) through every YAML entry point: refused with file:line.
- Regular expressions and wildcards in rules (Sigma, IOC file name lists): a classic ReDoS pattern on a
  50 kB field takes well under a second.
- gzip input: a decompression bomb stops that source with a reason in the summary; the other sources are read.
- The flow table and the correlation windows stay at their limit and count what they evict, and the ingest
  summary says so.
"""

from __future__ import annotations

import json
import textwrap
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main
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
