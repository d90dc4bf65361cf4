"""Files seccenter writes hold personal data: created 0600 (folders it creates 0700) even under a permissive umask,
and the database path refuses a symbolic link planted by another user."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from seccenter.cli import main
from seccenter.resources import examples, samples

pytestmark = pytest.mark.reliability

OTHER_UID = 65534  # nobody


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def run(runner: CliRunner, db: Path, *arguments: str) -> str:
    result = runner.invoke(main, ["--db", str(db), *arguments])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_database_and_its_wal_and_shm_files_are_private(tmp_path: Path, runner: CliRunner) -> None:
    from seccenter.store.db import open_db

    db_path = tmp_path / "seccenter.db"
    run(runner, db_path, "ingest", str(samples() / "auth.log"))
    assert mode(db_path) == 0o600
    db = open_db(db_path)  # an open writer keeps the -wal and -shm files
    db["probe"].insert({"value": 1})
    for suffix in ("", "-wal", "-shm"):
        assert mode(tmp_path / f"seccenter.db{suffix}") == 0o600, suffix
    db.close()


@pytest.mark.parametrize("fmt", ["md", "html", "json", "csv"])
def test_reports_are_private(tmp_path: Path, runner: CliRunner, fmt: str) -> None:
    db = tmp_path / "s.db"
    run(runner, db, "ropa", "import", str(examples() / "town-hall-register.yaml"))
    output = tmp_path / f"register.{fmt}"
    run(runner, db, "report", "ropa", "--format", fmt, "-o", str(output))
    assert output.stat().st_size > 0 and mode(output) == 0o600


def test_incident_reports_register_exports_and_playbook_exports_are_private(tmp_path: Path,
                                                                            runner: CliRunner) -> None:
    db = tmp_path / "s.db"
    run(runner, db, "ropa", "import", str(examples() / "town-hall-register.yaml"))
    run(runner, db, "incident", "open", "--title", "phishing at the registry office")
    written = {
        "incident.html": ("report", "incident", "1", "--format", "html"),
        "register.csv": ("ropa", "export", "--format", "csv"),
        "ransomware.cacao.json": ("playbook", "export", "--format", "cacao", "ransomware"),
    }
    for name, arguments in written.items():
        run(runner, db, *arguments, "-o", str(tmp_path / name))
        assert mode(tmp_path / name) == 0o600, name


def test_an_existing_output_file_is_replaced_by_a_private_one(tmp_path: Path, runner: CliRunner) -> None:
    db, output = tmp_path / "s.db", tmp_path / "register.md"
    output.write_text("old, world-readable")
    output.chmod(0o644)
    run(runner, db, "ropa", "import", str(examples() / "town-hall-register.yaml"))
    run(runner, db, "report", "ropa", "-o", str(output))
    assert mode(output) == 0o600 and "old, world-readable" not in output.read_text()


def test_evidence_folder_and_files_are_private(tmp_path: Path, runner: CliRunner) -> None:
    db = tmp_path / "s.db"
    run(runner, db, "incident", "open", "--title", "stolen laptop")
    evidence = tmp_path / "access.log"
    evidence.write_text("192.0.2.7 - - [05/Dec/2026:10:12:00 +0100] \"GET / HTTP/1.1\" 200 1\n")
    evidence.chmod(0o644)
    run(runner, db, "incident", "evidence", "add", "1", str(evidence))
    folder = tmp_path / "s.db.evidence"
    (copy,) = list(folder.iterdir())
    assert (mode(folder), mode(copy)) == (0o700, 0o600)


def test_the_yara_cache_folders_are_private(tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_home = tmp_path / "home" / "cache"  # does not exist yet: seccenter creates it
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    scanned = tmp_path / "scanned"
    scanned.mkdir()
    (scanned / "readme.txt").write_text("nothing to see")
    run(runner, tmp_path / "s.db", "yara", "scan", str(scanned))
    cache = cache_home / "seccenter"
    files = list(cache.iterdir())
    assert files and {mode(path) for path in files} == {0o600}
    assert (mode(cache), mode(cache_home)) == (0o700, 0o700)


def test_exports_are_private(tmp_path: Path, runner: CliRunner) -> None:
    db = tmp_path / "s.db"
    run(runner, db, "ingest", str(samples() / "auth.log"))
    for kind in ("events", "alerts"):
        output = tmp_path / f"{kind}.ndjson"
        run(runner, db, "export", kind, "-o", str(output))
        assert output.stat().st_size > 0 and mode(output) == 0o600, kind


def test_an_export_over_a_leftover_part_file_is_still_private(tmp_path: Path, runner: CliRunner) -> None:
    db, output = tmp_path / "s.db", tmp_path / "events.ndjson"
    run(runner, db, "ingest", str(samples() / "auth.log"))
    leftover = tmp_path / "events.ndjson.part"
    leftover.write_text("from an earlier, interrupted export")
    leftover.chmod(0o644)
    run(runner, db, "export", "events", "-o", str(output))
    assert mode(output) == 0o600


# --- the database path as a symbolic link ---------------------------------------------------------------------


def test_a_database_link_owned_by_another_user_is_refused(tmp_path: Path, runner: CliRunner) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a link to another user needs root")
    target = tmp_path / "elsewhere.db"
    link = tmp_path / "seccenter.db"
    link.symlink_to(target)
    os.lchown(link, OTHER_UID, OTHER_UID)
    result = runner.invoke(main, ["--db", str(link), "ingest", str(samples() / "auth.log")])
    assert result.exit_code == 2
    assert "symbolic link owned by another user" in result.output and "'--db'" in result.output
    assert not target.exists()  # nothing was created through the link


def test_a_database_link_owned_by_this_user_is_followed(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "seccenter.db"
    link = tmp_path / "seccenter.db"
    link.symlink_to(target)
    run(runner, link, "ingest", str(samples() / "auth.log"))
    assert target.is_file() and mode(target) == 0o600 and link.is_symlink()
    assert '"new_events": 0' in run(runner, link, "ingest", "--json", str(samples() / "auth.log"))
