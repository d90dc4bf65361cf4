"""Cleartext credentials in TCP streams: FTP, Telnet, POP3, IMAP and SMTP logins, and HTTP Basic.

A ``LoginTracker`` follows both directions of one connection to a login port (``PORTS``; the client is the side
away from that port) and gives a ``Credential`` for every user name or password the client sent in clear, with
the server's verdict where its reply tells it cheaply (``auth_result``: success, failure or unknown). The
password itself is never kept, only its length in bytes. ``http_authorization`` reads ``Authorization`` and
``Proxy-Authorization`` Basic credentials from an HTTP request head (on any port) and gives the head with the
values of those headers redacted. ``redact`` masks what looks like a credential in bytes kept for the
quarantine.

What each protocol gives:

- ftp: ``USER name``, ``PASS secret``; a 2xx reply is success, 4xx/5xx failure (331/332 ask for more).
- pop3: ``USER``/``PASS``, ``APOP name digest`` (a user, no password), ``AUTH`` (SASL); ``+OK``/``-ERR``.
- imap: ``tag LOGIN user password`` (atoms, quoted strings, literals), ``tag AUTHENTICATE`` (SASL); the tagged
  ``OK`` is success, ``NO``/``BAD`` failure.
- smtp (25, 587): ``AUTH`` (SASL); 235 success, 4xx/5xx failure.
- SASL: ``PLAIN`` (authorisation id, user, password), ``LOGIN`` (user, then password) and ``CRAM-MD5`` (a user,
  no password), the first response on the command line or on the next line; a response that is not base64
  ends the exchange without a credential.
- telnet: what the client types after the server's ``login:``/``Username:`` and ``Password:`` prompts (option
  negotiation removed, backspace applied; one character per segment, echoed or not). A new login prompt or
  "incorrect", "failed", "denied", "invalid" after the password is failure; "Last login" or a shell prompt
  (``$``, ``#``, ``>``, ``%``) success. After a login only password prompts are followed (``su``).
- http: ``Basic`` base64 of ``user:password``; status 401 (407 for the proxy's) is failure, any other success.

Bounds: a line or typed field longer than ``MAX_LINE_BYTES`` is dropped; each direction is followed for its
first ``MAX_STREAM_BYTES``; at most ``MAX_HELD_LINES`` directions over all connections hold a partial line at
once (``Logins``; past that a line split over segments is lost, counted in ``stats["unbuffered"]``); a gap in
the sequence numbers drops the partial line. A connection stops being followed after a successful POP3,
IMAP or SMTP login, or a STARTTLS/STLS/AUTH TLS (what follows is encrypted).

Each credential's origin offset is a byte of the capture file no other event starts at: the newline (or the
last byte) of the line that completed it, for HTTP the bytes after the start of its request.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from seccenter.collect.interface import decode_line

PORTS = {21: "ftp", 23: "telnet", 25: "smtp", 110: "pop3", 143: "imap", 587: "smtp"}
LOGIN_PORTS = frozenset(PORTS)
REDACTED = "[redacted]"
MAX_LINE_BYTES = 1024
MAX_STREAM_BYTES = 64 << 10
MAX_HELD_LINES = 4096
MAX_PENDING_REPLIES = 32
MAX_IMAP_TAGS = 8
TELNET_TAIL_BYTES = 128

SUCCESS, FAILURE, UNKNOWN = "success", "failure", "unknown"
_CONTINUE = "continue"  # a reply that asks for the next step
_USER_STAGE, _PASSWORD_STAGE = 0, 1
_ENDS = ("src_ip", "src_port", "dst_ip", "dst_port", "proto")
_MASK = 0xFFFFFFFF
_NOTHING: tuple = ()


@dataclass(slots=True)
class Credential:
    """One login seen in clear: who, how, and whether it worked; never the password, only its length."""

    protocol: str
    mechanism: str
    forward: bool
    """Whether the client sent it in its flow's forward (originator to responder) direction."""
    offset: int = 0
    time: float = 0.0
    user: str | None = None
    password_length: int | None = None
    result: str = UNKNOWN

    def seen(self) -> bool:
        return self.user is not None or self.password_length is not None

    def fields(self, ends: dict[str, Any]) -> dict[str, Any]:
        """The event's fields: the addresses and ports of ``ends`` (client to server) and the login."""
        fields = {key: ends[key] for key in _ENDS if key in ends}
        fields["protocol"] = self.protocol
        fields["auth_mechanism"] = self.mechanism
        if self.user is not None:
            fields["user"] = self.user
        if self.password_length is not None:
            fields["password"] = REDACTED
            fields["password_length"] = self.password_length
        fields["auth_result"] = self.result
        fields["personal_data_risk"] = True
        return fields

    def summary(self, fields: dict[str, Any]) -> str:
        """The event's one-line raw text (the user name with control characters escaped, no password)."""
        user = "-" if self.user is None else _printable(self.user)
        password = f"password {REDACTED}" if self.password_length is not None else "no password"
        return (f"{self.protocol.upper()} {self.mechanism} user={user} {password} {fields.get('src_ip')}:"
                f"{fields.get('src_port')} -> {fields.get('dst_ip')}:{fields.get('dst_port')} {self.result}")


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


