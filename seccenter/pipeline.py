"""The one place where collect → detect → store meet."""

from __future__ import annotations

import hashlib
import os
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlite_utils import Database

from seccenter.collect import registry
from seccenter.collect.interface import CollectError, CollectOptions, Collector, Position
from seccenter.detect.alert import Alert
from seccenter.detect.engine import Engine
from seccenter.detect.sigma import RuleSet
from seccenter.events import Event, Malformed
from seccenter.store.alerts import insert_alerts
from seccenter.store.events import event_ids, insert_events, insert_malformed
from seccenter.store.ingest_state import FileState, get_state, save_state

BATCH_SIZE = 2000
FINGERPRINT_BYTES = 1024


@dataclass
class SourceReport:
    """What happened to one input file."""

    path: str
    format: str | None = None
    events: int = 0
    new_events: int = 0
    malformed: int = 0
    alerts: int = 0
    error: str | None = None
    note: str | None = None
    malformed_reasons: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "events": self.events, "new_events": self.new_events,
            "malformed": self.malformed, "alerts": self.alerts, "error": self.error, "note": self.note,
            "malformed_reasons": dict(self.malformed_reasons),
        }


@dataclass
class IngestSummary:
    sources: list[SourceReport] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(source, name) for source in self.sources)

    @property
    def nothing_read(self) -> bool:
        """True when no source could be read at all: the one case a run counts as failed."""
        return all(source.error is not None for source in self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": len(self.sources),
            "events": self.total("events"),
            "new_events": self.total("new_events"),
            "malformed": self.total("malformed"),
            "alerts": self.total("alerts"),
            "errors": [{"path": s.path, "reason": s.error} for s in self.sources if s.error],
            "sources": [source.to_dict() for source in self.sources],
        }


def expand_paths(paths: Iterable[Path]) -> Iterator[Path | SourceReport]:
    """Regular files named or found below directories (symlinks to directories not followed, so no loops);
    anything else becomes a report saying why it was skipped."""
    for path in paths:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            yield SourceReport(str(path), error="no such file or directory")
            continue
        except OSError as error:
            yield SourceReport(str(path), error=error.strerror or str(error))
            continue
        if stat.S_ISDIR(mode):
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                yield from expand_paths(Path(root) / name for name in sorted(files))
        elif stat.S_ISREG(mode):
            yield path
        else:
            yield SourceReport(str(path), error="not a regular file (FIFO, socket or device): skipped")


def _choose_collector(head: bytes, fmt: str | None, options: CollectOptions | None) -> Collector:
    if fmt is not None:
        return registry.create(fmt, options)
    collector = registry.sniff(head, options)
    if collector is None:
        raise CollectError("format not recognised (neither syslog nor an access log); name it with --format")
    return collector


def _open(path: Path, report: SourceReport) -> BinaryIO | None:
    try:
        return path.open("rb")
    except OSError as error:
        report.error = error.strerror or str(error)
        return None


def detect_paths(paths: Iterable[Path], rules: RuleSet, fmt: str | None = None,
                 options: CollectOptions | None = None,
                 reports: list[SourceReport] | None = None) -> Iterator[Alert]:
    """Stateless detection: parse each source and yield alerts; per-source reports go to ``reports``."""
    engine = Engine(rules.rules)
    for item in expand_paths(paths):
        report = item if isinstance(item, SourceReport) else SourceReport(str(item))
        if reports is not None:
            reports.append(report)
        if isinstance(item, SourceReport):
            continue
        stream = _open(item, report)
        if stream is None:
            continue
        with stream:
            head = stream.read(registry.SNIFF_BYTES)
            if not head:
                report.note = "empty file"
                continue
            try:
                collector = _choose_collector(head, fmt, options)
            except CollectError as error:
                report.error = str(error)
                continue
            report.format = collector.name
            stream.seek(0)
            for record in collector.parse(stream, str(item), Position()):
                if isinstance(record, Malformed):
                    report.malformed += 1
                    report.malformed_reasons[record.reason] += 1
                    continue
                report.events += 1
                alerts = engine.match(record)
                report.alerts += len(alerts)
                yield from alerts


def _fingerprint(head: bytes) -> str:
    sample = head[:FINGERPRINT_BYTES]
    return f"{len(sample)}:{hashlib.sha256(sample).hexdigest()}"


def _fingerprint_matches(stored: str, head: bytes) -> bool:
    length, _, _digest = stored.partition(":")
    return length.isdigit() and _fingerprint(head[: int(length)]) == stored


def _resume_position(state: FileState | None, info: os.stat_result, head: bytes) -> Position:
    """Where to continue: the committed offset if this is the same file, not truncated; else the start."""
    if (state is not None and state.device == info.st_dev and state.inode == info.st_ino
            and info.st_size >= state.offset and _fingerprint_matches(state.fingerprint, head)):
        return Position(state.offset, state.line)
    return Position()


def ingest(db: Database, paths: Iterable[Path], rules: RuleSet, fmt: str | None = None,
           options: CollectOptions | None = None, batch_size: int = BATCH_SIZE) -> IngestSummary:
    """Read new data from every source, detect, and store events, alerts, malformed records and positions."""
    engine = Engine(rules.rules)
    summary = IngestSummary()
    for item in expand_paths(paths):
        if isinstance(item, SourceReport):
            summary.sources.append(item)
        else:
            summary.sources.append(_ingest_file(db, item, engine, fmt, options, batch_size))
    return summary


def _ingest_file(db: Database, path: Path, engine: Engine, fmt: str | None, options: CollectOptions | None,
                 batch_size: int) -> SourceReport:
    key = str(path.resolve())
    report = SourceReport(str(path))
    stream = _open(path, report)
    if stream is None:
        return report
    with stream:
        info = os.fstat(stream.fileno())
        head = stream.read(registry.SNIFF_BYTES)
        if not head:
            report.note = "empty file"
            return report
        state = get_state(db, key)
        position = _resume_position(state, info, head)
        resumed = position.offset > 0 and state is not None
        try:
            collector = _choose_collector(head, fmt or (state.format if resumed else None), options)
        except CollectError as error:
            report.error = str(error)
            return report
        report.format = collector.name
        if resumed and position.offset == info.st_size:
            report.note = "no new data"
            return report
        stream.seek(position.offset)
        fingerprint = _fingerprint(head)
        file_key = state.file_key if resumed else f"{info.st_dev}:{info.st_ino}:{fingerprint}"
        events: list[Event] = []
        malformed: list[Malformed] = []
        alerts: list[Alert] = []

        def flush() -> None:
            with db.atomic():
                report.new_events += insert_events(db, events, file_key)
                insert_malformed(db, malformed, file_key)
                if alerts:
                    ids = event_ids(db, key, file_key, alerts[0].event.origin.offset,
                                    alerts[-1].event.origin.offset)
                    report.alerts += insert_alerts(db, [(alert, ids[alert.event.origin.offset]) for alert in alerts])
                save_state(db, FileState(key, file_key, info.st_dev, info.st_ino, fingerprint, collector.name,
                                         position.offset, position.line))
            events.clear()
            malformed.clear()
            alerts.clear()

        for record in collector.parse(stream, key, position):
            if isinstance(record, Malformed):
                malformed.append(record)
                report.malformed += 1
                report.malformed_reasons[record.reason] += 1
            else:
                events.append(record)
                report.events += 1
                alerts.extend(engine.match(record))
            if len(events) + len(malformed) >= batch_size:
                flush()
        flush()
    return report
