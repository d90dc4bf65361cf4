"""Playbook YAML: every step kind, every validation error with its file:line, the library checks between files,
ISO 8601 due durations (Europe/Berlin daylight saving included) and the bundled playbooks."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from seccenter.playbooks.durations import DurationError, parse_duration
from seccenter.playbooks.library import load_file, load_library
from seccenter.playbooks.model import Condition, PlaybookError, from_document
from seccenter.resources import playbooks_dir
from seccenter.yamlfile import load_documents

BERLIN = ZoneInfo("Europe/Berlin")
BUNDLED = ("compromised-account", "insider-exfiltration", "lost-device", "personal-data-breach", "phishing",
           "ransomware", "web-defacement-ddos", "yara-malware")
HEAD = """\
id: sample
title: {de: Beispiel, en: Sample}
version: "1.0"
date: 2025-06-02
steps:
"""
ALL_KINDS = HEAD + """\
  - id: triage
    kind: manual
    title: {de: Sichten, en: Triage}
    owner: incident-response
    due: PT4H
    references: {gdpr: ["Art. 33(1)"], bsi: [DER.2.1.A3], nis2: ["Art. 23(4)(a)"]}
    next: collect
  - id: collect
    kind: command
    title: Collect
    argv: [tool, --case, "{incident.id}", "title={incident.title}"]
    timeout: 30
    next: severe
  - id: severe
    kind: decision
    title: Severe?
    when: {field: severity, in: [high, critical]}
    then: escalate
    else: note
    next: ask
  - id: escalate
    kind: manual
    title: Escalate
  - id: note
    kind: manual
    title: Note it
  - id: ask
    kind: decision
    title: Personal data affected?
    when: answer
    then: breach
    next: both
  - id: breach
    kind: playbook
    title: Breach
    playbook: other
  - id: both
    kind: parallel
    title: Both
    branches: [left, right]
    due: {duration: P2D, after: awareness}
  - id: left
    kind: manual
    title: Left
  - id: right
    kind: manual
    title: Right
"""


def read(text: str, path: str = "pb.yaml"):
    return from_document(load_documents(text, path)[0], path)


def problems(text: str, path: str = "pb.yaml") -> list[str]:
    with pytest.raises(PlaybookError) as caught:
        read(text, path)
    return [str(problem) for problem in caught.value.problems]


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the (only) line holding ``needle``."""
    found = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(found) == 1, (needle, found)
    return found[0]


def test_every_step_kind_is_read() -> None:
    playbook = read(ALL_KINDS)
    assert [(step.id, step.kind) for step in playbook.steps] == [
        ("triage", "manual"), ("collect", "command"), ("severe", "decision"), ("escalate", "manual"),
        ("note", "manual"), ("ask", "decision"), ("breach", "playbook"), ("both", "parallel"), ("left", "manual"),
        ("right", "manual")]
    assert playbook.title.get("de") == "Beispiel" and playbook.title.get("en") == "Sample"
    triage = playbook.step("triage")
    assert triage.owner == "incident-response" and triage.due.duration.text == "PT4H"
    assert triage.due.after == "detection"
    assert dict(triage.references) == {"gdpr": ("Art. 33(1)",), "bsi": ("DER.2.1.A3",), "nis2": ("Art. 23(4)(a)",)}
    collect = playbook.step("collect")
    assert collect.argv == ("tool", "--case", "{incident.id}", "title={incident.title}") and collect.timeout == 30
    assert playbook.step("severe").when == Condition("severity", "in", ("high", "critical"))
    assert (playbook.step("severe").then, playbook.step("severe").otherwise) == ("escalate", "note")
    assert playbook.step("ask").when.asks_analyst
    assert playbook.step("breach").playbook == "other"
    assert playbook.step("both").branches == ("left", "right")
    assert playbook.step("both").due.after == "awareness"
    assert [step.id for step in playbook.chain(playbook.start)] == ["triage", "collect", "severe", "ask", "both"]
    assert [step.id for step in playbook.calls()] == ["breach"]


def test_the_model_writes_back_what_it_read() -> None:
    playbook = read(ALL_KINDS)
    assert from_document(playbook.to_document(), "again.yaml") == playbook


