"""Sigma correlation: every type at its window and threshold edges, chains, aliases, and state across runs."""

from __future__ import annotations

import itertools
import json
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection

from seccenter.detect.correlation import (
    CompiledCorrelation,
    CorrelationAlert,
    CorrelationEngine,
    load_correlations,
    parse_correlation,
)
from seccenter.events import Event, LogSource, Origin
from seccenter.store.correlation_state import load_state, save_state
from seccenter.store.db import open_db

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SSHD = LogSource(product="linux", service="sshd")
BASE_NAMES = ("failed_login", "successful_login", "recon_a", "recon_b", "recon_c", "web_access", "proc_start",
              "internal_error", "new_network_connection", "failed_login_windows")
_offsets = itertools.count()


def rule_uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"seccenter-test/{name}"))


def base_rules_yaml(names: tuple[str, ...] = BASE_NAMES) -> str:
    return "\n---\n".join(textwrap.dedent(f"""\
        title: base rule {name}
        id: {rule_uuid(name)}
        name: {name}
        logsource:
            product: linux
        detection:
            selection:
                marker: {name}
            condition: selection
        """) for name in names)


def load(text: str, base: str | None = None) -> list[CompiledCorrelation]:
    """Correlation YAML (and real base rules) through pySigma; fails the test on any fatal error."""
    documents = [d for d in yaml.safe_load_all(textwrap.dedent(text) + "\n---\n" + (base or base_rules_yaml()))
                 if d is not None]
    rules, errors = load_correlations(documents)
    fatal = [str(error) for error in errors if error.fatal]
    assert not fatal, fatal
    return rules


def errors_of(text: str, base: str | None = None) -> list[str]:
    documents = [d for d in yaml.safe_load_all(textwrap.dedent(text) + "\n---\n" + (base or base_rules_yaml()))
                 if d is not None]
    return [error.reason for error in load_correlations(documents)[1] if error.fatal]


def match(seconds: float, rule: str, **fields: Any) -> tuple[str, Event]:
    offset = next(_offsets)
    return rule, Event(T0 + timedelta(seconds=seconds), "test", SSHD, fields, "", Origin("auth.log", offset, offset))


def run(rules: list[CompiledCorrelation], matches: list[tuple[str, Event]], **kwargs: Any) -> list[CorrelationAlert]:
    return CorrelationEngine(rules, **kwargs).process(matches)


def correlation(kind: str, rules: str = "[failed_login]", condition: str = "gte: 5", timespan: str = "5m",
                group_by: str = "[src_ip]", extra: str = "") -> str:
    return f"""\
title: {kind} test
id: {rule_uuid('correlation-' + kind)}
level: high
tags: [attack.t1110]
correlation:
    type: {kind}
    rules: {rules}
    group-by: {group_by}
    timespan: {timespan}
    condition: {{{condition}}}
{textwrap.indent(extra, '    ')}"""


# ------------------------------------------------------------------------------------------------ loading


def _stubs_for(documents: list[dict]) -> str:
    """Base rules for the references a spec example makes to rules outside its file."""
    defined = {str(d.get(key)) for d in documents for key in ("id", "name") if d.get(key)}
    wanted = []
    for document in documents:
        correlation_part = document.get("correlation") or {}
        references = correlation_part.get("rules") or []
        for reference in [references] if isinstance(references, str) else references:
            if str(reference) not in defined and reference not in wanted:
                wanted.append(reference)
    stubs = []
    for reference in wanted:
        try:
            identity = f"id: {uuid.UUID(str(reference))}"
        except ValueError:
            identity = f"id: {rule_uuid(reference)}\nname: {reference}"
        stubs.append(f"title: stub {reference}\n{identity}\nlogsource:\n    product: windows\n"
                     f"detection:\n    selection:\n        EventID: 1\n    condition: selection\n")
    return "\n---\n".join(stubs)


def test_every_spec_example_loads(corpus: Path) -> None:
    directory = corpus / "sigma" / "correlation"
    files = sorted((directory / "spec-examples").glob("*.yml")) + sorted(
        (directory / "sigma-specification" / "tests").rglob("*.yml"))
    assert len(files) >= 9
    for path in files:
        documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
        stubs = _stubs_for(documents)
        stub_documents = [d for d in yaml.safe_load_all(stubs) if d is not None] if stubs else []
        collection = SigmaCollection.from_dicts(documents + stub_documents, collect_errors=True,
                                                resolve_references=False)
        rules, errors = load_correlations(collection)
        fatal = [str(error) for error in errors if error.fatal]
        assert not fatal, (path.name, fatal)
        # the only leniency: the specification's own examples lack titles or use "—" as id
        assert all(error.keys in (("title",), ("id",)) for error in errors), (path.name, errors)
        expected = sum(1 for d in documents if "correlation" in d)
        assert len(rules) == expected, path.name
        for rule in rules:
            CorrelationEngine([rule]).process([])  # compiles into an engine
        if stubs:  # without the rules they reference, they do not load, and say why
            rules, errors = load_correlations(SigmaCollection.from_dicts(documents, collect_errors=True,
                                                                         resolve_references=False))
            assert any("not loaded" in error.reason for error in errors), path.name