# --- the shared budget of partial lines --------------------------------------------------------------------


class Logins:
    """Makes the trackers of one capture and bounds the partial lines they hold together."""

    def __init__(self, stats: dict[str, int] | None = None, max_held: int = MAX_HELD_LINES) -> None:
        self.held = 0
        self.max_held = max_held
        self.stats = stats if stats is not None else {}

    def track(self, key: tuple) -> LoginTracker | None:
        """A tracker for a TCP flow keyed (originator, responder, originator port, responder port, proto), or
        None when neither port is a login port."""
        protocol = PORTS.get(key[3])
        client_forward = True
        if protocol is None:
            protocol = PORTS.get(key[2])
            client_forward = False
            if protocol is None:
                return None
        return _TRACKERS[protocol](protocol, client_forward, self)

    def hold(self) -> bool:
        if self.held >= self.max_held:
            self.stats["unbuffered"] = self.stats.get("unbuffered", 0) + 1
            return False
        self.held += 1
        return True


class _Side:
    """One direction: where its sequence numbers are and the line it is in the middle of."""

    __slots__ = ("next_seq", "buf", "last", "time", "seen", "dropping", "telnet")

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.buf: bytearray | None = None
        self.last = 0
        """File offset of the last byte put into ``buf``."""
        self.time = 0.0
        """Capture time of that byte."""
        self.seen = 0
        self.dropping = False
        """Skipping the rest of a line that was too long (or could not be held)."""
        self.telnet = 0
        """Telnet option parser state (``strip_telnet``)."""


# --- trackers -----------------------------------------------------------------------------------------------