@pytest.mark.parametrize(("when", "incident", "holds"), [
    ({"field": "severity", "equals": "high"}, {"severity": "high"}, True),
    ({"field": "severity", "equals": "high"}, {"severity": "low"}, False),
    ({"field": "severity", "not_equals": "high"}, {"severity": "low"}, True),
    ({"field": "category", "in": ["malware", "ransomware"]}, {"category": "ransomware"}, True),
    ({"field": "category", "in": ["malware", "ransomware"]}, {"category": "phishing"}, False),
    ({"field": "category", "not_in": ["malware"]}, {"category": "phishing"}, True),
    ({"field": "owner", "equals": "kim"}, {"owner": None}, False),
    ({"field": "id", "equals": 3}, {"id": 3}, True),
])
def test_field_conditions(when: dict, incident: dict, holds: bool) -> None:
    document = load_documents(HEAD + "  - {id: d, kind: decision, title: D, then: x}\n"
                              "  - {id: x, kind: manual, title: X}\n", "pb.yaml")[0]
    document["steps"][0]["when"] = when
    assert from_document(document, "pb.yaml").step("d").when.holds(incident) is holds


def test_unknown_step_kind_is_reported_at_its_line() -> None:
    text = HEAD + "  - id: a\n    kind: manual\n    title: A\n    next: b\n  - id: b\n    kind: script\n    title: B\n"
    assert problems(text) == [f"pb.yaml:{line_of(text, 'kind: script')}: unknown step kind 'script' (known: manual, "
                              "command, decision, parallel, playbook)"]


def test_unreachable_step_is_reported_at_its_line() -> None:
    text = HEAD + "  - id: a\n    kind: manual\n    title: A\n  - id: orphan\n    kind: manual\n    title: O\n"
    assert problems(text) == [f"pb.yaml:{line_of(text, 'id: orphan')}: step 'orphan' is unreachable: no step leads "
                              "to it from the start 'a'"]


@pytest.mark.parametrize(("steps", "closing", "cycle"), [
    # a loop reached from the start
    ("- {id: s, kind: manual, title: S, next: a}\n- {id: a, kind: manual, title: A, next: b}\n"
     "- {id: b, kind: manual, title: B, next: a}\n", "id: b", "a → b → a"),
    # back to the start itself
    ("- {id: s, kind: manual, title: S, next: a}\n- {id: a, kind: manual, title: A, next: s}\n", "id: a",
     "s → a → s"),
    # a step that leads to itself
    ("- {id: s, kind: manual, title: S, next: a}\n- {id: a, kind: manual, title: A, next: a}\n", "id: a", "a → a"),
    # through a parallel branch
    ("- {id: s, kind: manual, title: S, next: a}\n- {id: a, kind: manual, title: A, next: p}\n"
     "- {id: p, kind: parallel, title: P, branches: [a, b]}\n- {id: b, kind: manual, title: B}\n", "id: p",
     "a → p → a"),
    # a loop no way from the start leads to
    ("- {id: s, kind: manual, title: S}\n- {id: a, kind: manual, title: A, next: b}\n"
     "- {id: b, kind: manual, title: B, next: a}\n", "id: b", "a → b → a"),
])
def test_cycles_are_reported_as_cycles_at_the_step_that_leads_back(steps: str, closing: str, cycle: str) -> None:
    text = HEAD + textwrap.indent(steps, "  ")
    assert problems(text) == [f"pb.yaml:{line_of(text, closing)}: steps form a cycle: {cycle} (playbooks have no "
                              "loops)"]


def test_missing_targets_are_reported_at_the_step() -> None:
    text = HEAD + ("  - {id: a, kind: manual, title: A, next: d}\n"
                   "  - {id: d, kind: decision, title: D, when: answer, then: gone, next: p}\n"
                   "  - {id: p, kind: parallel, title: P, branches: [x, lost], next: c}\n"
                   "  - {id: x, kind: manual, title: X}\n"
                   "  - {id: c, kind: playbook, title: C, playbook: other, next: missing}\n")
    assert problems(text) == [
        f"pb.yaml:{line_of(text, 'id: d,')}: step 'd' leads to 'gone', which is no step of this playbook",
        f"pb.yaml:{line_of(text, 'id: p,')}: step 'p' leads to 'lost', which is no step of this playbook",
        f"pb.yaml:{line_of(text, 'id: c,')}: step 'c' leads to 'missing', which is no step of this playbook",
    ]


def test_duplicate_step_id_names_both_lines() -> None:
    text = HEAD + "  - id: a\n    kind: manual\n    title: A\n  - id: a\n    kind: manual\n    title: Again\n"
    first, second = [number for number, line in enumerate(text.splitlines(), 1) if line == "  - id: a"]
    assert problems(text) == [f"pb.yaml:{second}: duplicate step id 'a' (first at line {first})"]


