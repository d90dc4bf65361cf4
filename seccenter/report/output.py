"""Writing a document to ``-o FILE``: private (0600), atomic, and never through a symbolic link."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from seccenter.report.terminal import visible


class OutputError(ValueError):
    """The output file cannot be written (a user error)."""


def _cannot_write(path: Path, error: OSError | ValueError) -> OutputError:
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return OutputError(f"cannot write {visible(str(path))}: {reason}")


@contextlib.contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """A new file (mode 0600) beside ``path`` to write to; it replaces ``path`` when the block ends, so readers
    see the old file or the whole new one, and it is removed if the block raises. A symbolic link at ``path`` is
    refused (a planted link must not redirect the document), as is a name Linux cannot hold (a NUL, too long)."""
    temporary = path.with_name(f".{path.name[:64]}.{secrets.token_hex(6)}.part")  # a long name stays a name
    try:
        refusal = ("is a symbolic link; refusing to write through it" if path.is_symlink()
                   else "is a directory" if path.is_dir() else None)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        descriptor = -1 if refusal else os.open(temporary, flags, 0o600)
    except (OSError, ValueError) as error:
        raise _cannot_write(path, error) from None
    if refusal:
        raise OutputError(f"{visible(str(path))} {refusal}")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise _cannot_write(path, error) from None
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_private(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` through ``private_file``."""
    with private_file(path) as stream:
        stream.write(content.encode("utf-8") if isinstance(content, str) else content)
