"""Load Sigma rules with pySigma and compile each into a matcher; every failure keeps its file:line.

pySigma processing pipelines adapt the rules to the events as they are loaded (``RulePipeline``): one for all
rules (none by default), and *source* pipelines that give a rule a second form for events that tell the same
thing in other field names, such as Security 4688 for ``process_creation`` (``seccenter.detect.windows``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sigma import exceptions as sigma_errors
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.policy import SigmaPolicy
from sigma.policy.regex_engine import PythonRegexEngine
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import ChangeLogsourceTransformation, ValueListPlaceholderTransformation
from sigma.rule import SigmaRule

from seccenter.detect.correlation import CompiledCorrelation, load_correlations, parse_correlation
from seccenter.detect.matchers import CompileError, Matcher, Subject, any_of, compile_condition
from seccenter.detect.windows import windows_audit_pipeline
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
    form: str | None = None
    """The source pipeline that made this form of the rule (``windows-audit``); None for the rule as written."""
    forms: tuple[CompiledRule, ...] = field(default=(), compare=False, repr=False)
    """The rule's other forms, each for the events of one source pipeline, with its own logsource and matcher."""
    name: str | None = None
    """The rule's ``name``, by which correlation rules may reference it."""

    def matches(self, subject: Subject) -> bool:
        return self.matcher(subject)


@dataclass
class RuleSet:
    rules: list[CompiledRule] = field(default_factory=list)
    """One per Sigma rule, as written: what ``rules check`` counts."""
    errors: list[RuleError] = field(default_factory=list)
    form_errors: list[RuleError] = field(default_factory=list)
    """Forms a source pipeline claimed but could not make (e.g. a registry rule testing a field that Security
    4657 lacks). The rule itself loaded; it only does not see that source's events."""
    correlations: list[CompiledCorrelation] = field(default_factory=list)
    """Correlation rules, for a ``CorrelationEngine`` fed with the alerts of ``rules``."""
    warnings: list[RuleError] = field(default_factory=list)
    """Rules that loaded with a fallback (a correlation without title, or with an id that is not a UUID)."""

    @property
    def runnable(self) -> list[CompiledRule]:
        """Every rule and every form of it: what an ``Engine`` runs (each form is routed to its own events)."""
        return [form for rule in self.rules for form in (rule, *rule.forms)]


@dataclass(frozen=True)
class _PendingCorrelation:
    """A parsed correlation rule, compiled once every file is loaded: it may reference rules in other files."""

    rule: SigmaCorrelationRule
    path: str
    document: LineDict


@dataclass(frozen=True)
class RulePipeline:
    """pySigma processing pipelines applied to the rules as they are loaded.

    ``common`` (optional) transforms every rule before it is compiled, e.g. a site's own field names from a
    pipeline file (``ProcessingPipeline.from_yaml``); a rule it fails on is an error. Each of ``sources``
    adapts rules to one kind of event whose fields are not Sigma's taxonomy. It *claims* a rule with a
    ``ChangeLogsourceTransformation`` item whose rule conditions match the rule; a claimed rule gets a second
    form, compiled from a copy the whole pipeline processed, routed by the logsource the pipeline gave it, with
    the pipeline's ``name`` as its ``form``. A source pipeline that leaves a rule's logsource as it was makes no
    form of it. pySigma keeps per-rule state in a pipeline: use one ``RulePipeline`` per ``load_rules`` call.
    """

    common: ProcessingPipeline | None = None
    sources: tuple[ProcessingPipeline, ...] = ()


def standard_pipeline(placeholders: Mapping[str, Sequence[str | int]] | None = None) -> RulePipeline:
    """What ``load_rules`` applies unless told otherwise: rules for Windows' generic process-creation and
    registry categories also get a form for Security 4688/4657 (``seccenter.detect.windows``), and
    ``%name%`` placeholders of the ``expand`` modifier take the values given for them here."""
    return RulePipeline(common=placeholder_pipeline(placeholders) if placeholders else None,
                        sources=(windows_audit_pipeline(),))


def placeholder_pipeline(placeholders: Mapping[str, Sequence[str | int]]) -> ProcessingPipeline:
    """pySigma's own value-list replacement for ``|expand`` placeholders; placeholders without a value are
    left in place, and the compiler reports them by name."""
    return ProcessingPipeline(
        name="seccenter placeholders",
        items=[ProcessingItem(ValueListPlaceholderTransformation(include=list(placeholders)),
                              identifier="seccenter_placeholders")],
        vars={name: list(values) if isinstance(values, list | tuple) else [values]
              for name, values in placeholders.items()},
    )


def rule_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Rule files under each path (a directory is searched recursively), in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
        else:
            yield path


def load_rules(paths: Iterable[Path], pipeline: RulePipeline | None = None) -> RuleSet:
    """Load every rule below ``paths``; rules that fail are listed in ``errors``, never raised.

    ``pipeline`` adapts the rules to the events (``standard_pipeline()`` when None; ``RulePipeline()`` for the
    rules exactly as written). Engines run ``RuleSet.runnable``, which holds the forms the pipeline made too.
    """
    ruleset = RuleSet()
    loader = _Loader(standard_pipeline() if pipeline is None else pipeline, ruleset.form_errors)
    seen_ids: dict[str, str] = {}
    pending: list[_PendingCorrelation] = []
    for path in rule_files(paths):
        for item in _load_file(path, loader):
            if isinstance(item, RuleError):
                ruleset.errors.append(item)
            elif isinstance(item, _PendingCorrelation):
                pending.append(item)
            elif item.id in seen_ids:
                ruleset.errors.append(RuleError(item.path, item.line,
                                                f"duplicate rule id {item.id} (first in {seen_ids[item.id]})"))
            else:
                seen_ids[item.id] = item.path
                ruleset.rules.append(item)
    if pending:
        compiled, problems = load_correlations([item.rule for item in pending], base_rules=ruleset.rules)
        where = {id(item.rule): item for item in pending}
        for problem in problems:
            item = where.get(id(problem.origin))
            error = RuleError(item.path if item else "", find_line(item.document, *problem.keys) if item else None,
                              problem.reason)
            (ruleset.errors if problem.fatal else ruleset.warnings).append(error)
        ruleset.correlations = compiled
    return ruleset


