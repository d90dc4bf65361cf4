"""Load Sigma rules with pySigma and compile each into a matcher; every failure keeps its file:line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigma import exceptions as sigma_errors
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.policy import SigmaPolicy
from sigma.policy.regex_engine import PythonRegexEngine
from sigma.rule import SigmaRule

from seccenter.detect.matchers import CompileError, Matcher, Subject, any_of, compile_condition
from seccenter.events import LogSource
from seccenter.yamlfile import LineDict, YamlFileError, find_line, read_documents

RULE_SUFFIXES = (".yml", ".yaml")

PARSE_POLICY = SigmaPolicy(regex_engine=PythonRegexEngine())
"""pySigma validates rule regexes with RE2 by default, which refuses look-around; seccenter decides itself
which engine runs each pattern (detect/regex.py), so parsing only checks that Python can compile it."""


@dataclass(frozen=True)
class RuleError:
    """A rule file (or one rule in it) that did not load, and why."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class CompiledRule:
    id: str
    title: str
    level: str
    tags: tuple[str, ...]
    logsource: LogSource
    path: str
    line: int | None
    matcher: Matcher = field(compare=False, repr=False)
    conditions: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    """pySigma condition trees (OR-linked), for compilers that want the structure, not the closure."""

    def matches(self, subject: Subject) -> bool:
        return self.matcher(subject)


@dataclass
class RuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)


def rule_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Rule files under each path (a directory is searched recursively), in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
        else:
            yield path


def load_rules(paths: Iterable[Path]) -> RuleSet:
    """Load every rule below ``paths``; rules that fail are listed in ``errors``, never raised."""
    ruleset = RuleSet()
    seen_ids: dict[str, str] = {}
    for path in rule_files(paths):
        for item in _load_file(path):
            if isinstance(item, RuleError):
                ruleset.errors.append(item)
            elif item.id in seen_ids:
                ruleset.errors.append(RuleError(item.path, item.line,
                                                f"duplicate rule id {item.id} (first in {seen_ids[item.id]})"))
            else:
                seen_ids[item.id] = item.path
                ruleset.rules.append(item)
    return ruleset


def _load_file(path: Path) -> Iterator[CompiledRule | RuleError]:
    name = str(path)
    if not path.exists():
        yield RuleError(name, None, "no such file or directory")
        return
    try:
        documents = read_documents(path)
    except YamlFileError as error:
        yield RuleError(name, error.location.line, f"invalid YAML: {error.reason}")
        return
    documents = [document for document in documents if document is not None]
    if not documents:
        yield RuleError(name, None, "no Sigma rule in file")
        return
    for document in documents:
        if not isinstance(document, dict):
            yield RuleError(name, None, f"a Sigma rule is a mapping, not {type(document).__name__}")
            return
    collection = SigmaCollection.from_dicts(documents, collect_errors=True, policy=PARSE_POLICY)
    rule_errors = {id(error) for rule in collection.rules for error in rule.errors}
    for error in collection.errors:
        if id(error) not in rule_errors:  # pySigma also lists each rule's own errors here
            yield RuleError(name, _error_line(error, documents[0]), _reason(error))
    rule_documents = [document for document in documents if document.get("action") not in ("global", "reset")]
    for index, rule in enumerate(collection.rules):
        document = rule_documents[index] if index < len(rule_documents) else documents[0]
        yield _compile(rule, name, document)


def _compile(rule: Any, path: str, document: LineDict) -> CompiledRule | RuleError:
    if isinstance(rule, SigmaCorrelationRule):
        return RuleError(path, find_line(document, "correlation"), "correlation rules are not supported yet")
    if not isinstance(rule, SigmaRule):
        return RuleError(path, document.line, f"unsupported Sigma document ({type(rule).__name__})")
    if rule.errors:
        return RuleError(path, _error_line(rule.errors[0], document), _reason(rule.errors[0]))
    if rule.id is None:
        return RuleError(path, document.line, "rule has no id")
    try:
        trees = [tree for tree in (condition.parsed for condition in rule.detection.parsed_condition)
                 if tree is not None]
        matcher = any_of([compile_condition(tree) for tree in trees])
    except (CompileError, sigma_errors.SigmaError) as error:
        return RuleError(path, _error_line(error, document), _reason(error))
    logsource = LogSource(rule.logsource.product, rule.logsource.category, rule.logsource.service)
    return CompiledRule(
        id=str(rule.id), title=rule.title, level=rule.level.name.lower() if rule.level else "informational",
        tags=tuple(str(tag) for tag in rule.tags), logsource=logsource, path=path,
        line=document.line, matcher=matcher, conditions=tuple(trees),
    )


_ERROR_KEYS: list[tuple[type[Exception], tuple[str, ...]]] = [
    (sigma_errors.SigmaConditionError, ("detection", "condition")),
    (sigma_errors.SigmaLogsourceError, ("logsource",)),
    (sigma_errors.SigmaLevelError, ("level",)),
    (sigma_errors.SigmaIdentifierError, ("id",)),
    (sigma_errors.SigmaTitleError, ("title",)),
    (sigma_errors.SigmaStatusError, ("status",)),
    (sigma_errors.SigmaDateError, ("date",)),
    (sigma_errors.SigmaDetectionError, ("detection",)),
]


def _error_line(error: Exception, document: Any) -> int | None:
    """pySigma rarely knows the line; find the key the message names, else the section it concerns."""
    source = getattr(error, "source", None)
    if source is not None and getattr(source, "line", None):
        return source.line
    message = str(error)
    for token in re.findall(r"'([^']+)'", message):
        line = _key_line(document, token)
        if line is not None:
            return line
    for error_class, keys in _ERROR_KEYS:
        if isinstance(error, error_class):
            return find_line(document, *keys)
    return find_line(document, "detection")


def _key_line(node: Any, token: str) -> int | None:
    if not isinstance(node, LineDict):
        if isinstance(node, list):
            for item in node:
                line = _key_line(item, token)
                if line is not None:
                    return line
        return None
    for key, value in node.items():
        if isinstance(key, str) and (key == token or f"|{token}" in key):
            return node.key_lines[key]
        if value == token or (isinstance(value, list) and token in value):  # a value the message quotes
            return node.key_lines[key]
        line = _key_line(value, token)
        if line is not None:
            return line
    return None


def _reason(error: Exception) -> str:
    """The message without pySigma's ' in <absolute path>' suffix: our location is printed separately."""
    if isinstance(error, sigma_errors.SigmaError):
        return error.args[0] if error.args else type(error).__name__
    return str(error)
