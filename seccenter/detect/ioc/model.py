"""Indicators from IOC lists, and what a match of one becomes: an alert like a Sigma rule's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath

from seccenter.detect.alert import Alert, level_for_score
from seccenter.events import Event

HASH = "hash"
FILENAME = "filename"
C2 = "c2"
KINDS = (HASH, FILENAME, C2)

# A hash IOC without a score counts 100 and a C2 match is logged as ALERT, as in Loki.
HASH_DEFAULT_SCORE = 100
C2_SCORE = 100

_HASH_NAMES = {32: "MD5", 40: "SHA1", 64: "SHA256"}
_TAGS = {
    HASH: ("ioc.hash",),
    FILENAME: ("ioc.filename",),
    C2: ("attack.command-and-control", "ioc.c2"),
}


def hash_name(digest: str) -> str:
    """MD5, SHA1 or SHA256, by the length of the hex digest."""
    return _HASH_NAMES[len(digest)]


@dataclass(frozen=True, slots=True)
class Indicator:
    """One line of an IOC list: a hash, a file name regex or a C2 address/name, with where it was written."""

    kind: str
    value: str
    """Lower-case hex digest; the regex as written; an IP address, network or domain name, normalised."""
    score: int
    description: str
    list_path: str
    line: int

    @property
    def list_name(self) -> str:
        return PurePath(self.list_path).name

    @property
    def rule_id(self) -> str:
        """Stable while the list is edited around it: names the list and the indicator, not the line."""
        key = self.value
        if self.kind == FILENAME:  # a regex is long and may hold any character
            key = hashlib.sha1(self.value.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return f"ioc:{self.kind}:{self.list_name}:{key}"

    @property
    def title(self) -> str:
        if self.kind == HASH:
            head = f"{hash_name(self.value)} hash indicator: {self.value}"
        elif self.kind == FILENAME:
            head = f"File name indicator: {self.value}"
        else:
            head = f"C2 indicator: {self.value}"
        return f"{head} ({self.description})" if self.description else head

    @property
    def level(self) -> str:
        return level_for_score(self.score)

    @property
    def tags(self) -> tuple[str, ...]:
        return _TAGS[self.kind]

    @property
    def where(self) -> str:
        return f"{self.list_path}:{self.line}"


@dataclass(frozen=True, slots=True)
class IocHit:
    """An indicator that matched: what was seen (``observed``) and where (an event field, or the file's
    ``path``/``md5``/``sha1``/``sha256``)."""

    indicator: Indicator
    observed: str
    field: str

    @property
    def level(self) -> str:
        return self.indicator.level

    def alert(self, event: Event) -> Alert:
        """The alert for this hit on ``event``, stored and shown like a Sigma rule's."""
        indicator = self.indicator
        return Alert(indicator.rule_id, indicator.title, indicator.level, indicator.tags, event)
