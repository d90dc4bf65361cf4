"""Notifications about new alerts: real SMTP, HTTP and syslog receivers on 127.0.0.1 / a UNIX socket in tmp_path."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlite_utils import Database

from seccenter.config import Notifications, SmtpSettings, SyslogSettings, WebhookSettings
from seccenter.detect.alert import Alert
from seccenter.events import Event, LogSource, Origin
from seccenter.notify import notify
from seccenter.notify.syslog import DATAGRAM_LIMIT
from seccenter.store import outbox
from seccenter.store.alerts import insert_alerts, list_alerts
from seccenter.store.db import open_db
from seccenter.store.events import event_ids, insert_events
from seccenter.store.transaction import write_transaction

T0 = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
HOSTILE = "\x1b[31mEvil\x1b[0m [red]boom[/red]\r\nBcc: victim@evil.example\r\nX-Injected: yes\u2028"
SECRET = "s3cr3t-Passw0rd"


def free_port() -> int:
    """A port nothing listens on (for a "server down" run, and to start the server there later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_db(tmp_path / "seccenter.db")


def store_alerts(db: Database, *specs: tuple[str, str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Store one event and alert per (level, rule title, event fields); returns them as ``list_alerts`` does."""
    start = db["events"].count
    first_alert = (db.execute("SELECT max(id) FROM alerts").fetchone()[0] or 0) + 1
    events = [Event(T0 + timedelta(minutes=start + n), "test", LogSource(product="linux"), fields, "raw line",
                    Origin("/var/log/test.log", (start + n) * 100, start + n + 1)) for n, (_, _, fields) in
              enumerate(specs)]
    with write_transaction(db):
        insert_events(db, events, "file")
        ids = event_ids(db, "/var/log/test.log", "file", start * 100, (start + len(specs)) * 100)
        insert_alerts(db, [(Alert(f"rule-{n}", title, level, (), event), ids[event.origin.offset])
                           for n, ((level, title, _), event) in enumerate(zip(specs, events, strict=True))])
    return list_alerts(db, first_id=first_alert)


def scan_run(db: Database) -> int:
    with write_transaction(db):
        db.execute("INSERT INTO scan_runs (id, started, status, first_alert_id) VALUES (7, ?, 'running', 1)",
                   [T0.isoformat()])
    return 7


def three_alerts(db: Database) -> list[dict[str, Any]]:
    return store_alerts(db, ("critical", "Ransomware note written", {"host": "fs01", "src_ip": "10.0.0.7"}),
                        ("high", "SSH brute force", {"Computer": "gw01", "src_ip": "203.0.113.9"}),
                        ("high", "Web shell upload", {}))


class SmtpReceiver:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.logins.append((auth_data.login, auth_data.password))
        # handled=False: aiosmtpd answers a refusal with its 535 itself
        return AuthResult(success=auth_data.password == SECRET.encode(), handled=False)

    def mails(self) -> list[Any]:
        return [message_from_bytes(envelope.original_content, policy=policy.default) for envelope in self.envelopes]


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpReceiver, int]]:
    receiver, port = SmtpReceiver(), free_port()
    controller = Controller(receiver, hostname="127.0.0.1", port=port, authenticator=receiver.authenticate,
                            auth_require_tls=False)
    controller.start()
    yield receiver, port
    controller.stop()


def start_smtp(receiver: SmtpReceiver, port: int) -> Controller:
    controller = Controller(receiver, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


class HttpReceiver:
    """Records every request; answers ``status`` (with ``location`` for a redirect)."""

    def __init__(self, port: int = 0, status: int = 204, location: str | None = None) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.path, dict(self.headers), body))
                # the target of a redirect answers 204
                arrived = receiver.location is not None and self.path == receiver.location
                self.send_response(204 if arrived else receiver.status)
                if receiver.location and not arrived:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.status, self.location = status, location
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, _, body in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_server() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    yield receiver
    receiver.stop()


def syslog_socket(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(2)
    return listener


def outbox_rows(db: Database) -> list[dict[str, Any]]:
    return [dict(zip(("id", "channel", "run_id", "attempts", "last_error", "delivered"), row, strict=True))
            for row in db.execute("SELECT id, channel, run_id, attempts, last_error, delivered"
                                  " FROM notification_outbox ORDER BY id")]


def smtp_settings(port: int, **changes: Any) -> SmtpSettings:
    return SmtpSettings(**{"host": "127.0.0.1", "sender": "seccenter@stadt.example",
                           "recipients": ("csc@stadt.example", "dpo@stadt.example"), "port": port,
                           "timeout": 5.0, **changes})


def test_webhook_posts_the_digest_as_json_with_the_configured_headers(db: Database,
                                                                       http_server: HttpReceiver) -> None:
    alerts = three_alerts(db) + store_alerts(db, ("medium", "Port scan", {}))
    settings = Notifications(webhook=WebhookSettings(f"http://127.0.0.1:{http_server.port}/hooks/csc",
                                                     (("X-Source", "seccenter"), ("Authorization", "Bearer t0k"))))

    report = notify(db, settings, None, alerts, "high")

    assert report.to_dict() == {"queued": 1, "delivered": 1, "failed": [], "pending": 0}
    [(path, headers, _)] = http_server.requests
    assert path == "/hooks/csc"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Source"] == "seccenter" and headers["Authorization"] == "Bearer t0k"
    [body] = http_server.bodies()
    ids = {alert["rule_title"]: alert["id"] for alert in alerts}
    assert body == {
        "source": "seccenter", "run_id": None, "created": body["created"], "threshold": "high", "total": 3,
        "by_level": {"critical": 1, "high": 2},
        "alerts": [
            {"id": ids["Ransomware note written"], "rule_id": "rule-0", "rule_title": "Ransomware note written",
             "level": "critical", "time": "2026-03-02T08:30:00Z", "source_ip": "10.0.0.7", "host": "fs01"},
            {"id": ids["Web shell upload"], "rule_id": "rule-2", "rule_title": "Web shell upload",
             "level": "high", "time": "2026-03-02T08:32:00Z", "source_ip": None, "host": None},
            {"id": ids["SSH brute force"], "rule_id": "rule-1", "rule_title": "SSH brute force",
             "level": "high", "time": "2026-03-02T08:31:00Z", "source_ip": "203.0.113.9", "host": "gw01"},
        ],
        "more": 0,
    }
    assert datetime.fromisoformat(body["created"]).tzinfo is not None
    assert outbox_rows(db)[0]["delivered"] is not None


def test_mail_has_a_subject_of_counts_and_lists_the_alerts(db: Database,
                                                            smtp_server: tuple[SmtpReceiver, int]) -> None:
    receiver, port = smtp_server
    alerts, run_id = three_alerts(db), scan_run(db)

    report = notify(db, Notifications(smtp=smtp_settings(port)), run_id, alerts, "high")

    assert report.to_dict() == {"queued": 1, "delivered": 1, "failed": [], "pending": 0}
    [envelope] = receiver.envelopes
    assert envelope.mail_from == "seccenter@stadt.example"
    assert envelope.rcpt_tos == ["csc@stadt.example", "dpo@stadt.example"]
    [mail] = receiver.mails()
    assert mail["Subject"] == "seccenter: 3 new alerts (1 critical, 2 high)"
    assert mail["To"] == "csc@stadt.example, dpo@stadt.example"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_content()
    assert "seccenter found 3 new alerts (1 critical, 2 high) at or above level high in scan run 7" in body
    assert (f"[critical] 2026-03-02T08:30:00Z Ransomware note written (source ip 10.0.0.7, host fs01, "
            f"alert {alerts[-1]['id']})") in body
    assert "SSH brute force (source ip 203.0.113.9, host gw01" in body


def test_syslog_gets_one_line_with_facility_severity_and_tag(db: Database, tmp_path: Path) -> None:
    listener = syslog_socket(tmp_path / "log")
    settings = Notifications(syslog=SyslogSettings(str(tmp_path / "log"), "auth", "csc"))

    report = notify(db, settings, None, three_alerts(db), "high")

    assert report.delivered == 1
    line = listener.recv(65536).decode()
    # auth (4) * 8 + crit (2): the severity follows the highest level
    assert line.startswith("<34>csc[")
    assert "]: 3 new alerts (1 critical, 2 high) at or above high: [critical] 2026-03-02T08:30:00Z " in line
    assert "\n" not in line
    listener.close()


def test_below_the_threshold_or_nothing_new_queues_nothing(db: Database, http_server: HttpReceiver) -> None:
    settings = Notifications(webhook=WebhookSettings(f"http://127.0.0.1:{http_server.port}/hook"))

    assert notify(db, settings, None, [], "high").to_dict() == {"queued": 0, "delivered": 0, "failed": [],
                                                               "pending": 0}
    assert notify(db, settings, None, store_alerts(db, ("medium", "Port scan", {})), "high").queued == 0
    assert http_server.requests == [] and outbox_rows(db) == []


def test_failures_are_recorded_and_the_next_run_delivers_the_old_message_too(
        db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    smtp_port, http_port, address = free_port(), free_port(), tmp_path / "log"
    settings = Notifications(syslog=SyslogSettings(str(address)), smtp=smtp_settings(smtp_port),
                             webhook=WebhookSettings(f"http://127.0.0.1:{http_port}/hook", timeout=5))
    first = three_alerts(db)

    with caplog.at_level(logging.WARNING, logger="seccenter.notify"):
        down = notify(db, settings, None, first, "high")

    assert down.queued == 3 and down.delivered == 0 and down.pending == 3
    assert [failure.channel for failure in down.failed] == ["syslog", "smtp", "webhook"]
    errors = {failure.channel: failure.error for failure in down.failed}
    assert errors["syslog"].startswith(f"syslog socket {address}: ")
    assert errors["smtp"] == f"SMTP 127.0.0.1:{smtp_port}: Connection refused"
    assert errors["webhook"] == f"webhook http://127.0.0.1:{http_port}: Connection refused"
    assert all(row["attempts"] == 1 and row["last_error"] and not row["delivered"] for row in outbox_rows(db))
    assert [record.levelname for record in caplog.records] == ["WARNING"] * 3
    assert "via smtp failed: SMTP 127.0.0.1" in caplog.text

    listener, receiver = syslog_socket(address), SmtpReceiver()
    controller, http = start_smtp(receiver, smtp_port), HttpReceiver(http_port)
    try:
        second = store_alerts(db, ("critical", "Mimikatz", {"host": "dc01"}))
        up = notify(db, settings, None, second, "high")
    finally:
        controller.stop()
        http.stop()

    assert up.to_dict() == {"queued": 3, "delivered": 6, "failed": [], "pending": 0}
    assert [body["total"] for body in http.bodies()] == [3, 1]
    assert [mail["Subject"] for mail in receiver.mails()] == ["seccenter: 3 new alerts (1 critical, 2 high)",
                                                              "seccenter: 1 new alert (1 critical)"]
    lines = [listener.recv(65536).decode() for _ in range(2)]
    assert "3 new alerts" in lines[0] and "1 new alert (1 critical)" in lines[1]
    assert all(row["delivered"] and row["last_error"] is None for row in outbox_rows(db))
    listener.close()


def test_a_failing_channel_is_tried_once_per_run(db: Database) -> None:
    settings = Notifications(webhook=WebhookSettings(f"http://127.0.0.1:{free_port()}/hook", timeout=5))
    notify(db, settings, None, three_alerts(db), "high")

    report = notify(db, settings, None, store_alerts(db, ("high", "Again", {})), "high")

    assert len(report.failed) == 1 and report.pending == 2
    assert [row["attempts"] for row in outbox_rows(db)] == [2, 0]


def test_a_channel_no_longer_configured_keeps_its_messages_untried(db: Database, tmp_path: Path) -> None:
    notify(db, Notifications(webhook=WebhookSettings(f"http://127.0.0.1:{free_port()}/hook")), None,
           three_alerts(db), "high")
    listener = syslog_socket(tmp_path / "log")

    report = notify(db, Notifications(syslog=SyslogSettings(str(tmp_path / "log"))), None,
                    store_alerts(db, ("high", "Later", {})), "high")

    assert report.to_dict() == {"queued": 1, "delivered": 1, "failed": [], "pending": 1}
    assert [(row["channel"], row["attempts"], bool(row["delivered"])) for row in outbox_rows(db)] == [
        ("webhook", 1, False), ("syslog", 1, True)]
    assert b"1 new alert (1 high)" in listener.recv(65536)
    listener.close()


def test_a_message_is_given_up_after_max_attempts_and_stays_listed(db: Database) -> None:
    settings = Notifications(webhook=WebhookSettings(f"http://127.0.0.1:{free_port()}/hook"))
    notify(db, settings, None, three_alerts(db), "high")
    with write_transaction(db):
        db.execute("UPDATE notification_outbox SET attempts = ?", [outbox.MAX_ATTEMPTS - 1])

    last = notify(db, settings, None, [], "high")
    after = notify(db, settings, None, [], "high")

    assert last.failed[0].error.endswith(f"(given up after {outbox.MAX_ATTEMPTS} attempts)")
    assert last.pending == 0 and after.failed == ()
    [message] = outbox.messages(db)
    assert message["state"] == "given up" and message["attempts"] == outbox.MAX_ATTEMPTS
    assert "Connection refused" in message["last_error"]


def test_more_than_fifty_alerts_are_listed_up_to_fifty(db: Database, http_server: HttpReceiver,
                                                       smtp_server: tuple[SmtpReceiver, int]) -> None:
    receiver, port = smtp_server
    alerts = store_alerts(db, *[("high", f"Rule {n}", {}) for n in range(60)])
    settings = Notifications(smtp=smtp_settings(port),
                             webhook=WebhookSettings(f"http://127.0.0.1:{http_server.port}/hook"))

    notify(db, settings, None, alerts, "high")

    [body] = http_server.bodies()
    assert body["total"] == 60 and len(body["alerts"]) == 50 and body["more"] == 10
    assert body["alerts"][0]["rule_title"] == "Rule 59"
    text = receiver.mails()[0].get_content().replace("\r\n", "\n")
    assert text.count("[high] ") == 50 and "\nand 10 more\n" in text


def test_hostile_alert_text_cannot_add_headers_or_lines_and_sizes_stay_bounded(
        db: Database, tmp_path: Path, http_server: HttpReceiver, smtp_server: tuple[SmtpReceiver, int]) -> None:
    receiver, port = smtp_server
    huge = "A" * 100_000
    alerts = store_alerts(db, *[("critical", HOSTILE + huge, {"host": HOSTILE + huge, "src_ip": HOSTILE})
                                for _ in range(60)])
    listener = syslog_socket(tmp_path / "log")
    settings = Notifications(syslog=SyslogSettings(str(tmp_path / "log")), smtp=smtp_settings(port),
                             webhook=WebhookSettings(f"http://127.0.0.1:{http_server.port}/hook"))

    report = notify(db, settings, None, alerts, "high")

    assert report.delivered == 3
    [envelope] = receiver.envelopes
    assert envelope.rcpt_tos == ["csc@stadt.example", "dpo@stadt.example"]
    [mail] = receiver.mails()
    assert sorted(mail.keys()) == ["Content-Transfer-Encoding", "Content-Type", "Date", "From", "MIME-Version",
                                   "Message-ID", "Subject", "To"]
    assert mail["Subject"] == "seccenter: 60 new alerts (60 critical)"
    body = mail.get_content().replace("\r\n", "\n")
    assert "\x1b" not in body and "\r" not in body and "\u2028" not in body
    assert "\\x1b[31mEvil\\x1b[0m [red]boom[/red]\\x0d\\x0aBcc: victim@evil.example\\x0d\\x0a" in body
    assert len(envelope.original_content) < 64_000

    datagram = listener.recv(65536)
    assert len(datagram) <= DATAGRAM_LIMIT and datagram.endswith(" …[truncated]".encode())
    assert not any(byte < 0x20 for byte in datagram)
    listener.close()

    [(_, _, raw)] = http_server.requests
    assert len(raw) < 64_000
    listed = json.loads(raw)["alerts"][0]
    assert listed["rule_title"].startswith("\\x1b[31mEvil") and listed["rule_title"].endswith("…")
    assert len(listed["rule_title"]) == len(listed["host"]) == 200
    assert not any(ord(char) < 0x20 for char in listed["rule_title"] + listed["host"] + listed["source_ip"])


def test_starttls_required_but_not_offered_fails_clearly(db: Database,
                                                         smtp_server: tuple[SmtpReceiver, int]) -> None:
    receiver, port = smtp_server

    report = notify(db, Notifications(smtp=smtp_settings(port, starttls=True)), None, three_alerts(db), "high")

    assert report.to_dict()["failed"] == [{"channel": "smtp", "error": f"SMTP 127.0.0.1:{port}: the server does not"
                                           " offer STARTTLS (starttls: true is configured); nothing was sent"}]
    assert receiver.envelopes == [] and report.pending == 1


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602])
def test_a_password_file_others_can_read_or_change_is_refused_when_sending(
        db: Database, tmp_path: Path, smtp_server: tuple[SmtpReceiver, int], mode: int) -> None:
    receiver, port = smtp_server
    password_file = tmp_path / "smtp-password"
    password_file.write_text(SECRET + "\n")
    password_file.chmod(mode)  # loosened after the config was loaded
    settings = Notifications(smtp=smtp_settings(port, user="seccenter", password_file=password_file))

    report = notify(db, settings, None, three_alerts(db), "high")

    assert report.to_dict()["failed"] == [{"channel": "smtp", "error": f"SMTP password file refused: {password_file}"
                                           f" can be read or changed by others (mode {mode:04o}); run chmod 600"
                                           f" {password_file}"}]
    assert receiver.logins == [] and receiver.envelopes == [] and report.pending == 1
    password_file.chmod(0o600)
    assert notify(db, settings, None, [], "high").delivered == 1 and receiver.logins[-1][1] == SECRET.encode()


def test_login_reads_the_password_when_sending_and_never_reports_it(
        db: Database, tmp_path: Path, smtp_server: tuple[SmtpReceiver, int]) -> None:
    receiver, port = smtp_server
    password_file = tmp_path / "smtp-password"
    settings = Notifications(smtp=smtp_settings(port, user="seccenter", password_file=password_file))
    password_file.write_text("wrong-" + SECRET + "\n")
    password_file.chmod(0o600)

    refused = notify(db, settings, None, three_alerts(db), "high")
    [stored] = outbox.messages(db)
    password_file.write_text(SECRET + "\n")
    accepted = notify(db, settings, None, [], "high")

    [failure] = refused.failed
    assert failure.error.startswith(f"SMTP 127.0.0.1:{port}: login as seccenter refused: 535 ")
    assert SECRET not in failure.error and stored["last_error"] == failure.error
    assert accepted.delivered == 1 and len(receiver.envelopes) == 1
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN) before giving up
    assert receiver.logins[-1] == (b"seccenter", SECRET.encode())
    assert set(receiver.logins[:-1]) == {(b"seccenter", ("wrong-" + SECRET).encode())}


def test_missing_password_and_unencrypted_login_to_a_remote_host_are_failures(
        db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECCENTER_TEST_SMTP_PASSWORD", raising=False)
    alerts = three_alerts(db)
    unset = notify(db, Notifications(smtp=smtp_settings(free_port(), user="csc",
                                                        password_env="SECCENTER_TEST_SMTP_PASSWORD")),
                   None, alerts, "high")
    # checked before any connection: 192.0.2.0/24 is documentation space, never reached
    remote = notify(db, Notifications(smtp=smtp_settings(25, host="192.0.2.10", user="csc",
                                                         password_file=tmp_path / "absent")), None, [], "high")

    assert unset.failed[0].error == ("no SMTP password for user csc: environment variable "
                                     "SECCENTER_TEST_SMTP_PASSWORD is not set")
    assert remote.failed[0].error == ("SMTP 192.0.2.10:25: refusing to send the password of csc unencrypted; "
                                      "set starttls: true")


def test_webhook_errors_name_neither_header_values_nor_the_url_path(db: Database) -> None:
    failing = HttpReceiver(status=500)
    settings = Notifications(webhook=WebhookSettings(f"http://127.0.0.1:{failing.port}/hooks/T0KEN-IN-PATH?k=QS",
                                                     (("Authorization", "Bearer HEADER-SECRET"),)))
    try:
        report = notify(db, settings, None, three_alerts(db), "high")
    finally:
        failing.stop()

    assert len(failing.requests) == 1
    [failure] = report.failed
    assert failure.error == f"webhook http://127.0.0.1:{failing.port}: HTTP 500 Internal Server Error"
    stored = outbox.messages(db)[0]["last_error"]
    for secret in ("T0KEN", "QS", "HEADER-SECRET"):
        assert secret not in failure.error and secret not in stored


def test_webhook_follows_a_same_origin_307_but_no_redirect_to_another_host(db: Database) -> None:
    other = HttpReceiver()
    moving = HttpReceiver(status=307, location="/hook/v2")
    moved_away = HttpReceiver(status=302, location=f"http://127.0.0.1:{other.port}/elsewhere")
    try:
        followed = notify(db, Notifications(webhook=WebhookSettings(f"http://127.0.0.1:{moving.port}/hook")),
                          None, three_alerts(db), "high")
        refused = notify(db, Notifications(webhook=WebhookSettings(f"http://127.0.0.1:{moved_away.port}/hook")),
                         None, store_alerts(db, ("high", "Later", {})), "high")
    finally:
        for server in (other, moving, moved_away):
            server.stop()

    assert followed.delivered == 1
    assert [(path, json.loads(body)["total"]) for path, _, body in moving.requests] == [("/hook", 3),
                                                                                       ("/hook/v2", 3)]
    assert refused.failed[0].error == (f"webhook http://127.0.0.1:{moved_away.port}: HTTP 302 redirect to "
                                       f"http://127.0.0.1:{other.port} not followed; configure the address it "
                                       "redirects to")
    assert other.requests == []
