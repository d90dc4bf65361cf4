"""Evidence files of incidents, kept by content in a private folder beside the database.

A file is copied to ``<db>.evidence/<sha256>`` (folder 0700, file 0600) while its hash is computed; the name it
had is stored as data only and never becomes part of a path, so names like ``../../etc/passwd`` are harmless.
The same content is kept once however often it is added."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from seccenter.incidents import audit
from seccenter.incidents.cases import IncidentError, get, now_utc
from seccenter.store import incidents as store
from seccenter.store.transaction import write_transaction

CHUNK = 1 << 20


def evidence_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".evidence")


def _private_dir(folder: Path) -> Path:
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError as error:
        raise IncidentError(f"cannot create the evidence folder {folder}: {error.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise IncidentError(f"{folder} should be the evidence folder but is not a folder (a link or a file)")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(folder, 0o700)
    return folder


def _copy_hashed(source: Path, folder: Path) -> tuple[str, int]:
    """Copy ``source`` into ``folder`` under its SHA-256; returns (hash, size)."""
    try:
        if not stat.S_ISREG(os.stat(source).st_mode):  # a FIFO or device would block or never end
            raise IncidentError(f"{source} is not a regular file")
    except OSError as error:
        raise IncidentError(f"cannot read evidence file {source}: {error.strerror or error}") from None
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")  # mkstemp creates it 0600
    hasher, size = hashlib.sha256(), 0
    try:
        with open(source, "rb") as reader, os.fdopen(descriptor, "wb") as writer:
            if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
                raise IncidentError(f"{source} is not a regular file")
            while chunk := reader.read(CHUNK):
                hasher.update(chunk)
                writer.write(chunk)
                size += len(chunk)
            writer.flush()
            os.fsync(writer.fileno())
        sha256 = hasher.hexdigest()
        os.replace(temporary, folder / sha256)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise IncidentError(f"cannot read evidence file {source}: {error.strerror or error}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return sha256, size


def add_evidence(db: Database, db_path: Path, incident_id: int, source: Path, actor: str,
                 description: str | None = None) -> dict[str, Any]:
    """Keep a copy of ``source`` as evidence of an incident; returns the evidence row."""
    get(db, incident_id)
    sha256, size = _copy_hashed(source, _private_dir(evidence_dir(db_path)))
    row = {"incident_id": incident_id, "sha256": sha256, "original_name": source.name, "size": size,
           "description": description.strip() if description and description.strip() else None,
           "added": now_utc(), "actor": actor}
    with write_transaction(db):
        evidence_id = store.insert_evidence(db, row)
        if evidence_id is None:
            raise IncidentError(f"this content is already evidence of incident {incident_id} (sha256 {sha256})")
        store.insert_activity(db, incident_id, row["added"], actor, "evidence",
                              f"evidence {evidence_id} added: {source.name} ({size} bytes, sha256 {sha256})")
        audit.append(db, actor, "incident.evidence", "incident_evidence", evidence_id, None, row)
    return {"id": evidence_id, **row}


@dataclass(frozen=True)
class EvidenceState:
    row: dict[str, Any]
    state: str  # ok | missing | altered

    def to_dict(self) -> dict[str, Any]:
        return {**self.row, "state": self.state}


def _state(folder: Path, sha256: str) -> str:
    hasher = hashlib.sha256()
    try:
        with open(folder / sha256, "rb") as reader:
            while chunk := reader.read(CHUNK):
                hasher.update(chunk)
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"
    return "ok" if hasher.hexdigest() == sha256 else "altered"


def check_evidence(db: Database, db_path: Path, incident_id: int) -> list[EvidenceState]:
    """Each evidence file of an incident, re-hashed: ok, missing (vanished), altered or unreadable."""
    folder = evidence_dir(db_path)
    return [EvidenceState(row, _state(folder, row["sha256"])) for row in store.evidence(db, incident_id)]
