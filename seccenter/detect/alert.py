"""Alert: a rule that matched an event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seccenter.events import Event

SOURCE_IP_FIELDS = ("src_ip", "c-ip", "SourceIp", "IpAddress", "src", "source.ip")
"""Where the triage screen looks for the address an alert came from, first present wins."""


# Loki's default thresholds (loki.py, argparse: -a "Alert score" 100, -w "Warning score" 60, -n "Notice score"
# 40): YARA rule scores (signature-base's ``score`` meta) and IOC list scores mean the same on both scanners.
SCORE_LEVELS = ((100, "high"), (60, "medium"), (40, "low"))


def level_for_score(score: int) -> str:
    """Loki's ALERT, WARNING and NOTICE as Sigma levels high, medium and low; below NOTICE informational.
    ``critical`` never comes from a score, only from a rule that names it."""
    for floor, level in SCORE_LEVELS:
        if score >= floor:
            return level
    return "informational"


def source_ip(fields: Mapping[str, Any]) -> str | None:
    """The first of ``SOURCE_IP_FIELDS`` with a value, as text."""
    for name in SOURCE_IP_FIELDS:
        value = fields.get(name)
        if value:
            return str(value)
    return None


@dataclass(frozen=True, slots=True)
class Alert:
    rule_id: str
    rule_title: str
    level: str
    tags: tuple[str, ...]
    event: Event

    @property
    def time(self) -> datetime:
        return self.event.time

    @property
    def source_ip(self) -> str | None:
        return source_ip(self.event.fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "level": self.level,
            "tags": list(self.tags),
            "time": self.event.time.isoformat(),
            "source": self.event.source,
            "fields": self.event.fields,
            "origin": self.event.origin.to_dict(),
        }
