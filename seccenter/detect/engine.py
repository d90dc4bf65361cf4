"""Runs events through the compiled rules, each event only through the rules its logsource routes to."""

from __future__ import annotations

from collections.abc import Sequence

from seccenter.detect.alert import Alert
from seccenter.detect.matchers import Subject
from seccenter.detect.routing import applies
from seccenter.detect.sigma import CompiledRule
from seccenter.events import Event, LogSource


class Engine:
    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = list(rules)
        self._routes: dict[LogSource, list[CompiledRule]] = {}

    def rules_for(self, logsource: LogSource) -> list[CompiledRule]:
        found = self._routes.get(logsource)
        if found is None:
            found = [rule for rule in self.rules if applies(rule.logsource, logsource)]
            self._routes[logsource] = found
        return found

    def match(self, event: Event) -> list[Alert]:
        rules = self.rules_for(event.logsource)
        if not rules:
            return []
        subject = Subject(event.fields, event.raw)
        return [Alert(rule.id, rule.title, rule.level, rule.tags, event)
                for rule in rules if rule.matcher(subject)]