class LoginTracker:
    """Both directions of one connection to a login port; subclasses read one protocol's lines."""

    def __init__(self, protocol: str, client_forward: bool, logins: Logins) -> None:
        self.protocol = protocol
        self.client_forward = client_forward
        """Whether the client is the flow's originator (its events go from the client to the server)."""
        self.logins = logins
        self.client = _Side()
        self.server = _Side()
        self.found: list[Credential] = []
        self.done = False

    def feed(self, forward: bool, seq: int, data: bytes, offset: int, stamp: float) -> list[Credential] | tuple:
        """Bytes in sequence order from one direction (``offset``: where they start in the file); returns the
        credentials they completed."""
        if self.done:
            return _NOTHING
        from_client = forward == self.client_forward
        side = self.client if from_client else self.server
        if side.next_seq is not None and seq != side.next_seq:
            self._drop_line(side)
        side.next_seq = (seq + len(data)) & _MASK
        room = MAX_STREAM_BYTES - side.seen
        if room <= 0:
            return _NOTHING
        if len(data) > room:
            data = data[:room]
        side.seen += len(data)
        self._data(from_client, side, data, offset, stamp)
        if self.found:
            found, self.found = self.found, []
            return found
        return _NOTHING

    def finish(self) -> list[Credential]:
        """The connection ended: a line the client left unfinished is taken as sent, and every open login
        becomes a credential (its result unknown unless a reply told it)."""
        client = self.client
        if not self.done and client.buf:
            self._unfinished(client)
        self._drop_line(client)
        self._drop_line(self.server)
        self._close_all()
        self.done = True
        found, self.found = self.found, []
        return found

    # --- lines ---------------------------------------------------------------------------------------------

    def _data(self, from_client: bool, side: _Side, data: bytes, offset: int, stamp: float) -> None:
        handle = self._client_line if from_client else self._server_line
        pos, size = 0, len(data)
        while pos < size and not self.done:
            end = data.find(b"\n", pos)
            if end < 0:
                self._keep(side, data, pos, offset + size - 1, stamp)
                return
            buf = side.buf
            if side.dropping:
                side.dropping = False
            elif buf is not None:
                self._drop_line(side)
                if len(buf) + end - pos <= MAX_LINE_BYTES:
                    buf += data[pos:end]
                    handle(bytes(buf).rstrip(b"\r"), offset + end, stamp)
            elif end - pos <= MAX_LINE_BYTES:
                handle(data[pos:end].rstrip(b"\r"), offset + end, stamp)
            pos = end + 1

    def _keep(self, side: _Side, data: bytes, pos: int, last: int, stamp: float) -> None:
        """Hold the start of a line that continues in a later segment."""
        if side.dropping:
            return
        buf = side.buf
        if buf is None:
            if not self.logins.hold():
                side.dropping = True
                return
            buf = side.buf = bytearray()
        if len(buf) + len(data) - pos > MAX_LINE_BYTES:
            self._drop_line(side)
            side.dropping = True
            return
        buf += data[pos:]
        side.last, side.time = last, stamp

    def _drop_line(self, side: _Side) -> None:
        if side.buf is not None:
            side.buf = None
            self.logins.held -= 1
        side.dropping = False

    def _unfinished(self, client: _Side) -> None:
        """The client's last line had no newline when the connection ended: the server may still have read it."""
        self._client_line(bytes(client.buf or b"").rstrip(b"\r"), client.last, client.time)

    def _client_line(self, line: bytes, end: int, stamp: float) -> None:
        raise NotImplementedError

    def _server_line(self, line: bytes, end: int, stamp: float) -> None:
        raise NotImplementedError

    # --- credentials ---------------------------------------------------------------------------------------

    def _credential(self, mechanism: str, end: int, stamp: float) -> Credential:
        return Credential(self.protocol, mechanism, self.client_forward, end, stamp)

    def _emit(self, credential: Credential) -> None:
        if credential.seen():
            self.found.append(credential)

    def _close_all(self) -> None:
        """Every login still open becomes a credential."""

    def _stop(self) -> None:
        """Nothing more to read on this connection (encrypted from here, or logged in)."""
        self._close_all()
        self._drop_line(self.client)
        self._drop_line(self.server)
        self.done = True


class _Sasl:
    """The client's side of one SASL exchange (RFC 4422) for PLAIN, LOGIN or CRAM-MD5."""

    __slots__ = ("credential", "mechanism", "step")

    MECHANISMS = frozenset({b"PLAIN", b"LOGIN", b"CRAM-MD5"})

    def __init__(self, credential: Credential, mechanism: bytes) -> None:
        self.credential = credential
        self.mechanism = mechanism
        self.step = 0

    def respond(self, line: bytes, end: int, stamp: float) -> bool:
        """One response line; True when the exchange has nothing more to give."""
        line = line.strip()
        if line == b"*":  # cancelled
            return True
        decoded = b"" if line == b"=" else decode_base64(line)
        if decoded is None:
            return True
        credential = self.credential
        if self.mechanism == b"PLAIN":
            parts = decoded.split(b"\0")
            if len(parts) == 3:
                credential.user = decode_line(parts[1] or parts[0])
                credential.password_length = len(parts[2])
                credential.offset, credential.time = end, stamp
            return True
        if self.mechanism == b"LOGIN":
            if self.step == 0:
                credential.user = decode_line(decoded)
            else:
                credential.password_length = len(decoded)
            credential.offset, credential.time = end, stamp
            self.step += 1
            return self.step >= 2
        user = decoded.rpartition(b" ")[0]  # CRAM-MD5: "user digest"
        if user:
            credential.user = decode_line(user)
            credential.offset, credential.time = end, stamp
        return True