def test_two_ways_into_one_step_are_a_join() -> None:
    text = HEAD + ("  - {id: s, kind: decision, title: S, when: answer, then: a, next: c}\n"
                   "  - {id: a, kind: manual, title: A, next: c}\n  - {id: c, kind: manual, title: C}\n")
    assert problems(text) == [f"pb.yaml:{line_of(text, 'id: a,')}: step 'c' is entered from both 's' and 'a'; "
                              "branches join again at the next of the step that opened them"]


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = HEAD + """\
  - id: a
    kind: manual
    title: A
    owner: dpo
    due: P1M
    references: {gdpr: [Article 33], bsi: [DER.2.1]}
    colour: red
  - id: b
    kind: command
    title: B
    argv: "rm -rf {incident.title}"
  - id: c
    kind: command
    title: C
    argv: ["{incident.title}", "{incident.password}"]
    timeout: 0
  - id: d
    kind: decision
    title: D
    when: {field: password, equals: x}
  - id: e
    kind: parallel
    title: E
    branches: [only]
  - id: F
    kind: manual
    title: {de: F, fr: F}
"""
    found = problems(text)
    expected = [
        (line_of(text, "due: P1M"), "bad due duration: 'P1M': years and months are not supported (their length "
                                    "varies); use days or weeks"),
        (line_of(text, "references:"), "gdpr reference 'Article 33' is not like Art. 33(1)"),
        (line_of(text, "references:"), "bsi reference 'DER.2.1' is not like DER.2.1.A3"),
        (line_of(text, "colour"), "unknown key 'colour' in a manual step"),
        (line_of(text, 'argv: "rm'), "argv must be a non-empty list of text: the program and its arguments, one per "
                                     "item (no shell string)"),
        (line_of(text, "incident.password"), "the program (argv[0]) must be fixed, not taken from the incident"),
        (line_of(text, "incident.password"), "placeholder {incident.password} names no incident field (known: id, "
                                             "title, category, severity, owner, status)"),
        (line_of(text, "timeout: 0"), "timeout must be whole seconds from 1 to 3600"),
        (line_of(text, "field: password"), "field 'password' is no incident field (known: id, title, category, "
                                           "severity, owner, status)"),
        (line_of(text, "id: d"), "a decision needs a then or an else branch"),
        (line_of(text, "branches: [only]"), "a parallel step needs branches: a list of at least two step ids"),
        (line_of(text, "id: F"), "step id 'F' must be 1-64 lower-case letters, digits, - or _, starting with a "
                                 "letter or digit"),
        (line_of(text, "fr: F"), "title: unknown language fr (use de and en)"),
        (line_of(text, "fr: F"), "title (en) must be text"),
    ]
    assert sorted(found) == sorted(f"pb.yaml:{line}: {message}" for line, message in expected)


def test_playbook_level_problems() -> None:
    text = "id: Bad Id\ntitle: {de: X}\nversion: 1.0\ndate: tomorrow\nsteps: []\nowner: me\nstart: x\n"
    found = problems(text)
    assert found == [
        "pb.yaml:6: unknown key 'owner' (known: date, description, id, start, steps, title, triggers, version)",
        "pb.yaml:1: playbook id 'Bad Id' must be 1-64 lower-case letters, digits, - or _, starting with a letter or "
        "digit",
        "pb.yaml:2: title (en) must be text",
        'pb.yaml:3: version must be text (quote numbers: version: "1.0")',
        "pb.yaml:4: date must be the day of this version, such as 2025-01-31 (not 'tomorrow')",
        "pb.yaml:5: steps must be a non-empty list of steps",
        "pb.yaml:7: start names no step: 'x'",
    ]
    assert problems("- just\n- a list\n") == ["pb.yaml: a playbook is a mapping with id, title, version, date and "
                                              "steps"]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_broken_yaml_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", HEAD + "  - id: a\n    kind: manual\n    title: [unclosed\n")
    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    (problem,) = caught.value.problems
    assert problem.location.path == str(path) and problem.location.line == 9
    truncated = write(tmp_path, "dup.yaml", HEAD + "  - id: a\n    id: b\n")
    with pytest.raises(PlaybookError, match=r"dup\.yaml:7: .*duplicate key 'id'"):
        load_file(truncated)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"id: \xff\xfe\x00")
    with pytest.raises(PlaybookError, match="not UTF-8"):
        load_file(binary)
    two = write(tmp_path, "two.yaml", ALL_KINDS + "---\n" + ALL_KINDS)
    with pytest.raises(PlaybookError, match="holds one YAML document, not 2"):
        load_file(two)


