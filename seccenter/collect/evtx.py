"""Windows event logs (``.evtx``) read with the ``evtx`` Rust bindings, one Event per record.

Positions are record ids, not byte offsets: for EVTX, ``Origin.offset`` and ``Position.offset`` hold the
record's *event record id* (the id in the record header, unique and increasing within one log), and
``Origin.line`` is None. On resume, records with an id up to ``position.offset`` are skipped; after each
record yielded ``position.offset`` is that record's id (``position.line`` is left alone). A Malformed
record's origin offset is the id of the last good record before the damage (0 when there is none).

Windows writes an EVTX file as a ring of 64 KiB chunks after a 4 KiB header, so a log that has wrapped
holds its newest chunk before its oldest ones. The parser reads chunks in file order; this collector hands
it a view of the file with the chunks sorted by their first record id, so records come out in id order,
a resumed read leaves out the whole chunks read before, and a read killed half-way and resumed loses
nothing. (A plain file that needs none of this is given to the parser by path, which is faster.) A last
chunk cut short (a truncated copy) is read up to its last whole record and reported as Malformed.

Damage is reported with the reason the parser gives, its chunk numbers turned into the file's, and the
parser goes on with the next record or chunk. Damage before a record that an earlier run read is not
reported again; damage after the last record (and a truncation) is reported on every read of the file,
the quarantine keeping it once per origin.

Fields follow Sigma's names for Windows events: the System values ``EventID``, ``Channel``, ``Computer``,
``Provider_Name``, ``EventRecordID``, ``Level``, ``Task``, ``Keywords``, ``ProcessID``, ``ThreadID`` and
``SecurityUserID``, ``TimeCreated`` (ISO 8601, UTC, so rules can use the timestamp modifiers), and every
``EventData``/``UserData`` item at the top level under its own name. An item
whose name is one of the System fields keeps that System field and goes in as ``EventData_<name>`` (or
``UserData_<name>``). Unnamed ``<Data>`` values are kept as the list ``Data``. The logsource is product
``windows`` with Sigma's service for the channel and, for Sysmon and PowerShell events, Sigma's category.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO

from evtx import PyEvtxParser

from seccenter.collect.interface import QUARANTINE_KEEP_BYTES, CollectOptions, Collector, Position
from seccenter.events import Event, LogSource, Malformed, Origin

EVTX_MAGIC = b"ElfFile\x00"
CHUNK_MAGIC = b"ElfChnk\x00"
HEADER_SIZE = 4096
CHUNK_SIZE = 65536
_CHUNK_IDS = struct.Struct("<QQ")
_CHUNK_IDS_AT = 24
"""First and last event record id of a chunk, at byte 24 of its header."""
_CHUNK_HEADER_SIZE = 512
_RECORD_HEADER = struct.Struct("<II")
_RECORD_MAGIC = 0x2A2A
_HEADER_BLOCK_SIZE = struct.Struct("<H")
_HEADER_BLOCK_SIZE_AT = 40
_NEXT_RECORD_AT = 24  # file header: next record identifier (uint64)
_HEADER_FLAGS_AT = 120  # file header: flags (uint32), bit 0 "dirty": the header may lag behind the chunks

PARSER_THREADS = 1
"""Worker threads for the Rust parser (0 lets it use one per core). Measured on a 2-core machine with this
collector, best of 9: 0, 1 and 2 threads took the same time within 1 % on the corpus (17 small files, read 20
times) and on a 17 MB, 22k-record log built from corpus chunks, because decoding each record's JSON in Python
costs about three times what the Rust parser does. One thread starts no pool per file and leaves the other
cores to the rest of the pipeline."""

_MAX_RECORDS_PER_CHUNK = (CHUNK_SIZE - 512) // 24
"""A record takes at least 24 bytes after the 512-byte chunk header: bounds how many errors one chunk can give."""

_SPOOL_BYTES = 16 << 20

SYSTEM_FIELDS = frozenset({
    "EventID", "Channel", "Computer", "Provider_Name", "EventRecordID", "Level", "Task", "Keywords",
    "ProcessID", "ThreadID", "SecurityUserID", "TimeCreated",
})

_SERVICES: dict[str, str] = {channel.lower(): service for channel, service in {
    "Security": "security",
    "System": "system",
    "Application": "application",
    "Microsoft-Windows-Sysmon/Operational": "sysmon",
    "Microsoft-Windows-PowerShell/Operational": "powershell",
    "PowerShellCore/Operational": "powershell",
    "Windows PowerShell": "powershell-classic",
    "Microsoft-Windows-TaskScheduler/Operational": "taskscheduler",
    "Microsoft-Windows-Windows Defender/Operational": "windefend",
    "Microsoft-Windows-WMI-Activity/Operational": "wmi",
    "DNS Server": "dns-server",
    "Microsoft-Windows-DNS-Server/Audit": "dns-server-audit",
    "Microsoft-Windows-DNS Client Events/Operational": "dns-client",
    "Microsoft-Windows-DriverFrameworks-UserMode/Operational": "driver-framework",
    "Microsoft-Windows-NTLM/Operational": "ntlm",
    "Microsoft-Windows-DHCP-Server/Operational": "dhcp",
    "MSExchange Management": "msexchange-management",
    "Microsoft-Windows-AppLocker/MSI and Script": "applocker",
    "Microsoft-Windows-AppLocker/EXE and DLL": "applocker",
    "Microsoft-Windows-AppLocker/Packaged app-Deployment": "applocker",
    "Microsoft-Windows-AppLocker/Packaged app-Execution": "applocker",
    "Microsoft-Windows-PrintService/Admin": "printservice-admin",
    "Microsoft-Windows-PrintService/Operational": "printservice-operational",
    "Microsoft-Windows-CodeIntegrity/Operational": "codeintegrity-operational",
    "Microsoft-Windows-SmbClient/Security": "smbclient-security",
    "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall": "firewall-as",
    "Microsoft-Windows-Bits-Client/Operational": "bits-client",
    "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational": "terminalservices-localsessionmanager",
    "Microsoft-Windows-LDAP-Client/Debug": "ldap",
    "Microsoft-Windows-Security-Mitigations/Kernel Mode": "security-mitigations",
    "Microsoft-Windows-Security-Mitigations/User Mode": "security-mitigations",
    "Microsoft-Windows-Shell-Core/Operational": "shell-core",
    "Microsoft-Windows-LSA/Operational": "lsa-server",
    "Microsoft-Windows-BitLocker/BitLocker Management": "bitlocker",
    "Microsoft-Windows-CAPI2/Operational": "capi2",
    "OpenSSH/Operational": "openssh",
}.items()}

_SYSMON_CATEGORIES = {
    1: "process_creation", 2: "file_change", 3: "network_connection", 4: "sysmon_status",
    5: "process_termination", 6: "driver_load", 7: "image_load", 8: "create_remote_thread",
    9: "raw_access_thread", 10: "process_access", 11: "file_event", 12: "registry_add", 13: "registry_set",
    14: "registry_rename", 15: "create_stream_hash", 16: "sysmon_status", 17: "pipe_created",
    18: "pipe_created", 19: "wmi_event", 20: "wmi_event", 21: "wmi_event", 22: "dns_query", 23: "file_delete",
    24: "clipboard_capture", 25: "process_tampering", 26: "file_delete", 255: "sysmon_error",
}
_CATEGORIES: dict[str, dict[int, str]] = {
    "sysmon": _SYSMON_CATEGORIES,
    "powershell": {4103: "ps_module", 4104: "ps_script"},
    "powershell-classic": {400: "ps_classic_start", 600: "ps_classic_provider_start", 800: "ps_classic_script"},
}


def windows_service(channel: str | None) -> str | None:
    """Sigma's logsource ``service`` for a Windows event log channel (None for channels Sigma does not name).

    ``Windows PowerShell`` (the classic channel) is ``powershell-classic`` in Sigma, as distinct from
    ``powershell`` (``Microsoft-Windows-PowerShell/Operational``).
    """
    if not channel:
        return None
    return _SERVICES.get(channel.lower())


def windows_category(service: str | None, event_id: Any, event_type: Any = None) -> str | None:
    """Sigma's logsource ``category`` for the events whose fields already carry Sigma's names: Sysmon's
    (by event id) and PowerShell's script and module logging. Sysmon 12 is ``registry_delete`` for
    ``DeleteKey``/``DeleteValue`` and ``registry_add`` otherwise."""
    table = _CATEGORIES.get(service or "")
    if table is None or not isinstance(event_id, int):
        return None
    category = table.get(event_id)
    if category == "registry_add" and isinstance(event_type, str) and event_type.startswith("Delete"):
        return "registry_delete"
    return category


def parse_time(text: Any) -> datetime | None:
    """An EVTX time (``2019-02-13T15:14:52.409734Z``, or the parser's ``… UTC`` form) as aware UTC."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[:-4]
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp if stamp.tzinfo is UTC else stamp.astimezone(UTC)


_NO_ATTRIBUTES: dict[str, Any] = {}


def _attributes(node: Any) -> dict[str, Any]:
    """The ``#attributes`` of an element of the record's JSON (``{}`` when it has none)."""
    if node.__class__ is dict:
        attributes = node.get("#attributes")
        if attributes.__class__ is dict:
            return attributes
    return _NO_ATTRIBUTES


def _event_id(value: Any) -> Any:
    if isinstance(value, dict):  # {"#attributes": {"Qualifiers": 16384}, "#text": 7045}: qualifiers stay in raw
        value = value.get("#text")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) <= 20:
        return int(value)  # not "²", which isdigit() accepts and int() refuses, nor past int()'s 4300 digits
    return value


