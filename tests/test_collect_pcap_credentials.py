"""Cleartext credentials in captures: FTP, Telnet, POP3, IMAP, SMTP and HTTP Basic logins become credential events
with the user, the server's verdict and the password redacted; the password reaches no event, raw text,
quarantined record or store; hostile and huge input is bounded and never raises."""

from __future__ import annotations

import base64
import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_collect_pcap_support import T0, ether, events, ipv4, kinds, malformed, pcap, pcap_record, read, tcp

from seccenter.collect.packets import credentials
from seccenter.collect.packets.flows import Analyzer
from seccenter.events import Event

CLIENT, SERVER = "10.0.0.5", "10.0.0.21"


class Conversation:
    """One TCP connection written as frames: ``client``/``server`` add segments, ``retransmit`` repeats the last
    one, ``frames`` are (time, bytes) for ``pcap``."""

    def __init__(self, port: int, client_port: int = 40001, start: float = T0) -> None:
        self.port, self.client_port = port, client_port
        self.seq = {True: 1000, False: 9000}
        self.time = start
        self.frames: list[tuple[float, bytes]] = []
        self._add(True, 0x02, b"")
        self._add(False, 0x12, b"")

    def _add(self, from_client: bool, flags: int, data: bytes) -> bytes:
        if from_client:
            segment = ipv4(CLIENT, SERVER, 6, tcp(self.client_port, self.port, self.seq[True], flags, data))
        else:
            segment = ipv4(SERVER, CLIENT, 6, tcp(self.port, self.client_port, self.seq[False], flags, data))
        self.seq[from_client] += len(data) + (1 if flags & 0x03 else 0)
        self.time += 0.01
        frame = ether(segment)
        self.frames.append((self.time, frame))
        return frame

    def client(self, *chunks: bytes) -> Conversation:
        for chunk in chunks:
            self._add(True, 0x18, chunk)
        return self

    def server(self, *chunks: bytes) -> Conversation:
        for chunk in chunks:
            self._add(False, 0x18, chunk)
        return self

    def typed(self, text: bytes, echo: bool = True) -> Conversation:
        """Telnet: one character per segment, each echoed by the server unless ``echo`` is False."""
        for char in text:
            self.client(bytes([char]))
            if echo and char not in b"\r\n\0":
                self.server(bytes([char]))
        return self

    def retransmit(self) -> Conversation:
        self.frames.append((self.time + 0.001, self.frames[-1][1]))
        return self

    def capture(self) -> bytes:
        return pcap(self.frames)


def credential_events(data: bytes) -> list[Event]:
    records = read(data)
    assert not malformed(records), malformed(records)
    return events(records, "credential")


def login(event: Event) -> tuple:
    fields = event.fields
    return (fields["protocol"], fields.get("user"), fields.get("password_length"), fields["auth_result"])


def assert_no_secret(records: list, *secrets: bytes) -> None:
    for record in records:
        text = (record.raw if isinstance(record.raw, bytes) else record.raw.encode()) + repr(
            getattr(record, "fields", "")).encode()
        for secret in secrets:
            assert secret not in text, (secret, record)


# --- FTP ----------------------------------------------------------------------------------------------------


def test_ftp_login_fields_and_origin() -> None:
    talk = Conversation(21).server(b"220 ready\r\n").client(b"USER alice\r\n").server(b"331 Password required\r\n")
    talk.client(b"PASS Tr0ub4dor&3\r\n").server(b"230 Logged in\r\n").client(b"QUIT\r\n")
    data = talk.capture()
    records = read(data)
    (event,) = events(records, "credential")
    assert event.fields == {
        "src_ip": CLIENT, "src_port": 40001, "dst_ip": SERVER, "dst_port": 21, "proto": "tcp", "protocol": "ftp",
        "auth_mechanism": "USER/PASS", "user": "alice", "password": "[redacted]", "password_length": 11,
        "auth_result": "success", "personal_data_risk": True}
    assert event.source == "pcap" and event.logsource.product == "pcap"
    assert (event.logsource.category, event.logsource.service) == (None, "credential")
    assert event.raw == f"FTP USER/PASS user=alice password [redacted] {CLIENT}:40001 -> {SERVER}:21 success"
    assert data[event.origin.offset:event.origin.offset + 1] == b"\n"  # the end of the PASS line
    assert data[event.origin.offset - 12:event.origin.offset] == b"Tr0ub4dor&3\r"
    assert event.time.timestamp() == pytest.approx(T0 + 0.05)
    assert_no_secret(records, b"Tr0ub4dor")


