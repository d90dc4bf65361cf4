"""SigmaHQ's own rules and regression data through seccenter.

* How many of the corpus rules load (``rules check``): at least ``LOAD_TARGET``; the rest are listed with
  their reasons. Correlation rules count as not loaded while the engine does not run them; the figure
  without them is printed as well.
* For every rule in ``sigma/regression_data``: its sample events, read as a user would (the file sniffed
  and parsed by seccenter's collector, through ``pipeline.detect_paths``), must match as often as SigmaHQ's
  ``info.yml`` says (``match_count``; where it gives none, at least once: that is what SigmaHQ's regression
  runner checks). At least ``MATCH_TARGET`` of the rules must agree; every disagreement is listed with why.

Run with ``-s`` to see the figures and the lists when everything passes.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from seccenter.detect.routing import applies
from seccenter.detect.sigma import CompiledRule, RuleSet, load_rules
from seccenter.pipeline import SourceReport, detect_paths

LOAD_TARGET = 0.98
MATCH_TARGET = 0.95
CORRELATION = "correlation rules are not supported"


@functools.cache
def corpus_ruleset(rules_dir: Path) -> RuleSet:
    return load_rules([rules_dir])


@dataclass(frozen=True)
class RegressionTest:
    rule_id: str
    name: str
    kind: str
    path: Path
    match_count: int | None

    @property
    def expected(self) -> str:
        return str(self.match_count) if self.match_count is not None else ">= 1"

    def agrees(self, count: int) -> bool:
        return count == self.match_count if self.match_count is not None else count >= 1


def regression_tests(regression_dir: Path) -> list[RegressionTest]:
    """One per event file named in an info.yml; the files beside it with another suffix are tests too."""
    tests = []
    for info in sorted(regression_dir.rglob("info.yml")):
        data = yaml.safe_load(info.read_text(encoding="utf-8"))
        rule_id = str(data["rule_metadata"][0]["id"])
        for test in data["regression_tests_info"]:
            event_file = info.parent / Path(test["path"]).name
            tests.append(RegressionTest(rule_id, info.parent.name, test.get("type", "evtx"), event_file,
                                        test.get("match_count")))
    return tests


def json_twins(tests: list[RegressionTest]) -> list[RegressionTest]:
    """The same tests with the JSON rendering (``evtx_dump`` output) that SigmaHQ keeps beside each EVTX file."""
    return [RegressionTest(test.rule_id, test.name, "json", test.path.with_suffix(".json"), test.match_count)
            for test in tests if test.path.with_suffix(".json").is_file()]


@dataclass
class Outcome:
    test: RegressionTest
    count: int
    reason: str = ""


def run(test: RegressionTest, rule: CompiledRule | None) -> Outcome:
    if rule is None:
        return Outcome(test, 0, "rule not in the corpus or did not load")
    reports: list[SourceReport] = []
    count = 0
    for alert in detect_paths([test.path], RuleSet(rules=[rule]), reports=reports):
        assert alert.rule_id == rule.id
        count += 1
    outcome = Outcome(test, count)
    if not test.agrees(count):
        outcome.reason = _why(reports[0])
    return outcome


def _why(report: SourceReport) -> str:
    if report.error:
        return f"{report.format or 'no collector'}: {report.error}"
    if report.malformed and not report.events:
        reason, times = report.malformed_reasons.most_common(1)[0]
        return f"{report.format}: all {report.malformed} records malformed ({times}x {reason!r})"
    return f"{report.format}: {report.events} events, {report.malformed} malformed; the rule matched {report.alerts}"


def figures(outcomes: list[Outcome]) -> tuple[float, str]:
    """The share of rules whose every test agrees, and a listing of the tests that do not."""
    by_rule: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_rule.setdefault(outcome.test.rule_id, []).append(outcome)
    good = sum(all(o.test.agrees(o.count) for o in results) for results in by_rule.values())
    lines = [f"{good}/{len(by_rule)} rules agree with SigmaHQ's match counts ({good / len(by_rule):.1%})"]
    reasons: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        if not outcome.test.agrees(outcome.count):
            reasons.setdefault(outcome.reason, []).append(outcome)
    for reason, wrong in reasons.items():
        if len(wrong) > 3:  # one reason for many: say it once
            lines.append(f"  {len(wrong)} tests, {reason}: " + ", ".join(o.test.path.name for o in wrong))
        else:
            lines += [f"  {o.test.name} [{o.test.path.name}]: expected {o.test.expected}, got {o.count}: {reason}"
                      for o in wrong]
    return good / len(by_rule), "\n".join(lines)


def outcomes_for(corpus: Path, tests: list[RegressionTest]) -> list[Outcome]:
    rules = {rule.id: rule for rule in corpus_ruleset(corpus / "sigma" / "rules").rules}
    return [run(test, rules.get(test.rule_id)) for test in tests]


def test_corpus_rules_load(corpus: Path) -> None:
    ruleset = corpus_ruleset(corpus / "sigma" / "rules")
    loaded, failed = len(ruleset.rules), len(ruleset.errors)
    correlation = sum(CORRELATION in error.reason for error in ruleset.errors)
    share = loaded / (loaded + failed)
    without = loaded / (loaded + failed - correlation) if loaded + failed - correlation else 1.0
    listing = "\n".join(f"  {error}" for error in ruleset.errors)
    forms = Counter(form.form for rule in ruleset.rules for form in rule.forms)
    print(f"\n{loaded}/{loaded + failed} corpus rules load ({share:.1%}); {correlation} correlation rules among "
          f"the failures; without them {without:.1%}\nextra forms made by source pipelines: {dict(forms)}; "
          f"forms not possible: {len(ruleset.form_errors)}\n{listing}")
    assert share >= LOAD_TARGET, f"only {share:.1%} of the corpus rules load:\n{listing}"


def test_every_regression_rule_is_in_the_corpus(corpus: Path) -> None:
    tests = regression_tests(corpus / "sigma" / "regression_data" / "rules")
    assert len(tests) >= 100
    ids = {rule.id for rule in corpus_ruleset(corpus / "sigma" / "rules").rules}
    assert [test.name for test in tests if test.rule_id not in ids] == []
    assert [test.path for test in tests if not test.path.is_file()] == []


def test_regression_evtx(corpus: Path) -> None:
    """The EVTX samples, read by the EVTX collector, give SigmaHQ's match counts."""
    tests = [test for test in regression_tests(corpus / "sigma" / "regression_data" / "rules") if test.kind == "evtx"]
    share, listing = figures(outcomes_for(corpus, tests))
    print("\nEVTX: " + listing)
    assert share >= MATCH_TARGET, listing


