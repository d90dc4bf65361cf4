"""LineCollector.parse, the shared line driver (origins, positions, odd bytes, long lines), via syslog."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter.collect import interface
from seccenter.collect.interface import QUARANTINE_KEEP_BYTES, CollectOptions, Position
from seccenter.collect.syslog import SyslogCollector
from seccenter.events import Event, Malformed, Origin

PATH = "/var/log/auth.log"

L1 = b"Nov  3 10:00:01 srv01 sshd[1234]: Failed password for root from 203.0.113.9 port 52113 ssh2"
L2 = b"Nov  3 10:00:02 srv01 sshd[1234]: Accepted password for alice from 10.0.0.5 port 50000 ssh2"
L3 = b"Nov  3 10:17:01 srv01 CRON[4444]: (root) CMD (run-parts /etc/cron.hourly)"
L4 = b"Nov  3 10:20:00 srv01 su[3333]: Successful su for root by alice"


def collector() -> SyslogCollector:
    return SyslogCollector(CollectOptions(tz=UTC, year=2026))


def parse(data: bytes, position: Position | None = None, path: str = PATH) -> list[Event | Malformed]:
    stream = io.BytesIO(data)
    position = position if position is not None else Position()
    stream.seek(position.offset)
    return list(collector().parse(stream, path, position))


def assert_origins_exact(data: bytes, records, lines: list[bytes]) -> None:
    """Each record's origin points at the start of the line it came from."""
    assert len(records) == len(lines)
    for record, line in zip(records, lines, strict=True):
        assert record.origin.path == PATH
        assert data[record.origin.offset:].startswith(line)
        assert record.origin.offset == 0 or data[record.origin.offset - 1:record.origin.offset] == b"\n"


# --- origins and positions ------------------------------------------------------------------------------


def test_offsets_and_line_numbers_are_exact():
    data = L1 + b"\n" + L2 + b"\n" + L3 + b"\n"
    records = parse(data)
    assert all(isinstance(r, Event) for r in records)
    assert [r.origin for r in records] == [
        Origin(PATH, 0, 1),
        Origin(PATH, len(L1) + 1, 2),
        Origin(PATH, len(L1) + len(L2) + 2, 3),
    ]
    assert_origins_exact(data, records, [L1, L2, L3])
    assert [r.fields["message"].split()[0] for r in records] == ["Failed", "Accepted", "(root)"]


def test_position_advances_to_end_of_input():
    data = L1 + b"\n" + L2 + b"\n\n" + L3 + b"\n"
    position = Position()
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    assert len(records) == 3
    assert position.offset == len(data)
    assert position.line == 4


def test_position_after_each_record_points_past_it():
    data = L1 + b"\n" + L2 + b"\n" + L3 + b"\n"
    position = Position()
    seen = []
    for record in collector().parse(io.BytesIO(data), PATH, position):
        seen.append((position.offset, position.line))
        assert data[position.offset:].startswith((L2, L3)) or position.offset == len(data)
        assert position.line == record.origin.line
    assert seen == [(len(L1) + 1, 1), (len(L1) + len(L2) + 2, 2), (len(data), 3)]


def test_resume_from_position_continues_numbering_and_offsets():
    data = L1 + b"\n" + L2 + b"\n" + L3 + b"\n" + L4 + b"\n"
    full = parse(data)

    position = Position()
    stream = io.BytesIO(data)
    first = []
    for record in collector().parse(stream, PATH, position):
        first.append(record)
        if len(first) == 2:
            break
    assert position.offset == len(L1) + len(L2) + 2
    assert position.line == 2

    # A new reader (e.g. the next run) seeks to the stored position and carries on.
    rest = parse(data, Position(position.offset, position.line))
    assert [r.origin for r in first + rest] == [r.origin for r in full]
    assert [r.fields for r in first + rest] == [r.fields for r in full]
    assert [r.origin.line for r in rest] == [3, 4]


def test_resume_after_file_grew():
    old = L1 + b"\n" + L2 + b"\n"
    position = Position()
    assert len(list(collector().parse(io.BytesIO(old), PATH, position))) == 2
    grown = old + b"\n" + L3 + b"\n"
    records = parse(grown, position)
    assert len(records) == 1
    assert records[0].origin == Origin(PATH, len(old) + 1, 4)
    assert grown[records[0].origin.offset:].startswith(L3)
    assert position.offset == len(grown)
    assert position.line == 4