def test_ftp_failures_split_lines_retransmissions_and_pipelining() -> None:
    talk = Conversation(21).server(b"220 ready\r\n")
    talk.client(b"US", b"ER bob\r\nPA").retransmit().client(b"SS hunter", b"2\r\n").retransmit()
    talk.server(b"331 Password required\r\n530 Login incorrect.\r\n")
    talk.client(b"USER carol\r\nPASS x\r\n").server(b"331-Password\r\n331 required\r\n", b"230-Welcome\r\n230 OK\r\n")
    found = credential_events(talk.capture())
    assert [login(event) for event in found] == [("ftp", "bob", 7, "failure"), ("ftp", "carol", 1, "success")]


def test_ftp_user_without_password_and_pass_without_user() -> None:
    talk = Conversation(21).client(b"USER anonymous\r\n").server(b"230 No password needed\r\n")
    talk.client(b"PASS lonely\r\n").server(b"503 Login with USER first\r\n")
    talk.client(b"USER dave\r\n").server(b"331 Password required\r\n").client(b"QUIT\r\n").server(b"221 Bye\r\n")
    found = credential_events(talk.capture())
    assert [login(event) for event in found] == [
        ("ftp", "anonymous", None, "success"), ("ftp", None, 6, "failure"), ("ftp", "dave", None, "unknown")]
    assert "password" not in found[0].fields and "user" not in found[1].fields
    assert found[2].raw.endswith("user=dave no password " + f"{CLIENT}:40001 -> {SERVER}:21 unknown")


def test_ftp_auth_tls_stops_following() -> None:
    talk = Conversation(21).client(b"AUTH TLS\r\n").server(b"234 Proceed\r\n").client(b"USER x\r\nPASS y\r\n")
    assert credential_events(talk.capture()) == []


def test_server_port_as_originator_and_unanswered_login() -> None:
    """The capture starts with the server's segment to the client's port: the client is still the source."""
    talk = Conversation(21)
    talk.frames = []
    talk.server(b"220 ready\r\n").client(b"USER eve\r\nPASS pw\r\n")
    (event,) = credential_events(talk.capture())
    assert (event.fields["src_ip"], event.fields["dst_port"], event.fields["auth_result"]) == (CLIENT, 21, "unknown")


# --- Telnet -------------------------------------------------------------------------------------------------

NEGOTIATION = b"\xff\xfd\x18\xff\xfd\x20\xff\xfa\x18\x01\xff\xf0"  # DO TTYPE, DO TSPEED, SB TTYPE SEND SE


def test_telnet_one_character_per_segment_with_echo() -> None:
    talk = Conversation(23).server(NEGOTIATION, b"\xff\xfb\x01Ubuntu 22.04\r\n", b"host login: ")
    talk.client(b"\xff\xfc\x18").typed(b"roox\x7ft\r\0").server(b"\r\nPassword: ").typed(b"wr0ng\r\n", echo=False)
    talk.server(b"\r\nLogin incorrect\r\n", b"host login: ").typed(b"root\r\n").server(b"Password: ")
    talk.typed(b"s3cr", echo=False).client(b"\xff\xf1").typed(b"et!\r\n", echo=False)
    talk.server(b"\r\nLast login: Mon Jan 13 from 10.0.0.9\r\n", b"root@host:~# ")
    talk.typed(b"su admin\r\n").server(b"Password: ").typed(b"adminpw\r\n", echo=False).server(b"admin@host:~$ ")
    data = talk.capture()
    records = read(data)
    found = events(records, "credential")
    assert [login(event) for event in found] == [
        ("telnet", "root", 5, "failure"), ("telnet", "root", 7, "success"), ("telnet", None, 7, "success")]
    assert [event.fields["auth_mechanism"] for event in found] == ["login prompt"] * 2 + ["password prompt"]
    assert all(data[event.origin.offset] == 0x0D for event in found)  # the Enter that sent the password
    assert_no_secret(records, b"wr0ng", b"s3cret", b"adminpw")


def test_telnet_line_mode_and_commands_after_login_are_not_users() -> None:
    talk = Conversation(23).server(b"Username: ").client(b"op\r\n").server(b"Password: ").client(b"pw1\r\n")
    talk.server(b"Welcome\r\nrouter> ").client(b"show users\r\n").server(b"login: tty1\r\n> ").client(b"exit\r\n")
    found = credential_events(talk.capture())
    assert [login(event) for event in found] == [("telnet", "op", 3, "success")]


