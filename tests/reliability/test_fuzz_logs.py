"""Fuzzing the log collectors: near-valid files of every text format, damaged, never raise, and every line of
them is an event or a counted malformed record, in the collector and through ``pipeline.ingest`` into SQLite.
"""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    access_lines,
    check_event,
    eve_events,
    fuzz,
    journald_entries,
    json_objects,
    line_file,
    mutated,
    syslog5424_lines,
    syslog_lines,
    weberror_lines,
    windows_events,
    zeek_json_entries,
    zeek_tsv_logs,
)

from seccenter.collect import interface, registry
from seccenter.collect.interface import QUARANTINE_KEEP_BYTES, CollectOptions, Position
from seccenter.collect.jsonlines import JsonDocumentsCollector
from seccenter.detect.sigma import load_rules
from seccenter.events import Event, Malformed
from seccenter.pipeline import ingest
from seccenter.resources import sigma_rules
from seccenter.store.db import open_db

pytestmark = pytest.mark.reliability

OPTIONS = CollectOptions(tz=UTC, year=2026)
PATH = "/var/log/fuzz.log"
BOM = b"\xef\xbb\xbf"

AUTH_NUMBERS = ("pid", "src_port", "uid", "gid", "attempts", "repeated", "facility", "severity", "priority")

LINE_FORMATS = {
    "syslog-rfc3164": ("syslog", line_file(syslog_lines())),
    "syslog-rfc5424": ("syslog", line_file(syslog5424_lines())),
    "access": ("access", line_file(access_lines())),
    "weberror": ("weberror", line_file(weberror_lines())),
    "jsonl": ("jsonl", line_file(json_objects())),
    "journald": ("journald", line_file(journald_entries())),
    "suricata": ("suricata", line_file(eve_events())),
    "zeek-tsv": ("zeek", zeek_tsv_logs().flatmap(lambda text: mutated(text.encode("utf-8", "surrogatepass")))),
    "zeek-json": ("zeek_json", line_file(zeek_json_entries())),
}
"""Test id → (collector, files). auth.log is syslog-rfc3164: its lines carry the sshd/PAM/sudo/su/useradd messages
whose fields ``collect.auth`` reads."""


def expected_records(data: bytes, max_line: int, headers: bool = False) -> int:
    """How many records the line driver owes for ``data``, counted independently: every line with more than
    whitespace, and every line too long to hold whatever it holds; Zeek's ``#`` header lines give none."""
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    count = 0
    for index, piece in enumerate(pieces):
        if len(piece) >= max_line:
            count += 1
            continue
        body = piece.rstrip(b"\r")
        if index == 0 and body.startswith(BOM):
            body = body[len(BOM):]  # (a BOM alone is no blank line: it is read, and rejected)
        if not piece.strip():
            continue
        if headers and body.startswith(b"#"):
            continue
        count += 1
    return count


def check_records(records: list[Event | Malformed], data: bytes) -> None:
    offsets = [record.origin.offset for record in records]
    assert offsets == sorted(set(offsets)), "one record per line, in file order"
    assert all(0 <= offset < len(data) for offset in offsets)
    for record in records:
        assert record.origin.path == PATH
        if isinstance(record, Event):
            check_event(record)
        else:
            assert isinstance(record, Malformed) and record.reason
            assert len(record.raw) <= QUARANTINE_KEEP_BYTES and len(record.raw) <= record.raw_length
            assert data[record.origin.offset:].startswith(record.raw)