class _InOrder(LoginTracker):
    """FTP, POP3 and SMTP: each command gets its final reply in the order the commands were sent."""

    user_accepted = SUCCESS
    """What a positive reply to a user name means (FTP 230: logged in; POP3 +OK: go on with PASS)."""
    stop_on_success = True

    def __init__(self, protocol: str, client_forward: bool, logins: Logins) -> None:
        super().__init__(protocol, client_forward, logins)
        self.replies: deque[tuple[Credential, int] | None] = deque()
        self.attempt: Credential | None = None
        self.sasl: _Sasl | None = None

    def _expect(self, entry: tuple[Credential, int] | None) -> None:
        replies = self.replies
        if len(replies) >= MAX_PENDING_REPLIES:
            replies.popleft()
        replies.append(entry)

    def _reply(self, verdict: str) -> None:
        if not self.replies:
            return
        entry = self.replies.popleft()
        if entry is None:
            return
        credential, stage = entry
        if self.sasl is not None and self.sasl.credential is credential:
            self.sasl = None
        if stage == _USER_STAGE:
            if credential.password_length is not None:
                return  # the password went out before this reply came: its own reply tells
            if verdict == SUCCESS:
                verdict = self.user_accepted
            if verdict == _CONTINUE:
                return
        elif verdict == _CONTINUE:
            verdict = UNKNOWN
        self._settle(credential, verdict)

    def _settle(self, credential: Credential, verdict: str) -> None:
        credential.result = verdict
        self._forget(credential)
        self._emit(credential)
        if verdict == SUCCESS and self.stop_on_success:
            self._stop()

    def _forget(self, credential: Credential) -> None:
        """No reply will settle it any more."""
        if credential is self.attempt:
            self.attempt = None
        replies = self.replies
        for index, entry in enumerate(replies):
            if entry is not None and entry[0] is credential:
                replies[index] = None

    def _open_user(self, user: bytes, mechanism: str, end: int, stamp: float, stage: int = _USER_STAGE) -> None:
        """A user name: a new login (APOP's is complete at once: its reply settles it)."""
        if not user:
            self._expect(None)
            return
        if self.attempt is not None:
            self._close(self.attempt)
        credential = self._credential(mechanism, end, stamp)
        credential.user = decode_line(user)
        if stage == _USER_STAGE:
            self.attempt = credential
        self._expect((credential, stage))

    def _password(self, password: bytes, end: int, stamp: float) -> None:
        credential = self.attempt
        if credential is None or credential.password_length is not None:
            credential = self._credential("USER/PASS", end, stamp)  # no user name sent for this one
        credential.password_length = len(password)
        credential.offset, credential.time = end, stamp
        self.attempt = credential
        self._expect((credential, _PASSWORD_STAGE))

    def _start_sasl(self, command: str, argument: bytes, end: int, stamp: float) -> None:
        mechanism, _, initial = argument.strip().partition(b" ")
        mechanism = mechanism.upper()
        if mechanism not in _Sasl.MECHANISMS:
            self._expect(None)
            return
        if self.attempt is not None:
            self._close(self.attempt)
        credential = self._credential(f"{command} {mechanism.decode('ascii')}", end, stamp)
        self.sasl = _Sasl(credential, mechanism)
        self._expect((credential, _PASSWORD_STAGE))
        if initial and self.sasl.respond(initial, end, stamp):
            self.sasl = None

    def _sasl_line(self, line: bytes, end: int, stamp: float) -> None:
        if self.sasl is not None and self.sasl.respond(line, end, stamp):
            self.sasl = None

    def _close(self, credential: Credential) -> None:
        self._forget(credential)
        self._emit(credential)

    def _close_all(self) -> None:
        seen = set()
        for entry in self.replies:
            if entry is not None and id(entry[0]) not in seen:
                seen.add(id(entry[0]))
                self._emit(entry[0])
        if self.attempt is not None and id(self.attempt) not in seen:
            self._emit(self.attempt)
        self.replies.clear()
        self.attempt = self.sasl = None


class _Ftp(_InOrder):
    stop_on_success = False  # a session may log in again (REIN, USER)

    def _client_line(self, line: bytes, end: int, stamp: float) -> None:
        command, _, argument = line.partition(b" ")
        command = command.upper()
        if command == b"USER":
            self._open_user(argument, "USER/PASS", end, stamp)
        elif command == b"PASS":
            self._password(argument, end, stamp)
        elif command == b"AUTH":  # AUTH TLS: the control connection is encrypted from here
            self._stop()
        else:
            self._expect(None)

    def _server_line(self, line: bytes, end: int, stamp: float) -> None:
        verdict = _reply_code(line)
        if verdict is not None:
            self._reply(verdict)


