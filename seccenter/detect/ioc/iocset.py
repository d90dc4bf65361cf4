"""A set of IOC lists, loaded from files and directories, matched against files and events."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seccenter.detect.alert import Alert
from seccenter.detect.ioc.lists import (
    LineError,
    ListProblem,
    ListReport,
    clean_description,
    comment_text,
    parse_c2,
    parse_filename,
    parse_hash,
    read_lines,
)
from seccenter.detect.ioc.model import C2, C2_SCORE, FILENAME, HASH, Indicator, IocHit
from seccenter.detect.ioc.network import C2Index
from seccenter.detect.ioc.pathmatch import PathMatcher
from seccenter.detect.regex import Search
from seccenter.events import Event

FALSE_POSITIVE_HASH = "falsepositive-hash"
"""Loki's false-positive hash lists: a file with one of these hashes is not reported at all."""

ADDRESS_FIELDS = ("dst_ip", "dest_ip", "DestinationIp", "dst", "destination.ip")
NAME_FIELDS = ("query", "QueryName", "dns.question.name", "dns.rrname")
HOST_FIELDS = ("cs-host", "r-dns", "DestinationHostname", "url.domain", "http.hostname", "tls.sni", "server_name")
URL_FIELDS = ("c-uri", "url.original", "url.full")
ANSWER_FIELDS = ("answer",)
"""Where C2 indicators are looked for in an event: the remote address, the DNS name asked for (and the
addresses and names answered), the host of an HTTP request or a TLS ClientHello."""

DIGEST_NAMES = ("md5", "sha1", "sha256")


def list_kind(name: str) -> str | None:
    """The kind of list a file holds, from its name as Loki decides it (``hash``, ``filename``, ``c2`` in it)."""
    lowered = name.lower()
    if "hash" in lowered:
        return FALSE_POSITIVE_HASH if "falsepositive" in lowered else HASH
    if "filename" in lowered:
        return FILENAME
    if "c2" in lowered:
        return C2
    return None


def host_of(value: str) -> str:
    """``evil.example:8080`` → ``evil.example``; ``[2001:db8::1]:443`` → ``2001:db8::1``; a URL → its host."""
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


_ADDRESS, _NAME, _HOST, _URL = range(4)
_FIELD_KINDS = {**dict.fromkeys(ADDRESS_FIELDS, _ADDRESS), **dict.fromkeys(NAME_FIELDS + ANSWER_FIELDS, _NAME),
                **dict.fromkeys(HOST_FIELDS, _HOST), **dict.fromkeys(URL_FIELDS, _URL)}
_FIELD_ORDER = {name: order for order, name in enumerate(_FIELD_KINDS)}
_C2_FIELDS = frozenset(_FIELD_KINDS)


def _c2_lookups(c2: C2Index, fields: Mapping[str, Any], present: set[str]
                ) -> Iterator[tuple[str, str, Indicator | None]]:
    """(field, value seen, indicator or None) for the ``present`` fields that can name a C2 server."""
    for name in sorted(present, key=_FIELD_ORDER.__getitem__) if len(present) > 1 else present:
        value = fields[name]
        kind = _FIELD_KINDS[name]
        for text in (value,) if isinstance(value, str) else value if isinstance(value, list) else ():
            if not isinstance(text, str) or not text:
                continue
            if kind == _ADDRESS:
                yield name, text, c2.match_address(text)
            elif kind == _NAME:
                yield name, text, c2.match_name(text)
            elif kind == _HOST or "://" in text:  # a URL without scheme is a path: its host is in cs-host
                yield name, text, c2.match_name(host_of(text))


@dataclass(frozen=True, slots=True)
class FilenameIndicator:
    indicator: Indicator
    searched: str
    """The regex as searched (after Loki's transform for POSIX paths)."""
    search: Search
    false_positive: Search | None


