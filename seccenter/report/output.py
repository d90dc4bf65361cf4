"""Writing a document to ``-o FILE``: private (0600), atomic, and never through a symbolic link."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


class OutputError(ValueError):
    """The output file cannot be written (a user error)."""


def write_private(path: Path, content: str | bytes) -> None:
    """Write ``content`` to ``path`` so that readers see the old file or the whole new one, created with mode
    0600. A symbolic link at ``path`` is refused (a planted link must not redirect the document)."""
    if path.is_symlink():
        raise OutputError(f"{path} is a symbolic link; refusing to write through it")
    if path.is_dir():
        raise OutputError(f"{path} is a directory")
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