def test_regression_json(corpus: Path) -> None:
    """The same events as JSON, sniffed and read as ``seccenter detect`` would, give the same match counts."""
    evtx = [test for test in regression_tests(corpus / "sigma" / "regression_data" / "rules") if test.kind == "evtx"]
    share, listing = figures(outcomes_for(corpus, json_twins(evtx)))
    print("\nJSON: " + listing)
    assert share >= MATCH_TARGET, listing


def json_objects(path: Path) -> list[dict]:
    """The JSON objects of a file that holds them one after another, pretty-printed or not."""
    decoder, text, index, objects = json.JSONDecoder(), path.read_text(encoding="utf-8"), 0, []
    while index < len(text):
        value, index = decoder.raw_decode(text, index)
        objects.append(value)
        index = len(text) - len(text[index:].lstrip())
    return objects


def test_regression_json_samples_are_concatenated_pretty_objects(corpus: Path) -> None:
    """What the JSON samples look like, so the collector proposal is checked against the data: every file is
    one or more pretty-printed evtx_dump objects (``{"Event": {"System": …, "EventData": …}}``) one after
    another, not JSON lines and not an array."""
    for path in sorted((corpus / "sigma" / "regression_data" / "rules").rglob("*.json")):
        assert path.read_text(encoding="utf-8").startswith("{\n"), path
        objects = json_objects(path)
        assert objects, path
        for value in objects:
            assert set(value) == {"Event"} and {"System", "EventData"} <= set(value["Event"]), path


def test_regression_json_lines(corpus: Path, tmp_path: Path) -> None:
    """The JSON samples written one object per line (``evtx_dump -o jsonl``) give the same match counts."""
    evtx = [test for test in regression_tests(corpus / "sigma" / "regression_data" / "rules") if test.kind == "evtx"]
    tests = []
    for test in json_twins(evtx):
        lines = tmp_path / f"{test.name}.jsonl"
        lines.write_text("".join(json.dumps(value) + "\n" for value in json_objects(test.path)), encoding="utf-8")
        tests.append(RegressionTest(test.rule_id, test.name, "jsonl", lines, test.match_count))
    share, listing = figures(outcomes_for(corpus, tests))
    print("\nJSON lines: " + listing)
    assert share >= MATCH_TARGET, listing


def test_regression_rules_route_to_their_events(corpus: Path) -> None:
    """Each regression rule's logsource applies to the logsource the EVTX collector gives its events: the
    logsource routing, not only the detection, agrees with SigmaHQ's."""
    from seccenter.collect.evtx import EvtxCollector
    from seccenter.collect.interface import Position
    from seccenter.events import Event

    rules = {rule.id: rule for rule in corpus_ruleset(corpus / "sigma" / "rules").rules}
    unrouted = []
    for test in regression_tests(corpus / "sigma" / "regression_data" / "rules"):
        if test.kind != "evtx" or not test.match_count:
            continue
        with test.path.open("rb") as stream:
            logsources = {record.logsource for record in EvtxCollector().parse(stream, str(test.path), Position())
                          if isinstance(record, Event)}
        if not any(applies(rules[test.rule_id].logsource, logsource) for logsource in logsources):
            unrouted.append((test.name, rules[test.rule_id].logsource, logsources))
    assert unrouted == []
