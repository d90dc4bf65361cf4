"""Runs events through the compiled rules, each event only through the rules its logsource routes to."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from seccenter.detect.alert import Alert
from seccenter.detect.codegen import RouteMatcher, compile_route
from seccenter.detect.matchers import Subject
from seccenter.detect.routing import applies
from seccenter.detect.sigma import CompiledRule
from seccenter.events import Event, LogSource

log = logging.getLogger(__name__)


def _closure_route(rules: Sequence[CompiledRule]) -> RouteMatcher:
    def match(fields: dict[str, Any], raw: str | bytes) -> list[int]:
        subject = Subject(fields, raw)
        return [index for index, rule in enumerate(rules) if rule.matcher(subject)]

    return match


class Engine:
    def __init__(self, rules: Sequence[CompiledRule], generate_code: bool = True) -> None:
        self.rules = list(rules)
        self.generate_code = generate_code
        self._routes: dict[LogSource, tuple[list[CompiledRule], RouteMatcher]] = {}

    def rules_for(self, logsource: LogSource) -> list[CompiledRule]:
        return self._route(logsource)[0]

    def _route(self, logsource: LogSource) -> tuple[list[CompiledRule], RouteMatcher]:
        found = self._routes.get(logsource)
        if found is None:
            rules = [rule for rule in self.rules if applies(rule.logsource, logsource)]
            found = (rules, self._compile(rules))
            self._routes[logsource] = found
        return found

    def _compile(self, rules: list[CompiledRule]) -> RouteMatcher:
        if not self.generate_code:
            return _closure_route(rules)
        try:
            return compile_route([rule.conditions for rule in rules], [rule.matcher for rule in rules])
        except (RecursionError, SyntaxError, MemoryError, TypeError) as error:
            # e.g. a condition nested deeper than the Python compiler accepts: closures still work
            log.warning("generated matcher not possible (%s); using closures for %d rules", error, len(rules))
            return _closure_route(rules)

    def match(self, event: Event) -> list[Alert]:
        rules, matcher = self._route(event.logsource)
        if not rules:
            return []
        return [Alert(rules[index].id, rules[index].title, rules[index].level, rules[index].tags, event)
                for index in matcher(event.fields, event.raw)]