def test_spec_example_07_reads_as_rarity(corpus: Path) -> None:
    path = corpus / "sigma" / "correlation" / "spec-examples" / "spec_example_07.yml"
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    rules, errors = load_correlations(documents, base_rules=["process_creation"])
    assert not errors
    (rule,) = rules
    assert rule.type == "value_percentile" and rule.percentile is None
    matches = [match(i, "process_creation", ComputerName="ws1", image="explorer.exe") for i in range(99)]
    matches.append(match(100, "process_creation", ComputerName="ws1", image="mimikatz.exe"))
    matches.append(match(101, "process_creation", ComputerName="ws1", image="explorer.exe"))
    matches.append(match(102, "process_creation", ComputerName="ws1", image="mimikatz.exe"))  # 2 of 102 > 1%
    alerts = run(rules, matches)
    assert len(alerts) == 1
    assert alerts[0].value == pytest.approx(1.0) and alerts[0].contributors[-1].offset == matches[99][1].origin.offset


@pytest.mark.parametrize(("spec", "seconds"), [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400),
                                               ("1w", 604800), ("1M", 2629746), ("1y", 31556952)])
def test_timespan_units_as_pysigma_parses_them(spec: str, seconds: int) -> None:
    (rule,) = load(correlation("event_count", timespan=spec))
    assert rule.timespan == seconds and rule.timespan_spec == spec


@pytest.mark.parametrize(("text", "reason"), [
    (correlation("event_count", rules="[no_such_rule]"), "not loaded"),
    (correlation("event_count", rules="[failed_login, failed_login]"), "twice"),
    (correlation("event_count", rules=f"[failed_login, {rule_uuid('failed_login')}]"), "twice"),
    (correlation("event_count").replace("    timespan: 5m\n", ""), "timespan"),
    (correlation("event_count", timespan="5 minutes"), "invalid"),
    (correlation("no_such_type"), "no valid Sigma correlation type"),
    (correlation("value_sum", condition="gt: 5"), "field"),
    (correlation("value_count", condition="gt: 5"), "field"),
    (correlation("value_percentile", condition="field: bytes, percentile: 101, gt: 5"), "percentile"),
    (correlation("event_count", condition="gt: 10, lt: 5"), "never be true"),
    (correlation("event_count", condition="gte: many"), "condition"),
    (correlation("event_count", group_by="['', src_ip]"), "empty"),
    (correlation("event_count", group_by="[src_ip, src_ip]"), "twice"),
    (correlation("temporal", rules="[recon_a, recon_b]", condition="gte: 2",
                 extra="aliases:\n    ip:\n        recon_z: src"), "not in rules"),
    ("title: x\ncorrelation:\n    type: temporal\n    group-by: [src_ip]\n    timespan: 5m\n"
     "    condition: recon_a and not recon_b\n", "not supported"),
    ("title: x\ncorrelation: 5\n", "must be a dict"),
    ("title: x\ncorrelation:\n    type: 5\n    rules: [a]\n    timespan: 5m\n", "not a valid correlation"),
])
def test_invalid_correlations_say_why(text: str, reason: str) -> None:
    errors = errors_of(text)
    assert errors and any(reason in error for error in errors), errors


def test_errors_point_at_the_yaml_key() -> None:
    documents = [d for d in yaml.safe_load_all(correlation("event_count", rules="[nope]") + "\n---\n"
                                               + correlation("value_sum", condition="gt: 1").replace(
                                                   "correlation-value_sum", "x")) if d]
    _, errors = load_correlations(documents, base_rules=["failed_login"])
    assert sorted((error.keys, error.origin is not None) for error in errors) == [
        (("correlation", "condition"), True), (("correlation", "rules"), True)]


def test_cycles_and_chains_to_broken_rules_are_errors() -> None:
    text = """\
        title: a
        name: corr_a
        correlation: {type: event_count, rules: [corr_b], group-by: [x], timespan: 5m, condition: {gte: 2}}
        ---
        title: b
        name: corr_b
        correlation: {type: event_count, rules: [corr_a], group-by: [x], timespan: 5m, condition: {gte: 2}}
        ---
        title: c
        name: corr_c
        correlation: {type: event_count, rules: [corr_d], group-by: [x], timespan: 5m, condition: {gte: 2}}
        ---
        title: d
        name: corr_d
        correlation: {type: event_count, rules: [nope], group-by: [x], timespan: 5m, condition: {gte: 2}}
        ---
        title: e
        name: corr_e
        correlation: {type: event_count, rules: [corr_a], group-by: [x], timespan: 5m, condition: {gte: 2}}
        ---
        title: f
        name: corr_f
        correlation: {type: event_count, rules: [failed_login], group-by: [x], timespan: 5m, condition: {gte: 2}}
        """
    documents = [d for d in yaml.safe_load_all(textwrap.dedent(text)) if d]
    rules, errors = load_correlations(documents, base_rules=["failed_login"])
    assert [rule.title for rule in rules] == ["f"]
    reasons = {error.rule: error.reason for error in errors}
    assert reasons["a"] == reasons["b"] == "correlations reference each other in a cycle (a -> b -> a)"
    assert reasons["c"] == "references correlation 'corr_d', which did not load"
    assert reasons["d"] == "references rule 'nope', which is not loaded (no rule has that id or name)"
    assert reasons["e"] == "references correlation 'corr_a', which did not load"