class _Pop3(_InOrder):
    user_accepted = _CONTINUE

    def _client_line(self, line: bytes, end: int, stamp: float) -> None:
        if self.sasl is not None:
            self._sasl_line(line, end, stamp)
            return
        command, _, argument = line.partition(b" ")
        command = command.upper()
        if command == b"USER":
            self._open_user(argument, "USER/PASS", end, stamp)
        elif command == b"PASS":
            self._password(argument, end, stamp)
        elif command == b"APOP":
            self._open_user(argument.rpartition(b" ")[0], "APOP", end, stamp, _PASSWORD_STAGE)
        elif command == b"AUTH" and argument:
            self._start_sasl("AUTH", argument, end, stamp)
        elif command == b"STLS":
            self._stop()
        else:
            self._expect(None)

    def _server_line(self, line: bytes, end: int, stamp: float) -> None:
        if line.startswith(b"+OK"):
            self._reply(SUCCESS)
        elif line.startswith(b"-ERR"):
            self._reply(FAILURE)


class _Smtp(_InOrder):
    def __init__(self, protocol: str, client_forward: bool, logins: Logins) -> None:
        super().__init__(protocol, client_forward, logins)
        self.in_data = False

    def _client_line(self, line: bytes, end: int, stamp: float) -> None:
        if self.sasl is not None:
            self._sasl_line(line, end, stamp)
            return
        if self.in_data:  # a message: its lines are not commands
            if line == b".":
                self.in_data = False
                self._expect(None)
            return
        command, _, argument = line.partition(b" ")
        command = command.upper()
        if command == b"AUTH":
            self._start_sasl("AUTH", argument, end, stamp)
        elif command == b"STARTTLS":
            self._stop()
        else:
            self.in_data = command == b"DATA"
            self._expect(None)

    def _server_line(self, line: bytes, end: int, stamp: float) -> None:
        if line.startswith(b"334"):  # a SASL challenge: the exchange goes on
            return
        verdict = _reply_code(line)
        if verdict is not None:
            self._reply(verdict)


def _reply_code(line: bytes) -> str | None:
    """The verdict of an FTP/SMTP final reply line (``ddd text``); None for other lines and 1xx replies."""
    if len(line) < 3 or not line[:3].isdigit() or len(line) > 3 and line[3] != 0x20:
        return None
    first = line[0]
    if first == 0x32:
        return SUCCESS
    if first == 0x33:
        return _CONTINUE
    if first == 0x34 or first == 0x35:
        return FAILURE
    return None


class _Imap(LoginTracker):
    """IMAP: logins answered by their tag."""

    def __init__(self, protocol: str, client_forward: bool, logins: Logins) -> None:
        super().__init__(protocol, client_forward, logins)
        self.tags: dict[bytes, Credential] = {}
        self.sasl: _Sasl | None = None
        self.command: bytearray | None = None
        """A LOGIN command waiting for the rest of its literals."""

    def _client_line(self, line: bytes, end: int, stamp: float) -> None:
        if self.sasl is not None:
            if self.sasl.respond(line, end, stamp):
                self.sasl = None
            return
        command = self.command
        if command is not None:
            command += line
            line = bytes(command)
        parts = line.split(b" ", 2)
        if len(parts) < 2:
            self.command = None
            return
        tag, verb = parts[0], parts[1].upper()
        argument = parts[2] if len(parts) > 2 else b""
        if verb == b"LOGIN":
            strings = imap_strings(argument, 2)
            if strings is NEED_MORE:
                if len(line) + 2 <= MAX_LINE_BYTES:
                    self.command = bytearray(line + b"\r\n")
                    return
                strings = None
            self.command = None
            if strings is None:
                return
            user, password = strings  # type: ignore[misc]
            credential = self._credential("LOGIN", end, stamp)
            credential.user = decode_line(user)
            credential.password_length = len(password)
            self._tagged(tag, credential)
        else:
            self.command = None
            if verb == b"AUTHENTICATE":
                mechanism, _, initial = argument.strip().partition(b" ")
                mechanism = mechanism.upper()
                if mechanism in _Sasl.MECHANISMS:
                    credential = self._credential(f"AUTHENTICATE {mechanism.decode('ascii')}", end, stamp)
                    self._tagged(tag, credential)
                    self.sasl = _Sasl(credential, mechanism)
                    if initial and self.sasl.respond(initial, end, stamp):
                        self.sasl = None
            elif verb == b"STARTTLS":
                self._stop()

    def _tagged(self, tag: bytes, credential: Credential) -> None:
        tags = self.tags
        earlier = tags.pop(tag, None)
        if earlier is not None:
            self._emit(earlier)
        elif len(tags) >= MAX_IMAP_TAGS:
            self._emit(tags.pop(next(iter(tags))))
        tags[tag] = credential

    def _server_line(self, line: bytes, end: int, stamp: float) -> None:
        parts = line.split(b" ", 2)
        if len(parts) < 2:
            return
        credential = self.tags.pop(parts[0], None)
        if credential is None:
            return
        if self.sasl is not None and self.sasl.credential is credential:
            self.sasl = None
        status = parts[1].upper()
        credential.result = SUCCESS if status == b"OK" else FAILURE if status in (b"NO", b"BAD") else UNKNOWN
        self._emit(credential)
        if credential.result == SUCCESS:
            self._stop()

    def _close_all(self) -> None:
        for credential in self.tags.values():
            self._emit(credential)
        self.tags.clear()
        self.sasl = None
        self.command = None


