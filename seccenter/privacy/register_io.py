"""Register files in any of the three formats: the format from the name or ``--format``, bytes to records."""

from __future__ import annotations

from pathlib import Path

from seccenter.privacy import register_csv
from seccenter.privacy.records import Problem, RegisterError
from seccenter.privacy.ropa import Loaded, Register, dump_json, dump_yaml, read_json, read_yaml

FORMATS = ("yaml", "json", "csv")


def format_of(path: Path, given: str | None = None) -> str:
    """The register format: named, or from the file name (.yaml/.yml, .json, .csv)."""
    if given:
        return given
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("yaml", "yml"):
        return "yaml"
    if suffix in FORMATS:
        return suffix
    raise RegisterError([Problem(str(path), "", "cannot tell the format from the file name; name it with --format "
                                                "yaml, json or csv")])


def parse_register(data: bytes, label: str, fmt: str) -> Loaded:
    """A register from the bytes of a file (a UTF-8 byte order mark is allowed); raises ``RegisterError``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RegisterError([Problem(label, "", f"not UTF-8 text ({error.reason} at byte {error.start})")]) from None
    if fmt == "csv":
        return register_csv.read_csv(text, label)
    return read_json(text, label) if fmt == "json" else read_yaml(text, label)


def read_register(path: Path, fmt: str | None = None) -> Loaded:
    """Read a register file; raises ``RegisterError``."""
    fmt = format_of(path, fmt)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RegisterError([Problem(str(path), "", error.strerror or str(error))]) from None
    return parse_register(data, str(path), fmt)


def dump(register: Register, fmt: str) -> str:
    if fmt == "csv":
        return register_csv.dump_csv(register)
    return dump_json(register) if fmt == "json" else dump_yaml(register)
