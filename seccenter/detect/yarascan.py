"""Scanning files, process memory and flow payloads with compiled YARA rules.

Files are read by a thread pool (yara releases the GIL while it matches, hashlib while it hashes). Each file
is opened without following a link that was swapped in since the walk and without blocking (a FIFO swapped
in is refused, not waited on), checked to still be a regular file within the size limit, read once, and
scanned from memory with its own externals. Other per-file checks (IOC lists) run on the same read through
``FileCheck``: they get the path and a ``FileDigest`` whose hashes are computed on first use.

Nothing here writes to the store: results go back to the caller (``seccenter.pipeline``).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Protocol

import yara

from seccenter.collect.packets.flows import FlowPayload
from seccenter.detect.alert import Alert, level_for_score
from seccenter.detect.filewalk import FileEntry, Skipped, display_path
from seccenter.detect.yara_rules import CompiledRules

DEFAULT_MAX_SIZE = 64 << 20
DEFAULT_TIMEOUT = 60
MAX_STRINGS = 10
"""Matched strings kept per rule match (the first by offset)."""
PREVIEW_BYTES = 48
DEFAULT_SCORE = 75
"""THOR's score for a rule that gives none (a warning, medium)."""
LEVEL_NAMES = {"critical": "critical", "high": "high", "medium": "medium", "low": "low", "info": "informational",
               "informational": "informational", "alert": "high", "warning": "medium", "notice": "low"}


def level_of(meta: Mapping[str, Any]) -> str:
    """Alert level from a rule's meta: ``severity``/``level`` when it names one, else its ``score`` read as Loki
    reads it (``alert.level_for_score``: 100 high, 60 medium, 40 low, below informational)."""
    for key in ("severity", "level"):
        named = LEVEL_NAMES.get(str(meta.get(key, "")).strip().lower())
        if named:
            return named
    try:
        score = int(meta.get("score", DEFAULT_SCORE))
    except (TypeError, ValueError):
        score = DEFAULT_SCORE
    return level_for_score(score)


def preview(data: bytes, limit: int = PREVIEW_BYTES) -> str:
    """Printable ASCII as is, every other byte as ``\\xNN``: safe to print and to store as text."""
    return "".join(chr(byte) if 32 <= byte < 127 and byte != 92 else f"\\x{byte:02x}" for byte in data[:limit])


@dataclass(frozen=True, slots=True)
class StringHit:
    identifier: str
    offset: int
    data: str
    """A preview of the matched bytes (``preview``)."""
    length: int

    def to_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "offset": self.offset, "data": self.data, "length": self.length}


@dataclass(frozen=True)
class Finding:
    """Something found in a file or a payload: a YARA rule match, or a hit of another check (``engine``)."""

    rule: str
    namespace: str
    tags: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    strings: tuple[StringHit, ...] = ()
    engine: str = "yara"

    @property
    def rule_id(self) -> str:
        return f"{self.engine}:{self.namespace}:{self.rule}"

    @property
    def level(self) -> str:
        return level_of(self.meta)

    @property
    def first_offset(self) -> int:
        return self.strings[0].offset if self.strings else 0

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "namespace": self.namespace, "tags": list(self.tags), "meta": dict(self.meta),
                "strings": [hit.to_dict() for hit in self.strings]}


class FileDigest:
    """A file's size and type, and its hashes, each computed on first use from the bytes read once."""

    def __init__(self, data: bytes, filetype: str) -> None:
        self._data = data
        self.size = len(data)
        self.filetype = filetype

    @cached_property
    def md5(self) -> str:
        return hashlib.md5(self._data, usedforsecurity=False).hexdigest()

    @cached_property
    def sha1(self) -> str:
        return hashlib.sha1(self._data, usedforsecurity=False).hexdigest()

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self._data).hexdigest()


class FileCheck(Protocol):
    """A check run on every scanned file beside the YARA rules (an IOC list). ``key`` changes whenever what
    the check looks for changes: files are re-checked when it does."""

    key: str

    def __call__(self, path: Path, digest: FileDigest) -> list[Finding]: ...


@dataclass(frozen=True)
class ScanOptions:
    threads: int = os.cpu_count() or 2
    max_size: int = DEFAULT_MAX_SIZE
    timeout: int = DEFAULT_TIMEOUT
    """Seconds YARA may spend on one file (or one payload)."""


