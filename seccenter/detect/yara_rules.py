"""YARA rules for a run: found below the paths given, one namespace per file, compiled with the externals that
community rules (signature-base, LOKI/THOR style) expect, and cached on disk compiled.

A file that does not compile is reported with its line and the compiler's reason, and every other file still
loads. The cache key is a hash of the rule files (names, namespaces, bytes), the externals and the YARA version,
so any change recompiles and an unchanged set is loaded instead of compiled. ``include`` is disabled: the key
could not see an included file change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yara

RULE_SUFFIXES = (".yar", ".yara")

EXTERNALS: dict[str, str] = {
    "filename": "",    # the file's name
    "filepath": "",    # the folder it is in (signature-base compares it with "/var/log")
    "extension": "",   # lower case, with the dot: ".exe"
    "filetype": "",    # THOR's names from the magic bytes or the extension: "EXE", "ELF", "PHP", ...
    "owner": "",       # the owning user's name
    "md5": "",         # hashes of the content (LOKI passes md5), computed only when a rule names them
    "sha1": "",
    "sha256": "",
}
HASH_EXTERNALS = ("md5", "sha1", "sha256")
# a hash named as a variable, not hash.md5(...) of the hash module nor a string identifier like $md5
_HASH_IDENTIFIER = re.compile(rb"(?<![\w.$#@!])(md5|sha1|sha256)\b(?!\s*\()")
_COMPILER_MESSAGE = re.compile(r"^(?P<path>.*)\((?P<line>\d+)\): (?P<reason>.*)$", re.DOTALL)
CACHE_FORMAT = 1
"""Bumped when what the cache holds changes shape."""
CACHE_ENTRIES = 8
"""Compiled rule sets kept; the least recently used beyond that are removed (each is about 1 MB per 300 rules)."""


@dataclass(frozen=True)
class RuleError:
    """A rule file that did not load: where and why."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "reason": self.reason}


@dataclass
class CompiledRules:
    """The rules of a run. ``from_cache`` tells a load from the on-disk cache from a compilation."""

    rules: yara.Rules | None
    key: str
    namespaces: dict[str, str]
    """Namespace → rule file, for the files that loaded."""
    errors: list[RuleError] = field(default_factory=list)
    hash_externals: frozenset[str] = frozenset()
    """The hash externals some rule reads: only those are computed per file."""
    from_cache: bool = False
    cache_note: str | None = None
    """Why the cache was not used, when it was not."""


@dataclass(frozen=True)
class _RuleFile:
    namespace: str
    path: Path
    content: bytes


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/seccenter``, else ``~/.cache/seccenter``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "seccenter"


def _rule_paths(paths: Iterable[Path], errors: list[RuleError]) -> list[tuple[str, Path]]:
    """(namespace, file) for every rule file named or found below a directory; the namespace is the file's
    path below the directory given (or its name), without suffix, made unique."""
    found: list[tuple[str, Path]] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in RULE_SUFFIXES and p.is_file())
            found.extend((file.relative_to(path).with_suffix("").as_posix(), file) for file in files)
        elif path.is_file():
            found.append((path.stem, path))
        else:
            errors.append(RuleError(str(path), None, "no such file or directory"))
    taken: dict[str, int] = {}
    unique = []
    for namespace, file in found:
        taken[namespace] = taken.get(namespace, 0) + 1
        unique.append((namespace if taken[namespace] == 1 else f"{namespace}~{taken[namespace]}", file))
    return unique


def _read(paths: Iterable[Path], errors: list[RuleError]) -> list[_RuleFile]:
    files = []
    for namespace, path in _rule_paths(paths, errors):
        try:
            files.append(_RuleFile(namespace, path, path.read_bytes()))
        except OSError as error:
            errors.append(RuleError(str(path), None, error.strerror or str(error)))
    return files


def _cache_key(files: Sequence[_RuleFile]) -> str:
    digest = hashlib.sha256()
    for part in (f"format {CACHE_FORMAT}", f"yara {yara.YARA_VERSION} python {yara.__version__}",
                 json.dumps(EXTERNALS, sort_keys=True)):
        digest.update(part.encode() + b"\0")
    for file in files:
        digest.update(f"{file.namespace}\0{file.path}\0{len(file.content)}\0".encode(errors="surrogateescape"))
        digest.update(file.content)
    return digest.hexdigest()


def _compile(files: dict[str, _RuleFile]) -> yara.Rules:
    return yara.compile(filepaths={namespace: str(file.path) for namespace, file in files.items()},
                        externals=EXTERNALS, includes=False, error_on_warning=False)


def _error_for(file: _RuleFile, error: yara.Error) -> RuleError:
    match = _COMPILER_MESSAGE.match(str(error))
    if match:
        return RuleError(str(file.path), int(match["line"]), match["reason"])
    return RuleError(str(file.path), None, str(error))