def _add_data(fields: dict[str, Any], value: Any) -> None:
    """Unnamed ``<Data>`` values (``{"#text": [...]}``, a list or a single value) extend the list ``Data``."""
    if isinstance(value, dict):
        value = value.get("#text")
    data = fields.get("Data")
    if not isinstance(data, list):
        data = fields["Data"] = [] if data is None else [data]
    if isinstance(value, list):
        data.extend(value)
    else:
        data.append(value)


_SPECIAL_ITEMS = frozenset({"#attributes", "#text", "Data"})


def _add_items(fields: dict[str, Any], items: Any, section: str) -> None:
    """Put the items of ``EventData``/``UserData`` at the top level of ``fields``."""
    if items.__class__ is not dict:
        if items is not None:
            _add_data(fields, items)
        return
    for name, value in items.items():
        if value.__class__ is dict or name in fields or name in _SPECIAL_ITEMS:
            _add_item(fields, name, value, section)
        else:
            fields[name] = value


def _add_item(fields: dict[str, Any], name: str, value: Any, section: str) -> None:
    if name == "#attributes":
        return
    if name in ("#text", "Data"):
        _add_data(fields, value)
        return
    if value.__class__ is dict:
        if "#text" not in value:  # UserData's wrapper element (LogFileCleared, EventXML…) or a nested one
            _add_items(fields, value, section)
            return
        value = value["#text"]
    if name in fields:  # a System field (or an earlier item): it stays, this one goes in under its section
        name = f"{section}_{name}"
        if name in fields:
            return
    fields[name] = value