def test_base_rules_by_object_pair_or_string() -> None:
    text = correlation("event_count", rules="[failed_login]")
    documents = [yaml.safe_load(text)]

    class Compiled:  # what seccenter.detect.sigma.CompiledRule gives (id, and name once it carries it)
        id = rule_uuid("failed_login")
        name = "failed_login"

    for base in ([Compiled()], [(rule_uuid("failed_login"), "failed_login")], ["failed_login"]):
        rules, errors = load_correlations(documents, base_rules=base)
        assert len(rules) == 1 and not errors


def test_range_condition_which_pysigma_alone_rejects() -> None:
    rule, errors = parse_correlation(yaml.safe_load(correlation("value_sum", condition="field: bytes, gt: 100, "
                                                                                      "lte: 200")))
    assert rule is not None and not errors
    (compiled,) = load(correlation("value_sum", condition="field: bytes, gt: 100, lte: 200"))
    assert [(t.op, t.value) for t in compiled.thresholds] == [("gt", 100), ("lte", 200)]
    assert len(run([compiled], [match(0, "failed_login", src_ip="a", bytes=150)])) == 1
    assert run([compiled], [match(0, "failed_login", src_ip="a", bytes=250)]) == []
    assert run([compiled], [match(0, "failed_login", src_ip="a", bytes=100)]) == []
    (quoted,) = load(correlation("value_sum", condition="field: bytes, gt: '100', lte: '2e2'"))
    assert quoted.thresholds == compiled.thresholds  # pySigma takes numbers written as strings, so do we


# ------------------------------------------------------------------------------------------------ event_count


def brute_force(times: list[float], ip: str = "203.0.113.9") -> list[tuple[str, Event]]:
    return [match(t, "failed_login", src_ip=ip, user="root") for t in times]


def test_event_count_threshold_and_window() -> None:
    rules = load(correlation("event_count", condition="gte: 5"))
    fired = run(rules, brute_force([0, 60, 120, 180, 299]))  # 5 within 4m59s
    assert len(fired) == 1
    alert = fired[0]
    assert (alert.value, alert.count, alert.level, alert.tags) == (5, 5, "high", ("attack.t1110",))
    assert alert.group == (("src_ip", "203.0.113.9"),)
    assert (alert.window_start, alert.window_end) == (T0, T0 + timedelta(seconds=299))
    assert [c.rule for c in alert.contributors] == ["failed_login"] * 5
    assert run(rules, brute_force([0, 60, 120, 180, 301])) == []  # spread over 5m01s
    assert run(rules, brute_force([0, 60, 120, 180])) == []  # 4 events
    assert len(run(rules, brute_force([0, 60, 120, 180, 300]))) == 1  # exactly 5m: both ends inclusive


def test_event_count_gt_and_eq_neq_lt() -> None:
    times = [0, 1, 2, 3, 4, 5]
    assert len(run(load(correlation("event_count", condition="gt: 5")), brute_force(times))) == 1
    assert run(load(correlation("event_count", condition="gt: 5")), brute_force(times[:5])) == []
    assert [a.value for a in run(load(correlation("event_count", condition="eq: 3")), brute_force(times))] == [3]
    # lt/lte/neq hold from the first match on: the first match fires, the rest of the burst is the same episode
    lt_alerts = run(load(correlation("event_count", condition="lt: 3")), brute_force(times))
    assert [(a.value, a.window_start) for a in lt_alerts] == [(1, T0)]
    assert len(run(load(correlation("event_count", condition="neq: 0")), brute_force([0, 301]))) == 2


def test_one_alert_per_episode_then_starts_over_after_a_quiet_timespan() -> None:
    rules = load(correlation("event_count", condition="gte: 5"))
    # an hour of guessing, one try a minute apart (inside the 5m timespan): one alert, where it was first met
    alerts = run(rules, brute_force([60.0 * i for i in range(60)]))
    assert [(a.window_start, a.window_end) for a in alerts] == [(T0, T0 + timedelta(minutes=4))]
    # a gap of more than one timespan ends the episode: the next burst counts from nothing and alerts again
    second = [3600.0 + 301 + i for i in range(4)], [3600.0 + 301 + 4, 3600.0 + 301 + 5]
    alerts = run(rules, brute_force([60.0 * i for i in range(60)] + second[0] + second[1]))
    assert [a.window_start for a in alerts] == [T0, T0 + timedelta(seconds=3600 + 301)]
    assert alerts[1].count == 5