def test_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    names = "abcdefghij"
    lines = ['x0: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x{number}: &{child} [{', '.join([f'*{parent}'] * 9)}]"
              for number, (parent, child) in enumerate(zip(names, names[1:], strict=False), 1)]
    path = write(tmp_path, "bomb.yaml", "id: bomb\ntitle: B\n" + "\n".join(lines) + "\n")
    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    (problem,) = caught.value.problems
    assert "alias bomb" in problem.message and problem.location.path == str(path)


def test_huge_playbooks_and_texts_are_refused() -> None:
    steps = "".join(f"  - {{id: s{number}, kind: manual, title: S, next: s{number + 1}}}\n" for number in range(501))
    assert problems(HEAD + steps) == ["pb.yaml:5: 501 steps; at most 500 are allowed"]
    assert problems(HEAD + f"  - {{id: a, kind: manual, title: {'x' * 10_001}}}\n") == [
        "pb.yaml:6: title is longer than 10000 characters"]


def test_library_checks_between_files(tmp_path: Path) -> None:
    def playbook(playbook_id: str, calls: str | None = None) -> str:
        step = f"  - {{id: call, kind: playbook, title: Call, playbook: {calls}}}\n" if calls else \
            "  - {id: only, kind: manual, title: Only}\n"
        return HEAD.replace("id: sample", f"id: {playbook_id}") + step

    write(tmp_path, "a.yaml", playbook("a", calls="b"))
    write(tmp_path, "b.yaml", playbook("b", calls="a"))
    write(tmp_path, "c.yaml", playbook("c", calls="ghost"))
    write(tmp_path, "d.yaml", playbook("d", calls="c"))
    write(tmp_path, "e.yaml", playbook("e"))
    write(tmp_path, "e-again.yaml", playbook("e"))
    write(tmp_path, "f.yml", playbook("f", calls="e"))
    write(tmp_path, "notes.txt", "not a playbook")
    library = load_library([tmp_path])
    assert sorted(library.playbooks) == ["e", "f"]
    assert library.playbooks["e"].source == str(tmp_path / "e-again.yaml")  # files are read in name order
    call_line = line_of(playbook("a", calls="b"), "id: call")
    assert sorted(map(str, library.problems)) == sorted([
        f"{tmp_path / 'e.yaml'}:1: playbook id 'e' is also used by {tmp_path / 'e-again.yaml'}",
        f"{tmp_path / 'c.yaml'}:{call_line}: step 'call' calls playbook 'ghost', which is not there",
        f"{tmp_path / 'a.yaml'}:{call_line}: step 'call' makes a call cycle: a → b → a",
        f"{tmp_path / 'b.yaml'}:{call_line}: step 'call' makes a call cycle: b → a → b",
        f"{tmp_path / 'd.yaml'}:{call_line}: step 'call' calls playbook 'c', which has problems",
    ])
    assert sorted(library.closure("f")) == ["e", "f"]
    with pytest.raises(PlaybookError, match="no playbook 'a' "):
        library.get("a")


def test_every_bundled_playbook_loads_with_german_and_english_titles() -> None:
    library = load_library([playbooks_dir()])
    assert library.problems == []
    assert sorted(library.playbooks) == sorted(BUNDLED)
    for playbook in library.playbooks.values():
        assert playbook.title.de != playbook.title.en, playbook.id
        for step in playbook.steps:
            assert step.title.de and step.title.en, (playbook.id, step.id)
            assert step.title.de != step.title.en, (playbook.id, step.id)
    kinds = {step.kind for playbook in library.playbooks.values() for step in playbook.steps}
    assert kinds == {"manual", "command", "decision", "parallel", "playbook"}


def test_the_breach_playbook_carries_the_legal_duties() -> None:
    breach = load_library([playbooks_dir()]).get("personal-data-breach")
    notify = breach.step("notify-authority")
    assert (notify.due.duration.text, notify.due.after) == ("PT72H", "awareness")
    assert "Art. 33(1)" in dict(notify.references)["gdpr"]
    assert "Art. 34(1)" in dict(breach.step("notify-subjects").references)["gdpr"]
    assert any(item.startswith("DER.2.1.") for step in breach.steps for item in dict(step.references).get("bsi", ()))
    assert breach.triggers.matches("data-breach", [], []) == ["category data-breach"]