def event_fields(event: dict[str, Any]) -> dict[str, Any]:
    """Flatten the ``Event`` object of a record's JSON into Sigma's Windows field names."""
    fields: dict[str, Any] = {}
    system = event.get("System")
    if system.__class__ is dict:
        get = system.get
        value = get("EventID")
        if value is not None:
            fields["EventID"] = value if value.__class__ is int else _event_id(value)
        for name in ("Channel", "Computer"):
            value = get(name)
            if value is not None:
                fields[name] = value
        value = _attributes(get("Provider")).get("Name")
        if value is not None:
            fields["Provider_Name"] = value
        for name in ("EventRecordID", "Level", "Task", "Keywords"):
            value = get(name)
            if value is not None:
                fields[name] = value
        execution = _attributes(get("Execution"))
        for name in ("ProcessID", "ThreadID"):
            value = execution.get(name)
            if value is not None:
                fields[name] = value
        value = _attributes(get("Security")).get("UserID")
        if value is not None:
            fields["SecurityUserID"] = value
    data = event.get("EventData")
    if data is not None:
        _add_items(fields, data, "EventData")
    data = event.get("UserData")
    if data is not None:
        _add_items(fields, data, "UserData")
    return fields


@dataclass(frozen=True, slots=True)
class _Chunk:
    index: int  # in the file
    start: int  # byte offset in the file
    length: int  # bytes present (less than CHUNK_SIZE for a truncated last chunk)
    usable: int  # bytes the parser sees: a truncated chunk ends with its last whole record, zeros follow
    first_id: int | None  # from a readable chunk header
    order_id: int  # first_id, or that of the readable chunk before it in the file


