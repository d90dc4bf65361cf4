"""The one place where collect → detect → store meet."""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from sqlite_utils import Database

from seccenter.collect import registry, tail
from seccenter.collect.gzipped import BoundedGzipFile, DecompressionBomb
from seccenter.collect.interface import CollectOptions, Collector, Position
from seccenter.collect.packets.flows import DEFAULT_PAYLOAD_LIMIT
from seccenter.collect.pcap import PcapCollector
from seccenter.detect.alert import Alert
from seccenter.detect.correlation import CorrelationAlert, CorrelationEngine
from seccenter.detect.engine import Engine
from seccenter.detect.filewalk import FileEntry, Skipped, WalkOptions, display_path, walk
from seccenter.detect.ioc import IocSet
from seccenter.detect.ioc.engine import engine_for
from seccenter.detect.sigma import RuleSet
from seccenter.detect.yara_rules import CompiledRules, RuleError
from seccenter.detect.yarascan import (
    DEFAULT_TIMEOUT,
    FileCheck,
    FileResult,
    Finding,
    FlowPayloadScanner,
    ScanOptions,
    scan_files,
    scan_pid,
)
from seccenter.events import Event, LogSource, Malformed, Origin
from seccenter.store.alerts import insert_alerts, insert_correlation_alerts, insert_detailed_alerts
from seccenter.store.correlation_state import load_state, save_state
from seccenter.store.events import event_ids, insert_events, insert_malformed
from seccenter.store.filescan import forget_scanned, is_unchanged, save_scanned
from seccenter.store.ingest_state import get_checkpoint, save_checkpoint
from seccenter.store.transaction import write_transaction

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
    flows_evicted: int = 0
    """Packet captures: flows ended early (``end_reason: evicted``) because the flow table was full."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "events": self.events, "new_events": self.new_events,
            "malformed": self.malformed, "alerts": self.alerts, "error": self.error, "note": self.note,
            "malformed_reasons": dict(self.malformed_reasons), "by_kind": dict(self.by_kind),
            "flows_evicted": self.flows_evicted,
        }


@dataclass
class IngestSummary:
    sources: list[SourceReport] = field(default_factory=list)
    correlation_alerts: list[CorrelationAlert] = field(default_factory=list)
    correlation_skipped: dict[str, Counter[str]] = field(default_factory=dict)
    """Per correlation rule id: matches not counted, by reason (``evicted`` and ``capped`` when its windows were
    full; ``late``, ``after_alert``, ``missing_value``, ``non_numeric``, ``bad_time``)."""

    def add_correlation_skipped(self, skipped: dict[str, dict[str, int]]) -> None:
        for rule_id, reasons in skipped.items():
            self.correlation_skipped.setdefault(rule_id, Counter()).update(reasons)

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
            "correlation_skipped": {rule_id: dict(reasons) for rule_id, reasons in self.correlation_skipped.items()},
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
        return Source(BoundedGzipFile(raw), raw_head, info, compressed=True)
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
    """The collector's records; a damaged compressed stream ends them with one Malformed saying where, a
    decompression bomb with the source's error."""
    assert source.collector is not None
    try:
        yield from source.collector.parse(source.stream, path, position)
    except DecompressionBomb as bomb:
        report.error = str(bomb)
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


class PayloadScan:
    """YARA over packet captures: the first ``limit`` bytes each way of every flow, scanned when the flow ends.
    The rules are loaded when the first capture is met, so ingesting logs alone never compiles them."""

    def __init__(self, load_rules: Callable[[], CompiledRules], limit: int = DEFAULT_PAYLOAD_LIMIT,
                 timeout: int = DEFAULT_TIMEOUT) -> None:
        self._load_rules = load_rules
        self.limit = limit
        self.timeout = timeout

    @cached_property
    def rules(self) -> CompiledRules:
        return self._load_rules()

    def attach(self, collector: Collector) -> FlowPayloadScanner | None:
        """Make ``collector`` hand its flows' payload to a scanner, when it reads packet captures."""
        if not isinstance(collector, PcapCollector):
            return None
        scanner = FlowPayloadScanner(self.rules, self.timeout)
        collector.payload_hook = scanner
        collector.payload_limit = self.limit
        return scanner


def ingest(db: Database, paths: Iterable[Path], rules: RuleSet, fmt: str | None = None,
           options: CollectOptions | None = None, batch_size: int = BATCH_SIZE,
           iocs: IocSet | None = None, payload_scan: PayloadScan | None = None) -> IngestSummary:
    """Read new data from every source, detect (Sigma rules, the C2 indicators of ``iocs``, YARA over packet
    payloads with ``payload_scan``), and store events, alerts, malformed records and positions."""
    engine = engine_for(rules.runnable, iocs)
    correlations = CorrelationEngine(rules.correlations, state=load_state(db) if rules.correlations else None)
    summary = IngestSummary()
    for item in expand_paths(paths):
        if isinstance(item, SourceReport):
            summary.sources.append(item)
        else:
            summary.sources.append(_ingest_file(db, item, engine, correlations, summary.correlation_alerts, fmt,
                                                options, batch_size, payload_scan))
    summary.add_correlation_skipped(correlations.skipped)
    return summary