# --- HTTP Basic ---------------------------------------------------------------------------------------------


def basic(user: bytes, password: bytes) -> bytes:
    return base64.b64encode(user + b":" + password)


def test_http_basic_on_any_port_with_status_and_redacted_head() -> None:
    token = basic(b"webadmin", b"letmein!")
    first = b"GET /admin HTTP/1.1\r\nHost: cam.local\r\nAuthorization: Basic " + token + b"\r\n\r\n"
    second = (b"GET /admin/ok HTTP/1.1\r\nHost: cam.local\r\nauthorization:basic " + basic(b"webadmin", b"right")
              + b"\r\nProxy-Authorization: Basic " + basic(b"proxyuser", b"proxypw") + b"\r\n\r\n")
    talk = Conversation(8080).client(first[:30], first[30:]).server(b"HTTP/1.1 401 Unauthorized\r\n"
                                                                    b"Content-Length: 0\r\n\r\n")
    talk.client(second).server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    records = read(talk.capture())
    found = events(records, "credential")
    assert [login(event) for event in found] == [
        ("http", "webadmin", 8, "failure"), ("http", "webadmin", 5, "success"), ("http", "proxyuser", 7, "success")]
    assert [event.fields["auth_mechanism"] for event in found] == ["Basic", "Basic", "Proxy Basic"]
    requests = events(records, "http")
    assert [request.fields["sc-status"] for request in requests] == [401, 200]
    assert "Authorization: Basic [redacted]" in requests[0].raw and "Proxy-Authorization: Basic [redacted]" in (
        requests[1].raw)
    assert len({record.origin.offset for record in events(records)}) == len(events(records))
    assert_no_secret(records, token, b"letmein", b"right", b"proxypw", basic(b"proxyuser", b"proxypw"))


def test_http_other_schemes_and_undecodable_basic_are_redacted_without_events() -> None:
    head = (b"GET / HTTP/1.1\r\nAuthorization: Bearer eyJhbGciOi.secret.token\r\nX: 1\r\n\r\n"
            b"GET / HTTP/1.1\r\nAuthorization: Basic !!notbase64!!\r\n\r\n"
            b"GET / HTTP/1.1\r\nAuthorization: Basic " + base64.b64encode(b"no colon") + b"\r\n\r\n"
            b"GET / HTTP/1.1\r\nAuthorization: s3cretonly extra\r\n\r\n")
    records = read(Conversation(80).client(head).capture())
    assert kinds(records) == {"http": 4, "flow": 1}
    raws = [request.raw for request in events(records, "http")]
    assert "Authorization: Bearer [redacted]" in raws[0] and raws[0].endswith("X: 1")
    assert_no_secret(records, b"secret.token", b"notbase64", base64.b64encode(b"no colon"), b"s3cretonly")


def test_http_basic_pure_function() -> None:
    head = b"GET / HTTP/1.1\r\nAuthorization: Basic\r\n  " + basic(b"u", b"p:w") + b"\r\nHost: h"  # folded
    redacted, (credential,) = credentials.http_authorization(head, 100, T0, True)
    assert redacted == b"GET / HTTP/1.1\r\nAuthorization: Basic [redacted]\r\nHost: h"
    assert (credential.user, credential.password_length, credential.offset) == ("u", 3, 101)
    assert credentials.http_authorization(b"GET / HTTP/1.1\r\nHost: h", 0, T0, True) is None
    assert credentials.http_result([credential], None)[0].result == "unknown"
    assert credentials.http_result([credential], 403)[0].result == "success"


# --- POP3, IMAP, SMTP ---------------------------------------------------------------------------------------


def sasl_plain(user: bytes, password: bytes, authzid: bytes = b"") -> bytes:
    return base64.b64encode(authzid + b"\0" + user + b"\0" + password)