def test_episode_survives_a_state_round_trip() -> None:
    (rule,) = load(correlation("event_count", condition="gte: 2"))
    engine = CorrelationEngine([rule])
    assert len(engine.process(brute_force([0, 1]))) == 1
    resumed = CorrelationEngine([rule], state=json.loads(json.dumps(engine.state())))
    assert resumed.process(brute_force([60, 61])) == []  # the same episode: no second alert
    assert resumed.skipped[rule.id]["after_alert"] == 2
    assert len(resumed.process(brute_force([1000, 1001]))) == 1


def test_group_by_keeps_sources_apart() -> None:
    rules = load(correlation("event_count", condition="gte: 5"))
    matches = brute_force([0, 1, 2], "198.51.100.1") + brute_force([3, 4], "198.51.100.2")
    assert run(rules, matches) == []
    matches += brute_force([5, 6], "198.51.100.1")
    (alert,) = run(rules, matches)
    assert alert.group_values == {"src_ip": "198.51.100.1"}
    two_fields = load(correlation("event_count", condition="gte: 2", group_by="[src_ip, user]"))
    assert run(two_fields, [match(0, "failed_login", src_ip="a", user="x"),
                            match(1, "failed_login", src_ip="a", user="y")]) == []


def test_group_by_values_of_any_type() -> None:
    rules = load(correlation("event_count", condition="gte: 2", group_by="[port]"))
    # missing field and None group together; 22 and "22" are one value; text compares case-insensitively
    assert len(run(rules, [match(0, "failed_login"), match(1, "failed_login", port=None)])) == 1
    assert len(run(rules, [match(0, "failed_login", port=22), match(1, "failed_login", port="22")])) == 1
    assert len(run(rules, [match(0, "failed_login", port="SSH"), match(1, "failed_login", port="ssh")])) == 1
    assert len(run(rules, [match(0, "failed_login", port=[1, 2]), match(1, "failed_login", port=[1, 2])])) == 1
    assert run(rules, [match(0, "failed_login", port=[1, 2]), match(1, "failed_login", port=[2, 1])]) == []
    (alert,) = run(rules, [match(0, "failed_login", port={"a": 1}), match(1, "failed_login", port={"a": 1}),
                           match(2, "failed_login", port=True), match(3, "failed_login", port=1.5)])
    assert alert.group_values == {"port": '{"a": 1}'}
    (alert,) = run(rules, [match(0, "failed_login"), match(1, "failed_login")])
    assert alert.group_values == {"port": None}


def test_no_group_by_is_one_group() -> None:
    rules = load(correlation("event_count", condition="gte: 3").replace("    group-by: [src_ip]\n", ""))
    (alert,) = run(rules, [match(i, "failed_login", src_ip=str(i)) for i in range(3)])
    assert alert.group == ()


def test_an_event_matching_two_rules_counts_once() -> None:
    rules = load(correlation("event_count", rules="[failed_login, failed_login_windows]", condition="gte: 2"))
    rule_name, event = match(0, "failed_login", src_ip="a")
    assert run(rules, [(rule_name, event), ("failed_login_windows", event)]) == []
    assert len(run(rules, [(rule_name, event), match(1, "failed_login_windows", src_ip="a")])) == 1


def test_matches_by_id_or_name() -> None:
    rules = load(correlation("event_count", condition="gte: 2"))
    pairs = [match(0, rule_uuid("failed_login").upper(), src_ip="a"), match(1, "failed_login", src_ip="a")]
    assert len(run(rules, pairs)) == 1
    assert run(rules, [match(0, "unrelated", src_ip="a"), match(1, "unrelated", src_ip="a")]) == []


def test_contributors_are_capped() -> None:
    rules = load(correlation("event_count", condition="gte: 150"))
    (alert,) = run(rules, brute_force([i / 10 for i in range(150)]))
    assert alert.count == 150 and len(alert.contributors) == 100
    assert alert.contributors[0].origin.path == "auth.log"
    json.dumps(alert.to_dict())


# ------------------------------------------------------------------------------------------------ value_count


def test_value_count_distinct_values_in_window() -> None:
    rules = load(correlation("value_count", condition="field: user, gte: 3"))

    def spray(times: list[float], users: list[Any]) -> list[tuple[str, Event]]:
        return [match(t, "failed_login", src_ip="a", user=u) for t, u in zip(times, users, strict=True)]

    (alert,) = run(rules, spray([0, 100, 299], ["root", "admin", "oracle"]))
    assert alert.value == 3
    assert run(rules, spray([0, 100, 301], ["root", "admin", "oracle"])) == []  # 5m01s
    assert run(rules, spray([0, 1, 2, 3], ["root", "ROOT", "admin", "Admin"])) == []  # 2 distinct
    assert run(rules, spray([0, 1, 2, 3], ["root", None, "admin", None])) == []  # missing values don't count
    assert len(run(rules, spray([0, 1, 2], ["root", 1, ["a"]]))) == 1


def test_value_count_over_several_fields() -> None:
    rules = load(correlation("value_count", condition="field: [user, host], gte: 2"))
    assert run(rules, [match(0, "failed_login", src_ip="a", user="u", host="h"),
                       match(1, "failed_login", src_ip="a", user="U", host="H")]) == []
    assert len(run(rules, [match(0, "failed_login", src_ip="a", user="u", host="h"),
                           match(1, "failed_login", src_ip="a", user="u", host="h2")])) == 1