NEED_MORE = ("need more",)
"""``imap_strings``: the command continues after a literal in a later line."""
_LITERAL = re.compile(rb"\{([0-9]{1,7})\+?\}")


def imap_strings(data: bytes, count: int) -> list[bytes] | tuple | None:
    """The first ``count`` IMAP astrings (atom, quoted string or literal ``{n}`` CRLF n bytes) of ``data``;
    ``NEED_MORE`` when a literal's bytes are still to come, None when ``data`` does not hold them."""
    found: list[bytes] = []
    pos, size = 0, len(data)
    while len(found) < count:
        while pos < size and data[pos] == 0x20:
            pos += 1
        if pos >= size:
            return None
        first = data[pos]
        if first == 0x22:  # "quoted \"string\""
            value = bytearray()
            pos += 1
            while True:
                if pos >= size:
                    return None
                char = data[pos]
                if char == 0x5C and pos + 1 < size:
                    value.append(data[pos + 1])
                    pos += 2
                elif char == 0x22:
                    pos += 1
                    break
                else:
                    value.append(char)
                    pos += 1
            found.append(bytes(value))
        elif first == 0x7B:  # {length}\r\n then that many bytes
            match = _LITERAL.match(data, pos)
            if match is None:
                return None
            length = int(match[1])
            start = match.end()
            if start == size:
                return NEED_MORE if length <= MAX_LINE_BYTES else None
            if not data.startswith(b"\r\n", start):
                return None
            start += 2
            if start + length > size:
                return NEED_MORE if length <= MAX_LINE_BYTES else None
            found.append(data[start:start + length])
            pos = start + length
        else:
            end = data.find(b" ", pos)
            end = size if end < 0 else end
            found.append(data[pos:end])
            pos = end
    return found


# --- telnet -------------------------------------------------------------------------------------------------

_IAC, _SB, _SE = 0xFF, 0xFA, 0xF0
_PASSWORD_PROMPT = re.compile(rb"pass(?:word|wd|code|phrase)[^\r\n:]{0,40}:[ \t]*\Z", re.I)
_USER_PROMPT = re.compile(rb"(?:login|user ?name|user)[ \t]*:[ \t]*\Z", re.I)
_LOGGED_IN = re.compile(rb"last (?:failed )?login|[$#>%][ \t]*\Z", re.I)
_REFUSED = re.compile(rb"incorrect|fail|denied|invalid", re.I)
_EXPECT_USER, _EXPECT_PASSWORD = 1, 2