def _ingest_file(db: Database, path: Path, engine: Engine, correlations: CorrelationEngine,
                 correlated: list[CorrelationAlert], fmt: str | None, options: CollectOptions | None,
                 batch_size: int, payload_scan: PayloadScan | None = None) -> SourceReport:
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
        payloads = payload_scan.attach(source.collector) if payload_scan is not None else None
        _ingest_records(db, source, key, file_key, tail.fingerprint(identity), position, engine, correlations,
                        correlated, report, batch_size, payloads)
        if isinstance(source.collector, PcapCollector):
            report.flows_evicted = source.collector.stats.get("evicted", 0)
    finally:
        source.close()
    return report


def _ingest_records(db: Database, source: Source, key: str, file_key: str, fingerprint: str, position: Position,
                    engine: Engine, correlations: CorrelationEngine, correlated: list[CorrelationAlert],
                    report: SourceReport, batch_size: int, payloads: FlowPayloadScanner | None = None) -> None:
    """Read from ``position`` on; each batch of events, alerts, quarantined records and the new position
    is committed in one transaction, so a run killed at any point and re-run stores each event once."""
    assert source.collector is not None
    events: list[Event] = []
    malformed: list[Malformed] = []
    alerts: list[Alert] = []
    payload_alerts: list[tuple[Alert, dict[str, Any]]] = []

    def flush() -> None:
        # the write lock first: a batch that reads before it writes (the empty last one reads the correlation
        # table) would otherwise fail at once with "database is locked" when an analyst's write came in between
        with write_transaction(db):
            report.new_events += insert_events(db, events, file_key)
            insert_malformed(db, malformed, file_key)
            stored, found = alerts, []
            if correlations.rules:
                # the windows advance in the transaction that stores the events and the reading position
                found = correlations.process_alerts(alerts)
                correlated.extend(found)
                save_state(db, correlations.state(changed_only=True))
                stored = [alert for alert in alerts if correlations.emits_base_alerts(alert.rule_id)]
            if alerts or payload_alerts:
                # not alerts[0] and alerts[-1]: a pcap emits a flow when it ends, after events from later packets
                offsets = [alert.event.origin.offset for alert in [*alerts, *(alert for alert, _ in payload_alerts)]]
                ids = event_ids(db, key, file_key, min(offsets), max(offsets))
                report.alerts += insert_alerts(db, [(alert, ids[alert.event.origin.offset]) for alert in stored])
                report.alerts += insert_detailed_alerts(db, [(alert, ids[alert.event.origin.offset], details)
                                                             for alert, details in payload_alerts])
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
        payload_alerts.clear()

    for record in _records(source, key, position, report):
        if _count(report, record):
            events.append(record)
            alerts.extend(engine.match(record))
            if payloads is not None:
                # the collector scanned the flow's payload just before handing out its event
                payload_alerts.extend(payloads.take(record))
        else:
            malformed.append(record)
        if len(events) + len(malformed) >= batch_size:
            flush()
    flush()


def sniff(db: Database, chunks: Iterable[Path], rules: RuleSet, options: CollectOptions | None = None,
          iocs: IocSet | None = None, payload_scan: PayloadScan | None = None) -> IngestSummary:
    """Live capture: each finished capture file goes through ``ingest`` as it comes; one summary for all."""
    summary = IngestSummary()
    for path in chunks:
        part = ingest(db, [path], rules, fmt="pcap", options=options, iocs=iocs, payload_scan=payload_scan)
        summary.sources.extend(part.sources)
        summary.correlation_alerts.extend(part.correlation_alerts)
        summary.add_correlation_skipped(part.correlation_skipped)
    return summary


@dataclass
class FileScanSummary:
    """What a YARA scan did: files and bytes read, what was found, what was skipped and why."""

    files_scanned: int = 0
    bytes_scanned: int = 0
    matches: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    rule_errors: list[RuleError] = field(default_factory=list)
    unchanged: int = 0
    """Files skipped because neither they nor the rules changed since their last scan."""
    new_alerts: int = 0
    rules_from_cache: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"files_scanned": self.files_scanned, "bytes_scanned": self.bytes_scanned, "matches": self.matches,
                "skipped": [item.to_dict() for item in self.skipped],
                "rule_errors": [error.to_dict() for error in self.rule_errors]}


FILE_SCAN_BATCH = 500