# ------------------------------------------------------------------------------------------------ temporal


def test_temporal_all_rules_within_window_in_any_order() -> None:
    rules = load(correlation("temporal", rules="[recon_a, recon_b, recon_c]", condition="gte: 3",
                             group_by="[host, user]"))

    def recon(order: list[str], times: list[float], user: str = "eve") -> list[tuple[str, Event]]:
        return [match(t, r, host="ws1", user=user) for r, t in zip(order, times, strict=True)]

    (alert,) = run(rules, recon(["recon_c", "recon_a", "recon_b"], [0, 100, 299]))
    assert alert.value == 3 and alert.group_values == {"host": "ws1", "user": "eve"}
    assert run(rules, recon(["recon_c", "recon_a", "recon_b"], [0, 100, 301])) == []
    assert run(rules, recon(["recon_a", "recon_a", "recon_b"], [0, 1, 2])) == []  # two of three
    assert run(rules, recon(["recon_a", "recon_b"], [0, 1]) + recon(["recon_c"], [2], user="bob")) == []


def test_temporal_default_condition_is_all_rules() -> None:
    text = correlation("temporal", rules="[recon_a, recon_b]").replace("    condition: {gte: 5}\n", "")
    (rule,) = load(text)
    assert [(t.op, t.value) for t in rule.thresholds] == [("gte", 2)]
    assert run([rule], [match(0, "recon_a", src_ip="a"), match(1, "recon_a", src_ip="a")]) == []
    assert len(run([rule], [match(0, "recon_a", src_ip="a"), match(1, "recon_b", src_ip="a")])) == 1


def test_temporal_ordered_order_matters() -> None:
    text = correlation("temporal_ordered", rules="[failed_login, successful_login]", group_by="[user]")
    (rule,) = load(text.replace("    condition: {gte: 5}\n", ""))
    assert len(run([rule], [match(0, "failed_login", user="bob"), match(299, "successful_login", user="bob")])) == 1
    assert run([rule], [match(0, "successful_login", user="bob"), match(10, "failed_login", user="bob")]) == []
    assert run([rule], [match(0, "failed_login", user="bob"), match(301, "successful_login", user="bob")]) == []
    assert run([rule], [match(0, "failed_login", user="bob"), match(1, "successful_login", user="alice")]) == []
    # equal times: arrival order decides
    assert len(run([rule], [match(5, "failed_login", user="bob"), match(5, "successful_login", user="bob")])) == 1
    assert run([rule], [match(5, "successful_login", user="bob"), match(5, "failed_login", user="bob")]) == []
    # a later success after an earlier one still completes the sequence
    (alert,) = run([rule], [match(0, "successful_login", user="bob"), match(1, "failed_login", user="bob"),
                            match(2, "successful_login", user="bob")])
    assert alert.value == 2


def test_temporal_ordered_partial_count() -> None:
    (rule,) = load(correlation("temporal_ordered", rules="[recon_a, recon_b, recon_c]", condition="gte: 2"))
    # c before a: only "a then b" counts, and that is two in order
    assert len(run([rule], [match(0, "recon_c", src_ip="x"), match(1, "recon_a", src_ip="x"),
                             match(2, "recon_b", src_ip="x")])) == 1
    assert run([rule], [match(0, "recon_c", src_ip="x"), match(1, "recon_b", src_ip="x"),
                        match(2, "recon_a", src_ip="x")]) == []


# ------------------------------------------------------------------------------------------------ value_sum/avg


def transfers(times: list[float], sizes: list[Any], ip: str = "10.0.0.5") -> list[tuple[str, Event]]:
    return [match(t, "web_access", src_ip=ip, bytes=s) for t, s in zip(times, sizes, strict=True)]


def test_value_sum_threshold_and_window() -> None:
    rules = load(correlation("value_sum", rules="[web_access]", condition="field: bytes, gt: 1000"))
    (alert,) = run(rules, transfers([0, 100, 299], [400, 400, 201]))
    assert alert.value == 1001 and alert.type == "value_sum"
    assert run(rules, transfers([0, 100, 299], [400, 400, 200])) == []  # at the threshold, gt: no
    assert run(rules, transfers([0, 100, 301], [400, 400, 201])) == []  # first one fell out


def test_value_sum_skips_and_counts_values_that_are_not_numbers() -> None:
    rules = load(correlation("value_sum", rules="[web_access]", condition="field: bytes, gt: 1000"))
    engine = CorrelationEngine(rules)
    bad = [match(0, "web_access", src_ip="a")] + transfers([1, 2, 3, 4, 5, 6], ["abc", [1], True, {"x": 1},
                                                                                  "nan", float("inf")], "a")
    assert engine.process(bad) == []
    assert engine.skipped == {rules[0].id: {"missing_value": 1, "non_numeric": 6}}
    (alert,) = engine.process(transfers([7, 8], [" 600 ", 500.5], "a"))  # numeric strings count
    assert alert.value == pytest.approx(1100.5) and alert.count == 2