def test_pop3_user_pass_apop_and_auth_plain() -> None:
    talk = Conversation(110).server(b"+OK POP3 ready <1.2@host>\r\n").client(b"CAPA\r\n")
    talk.server(b"+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n").client(b"USER frank\r\n").server(b"+OK\r\n")
    talk.client(b"PASS popsecret\r\n").server(b"-ERR authentication failed\r\n")
    talk.client(b"APOP grace c4c9334bac560ecc979e58001b3e22fb\r\n").server(b"-ERR\r\n")
    talk.client(b"AUTH PLAIN\r\n").server(b"+ \r\n").client(sasl_plain(b"heidi", b"plainpw") + b"\r\n")
    talk.server(b"+OK maildrop locked\r\n").client(b"USER after\r\nPASS login\r\n")
    records = read(talk.capture())
    found = events(records, "credential")
    assert [login(event) for event in found] == [
        ("pop3", "frank", 9, "failure"), ("pop3", "grace", None, "failure"), ("pop3", "heidi", 7, "success")]
    assert [event.fields["auth_mechanism"] for event in found] == ["USER/PASS", "APOP", "AUTH PLAIN"]
    assert_no_secret(records, b"popsecret", b"plainpw", sasl_plain(b"heidi", b"plainpw"))


def test_imap_login_quoted_literal_and_authenticate() -> None:
    talk = Conversation(143).server(b"* OK IMAP4rev1 ready\r\n")
    talk.client(b'a1 LOGIN "ivan the \\"terrible\\"" "pw with space"\r\n').server(b"a1 NO [AUTHENTICATIONFAILED]\r\n")
    talk.client(b"a2 LOGIN {4}\r\n").server(b"+ go ahead\r\n").client(b"judy {9+}\r\n", b"pw\r\nsplit\r\n")
    talk.server(b"a2 BAD\r\n").client(b"a3 AUTHENTICATE PLAIN\r\n").server(b"+ \r\n")
    talk.client(sasl_plain(b"karl", b"imapplain", b"admin") + b"\r\n").server(b"* CAPABILITY IMAP4rev1\r\n",
                                                                             b"a3 OK done\r\n")
    talk.client(b"a4 LOGIN late secret\r\n")
    found = credential_events(talk.capture())
    assert [login(event) for event in found] == [
        ("imap", 'ivan the "terrible"', 13, "failure"), ("imap", "judy", 9, "failure"), ("imap", "karl", 9, "success")]


def test_imap_authenticate_with_initial_response_and_login_mechanism() -> None:
    talk = Conversation(143).client(b"t1 AUTHENTICATE PLAIN " + sasl_plain(b"liam", b"irpw") + b"\r\n")
    talk.server(b"t1 NO\r\n").client(b"t2 AUTHENTICATE LOGIN\r\n").server(b"+ VXNlcm5hbWU6\r\n")
    talk.client(base64.b64encode(b"mia") + b"\r\n").server(b"+ UGFzc3dvcmQ6\r\n")
    talk.client(base64.b64encode(b"loginpw") + b"\r\n").server(b"t2 OK\r\n")
    found = credential_events(talk.capture())
    assert [login(event) for event in found] == [("imap", "liam", 4, "failure"), ("imap", "mia", 7, "success")]


@pytest.mark.parametrize("port", [25, 587])
def test_smtp_auth_login_and_plain(port: int) -> None:
    talk = Conversation(port).server(b"220 mail ESMTP\r\n").client(b"EHLO client\r\n")
    talk.server(b"250-mail\r\n250-AUTH PLAIN LOGIN\r\n250 OK\r\n").client(b"AUTH LOGIN\r\n")
    talk.server(b"334 VXNlcm5hbWU6\r\n").client(base64.b64encode(b"nina") + b"\r\n").server(b"334 UGFzc3dvcmQ6\r\n")
    talk.client(base64.b64encode(b"smtppw") + b"\r\n").server(b"535 5.7.8 Authentication failed\r\n")
    talk.client(b"AUTH PLAIN " + sasl_plain(b"otto", b"plainsmtp") + b"\r\n").server(b"235 2.7.0 Accepted\r\n")
    found = credential_events(talk.capture())
    assert [login(event) for event in found] == [("smtp", "nina", 6, "failure"), ("smtp", "otto", 9, "success")]
    assert [event.fields["auth_mechanism"] for event in found] == ["AUTH LOGIN", "AUTH PLAIN"]


def test_smtp_message_lines_are_not_commands() -> None:
    talk = Conversation(25).client(b"MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n")
    talk.server(b"250 OK\r\n250 OK\r\n354 go\r\n").client(b"AUTH PLAIN " + sasl_plain(b"x", b"y") + b"\r\n.\r\n")
    talk.server(b"250 queued\r\n")
    assert credential_events(talk.capture()) == []


