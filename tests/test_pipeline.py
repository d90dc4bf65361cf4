"""Ingest end to end on real files and a real SQLite store: incremental, exactly once, nothing lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seccenter.collect.interface import CollectOptions
from seccenter.detect.sigma import load_rules
from seccenter.pipeline import detect_paths, ingest
from seccenter.resources import sigma_rules
from seccenter.store.alerts import list_alerts
from seccenter.store.db import open_db

OPTIONS = CollectOptions(year=2026)
FAILED_ROOT = "Nov  3 10:00:0{n} srv01 sshd[1234]: Failed password for root from 203.0.113.7 port 5123{n} ssh2\n"
BENIGN = "Nov  3 10:00:0{n} srv01 CRON[99]: pam_unix(cron:session): session closed for user root\n"


@pytest.fixture(scope="module")
def rules():
    return load_rules([sigma_rules()])


def lines(template: str, count: int, start: int = 0) -> str:
    return "".join(template.format(n=n) for n in range(start, start + count))


def test_second_run_over_same_file_stores_nothing_new(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    log.write_text(lines(FAILED_ROOT, 3) + lines(BENIGN, 2))
    db = open_db(tmp_path / "s.db")
    first = ingest(db, [log], rules, options=OPTIONS)
    assert (first.total("new_events"), first.total("malformed")) == (5, 0)
    assert first.total("alerts") >= 3
    second = ingest(db, [log], rules, options=OPTIONS)
    assert (second.total("events"), second.total("new_events"), second.total("alerts")) == (0, 0, 0)
    assert second.sources[0].note == "no new data"
    assert db["events"].count == 5


def test_appended_lines_are_read_alone_with_continued_line_numbers(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    log.write_text(lines(BENIGN, 4))
    db = open_db(tmp_path / "s.db")
    ingest(db, [log], rules, options=OPTIONS)
    with log.open("a") as stream:
        stream.write(lines(FAILED_ROOT, 1, start=5))
    again = ingest(db, [log], rules, options=OPTIONS)
    assert (again.total("events"), again.total("new_events")) == (1, 1)
    (alert, *_) = list_alerts(db)
    assert alert["origin"]["line"] == 5
    assert alert["origin"]["offset"] == len(lines(BENIGN, 4).encode())


def test_rotated_file_at_same_path_is_read_from_its_start(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    log.write_text(lines(BENIGN, 3))
    db = open_db(tmp_path / "s.db")
    ingest(db, [log], rules, options=OPTIONS)
    log.rename(tmp_path / "auth.log.1")
    log.write_text(lines(FAILED_ROOT, 2))  # a new file, same offsets as the old one
    rotated = ingest(db, [log], rules, options=OPTIONS)
    assert rotated.total("new_events") == 2
    assert db["events"].count == 5


def test_copytruncate_is_detected_and_the_new_content_read(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    log.write_text(lines(BENIGN, 5))
    db = open_db(tmp_path / "s.db")
    ingest(db, [log], rules, options=OPTIONS)
    with log.open("r+") as stream:
        stream.truncate(0)
        stream.write(lines(FAILED_ROOT, 1))
    assert ingest(db, [log], rules, options=OPTIONS).total("new_events") == 1


def test_small_batches_give_same_result_as_one(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    log.write_text(lines(FAILED_ROOT, 9) + "garbage\n" + lines(BENIGN, 9))
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, [log], rules, options=OPTIONS, batch_size=2)
    assert (summary.total("new_events"), summary.total("malformed")) == (18, 1)
    assert db["events"].count == 18 and db["quarantine"].count == 1


def test_malformed_lines_are_quarantined_with_origin_and_the_rest_ingested(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    good = lines(BENIGN, 2)
    log.write_bytes(good.encode() + b"\x00\x01\xfe binary junk\n" + lines(FAILED_ROOT, 1).encode())
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, [log], rules, options=OPTIONS)
    assert (summary.total("new_events"), summary.total("malformed")) == (3, 1)
    (row,) = db["quarantine"].rows
    assert row["origin_path"] == str(log.resolve())
    assert row["origin_offset"] == len(good) and row["origin_line"] == 3
    assert row["raw"] == b"\x00\x01\xfe binary junk"
    assert "not a syslog line" in row["reason"]


def test_unknown_formats_missing_paths_and_directories(tmp_path: Path, rules) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "auth.log").write_text(lines(FAILED_ROOT, 2))
    (tmp_path / "logs" / "notes.txt").write_text("shopping list\nmilk\n")
    (tmp_path / "logs" / "empty.log").write_text("")
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, [tmp_path / "logs", tmp_path / "missing.log"], rules, options=OPTIONS)
    by_name = {Path(source.path).name: source for source in summary.sources}
    assert by_name["auth.log"].new_events == 2
    assert "format not recognised" in by_name["notes.txt"].error
    assert by_name["empty.log"].note == "empty file" and by_name["empty.log"].error is None
    assert by_name["missing.log"].error == "no such file or directory"
    assert not summary.nothing_read


def _as_unprivileged_user(function) -> None:
    """Run ``function`` in a child process that is not root (root reads any file), re-raising its failure."""
    child = os.fork()
    if child == 0:
        code = 1
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            function()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the check failed in the unprivileged child"


def test_unreadable_file_is_reported(tmp_path: Path, rules) -> None:
    tmp_path.chmod(0o755)
    log = tmp_path / "auth.log"
    log.write_text(lines(FAILED_ROOT, 1))
    log.chmod(0)

    def check() -> None:
        summary = ingest(open_db(":memory:"), [log], rules, options=OPTIONS)
        assert summary.nothing_read and summary.sources[0].error == "Permission denied"

    _as_unprivileged_user(check)


def test_fifo_is_skipped_without_blocking(tmp_path: Path, rules) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    summary = ingest(open_db(tmp_path / "s.db"), [tmp_path], rules, options=OPTIONS)
    assert "not a regular file" in summary.sources[0].error


def test_symlink_loop_in_a_directory_does_not_hang(tmp_path: Path, rules) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "auth.log").write_text(lines(FAILED_ROOT, 1))
    (tmp_path / "logs" / "loop").symlink_to(tmp_path / "logs")
    summary = ingest(open_db(tmp_path / "s.db"), [tmp_path / "logs"], rules, options=OPTIONS)
    assert summary.total("new_events") == 1


def test_detect_paths_stores_nothing_and_reports_problems(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    log.write_text(lines(FAILED_ROOT, 2))
    reports = []
    alerts = list(detect_paths([log, tmp_path / "nope"], rules, options=OPTIONS, reports=reports))
    assert {alert.rule_title for alert in alerts} >= {"SSH Login Failure for root"}
    assert alerts[0].event.origin.line == 1 and alerts[0].event.origin.path == str(log)
    assert reports[1].error == "no such file or directory"


def test_openssh_corpus_ingests_without_malformed_lines_and_alerts(tmp_path: Path, rules, corpus: Path) -> None:
    db = open_db(tmp_path / "s.db")
    log = corpus / "logs" / "OpenSSH_2k.log"
    summary = ingest(db, [log], rules)
    assert (summary.total("new_events"), summary.total("malformed")) == (2000, 0)
    assert summary.total("alerts") > 100
    assert ingest(db, [log], rules).total("new_events") == 0


def test_gzip_files_are_read_like_plain_ones_and_not_twice(tmp_path: Path, rules) -> None:
    import gzip

    log = tmp_path / "auth.log.2.gz"
    log.write_bytes(gzip.compress(lines(FAILED_ROOT, 3).encode()))
    db = open_db(tmp_path / "s.db")
    first = ingest(db, [log], rules, options=OPTIONS)
    assert (first.sources[0].format, first.total("new_events"), first.total("malformed")) == ("syslog", 3, 0)
    assert ingest(db, [log], rules, options=OPTIONS).total("new_events") == 0
    (row,) = list(db.query("SELECT origin_offset, origin_line FROM events ORDER BY id LIMIT 1"))
    assert (row["origin_offset"], row["origin_line"]) == (0, 1)


def test_truncated_gzip_keeps_what_was_readable_and_says_where_it_stopped(tmp_path: Path, rules) -> None:
    import gzip

    whole = gzip.compress(lines(FAILED_ROOT, 9).encode() * 200)
    log = tmp_path / "auth.log.gz"
    log.write_bytes(whole[: len(whole) // 2])
    db = open_db(tmp_path / "s.db")
    summary = ingest(db, [log], rules, options=OPTIONS)
    assert summary.total("new_events") > 0 and summary.total("malformed") == 1
    (reason,) = summary.sources[0].malformed_reasons
    assert reason.startswith("compressed data damaged after")
    (row,) = db["quarantine"].rows
    assert row["origin_offset"] == summary.total("new_events") * len(FAILED_ROOT.format(n=0))


def test_damaged_gzip_header_is_a_clear_error(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log.gz"
    log.write_bytes(b"\x1f\x8b" + b"\xff" * 64)
    summary = ingest(open_db(tmp_path / "s.db"), [log], rules, options=OPTIONS)
    assert summary.nothing_read and summary.sources[0].error.startswith("cannot decompress")


def test_unfinished_last_line_waits_when_following_a_growing_file(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    complete, partial = lines(BENIGN, 1), FAILED_ROOT.format(n=1)
    log.write_text(complete + partial[:30])
    db = open_db(tmp_path / "s.db")
    following = CollectOptions(year=2026, wait_for_newline=True)
    assert ingest(db, [log], rules, options=following).total("new_events") == 1
    with log.open("a") as stream:
        stream.write(partial[30:])
    after = ingest(db, [log], rules, options=following)
    assert (after.total("new_events"), after.total("malformed"), after.total("alerts")) == (1, 0, 1)


def test_static_file_last_line_without_newline_is_read(tmp_path: Path, rules) -> None:
    log = tmp_path / "auth.log"
    log.write_text(lines(BENIGN, 1) + FAILED_ROOT.format(n=1).rstrip("\n"))
    assert ingest(open_db(tmp_path / "s.db"), [log], rules, options=OPTIONS).total("new_events") == 2


def test_file_truncated_while_being_read_loses_nothing_on_the_next_run(tmp_path: Path, rules,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import seccenter.pipeline as pipeline_module

    log = tmp_path / "auth.log"
    log.write_text(lines(BENIGN, 6))
    db = open_db(tmp_path / "s.db")
    real_insert = pipeline_module.insert_events
    truncated = []

    def insert_then_truncate(db_, events, file_key):
        if not truncated:  # copytruncate happens after the first batch: the writer starts over
            truncated.append(True)
            with log.open("r+") as stream:
                stream.truncate(0)
                stream.write(lines(FAILED_ROOT, 2))
        return real_insert(db_, events, file_key)

    monkeypatch.setattr(pipeline_module, "insert_events", insert_then_truncate)
    first = ingest(db, [log], rules, options=OPTIONS, batch_size=2)
    monkeypatch.undo()
    second = ingest(db, [log], rules, options=OPTIONS)
    assert first.total("new_events") >= 2
    assert second.total("new_events") == 2 and second.total("alerts") >= 2
    failed_root_rows = list(db.query("SELECT count(*) AS n FROM events WHERE raw LIKE '%Failed password%'"))
    assert failed_root_rows[0]["n"] == 2