def test_value_avg_threshold_and_window() -> None:
    rules = load(correlation("value_avg", rules="[web_access]", condition="field: bytes, gte: 500"))
    (alert,) = run(rules, transfers([0, 299], [400, 600]))
    assert alert.value == 500
    assert run(rules, transfers([0, 299], [400, 599])) == []
    # 600 alone would be above, but the window's average with 300 is not
    assert run(rules, transfers([0, 10], [300, 600])) == []
    assert len(run(rules, transfers([0, 301], [300, 600]))) == 1  # 300 fell out before 600 arrived


def test_value_percentile() -> None:
    rules = load(correlation("value_percentile", rules="[web_access]",
                             condition="field: bytes, percentile: 90, gt: 1000"))
    (rule,) = rules
    assert rule.percentile == 90
    times = [float(i) for i in range(10)]
    # 10 values: p90 lies a tenth of the way from the 9th to the 10th (linear interpolation)
    (alert,) = run(rules, transfers(times, [100] * 8 + [900, 5000]))
    assert alert.value == pytest.approx(1310) and alert.count == 10
    assert run(rules, transfers(times, [100] * 8 + [900, 1900])) == []  # exactly 1000: gt says no
    assert run(rules, transfers(times, [100] * 8 + [900, 1800])) == []
    # a single value above the threshold is its own percentile
    assert [a.value for a in run(rules, transfers([0, 400], [1001, 1001]))] == [1001, 1001]


def test_value_percentile_window() -> None:
    rules = load(correlation("value_percentile", rules="[web_access]",
                             condition="field: bytes, percentile: 25, gt: 1000"))
    # while the small first value is in the window it holds p25 down; once it falls out, p25 is 1500
    assert run(rules, transfers([0, 200, 299], [100, 1500, 1500])) == []
    (alert,) = run(rules, transfers([0, 200, 301], [100, 1500, 1500]))
    assert alert.value == 1500 and alert.count == 2


def test_value_median() -> None:
    rules = load(correlation("value_median", rules="[web_access]", condition="field: bytes, gte: 100"))
    assert run(rules, transfers([0, 1, 2], [10, 20, 1000])) == []  # medians 10, 15, 20
    (alert,) = run(rules, transfers([0, 1, 2, 3], [10, 20, 200, 1000]))  # medians 10, 15, 20, 110
    assert alert.value == 110 and alert.count == 4


# ------------------------------------------------------------------------------------------------ aliases, chains


def test_aliases_map_group_by_per_rule(corpus: Path) -> None:
    path = corpus / "sigma" / "correlation" / "spec-examples" / "spec_example_08.yml"
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    documents += [d for d in yaml.safe_load_all(base_rules_yaml()) if d]
    rules, errors = load_correlations(documents)
    assert rules and not [e for e in errors if e.fatal]
    error = match(0, "internal_error", **{"destination.ip": "10.0.0.7", "source.ip": "198.51.100.3"})
    connection = match(9, "new_network_connection", **{"source.ip": "10.0.0.7", "destination.ip": "198.51.100.3"})
    (alert,) = run(rules, [error, connection])
    assert alert.group_values == {"internal_ip": "10.0.0.7", "remote_ip": "198.51.100.3"}
    swapped = match(9, "new_network_connection", **{"source.ip": "198.51.100.3", "destination.ip": "10.0.0.7"})
    assert run(rules, [error, swapped]) == []
    late = match(11, "new_network_connection", **{"source.ip": "10.0.0.7", "destination.ip": "198.51.100.3"})
    assert run(rules, [error, late]) == []


def test_aliases_apply_to_the_value_field() -> None:
    rules = load(correlation("value_sum", rules="[web_access, proc_start]", condition="field: amount, gte: 10",
                             extra="aliases:\n    amount:\n        web_access: bytes\n        proc_start: size"))
    assert len(run(rules, [match(0, "web_access", src_ip="a", bytes=5), match(1, "proc_start", src_ip="a",
                                                                               size=5)])) == 1


def test_chained_correlation_spec_example(corpus: Path) -> None:
    path = corpus / "sigma" / "correlation" / "spec-examples" / "spec_example_09.yml"
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    rules, errors = load_correlations(SigmaCollection.from_dicts(documents, collect_errors=True,
                                                                 resolve_references=False))
    assert len(rules) == 2 and not errors
    engine = CorrelationEngine(rules)
    failures = [match(i * 10, "failed_login", User="bob", EventID=4625) for i in range(10)]
    success = match(120, "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8", User="Bob", EventID=4624)
    (alert,) = engine.process([*failures, success])
    assert alert.rule_id == "b180ead8-d58f-40b2-ae54-c8940995b9b6" and alert.level == "high"
    assert alert.group_values == {"User": "Bob"} and alert.value == 2
    # the contributors reach through the chain down to the base events
    assert len(alert.contributors) == 11
    assert {c.rule for c in alert.contributors} == {"failed_login", "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8"}
    # generate defaults to false: neither the base rules nor the inner correlation alert on their own
    assert not engine.emits_base_alerts("failed_login")
    assert not engine.emits_base_alerts("53ba33fd-3a50-4468-a5ef-c583635cfa92")
    assert not engine.emits_base_alerts("successful_login")
    assert not engine.emits_base_alerts("multiple_failed_login")
    assert engine.emits_base_alerts("some_other_rule")
    assert engine.wants("successful_login") and not engine.wants("some_other_rule")
    # nine failures are not "multiple" enough
    assert CorrelationEngine(rules).process([*failures[:9], success]) == []