# --- the corpus and the pipeline ----------------------------------------------------------------------------


def test_ftp_bruteforce_capture_matches_scapy(corpus: Path) -> None:
    from scapy.all import TCP, PcapReader, Raw

    path = corpus / "pcap" / "ftp_bruteforce.pcap"
    passwords = {}
    with PcapReader(str(path)) as packets:
        for packet in packets:
            if TCP in packet and Raw in packet and packet[TCP].dport == 21:
                load = bytes(packet[Raw].load)
                if load.startswith(b"PASS "):
                    passwords[(packet[TCP].sport, packet[TCP].seq)] = len(load.strip()) - 5
    found = credential_events(path.read_bytes())
    assert len(found) == len(passwords) == 30
    assert sorted(event.fields["password_length"] for event in found) == sorted(passwords.values())
    assert {(event.fields["user"], event.fields["auth_result"], event.fields["dst_port"]) for event in found} == {
        ("bro", "failure", 21)}


def test_secret_reaches_neither_store_nor_quarantine(tmp_path: Path) -> None:
    from seccenter.detect.sigma import load_rules
    from seccenter.pipeline import ingest
    from seccenter.resources import sigma_rules
    from seccenter.store.db import open_db

    secrets = [b"Ftp-Zx81q", b"Tel-Qv55w", b"Web-Kp19z", b"Pop-Hy27s", b"Map-Lu63c", b"Smtp-Rx40e", b"Cut-Wd93m"]
    ftp = Conversation(21, 40010).client(b"USER u1\r\nPASS " + secrets[0] + b"\r\n").server(b"230 OK\r\n")
    telnet = Conversation(23, 40011).server(b"login: ").typed(b"u2\r\n").server(b"Password: ")
    telnet.typed(secrets[1] + b"\r\n", echo=False)
    web = Conversation(80, 40012).client(b"GET / HTTP/1.1\r\nAuthorization: Basic " + basic(b"u3", secrets[2])
                                         + b"\r\n\r\n")
    pop = Conversation(110, 40013).client(b"USER u4\r\nPASS " + secrets[3] + b"\r\n")
    imap = Conversation(143, 40014).client(b"a LOGIN u5 " + secrets[4] + b"\r\n")
    smtp = Conversation(587, 40015).client(b"AUTH PLAIN " + sasl_plain(b"u6", secrets[5]) + b"\r\n")
    frames = sorted(ftp.frames + telnet.frames + web.frames + pop.frames + imap.frames + smtp.frames)
    cut = ether(ipv4(CLIENT, SERVER, 6, tcp(40016, 21, 1, 0x18, b"PASS " + secrets[6] + b"\r\n")))
    capture = tmp_path / "logins.pcap"
    # the last record claims more bytes than its packet had: quarantined, with the password masked
    capture.write_bytes(pcap(frames) + pcap_record(cut, T0 + 9, length=len(cut) - 4))
    db_path = tmp_path / "s.db"
    db = open_db(db_path)
    summary = ingest(db, [capture], load_rules([sigma_rules()]))
    assert summary.total("malformed") == 1
    alerts = db.execute("SELECT count(*) FROM alerts WHERE rule_title = 'Cleartext Credentials on the Network'")
    assert alerts.fetchone()[0] == 6
    stored = db.execute("SELECT fields FROM events WHERE service = 'credential'").fetchall()
    assert len(stored) == 6 and all(json.loads(row[0])["password"] == "[redacted]" for row in stored)
    (raw,) = db.execute("SELECT raw FROM quarantine").fetchone()
    assert raw.startswith(pcap_record(cut, T0 + 9, length=len(cut) - 4)[:16]) and b"PASS [redacted]" in raw
    db.close()
    files = [db_path, *db_path.parent.glob("s.db-*")]
    content = b"".join(path.read_bytes() for path in files)
    assert b"[redacted]" in content
    for secret in secrets + [basic(b"u3", secrets[2]), sasl_plain(b"u6", secrets[5])]:
        assert secret not in content, secret


# --- bad input ----------------------------------------------------------------------------------------------


