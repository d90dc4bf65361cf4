"""The register as one CSV sheet, for spreadsheets, without losing anything on the way back.

One row per record. ``record_type`` (processing_activity, processor, asset; absent means processing_activity)
says which; the other columns are the key names. How values are written:

- a contact (controller, dpo, representative, processor) is two columns, ``controller.name`` and
  ``controller.contact``;
- a list of text is its entries joined with ``"; "``; when an entry itself contains ``;``, starts with ``[``
  or has spaces at either end, the cell is a JSON array instead (``["a; b", "c"]``);
- lists of contacts and of transfers, and ``security_measures``, are JSON (``[{"country": "US",
  "safeguard": "SCC"}]``, ``{"encryption": ["TLS 1.3"]}``);
- any cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return, also after leading ``'``) is written with one ``'`` in front, which reading removes again.

The delimiter is sniffed from the header (``,`` or ``;`` as German spreadsheets write it).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from seccenter.privacy.assets import ASSET_FIELDS
from seccenter.privacy.records import FieldSpec, Problem, Problems, RegisterError, Source
from seccenter.privacy.ropa import ACTIVITY_FIELDS, PROCESSOR_FIELDS, Loaded, Register, read_section

RECORD_TYPES = {"processing_activity": ("processing_activities", ACTIVITY_FIELDS),
                "processor": ("processors", PROCESSOR_FIELDS),
                "asset": ("assets", ASSET_FIELDS)}

_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED_FORMULA = re.compile(r"^'+[=+\-@\t\r]")
FIELD_LIMIT = 1 << 20
"""Longest cell read (1 MiB); a longer one is an error with its line, not a crash."""


def _columns(spec: FieldSpec) -> list[str]:
    return [f"{spec.key}.name", f"{spec.key}.contact"] if spec.kind == "contact" else [spec.key]


def _all_columns() -> list[str]:
    columns = ["record_type"]
    for _section, specs in RECORD_TYPES.values():
        for spec in specs:
            columns += [column for column in _columns(spec) if column not in columns]
    return columns


COLUMNS = _all_columns()


def neutralise(cell: str) -> str:
    """A cell a spreadsheet will show as text: formula starts get a ``'`` in front."""
    return "'" + cell if _FORMULA.match(cell) else cell


def restore(cell: str) -> str:
    return cell[1:] if _ESCAPED_FORMULA.match(cell) else cell


def _encode_texts(items: list[str]) -> str:
    if items and all(item and ";" not in item and item == item.strip() for item in items) \
            and not items[0].startswith("["):
        return "; ".join(items)
    return json.dumps(items, ensure_ascii=False) if items else ""


def _encode(spec: FieldSpec, value: Any) -> dict[str, str]:
    if spec.kind == "contact":
        value = value or {}
        return {f"{spec.key}.name": value.get("name", ""), f"{spec.key}.contact": value.get("contact", "")}
    if spec.kind == "texts":
        return {spec.key: _encode_texts(value)}
    if spec.kind in ("contacts", "transfers", "measures"):
        return {spec.key: json.dumps(value, ensure_ascii=False) if value else ""}
    return {spec.key: "" if value is None else str(value)}