def test_resume_at_end_yields_nothing():
    data = L1 + b"\n"
    position = Position(len(data), 1)
    assert parse(data, position) == []
    assert position.offset == len(data)
    assert position.line == 1


def test_crlf_lines():
    data = L1 + b"\r\n" + L2 + b"\r\n"
    records = parse(data)
    assert [r.origin for r in records] == [Origin(PATH, 0, 1), Origin(PATH, len(L1) + 2, 2)]
    assert all(isinstance(r, Event) for r in records)
    assert records[0].raw == L1.decode()
    assert not records[1].fields["message"].endswith("\r")
    assert records[1].fields["src_port"] == 50000


def test_truncated_last_line_without_newline_is_read():
    data = L1 + b"\n" + L2
    position = Position()
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    assert len(records) == 2
    assert isinstance(records[1], Event)
    assert records[1].origin == Origin(PATH, len(L1) + 1, 2)
    assert records[1].raw == L2.decode()
    assert position.offset == len(data)


def test_empty_input_yields_nothing():
    position = Position()
    assert list(collector().parse(io.BytesIO(b""), PATH, position)) == []
    assert position.offset == 0
    assert position.line == 0


def test_blank_lines_skipped_but_counted():
    data = b"\n" + L1 + b"\n\n   \n\t\r\n" + L2 + b"\n\n"
    position = Position()
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    assert [type(r) for r in records] == [Event, Event]
    assert [r.origin.line for r in records] == [2, 6]
    assert_origins_exact(data, records, [L1, L2])
    assert position.line == 7
    assert position.offset == len(data)


def test_only_blank_lines_yield_nothing_but_advance():
    data = b"\n\n \r\n"
    position = Position()
    assert list(collector().parse(io.BytesIO(data), PATH, position)) == []
    assert (position.offset, position.line) == (len(data), 3)


# --- odd bytes ------------------------------------------------------------------------------------------


def test_binary_garbage_becomes_malformed_and_neighbours_still_parse():
    garbage = b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe\x00\x13\x37"
    data = L1 + b"\n" + garbage + b"\n" + L2 + b"\n"
    records = parse(data)
    assert [type(r) for r in records] == [Event, Malformed, Event]
    bad = records[1]
    assert bad.origin == Origin(PATH, len(L1) + 1, 2)
    assert bad.reason
    assert bad.raw == garbage
    assert bad.raw_length == len(garbage)
    assert_origins_exact(data, records, [L1, garbage, L2])
    assert records[2].fields["user"] == "alice"


def test_text_that_is_not_syslog_is_malformed_with_reason():
    records = parse(b"hello world\n")
    assert len(records) == 1
    assert isinstance(records[0], Malformed)
    assert "syslog" in records[0].reason
    assert records[0].origin == Origin(PATH, 0, 1)


def test_latin1_bytes_in_valid_line_are_parsed_without_loss():
    line = b"Nov  3 10:00:01 srv01 sshd[1234]: Invalid user j\xf6rg from 203.0.113.9 port 4444"
    records = parse(line + b"\n")
    assert len(records) == 1
    event = records[0]
    assert isinstance(event, Event)
    assert event.fields["user"] == "j\xf6rg"
    assert event.fields["src_ip"] == "203.0.113.9"
    assert event.raw.encode("latin-1") == line


def test_utf8_line_is_decoded_as_utf8():
    line = "Nov  3 10:00:01 srv01 sshd[1234]: Invalid user jörg from 203.0.113.9 port 4444".encode()
    (event,) = parse(line + b"\n")
    assert event.fields["user"] == "jörg"
    assert event.raw.encode() == line


def test_nul_bytes_inside_message_are_kept():
    line = b"Nov  3 10:00:01 srv01 app[1]: before\x00after\x00"
    (event,) = parse(line + b"\n")
    assert isinstance(event, Event)
    assert event.fields["message"] == "before\x00after\x00"


def test_nul_filled_region_is_malformed_and_next_lines_parse():
    # What a crash leaves in a log file: a run of NULs where a block was never written.
    nuls = b"\x00" * 512
    data = L1 + b"\n" + nuls + b"\n" + L2 + b"\n"
    records = parse(data)
    assert [type(r) for r in records] == [Event, Malformed, Event]
    assert records[1].raw == nuls
    assert records[1].origin == Origin(PATH, len(L1) + 1, 2)
    assert records[2].origin == Origin(PATH, len(L1) + len(nuls) + 2, 3)