def test_trackers_only_on_login_ports() -> None:
    analyzer = Analyzer("x")
    frames = [ether(ipv4(CLIENT, SERVER, 6, tcp(40000 + port, port, 1, 0x02))) for port in (21, 23, 80, 443, 8021)]
    for index, frame in enumerate(frames):
        analyzer.packet(index * 100, index * 100 + 16, T0, 1, frame)
    assert {flow.key[3]: flow.login is not None for flow in analyzer.flows.values()} == {
        21: True, 23: True, 80: False, 443: False, 8021: False}


@pytest.mark.parametrize("port", [21, 23, 25, 110, 143])
def test_garbage_and_huge_lines_on_login_ports(port: int) -> None:
    garbage = bytes(range(256)) * 4
    huge = b"USER " + b"A" * (1 << 20) + b"\r\n"  # a 1 MiB line, in segments of 32 KiB
    talk = Conversation(port).client(garbage, *(huge[start:start + 32768] for start in range(0, len(huge), 32768)))
    talk.server(garbage * 10, b"login: " + b"B" * 5000, b"Password: ").client(b"\n" * 1000, garbage, b"PASS x\r\n")
    records = read(talk.capture())
    assert not malformed(records)
    for event in events(records, "credential"):  # whatever was made of it: short, never the huge line
        assert len(event.fields.get("user", "")) <= credentials.MAX_LINE_BYTES


def test_huge_line_is_dropped_not_held() -> None:
    logins = credentials.Logins()
    tracker = logins.track((b"a", b"b", 40000, 110, 6))
    seq = 1
    for _ in range(1024):  # 1 MiB without a newline
        assert tracker.feed(True, seq, b"P" * 1024, 0, T0) == ()
        seq += 1024
        assert tracker.client.buf is None or len(tracker.client.buf) <= credentials.MAX_LINE_BYTES
    assert logins.held == 0 and tracker.client.seen == credentials.MAX_STREAM_BYTES
    assert tracker.finish() == []


def test_partial_lines_are_bounded_over_all_connections() -> None:
    stats: dict[str, int] = {}
    logins = credentials.Logins(stats, max_held=3)
    trackers = [logins.track((b"a", b"b", 40000 + n, 21, 6)) for n in range(5)]
    for tracker in trackers:
        tracker.feed(True, 1, b"USER someone", 0, T0)
    assert logins.held == 3 and stats["unbuffered"] == 2
    for tracker in trackers:
        tracker.feed(True, 13, b"\r\nPASS pw\r\n", 100, T0)
    results = [tracker.finish() for tracker in trackers]
    assert [len(found) for found in results] == [1, 1, 1, 1, 1]
    assert [found[0].user for found in results] == ["someone"] * 3 + [None] * 2  # their USER lines were lost
    assert logins.held == 0


def test_sequence_gap_drops_the_partial_line() -> None:
    tracker = credentials.Logins().track((b"a", b"b", 40000, 21, 6))
    tracker.feed(True, 1, b"USER mal", 0, T0)
    assert tracker.feed(True, 500, b"lory\r\nPASS pw\r\n", 100, T0) == ()
    (found,) = tracker.finish()
    assert (found.user, found.password_length) == (None, 2)


def test_invalid_base64_makes_no_credential() -> None:
    talk = Conversation(143).client(b"a AUTHENTICATE PLAIN\r\n", b"%%%not base64%%%\r\n", b"b AUTHENTICATE PLAIN ",
                                    base64.b64encode(b"only\0two") + b"\r\n").server(b"a NO\r\nb NO\r\n")
    talk.client(b"c AUTHENTICATE LOGIN *\r\n")
    assert credential_events(talk.capture()) == []
    assert credentials.decode_base64(b"abc") is None and credentials.decode_base64(b"") is None


def test_hostile_user_names_are_data() -> None:
    hostile = "\x1b[31mroot\x1b[0m [red]admin[/red] ü"
    talk = Conversation(21).client(b"USER " + hostile.encode() + b"\r\nPASS x\r\n").server(b"530 no\r\n")
    (event,) = credential_events(talk.capture())
    assert event.fields["user"] == hostile
    assert "\x1b" not in event.raw and "\\x1b[31mroot\\x1b[0m [red]admin[/red] ü" in event.raw
    assert "\n" not in event.raw


