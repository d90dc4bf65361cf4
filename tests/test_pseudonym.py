"""Pseudonymised exports: keyed, stable pseudonyms for addresses and user names, in the fields and in the raw
text alike, on real ingests of the samples; hostile values; the key file and its permissions."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from seccenter.cli import main
from seccenter.privacy.pseudonym import (
    ADDRESS_FIELDS,
    USER_FIELDS,
    PseudonymError,
    Pseudonymiser,
    read_key,
    write_new_key,
)
from seccenter.store.db import open_db
from seccenter.store.events import iter_events

SAMPLES = Path(__file__).resolve().parent.parent / "seccenter" / "samples"
KEY = b"k" * 32
OTHER_KEY = b"o" * 32
PSEUDONYM = re.compile(r"^(ip4|ip6|user|host)-[0-9a-f]{16}$")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w])")
HUGE_USER = "A" * 100_000
HOSTILE_AUTH = (
    "Nov 24 03:00:01 rathaus-web01 sshd[900]: Failed password for invalid user x'); DROP TABLE events;-- from "
    "203.0.113.99 port 40001 ssh2\n"
    "Nov 24 03:00:02 rathaus-web01 sshd[900]: Failed password for invalid user \x1b[31m[red]evil\x1b[0m from "
    "2001:db8:bad::17 port 40002 ssh2\n"
    f"Nov 24 03:00:03 rathaus-web01 sshd[900]: Failed password for invalid user {HUGE_USER} from "
    "198.51.100.250 port 40003 ssh2\n"
)


def _run(*args: str, exit_code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == exit_code, result.output
    return result


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pseudonym")
    (folder / "hostile.log").write_text(HOSTILE_AUTH)
    path = folder / "store.db"
    _run("--db", str(path), "ingest", str(SAMPLES / "auth.log"), str(SAMPLES / "access.log"),
         str(SAMPLES / "windows.jsonl"), str(folder / "hostile.log"), "--year", "2026", "--timezone", "UTC")
    connection = sqlite3.connect(path)  # the ingest's connection is gone with its CliRunner; make it one file
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


def key_file(folder: Path, key: bytes = KEY, mode: int = 0o600, name: str = "pseudonym.key") -> Path:
    path = folder / name
    path.write_bytes(key)
    path.chmod(mode)
    return path


def export(store: Path, kind: str, *extra: str) -> str:
    return _run("--db", str(store), "export", kind, *extra).stdout


def originals(store: Path) -> tuple[set[str], set[str]]:
    """Every address and user name the store holds in a field, and every IPv4 address in a raw line."""
    addresses, users = set(), set()
    for event in iter_events(open_db(store)):
        for name, value in event["fields"].items():
            if isinstance(value, str) and name in ADDRESS_FIELDS:
                addresses.add(value)
            elif isinstance(value, str) and name in USER_FIELDS:
                users.add(value)
        addresses.update(IPV4.findall(event["raw"] if isinstance(event["raw"], str) else ""))
    return {value for value in addresses if not ipaddress.ip_address(value).is_loopback}, users


# the pseudonyms themselves


def test_pseudonyms_are_keyed_stable_and_say_what_they_stand_for() -> None:
    first, second, other = Pseudonymiser(KEY), Pseudonymiser(KEY), Pseudonymiser(OTHER_KEY)
    for value, method, prefix in (("203.0.113.7", "ip", "ip4-"), ("2001:db8::1", "ip", "ip6-"),
                                  ("anna.schmidt", "user", "user-"), ("pc-anna.rathaus.local", "host", "host-")):
        pseudonym = getattr(first, method)(value)
        assert PSEUDONYM.match(pseudonym) and pseudonym.startswith(prefix)
        assert getattr(second, method)(value) == pseudonym
        assert getattr(other, method)(value) != pseudonym
    assert first.ip("203.0.113.7") != first.ip("203.0.113.8")
    assert first.user("anna") != first.user("Anna")  # Linux user names are case-sensitive
    assert first.host("PC-Anna") == first.host("pc-anna")  # DNS names are not


def test_addresses_are_compared_as_addresses() -> None:
    pseudonymiser = Pseudonymiser(KEY)
    assert pseudonymiser.ip("2001:DB8:0:0::1") == pseudonymiser.ip("2001:db8::1") == pseudonymiser.host(
        "[2001:db8::1]")
    assert pseudonymiser.ip("::ffff:10.20.1.40") == pseudonymiser.ip("10.20.1.40") == pseudonymiser.host(
        "10.20.1.40")
    assert pseudonymiser.ip("fe80::1%eth0") == pseudonymiser.ip("fe80::1")
    assert pseudonymiser.ip("127.0.0.1") == "127.0.0.1" and pseudonymiser.ip("::1") == "::1"
    assert pseudonymiser.host("-") == "-" and pseudonymiser.user("") == ""
    with pytest.raises(ValueError, match="not an IP address"):
        pseudonymiser.ip("rathaus-db01")


def test_a_windows_account_is_linked_to_its_name_alone() -> None:
    pseudonymiser = Pseudonymiser(KEY)
    domain, name = pseudonymiser.user("RATHAUS\\dba.kraus").split("\\")
    assert name == pseudonymiser.user("dba.kraus") and domain == pseudonymiser.host("rathaus")
    assert PSEUDONYM.match(pseudonymiser.user("anna\\")), "a trailing backslash must not keep the name"


@pytest.mark.parametrize(("text", "expected"), [
    ("from 192.0.2.1 port 22", "from {a} port 22"),
    ("client 192.0.2.1:8080 said", "client {a}:8080 said"),
    ("seen at 192.0.2.1.", "seen at {a}."),
    ("[2001:db8::1]:443 and 2001:DB8::1", "[{b}]:443 and {b}"),
    ("mapped ::ffff:192.0.2.1", "mapped {a}"),
    ("/ping?host=x%3Bwget%20http%3A%2F%2F192.0.2.1%2Fx.sh", "/ping?host=x%3Bwget%20http%3A%2F%2F{a}%2Fx.sh"),
    ("Nov 24 02:11:08 host 12:30 Mozilla/5.0 1.2.3.4.5 v1.2.3 cafe:babe ::", None),
    ("local 127.0.0.1 and ::1", None),
])
def test_addresses_in_text(text: str, expected: str | None) -> None:
    pseudonymiser = Pseudonymiser(KEY)
    result = pseudonymiser.text(text)
    assert result == (text if expected is None else expected.format(a=pseudonymiser.ip("192.0.2.1"),
                                                                       b=pseudonymiser.ip("2001:db8::1")))


def test_known_values_are_replaced_as_whole_words_only() -> None:
    pseudonymiser = Pseudonymiser(KEY)
    record = pseudonymiser.record({"fields": {"user": "anna"},
                                   "raw": "anna annabelle hanna /home/anna/x ?u=%22anna%22 anna"})
    alias = pseudonymiser.user("anna")
    assert record["raw"] == f"{alias} annabelle hanna /home/{alias}/x ?u=%22{alias}%22 {alias}"


@given(st.text(min_size=1, max_size=200).filter(lambda name: any(c.isalnum() for c in name)))
def test_any_user_name_leaves_the_raw_line(name: str) -> None:
    pseudonymiser = Pseudonymiser(KEY)
    record = pseudonymiser.record({"fields": {"user": name}, "raw": f"login by {name} ok", "source": "x"})
    assert record["fields"]["user"] == pseudonymiser.user(name)
    assert record["raw"] == f"login by {pseudonymiser.user(name)} ok"


def test_bytes_raw_and_nested_details_are_pseudonymised() -> None:
    pseudonymiser = Pseudonymiser(KEY)
    record = pseudonymiser.record({
        "source_ip": "203.0.113.7", "raw": b"\xff USER jwagner from 203.0.113.7", "fields": {"user": "jwagner"},
        "details": {"group": {"src_ip": "203.0.113.7"}, "contributors": [{"fields": {"IpAddress": ["10.0.0.9"]}}]},
    })
    alias = pseudonymiser.ip("203.0.113.7")
    assert record["source_ip"] == alias and record["details"]["group"]["src_ip"] == alias
    assert record["details"]["contributors"][0]["fields"]["IpAddress"] == [pseudonymiser.ip("10.0.0.9")]
    assert record["raw"] == b"\xff USER " + pseudonymiser.user("jwagner").encode() + b" from " + alias.encode()


# exports of real ingests


def test_exported_events_hold_no_original_address_or_user_name(store: Path, tmp_path: Path) -> None:
    key = key_file(tmp_path)
    plain = export(store, "events")
    addresses, users = originals(store)
    assert {"203.0.113.7", "10.20.1.40", "2001:db8:bad::17"} <= addresses
    assert {"anna.schmidt", "jwagner", "RATHAUS\\dba.kraus", HUGE_USER} <= users
    assert all(value in plain for value in ("203.0.113.7", "anna.schmidt", "jwagner"))

    output = export(store, "events", "--pseudonymise", "--key-file", str(key))

    for value in addresses | users:  # as a whole word: "postgresql" is not the user postgres
        assert not re.search(rf"(?<!\w){re.escape(json.dumps(value)[1:-1])}(?!\w)", output), \
            f"{value[:40]!r} left in the export"
    for value in ("anna.schmidt", "jwagner", "dba.kraus", "webadmin", "203.0.113.", "x'); DROP TABLE", "\\u001b",
                  "[red]evil", "A" * 1000):
        assert value not in output
    assert "\\u001b[31m[red]evil" not in output
    documents = [json.loads(line) for line in output.splitlines()]
    assert len(documents) == len(plain.splitlines())
    pseudonymiser = Pseudonymiser(KEY)
    anna = pseudonymiser.user("anna.schmidt")
    as_target = [document for document in documents if document.get("user", {}).get("target") == {"name": anna}]
    as_subject = [document for document in documents
                  if document.get("seccenter", {}).get("fields", {}).get("SubjectUserName") == anna]
    assert as_target and as_subject, "one person's events stay linked, whichever field names her"
    assert any(document.get("source", {}).get("ip") == pseudonymiser.ip("203.0.113.7") and
               pseudonymiser.ip("203.0.113.7") in document["event"]["original"] for document in documents)


def test_exports_are_the_same_with_the_same_key_and_differ_with_another(store: Path, tmp_path: Path) -> None:
    key, other = key_file(tmp_path), key_file(tmp_path, OTHER_KEY, name="other.key")
    first = export(store, "alerts", "--pseudonymise", "--key-file", str(key))
    again = export(store, "alerts", "--pseudonymise", "--key-file", str(key))
    different = export(store, "alerts", "--pseudonymise", "--key-file", str(other))
    assert first == again and first != different
    assert "203.0.113.7" not in first and Pseudonymiser(KEY).ip("203.0.113.7") in first
    assert Pseudonymiser(OTHER_KEY).ip("203.0.113.7") in different


def test_an_export_file_is_private(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "events.ndjson"
    result = _run("--db", str(store), "export", "events", "--pseudonymise", "--key-file", str(key_file(tmp_path)),
                  "-o", str(target))
    assert "events exported" in result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and "anna.schmidt" not in target.read_text()


# the key


@pytest.mark.parametrize(("setup", "message"), [
    (lambda folder: folder / "missing.key", "does not exist; create one with `seccenter pseudonym keygen"),
    (lambda folder: key_file(folder, mode=0o644), "(mode 0644); run chmod 600"),
    (lambda folder: key_file(folder, mode=0o620), "(mode 0620); run chmod 600"),
    (lambda folder: key_file(folder, b"short key\n"), "holds 9 bytes; a key needs at least 32"),
    (lambda folder: key_file(folder, b" " * 64), "holds 0 bytes"),
    (lambda folder: key_file(folder, b"x" * 5000), "longer than a key"),
    (lambda folder: folder / "fifo", "not a regular file"),
])
def test_unusable_key_files_are_refused(store: Path, tmp_path: Path, setup, message: str) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it must not wait for a writer: O_NONBLOCK
    path = setup(tmp_path)
    with pytest.raises(PseudonymError, match=re.escape(message)):
        read_key(path)
    target = tmp_path / "out.ndjson"
    result = _run("--db", str(store), "export", "events", "--pseudonymise", "--key-file", str(path), "-o",
                  str(target), exit_code=1)
    assert message in result.stderr and "Traceback" not in result.output
    assert not target.exists() and not (tmp_path / "out.ndjson.part").exists()


def test_key_options_go_together(store: Path, tmp_path: Path) -> None:
    assert "--pseudonymise needs --key-file" in _run("--db", str(store), "export", "events", "--pseudonymise",
                                                      exit_code=2).stderr
    assert "only used with --pseudonymise" in _run("--db", str(store), "export", "events", "--key-file",
                                                    str(key_file(tmp_path)), exit_code=2).stderr


def test_keygen_writes_a_private_key_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "new.key"
    assert "new key written to" in _run("pseudonym", "keygen", str(path)).stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = read_key(path)
    assert len(key) == 64 and re.fullmatch(rb"[0-9a-f]{64}", key)
    result = _run("pseudonym", "keygen", str(path), exit_code=1)
    assert "exists; a key is never overwritten" in result.stderr and read_key(path) == key
    second = tmp_path / "second.key"
    write_new_key(second)
    assert read_key(second) != key
    with pytest.raises(PseudonymError, match="cannot create key file"):
        write_new_key(tmp_path / "no" / "such" / "dir.key")


def test_keygen_keeps_the_mode_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        write_new_key(tmp_path / "k")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_a_short_key_is_refused_by_the_pseudonymiser() -> None:
    with pytest.raises(PseudonymError, match="at least 32 bytes"):
        Pseudonymiser(b"x" * 31)