def _scan_key(rules: CompiledRules, checks: Sequence[FileCheck]) -> str:
    """Identifies what files are scanned with: a file is scanned again when it changes."""
    return hashlib.sha256("\0".join([rules.key, *sorted(check.key for check in checks)]).encode()).hexdigest()


def _finding_event(origin_path: str, shown_path: str, size: int | None, sha256: str | None, finding: Finding,
                   now: datetime) -> Event:
    fields: dict[str, Any] = {"path": shown_path, "filename": os.path.basename(shown_path), "size": size,
                              "sha256": sha256, "rule": finding.rule, "namespace": finding.namespace,
                              "tags": list(finding.tags), "meta": dict(finding.meta),
                              "strings": [hit.to_dict() for hit in finding.strings],
                              "message": f"{finding.rule} matched {shown_path}"}
    return Event(now, finding.engine, LogSource("seccenter", "file_scan", finding.engine), fields,
                 f"{finding.rule_id} {shown_path}", Origin(origin_path, finding.first_offset))


def _store_findings(db: Database, origin_path: str, shown_path: str, size: int | None, sha256: str | None,
                    identity: str, findings: Sequence[Finding]) -> int:
    """One event per (content, rule) and its alert; ``identity`` (the content's hash) tells apart the contents
    a path has held, so a changed file alerts again and an unchanged one never twice."""
    now, stored = datetime.now(UTC), 0
    for finding in findings:
        event = _finding_event(origin_path, shown_path, size, sha256, finding, now)
        file_key = f"{identity}#{finding.rule_id}"
        insert_events(db, [event], file_key)
        event_id = event_ids(db, origin_path, file_key, event.origin.offset, event.origin.offset)[event.origin.offset]
        stored += insert_alerts(db, [(Alert(finding.rule_id, finding.rule, finding.level, finding.tags, event),
                                      event_id)])
    return stored


def yara_scan(db: Database, rules: CompiledRules, targets: Iterable[Path], options: ScanOptions,
              walk_options: WalkOptions | None = None, checks: Sequence[FileCheck] = (), full: bool = False,
              progress: Callable[[FileResult | Skipped], None] | None = None) -> FileScanSummary:
    """Scan the files below ``targets`` with ``rules`` (and ``checks``), store what is found as events with
    alerts, and remember each file scanned; files unchanged since their last scan with the same rules and
    checks are skipped unless ``full``."""
    summary = FileScanSummary(rule_errors=list(rules.errors), rules_from_cache=rules.from_cache)
    scan_key = _scan_key(rules, checks)
    walk_options = walk_options or WalkOptions(max_size=options.max_size)

    def to_scan() -> Iterator[FileEntry]:
        for item in walk(targets, walk_options):
            if isinstance(item, Skipped):
                summary.skipped.append(item)
                if progress is not None:
                    progress(item)
            elif not full and is_unchanged(db, item, scan_key):
                summary.unchanged += 1
            else:
                yield item

    scanned: list[FileEntry] = []
    changed: list[str] = []
    results: list[FileResult] = []

    def flush() -> None:
        with write_transaction(db):
            for result in results:
                path = result.entry.path
                summary.new_alerts += _store_findings(db, display_path(os.path.abspath(path)), display_path(path),
                                                      result.size, result.sha256, result.sha256 or "", result.findings)
            save_scanned(db, scanned, scan_key)
            forget_scanned(db, changed)
        scanned.clear()
        changed.clear()
        results.clear()

    for result in scan_files(rules, to_scan(), options, checks):
        if isinstance(result, Skipped):
            summary.skipped.append(result)
        else:
            summary.files_scanned += 1
            summary.bytes_scanned += result.size
            if result.changed:
                changed.append(result.entry.path)
            else:
                scanned.append(result.entry)
            if result.findings:
                results.append(result)
                summary.matches.extend(result.to_dicts())
        if progress is not None:
            progress(result)
        if len(scanned) + len(changed) >= FILE_SCAN_BATCH:
            flush()
    flush()
    return summary


def yara_scan_pid(db: Database, rules: CompiledRules, pid: int, timeout: int) -> FileScanSummary:
    """Scan a process's memory and store what is found (raises ``ProcessScanError`` when not permitted)."""
    summary = FileScanSummary(rule_errors=list(rules.errors), rules_from_cache=rules.from_cache)
    findings = scan_pid(rules, pid, timeout)
    name = f"pid:{pid}"
    summary.matches.extend({"path": name, **finding.to_dict(), "sha256": None} for finding in findings)
    try:
        # the process's start time (field 22 of /proc/PID/stat) tells apart the processes a pid has been
        started = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "unknown"
    with write_transaction(db):
        summary.new_alerts = _store_findings(db, name, name, None, None, f"start:{started}", findings)
    return summary
