"""EVTX collector: every record of the real corpus, Sigma field names, damaged files, resuming by record id."""

from __future__ import annotations

import gzip
import io
import json
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from evtx import PyEvtxParser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seccenter.collect.evtx import CHUNK_SIZE, HEADER_SIZE, EvtxCollector, event_fields, windows_service
from seccenter.collect.interface import Position
from seccenter.events import Event, Malformed

RDP_4624 = "Command and Control/DE_RDP_Tunneling_4624.evtx"
SYSMON_WMIEXEC = "Lateral Movement/LM_wmiexec_impacket_sysmon_whoami.evtx"
SERVICE_7045 = "Lateral Movement/LM_Remote_Service02_7045.evtx"
LOG_CLEARED_104 = "Defense Evasion/DE_104_system_log_cleared.evtx"
POWERSHELL_4104 = "Other/emotet/exec_emotet_ps_4104.evtx"
SYSMON_REGISTRY = "Persistence/sysmon_local_account_creation_and_added_admingroup_12_13.evtx"
KERBEROS_4771 = "Credential Access/kerberos_pwd_spray_4771.evtx"


def _read(source: bytes | Path, position: Position | None = None) -> list[Event | Malformed]:
    stream = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    with stream:
        return list(EvtxCollector().parse(stream, "test.evtx", position or Position()))


def _split(records: list[Event | Malformed]) -> tuple[list[Event], list[Malformed]]:
    return ([r for r in records if isinstance(r, Event)], [r for r in records if isinstance(r, Malformed)])


def _bare(source: bytes | Path) -> tuple[list[int], int]:
    """Record ids and error count of a bare loop over PyEvtxParser (errors skipped, iteration goes on)."""
    target = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    iterator = PyEvtxParser(target).records_json()
    ids, errors = [], 0
    while True:
        try:
            ids.append(next(iterator)["event_record_id"])
        except StopIteration:
            return ids, errors
        except RuntimeError:
            errors += 1


def _by_id(events: list[Event], event_id: int) -> list[Event]:
    return [event for event in events if event.fields.get("EventID") == event_id]


# ---------------------------------------------------------------- multi-chunk files built from corpus chunks
# Every corpus file holds one chunk; real logs hold hundreds. These helpers put chunks of several corpus files
# behind one file header, renumbering their records so the ids run on, with valid checksums.

def _records_in(chunk: bytes) -> list[tuple[int, int]]:
    """(offset, size) of each record in a chunk."""
    free = struct.unpack_from("<I", chunk, 48)[0]
    offset, found = 512, []
    while offset + 24 <= free:
        magic, size = struct.unpack_from("<II", chunk, offset)
        if magic != 0x2A2A or size < 28:
            break
        found.append((offset, size))
        offset += size
    return found


def _renumber(chunk: bytes, first_id: int) -> tuple[bytes, list[int]]:
    data = bytearray(chunk)
    records = _records_in(chunk)
    ids = list(range(first_id, first_id + len(records)))
    for (offset, _size), record_id in zip(records, ids, strict=True):
        struct.pack_into("<Q", data, offset + 8, record_id)
    struct.pack_into("<QQQQ", data, 8, ids[0], ids[-1], ids[0], ids[-1])
    free = struct.unpack_from("<I", data, 48)[0]
    struct.pack_into("<I", data, 52, zlib.crc32(bytes(data[512:free])))
    struct.pack_into("<I", data, 124, zlib.crc32(bytes(data[:120]) + bytes(data[128:512])))
    return bytes(data), ids


def _evtx(corpus: Path, names: list[str], file_order: list[int] | None = None) -> tuple[bytes, list[list[int]]]:
    """A file holding the chunks of ``names`` with record ids running on in that order; ``file_order`` puts
    the chunks in the file in another order (as in a log that has wrapped). Returns the bytes and the ids of
    each chunk, in ``names`` order."""
    header = bytearray((corpus / "evtx" / names[0]).read_bytes()[:HEADER_SIZE])
    chunks, ids, next_id = [], [], 1
    for name in names:
        chunk, chunk_ids = _renumber((corpus / "evtx" / name).read_bytes()[HEADER_SIZE:HEADER_SIZE + CHUNK_SIZE],
                                     next_id)
        chunks.append(chunk)
        ids.append(chunk_ids)
        next_id = chunk_ids[-1] + 1
    order = file_order or list(range(len(chunks)))
    struct.pack_into("<QQQ", header, 8, 0, len(chunks) - 1, next_id)
    struct.pack_into("<H", header, 42, len(chunks))
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    return bytes(header) + b"".join(chunks[index] for index in order), ids


