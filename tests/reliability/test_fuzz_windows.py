"""Fuzzing the EVTX collector with damaged real logs: bytes flipped in the file header, the chunk headers, the
records and their string and template tables; hostile text written over record data; files cut anywhere;
chunks lost, repeated or out of order. Nothing raises; what is read is events and counted malformed records,
and the ingest stores them.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st
from strategies import HOSTILE_TEXT, check_event, fuzz, mutated
from test_collect_evtx import _evtx, _records_in

from seccenter.collect.evtx import CHUNK_SIZE, HEADER_SIZE, EvtxCollector
from seccenter.collect.interface import Position
from seccenter.detect.sigma import RuleSet
from seccenter.events import Event, Malformed
from seccenter.pipeline import ingest
from seccenter.store.db import open_db

pytestmark = pytest.mark.reliability

SOURCES = ["Lateral Movement/LM_wmiexec_impacket_sysmon_whoami.evtx", "Command and Control/DE_RDP_Tunneling_4624.evtx",
           "Persistence/sysmon_local_account_creation_and_added_admingroup_12_13.evtx",
           "Credential Access/kerberos_pwd_spray_4771.evtx", "Other/emotet/exec_emotet_ps_4104.evtx"]
WITH_CORPUS = [HealthCheck.function_scoped_fixture]  # the corpus fixture gives the same path to every example


@st.composite
def damaged_logs(draw: st.DrawFn, corpus: Path) -> bytes:
    """A real log of one to three chunks, damaged where its structure is."""
    names = draw(st.lists(st.sampled_from(SOURCES), min_size=1, max_size=3, unique=True))
    data = bytearray(_evtx(corpus, names)[0])
    chunks = [HEADER_SIZE + index * CHUNK_SIZE for index in range(len(names))]
    records = [chunk + offset for chunk in chunks
               for offset, _size in _records_in(bytes(data[chunk:chunk + CHUNK_SIZE]))]
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(["record", "record header", "tables", "chunk header", "file header", "record",
                                      "record header", "tables"]))
        if where == "file header":
            at = draw(st.integers(0, 127))
        elif where == "chunk header":
            at = draw(st.sampled_from(chunks)) + draw(st.integers(0, 127))
        elif where == "record header":
            at = draw(st.sampled_from(records)) + draw(st.integers(0, 23))
        elif where == "record":
            at = draw(st.sampled_from(records)) + draw(st.integers(24, 400))
        else:  # the string and template tables after the chunk header
            at = draw(st.sampled_from(chunks)) + draw(st.integers(128, 511))
        damage = draw(st.sampled_from(["flip", "byte", "hostile", "zero"]))
        if damage == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif damage == "byte":
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x0F, 0x7F, 0x80, 0xFF]))
        elif damage == "hostile":  # written over the bytes there, as UTF-16 like EVTX strings
            text = draw(st.sampled_from(HOSTILE_TEXT[:60])).encode("utf-16-le", "surrogatepass")[:200]
            data[at:at + len(text)] = text[:len(data) - at]
        else:
            size = draw(st.integers(1, 600))
            data[at:at + size] = bytes(len(data[at:at + size]))
    layout = draw(st.sampled_from(["as is", "cut", "chunk repeated", "chunks reversed", "mutated", "as is"]))
    if layout == "cut":
        data = data[:draw(st.integers(0, len(data)))]
    elif layout == "chunk repeated":
        chunk = draw(st.sampled_from(chunks))
        data += data[chunk:chunk + CHUNK_SIZE]
    elif layout == "chunks reversed":
        data = data[:HEADER_SIZE] + b"".join(bytes(data[chunk:chunk + CHUNK_SIZE]) for chunk in reversed(chunks))
    elif layout == "mutated":
        data = bytearray(draw(mutated(bytes(data))))
    event(layout)
    return bytes(data)


@fuzz(100, suppress_health_check=WITH_CORPUS)
@given(data=st.data())
def test_damaged_logs_read_as_events_and_counted_damage(corpus: Path, data: st.DataObject) -> None:
    log = data.draw(damaged_logs(corpus), label="log")
    position = Position()
    records = list(EvtxCollector().parse(io.BytesIO(log), "fuzz.evtx", position))
    events = [record for record in records if isinstance(record, Event)]
    for record in records:
        if isinstance(record, Event):
            check_event(record)
            assert record.origin.line is None and isinstance(record.fields.get("EventRecordID"), int | str)
        else:
            assert isinstance(record, Malformed) and record.reason
    read = [record for record in records if isinstance(record, Event) or record.reason.startswith("EVTX record ")]
    if read:
        assert position.offset == read[-1].origin.offset  # the id of the last record read (an event or not)
    if events:
        again = list(EvtxCollector().parse(io.BytesIO(log), "fuzz.evtx", Position(offset=position.offset)))
        assert not [record for record in again if isinstance(record, Event)
                    and record.origin.offset <= position.offset], "a resumed read gives no record read before"
    event(f"{'events' if events else 'no events'}, {'damage' if len(events) < len(records) else 'no damage'}")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    return open_db(tmp_path_factory.mktemp("store") / "fuzz.db"), tmp_path_factory.mktemp("evtx"), itertools.count()


@fuzz(30, suppress_health_check=WITH_CORPUS)
@given(data=st.data())
def test_damaged_logs_are_ingested(corpus: Path, store, data: st.DataObject) -> None:
    db, folder, numbers = store
    path = folder / f"{next(numbers)}.evtx"
    path.write_bytes(data.draw(damaged_logs(corpus), label="log"))
    (report,) = ingest(db, [path], RuleSet(), fmt="evtx").sources
    assert report.error is None
    key = str(path.resolve())
    stored = db.execute("SELECT count(*) FROM events WHERE origin_path = ?", [key]).fetchone()[0]
    quarantined = db.execute("SELECT count(*) FROM quarantine WHERE origin_path = ?", [key]).fetchone()[0]
    assert stored == report.new_events <= report.events  # a repeated chunk's records are stored once
    assert quarantined <= report.malformed and (quarantined > 0) == (report.malformed > 0)