def _compile_good(files: Sequence[_RuleFile], errors: list[RuleError]) -> yara.Rules | None:
    """Compile all files at once; when that fails, drop the file the compiler names (each file alone when it
    names none) and compile the rest again, so every bad file is reported and every good one loads."""
    remaining = {file.namespace: file for file in files}
    while remaining:
        try:
            return _compile(remaining)
        except yara.Error as error:
            match = _COMPILER_MESSAGE.match(str(error))
            culprit = next((file for file in remaining.values() if match and match["path"] == str(file.path)), None)
            if culprit is not None:
                errors.append(_error_for(culprit, error))
                del remaining[culprit.namespace]
                continue
            before = len(remaining)
            for file in list(remaining.values()):
                try:
                    _compile({file.namespace: file})
                except yara.Error as alone:
                    errors.append(_error_for(file, alone))
                    del remaining[file.namespace]
            if len(remaining) == before:
                # every file compiles alone but not together: report the combined failure on all of them
                for file in remaining.values():
                    errors.append(_error_for(file, error))
                return None
    return None


def _private_cache_dir(cache_dir: Path) -> str | None:
    """Create the cache folder (0700, and so the folders made on the way: a cache home that did not exist yet);
    a reason when an existing one is not safe to load compiled rules from."""
    try:
        for folder in reversed([cache_dir, *(parent for parent in cache_dir.parents if not parent.exists())]):
            folder.mkdir(mode=0o700, exist_ok=True)
        info = cache_dir.stat()
    except OSError as error:
        return f"cache folder {cache_dir} unusable: {error.strerror or error}"
    if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"cache folder {cache_dir} is not private to this user: not used"
    return None


def _load_cached(cache_dir: Path, key: str) -> CompiledRules | None:
    rules_file, meta_file = cache_dir / f"yara-{key}.yarc", cache_dir / f"yara-{key}.json"
    try:
        meta = json.loads(meta_file.read_text())
        rules = yara.load(filepath=str(rules_file)) if meta["compiled"] else None
    except (OSError, ValueError, KeyError, yara.Error):
        return None
    with contextlib.suppress(OSError):
        os.utime(meta_file)  # recently used: kept by _prune
    return CompiledRules(rules, key, meta["namespaces"], [RuleError(**error) for error in meta["errors"]],
                         frozenset(meta["hash_externals"]), from_cache=True)


def _write_private(cache_dir: Path, name: str, write: Any) -> None:
    """Write a cache file atomically with mode 0600 (a temporary file renamed into place)."""
    descriptor, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-")  # mkstemp creates it 0600
    try:
        with os.fdopen(descriptor, "wb") as stream:
            write(stream)
        os.replace(temporary, cache_dir / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _save_cached(cache_dir: Path, compiled: CompiledRules) -> str | None:
    meta = {"compiled": compiled.rules is not None, "namespaces": compiled.namespaces,
            "errors": [error.to_dict() for error in compiled.errors],
            "hash_externals": sorted(compiled.hash_externals)}
    try:
        if compiled.rules is not None:
            rules = compiled.rules
            _write_private(cache_dir, f"yara-{compiled.key}.yarc", lambda stream: rules.save(file=stream))
        # the metadata last: a cache entry without it is never loaded
        _write_private(cache_dir, f"yara-{compiled.key}.json", lambda stream: stream.write(json.dumps(meta).encode()))
    except (OSError, yara.Error) as error:
        return f"compiled rules not cached: {error}"
    _prune(cache_dir)
    return None


def _prune(cache_dir: Path) -> None:
    """Keep the CACHE_ENTRIES most recently used rule sets: a rule folder that is updated often would
    otherwise leave one compiled set behind per update."""
    with contextlib.suppress(OSError):
        entries = sorted(cache_dir.glob("yara-*.json"), key=lambda meta: meta.stat().st_mtime, reverse=True)
        for meta in entries[CACHE_ENTRIES:]:
            meta.unlink(missing_ok=True)
            meta.with_suffix(".yarc").unlink(missing_ok=True)


def compile_rules(paths: Sequence[Path], cache_dir: Path | None = None, use_cache: bool = True) -> CompiledRules:
    """Compile (or load from the cache) every rule file named or found below ``paths``."""
    read_errors: list[RuleError] = []
    files = _read(paths, read_errors)
    key = _cache_key(files)
    cache_dir = cache_dir or default_cache_dir()
    note = _private_cache_dir(cache_dir) if use_cache else "cache disabled"
    if note is None:
        cached = _load_cached(cache_dir, key)
        if cached is not None:
            # files that could not be read are not part of the key: they are found again on each run
            cached.errors[:0] = read_errors
            return cached
    compile_errors: list[RuleError] = []
    rules = _compile_good(files, compile_errors)
    bad = {error.path for error in compile_errors}
    good = [file for file in files if str(file.path) not in bad]
    compiled = CompiledRules(
        rules, key, {file.namespace: str(file.path) for file in good}, compile_errors,
        frozenset(name.decode() for file in good for name in _HASH_IDENTIFIER.findall(file.content)))
    if note is None:
        note = _save_cached(cache_dir, compiled)
    compiled.errors[:0] = read_errors
    compiled.cache_note = note
    return compiled