@fuzz(150)
@pytest.mark.parametrize("fuzzed", sorted(LINE_FORMATS))
@given(data=st.data())
def test_line_collectors_account_for_every_line(fuzzed: str, data: st.DataObject) -> None:
    name, files = LINE_FORMATS[fuzzed]
    content = data.draw(files, label="file")
    max_line = data.draw(st.sampled_from([interface.MAX_LINE_BYTES, interface.MAX_LINE_BYTES, 200]), label="max line")
    registry.sniff(content[:registry.SNIFF_BYTES], OPTIONS)  # sniffing any head never raises
    position = Position()
    with mock.patch.object(interface, "MAX_LINE_BYTES", max_line):
        records = list(registry.create(name, OPTIONS).parse(io.BytesIO(content), PATH, position))
    assert len(records) == expected_records(content, max_line, headers=name == "zeek")
    check_records(records, content)
    assert position.offset == len(content)
    if name in ("syslog", "journald"):  # auth.log semantics: numbers the rules compare are numbers
        for record in records:
            if isinstance(record, Event):
                assert all(isinstance(record.fields[field], int) for field in AUTH_NUMBERS if field in record.fields)


# --- JSON documents (format json): objects one after another, pretty-printed, in arrays --------------------


@st.composite
def json_documents(draw: st.DrawFn) -> tuple[bytes, int | None]:
    """A JSON documents file and how many objects it holds (None once the file was damaged)."""
    objects = [draw(st.one_of(json_objects(), windows_events().map(lambda event: json.dumps({"Event": event}))))
               for _ in range(draw(st.integers(1, 6)))]
    layout = draw(st.sampled_from(["lines", "pretty", "array", "records"]))
    if layout == "lines":
        text = "\n".join(objects)
    elif layout == "pretty":
        text = "\n".join(json.dumps(json.loads(item), indent=2) for item in objects)
    elif layout == "array":
        text = "[\n" + ",\n".join(objects) + "\n]"
    else:  # evtx_dump -o json
        text = "\n".join(f"Record {number}\n{item}" for number, item in enumerate(objects, 1))
    data = text.encode("utf-8", "surrogatepass")
    damaged = draw(mutated(data))
    return damaged, len(objects) if damaged == data else None


@fuzz(200)
@given(json_documents())
def test_json_documents_account_for_every_object(document: tuple[bytes, int | None]) -> None:
    data, objects = document
    position = Position()
    records = list(JsonDocumentsCollector(OPTIONS).parse(io.BytesIO(data), PATH, position))
    JsonDocumentsCollector(OPTIONS).sniff(data[:registry.SNIFF_BYTES])
    if objects is not None:
        assert len(records) == objects
    # in file order, but for an array left open at the end: reported where it starts, after its items
    left_open = records and getattr(records[-1], "reason", "").endswith("(an array not closed)")
    in_order = records[:-1] if left_open else records
    offsets = [record.origin.offset for record in in_order]
    assert offsets == sorted(offsets)
    for record in records:
        assert 0 <= record.origin.offset < len(data) and record.origin.line >= 1
        if isinstance(record, Event):
            check_event(record)
        else:
            assert record.reason and len(record.raw) <= record.raw_length
    assert position.offset == len(data)


# --- through the pipeline into SQLite ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """One store and one rule set (the bundled Sigma rules) for every example: files get names of their own."""
    return open_db(tmp_path_factory.mktemp("store") / "fuzz.db"), load_rules([sigma_rules()]), \
        tmp_path_factory.mktemp("logs"), itertools.count()


@fuzz(40)
@pytest.mark.parametrize("fuzzed", sorted(LINE_FORMATS))
@given(data=st.data())
def test_ingest_stores_every_line_as_an_event_or_in_quarantine(store, fuzzed: str, data: st.DataObject) -> None:
    db, rules, folder, numbers = store
    name, files = LINE_FORMATS[fuzzed]
    content = data.draw(files, label="file")
    path = folder / f"{next(numbers)}.log"
    path.write_bytes(content)
    summary = ingest(db, [path], rules, fmt=name, options=OPTIONS)
    (report,) = summary.sources
    lines = expected_records(content, interface.MAX_LINE_BYTES, headers=name == "zeek")
    assert report.error is None
    assert report.events + report.malformed == lines
    key = str(path.resolve())
    stored = db.execute("SELECT count(*) FROM events WHERE origin_path = ?", [key]).fetchone()[0]
    quarantined = db.execute("SELECT count(*) FROM quarantine WHERE origin_path = ?", [key]).fetchone()[0]
    assert (stored, quarantined) == (report.events, report.malformed) == (report.new_events, report.malformed)
    again = ingest(db, [path], rules, fmt=name, options=OPTIONS)
    assert again.total("new_events") == 0