THREE = [RDP_4624, SYSMON_REGISTRY, KERBEROS_4771]


@pytest.fixture
def three_chunks(corpus: Path) -> tuple[bytes, list[list[int]]]:
    return _evtx(corpus, THREE)


# ---------------------------------------------------------------------------------------------- the corpus

def test_every_corpus_record_becomes_an_event(corpus: Path) -> None:
    files = sorted((corpus / "evtx").rglob("*.evtx"))
    assert len(files) >= 17
    for path in files:
        bare_ids, bare_errors = _bare(path)
        events, malformed = _split(_read(path))
        assert len(events) + len(malformed) == len(bare_ids) + bare_errors, path
        assert malformed == [], path
        assert [event.origin.offset for event in events] == bare_ids, path
        for event in events:
            assert event.time.utcoffset() == timedelta(0), path
            assert event.source == "evtx"
            assert event.origin.line is None
            assert event.logsource.product == "windows"
            assert isinstance(event.fields["EventID"], int)
            assert event.fields["Channel"] and event.fields["Computer"] and event.fields["Provider_Name"]
            assert json.loads(event.raw)["Event"]["System"]["Channel"] == event.fields["Channel"]


def test_same_events_from_a_file_a_buffer_and_gzip(corpus: Path, tmp_path: Path) -> None:
    # A plain file goes to the parser by path; other streams through the collector's own view of the chunks.
    path = corpus / "evtx" / SYSMON_REGISTRY
    compressed = tmp_path / "log.evtx.gz"
    compressed.write_bytes(gzip.compress(path.read_bytes()))
    from_file = _read(path)
    from_buffer = _read(path.read_bytes())
    with gzip.open(compressed, "rb") as stream:
        from_gzip = list(EvtxCollector().parse(stream, "test.evtx", Position()))  # type: ignore[arg-type]
    assert len(from_file) == 17
    for other in (from_buffer, from_gzip):
        assert [(e.origin, e.time, e.fields, e.raw) for e in other] == [(e.origin, e.time, e.fields, e.raw)
                                                                         for e in from_file]


def test_security_logon_4624(corpus: Path) -> None:
    events, _ = _split(_read(corpus / "evtx" / RDP_4624))
    logons = _by_id(events, 4624)
    assert logons
    first = logons[0]
    assert first.logsource.service == "security" and first.logsource.category is None
    assert first.fields["Provider_Name"] == "Microsoft-Windows-Security-Auditing"
    assert first.fields["EventRecordID"] == 5278  # System's id; the origin holds the record header's
    assert first.origin.offset == 1
    assert first.fields["ProcessID"] == 480 and first.fields["ThreadID"] == 1716
    assert first.fields["Keywords"] == "0x8020000000000000"
    assert first.time.isoformat() == "2019-02-13T15:14:52.409734+00:00"
    for logon in logons:
        assert {"TargetUserName", "LogonType", "IpAddress", "SubjectUserSid"} <= logon.fields.keys()
    assert 10 in {logon.fields["LogonType"] for logon in logons}  # the RDP logon of the sample


def test_sysmon_process_creation(corpus: Path) -> None:
    events, _ = _split(_read(corpus / "evtx" / SYSMON_WMIEXEC))
    created = _by_id(events, 1)
    assert created
    for event in created:
        assert event.logsource.service == "sysmon" and event.logsource.category == "process_creation"
        assert {"Image", "CommandLine", "ParentImage", "User"} <= event.fields.keys()
        assert event.fields["SecurityUserID"] == "S-1-5-18"
    assert any("whoami" in event.fields["CommandLine"].lower() for event in created)


