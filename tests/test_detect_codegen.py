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
]

words = st.sampled_from(["foo", "FOO", "bar", "Foo", "x", "xy", "yyz", "oo", "f", "10.1.2.3", "2001:db8::5",
                         "8.8.8.8", "", "true", "3", "6"])
values = st.one_of(words, st.integers(-2, 9), st.booleans(), st.none(), st.lists(words, max_size=3),
                   st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False, width=16))
events = st.dictionaries(st.sampled_from(["a", "b", "n", "ip", "flag", "other"]), values, max_size=5)


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
