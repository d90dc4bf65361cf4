"""The files a scan looks at: regular files named or found below folders, everything else reported as skipped.

Symbolic links are not followed inside a tree unless asked (a target named on the command line is always
followed); when followed, a link that leads out of the tree it was found in, or back into a folder already
walked (a loop), is skipped with that reason. Devices, FIFOs and sockets are never opened (a FIFO would
block the scan). Folders on another file system are not entered with ``one_filesystem``. Exclude globs
match a file's or folder's name or its whole path; excluded entries are not reported.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class WalkOptions:
    exclude: tuple[str, ...] = ()
    one_filesystem: bool = False
    follow_symlinks: bool = False
    max_size: int | None = None


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A regular file as the walk saw it (``lstat``, or ``stat`` through a followed link)."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    device: int
    uid: int
    through_link: bool = False
    """The path's last component is a symbolic link that was followed."""


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": display_path(self.path), "reason": self.reason}


def display_path(path: str) -> str:
    """A path as text that can be stored and printed: bytes that are not UTF-8 (kept by Python as surrogates)
    become ``\\xNN``."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


class _Walk:
    def __init__(self, options: WalkOptions) -> None:
        self.options = options
        self.visited: set[tuple[int, int]] = set()
        self.root_device = 0

    def excluded(self, path: str, name: str) -> bool:
        return any(fnmatchcase(name, glob) or fnmatchcase(path, glob) for glob in self.options.exclude)

    def file(self, path: str, info: os.stat_result, through_link: bool) -> FileEntry | Skipped:
        if not stat.S_ISREG(info.st_mode):
            return Skipped(path, f"not a regular file ({_kind(info.st_mode)}): not opened")
        if self.options.max_size is not None and info.st_size > self.options.max_size:
            return Skipped(path, f"larger than the maximum size ({info.st_size} > {self.options.max_size} bytes)")
        return FileEntry(path, info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev, info.st_uid, through_link)

    def tree(self, top: str, info: os.stat_result) -> Iterator[FileEntry | Skipped]:
        root_real = os.path.realpath(top)
        self.visited.add((info.st_dev, info.st_ino))
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as scan:
                    entries = sorted(scan, key=lambda entry: entry.name)
            except OSError as error:
                yield Skipped(folder, f"folder not readable: {error.strerror or error}")
                continue
            subfolders = []
            for entry in entries:
                path = entry.path
                if self.options.exclude and self.excluded(path, entry.name):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                    through_link = stat.S_ISLNK(info.st_mode)
                    if through_link:
                        if not self.options.follow_symlinks:
                            yield Skipped(path, "symbolic link: not followed (--follow-symlinks)")
                            continue
                        real = os.path.realpath(path)
                        if os.path.commonpath([root_real, real]) != root_real:
                            yield Skipped(path, "symbolic link out of the scanned tree: not followed")
                            continue
                        info = os.stat(path)
                except FileNotFoundError:
                    yield Skipped(path, "disappeared or dangling symbolic link")
                    continue
                except OSError as error:
                    yield Skipped(path, error.strerror or str(error))
                    continue
                if stat.S_ISDIR(info.st_mode):
                    if self.options.one_filesystem and info.st_dev != self.root_device:
                        yield Skipped(path, "on another file system: not entered (--one-filesystem)")
                    elif (info.st_dev, info.st_ino) in self.visited:
                        yield Skipped(path, "symbolic link loop (folder already walked): not followed")
                    else:
                        self.visited.add((info.st_dev, info.st_ino))
                        subfolders.append(path)
                else:
                    yield self.file(path, info, through_link)
            stack.extend(reversed(subfolders))

    def target(self, target: str) -> Iterator[FileEntry | Skipped]:
        try:
            info = os.stat(target)  # a target named by the user is followed when it is a link
            through_link = os.path.islink(target)
        except FileNotFoundError:
            yield Skipped(target, "no such file or directory")
            return
        except OSError as error:
            yield Skipped(target, error.strerror or str(error))
            return
        if stat.S_ISDIR(info.st_mode):
            self.root_device = info.st_dev
            yield from self.tree(target, info)
        else:
            yield self.file(target, info, through_link)


def walk(targets: Iterable[str | os.PathLike[str]], options: WalkOptions | None = None
         ) -> Iterator[FileEntry | Skipped]:
    """Every regular file below ``targets`` (sorted by name, folder by folder), and what was skipped and why."""
    walker = _Walk(options or WalkOptions())
    for target in targets:
        yield from walker.target(os.fspath(target))