def test_service_install_7045_event_id_with_qualifiers(corpus: Path) -> None:
    events, _ = _split(_read(corpus / "evtx" / SERVICE_7045))
    installs = _by_id(events, 7045)
    assert installs
    event = installs[0]
    assert event.logsource.service == "system"
    assert event.fields["ServiceName"] and event.fields["ImagePath"]
    assert "Qualifiers" not in event.fields


def test_user_data_flattened_without_overwriting_system_fields(corpus: Path) -> None:
    (event,) = _read(corpus / "evtx" / LOG_CLEARED_104)
    assert isinstance(event, Event)
    assert event.fields["EventID"] == 104
    assert event.fields["SubjectUserName"] == "user01"
    assert event.fields["Channel"] == "System" and event.fields["UserData_Channel"] == "System"
    assert event.fields["BackupPath"] is None
    assert not any(name.startswith("#") or name == "xmlns" for name in event.fields)
    assert event.time.year == 2019  # TimeCreated, not the record header's empty 1601 stamp


def test_powershell_script_block(corpus: Path) -> None:
    (event,) = _read(corpus / "evtx" / POWERSHELL_4104)
    assert isinstance(event, Event)
    assert (event.logsource.service, event.logsource.category) == ("powershell", "ps_script")
    assert "ScriptBlockText" in event.fields


def test_sysmon_registry_categories(corpus: Path) -> None:
    events, _ = _split(_read(corpus / "evtx" / SYSMON_REGISTRY))
    categories = {(event.fields["EventID"], event.fields.get("EventType"), event.logsource.category)
                  for event in events if event.fields["EventID"] in (12, 13)}
    for event_id, event_type, category in categories:
        if event_id == 13:
            assert category == "registry_set"
        else:
            assert category == ("registry_delete" if event_type.startswith("Delete") else "registry_add")


@pytest.mark.parametrize(("channel", "service"), [
    ("Security", "security"),
    ("System", "system"),
    ("Application", "application"),
    ("Microsoft-Windows-Sysmon/Operational", "sysmon"),
    ("Microsoft-Windows-PowerShell/Operational", "powershell"),
    ("Windows PowerShell", "powershell-classic"),
    ("Microsoft-Windows-TaskScheduler/Operational", "taskscheduler"),
    ("Microsoft-Windows-Windows Defender/Operational", "windefend"),
    ("microsoft-windows-sysmon/operational", "sysmon"),
    ("Setup", None),
    ("", None),
    (None, None),
])
def test_windows_service(channel: str | None, service: str | None) -> None:
    assert windows_service(channel) == service


def test_unnamed_data_becomes_a_list_and_system_fields_win() -> None:
    system = {"EventID": {"#attributes": {"Qualifiers": 32768}, "#text": 6009}, "Channel": "System"}
    fields = event_fields({"System": system, "EventData": {"Data": {"#text": ["10.00.", "15063", ""]},
                                                           "Binary": None}})
    assert fields == {"EventID": 6009, "Channel": "System", "Data": ["10.00.", "15063", ""], "Binary": None}
    assert event_fields({"System": system, "EventData": {"Data": "only"}})["Data"] == ["only"]
    assert event_fields({"System": system, "EventData": {"#text": "text"}})["Data"] == ["text"]
    named = event_fields({"System": system, "EventData": {"Channel": "x", "Param": {"#text": "y"}}})
    assert named["Channel"] == "System" and named["EventData_Channel"] == "x" and named["Param"] == "y"
    assert event_fields({"System": {"EventID": "4624"}, "EventData": None}) == {"EventID": 4624}


_NAMES = st.sampled_from(["#attributes", "#text", "Data", "Channel", "EventID", "Name", "x"]) | st.text(max_size=8)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAMES, inner, max_size=3),
                     max_leaves=12)


@pytest.mark.reliability
@given(st.dictionaries(st.sampled_from(["System", "EventData", "UserData", "Other"]), _JSON, max_size=4))
def test_event_fields_takes_any_json(event: dict) -> None:
    assert isinstance(event_fields(event), dict)


def test_sniff() -> None:
    collector = EvtxCollector()
    assert collector.sniff(b"ElfFile\x00" + bytes(100))
    assert not collector.sniff(b"ElfChnk\x00")
    assert not collector.sniff(b"Jan  1 00:00:00 host sshd[1]: hello\n")
    assert not collector.sniff(b"")