def _load_file(path: Path, loader: _Loader) -> Iterator[CompiledRule | RuleError | _PendingCorrelation]:
    name = str(path)
    if not path.exists():
        yield RuleError(name, None, "no such file or directory")
        return
    try:
        documents = read_documents(path)
    except YamlFileError as error:
        yield RuleError(name, error.location.line, f"invalid YAML: {error.reason}")
        return
    for document, line in zip(documents, documents.lines, strict=True):
        if document is not None and not isinstance(document, dict):
            yield RuleError(name, line, f"a Sigma rule is a mapping, not {type(document).__name__}")
            return
    documents = [document for document in documents if document is not None]
    if not documents:
        yield RuleError(name, None, "no Sigma rule in file")
        return
    # correlation documents go to parse_correlation: pySigma raises (even when collecting errors) on a range
    # condition, and a collection resolves references only within itself, raising for rules in other files
    for document in [document for document in documents if "correlation" in document]:
        rule, problems = parse_correlation(document)
        for problem in problems:
            yield RuleError(name, find_line(document, *problem.keys), problem.reason)
        if rule is not None:
            yield _PendingCorrelation(rule, name, document)
    documents = [document for document in documents if "correlation" not in document]
    if not documents:
        return
    try:
        collection = SigmaCollection.from_dicts(documents, collect_errors=True, policy=PARSE_POLICY,
                                                resolve_references=False)
    except (AttributeError, TypeError, ValueError, KeyError) as error:
        # pySigma assumes well-typed values in places (``id: {a}`` reaches uuid.UUID as a mapping)
        yield RuleError(name, documents[0].line, f"not a valid Sigma rule: {type(error).__name__}: {error}")
        return
    rule_errors = {id(error) for rule in collection.rules for error in rule.errors}
    for error in collection.errors:
        if id(error) not in rule_errors:  # pySigma also lists each rule's own errors here
            yield RuleError(name, _error_line(error, documents[0]), _reason(error))
    rule_documents = [document for document in documents if document.get("action") not in ("global", "reset")]
    for index, rule in enumerate(collection.rules):
        document = rule_documents[index] if index < len(rule_documents) else documents[0]
        yield loader.compile(rule, name, document)


class _Loader:
    """Compiles pySigma rules through one ``RulePipeline``; forms that fail go to ``form_errors``."""

    def __init__(self, pipeline: RulePipeline, form_errors: list[RuleError]) -> None:
        self.pipeline = pipeline
        self.form_errors = form_errors
        self._claims = [
            (source, [item for item in source.items if isinstance(item.transformation, ChangeLogsourceTransformation)])
            for source in pipeline.sources
        ]

    def compile(self, rule: Any, path: str, document: LineDict) -> CompiledRule | RuleError:
        if isinstance(rule, SigmaCorrelationRule):  # not reached: _load_file hands these to parse_correlation
            return RuleError(path, find_line(document, "correlation"), "correlation rule outside its own document")
        if not isinstance(rule, SigmaRule):
            return RuleError(path, document.line, f"unsupported Sigma document ({type(rule).__name__})")
        if rule.errors:
            return RuleError(path, _error_line(rule.errors[0], document), _reason(rule.errors[0]))
        if rule.id is None:
            return RuleError(path, document.line, "rule has no id")
        if self.pipeline.common is not None:
            try:
                self.pipeline.common.apply(rule)
            except sigma_errors.SigmaError as error:
                return RuleError(path, _error_line(error, document), _reason(error))
        compiled = _compile(rule, path, document)
        if isinstance(compiled, RuleError):
            return compiled
        forms = []
        for source, items in self._claims:
            if not _claims(items, rule):
                continue
            form = self._form(source, copy.deepcopy(rule), path, document)  # the source changes its copy
            if isinstance(form, RuleError):
                self.form_errors.append(form)
            elif form is not None:
                forms.append(form)
        return replace(compiled, forms=tuple(forms)) if forms else compiled

    @staticmethod
    def _form(source: ProcessingPipeline, rule: SigmaRule, path: str,
              document: LineDict) -> CompiledRule | RuleError | None:
        before = rule.logsource
        name = source.name or "pipeline"
        try:
            source.apply(rule)
        except sigma_errors.SigmaError as error:
            return RuleError(path, _error_line(error, document), f"no {name} form: {_reason(error)}")
        if rule.logsource == before:
            return None
        form = _compile(rule, path, document, name)
        if isinstance(form, RuleError):
            return RuleError(form.path, form.line, f"no {name} form: {form.reason}")
        return form


def _claims(items: list[Any], rule: SigmaRule) -> bool:
    """Whether one of a source pipeline's logsource-changing items would apply to the rule."""
    for item in items:
        try:
            if item.match_rule_conditions(rule):
                return True
        except sigma_errors.SigmaError:
            return True  # a condition that needs the pipeline's state: let the pipeline decide
    return False


def _compile(rule: SigmaRule, path: str, document: LineDict, form: str | None = None) -> CompiledRule | RuleError:
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
        line=document.line, matcher=matcher, conditions=tuple(trees), form=form, name=rule.name,
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
