"""The one place where collect → detect → store meet."""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlite_utils import Database

from seccenter.collect import registry, tail
from seccenter.collect.interface import CollectOptions, Collector, Position
from seccenter.detect.alert import Alert
from seccenter.detect.correlation import CorrelationAlert, CorrelationEngine
from seccenter.detect.engine import Engine
from seccenter.detect.ioc import IocSet
from seccenter.detect.ioc.engine import engine_for
from seccenter.detect.sigma import RuleSet
from seccenter.events import Event, Malformed, Origin
from seccenter.store.alerts import insert_alerts, insert_correlation_alerts
from seccenter.store.correlation_state import load_state, save_state
from seccenter.store.events import event_ids, insert_events, insert_malformed
from seccenter.store.ingest_state import get_checkpoint, save_checkpoint

BATCH_SIZE = 2000


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
    by_kind: Counter[str] = field(default_factory=Counter)
    """Events by logsource service (pcap: flow, dns, http, tls…; syslog: the program)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "events": self.events, "new_events": self.new_events,
            "malformed": self.malformed, "alerts": self.alerts, "error": self.error, "note": self.note,
            "malformed_reasons": dict(self.malformed_reasons), "by_kind": dict(self.by_kind),
        }


@dataclass
class IngestSummary:
    sources: list[SourceReport] = field(default_factory=list)
    correlation_alerts: list[CorrelationAlert] = field(default_factory=list)

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
            "by_kind": dict(sum((source.by_kind for source in self.sources), Counter())),
            "alerts": self.total("alerts"),
            "correlation_alerts": [alert.to_dict() for alert in self.correlation_alerts],
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


GZIP_MAGIC = b"\x1f\x8b"
COMPRESSION_ERRORS = (EOFError, OSError, zlib.error)
"""What reading a damaged gzip stream raises (gzip.BadGzipFile is an OSError)."""


@dataclass
class Source:
    """An opened input: the stream to parse (decompressed), what identifies the file, its collector."""

    stream: BinaryIO
    raw_head: bytes
    info: os.stat_result
    compressed: bool
    collector: Collector | None = None

    def close(self) -> None:
        self.stream.close()


def _open(path: Path, report: SourceReport) -> Source | None:
    """Open a file, transparently decompressing gzip; errors land in ``report``."""
    try:
        raw = path.open("rb")
    except OSError as error:
        report.error = error.strerror or str(error)
        return None
    info = os.fstat(raw.fileno())
    raw_head = raw.read(registry.SNIFF_BYTES)
    raw.seek(0)
    if raw_head.startswith(GZIP_MAGIC):
        return Source(gzip.GzipFile(fileobj=raw, mode="rb"), raw_head, info, compressed=True)
    return Source(raw, raw_head, info, compressed=False)


def _choose_collector(source: Source, fmt: str | None, options: CollectOptions | None,
                      report: SourceReport) -> bool:
    """Pick the collector by name or by sniffing the (decompressed) head; False when there is none."""
    try:
        head = source.stream.read(registry.SNIFF_BYTES) if source.compressed else source.raw_head
        source.stream.seek(0)
    except COMPRESSION_ERRORS as error:
        report.error = f"cannot decompress: {error}"
        return False
    if not head:
        report.note = "empty file"
        return False
    if fmt is not None:
        source.collector = registry.create(fmt, options)
    else:
        source.collector = registry.sniff(head, options)
        if source.collector is None:
            report.error = (f"format not recognised (none of: {', '.join(registry.COLLECTORS)}); "
                            "name it with --format")
            return False
    report.format = source.collector.name
    return True


def _records(source: Source, path: str, position: Position, report: SourceReport) -> Iterator[Event | Malformed]:
    """The collector's records; a damaged compressed stream ends them with one Malformed saying where."""
    assert source.collector is not None
    try:
        yield from source.collector.parse(source.stream, path, position)
    except COMPRESSION_ERRORS as error:
        yield Malformed(Origin(path, position.offset, position.line + 1),
                        f"compressed data damaged after {position.offset} decompressed bytes: {error}", b"")


def _count(report: SourceReport, record: Event | Malformed) -> bool:
    """Count a record in the report; True for an event."""
    if isinstance(record, Malformed):
        report.malformed += 1
        report.malformed_reasons[record.reason] += 1
        return False
    report.events += 1
    report.by_kind[record.logsource.service or record.source] += 1
    return True


def detect_paths(paths: Iterable[Path], rules: RuleSet, fmt: str | None = None,
                 options: CollectOptions | None = None,
                 reports: list[SourceReport] | None = None,
                 correlated: list[CorrelationAlert] | None = None, iocs: IocSet | None = None) -> Iterator[Alert]:
    """Stateless detection: parse each source and yield alerts; per-source reports go to ``reports``,
    correlation alerts (windows open only for this call) to ``correlated``; C2 indicators of ``iocs`` alert
    like rules."""
    engine = engine_for(rules.runnable, iocs)
    correlations = CorrelationEngine(rules.correlations)
    for item in expand_paths(paths):
        report = item if isinstance(item, SourceReport) else SourceReport(str(item))
        if reports is not None:
            reports.append(report)
        if isinstance(item, SourceReport):
            continue
        source = _open(item, report)
        if source is None:
            continue
        try:
            if not _choose_collector(source, fmt, options, report):
                continue
            for record in _records(source, str(item), Position(), report):
                if _count(report, record):
                    alerts = engine.match(record)
                    if alerts and correlations.rules:
                        found = correlations.process_alerts(alerts)
                        if correlated is not None:
                            correlated.extend(found)
                        alerts = [alert for alert in alerts if correlations.emits_base_alerts(alert.rule_id)]
                    report.alerts += len(alerts)
                    yield from alerts
        finally:
            source.close()