def test_generate_true_keeps_base_and_inner_alerts() -> None:
    inner = correlation("event_count", condition="gte: 2", group_by="[user]",
                        extra="generate: true").replace("title: event_count test", "title: inner\nname: inner")
    outer = ("title: outer\ncorrelation:\n    type: temporal_ordered\n    rules: [inner, successful_login]\n"
             "    group-by: [user]\n    timespan: 5m\n    generate: true\n")
    rules = load(inner + "\n---\n" + outer)
    engine = CorrelationEngine(rules)
    assert engine.emits_base_alerts("failed_login") and engine.emits_base_alerts("inner")
    alerts = engine.process([match(0, "failed_login", user="u"), match(1, "failed_login", user="u"),
                             match(2, "successful_login", user="u")])
    assert [a.rule_title for a in alerts] == ["inner", "outer"]


# ------------------------------------------------------------------------------------------------ ordering


def test_batch_order_does_not_matter() -> None:
    rules = load(correlation("temporal_ordered", rules="[failed_login, successful_login]", condition="gte: 2"))
    ordered = [match(0, "failed_login", src_ip="a"), match(1, "successful_login", src_ip="a")]
    assert len(run(rules, ordered)) == 1
    assert len(run(rules, list(reversed(ordered)))) == 1


def test_late_matches_across_batches() -> None:
    (rule,) = load(correlation("event_count", condition="gte: 3"))
    engine = CorrelationEngine([rule])
    assert engine.process(brute_force([600, 601])) == []
    assert engine.process(brute_force([100])) == []  # 500 s behind the group's newest: dropped
    assert engine.skipped == {rule.id: {"late": 1}}
    (alert,) = engine.process(brute_force([590]))  # behind, but inside the window: counts
    assert alert.window_start == T0 + timedelta(seconds=590) and alert.window_end == T0 + timedelta(seconds=601)


def test_matches_without_a_usable_time_are_counted() -> None:
    (rule,) = load(correlation("event_count", condition="gte: 1"))
    rule_name, event = match(0, "failed_login", src_ip="a")
    event.time = None  # type: ignore[assignment]
    engine = CorrelationEngine([rule])
    assert engine.process([(rule_name, event)]) == []
    assert engine.skipped == {rule.id: {"bad_time": 1}}
    naive = Event(datetime(2026, 1, 1), "t", SSHD, {"src_ip": "a"}, "", Origin("x", 0))
    assert len(engine.process([("failed_login", naive)])) == 1


# ------------------------------------------------------------------------------------------------ state


STREAM_RULES = (
    correlation("event_count", condition="gte: 5")
    + "\n---\n" + correlation("value_count", condition="field: user, gte: 3")
    + "\n---\n" + correlation("temporal_ordered", rules="[failed_login, successful_login]", group_by="[src_ip]")
    .replace("    condition: {gte: 5}\n", "")
    + "\n---\n" + correlation("value_sum", rules="[web_access]", condition="field: bytes, gt: 1000")
    + "\n---\n" + correlation("value_percentile", rules="[web_access]", timespan="1h",
                              condition="field: path, lte: 10").replace("correlation-value_percentile", "rarity")
)


def attack_stream() -> list[tuple[str, Event]]:
    """An SSH brute force at 40 s intervals, a password spray, a success, web transfers; time-ordered."""
    stream = []
    for i in range(12):
        stream.append(match(i * 40, "failed_login", src_ip="203.0.113.9", user="root"))
        stream.append(match(i * 40 + 5, "failed_login", src_ip="198.51.100.7", user=f"user{i}"))
        stream.append(match(i * 40 + 7, "web_access", src_ip="10.0.0.5", bytes=150, path="/index.html"))
    stream.append(match(490, "successful_login", src_ip="203.0.113.9", user="root"))
    stream.append(match(495, "web_access", src_ip="10.0.0.5", bytes=1, path="/admin/export"))
    return sorted(stream, key=lambda item: item[1].time)


