"""The detection engine with C2 indicators beside the Sigma rules: one ``match`` per event for the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from seccenter.detect.alert import Alert
from seccenter.detect.engine import Engine
from seccenter.detect.ioc.iocset import IocSet
from seccenter.detect.sigma import CompiledRule
from seccenter.events import Event


class IocEngine(Engine):
    """Sigma rules first, then the C2 indicators of ``iocs``; their alerts are stored the same way."""

    def __init__(self, rules: Sequence[CompiledRule], iocs: IocSet, generate_code: bool = True) -> None:
        super().__init__(rules, generate_code)
        self.iocs = iocs

    def match(self, event: Event) -> list[Alert]:
        alerts = super().match(event)
        hits = self.iocs.match_event(event)
        if hits:
            alerts.extend(hit.alert(event) for hit in hits)
        return alerts


def engine_for(rules: Sequence[CompiledRule], iocs: IocSet | None = None) -> Engine:
    """The engine for a run: Sigma rules alone, or with C2 indicators when there are any."""
    if iocs is None or not len(iocs.c2):
        return Engine(rules)
    return IocEngine(rules, iocs)