def strip_telnet(state: int, data: bytes) -> tuple[int, bytes, list[int]]:
    """Remove Telnet commands and option negotiation (RFC 854/855) from ``data``; ``state`` carries an unfinished
    command between segments. Returns the new state, the text, and each text byte's index in ``data``."""
    if not state and _IAC not in data:
        return 0, data, list(range(len(data)))
    text = bytearray()
    where: list[int] = []
    for index, byte in enumerate(data):
        if state == 0:
            if byte == _IAC:
                state = 1
            else:
                text.append(byte)
                where.append(index)
        elif state == 1:  # after IAC
            if byte == _IAC:  # an escaped 255
                text.append(byte)
                where.append(index)
                state = 0
            elif byte == _SB:
                state = 3
            elif 251 <= byte <= 254:  # WILL, WONT, DO, DONT: an option byte follows
                state = 2
            else:
                state = 0
        elif state == 2:
            state = 0
        elif state == 3:  # inside a subnegotiation, until IAC SE
            if byte == _IAC:
                state = 4
        else:
            state = 0 if byte == _SE else 3
    return state, bytes(text), where


class _Telnet(LoginTracker):
    """Telnet: fields typed after the login and password prompts; the server's words say how it went."""

    def __init__(self, protocol: str, client_forward: bool, logins: Logins) -> None:
        super().__init__(protocol, client_forward, logins)
        self.expect = 0
        self.tail = b""
        """The end of what the server printed (where a prompt is)."""
        self.after: bytearray | None = None
        """What the server printed since the client's last field (where its verdict is)."""
        self.attempt: Credential | None = None
        self.logged_in = False

    def _data(self, from_client: bool, side: _Side, data: bytes, offset: int, stamp: float) -> None:
        side.telnet, text, where = strip_telnet(side.telnet, data)
        if not text:
            return
        if from_client:
            self._typed(side, text, where, offset, stamp)
        else:
            self._printed(text)

    def _typed(self, side: _Side, text: bytes, where: list[int], offset: int, stamp: float) -> None:
        for index, byte in enumerate(text):
            if byte == 0x0D or byte == 0x0A:
                if side.buf is not None:
                    field = bytes(side.buf)
                    self._drop_line(side)
                    self._field(field, offset + where[index], stamp)
                elif side.dropping:
                    side.dropping = False
                continue
            if byte == 0:
                continue
            if side.dropping:
                continue
            buf = side.buf
            if byte == 0x08 or byte == 0x7F:  # backspace
                if buf:
                    del buf[-1]
                continue
            if byte == 0x15 or byte == 0x03:  # ^U erases the field, ^C abandons it
                if buf is not None:
                    buf.clear()
                continue
            if buf is None:
                if not self.logins.hold():
                    side.dropping = True
                    continue
                buf = side.buf = bytearray()
            if len(buf) >= MAX_LINE_BYTES:
                self._drop_line(side)
                side.dropping = True
                continue
            buf.append(byte)

    def _field(self, field: bytes, end: int, stamp: float) -> None:
        expect, self.expect = self.expect, 0
        if not field or not expect:
            return
        if expect == _EXPECT_USER:
            if self.attempt is not None:
                self._emit(self.attempt)
            credential = self.attempt = self._credential("login prompt", end, stamp)
            credential.user = decode_line(field)
        else:
            credential = self.attempt
            if credential is None or credential.password_length is not None:
                if credential is not None:
                    self._emit(credential)
                credential = self.attempt = self._credential(
                    "password prompt" if self.logged_in else "login prompt", end, stamp)
            credential.password_length = len(field)
            credential.offset, credential.time = end, stamp
        self.after = bytearray()

    def _printed(self, text: bytes) -> None:
        tail = (self.tail + text)[-TELNET_TAIL_BYTES:]
        self.tail = tail
        line = tail[max(tail.rfind(b"\n"), tail.rfind(b"\r")) + 1:]
        attempt, after = self.attempt, self.after
        if attempt is not None and after is not None:
            after += text[-MAX_LINE_BYTES:]
            if len(after) > MAX_LINE_BYTES:
                del after[:-MAX_LINE_BYTES]
            if not self.logged_in and _USER_PROMPT.search(line):
                self._settle(FAILURE)
            elif _LOGGED_IN.search(after):
                self._settle(SUCCESS)
            elif _REFUSED.search(after):
                self._settle(FAILURE)
        if _PASSWORD_PROMPT.search(line):
            self.expect = _EXPECT_PASSWORD
        elif not self.logged_in and _USER_PROMPT.search(line):
            self.expect = _EXPECT_USER

    def _settle(self, verdict: str) -> None:
        credential = self.attempt
        if credential is None:
            return
        credential.result = verdict
        self.attempt = self.after = None
        self._emit(credential)
        if verdict == SUCCESS:
            self.logged_in = True

    def _unfinished(self, client: _Side) -> None:
        """A field typed without Enter was never submitted."""

    def _close_all(self) -> None:
        if self.attempt is not None:
            self._emit(self.attempt)
        self.attempt = self.after = None