def test_state_round_trip_through_sqlite(tmp_path: Path) -> None:
    rules = load(STREAM_RULES)
    stream = attack_stream()
    whole = [a.to_dict() for a in CorrelationEngine(rules).process(stream)]
    assert {a["rule_title"] for a in whole} == {"event_count test", "value_count test", "temporal_ordered test",
                                                "value_sum test", "value_percentile test"}
    for split in (len(stream) // 2, 1, len(stream) - 1, 7):
        first = CorrelationEngine(rules)
        alerts = [a.to_dict() for a in first.process(stream[:split])]
        path = tmp_path / f"run{split}.db"
        db = open_db(path)
        save_state(db, first.state())
        db.close()
        db = open_db(path)
        state = load_state(db)
        second = CorrelationEngine(rules, state=state)
        assert second.restore_errors == []
        alerts += [a.to_dict() for a in second.process(stream[split:])]
        assert alerts == whole, split
        db.close()


def test_brute_force_spread_over_two_scheduled_runs(tmp_path: Path) -> None:
    rules = load(correlation("event_count", condition="gte: 5"))
    db = open_db(tmp_path / "seccenter.db")
    first = CorrelationEngine(rules, state=load_state(db))
    assert first.process(brute_force([0, 30, 60])) == []
    save_state(db, first.state(changed_only=True))
    second = CorrelationEngine(rules, state=load_state(db))
    (alert,) = second.process(brute_force([90, 120]))
    assert alert.count == 5 and alert.window_start == T0
    save_state(db, second.state(changed_only=True))
    # the window emptied when it fired; the group's newest time stays (it decides what is late)
    (group,) = load_state(db)["rules"][rules[0].id]["groups"]
    assert group["entries"] == [] and group["latest"] == (T0 + timedelta(seconds=120)).timestamp()


def test_saving_only_changed_rules_keeps_the_others(tmp_path: Path) -> None:
    rules = load(correlation("event_count", condition="gte: 5") + "\n---\n"
                 + correlation("value_count", condition="field: user, gte: 5"))
    db = open_db(tmp_path / "seccenter.db")
    engine = CorrelationEngine(rules)
    engine.process([match(0, "failed_login", src_ip="a", user="u")])
    save_state(db, engine.state(changed_only=True))
    assert engine.state(changed_only=True) == {"version": 1, "rules": {}}
    assert len(load_state(db)["rules"]) == 2
    engine.process([match(1, "web_access", src_ip="a")])  # nobody consumes it
    save_state(db, engine.state(changed_only=True))
    assert len(load_state(db)["rules"]) == 2


def test_changed_or_damaged_state_is_not_trusted(tmp_path: Path) -> None:
    (rule,) = load(correlation("event_count", condition="gte: 3"))
    engine = CorrelationEngine([rule])
    engine.process(brute_force([0, 1]))
    state = engine.state()
    # the same id with another threshold: the old windows mean something else
    (changed,) = load(correlation("event_count", condition="gte: 2"))
    assert CorrelationEngine([changed], state=state).process(brute_force([2])) == []
    assert len(CorrelationEngine([rule], state=state).process(brute_force([2]))) == 1
    damaged = json.loads(json.dumps(state))
    damaged["rules"][rule.id]["groups"][0]["entries"][0] = ["x", "y"]
    broken = CorrelationEngine([rule], state=damaged)
    assert broken.restore_errors and broken.process(brute_force([2])) == []
    assert CorrelationEngine([rule], state={"version": 99}).restore_errors
    damaged = json.loads(json.dumps(state))
    damaged["rules"][rule.id]["groups"][0]["values"] = []
    assert CorrelationEngine([rule], state=damaged).restore_errors
    db = open_db(tmp_path / "seccenter.db")
    save_state(db, state)
    db.execute("UPDATE correlation_state SET state = 'not json'")
    assert load_state(db) == {"version": 1, "rules": {}}


def test_sliding_window_keeps_memory_small() -> None:
    (rule,) = load(correlation("event_count", condition="gte: 1000", timespan="1m", group_by="[host]"))
    (spread,) = load(correlation("value_count", condition="field: user, gte: 1000", timespan="1m"))
    engine = CorrelationEngine([rule, spread])
    batch: list[tuple[str, Event]] = []
    for i in range(100_000):  # one match a second for 28 hours: 10 hosts, a new source address each time
        batch.append(match(i, "failed_login", host=f"h{i % 10}", src_ip=f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}",
                           user=f"u{i % 7}"))
        if len(batch) == 5000:
            assert engine.process(batch) == []
            batch = []
    state = engine.state()
    groups = state["rules"][rule.id]["groups"]
    assert len(groups) == 10 and all(len(group["entries"]) <= 7 for group in groups)
    spread_groups = state["rules"][spread.id]["groups"]
    assert len(spread_groups) <= 2 * 60 + 1  # groups idle for two timespans are forgotten
    assert len(json.dumps(state)) < 100_000


def test_caps_bound_a_group_and_a_rule() -> None:
    (rule,) = load(correlation("event_count", condition="gte: 1000", group_by="[src_ip]"))
    engine = CorrelationEngine([rule], max_entries_per_group=50, max_entries=200)
    engine.process([match(i / 100, "failed_login", src_ip="a") for i in range(120)])
    assert len(engine.state()["rules"][rule.id]["groups"][0]["entries"]) == 50
    engine.process([match(2 + i / 100, "failed_login", src_ip=f"b{i}") for i in range(400)])
    total = sum(len(group["entries"]) for group in engine.state()["rules"][rule.id]["groups"])
    assert total <= 200
    assert engine.skipped[rule.id]["capped"] == 70 and engine.skipped[rule.id]["evicted"] > 0