def _plan(stream: BinaryIO, size: int) -> list[_Chunk]:
    """Every chunk of the file (a cut-short last one included), sorted into record order."""
    chunks: list[_Chunk] = []
    order_id = 0
    count = -(-(size - HEADER_SIZE) // CHUNK_SIZE)
    for index in range(count):
        start = HEADER_SIZE + index * CHUNK_SIZE
        stream.seek(start)
        head = stream.read(_CHUNK_IDS_AT + _CHUNK_IDS.size)
        first_id = None
        if len(head) == _CHUNK_IDS_AT + _CHUNK_IDS.size and head.startswith(CHUNK_MAGIC):
            first, last = _CHUNK_IDS.unpack_from(head, _CHUNK_IDS_AT)
            if 0 < first <= last:
                first_id = order_id = first
        length = min(CHUNK_SIZE, size - start)
        usable = length if length == CHUNK_SIZE else _whole_records(stream, start, length)
        chunks.append(_Chunk(index, start, length, usable, first_id, order_id))
    chunks.sort(key=lambda chunk: (chunk.order_id, chunk.index))
    return chunks


def _whole_records(stream: BinaryIO, start: int, length: int) -> int:
    """How much of a chunk cut short to keep: up to the end of its last whole record (a record cut in two
    would be parsed with zeros for its missing part)."""
    if length < _CHUNK_HEADER_SIZE:
        return 0
    stream.seek(start)
    data = stream.read(length)
    end = _CHUNK_HEADER_SIZE
    while end + _RECORD_HEADER.size <= len(data):
        magic, size = _RECORD_HEADER.unpack_from(data, end)
        if magic != _RECORD_MAGIC or size < _RECORD_HEADER.size or end + size > len(data):
            break
        end += size
    return end


def _resume_from(chunks: list[_Chunk], after: int) -> int:
    """Index of the first chunk to read when records up to id ``after`` were read before: the last readable
    chunk starting at or before ``after + 1``; everything before it was read in full."""
    first = 0
    if after > 0:
        for number, chunk in enumerate(chunks):
            if chunk.first_id is not None and chunk.first_id <= after + 1:
                first = number
    return first


def _as_in_file(header: bytes, chunks: list[_Chunk]) -> bool:
    """True when the view of the chunks would be the file itself: whole chunks in file order, a sane header."""
    if _HEADER_BLOCK_SIZE.unpack_from(header, _HEADER_BLOCK_SIZE_AT)[0] != HEADER_SIZE:
        return False
    return all(chunk.index == number and chunk.length == CHUNK_SIZE for number, chunk in enumerate(chunks))


def _same_file(stream: BinaryIO, path: str, size: int) -> str | None:
    """``path`` when it names the plain file ``stream`` reads (not a decompressed or copied stream)."""
    if not isinstance(stream, io.BufferedReader | io.FileIO):
        return None
    try:
        opened, named = os.fstat(stream.fileno()), os.stat(path)
    except (OSError, ValueError):
        return None
    if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino) or opened.st_size != size:
        return None
    return path