_TRACKERS: dict[str, type[LoginTracker]] = {"ftp": _Ftp, "telnet": _Telnet, "pop3": _Pop3, "imap": _Imap,
                                            "smtp": _Smtp}


# --- HTTP Basic ---------------------------------------------------------------------------------------------

_AUTHORIZATION_HEADER = re.compile(
    rb"^((?:proxy-)?authorization)[ \t]*:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", re.I | re.M)
_REDACTED = REDACTED.encode()
_FOLD = re.compile(rb"\r?\n[ \t]+")
_AUTH_SCHEMES = frozenset({b"basic", b"bearer", b"digest", b"negotiate", b"ntlm", b"aws4-hmac-sha256", b"hoba",
                           b"mutual", b"scram-sha-1", b"scram-sha-256", b"vapid", b"token", b"dpop"})


def http_authorization(head: bytes, offset: int, stamp: float,
                       forward: bool) -> tuple[bytes, list[Credential]] | None:
    """For a request head holding ``Authorization``/``Proxy-Authorization``: the head with their values
    redacted (the scheme kept) and a credential for each Basic one that decodes; None for any other head."""
    if b"authorization" not in head.lower():
        return None
    found: list[Credential] = []

    def redacted(match: re.Match[bytes]) -> bytes:
        scheme, _, token = _FOLD.sub(b" ", match[2]).strip().partition(b" ")
        proxy = len(match[1]) > len(b"authorization")
        if scheme.lower() == b"basic":
            decoded = decode_base64(token.strip())
            user, colon, password = (decoded or b"").partition(b":")
            if colon:
                credential = Credential("http", "Proxy Basic" if proxy else "Basic", forward,
                                        offset + 1 + len(found), stamp)
                credential.user = decode_line(user)
                credential.password_length = len(password)
                found.append(credential)
        kept = match[0][:match.start(2) - match.start(0)]
        return kept + (scheme + b" " if token and scheme.lower() in _AUTH_SCHEMES else b"") + _REDACTED

    return _AUTHORIZATION_HEADER.sub(redacted, head), found


def http_result(found: list[Credential], status: int | None) -> list[Credential]:
    """Settle HTTP credentials by their response's status (401, or 407 for the proxy's, is failure)."""
    for credential in found:
        if status is None:
            credential.result = UNKNOWN
        else:
            refused = 407 if credential.mechanism == "Proxy Basic" else 401
            credential.result = FAILURE if status == refused else SUCCESS
    return found


# --- shared -------------------------------------------------------------------------------------------------


def decode_base64(text: bytes) -> bytes | None:
    """Strict base64 (the alphabet, with padding); None for anything else."""
    if not text or len(text) > 4 * MAX_LINE_BYTES:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


_SECRETS = re.compile(
    rb"(?:\b(?:PASS|LOGIN|AUTH(?:ENTICATE)?[ \t]+[A-Z0-9_-]+)[ \t]+|authorization[ \t]*:[ \t]*"
    rb"|\bpass(?:word|wd)?[ \t]*[=:][ \t]*)([^\r\n]+)"
    rb"|^([A-Z0-9+/]{8,}={0,2})\r?$", re.I | re.M)


def redact(data: bytes) -> bytes:
    """``data`` with what looks like a credential masked: the rest of the line after PASS, LOGIN, AUTH(ENTICATE)
    mechanism, Authorization: and password=, and lines that are only base64 (SASL responses). For bytes kept
    in the quarantine; a Telnet keystroke cannot be told from any other byte and is not masked."""
    if not data:
        return data

    def masked(match: re.Match[bytes]) -> bytes:
        group = 1 if match.start(1) >= 0 else 2
        return match[0][:match.start(group) - match.start(0)] + _REDACTED

    return _SECRETS.sub(masked, bytes(data))
