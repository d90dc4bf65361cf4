"""One scheduled run (``seccenter scan``): every configured source through the pipeline, then notifications about
the run's new alerts, then retention, with a summary that is stored and returned.

Sources are read in a fixed order (log sources, capture folders, the interface, YARA targets), each with the
same rules; correlation windows are carried from source to source and run to run by the store. A source that
fails (a file that cannot be read, an interface that cannot be captured on) is reported and the run goes on.
The lock that keeps two runs apart is ``scan_lock``, taken by the caller before the store is opened.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import gzip
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from seccenter import pipeline
from seccenter.collect.interface import CollectOptions
from seccenter.collect.live import CaptureError, LiveCapture
from seccenter.collect.packets.capture import capture_format
from seccenter.config import Config, LogSource, YaraTarget
from seccenter.detect.filewalk import WalkOptions
from seccenter.detect.ioc import IocSet
from seccenter.detect.ioc.filecheck import IocFileCheck
from seccenter.detect.sigma import RuleSet, load_rules, standard_pipeline
from seccenter.detect.yara_rules import CompiledRules, compile_rules
from seccenter.detect.yarascan import ScanOptions
from seccenter.incidents.audit import current_actor
from seccenter.notify import notify
from seccenter.store.alerts import LEVELS, count_by_level, list_alerts
from seccenter.store.db import refuse_foreign_link
from seccenter.store.retention import purge
from seccenter.store.scan_runs import finish_run, start_run

log = logging.getLogger(__name__)

KINDS = ("logs", "pcaps", "interface", "yara")
STAGES = ("rules", *KINDS, "notify", "retention")
MAX_WARNINGS = 50
"""Warnings kept in a summary (rule and list problems repeat on every run; the first ones say enough)."""
MAX_ERRORS_SHOWN = 5
"""Failed files named in a source's error; the rest are counted."""
GLOB_CHARACTERS = frozenset("*?[")


class ScanError(Exception):
    """The run cannot be done (exit code 2)."""


class ScanLocked(ScanError):
    """Another run holds the lock."""