@dataclass
class FileResult:
    """One file scanned: what was read and what was found."""

    entry: FileEntry
    size: int
    sha256: str | None
    findings: list[Finding]
    changed: bool = False
    """The file changed while it was read (truncated, grown, rewritten): what was read was scanned, and the
    next scan looks at it again."""

    def to_dicts(self) -> list[dict[str, Any]]:
        return [{"path": display_path(self.entry.path), **finding.to_dict(), "sha256": self.sha256}
                for finding in self.findings]


_MAGIC = ((b"MZ", "EXE"), (b"\x7fELF", "ELF"), (b"\xcf\xfa\xed\xfe", "MACH-O"), (b"\xce\xfa\xed\xfe", "MACH-O"),
          (b"\xca\xfe\xba\xbe", "MACH-O"), (b"MDMP", "MDMP"), (b"{\\rtf", "RTF"), (b"%PDF", "PDF"),
          (b"GIF8", "GIF"), (b"PK\x03\x04", "ZIP"), (b"Rar!", "RAR"), (b"\x1f\x8b", "GZIP"),
          (b"\xd0\xcf\x11\xe0", "OLE"), (b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"))
_BY_EXTENSION = {".php": "PHP", ".phtml": "PHP", ".jsp": "JSP", ".jspx": "JSP", ".asp": "ASP", ".aspx": "ASP",
                 ".vbs": "VBS", ".bat": "BATCH", ".cmd": "BATCH", ".py": "Python", ".ps1": "PowerShell",
                 ".psm1": "PowerShell", ".sh": "SHELL", ".js": "JS"}


def filetype_of(head: bytes, extension: str) -> str:
    """THOR's file type names: from the magic bytes, else (scripts) from the extension; "" when unknown."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return _BY_EXTENSION.get(extension, "")


@cache
def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _findings(matches: Iterable[yara.Match]) -> list[Finding]:
    found = []
    for match in matches:
        hits = sorted(((instance.offset, string.identifier, instance) for string in match.strings
                       for instance in string.instances), key=lambda hit: (hit[0], hit[1]))[:MAX_STRINGS]
        found.append(Finding(match.rule, match.namespace, tuple(match.tags), dict(match.meta), tuple(
            StringHit(identifier, offset, preview(instance.matched_data), instance.matched_length)
            for offset, identifier, instance in hits)))
    return found


def _read(entry: FileEntry, max_size: int) -> tuple[bytes, bool] | Skipped:
    """The file's bytes, and whether it changed while being read; or why it could not be read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if entry.through_link else os.O_NOFOLLOW)
    try:
        descriptor = os.open(entry.path, flags)
    except FileNotFoundError:
        return Skipped(entry.path, "disappeared before it was scanned")
    except OSError as error:
        return Skipped(entry.path, f"cannot open: {error.strerror or error}")
    with open(descriptor, "rb", buffering=0) as stream:
        try:
            before = os.fstat(descriptor)
            if not stat.S_ISREG(before.st_mode):
                return Skipped(entry.path, "no longer a regular file when it was scanned: not read")
            if before.st_size > max_size:
                return Skipped(entry.path, f"larger than the maximum size ({before.st_size} > {max_size} bytes)")
            chunks, left = [], min(before.st_size, max_size) + 1
            while left > 0:
                chunk = stream.read(left)
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
            data = b"".join(chunks) if len(chunks) != 1 else chunks[0]
            after = os.fstat(descriptor)
        except OSError as error:
            return Skipped(entry.path, f"cannot read: {error.strerror or error}")
    changed = (len(data) != before.st_size or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
               or (before.st_ino, before.st_size, before.st_mtime_ns) != (entry.inode, entry.size, entry.mtime_ns))
    return data[:max_size], changed


def file_externals(entry: FileEntry, digest: FileDigest, hash_externals: frozenset[str]) -> dict[str, str]:
    # YARA takes UTF-8 text: bytes of a name that are not UTF-8 are given as \xNN
    name = display_path(os.path.basename(entry.path))
    extension = os.path.splitext(name)[1].lower()
    externals = {"filename": name, "filepath": display_path(os.path.dirname(os.path.abspath(entry.path))),
                 "extension": extension, "filetype": digest.filetype, "owner": _owner(entry.uid)}
    for name in hash_externals:
        externals[name] = getattr(digest, name)
    return externals


def scan_file(rules: CompiledRules, entry: FileEntry, options: ScanOptions,
              checks: Sequence[FileCheck] = ()) -> FileResult | Skipped:
    read = _read(entry, options.max_size)
    if isinstance(read, Skipped):
        return read
    data, changed = read
    extension = os.path.splitext(entry.path)[1].lower()
    digest = FileDigest(data, filetype_of(data[:8], extension))
    findings: list[Finding] = []
    if rules.rules is not None:
        try:
            findings = _findings(rules.rules.match(
                data=data, externals=file_externals(entry, digest, rules.hash_externals), timeout=options.timeout))
        except yara.TimeoutError:
            return Skipped(entry.path, f"YARA timed out after {options.timeout} s")
        except yara.Error as error:
            return Skipped(entry.path, f"YARA: {error}")
    path = Path(entry.path)
    for check in checks:
        findings.extend(check(path, digest))
    return FileResult(entry, digest.size, digest.sha256 if findings else None, findings, changed)


def scan_files(rules: CompiledRules, entries: Iterable[FileEntry], options: ScanOptions,
               checks: Sequence[FileCheck] = ()) -> Iterator[FileResult | Skipped]:
    """Scan in a thread pool, results in the order of ``entries``. ``entries`` is consumed in the calling
    thread (it may query the store) and only a few files per thread are in flight, so memory stays bounded."""
    threads = max(1, options.threads)
    if threads == 1:
        for entry in entries:
            yield scan_file(rules, entry, options, checks)
        return
    pending: deque[Future[FileResult | Skipped]] = deque()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="yara") as pool:
        for entry in entries:
            pending.append(pool.submit(scan_file, rules, entry, options, checks))
            if len(pending) >= threads * 4:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class ProcessScanError(Exception):
    """A process's memory could not be scanned (no such process, or not permitted)."""


def scan_pid(rules: CompiledRules, pid: int, timeout: int = DEFAULT_TIMEOUT) -> list[Finding]:
    """Scan a running process's memory (YARA attaches with ptrace: root or CAP_SYS_PTRACE is needed)."""
    if rules.rules is None:
        return []
    if not os.path.exists(f"/proc/{pid}"):
        raise ProcessScanError(f"no process with id {pid}")
    try:
        return _findings(rules.rules.match(pid=pid, timeout=timeout))
    except yara.TimeoutError:
        raise ProcessScanError(f"scanning process {pid} timed out after {timeout} s") from None
    except yara.Error as error:
        raise ProcessScanError(
            f"cannot scan the memory of process {pid} ({error}): this needs root or CAP_SYS_PTRACE, and "
            "/proc/sys/kernel/yama/ptrace_scope must allow it") from None


def scan_bytes(rules: CompiledRules, data: bytes, timeout: int = DEFAULT_TIMEOUT) -> list[Finding]:
    if rules.rules is None or not data:
        return []
    return _findings(rules.rules.match(data=data, timeout=timeout))


class FlowPayloadScanner:
    """The ``payload_hook`` of the pcap collector: scans the first bytes of each flow, client and server side
    apart, and keeps the alerts for the flow's event until the caller takes them (``take``), which it does
    when the event reaches it (the hook is called just before the collector hands the event out)."""

    def __init__(self, rules: CompiledRules, timeout: int = DEFAULT_TIMEOUT) -> None:
        self.rules = rules
        self.timeout = timeout
        self.pending: dict[int, list[tuple[Alert, dict[str, Any]]]] = {}
        self.errors = 0
        """Payloads YARA failed on (timeout, internal error): counted, the flow event is stored anyway."""

    def __call__(self, payload: FlowPayload) -> None:
        found: list[tuple[Alert, dict[str, Any]]] = []
        for direction, data in (("client", payload.client), ("server", payload.server)):
            try:
                findings = scan_bytes(self.rules, data, self.timeout)
            except yara.Error:
                self.errors += 1
                continue
            for finding in findings:
                alert = Alert(finding.rule_id, finding.rule, finding.level, finding.tags, payload.event)
                found.append((alert, {"engine": "yara", "direction": direction, "scanned_bytes": len(data),
                                      "payload_truncated": payload.truncated, **finding.to_dict()}))
        if found:
            self.pending[id(payload.event)] = found

    def take(self, event: object) -> list[tuple[Alert, dict[str, Any]]]:
        return self.pending.pop(id(event), [])