def ingest(db: Database, paths: Iterable[Path], rules: RuleSet, fmt: str | None = None,
           options: CollectOptions | None = None, batch_size: int = BATCH_SIZE,
           iocs: IocSet | None = None) -> IngestSummary:
    """Read new data from every source, detect (Sigma rules, and the C2 indicators of ``iocs``), and store
    events, alerts, malformed records and positions."""
    engine = engine_for(rules.runnable, iocs)
    correlations = CorrelationEngine(rules.correlations, state=load_state(db) if rules.correlations else None)
    summary = IngestSummary()
    for item in expand_paths(paths):
        if isinstance(item, SourceReport):
            summary.sources.append(item)
        else:
            summary.sources.append(_ingest_file(db, item, engine, correlations, summary.correlation_alerts, fmt,
                                                options, batch_size))
    return summary


def _ingest_file(db: Database, path: Path, engine: Engine, correlations: CorrelationEngine,
                 correlated: list[CorrelationAlert], fmt: str | None, options: CollectOptions | None,
                 batch_size: int) -> SourceReport:
    key = str(path.resolve())
    report = SourceReport(str(path))
    source = _open(path, report)
    if source is None:
        return report
    try:
        if not _choose_collector(source, fmt, options, report):
            return report
        assert source.collector is not None
        byte_offsets = source.collector.offsets_are_bytes and not source.compressed
        identity = source.collector.identity(source.raw_head)
        checkpoint = get_checkpoint(db, key)
        continues = checkpoint is None or source.collector.continues(source.raw_head, checkpoint.offset)
        position = tail.resume(checkpoint, source.info, identity, size_bounds_offset=byte_offsets,
                               continues=continues)
        if position is None or checkpoint is None:
            position, file_key = Position(), tail.new_file_key(source.info, identity)
        else:
            file_key = checkpoint.file_key
        if byte_offsets and position.offset and position.offset == source.info.st_size:
            report.note = "no new data"
            return report
        _ingest_records(db, source, key, file_key, tail.fingerprint(identity), position, engine, correlations,
                        correlated, report, batch_size)
    finally:
        source.close()
    return report


def _ingest_records(db: Database, source: Source, key: str, file_key: str, fingerprint: str, position: Position,
                    engine: Engine, correlations: CorrelationEngine, correlated: list[CorrelationAlert],
                    report: SourceReport, batch_size: int) -> None:
    """Read from ``position`` on; each batch of events, alerts, quarantined records and the new position
    is committed in one transaction, so a run killed at any point and re-run stores each event once."""
    assert source.collector is not None
    events: list[Event] = []
    malformed: list[Malformed] = []
    alerts: list[Alert] = []

    def flush() -> None:
        with db.atomic():
            report.new_events += insert_events(db, events, file_key)
            insert_malformed(db, malformed, file_key)
            stored, found = alerts, []
            if correlations.rules:
                # the windows advance in the transaction that stores the events and the reading position
                found = correlations.process_alerts(alerts)
                correlated.extend(found)
                save_state(db, correlations.state(changed_only=True))
                stored = [alert for alert in alerts if correlations.emits_base_alerts(alert.rule_id)]
            if alerts:
                # not alerts[0] and alerts[-1]: a pcap emits a flow when it ends, after events from later packets
                offsets = [alert.event.origin.offset for alert in alerts]
                ids = event_ids(db, key, file_key, min(offsets), max(offsets))
                report.alerts += insert_alerts(db, [(alert, ids[alert.event.origin.offset]) for alert in stored])
                # a correlation alert is completed by an event of this batch: its newest contributor
                report.alerts += insert_correlation_alerts(db, [
                    (alert, ids[alert.contributors[-1].offset]) for alert in found
                    if alert.contributors and alert.contributors[-1].offset in ids])
            save_checkpoint(db, key, tail.Checkpoint(
                file_key, source.info.st_dev, source.info.st_ino, fingerprint, source.collector.name,
                position.offset, position.line))
        events.clear()
        malformed.clear()
        alerts.clear()

    for record in _records(source, key, position, report):
        if _count(report, record):
            events.append(record)
            alerts.extend(engine.match(record))
        else:
            malformed.append(record)
        if len(events) + len(malformed) >= batch_size:
            flush()
    flush()


def sniff(db: Database, chunks: Iterable[Path], rules: RuleSet, options: CollectOptions | None = None
          ) -> IngestSummary:
    """Live capture: each finished capture file goes through ``ingest`` as it comes; one summary for all."""
    summary = IngestSummary()
    for path in chunks:
        part = ingest(db, [path], rules, fmt="pcap", options=options)
        summary.sources.extend(part.sources)
        summary.correlation_alerts.extend(part.correlation_alerts)
    return summary