class _ChunkView:
    """What the parser reads: the file header, then the given chunks back to back; what is missing from a
    chunk cut short reads as zeros (the parser stops at the first empty record slot)."""

    def __init__(self, stream: BinaryIO, header: bytes, chunks: list[_Chunk]) -> None:
        self._stream = stream
        self._header = bytearray(header)
        # The parser counts chunks from the header's block size; a damaged one would make it stop silently.
        _HEADER_BLOCK_SIZE.pack_into(self._header, _HEADER_BLOCK_SIZE_AT, HEADER_SIZE)
        self._segments = [(0, HEADER_SIZE), *((chunk.start, chunk.usable) for chunk in chunks)]
        self._size = HEADER_SIZE + CHUNK_SIZE * len(chunks)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence not in (0, 1, 2):
            raise ValueError(f"invalid whence {whence}")
        base = (0, self._pos, self._size)[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        pos, parts = self._pos, []
        while pos < end:
            if pos < HEADER_SIZE:
                segment, within, segment_end = 0, pos, HEADER_SIZE
            else:
                segment, within = divmod(pos - HEADER_SIZE, CHUNK_SIZE)
                segment += 1
                segment_end = HEADER_SIZE + segment * CHUNK_SIZE
            start, length = self._segments[segment]
            wanted = min(end, segment_end) - pos
            data = b""
            if segment == 0:
                data = bytes(self._header[within:within + wanted])
            elif within < length:
                self._stream.seek(start + within)
                data = self._stream.read(min(wanted, length - within))
            parts.append(data)
            if len(data) < wanted:
                parts.append(bytes(wanted - len(data)))
            pos += wanted
        self._pos = max(self._pos, end)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


_CHUNK_NUMBER = re.compile(r"chunk number (\d+)")
_decode = json.JSONDecoder().raw_decode
_UNSEEN = object()
_CACHE_LIMIT = 1024


class EvtxCollector(Collector):
    """EVTX files; ``Origin.offset`` and ``Position.offset`` are event record ids (see the module docstring)."""

    name = "evtx"

    def __init__(self, options: CollectOptions | None = None) -> None:
        super().__init__(options)
        self._logsources: dict[tuple[str | None, str | None], LogSource] = {}
        self._services: dict[str | None, Any] = {}

    def sniff(self, head: bytes) -> bool:
        return head.startswith(EVTX_MAGIC)

    def identity(self, head: bytes) -> bytes:
        """Windows rewrites the file header whenever it logs: only device and inode identify the file."""
        return EVTX_MAGIC

    def continues(self, head: bytes, offset: int) -> bool:
        """A cleared log starts its record ids again: a clean header whose next record id is not past
        ``offset`` means the records read before are gone, and the file is read from its start."""
        if len(head) < _HEADER_FLAGS_AT + 4:
            return True
        next_record = int.from_bytes(head[_NEXT_RECORD_AT:_NEXT_RECORD_AT + 8], "little")
        dirty = int.from_bytes(head[_HEADER_FLAGS_AT:_HEADER_FLAGS_AT + 4], "little") & 1
        return bool(dirty) or next_record > offset

    def parse(self, stream: BinaryIO, path: str, position: Position) -> Iterator[Event | Malformed]:
        try:
            stream.seek(0)  # callers may have seeked to position.offset, which is a record id here
            size = stream.seek(0, 2)
        except (OSError, ValueError):  # a pipe: the parser needs to seek, so read from a copy
            with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as copy:
                shutil.copyfileobj(stream, copy)
                yield from self._parse(copy, copy.tell(), path, position)  # type: ignore[arg-type]
            return
        yield from self._parse(stream, size, path, position)

    def _parse(self, stream: BinaryIO, size: int, path: str, position: Position) -> Iterator[Event | Malformed]:
        after = position.offset
        if size == 0:
            return
        stream.seek(0)
        if stream.read(len(EVTX_MAGIC)) != EVTX_MAGIC:
            yield Malformed(Origin(path, 0, None), "not an EVTX file (no ElfFile signature)", b"")
            return
        if size < HEADER_SIZE:
            yield Malformed(Origin(path, 0, None),
                            f"EVTX file truncated: {size} of the {HEADER_SIZE} header bytes present", b"")
            return
        chunks = _plan(stream, size)
        first = _resume_from(chunks, after)
        chunks = chunks[first:]
        if not chunks:
            return
        try:
            stream.seek(0)
            header = stream.read(HEADER_SIZE)
            source: Any = None
            if first == 0 and _as_in_file(header, chunks):  # the parser can read the file itself, faster
                source = _same_file(stream, path, size)
            if source is None:
                source = _ChunkView(stream, header, chunks)
            records = PyEvtxParser(source, number_of_threads=PARSER_THREADS).records_json()
        except Exception as error:  # whatever the native parser raises, it cannot read this file
            yield Malformed(Origin(path, 0, None), f"unreadable EVTX file: {error}", b"")
            return
        last_id = yield from self._read(records, chunks, path, position, after)
        for chunk in chunks:  # reported on every read of the file: the quarantine keeps it once per origin
            if chunk.length < CHUNK_SIZE:
                yield Malformed(Origin(path, last_id, None),
                                f"EVTX file truncated: chunk {chunk.index} (byte {chunk.start}) has {chunk.length}"
                                f" of {CHUNK_SIZE} bytes; records after the cut are lost", b"")

    def _read(self, records: Iterator[Any], chunks: list[_Chunk], path: str, position: Position,
              after: int) -> Generator[Event | Malformed, None, int]:
        """The records after id ``after``; returns the id of the last record read (0 when none was)."""
        last_id = 0
        pending: list[Malformed] = []  # damage is reported once a later record shows it is new
        errors_in_a_row, max_errors = 0, (len(chunks) + 1) * _MAX_RECORDS_PER_CHUNK
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except Exception as error:  # a damaged record or chunk: the parser goes on after it
                record = error
            if isinstance(record, BaseException):  # older evtx versions yield errors instead of raising them
                errors_in_a_row += 1
                if errors_in_a_row > max_errors:
                    pending.append(Malformed(Origin(path, last_id, None),
                                             "EVTX parser keeps failing; rest of the file skipped", b""))
                    break
                pending.append(Malformed(Origin(path, last_id, None), _reason(record, chunks, last_id), b""))
                continue
            errors_in_a_row = 0
            record_id = record["event_record_id"]
            last_id = record_id
            if record_id <= after:
                pending.clear()  # the run that read this record has reported the damage before it
                continue
            if pending:
                yield from pending
                pending.clear()
            position.offset = record_id
            yield self._event(record, record_id, path)
        yield from pending
        return last_id

    def _event(self, record: dict[str, Any], record_id: int, path: str) -> Event | Malformed:
        origin = Origin(path, record_id, None)
        data = record["data"]
        try:
            event = _decode(data)[0]["Event"]
            system = event["System"]
        except (ValueError, KeyError, TypeError) as error:
            return _bad_record(origin, f"EVTX record {record_id} is not an event ({error!r})", data)
        if system.__class__ is not dict:
            return _bad_record(origin, f"EVTX record {record_id} has no System element", data)
        time = parse_time(_attributes(system.get("TimeCreated")).get("SystemTime")) or parse_time(record["timestamp"])
        if time is None:
            return _bad_record(origin, f"EVTX record {record_id} has no usable time", data)
        fields = event_fields(event)
        fields.setdefault("EventRecordID", record_id)
        fields.setdefault("TimeCreated", time.isoformat())  # for Sigma's |hour, |day… modifiers
        return Event(time, self.name, self._logsource(fields), fields, data, origin)

    def _logsource(self, fields: dict[str, Any]) -> LogSource:
        channel = fields.get("Channel")
        if channel.__class__ is not str:
            channel = None
        service = self._services.get(channel, _UNSEEN)
        if service is _UNSEEN:
            if len(self._services) >= _CACHE_LIMIT:
                self._services.clear()
            service = self._services[channel] = windows_service(channel)
        category = windows_category(service, fields.get("EventID"), fields.get("EventType")) if service else None
        found = self._logsources.get((service, category))
        if found is None:
            found = self._logsources[(service, category)] = LogSource("windows", category, service)
        return found


def _reason(error: BaseException, chunks: list[_Chunk], last_id: int) -> str:
    """The parser's message, with its chunk numbers (of the sorted view) turned into the file's."""

    def in_file(match: re.Match[str]) -> str:
        number = int(match[1])
        if number < len(chunks):
            return f"chunk {chunks[number].index} (byte {chunks[number].start})"
        return match[0]

    where = f"after record {last_id}" if last_id else "before the first record"
    return f"unreadable EVTX data {where}: {_CHUNK_NUMBER.sub(in_file, str(error))}"


def _bad_record(origin: Origin, reason: str, data: str) -> Malformed:
    raw = data.encode("utf-8", "replace")
    return Malformed(origin, reason, raw[:QUARANTINE_KEEP_BYTES], len(raw))