def test_ansi_escapes_and_markup_kept_verbatim():
    message = "Invalid user \x1b[31mroot\x1b[0m[bold]x[/bold] from 203.0.113.9 port 22"
    line = f"Nov  3 10:00:01 srv01 sshd[1234]: {message}".encode()
    (event,) = parse(line + b"\n")
    assert isinstance(event, Event)
    assert event.fields["message"] == message
    assert event.fields["user"] == "\x1b[31mroot\x1b[0m[bold]x[/bold]"
    assert event.raw == line.decode()


@pytest.mark.parametrize(
    "line",
    [
        # Out-of-range dates and absurd numbers in a corrupted line must not abort the whole file.
        b"0001-01-01T00:00:00+01:00 srv01 app[1]: x",
        b"9999-12-31T23:59:59-01:00 srv01 app[1]: x",
        b"Nov  3 10:00:01 srv01 app[" + b"1" * 5000 + b"]: x",
        b"Nov  3 10:00:01 srv01 useradd[1]: new user: name=a, UID=" + b"7" * 5000
        + b", GID=1, home=/, shell=x",
    ],
    ids=["year-1", "year-9999", "huge-pid", "huge-uid"],
)
def test_hostile_line_does_not_abort_reading(line):
    data = line + b"\n" + L2 + b"\n"
    records = parse(data)
    assert len(records) == 2
    assert records[0].origin == Origin(PATH, 0, 1)
    assert isinstance(records[1], Event)
    assert records[1].origin == Origin(PATH, len(line) + 1, 2)


# --- over-long lines ------------------------------------------------------------------------------------


@pytest.fixture
def small_max(monkeypatch) -> int:
    monkeypatch.setattr(interface, "MAX_LINE_BYTES", 4096)
    return 4096


def test_overlong_line_is_one_malformed_and_reading_continues(small_max):
    long_line = L1 + b" " + b"A" * (3 * small_max + 123)
    data = L2 + b"\n" + long_line + b"\n" + L3 + b"\n" + L4 + b"\n"
    position = Position()
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    assert [type(r) for r in records] == [Event, Malformed, Event, Event]
    bad = records[1]
    assert bad.origin == Origin(PATH, len(L2) + 1, 2)
    assert bad.reason
    assert bad.raw_length >= len(long_line)
    assert 0 < len(bad.raw) <= QUARANTINE_KEEP_BYTES
    assert long_line.startswith(bad.raw)
    assert_origins_exact(data, records, [L2, long_line, L3, L4])
    assert [r.origin.line for r in records] == [1, 2, 3, 4]
    assert position.offset == len(data)
    assert position.line == 4


def test_overlong_last_line_without_newline(small_max):
    long_line = b"x" * (small_max * 2 + 5)
    data = L1 + b"\n" + long_line
    position = Position()
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    assert [type(r) for r in records] == [Event, Malformed]
    assert records[1].raw_length == len(long_line)
    assert records[1].origin == Origin(PATH, len(L1) + 1, 2)
    assert position.offset == len(data)


def test_line_just_under_the_limit_is_parsed(small_max):
    line = L1 + b" " + b"B" * (small_max - len(L1) - 2)
    assert len(line + b"\n") == small_max
    records = parse(line + b"\n" + L2 + b"\n")
    assert [type(r) for r in records] == [Event, Event]
    assert records[0].raw == line.decode()


def test_overlong_line_raw_length_excludes_newline_like_other_malformed(small_max):
    # A rejected short line records len(line) without its terminator; an over-long one should too.
    long_line = b"y" * (small_max * 2)
    records = parse(long_line + b"\n" + b"z" * 10 + b"\n")
    assert [type(r) for r in records] == [Malformed, Malformed]
    assert records[1].raw_length == 10
    assert records[0].raw_length == len(long_line)


def test_real_ten_megabyte_line():
    long_line = L1 + b" " + b"Z" * (10 * 1024 * 1024)
    data = L2 + b"\n" + long_line + b"\n" + L3 + b"\n"
    records = parse(data)
    assert [type(r) for r in records] == [Event, Malformed, Event]
    bad = records[1]
    assert bad.raw_length >= len(long_line)
    assert bad.raw == long_line[:QUARANTINE_KEEP_BYTES]
    assert bad.origin == Origin(PATH, len(L2) + 1, 2)
    assert records[2].origin == Origin(PATH, len(L2) + len(long_line) + 2, 3)
    assert records[2].fields["process"] == "CRON"


# --- properties -----------------------------------------------------------------------------------------

