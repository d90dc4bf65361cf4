"""gzip input with a bounded expansion: a decompression bomb stops the read, not the machine.

Ten megabytes of gzip can hold ten gigabytes of one repeated byte (deflate's ceiling is 1032:1), or billions of
empty lines that each cost a turn of the parser. Logs compress about 10:1, 30:1 with many alike lines, and a
flood of one identical line about 300:1. So decompressed bytes may not outnumber the compressed bytes they came
from more than ``MAX_RATIO`` times, judged every ``STEP`` decompressed bytes over the last ``WINDOW`` of them
(from the start of the stream on, so a bomb at the start stops within a few MiB) and raised as
``DecompressionBomb``.
"""

from __future__ import annotations

import gzip
import io
from collections import deque
from typing import BinaryIO

MAX_RATIO = 500
WINDOW = 16 << 20
STEP = 1 << 20


class DecompressionBomb(Exception):
    """The stream expands more than ``MAX_RATIO``:1; the message says where."""


class BoundedGzipFile(gzip.GzipFile):
    """``gzip.GzipFile`` for reading that raises ``DecompressionBomb`` on a stretch expanding past the bound."""

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw
        self._restart(0)

    def _restart(self, position: int) -> None:
        self._offset = position
        self._next_check = position + STEP
        # (decompressed, compressed) positions, one a STEP: the oldest is where the judged stretch begins
        self._marks: deque[tuple[int, int]] = deque([(position, self._raw.tell())], maxlen=WINDOW // STEP + 1)

    def _check(self) -> None:
        compressed = self._raw.tell()
        self._marks.append((self._offset, compressed))
        self._next_check = self._offset + STEP
        start, start_compressed = self._marks[0]
        grown, used = self._offset - start, compressed - start_compressed
        # gzip reads the compressed file 8 KiB ahead of what it decompressed: counted from the stream's start that
        # only understates the ratio; between two later marks it may overstate it, so those span a whole WINDOW
        if (start == 0 or grown >= WINDOW) and grown > MAX_RATIO * max(used, 1):
            raise DecompressionBomb(
                f"stopped reading after {self._offset} decompressed bytes: {grown} of them came from {used} bytes "
                f"of gzip (more than {MAX_RATIO}:1, a decompression bomb?); decompress the file to read it whole")

    def _counted(self, data: bytes) -> bytes:
        self._offset += len(data)
        if self._offset >= self._next_check:
            self._check()
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._counted(super().read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._counted(super().read1(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._counted(super().readline(size))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = super().seek(offset, whence)
        self._restart(position)
        return position

    def close(self) -> None:
        super().close()
        self._raw.close()  # GzipFile leaves a file object it was given open