# ------------------------------------------------------------------------------------- several chunks, damage

def test_several_chunks_all_read(three_chunks: tuple[bytes, list[list[int]]]) -> None:
    data, ids = three_chunks
    events, malformed = _split(_read(data))
    assert malformed == []
    assert [event.origin.offset for event in events] == [i for chunk in ids for i in chunk]
    assert [event.origin.offset for event in events] == _bare(data)[0]


def test_damaged_chunk_header_other_chunks_still_read(three_chunks: tuple[bytes, list[list[int]]]) -> None:
    data, ids = three_chunks
    damaged = bytearray(data)
    second = HEADER_SIZE + CHUNK_SIZE
    damaged[second:second + 128] = b"\xaa" * 128
    events, malformed = _split(_read(bytes(damaged)))
    assert [event.origin.offset for event in events] == ids[0] + ids[2]
    (bad,) = malformed
    assert bad.origin.offset == ids[0][-1] and bad.origin.line is None
    assert f"chunk 1 (byte {second})" in bad.reason and "after record 18" in bad.reason
    assert bad.raw == b""


def test_damaged_chunk_records_other_chunks_still_read(three_chunks: tuple[bytes, list[list[int]]]) -> None:
    data, ids = three_chunks
    damaged = bytearray(data)
    second = HEADER_SIZE + CHUNK_SIZE
    damaged[second + 512:second + 4000] = b"\x55" * (4000 - 512)  # string and template tables included
    events, malformed = _split(_read(bytes(damaged)))
    assert [event.origin.offset for event in events] == ids[0] + ids[2]
    assert len(malformed) == 1 and malformed[0].reason.startswith("unreadable EVTX data after record 18")
    bare_ids, bare_errors = _bare(bytes(damaged))
    assert len(events) + len(malformed) == len(bare_ids) + bare_errors


def test_damaged_record_only_that_record_lost(corpus: Path) -> None:
    data = bytearray((corpus / "evtx" / RDP_4624).read_bytes())
    offset, size = _records_in(bytes(data[HEADER_SIZE:HEADER_SIZE + CHUNK_SIZE]))[4]
    start = HEADER_SIZE + offset
    data[start + 24:start + size - 4] = b"\xfe" * (size - 28)
    events, malformed = _split(_read(bytes(data)))
    assert [event.origin.offset for event in events] == [1, 2, 3, 4, *range(6, 19)]
    (bad,) = malformed
    assert bad.origin.offset == 4 and "record number 5" in bad.reason


def test_truncated_file_reads_up_to_the_cut(three_chunks: tuple[bytes, list[list[int]]]) -> None:
    data, ids = three_chunks
    cut = data[:HEADER_SIZE + CHUNK_SIZE + 8000]  # in the 8th record of the second chunk
    events, malformed = _split(_read(cut))
    read = [event.origin.offset for event in events]
    assert read[:len(ids[0])] == ids[0]
    assert read[len(ids[0]):] == ids[1][:7]  # the records of the second chunk before the cut
    assert read == list(range(1, len(read) + 1)) and read[-1] < ids[1][-1]
    assert len(read) > len(_bare(cut)[0])  # the bare parser drops the whole cut chunk silently
    (truncated,) = malformed
    assert "truncated" in truncated.reason and f"8000 of {CHUNK_SIZE} bytes" in truncated.reason
    assert truncated.origin.offset == read[-1]


def test_truncated_inside_the_file_header(corpus: Path) -> None:
    data = (corpus / "evtx" / RDP_4624).read_bytes()[:2000]
    events, malformed = _split(_read(data))
    assert events == [] and len(malformed) == 1 and "truncated" in malformed[0].reason


@pytest.mark.parametrize("size", [100, HEADER_SIZE + 1000, HEADER_SIZE + CHUNK_SIZE, HEADER_SIZE + 3 * CHUNK_SIZE])
def test_magic_then_garbage(size: int) -> None:
    garbage = bytes((index * 7919 + 13) % 251 for index in range(size))
    events, malformed = _split(_read(b"ElfFile\x00" + garbage[8:]))
    assert events == []
    assert malformed and all(m.reason for m in malformed)