# --- found by fuzzing --------------------------------------------------------------------------------------


def test_eve_http_status_in_other_digits_is_kept_as_text() -> None:
    """``"²".isdigit()`` is true, but ``int("²")`` raises: a status of such digits crashed the whole file."""
    line = json.dumps({"timestamp": "2026-11-25T10:00:00Z", "event_type": "http", "http": {"status": "²"}})
    (event,) = registry.create("suricata").parse(io.BytesIO(line.encode()), PATH, Position())
    assert isinstance(event, Event)
    assert "sc-status" not in event.fields and event.fields["http.status"] == "²"


def test_zeek_http_status_in_other_digits_is_kept_as_text() -> None:
    line = json.dumps({"ts": 1700000000.0, "_path": "http", "uid": "C1", "status_code": "١٢٣"})
    (event,) = registry.create("zeek_json").parse(io.BytesIO(line.encode()), PATH, Position())
    assert isinstance(event, Event) and event.fields["status_code"] == "١٢٣"


def test_windows_event_id_in_other_digits_is_kept_as_text() -> None:
    line = json.dumps({"Channel": "Security", "EventID": "²", "time": "2026-11-25T10:00:00Z"})
    (event,) = registry.create("jsonl").parse(io.BytesIO(line.encode()), PATH, Position())
    assert isinstance(event, Event) and event.fields["EventID"] == "²"
    assert event.time == datetime(2026, 11, 25, 10, tzinfo=UTC)


@pytest.mark.parametrize("fmt, line", [
    ("jsonl", {"Channel": "Security", "EventID": "1" + "9" * 5000, "time": "2026-11-25T10:00:00Z"}),
    ("json", {"Event": {"System": {"EventID": "1" + "9" * 5000, "Channel": "Security"}}}),
])
def test_windows_event_id_past_int_digit_limit_is_kept_as_text(fmt: str, line: dict) -> None:
    """int() refuses strings of over 4300 digits with a ValueError: such an EventID crashed the whole file."""
    (event,) = registry.create(fmt).parse(io.BytesIO(json.dumps(line).encode()), PATH, Position())
    assert isinstance(event, Event) and event.fields["EventID"] == "1" + "9" * 5000


def documents(data: bytes) -> tuple[list[tuple[str, int, bytes]], int]:
    position = Position()
    records = JsonDocumentsCollector(OPTIONS).parse(io.BytesIO(data), PATH, position)
    return [(type(record).__name__, record.origin.offset, record.raw if isinstance(record, Malformed) else b"")
            for record in records], position.offset


def test_json_documents_top_level_string_is_malformed_not_skipped() -> None:
    assert documents(b'"hello"\n{"a": 1}\n') == ([("Malformed", 0, b'"hello"\n'), ("Event", 8, b"")], 17)


def test_json_documents_array_items_that_are_no_objects_are_malformed() -> None:
    found, end = documents(b'[1, {"a": 1},\n [{"b": 2}], 3\n]\n')
    assert found == [("Malformed", 1, b"1, "), ("Event", 4, b""), ("Malformed", 15, b'[{"b": 2}]'),
                     ("Malformed", 25, b", 3\n")]
    assert end == 31


def test_json_documents_junk_is_reported_once_and_a_stray_bracket_is_passed() -> None:
    found, end = documents(b'x {"a": 1}, y {"b": 2}\n}\n')
    assert found == [("Malformed", 0, b"x "), ("Event", 2, b""), ("Malformed", 10, b", y "), ("Event", 14, b""),
                     ("Malformed", 23, b"}\n")]
    assert end == 25


def test_json_documents_an_array_left_open_is_reported_after_its_items() -> None:
    found, end = documents(b'[{"a": 1},\n')
    assert found == [("Event", 1, b""), ("Malformed", 0, b"")]
    assert end == 11