def dump_csv(register: Register) -> str:
    """Every record of the register as one row under ``COLUMNS``."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record_type, (section, specs) in RECORD_TYPES.items():
        for record in getattr(register, section):
            document = record.to_dict()
            row = {"record_type": record_type}
            for spec in specs:
                row.update(_encode(spec, document[spec.key]))
            writer.writerow([neutralise(row.get(column, "")) for column in COLUMNS])
    return stream.getvalue()


class _CellError(ValueError):
    pass


def _decode_texts(cell: str) -> Any:
    if cell.startswith("["):
        try:
            return json.loads(cell)
        except json.JSONDecodeError as error:
            raise _CellError(f"a cell starting with [ is read as a JSON list: {error.msg}") from None
    return [item.strip() for item in cell.split(";")]


def _decode(spec: FieldSpec, cells: dict[str, str]) -> Any:
    """The document value of one field from its cells; absent (empty) cells give None."""
    if spec.kind == "contact":
        name, contact = cells.get(f"{spec.key}.name", ""), cells.get(f"{spec.key}.contact", "")
        return {"name": name, "contact": contact} if name or contact else None
    cell = cells.get(spec.key, "")
    if cell.strip() == "":
        return None
    if spec.kind == "texts":
        return _decode_texts(cell)
    if spec.kind in ("contacts", "transfers", "measures"):
        try:
            return json.loads(cell)
        except json.JSONDecodeError as error:
            raise _CellError(f"must be JSON ({error.msg})") from None
    return cell


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def read_csv(text: str, path: str) -> Loaded:
    """A register from CSV text; raises ``RegisterError`` listing every error (with the row's line)."""
    problems = Problems()
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True)
    previous_limit = csv.field_size_limit(FIELD_LIMIT)
    try:
        sections = _read_rows(reader, path, problems)
    except csv.Error as error:
        problems.errors.append(Problem(f"{path}:{reader.line_num + 1}", "", f"not CSV: {error}"))
        sections = {}
    finally:
        csv.field_size_limit(previous_limit)
    problems.raise_if_any()
    return Loaded(Register(**sections), problems.warnings)


def _read_rows(reader: Any, path: str, problems: Problems) -> dict[str, tuple]:
    header = next(reader, None)
    if not header:
        return {}
    header = [restore(column.strip()) for column in header]
    if "id" not in header:
        raise RegisterError([Problem(f"{path}:1", "", "the header has no id column")])
    duplicates = sorted({column for column in header if header.count(column) > 1})
    if duplicates:
        raise RegisterError([Problem(f"{path}:1", "", f"duplicate columns: {', '.join(duplicates)}")])
    unknown = [column for column in header if column not in COLUMNS]
    if unknown:
        problems.warnings.append(Problem(f"{path}:1", "", f"unknown columns (ignored): {', '.join(unknown)}"))
    rows: dict[str, list[tuple[int, dict[str, Any]]]] = {section: [] for section, _ in RECORD_TYPES.values()}
    line = reader.line_num + 1
    for cells in reader:
        row_line, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.errors.append(Problem(f"{path}:{row_line}", "", f"{len(cells)} cells for {len(header)} columns"))
            continue
        row = {column: restore(cell) for column, cell in zip(header, cells, strict=False)}
        record_type = row.get("record_type", "").strip() or "processing_activity"
        if record_type not in RECORD_TYPES:
            problems.errors.append(Problem(f"{path}:{row_line}", "record_type",
                                           f"{record_type!r:.60} is not one of {', '.join(RECORD_TYPES)}"))
            continue
        section, specs = RECORD_TYPES[record_type]
        document = _row_document(row, specs, record_type, Source(path, row_line), problems)
        if document is not None:
            rows[section].append((row_line, document))
    return {section: _read_section(section, items, path, problems) for section, items in rows.items()}


def _row_document(row: dict[str, str], specs: tuple[FieldSpec, ...], record_type: str, source: Source,
                  problems: Problems) -> dict[str, Any] | None:
    document: dict[str, Any] = {}
    wanted = {column for spec in specs for column in _columns(spec)} | {"record_type"}
    for column, cell in row.items():
        if column in COLUMNS and column not in wanted and cell.strip():
            problems.warnings.append(Problem(source.at(), column, f"does not apply to a {record_type} (ignored)"))
    failed = False
    for spec in specs:
        try:
            value = _decode(spec, row)
        except _CellError as error:
            problems.errors.append(Problem(source.at(), spec.key, str(error)))
            failed = True
            continue
        if value is not None:
            document[spec.key] = value
    return None if failed else document


def _read_section(section: str, items: list[tuple[int, dict[str, Any]]], path: str, problems: Problems) -> tuple:
    """Records of one section, each read with its own row's line for messages; duplicate ids across rows too."""
    records: list[Any] = []
    first_line: dict[str, int] = {}
    for row_line, document in items:
        found = read_section(section, [document], Source(path, row_line), problems, indexed=False)
        for record in found:
            if record.id in first_line:
                problems.errors.append(Problem(f"{path}:{row_line}", f"{section} ({record.id[:60]})",
                                               f"duplicate id (first at {path}:{first_line[record.id]})"))
                continue
            first_line[record.id] = row_line
            records.append(record)
    return tuple(records)
