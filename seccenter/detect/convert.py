"""Sigma rules as queries for a SIEM, through the pySigma backends (the city's path off one machine).

The backends are separate packages released against particular pySigma versions, so they are not
dependencies of seccenter: a missing or incompatible one is reported with the package to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError

from seccenter.detect.sigma import PARSE_POLICY, rule_files
from seccenter.yamlfile import YamlFileError, read_documents

TARGETS: dict[str, tuple[str, str, str]] = {
    "opensearch": ("sigma.backends.opensearch", "OpensearchLuceneBackend", "pysigma-backend-opensearch"),
    "elasticsearch": ("sigma.backends.elasticsearch", "LuceneBackend", "pysigma-backend-elasticsearch"),
    "splunk": ("sigma.backends.splunk", "SplunkBackend", "pysigma-backend-splunk"),
    "sqlite": ("sigma.backends.sqlite", "sqliteBackend", "pysigma-backend-sqlite"),
}
"""target → (module, backend class, the package that provides it)."""


class BackendUnavailable(Exception):
    """The backend for a target is not installed, or not for this pySigma."""


@dataclass(frozen=True)
class Conversion:
    path: str
    rule_id: str | None
    title: str
    queries: tuple[str, ...] = ()
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rule_id": self.rule_id, "title": self.title, "queries": list(self.queries),
                "error": self.error}


def backend_for(target: str) -> Any:
    module_name, class_name, package = TARGETS[target]
    try:
        backend_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise BackendUnavailable(
            f"the {target} backend is not available ({error}); install {package} in a version made for the "
            "installed pySigma") from None
    return backend_class()


def convert_rules(paths: Iterable[Path], target: str) -> list[Conversion]:
    """Convert every rule file below ``paths``; a rule that fails is a Conversion with ``error`` set."""
    backend = backend_for(target)
    conversions = []
    for path in rule_files(paths):
        try:
            collection = SigmaCollection.from_dicts(read_documents(path), collect_errors=True, policy=PARSE_POLICY)
        except (SigmaError, YamlFileError, ValueError) as error:
            conversions.append(Conversion(str(path), None, path.name, error=str(error)))
            continue
        for rule in collection.rules:
            rule_id = str(rule.id) if rule.id else None
            if rule.errors:
                conversions.append(Conversion(str(path), rule_id, rule.title, error=str(rule.errors[0])))
                continue
            try:
                if isinstance(rule, SigmaCorrelationRule):
                    queries = tuple(str(query) for query in backend.convert_correlation_rule(rule))
                else:
                    queries = tuple(str(query) for query in backend.convert_rule(rule))
            except (SigmaError, NotImplementedError, ValueError, TypeError, AttributeError) as error:
                conversions.append(Conversion(str(path), rule_id, rule.title, error=str(error)))
            else:
                conversions.append(Conversion(str(path), rule_id, rule.title, queries))
    return conversions