class IocSet:
    """Hash, file name and C2 indicators from any number of lists; ``reports`` says what each list gave."""

    def __init__(self, posix_paths: bool = os.sep == "/") -> None:
        self.posix_paths = posix_paths
        self.hashes: dict[str, Indicator] = {}
        self.false_positive_hashes: set[str] = set()
        self.filenames: list[FilenameIndicator] = []
        self.c2 = C2Index()
        self.reports: list[ListReport] = []
        self._path_matcher: PathMatcher | None = None

    @classmethod
    def load(cls, paths: Iterable[Path], posix_paths: bool = os.sep == "/") -> IocSet:
        """Every list below ``paths`` (files, or directories walked for names with ``hash``, ``filename``,
        ``c2``); problems are in ``reports``, never raised."""
        iocs = cls(posix_paths)
        for path in paths:
            if not path.exists():
                iocs.reports.append(ListReport(str(path), list_kind(path.name)))
                iocs.reports[-1].problem(None, "no such file or directory")
            elif path.is_dir():
                for root, dirs, files in os.walk(path):
                    dirs[:] = sorted(name for name in dirs if not name.startswith("."))
                    for name in sorted(files):
                        if not name.startswith(".") and list_kind(name) is not None:
                            iocs.add_list(Path(root) / name)
            else:
                iocs.add_list(path)
        return iocs

    def __len__(self) -> int:
        return len(self.hashes) + len(self.filenames) + len(self.c2)

    @property
    def problems(self) -> list[ListProblem]:
        return [problem for report in self.reports for problem in report.problems]

    @property
    def problem_count(self) -> int:
        return sum(report.problem_count for report in self.reports)

    @property
    def needs_digests(self) -> bool:
        """True when ``match_file`` looks at digests: a caller can skip hashing files otherwise."""
        return bool(self.hashes or self.false_positive_hashes)

    def add_list(self, path: Path, kind: str | None = None) -> ListReport:
        """Load one list file; ``kind`` (``hash``, ``filename``, ``c2``, ``falsepositive-hash``) defaults to
        what its name says."""
        kind = kind or list_kind(path.name)
        report = ListReport(str(path), kind)
        self.reports.append(report)
        if kind is None:
            report.problem(None, "cannot tell the kind of list from the file name: it must contain 'hash', "
                                 "'filename' or 'c2' (as in signature-base's iocs/ folder)")
            return report
        try:
            with path.open("rb") as stream:
                self._read(stream, kind, report)
        except OSError as error:
            report.problem(None, error.strerror or str(error))
        return report

    def _read(self, stream: Any, kind: str, report: ListReport) -> None:
        last_comment = ""
        for number, text in read_lines(stream):
            report.lines += 1
            if text is None:
                report.problem(number, "line longer than 64 KiB: skipped")
                continue
            stripped = text.strip()
            if not stripped:
                last_comment = ""
                continue
            if stripped.startswith("#"):
                last_comment = comment_text(stripped)
                continue
            try:
                added = self._add_line(kind, text, number, last_comment, report.path)
            except LineError as error:
                report.problem(number, str(error))
                continue
            if added:
                report.indicators += 1
            else:
                report.duplicates += 1

    def _add_line(self, kind: str, text: str, number: int, last_comment: str, path: str) -> bool:
        if kind == C2:
            value, address, description = parse_c2(text)
            indicator = Indicator(C2, value, C2_SCORE, description or last_comment, path, number)
            return self.c2.add(indicator, address)
        if kind == FILENAME:
            pattern, searched, score, search, false_positive = parse_filename(text, self.posix_paths)
            # the same regex in a second list or line is kept too: its score or exclusion may differ
            self.filenames.append(FilenameIndicator(Indicator(FILENAME, pattern, score, last_comment, path, number),
                                                    searched, search, false_positive))
            self._path_matcher = None
            return True
        digest, score, description = parse_hash(text)
        if kind == FALSE_POSITIVE_HASH:
            if digest in self.false_positive_hashes:
                return False
            self.false_positive_hashes.add(digest)
            return True
        indicator = Indicator(HASH, digest, score, description or last_comment, path, number)
        return self.hashes.setdefault(digest, indicator) is indicator

    def match_file(self, path: str, digests: Mapping[str, str] | None = None) -> list[IocHit]:
        """File name indicators on the full ``path``; hash indicators on ``digests`` (``md5``, ``sha1``,
        ``sha256`` as hex). A file whose digest is on a false-positive list gives no hit at all (as in Loki)."""
        given = {name: str(value).lower() for name in DIGEST_NAMES if (value := (digests or {}).get(name))}
        if any(digest in self.false_positive_hashes for digest in given.values()):
            return []
        if self._path_matcher is None:
            self._path_matcher = PathMatcher([(entry.searched, entry.search) for entry in self.filenames])
        matched = (self.filenames[index] for index in self._path_matcher.matches(path))
        hits = [IocHit(entry.indicator, path, "path") for entry in matched
                if not (entry.false_positive is not None and entry.false_positive(path))]
        for name, digest in given.items():
            indicator = self.hashes.get(digest)
            if indicator is not None:
                hits.append(IocHit(indicator, digest, name))
        return hits

    def match_event(self, event: Event) -> list[IocHit]:
        """C2 indicators on an event's remote address, DNS name and answers, HTTP host and TLS server name."""
        present = _C2_FIELDS.intersection(event.fields)  # most events have none: one pass over their names
        if not present:
            return []
        hits: list[IocHit] = []
        seen: set[str] = set()
        for name, observed, indicator in _c2_lookups(self.c2, event.fields, present):
            if indicator is not None and indicator.value not in seen:
                seen.add(indicator.value)
                hits.append(IocHit(indicator, clean_description(observed), name))
        return hits

    def alerts(self, event: Event) -> list[Alert]:
        """``match_event`` as alerts, ready to be stored beside the Sigma rules' ones."""
        return [hit.alert(event) for hit in self.match_event(event)]

    def to_dict(self) -> dict[str, Any]:
        return {"hashes": len(self.hashes), "false_positive_hashes": len(self.false_positive_hashes),
                "filenames": len(self.filenames), "c2": len(self.c2),
                "lists": [report.to_dict() for report in self.reports]}
