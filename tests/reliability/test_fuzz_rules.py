"""Fuzzing the YAML loaders: Sigma rules, playbooks and the scan config, written by generated documents with
values of the wrong type and then damaged as text. Each file is either loaded or refused with the loader's
own error, located at file:line: never another exception. Loaded rules then run on hostile events.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from strategies import (
    HOSTILE_TEXT,
    config_documents,
    fuzz,
    hostile_text,
    json_values,
    playbook_documents,
    sigma_documents,
    yaml_text,
)

from seccenter.config import Config, ConfigError, load_config
from seccenter.detect.correlation import CorrelationEngine
from seccenter.detect.engine import Engine
from seccenter.detect.sigma import RuleError, load_rules
from seccenter.events import Event, LogSource, Origin
from seccenter.playbooks.library import load_file
from seccenter.playbooks.model import Playbook, PlaybookError
from seccenter.units import parse_duration
from seccenter.yamlfile import YamlFileError, load_documents

pytestmark = pytest.mark.reliability

WHOLE_FILE = ("no Sigma rule in file", "invalid YAML: not UTF-8 text", "a playbook file holds one YAML document",
              "not UTF-8 text")
"""Reasons about a file as a whole, which have no line to point at."""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):
    """A new file for every example (one folder for all of them)."""
    folder, numbers = tmp_path_factory.mktemp("yaml"), itertools.count()

    def write(data: bytes, suffix: str = ".yml") -> Path:
        path = folder / f"{next(numbers)}{suffix}"
        path.write_bytes(data)
        return path

    return write


def located(path: Path, where: str, line: int | None, reason: str) -> None:
    """An error names the file, and the line unless it is about the file as a whole."""
    assert where == str(path)
    assert reason and isinstance(reason, str)
    lines = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1  # (read as text)
    if not reason.startswith(WHOLE_FILE):
        assert line is not None and 1 <= line <= lines, (line, reason)


@st.composite
def yaml_files(draw: st.DrawFn, documents: st.SearchStrategy[Any], most: int = 1) -> bytes:
    """Up to ``most`` documents in one YAML stream, each damaged on its own."""
    return b"---\n".join(draw(yaml_text(document)) for document in draw(st.lists(documents, min_size=1, max_size=most)))


_FIELDS = ["user", "src_ip", "message", "CommandLine", "EventID", "Image", "TimeCreated", "dst_port"]
hostile_events = st.builds(
    lambda fields, raw, source: Event(datetime(2026, 11, 25, tzinfo=UTC), "fuzz", source, fields, raw,
                                      Origin("fuzz", 0, 1)),
    st.dictionaries(st.sampled_from(_FIELDS), st.one_of(json_values, st.sampled_from(HOSTILE_TEXT)), max_size=5),
    hostile_text(),
    st.sampled_from([LogSource("linux", None, "sshd"), LogSource("windows", "process_creation", "sysmon"),
                     LogSource()]),
)


@fuzz(100)
@given(yaml_files(sigma_documents, most=2), st.lists(hostile_events, max_size=3))
def test_sigma_rule_files_load_or_say_where(files, text: bytes, hostile: list[Event]) -> None:
    path = files(text)
    ruleset = load_rules([path])
    for error in [*ruleset.errors, *ruleset.warnings, *ruleset.form_errors]:
        assert isinstance(error, RuleError)
        located(path, error.path, error.line, error.reason)
    for rule in ruleset.rules:
        assert rule.path == str(path) and rule.line is not None and rule.line >= 1
    event(f"{len(ruleset.rules)} rules, {len(ruleset.errors)} errors")
    engine = Engine(ruleset.runnable)
    correlations = CorrelationEngine(ruleset.correlations)
    for hostile_event in hostile:
        correlations.process_alerts(engine.match(hostile_event))


@fuzz(150)
@given(yaml_files(playbook_documents))
def test_playbook_files_load_or_say_where(files, text: bytes) -> None:
    path = files(text, ".yaml")
    try:
        playbook = load_file(path)
    except PlaybookError as error:
        assert error.problems
        for problem in error.problems:
            located(path, problem.location.path, problem.location.line, problem.message)
        event("refused")
    else:
        assert isinstance(playbook, Playbook) and playbook.steps
        event("loaded")


@fuzz(150)
@given(yaml_files(config_documents))
def test_config_files_load_or_say_where(files, text: bytes) -> None:
    path = files(text, ".yaml")
    try:
        config = load_config(path)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            located(path, problem.location.path, problem.location.line, problem.message)
        event("refused")
    else:
        assert isinstance(config, Config) and not config.sources.empty
        event("loaded")


# --- found by fuzzing --------------------------------------------------------------------------------------


def test_a_rule_document_that_is_no_mapping_is_located(files) -> None:
    path = files(b"title: first\n---\njust text\n")
    (error,) = load_rules([path]).errors
    assert (error.line, error.reason) == (3, "a Sigma rule is a mapping, not str")


def test_a_control_character_is_located(files) -> None:
    path = files(b"title: x\nid: \x1b[31m\n")
    (error,) = load_rules([path]).errors
    assert error.line == 2 and "#x001b" in error.reason


def test_lines_are_counted_as_editors_count_them() -> None:
    """YAML also breaks lines at LS, NEL and a lone CR: counting them moved every later line number."""
    text = 'a: "x\u2028y\x85z\rw"\nb: 1\nb: 2\n'
    with pytest.raises(YamlFileError) as raised:
        load_documents(text, "f.yaml")
    assert raised.value.location.line == 3
    assert load_documents(text.replace("b: 2\n", ""), "f.yaml")[0].key_lines == {"a": 1, "b": 2}


def test_playbook_start_of_the_wrong_type_is_a_problem(files) -> None:
    path = files(b"id: p\ntitle: t\nversion: '1'\ndate: 2026-01-01\nstart: [a]\n"
                 b"steps:\n  - {id: a, kind: manual, title: A}\n", ".yaml")
    with pytest.raises(PlaybookError) as raised:
        load_file(path)
    (problem,) = raised.value.problems
    assert problem.location.line == 5 and "start names no step" in problem.message


def test_playbook_document_that_is_no_mapping_is_located(files) -> None:
    with pytest.raises(PlaybookError) as raised:
        load_file(files(b"# a comment\n- a list\n", ".yaml"))
    assert raised.value.problems[0].location.line == 2


def test_playbook_due_with_thousands_of_digits_is_a_problem(files) -> None:
    """int() refuses more than 4300 digits with a ValueError the duration parser let through."""
    path = files(b"id: p\ntitle: t\nversion: '1'\ndate: 2026-01-01\n"
                 b"steps:\n  - {id: a, kind: manual, title: A, due: PT" + b"9" * 5000 + b"H}\n", ".yaml")
    with pytest.raises(PlaybookError) as raised:
        load_file(path)
    assert "longer than any playbook deadline" in raised.value.problems[0].message


def test_a_date_that_is_no_day_is_a_problem_not_a_crash(files) -> None:
    """PyYAML reads 2026-02-30 as a date and lets datetime's ValueError out: every loader crashed on the typo."""
    path = files(b"id: p\ntitle: t\nversion: '1'\ndate: 2026-02-30\nsteps:\n  - {id: a, kind: manual, title: A}\n",
                 ".yaml")
    with pytest.raises(PlaybookError) as raised:
        load_file(path)
    (problem,) = raised.value.problems
    assert problem.location.line == 4 and "day is out of range for month" in problem.message


def test_an_escape_past_unicode_is_located(files) -> None:
    (error,) = load_rules([files(b'title: ok\ndescription: "\\U00110000"\n')]).errors
    assert error.line == 2 and "cannot read this value" in error.reason


def test_an_int_of_thousands_of_digits_is_located() -> None:
    with pytest.raises(YamlFileError) as raised:
        load_documents("a: 1\nb: " + "9" * 5000 + "\n", "f.yaml")
    assert raised.value.location.line == 2


@pytest.mark.parametrize("zone", ["Europe", "x" * 300])
def test_config_time_zone_that_is_a_folder_or_too_long_is_a_problem(files, zone: str) -> None:
    path = files(f"organisation:\n  timezone: {zone}\nsources:\n  logs: [/var/log/auth.log]\n".encode(), ".yaml")
    with pytest.raises(ConfigError):
        load_config(path)


@pytest.mark.parametrize("text", ["99999999999w", "9999999999d"])
def test_duration_past_what_timedelta_holds_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="longer than"):
        parse_duration(text)