@contextlib.contextmanager
def scan_lock(db_path: Path) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``DB.lock`` beside the store for the block; raises ``ScanLocked`` at once
    (no waiting) when another run holds it. The kernel drops the lock when its holder ends, however it ends,
    so a killed run never leaves a stale lock behind; the file itself is kept (removing it would let two runs
    lock two different files). A database path that is another user's symbolic link is refused first
    (``StoreError``), before the lock file is created beside where that link points."""
    refuse_foreign_link(db_path)
    lock_path = Path(f"{db_path.resolve()}.lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise ScanError(f"cannot open the lock file {lock_path}: {error.strerror or error}") from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ScanLocked(f"another seccenter scan is running (lock {lock_path} held)") from None
        yield lock_path
    finally:
        os.close(descriptor)


@dataclass
class SourceResult:
    """What one configured source gave in this run."""

    name: str
    kind: str
    files: int = 0
    """Files read (log files, captures, live capture files, files scanned with YARA)."""
    events: int = 0
    new: int = 0
    malformed: int = 0
    alerts: int = 0
    """New alerts stored from this source."""
    error: str | None = None
    failed: bool = False
    """Nothing could be read from the source (``error`` says why)."""
    note: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "files": self.files, "events": self.events, "new": self.new,
                "malformed": self.malformed, "alerts": self.alerts, "error": self.error, "failed": self.failed,
                "note": self.note, "seconds": round(self.seconds, 3)}


@dataclass
class ScanSummary:
    """A run as stored in ``scan_runs.summary`` and printed by ``seccenter scan --json``."""

    run_id: int
    started: datetime
    config: str
    database: str | None
    threshold: str
    sources: list[SourceResult] = field(default_factory=list)
    alerts_by_level: dict[str, int] = field(default_factory=lambda: {level: 0 for level in reversed(LEVELS)})
    stages: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    retention: dict[str, Any] | None = None
    notifications: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    interrupted: bool = False
    finished: datetime | None = None
    duration: float = 0.0

    @property
    def new_at_or_above_threshold(self) -> int:
        wanted = LEVELS[LEVELS.index(self.threshold):]
        return sum(count for level, count in self.alerts_by_level.items() if level in wanted)

    @property
    def every_source_failed(self) -> bool:
        return bool(self.sources) and all(source.failed for source in self.sources)

    @property
    def exit_code(self) -> int:
        """2: the run failed (an error, every source failed, retention failed); 1: new alerts at or above the
        threshold; 0: nothing new at or above it."""
        if self.error is not None or self.every_source_failed or (self.retention or {}).get("error"):
            return 2
        return 1 if self.new_at_or_above_threshold else 0

    @property
    def status(self) -> str:
        if self.interrupted:
            return "interrupted"
        return {0: "ok", 1: "alerts", 2: "failed"}[self.exit_code]

    def total(self, name: str) -> int:
        return sum(getattr(source, name) for source in self.sources)

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("further warnings left out")

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "duration": round(self.duration, 3),
            "status": self.status,
            "exit_code": self.exit_code,
            "config": self.config,
            "database": self.database,
            "threshold": self.threshold,
            "sources": [source.to_dict() for source in self.sources],
            "totals": {name: self.total(name) for name in ("files", "events", "new", "malformed", "alerts")},
            "alerts_by_level": self.alerts_by_level,
            "new_at_or_above_threshold": self.new_at_or_above_threshold,
            "stages": {name: round(seconds, 3) for name, seconds in self.stages.items()},
            "retention": self.retention,
            "notifications": self.notifications,
            "warnings": self.warnings,
            "error": self.error,
        }


@contextlib.contextmanager
def applied_environment(values: Mapping[str, str]) -> Iterator[None]:
    """The organisation's settings (audit actor, NIS2 class, zone) as the environment the other commands read,
    for the block only."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_scan(config: Config, db: Database, *, database: Path | None = None,
             placeholders: Mapping[str, Sequence[Any]] | None = None) -> ScanSummary:
    """One run over every source of ``config``, stored in ``scan_runs`` (started first, finished with its summary
    however it ends). ``database`` is only named in the summary; ``placeholders`` are the values of Sigma's
    ``%name%`` placeholders (``rules.placeholders``, read by the caller). Errors of the run are in the summary
    (``error``, ``exit_code`` 2), not raised; Ctrl-C (or SIGTERM turned into it) ends the run as interrupted."""
    with applied_environment(config.organisation.environment()):
        run_id, first_alert_id = start_run(db)
        summary = ScanSummary(run_id, datetime.now(UTC), str(config.path.resolve()),
                              str(database.resolve()) if database else None, config.threshold)
        began = time.monotonic()
        try:
            try:
                with _stage(summary, "rules"):
                    run = _Run(config, db, summary, placeholders)
                run.sources()
            finally:
                summary.alerts_by_level = count_by_level(db, first_id=first_alert_id)
            # notified before retention runs: what this run found is sent out whatever retention then erases
            with _stage(summary, "notify"):
                _notify(config, db, summary, run_id, first_alert_id)
            with _stage(summary, "retention"):
                _retention(config, db, summary)
        except ScanError as error:
            summary.error = str(error)
        except KeyboardInterrupt:
            summary.interrupted = True
            summary.error = "interrupted; what was stored before is kept, the next run goes on from there"
        except Exception as error:  # a scheduled run records why it failed rather than leave the row running
            log.exception("the scan failed")
            summary.error = f"{type(error).__name__}: {error}"
        summary.finished = datetime.now(UTC)
        summary.duration = time.monotonic() - began
        finish_run(db, run_id, summary.status, summary.exit_code, summary.to_dict())
    return summary


@contextlib.contextmanager
def _stage(summary: ScanSummary, name: str) -> Iterator[None]:
    began = time.monotonic()
    try:
        yield
    finally:
        summary.stages[name] += time.monotonic() - began


