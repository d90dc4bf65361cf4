"""Where to go on reading a file that was read before: identity, rotation and truncation.

A file is the same one as last time when its device and inode are unchanged, it is not shorter than
the committed offset (copytruncate makes it shorter) and its first bytes still hash to the stored
fingerprint (a file replaced in place has other first bytes). Otherwise it is read from its start.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from seccenter.collect.interface import Position

FINGERPRINT_BYTES = 1024


@dataclass(frozen=True)
class Checkpoint:
    """What was recorded about a file after the last committed batch."""

    file_key: str
    device: int
    inode: int
    fingerprint: str
    format: str
    offset: int
    line: int


def fingerprint(head: bytes) -> str:
    """``<n>:<sha256 of the first n bytes>``; n is kept so a file that has grown is still recognised."""
    sample = head[:FINGERPRINT_BYTES]
    return f"{len(sample)}:{hashlib.sha256(sample).hexdigest()}"


def same_start(stored: str, head: bytes) -> bool:
    length, _, _digest = stored.partition(":")
    return length.isdigit() and fingerprint(head[: int(length)]) == stored


def new_file_key(info: os.stat_result, head: bytes) -> str:
    """Identity of one file at a path; a rotated or truncated file gets a new one."""
    return f"{info.st_dev}:{info.st_ino}:{fingerprint(head)}"


def resume(checkpoint: Checkpoint | None, info: os.stat_result, head: bytes, size_bounds_offset: bool = True,
           continues: bool = True) -> Position | None:
    """The position to continue from, or None when the file must be read from its start.

    ``head`` is what identifies the file (``Collector.identity``). ``size_bounds_offset`` is False where
    the offset does not count bytes of the file (decompressed bytes of a gzip file, record numbers of an
    EVTX file): there the size says nothing about truncation. ``continues`` is the collector's own verdict.
    """
    if (checkpoint is not None and checkpoint.device == info.st_dev and checkpoint.inode == info.st_ino
            and (not size_bounds_offset or info.st_size >= checkpoint.offset)
            and same_start(checkpoint.fingerprint, head) and continues):
        return Position(checkpoint.offset, checkpoint.line)
    return None