VALID_LINES = [L1, L2, L3, L4, b"2026-11-25T10:00:00.123+01:00 host prog[1]: msg"]

line_pieces = st.one_of(
    st.binary(max_size=120).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from(VALID_LINES),
    st.sampled_from([b"", b" ", b"\r", b"\t \r", b"\x00\x00"]),
    st.builds(lambda line, junk: line + junk, st.sampled_from(VALID_LINES),
              st.binary(max_size=20).map(lambda b: b.replace(b"\n", b""))),
)


@st.composite
def log_inputs(draw) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=2000))
    pieces = draw(st.lists(line_pieces, max_size=30))
    data = b"\n".join(pieces)
    if pieces and draw(st.booleans()):
        data += b"\n"
    return data


def expected_lines(data: bytes, max_line: int | None = None) -> list[tuple[int, int]]:
    """(offset, 1-based line) of every line the driver must report, computed independently."""
    result, offset = [], 0
    for number, piece in enumerate(data.split(b"\n"), start=1):
        if offset >= len(data):
            break
        if piece.strip() or (max_line is not None and len(piece) >= max_line):
            result.append((offset, number))
        offset += len(piece) + 1
    return result


def check_accounting(data: bytes, records: list, position: Position, max_line: int | None = None) -> None:
    assert all(isinstance(r, Event | Malformed) for r in records)
    assert [(r.origin.offset, r.origin.line) for r in records] == expected_lines(data, max_line)
    offsets = [r.origin.offset for r in records]
    assert offsets == sorted(set(offsets))
    assert all(0 <= o < len(data) for o in offsets)
    for record in records:
        assert record.origin.path == PATH
        assert record.origin.offset == 0 or data[record.origin.offset - 1] == 0x0A
        if isinstance(record, Malformed):
            assert record.reason
            assert data[record.origin.offset:].startswith(record.raw)
            assert len(record.raw) <= record.raw_length
    assert position.offset == len(data)
    assert position.line == data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


@pytest.mark.reliability
@settings(max_examples=200, deadline=None)
@given(log_inputs())
def test_property_arbitrary_bytes_never_raise_and_every_line_is_accounted_for(data):
    position = Position()
    records = list(collector().parse(io.BytesIO(data), PATH, position))
    check_accounting(data, records, position)


@pytest.mark.reliability
@settings(max_examples=150, deadline=None)
@given(log_inputs(), st.integers(min_value=8, max_value=64))
def test_property_accounting_holds_with_overlong_lines(data, max_line):
    position = Position()
    with mock.patch.object(interface, "MAX_LINE_BYTES", max_line):
        records = list(collector().parse(io.BytesIO(data), PATH, position))
    check_accounting(data, records, position, max_line)
    for record in records:
        if isinstance(record, Malformed) and record.raw_length >= max_line:
            assert len(record.raw) <= max_line


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

syslog_parts = st.fixed_dictionaries({
    "month": st.integers(1, 12),
    "day": st.integers(1, 28),
    "hour": st.integers(0, 23),
    "minute": st.integers(0, 59),
    "second": st.integers(0, 59),
    "host": st.text(NAME_CHARS, min_size=1, max_size=30),
    "program": st.text(NAME_CHARS + "()/", min_size=1, max_size=20),
    "pid": st.none() | st.integers(0, 4_194_304),
    "message": st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=200
    ),
})


@settings(max_examples=200, deadline=None)
@given(syslog_parts)
def test_property_generated_syslog_lines_round_trip(parts):
    tag = parts["program"] if parts["pid"] is None else f"{parts['program']}[{parts['pid']}]"
    line = (f"{MONTHS[parts['month'] - 1]} {parts['day']:2d} "
            f"{parts['hour']:02d}:{parts['minute']:02d}:{parts['second']:02d} "
            f"{parts['host']} {tag}: {parts['message']}")
    data = line.encode() + b"\n"
    records = parse(data)
    assert len(records) == 1
    event = records[0]
    assert isinstance(event, Event), event
    assert event.fields["host"] == parts["host"]
    assert event.fields["process"] == parts["program"]
    assert event.fields.get("pid") == parts["pid"]
    assert event.fields["message"] == parts["message"]
    assert event.time == datetime(2026, parts["month"], parts["day"], parts["hour"], parts["minute"],
                                  parts["second"], tzinfo=UTC)
    assert event.logsource.service == parts["program"].split("(")[0].lower()
    assert event.origin == Origin(PATH, 0, 1)
    assert event.raw == line
