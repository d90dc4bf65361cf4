"""Files that hold a secret (the SMTP password, the pseudonymisation key): read only when they are regular files
that neither group nor others can read, write or execute."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class SecretFileError(Exception):
    """A secret's file that must not be used: not a regular file, too long, or open to group or others."""


def check_secret_mode(path: Path, mode: int) -> None:
    """Raise ``SecretFileError`` when ``mode`` (a file's ``st_mode``) gives group or others any access."""
    if mode & 0o077:
        raise SecretFileError(f"{path} can be read or changed by others (mode {stat.S_IMODE(mode):04o}); "
                              f"run chmod 600 {path}")


def read_secret(path: Path, limit: int, what: str = "secret") -> bytes:
    """The bytes of ``path`` without surrounding whitespace, at most ``limit`` of them; ``OSError`` when it cannot
    be opened, ``SecretFileError`` when it is no regular file (a FIFO must not block the reader: opened
    non-blocking), open to others, or longer than a ``what`` may be."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise SecretFileError(f"{path} is not a regular file")
        check_secret_mode(path, status.st_mode)
        secret = stream.read(limit + 1).strip()
    if len(secret) > limit:
        raise SecretFileError(f"{path} is longer than a {what} (at most {limit} bytes)")
    return secret
