"""The generated route functions must decide exactly like the closure matchers, on any event."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccenter.detect.engine import Engine
from seccenter.detect.sigma import load_rules
from seccenter.events import Event, LogSource, Origin
from seccenter.resources import sigma_rules

RULE = """title: {title}
id: {id}
logsource:
  product: test
detection:
{detection}
level: high
"""

DETECTIONS = [
    "  sel:\n    a|contains: [foo, bar]\n    b: [x, 'y*', '*z']\n  condition: sel",
    "  sel:\n    a|cased: Foo\n  filter:\n    b|re: '^[xy]+$'\n  condition: sel and not filter",
    "  sel:\n    n|gt: 5\n  other:\n    n: 3\n  condition: sel or other",
    "  sel:\n    a: null\n    b|exists: true\n  condition: sel",
    "  sel:\n    a|fieldref: b\n  condition: sel",
    "  sel:\n    ip|cidr: [10.0.0.0/8, '2001:db8::/32']\n  condition: sel",
    "  keywords:\n    - foo\n    - 'b?r'\n  condition: keywords",
    "  sel1:\n    a|endswith: [oo, ar]\n  sel2:\n    b|startswith: x\n  condition: 1 of sel* and not all of sel*",
    "  sel:\n    a|contains|all: [f, o]\n    flag: true\n  condition: sel",
    "  sel:\n    a: '*'\n  condition: not sel",
    # rules the basename prefilter indexes (Image|endswith '\\tool.exe' and exact paths), and one it must not
    "  sel:\n    img|endswith: ['\\\\foo.exe', '\\\\bar\\\\x.exe']\n    a|contains: o\n  condition: sel",
    "  sel:\n    img: 'C:\\\\w\\\\foo.exe'\n  other:\n    img|endswith: '\\\\x.exe'\n  condition: sel or other",
    "  sel:\n    img|endswith: '\\\\foo.exe'\n  filter:\n    a: x\n  condition: sel and not filter",
    "  sel:\n    img|endswith: '\\\\foo.exe'\n  condition: not sel",
]

words = st.sampled_from(["foo", "FOO", "bar", "Foo", "x", "xy", "yyz", "oo", "f", "10.1.2.3", "2001:db8::5",
                         "8.8.8.8", "", "true", "3", "6", "C:\\w\\foo.exe", "foo.exe", "C:\\W\\FOO.EXE",
                         "C:\\bar\\x.exe", "D:\\x.exe", "x\\", "\\foo.exe"])
values = st.one_of(words, st.integers(-2, 9), st.booleans(), st.none(), st.lists(words, max_size=3),
                   st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False, width=16))
events = st.dictionaries(st.sampled_from(["a", "b", "n", "ip", "flag", "other", "img"]), values, max_size=5)


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Engine]:
    folder: Path = tmp_path_factory.mktemp("rules")
    for index, detection in enumerate(DETECTIONS):
        rule_id = f"00000000-0000-4000-8000-{index:012d}"
        (folder / f"r{index}.yml").write_text(RULE.format(title=f"r{index}", id=rule_id, detection=detection))
    ruleset = load_rules([folder])
    assert not ruleset.errors and len(ruleset.rules) == len(DETECTIONS)
    return Engine(ruleset.rules), Engine(ruleset.rules, generate_code=False)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=events, raw=st.text(max_size=12))
def test_generated_code_agrees_with_closures(engines: tuple[Engine, Engine], fields: dict, raw: str) -> None:
    generated, closures = engines
    event = Event(datetime(2026, 1, 1, tzinfo=UTC), "t", LogSource(product="test"), fields, raw, Origin("t", 0))
    assert [a.rule_id for a in generated.match(event)] == [a.rule_id for a in closures.match(event)]


def test_team_rules_agree_on_the_samples() -> None:
    from seccenter.collect.interface import Position
    from seccenter.collect.registry import sniff
    from seccenter.resources import samples

    rules = load_rules([sigma_rules()]).rules
    generated, closures = Engine(rules), Engine(rules, generate_code=False)
    compared = 0
    for path in samples().glob("*.log"):
        collector = sniff(path.read_bytes()[:8192])
        with path.open("rb") as stream:
            for event in collector.parse(stream, str(path), Position()):
                assert [a.rule_id for a in generated.match(event)] == [a.rule_id for a in closures.match(event)]
                compared += 1
    assert compared > 400


IMAGES = ["C:\\w\\foo.exe", "C:\\W\\FOO.EXE", "foo.exe", "\\foo.exe", "C:\\bar\\x.exe", "D:\\x.exe", "x\\", "",
          "C:\\w\\foo.exe.bak", "C:\\foo.exe\\y", 7, None, ["C:\\w\\foo.exe"], True]


@pytest.mark.parametrize("image", IMAGES, ids=[repr(image) for image in IMAGES])
@pytest.mark.parametrize("a", ["foo", "x", None])
def test_basename_prefilter_agrees_with_closures(engines: tuple[Engine, Engine], image: object, a: str | None) -> None:
    generated, closures = engines
    fields = {name: value for name, value in (("img", image), ("a", a)) if value is not None}
    event = Event(datetime(2026, 1, 1, tzinfo=UTC), "t", LogSource(product="test"), fields, "", Origin("t", 0))
    assert [x.rule_id for x in generated.match(event)] == [x.rule_id for x in closures.match(event)]


def test_basename_prefilter_indexes_tool_rules() -> None:
    from seccenter.detect.codegen import necessary_basenames

    rules = load_rules([sigma_rules()]).rules
    indexed = [rule for rule in rules if rule.conditions and necessary_basenames(rule.conditions[0])]
    assert any(rule.title == "Database Export Tool Started on Windows" for rule in indexed)


def test_huge_values_and_fields_no_event_has(engines: tuple[Engine, Engine]) -> None:
    generated, closures = engines
    huge = "x" * (10 << 20) + "foo"
    for fields in ({"a": huge}, {"img": "C:\\w\\" + huge}, {"nothing_a_rule_reads": "foo"}, {}):
        event = Event(datetime(2026, 1, 1, tzinfo=UTC), "t", LogSource(product="test"), fields, huge[:100],
                      Origin("t", 0))
        assert [x.rule_id for x in generated.match(event)] == [x.rule_id for x in closures.match(event)]