class _Run:
    """The sources part of a run: rules and lists loaded once, then each source in turn."""

    def __init__(self, config: Config, db: Database, summary: ScanSummary,
                 placeholders: Mapping[str, Sequence[Any]] | None) -> None:
        self.config, self.db, self.summary = config, db, summary
        self.ruleset = self._sigma(placeholders)
        self.iocs = self._iocs()
        self.yara_rules: dict[tuple[Path, ...], CompiledRules] = {}
        self.payload_scan = self._payload_scan()

    def _sigma(self, placeholders: Mapping[str, Sequence[Any]] | None) -> RuleSet:
        ruleset = load_rules(self.config.rules.sigma, standard_pipeline(placeholders))
        for error in ruleset.errors:
            self.summary.warn(f"Sigma rule not loaded: {error}")
        if not ruleset.rules:
            raise ScanError(f"no Sigma rule could be loaded from {', '.join(map(str, self.config.rules.sigma))} "
                            "(rules.sigma)")
        return ruleset

    def _iocs(self) -> IocSet | None:
        if not self.config.sources.ioc:
            return None
        iocs = IocSet.load(self.config.sources.ioc)
        for problem in iocs.problems:
            self.summary.warn(f"IOC not loaded: {problem}")
        if not len(iocs):
            self.summary.warn(f"no indicator could be loaded from {', '.join(map(str, self.config.sources.ioc))} "
                              "(sources.ioc)")
            return None
        return iocs

    def _compiled(self, paths: tuple[Path, ...]) -> CompiledRules:
        if paths not in self.yara_rules:
            compiled = compile_rules(paths)
            for error in compiled.errors:
                self.summary.warn(f"YARA rule file not loaded: {error}")
            self.yara_rules[paths] = compiled
        return self.yara_rules[paths]

    def _payload_scan(self) -> pipeline.PayloadScan | None:
        sources = self.config.sources
        if not self.config.rules.payload_scan or not (sources.pcaps or sources.interface):
            return None
        compiled = self._compiled(self.config.rules.yara)
        if compiled.rules is None:
            self.summary.warn("packet payloads are not scanned: no YARA rule could be loaded from "
                              f"{', '.join(map(str, self.config.rules.yara))} (rules.yara)")
            return None
        return pipeline.PayloadScan(lambda: compiled, self.config.rules.payload_limit)

    def sources(self) -> None:
        sources = self.config.sources
        for log_source in sources.logs:
            self._source("logs", log_source.pattern, partial(self._logs, log_source))
        for folder in sources.pcaps:
            self._source("pcaps", str(folder), partial(self._pcaps, folder))
        if sources.interface is not None:
            self._source("interface", sources.interface.name, self._interface)
        for target in sources.yara:
            self._source("yara", ", ".join(map(str, target.paths)), partial(self._yara, target))

    def _source(self, kind: str, name: str, read: Callable[[SourceResult], None]) -> None:
        result = SourceResult(name, kind)
        self.summary.sources.append(result)
        began = time.monotonic()
        with _stage(self.summary, kind):
            try:
                read(result)
            except Exception as error:  # one source's failure must not cost the others their run
                log.exception("source %s failed", name)
                result.error, result.failed = f"{type(error).__name__}: {error}", True
        result.seconds = time.monotonic() - began

    def _ingest(self, paths: list[Path], options: CollectOptions, fmt: str | None = None
                ) -> list[pipeline.SourceReport]:
        if not paths:
            return []
        return pipeline.ingest(self.db, paths, self.ruleset, fmt=fmt, options=options, iocs=self.iocs,
                               payload_scan=self.payload_scan).sources

    def _logs(self, source: LogSource, result: SourceResult) -> None:
        """A file, a folder or a glob, expanded now (files that appeared since the last run are read too)."""
        if GLOB_CHARACTERS & set(source.pattern):
            paths = [Path(path) for path in sorted(glob.glob(source.pattern, recursive=True))]
            if not paths:
                result.error, result.failed = "no file matches", True
                return
        else:
            paths = [Path(source.pattern)]
        # a last line still being written is left for the next run rather than read half
        _add(result, self._ingest(paths, CollectOptions(tz=source.timezone, year=source.year, wait_for_newline=True),
                                  source.format))

    def _pcaps(self, folder: Path, result: SourceResult) -> None:
        """The packet captures (pcap, pcapng, also gzip-compressed) in a folder; other files are left alone."""
        captures: list[Path] = []
        problems: list[pipeline.SourceReport] = []
        others = 0
        for item in pipeline.expand_paths([folder]):
            if isinstance(item, pipeline.SourceReport):
                problems.append(item)
            elif _is_capture(item):
                captures.append(item)
            else:
                others += 1
        # the capture tcpdump is still writing ends in a cut record: it is read up to there, the rest next run
        _add(result, problems + self._ingest(captures, CollectOptions(wait_for_newline=True)))
        notes = [f"{others} other file{'s' if others > 1 else ''} left alone"] if others else []
        if not captures and not problems:
            notes.append("no capture files")
        result.note = "; ".join(notes) or None

    def _interface(self, result: SourceResult) -> None:
        settings = self.config.sources.interface
        assert settings is not None
        capture = LiveCapture(settings.name, bpf=settings.filter, duration=settings.seconds)
        try:
            captured = pipeline.sniff(self.db, capture.chunks(), self.ruleset, iocs=self.iocs,
                                      payload_scan=self.payload_scan)
        except CaptureError as error:
            result.error, result.failed = str(error), True
            return
        _add(result, captured.sources)
        result.note = f"{capture.packets} packets in {settings.seconds:g} s"

    def _yara(self, target: YaraTarget, result: SourceResult) -> None:
        if not any(os.path.lexists(path) for path in target.paths):
            result.error, result.failed = "no such file or directory", True
            return
        compiled = self._compiled(target.rules)
        if compiled.rules is None:
            result.error = f"no YARA rule could be loaded from {', '.join(map(str, target.rules))}"
            result.failed = True
            return
        checks = [check] if self.iocs is not None and (check := IocFileCheck(self.iocs)) else []
        scanned = pipeline.yara_scan(self.db, compiled, target.paths,
                                     ScanOptions(max_size=target.max_size, timeout=target.timeout),
                                     WalkOptions(target.exclude, max_size=target.max_size), checks)
        result.files = scanned.files_scanned
        result.events = len(scanned.matches)
        result.new = result.alerts = scanned.new_alerts
        counts = ((scanned.unchanged, "unchanged"), (len(scanned.skipped), "skipped"))
        result.note = ", ".join(f"{count} {what}" for count, what in counts if count) or None