def test_redact_masks_credentials_in_quarantined_bytes() -> None:
    data = (b"\x00\x01PASS hunter2\r\nUSER bob\r\na1 LOGIN bob pw\r\nAUTH PLAIN AGJvYgBwdw==\r\n"
            b"Authorization: Basic Ym9iOnB3\r\n" + base64.b64encode(b"\0bob\0sasl-next-line")
            + b"\r\npassword=web1&x=2")
    masked = credentials.redact(data)
    assert masked.startswith(b"\x00\x01PASS [redacted]\r\nUSER bob\r\na1 LOGIN [redacted]\r\n")
    for secret in (b"hunter2", b"bob pw", b"AGJvYgBwdw", b"Ym9iOnB3", b"c2FzbC1uZXh0", b"web1"):
        assert secret not in masked
    assert credentials.redact(b"") == b"" and credentials.redact(b"\xff" * 10) == b"\xff" * 10


def test_imap_strings() -> None:
    assert credentials.imap_strings(b'"a\\"b" c', 2) == [b'a"b', b"c"]
    assert credentials.imap_strings(b"{3}\r\nabc {2+}\r\nde", 2) == [b"abc", b"de"]
    assert credentials.imap_strings(b"user {5}", 2) is credentials.NEED_MORE
    assert credentials.imap_strings(b"user {5}\r\nab", 2) is credentials.NEED_MORE
    assert credentials.imap_strings(b"user {99999}", 2) is None
    assert credentials.imap_strings(b'"unterminated', 1) is None
    assert credentials.imap_strings(b"one", 2) is None
    assert credentials.imap_strings(b"{x}", 1) is None


def test_strip_telnet_across_segments() -> None:
    state, text, where = credentials.strip_telnet(0, b"a\xff")
    assert (state, text, where) == (1, b"a", [0])
    state, text, where = credentials.strip_telnet(state, b"\xfa\x18\x00xterm\xff\xf0b\xff\xffc")
    assert (state, text, where) == (0, b"b\xffc", [10, 12, 13])


@pytest.mark.reliability
@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(credentials.PORTS)), st.booleans(),
       st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.binary(max_size=300) | st.sampled_from([
           b"USER a\r\n", b"PASS b\r\n", b"a1 LOGIN {3}\r\n", b"x LOGIN \"q\" {2}\r\nzz\r\n", b"AUTH LOGIN\r\n",
           b"a AUTHENTICATE PLAIN\r\n", b"AHUAcA==\r\n", b"login: ", b"Password: ", b"\xff\xfa", b"\xff\xf0",
           b"+OK\r\n", b"-ERR\r\n", b"230 ok\r\n", b"530 no\r\n", b"334 x\r\n", b"a1 OK\r\n", b"\r\n", b"\x7f",
           b"DATA\r\n", b".\r\n", b"APOP u d\r\n", b"STLS\r\n"])), max_size=40))
def test_fuzz_trackers_never_raise_and_stay_bounded(port: int, reversed_key: bool, segments: list) -> None:
    logins = credentials.Logins(max_held=2)
    key = (b"a", b"b", port, 40000, 6) if reversed_key else (b"a", b"b", 40000, port, 6)
    tracker = logins.track(key)
    seqs = {True: 0, False: 0}
    offset = 0
    found = []
    for forward, skip, data in segments:
        seqs[forward] += skip  # a gap now and then
        found += tracker.feed(forward, seqs[forward], data, offset, T0)
        seqs[forward] += len(data)
        offset += len(data) + 60
        for side in (tracker.client, tracker.server):
            assert side.buf is None or len(side.buf) <= credentials.MAX_LINE_BYTES
        assert 0 <= logins.held <= 2
    found += tracker.finish()
    assert logins.held == 0
    for credential in found:
        assert credential.seen() and credential.result in ("success", "failure", "unknown")
        fields = credential.fields({"src_ip": "a"})
        assert fields.get("password") in (None, "[redacted]")
        assert re.fullmatch(r"[^\n\r]*", credential.summary(fields))


@pytest.mark.reliability
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.text(string.ascii_letters + string.digits + "+/=", min_size=12, max_size=40))
def test_fuzz_http_authorization_and_redact(noise: bytes, token: str) -> None:
    secret = token.encode()
    for scheme in (b"Basic ", b"", b"Bearer "):
        data = b"GET / HTTP/1.1\r\nAuthorization: " + scheme + secret + b"\r\n" + noise
        result = credentials.http_authorization(data, 0, T0, True)
        masked = credentials.redact(data)
        if secret not in noise:
            assert result is not None and secret not in result[0] and secret not in masked
    assert credentials.http_authorization(noise, 0, T0, True) is None or b"uthorization" in noise.lower()
    credentials.redact(noise)