def test_not_evtx_at_all() -> None:
    (bad,) = _read(b"Jan  1 00:00:00 host sshd[1]: hello\n" * 200)
    assert isinstance(bad, Malformed) and "not an EVTX file" in bad.reason


def test_empty_stream() -> None:
    assert _read(b"") == []


def test_header_only() -> None:
    assert _read(b"ElfFile\x00" + bytes(HEADER_SIZE - 8)) == []


@pytest.mark.reliability
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, HEADER_SIZE + CHUNK_SIZE - 1), st.integers(0, 255)), min_size=1,
                max_size=20))
def test_random_damage_never_escapes(corpus: Path, flips: list[tuple[int, int]]) -> None:
    data = bytearray((corpus / "evtx" / SYSMON_WMIEXEC).read_bytes())
    for offset, value in flips:
        data[offset] = value
    for record in _read(bytes(data)):
        if isinstance(record, Event):
            assert record.time.utcoffset() == timedelta(0)
        else:
            assert record.reason


# --------------------------------------------------------------------------------------------------- resume

def test_resume_reads_only_later_records(corpus: Path) -> None:
    position = Position(offset=10)
    with (corpus / "evtx" / RDP_4624).open("rb") as stream:
        stream.seek(10)  # as the pipeline does with position.offset, which is a byte offset elsewhere
        records = list(EvtxCollector().parse(stream, "x.evtx", position))
    assert [record.origin.offset for record in records] == list(range(11, 19))
    assert position.offset == 18 and position.line == 0
    assert _read(corpus / "evtx" / RDP_4624, Position(offset=18)) == []


def test_position_advances_with_each_record(three_chunks: tuple[bytes, list[list[int]]]) -> None:
    data, _ = three_chunks
    position = Position()
    for record in EvtxCollector().parse(io.BytesIO(data), "x.evtx", position):
        assert position.offset == record.origin.offset


def test_resume_in_a_later_chunk(three_chunks: tuple[bytes, list[list[int]]]) -> None:
    data, ids = three_chunks
    middle = ids[1][5]
    records = _read(data, Position(offset=middle))
    assert [record.origin.offset for record in records] == ids[1][6:] + ids[2]


def test_resume_does_not_report_damage_again(three_chunks: tuple[bytes, list[list[int]]]) -> None:
    data, ids = three_chunks
    damaged = bytearray(data)
    damaged[HEADER_SIZE + CHUNK_SIZE:HEADER_SIZE + CHUNK_SIZE + 128] = b"\xaa" * 128
    first = _read(bytes(damaged), Position(offset=5))
    assert sum(isinstance(record, Malformed) for record in first) == 1  # not seen by the run that stopped at 5
    again = _read(bytes(damaged), Position(offset=ids[2][3]))
    assert [record.origin.offset for record in again] == ids[2][4:]


def test_wrapped_log_comes_out_in_record_order(corpus: Path) -> None:
    # Newest chunk first in the file, as Windows leaves a log that has wrapped around.
    data, ids = _evtx(corpus, THREE, file_order=[2, 0, 1])
    everything = [i for chunk in ids for i in chunk]
    assert _bare(data)[0] != everything  # file order is not record order
    events, malformed = _split(_read(data))
    assert malformed == [] and [event.origin.offset for event in events] == everything


@pytest.mark.parametrize("stop_after", [1, 17, 18, 19, 30, 46])
def test_killed_and_resumed_reads_every_record_once(corpus: Path, stop_after: int) -> None:
    data, ids = _evtx(corpus, THREE, file_order=[2, 0, 1])
    position = Position()
    records = EvtxCollector().parse(io.BytesIO(data), "x.evtx", position)
    seen = [next(records).origin.offset for _ in range(stop_after)]
    records.close()  # killed here; position is what was committed with the last record
    seen += [record.origin.offset for record in _read(data, Position(offset=position.offset))]
    assert seen == [i for chunk in ids for i in chunk]


def test_stream_that_cannot_seek(corpus: Path) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            chunk = self._data.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    data = (corpus / "evtx" / RDP_4624).read_bytes()
    records = list(EvtxCollector().parse(io.BufferedReader(Pipe(data)), "-", Position()))
    assert len(records) == 18 and all(isinstance(record, Event) for record in records)
