"""Fuzzing the packet parsers: capture files (pcap, pcapng) built from real-looking conversations and damaged,
DNS messages, TLS ClientHellos and HTTP heads. Nothing raises; every byte of a capture is a record read or
counted as damage; every packet read is counted; names that come out of DNS and TLS carry no control bytes.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from strategies import captures, check_event, client_hellos, dns_messages, frames, fuzz, http_messages, mutated
from test_collect_pcap_support import ether, ipv4, pcap, tcp, tls_record

from seccenter.collect.interface import Position
from seccenter.collect.packets import dns, http, tls
from seccenter.collect.packets.capture import PCAP_HEADER_BYTES, CaptureReader, Damage
from seccenter.collect.pcap import PcapCollector
from seccenter.events import Event, Malformed

pytestmark = pytest.mark.reliability

PATH = "/var/log/fuzz.pcap"


def covered(items: list) -> list[tuple[int, int]]:
    """(start, end) of the bytes each record or damage of a capture stands for (a damage that skips nothing: none)."""
    spans = []
    for item in items:
        if isinstance(item, Damage):
            if item.length and not item.reason.startswith("link type"):
                spans.append((item.offset, item.offset + item.length))
        else:
            spans.append((item[0], item[2]))
    return spans


@fuzz(150)
@given(captures())
def test_capture_files_every_byte_and_packet_accounted_for(data: bytes) -> None:
    reader = CaptureReader(io.BytesIO(data))
    items = list(reader)
    packets = sum(1 for item in items if not isinstance(item, Damage))
    damage = [item for item in items if isinstance(item, Damage)]
    spans = covered(items)
    assert all(0 <= start < end <= len(data) for start, end in spans)
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False)), "no byte read twice"
    if reader.format == "pcap" and len(data) >= PCAP_HEADER_BYTES:
        # after the global header, record after record or damage, to the end of the file
        assert [start for start, _ in spans] == [PCAP_HEADER_BYTES] + [end for _, end in spans[:-1]]
        assert (spans[-1][1] if spans else PCAP_HEADER_BYTES) == len(data)

    collector = PcapCollector()
    position = Position()
    records = list(collector.parse(io.BytesIO(data), PATH, position))
    assert collector.stats["packets"] == packets
    event(f"{reader.format}, {'damaged' if damage else 'whole'}")
    malformed = [record for record in records if isinstance(record, Malformed)]
    assert len(malformed) >= len(damage)
    for record in records:
        assert 0 <= record.origin.offset < max(len(data), 1)
        if isinstance(record, Event):
            check_event(record)
        else:
            assert record.reason and len(record.raw) <= max(record.raw_length, len(record.raw))
    assert 0 <= position.offset <= len(data)


def _printable(name: str) -> bool:
    return name.isascii() and name.isprintable()


@fuzz(300)
@given(dns_messages().flatmap(mutated), st.booleans())
def test_dns_messages_parse_or_say_why(message: bytes, cut: bool) -> None:
    result = dns.parse_message(message, cut)
    assert result is None or isinstance(result, str | dns.DnsMessage)
    if isinstance(result, dns.DnsMessage):
        assert all(_printable(name) for name, _type, _class in result.questions)
        assert len(result.answers) <= dns.MAX_ANSWERS
        for name, _type, _ttl, data in result.answers:
            assert _printable(name)
            data.encode("utf-8")


@fuzz(300)
@given(client_hellos().flatmap(mutated), st.booleans(), st.lists(st.integers(0, 600), max_size=4))
def test_client_hellos_parse_or_say_why(hello: bytes, complete: bool, cuts: list[int]) -> None:
    result = tls.parse_client_hello(hello[4:], complete)
    assert isinstance(result, str | tls.ClientHello)
    if isinstance(result, tls.ClientHello):
        if result.server_name is not None:
            result.server_name.encode("utf-8")  # bytes that are not UTF-8 escaped, no lone surrogates
        if result.complete:
            assert all(isinstance(part, str) for part in tls.fingerprints(result))
    # the same bytes as a stream of records, in segments
    stream = tls_record(hello[:0xFFFF])  # (a record length has 16 bits)
    assembler = tls.HelloAssembler()
    for start, end in zip([0, *sorted(cuts)], [*sorted(cuts), len(stream)], strict=True):
        found = assembler.feed(stream[start:end])
        assert isinstance(found, int | str | tls.ClientHello)
        if found != tls.NEED:
            break
    partial = assembler.partial()
    assert partial is None or isinstance(partial, tls.ClientHello)
    whole = tls.HelloAssembler.whole(stream, 0)
    assert whole is None or isinstance(whole, bytes)


@fuzz(300)
@given(st.booleans().flatmap(lambda response: http_messages(response).flatmap(mutated).map(
    lambda head: (response, head))), st.booleans())
def test_http_heads_parse_or_are_not_http(message: tuple[bool, bytes], complete: bool) -> None:
    response, data = message
    head = data.split(b"\r\n\r\n", 1)[0]
    http.first_line_rejects(head)
    if response:
        parsed = http.parse_response(head)
        assert parsed is None or isinstance(parsed, http.Response)
    else:
        parsed = http.parse_request(head, complete)
        assert parsed is None or isinstance(parsed, http.Request)
        if parsed is not None:
            fields: dict = {}
            http.proxy_fields(fields, parsed)
            assert all(isinstance(value, str | int) for value in fields.values())
    if parsed is not None:
        length = http.body_length(parsed.headers, response)
        assert length is None or length >= 0


@fuzz(100)
@given(st.lists(frames(), min_size=1, max_size=3))
def test_conversations_through_the_analyzer(conversations: list[list[bytes]]) -> None:
    """Whole conversations, each packet decoded (DNS, HTTP, TLS, ICMP, ARP over VLAN and IPv6), undamaged framing:
    every packet is read and the position reaches the end."""
    data = pcap([frame for conversation in conversations for frame in conversation])
    collector = PcapCollector()
    position = Position()
    records = list(collector.parse(io.BytesIO(data), PATH, position))
    assert collector.stats["packets"] == sum(len(conversation) for conversation in conversations)
    assert position.offset == len(data)
    for record in records:
        if isinstance(record, Event):
            check_event(record)
            if record.logsource.service == "dns":
                names = record.fields.get("query", [])
                assert all(_printable(name) for name in ([names] if isinstance(names, str) else names))


# --- found by fuzzing --------------------------------------------------------------------------------------


def test_content_length_in_other_digits_is_no_length() -> None:
    """``"²".isdigit()`` is true, but ``int("²")`` raises: such a Content-Length crashed the capture's read."""
    assert http.body_length({"content-length": "²"}) is None
    assert http.body_length({"content-length": "١٢"}) is None
    assert http.body_length({"content-length": "12"}) == 12


def test_content_length_in_other_digits_does_not_stop_the_capture() -> None:
    request = b"POST /upload HTTP/1.1\r\nHost: x.example\r\nContent-Length: \xc2\xb2\r\n\r\n"
    frame = ether(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 80, 1, 0x18, request)))
    records = list(PcapCollector().parse(io.BytesIO(pcap([frame])), PATH, Position()))
    (event,) = [record for record in records if record.logsource.service == "http"]
    assert event.fields["cs-method"] == "POST" and event.fields["cs-host"] == "x.example"