def _add(result: SourceResult, reports: Sequence[pipeline.SourceReport]) -> None:
    """Count the files of one source; the source failed when none of them could be read."""
    failed = [report for report in reports if report.error is not None]
    for report in reports:
        result.files += report.error is None
        result.events += report.events
        result.new += report.new_events
        result.malformed += report.malformed
        result.alerts += report.alerts
    if failed:
        named = "; ".join(report.error if report.path == result.name else f"{report.path}: {report.error}"
                          for report in failed[:MAX_ERRORS_SHOWN])
        more = f" (and {len(failed) - MAX_ERRORS_SHOWN} more)" if len(failed) > MAX_ERRORS_SHOWN else ""
        result.error = named + more
        result.failed = result.files == 0


def _is_capture(path: Path) -> bool:
    try:
        with path.open("rb") as raw:
            head = raw.read(16)
            if head.startswith(pipeline.GZIP_MAGIC):
                raw.seek(0)
                with gzip.GzipFile(fileobj=raw) as unpacked:
                    head = unpacked.read(16)
    except (OSError, EOFError):
        return False
    return capture_format(head) is not None


def _retention(config: Config, db: Database, summary: ScanSummary) -> None:
    """Delete what is older than the configured periods (no VACUUM: it would hold the write lock for the whole
    rewrite and keep the analysts' writes waiting; SQLite reuses the freed pages)."""
    periods = config.retention
    if not periods.any:
        return
    try:
        report = purge(db, events=periods.events, alerts=periods.alerts, quarantine=periods.quarantine,
                       vacuum=False, actor=current_actor())
    except Exception as error:  # recorded as the run's failure
        log.exception("retention failed")
        summary.retention = {"error": f"{type(error).__name__}: {error}"}
        return
    summary.retention = report.to_dict()


def _notify(config: Config, db: Database, summary: ScanSummary, run_id: int, first_alert_id: int) -> None:
    if not config.notifications.channels:
        return
    alerts = list_alerts(db, min_level=config.threshold, first_id=first_alert_id) \
        if summary.new_at_or_above_threshold else []
    summary.notifications = notify(db, config.notifications, run_id, alerts, config.threshold).to_dict()