def test_triggers_match_categories_rules_with_wildcards_and_tags() -> None:
    library = load_library([playbooks_dir()])
    found = {playbook.id: reasons for playbook, reasons in library.proposals("other", ["yara:eicar", "sigma-1"],
                                                                               [])}
    assert found == {"yara-malware": ["rule yara:eicar"]}
    by_category = [playbook.id for playbook, _ in library.proposals("Ransomware", [], [])]
    assert by_category == ["ransomware"]
    assert library.proposals("other", ["nothing"], ["attack.nothing"]) == []


# ISO 8601 durations

def test_durations_parse() -> None:
    assert (parse_duration("PT72H").days, parse_duration("PT72H").elapsed) == (0, timedelta(hours=72))
    assert (parse_duration("P2D").days, parse_duration("P2D").elapsed) == (2, timedelta())
    assert parse_duration("P1W").days == 7
    assert (parse_duration("P1DT12H30M5S").days, parse_duration("P1DT12H30M5S").elapsed) == (
        1, timedelta(hours=12, minutes=30, seconds=5))


@pytest.mark.parametrize(("text", "message"), [
    ("P1M", "years and months are not supported"),
    ("P1Y", "years and months are not supported"),
    ("P1W2D", "ISO 8601 writes weeks alone"),
    ("PT", "is not an ISO 8601 duration"),
    ("P", "is not an ISO 8601 duration"),
    ("P1DT", "is not an ISO 8601 duration"),
    ("72h", "is not an ISO 8601 duration"),
    ("-PT1H", "is not an ISO 8601 duration"),
    ("PT1.5H", "is not an ISO 8601 duration"),
    ("PT9999999H", "longer than any playbook deadline"),
    (72, "a duration is text such as PT72H, not int"),
])
def test_bad_durations_are_refused(text: object, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(text)


def test_hours_are_elapsed_time_and_days_are_calendar_days_across_spring_forward() -> None:
    # Sunday 29 March 2026, 02:00 CET → 03:00 CEST: that day has 23 hours in Berlin
    start = datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    assert parse_duration("PT24H").after(start) == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)  # 13:00 CEST
    assert parse_duration("P1D").after(start) == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)  # 12:00 CEST
    assert parse_duration("P1D").after(start) - start == timedelta(hours=23)
    assert parse_duration("PT72H").after(start) - start == timedelta(hours=72)


def test_days_across_fall_back_and_into_a_missing_wall_time() -> None:
    # Sunday 25 October 2026, 03:00 CEST → 02:00 CET: that day has 25 hours in Berlin
    start = datetime(2026, 10, 24, 9, 0, tzinfo=BERLIN)
    assert parse_duration("P1D").after(start).astimezone(BERLIN).hour == 9
    assert parse_duration("P1D").after(start) - start == timedelta(hours=25)
    # 02:30 on 29 March 2026 does not exist in Berlin: it is read with the offset before the change (03:30 CEST)
    late = datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN)
    assert parse_duration("P1D").after(late) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert parse_duration("P1DT12H").after(start) == datetime(2026, 10, 25, 20, 0, tzinfo=UTC)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_duration("PT1H").after(datetime(2026, 1, 1))


def nested(depth: int, last: str = "kind: manual, title: Last", playbook_id: str = "sample") -> str:
    """A playbook whose decisions lie one inside the other, ``depth`` levels down to its last step."""
    steps = "".join(f"  - {{id: d{number}, kind: decision, title: D, when: answer, then: d{number + 1}}}\n"
                    for number in range(depth))
    return HEAD.replace("id: sample", f"id: {playbook_id}") + steps + f"  - {{id: d{depth}, {last}}}\n"


def test_steps_nested_too_deep_are_refused() -> None:
    assert read(nested(32)).depths()["d32"] == 32
    text = nested(33)
    assert problems(text) == [f"pb.yaml:{line_of(text, 'id: d33,')}: step 'd33' lies 33 branches deep; at most 32 "
                              "levels are allowed"]


def test_called_playbooks_count_towards_the_depth(tmp_path: Path) -> None:
    write(tmp_path, "outer.yaml", nested(20, "kind: playbook, title: Call, playbook: inner", "outer"))
    write(tmp_path, "inner.yaml", nested(12, playbook_id="inner"))
    library = load_library([tmp_path])
    assert sorted(library.playbooks) == ["inner"]
    assert [str(problem) for problem in library.problems] == [
        f"{tmp_path / 'outer.yaml'}:{line_of(nested(20), 'id: d20,')}: step 'd20' calls playbook 'inner'; with what "
        "that calls, steps lie more than 32 branches deep"]
    write(tmp_path, "inner.yaml", nested(11, playbook_id="inner"))
    assert sorted(load_library([tmp_path]).playbooks) == ["inner", "outer"]
