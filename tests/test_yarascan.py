"""YARA file scanning: compiling (errors with file:line, the on-disk cache), walking, scanning, skip-unchanged,
storing matches as alerts, and the inputs a file server throws at it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter import pipeline
from seccenter.detect import yarascan
from seccenter.detect.filewalk import FileEntry, Skipped, WalkOptions, walk
from seccenter.detect.yara_rules import compile_rules
from seccenter.detect.yarascan import FileDigest, Finding, ProcessScanError, ScanOptions, level_of, scan_files, scan_pid
from seccenter.resources import yara_rules
from seccenter.store.alerts import list_alerts
from seccenter.store.db import open_db

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GENERATOR = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "make_workloads.py"
GOOD_RULE = 'rule good_rule { strings: $a = "needle-in-haystack" condition: $a }\n'


@pytest.fixture
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("yara") / "cache"  # outside tmp_path, which the tests scan


@pytest.fixture
def team_rules(cache_dir: Path):
    return compile_rules([yara_rules()], cache_dir)


@pytest.fixture
def db(tmp_path_factory: pytest.TempPathFactory):
    return open_db(tmp_path_factory.mktemp("store") / "store.db")


def scan(db, rules, *targets: Path, full: bool = False, **walk: object) -> pipeline.FileScanSummary:
    options = ScanOptions(threads=2)
    return pipeline.yara_scan(db, rules, list(targets), options, WalkOptions(max_size=options.max_size, **walk),
                              full=full)


def matched_paths(summary: pipeline.FileScanSummary) -> set[str]:
    return {match["path"] for match in summary.matches}


# ---- compiling -------------------------------------------------------------------------------------------------

def test_corpus_signature_base_rules_all_compile_or_are_reported(corpus: Path, cache_dir: Path) -> None:
    files = sorted((corpus / "yara").glob("*.yar"))
    compiled = compile_rules([corpus / "yara"], cache_dir)
    assert len(files) == 40
    assert len(compiled.namespaces) + len(compiled.errors) == len(files)
    # with filename/filepath/extension/filetype/owner defined, every signature-base file of the corpus loads
    assert compiled.errors == []
    assert "gen_webshells_ext_vars" in compiled.namespaces


def test_team_rules_compile_and_find_the_corpus_eicar(corpus: Path, db, team_rules) -> None:
    assert team_rules.errors == []
    assert {"eicar", "webshells", "powershell", "credentials", "mimikatz"} <= set(team_rules.namespaces)
    summary = scan(db, team_rules, corpus / "yara" / "samples")
    assert [(m["rule"], Path(m["path"]).name) for m in summary.matches] == [("EICAR_Test_File", "eicar.txt")]
    assert summary.matches[0]["strings"][0]["offset"] == 0


def test_a_bad_rule_file_is_reported_with_its_line_and_the_others_load(tmp_path: Path, cache_dir: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "good.yar").write_text(GOOD_RULE)
    (rules / "syntax.yar").write_text('rule broken {\n strings: $a = "x"\n condition: $a and\n}\n')
    (rules / "garbage.yara").write_bytes(bytes(range(256)) * 4)
    (rules / "undefined.yar").write_text('rule uses_unknown { condition: no_such_external == "x" }\n')
    (rules / "includes.yar").write_text('include "/etc/passwd"\nrule after_include { condition: true }\n')
    (rules / "notes.txt").write_text("not a rule file: ignored\n")
    compiled = compile_rules([rules, tmp_path / "missing.yar"], cache_dir)
    assert list(compiled.namespaces) == ["good"]
    errors = {Path(error.path).name: (error.line, error.reason) for error in compiled.errors}
    assert errors["syntax.yar"][0] == 4 and "syntax error" in errors["syntax.yar"][1]
    assert errors["garbage.yara"][0] == 1
    assert errors["undefined.yar"] == (1, 'undefined identifier "no_such_external"')
    assert errors["includes.yar"] == (1, "includes are disabled")
    assert errors["missing.yar"] == (None, "no such file or directory")
    assert compiled.rules is not None and [m.rule for m in compiled.rules.match(data=b"needle-in-haystack")] == [
        "good_rule"]


def test_second_compile_loads_from_the_cache_and_a_changed_rule_compiles_again(tmp_path: Path,
                                                                                cache_dir: Path) -> None:
    rule = tmp_path / "one.yar"
    rule.write_text(GOOD_RULE)
    (tmp_path / "bad.yar").write_text("rule {")
    first = compile_rules([tmp_path], cache_dir)
    second = compile_rules([tmp_path], cache_dir)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.errors == first.errors and len(second.errors) == 1
    assert second.rules is not None and second.rules.match(data=b"needle-in-haystack")
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in cache_dir.iterdir()} == {0o600}
    rule.write_text(GOOD_RULE.replace("needle-in-haystack", "other-needle"))
    third = compile_rules([tmp_path], cache_dir)
    assert not third.from_cache and third.key != first.key
    assert third.rules is not None and not third.rules.match(data=b"needle-in-haystack")


def test_a_damaged_cache_entry_is_compiled_again(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "one.yar").write_text(GOOD_RULE)
    first = compile_rules([tmp_path], cache_dir)
    (cache_dir / f"yara-{first.key}.yarc").write_bytes(b"not compiled rules")
    again = compile_rules([tmp_path], cache_dir)
    assert not again.from_cache and again.rules is not None


def test_a_cache_folder_others_can_write_is_not_used(tmp_path: Path, cache_dir: Path) -> None:
    (tmp_path / "one.yar").write_text(GOOD_RULE)
    cache_dir.mkdir(mode=0o700)
    cache_dir.chmod(0o777)
    compile_rules([tmp_path], cache_dir)
    again = compile_rules([tmp_path], cache_dir)
    assert not again.from_cache and "not private" in (again.cache_note or "")
    assert list(cache_dir.iterdir()) == []


# ---- what a file scan finds ------------------------------------------------------------------------------------

def test_externals_are_set_per_file(tmp_path: Path, db, cache_dir: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "ext.yar").write_text(
        'rule by_name { condition: filename == "upload.php" and extension == ".php" and filetype == "PHP" }\n'
        'rule by_folder { condition: filepath endswith "/www" and owner != "" }\n'
        'rule by_type { condition: filetype == "ELF" }\n'
        f'rule by_hash {{ condition: sha256 == "{hashlib.sha256(b"hello").hexdigest()}" }}\n')
    rules = compile_rules([rules_dir], cache_dir)
    assert rules.hash_externals == frozenset({"sha256"})
    www = tmp_path / "www"
    www.mkdir()
    (www / "upload.php").write_text("<?php echo 1; ?>")
    (www / "tool").write_bytes(b"\x7fELF" + bytes(60))
    (www / "greeting").write_bytes(b"hello")
    found = {(Path(m["path"]).name, m["rule"]) for m in scan(db, rules, www).matches}
    assert found == {("upload.php", "by_name"), ("upload.php", "by_folder"), ("tool", "by_folder"),
                     ("tool", "by_type"), ("greeting", "by_folder"), ("greeting", "by_hash")}


def generated_files(out: Path) -> Path:
    if not GENERATOR.is_file():
        pytest.skip(f"workload generator not found: {GENERATOR}")
    subprocess.run([sys.executable, str(GENERATOR), str(out), "--only", "files", "--scale", "0.1"], check=True,
                   capture_output=True)
    return out / "files"


def test_generated_tree_exactly_the_eicar_files_are_found(tmp_path: Path, db, cache_dir: Path,
                                                          corpus: Path) -> None:
    files = generated_files(tmp_path / "workload")
    every = sorted(str(path) for path in files.rglob("*") if path.is_file())
    # the generator's i-th file is named doc{i}/blob{i}/script{i}/noise{i} and holds EICAR when i % 37 == 0
    expected = {path for path in every if int(re.search(r"(\d+)\.\w+$", path)[1]) % 37 == 0}
    assert len(expected) >= 2 and all(EICAR in Path(path).read_bytes() for path in expected)
    rules = compile_rules([yara_rules(), corpus / "yara"], cache_dir)
    summary = scan(db, rules, files)
    assert summary.files_scanned == len(every) and summary.skipped == []
    assert summary.bytes_scanned == sum(Path(path).stat().st_size for path in every)
    assert {(m["path"], m["rule"]) for m in summary.matches} == {(path, "EICAR_Test_File") for path in expected}
    assert summary.new_alerts == len(expected)


def test_matches_are_stored_as_alerts_once_per_content(tmp_path: Path, db, team_rules) -> None:
    target = tmp_path / "share"
    target.mkdir()
    sample = target / "test.com"
    sample.write_bytes(b"prefix " + EICAR)
    first = scan(db, team_rules, target)
    assert first.new_alerts == 1
    alert, = list_alerts(db)
    assert alert["rule_id"] == "yara:eicar:EICAR_Test_File" and alert["level"] == "low"
    assert alert["source"] == "yara" and alert["origin"] == {"path": str(sample), "line": None, "offset": 7}
    assert alert["fields"]["sha256"] == first.matches[0]["sha256"]
    assert alert["fields"]["strings"][0] == {"identifier": "$eicar", "offset": 7, "length": 68,
                                             "data": "X5O!P%@AP[4\\x5cPZX54(P^)7CC)7}$EICAR-STANDARD-ANTIV"}
    assert scan(db, team_rules, target, full=True).new_alerts == 0
    sample.write_bytes(b"other prefix " + EICAR)
    assert scan(db, team_rules, target).new_alerts == 1
    assert len(list_alerts(db)) == 2


def test_levels_follow_score_severity_or_level() -> None:
    assert [level_of({"score": score}) for score in (0, 40, 60, 75, 80, 100)] == [
        "informational", "low", "medium", "medium", "medium", "high"]
    assert level_of({}) == "medium"
    assert level_of({"severity": "Critical", "score": 10}) == "critical"
    assert level_of({"level": "warning"}) == "medium"
    assert level_of({"score": "not a number"}) == "medium"


def test_extra_file_checks_run_on_the_same_read(tmp_path: Path, db, team_rules) -> None:
    seen: list[tuple[str, int]] = []

    class HashList:
        key = "hash-list-1"

        def __call__(self, path: Path, digest: FileDigest) -> list[Finding]:
            seen.append((path.name, digest.size))
            if digest.md5 == hashlib.md5(b"bad bytes").hexdigest():
                return [Finding("known_bad_hash", "hashes", meta={"score": 100}, engine="ioc")]
            return []

    (tmp_path / "bad.bin").write_bytes(b"bad bytes")
    (tmp_path / "fine.txt").write_bytes(b"fine")
    summary = pipeline.yara_scan(db, team_rules, [tmp_path], ScanOptions(threads=1), checks=[HashList()])
    assert sorted(seen) == [("bad.bin", 9), ("fine.txt", 4)]
    assert [(m["rule"], m["namespace"]) for m in summary.matches] == [("known_bad_hash", "hashes")]
    assert [(a["rule_id"], a["level"]) for a in list_alerts(db)] == [("ioc:hashes:known_bad_hash", "high")]
    assert pipeline.yara_scan(db, team_rules, [tmp_path], ScanOptions(), checks=[HashList()]).files_scanned == 0


# ---- skip unchanged --------------------------------------------------------------------------------------------

def test_unchanged_files_are_skipped_until_touched_or_full(tmp_path: Path, db, team_rules, cache_dir: Path) -> None:
    for index in range(5):
        (tmp_path / f"file{index}.txt").write_text(f"content {index}\n")
    assert scan(db, team_rules, tmp_path).files_scanned == 5
    again = scan(db, team_rules, tmp_path)
    assert (again.files_scanned, again.unchanged) == (0, 5)
    touched = tmp_path / "file3.txt"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1_000_000))
    assert scan(db, team_rules, tmp_path).files_scanned == 1
    assert scan(db, team_rules, tmp_path, full=True).files_scanned == 5
    other_rules = tmp_path.parent / "other_rules"
    other_rules.mkdir()
    (other_rules / "r.yar").write_text(GOOD_RULE)
    assert scan(db, compile_rules([other_rules], cache_dir), tmp_path).files_scanned == 5


def test_a_file_replaced_under_the_same_name_is_scanned_again(tmp_path: Path, db, team_rules) -> None:
    target = tmp_path / "share"
    target.mkdir()
    (target / "a.txt").write_text("same size 1")
    scan(db, team_rules, target)
    replacement = tmp_path / "new.txt"
    replacement.write_text("same size 2")
    stamp = (target / "a.txt").stat().st_mtime_ns
    os.utime(replacement, ns=(stamp, stamp))
    os.replace(replacement, target / "a.txt")  # same size and mtime, another inode
    assert scan(db, team_rules, target).files_scanned == 1


# ---- what a file server throws at it -----------------------------------------------------------------------------

def reasons(summary: pipeline.FileScanSummary) -> dict[str, str]:
    return {Path(item.path).name: item.reason for item in summary.skipped}


def test_fifo_socket_and_sparse_huge_file_are_skipped_with_reasons(tmp_path: Path, db, team_rules) -> None:
    os.mkfifo(tmp_path / "pipe")
    huge = tmp_path / "huge.img"
    with huge.open("wb") as stream:
        stream.truncate(4 << 30)  # 4 GiB, sparse
    (tmp_path / "fine.txt").write_text("x")
    summary = scan(db, team_rules, tmp_path)
    found = reasons(summary)
    assert "FIFO" in found["pipe"]
    assert found["huge.img"] == f"larger than the maximum size ({4 << 30} > {64 << 20} bytes)"
    assert summary.files_scanned == 1


def test_symlinks_are_not_followed_and_loops_end(tmp_path: Path, db, team_rules) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "eicar.txt").write_bytes(EICAR)
    (tree / "sub" / "loop").symlink_to(tree)
    (tree / "outside").symlink_to("/etc")
    (tree / "dangling").symlink_to(tree / "nothing")
    default = scan(db, team_rules, tree)
    assert set(reasons(default)) == {"loop", "outside", "dangling"}
    assert all("not followed" in reason for reason in reasons(default).values())
    followed = scan(db, team_rules, tree, full=True, follow_symlinks=True)
    found = reasons(followed)
    assert "loop" in found["loop"] and "out of the scanned tree" in found["outside"]
    assert "dangling" in found["dangling"]
    assert len(followed.matches) == 1


def test_exclude_and_one_filesystem(tmp_path: Path, db, team_rules) -> None:
    (tmp_path / "keep").mkdir()
    (tmp_path / "skipme").mkdir()
    (tmp_path / "keep" / "a.txt").write_bytes(EICAR)
    (tmp_path / "keep" / "b.iso").write_bytes(EICAR)
    (tmp_path / "skipme" / "c.txt").write_bytes(EICAR)
    summary = scan(db, team_rules, tmp_path, exclude=("*.iso", str(tmp_path / "skipme")), one_filesystem=True)
    assert [Path(m["path"]).name for m in summary.matches] == ["a.txt"]
    assert summary.skipped == []


def test_file_vanishing_or_unreadable_at_scan_time_is_skipped(tmp_path: Path, team_rules,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("gone.txt", "locked.txt", "fine.txt"):
        (tmp_path / name).write_bytes(EICAR)
    entries = [item for item in walk([tmp_path]) if isinstance(item, FileEntry)]
    (tmp_path / "gone.txt").unlink()
    real_open = os.open

    def refusing_open(path, flags, *args):
        if str(path).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(yarascan.os, "open", refusing_open)
    results = list(scan_files(team_rules, entries, ScanOptions(threads=2)))
    skipped = {Path(r.path).name: r.reason for r in results if isinstance(r, Skipped)}
    assert skipped == {"gone.txt": "disappeared before it was scanned", "locked.txt": "cannot open: Permission denied"}
    assert [Path(r.entry.path).name for r in results if not isinstance(r, Skipped)] == ["fine.txt"]


def test_a_file_that_changes_while_read_is_scanned_and_read_again_next_time(tmp_path: Path, db, team_rules) -> None:
    sample = tmp_path / "growing.log"
    sample.write_bytes(EICAR)
    entry, = [item for item in walk([tmp_path]) if isinstance(item, FileEntry)]
    sample.write_bytes(EICAR + b" more")  # changed between the walk and the read
    result, = scan_files(team_rules, [entry], ScanOptions(threads=1))
    assert not isinstance(result, Skipped) and result.changed and result.findings
    scan(db, team_rules, tmp_path)
    assert scan(db, team_rules, tmp_path).files_scanned == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_for_real(tmp_path: Path, db, team_rules) -> None:
    locked = tmp_path / "locked.txt"
    locked.write_bytes(EICAR)
    locked.chmod(0)
    assert reasons(scan(db, team_rules, tmp_path)) == {"locked.txt": "cannot open: Permission denied"}


def test_hostile_and_undecodable_names_are_stored_and_reported(tmp_path: Path, db, team_rules) -> None:
    names = ["\x1b[31mred\x1b[0m.txt", "[red]markup[bold].txt", "new\nline.txt", "..%2f..%2fetc.txt"]
    for name in names:
        (tmp_path / name).write_bytes(EICAR)
    raw_name = os.fsencode(tmp_path) + b"/latin1-\xe9.txt"
    with open(raw_name, "wb") as stream:
        stream.write(EICAR)
    summary = scan(db, team_rules, tmp_path)
    shown = {Path(m["path"]).name for m in summary.matches}
    assert shown == {*names, "latin1-\\xe9.txt"}
    json.dumps(summary.to_dict())  # every path is text JSON can hold
    assert len(list_alerts(db)) == 5
    assert scan(db, team_rules, tmp_path).files_scanned == 0


def test_process_memory_scan_of_a_missing_process_says_so(team_rules) -> None:
    with pytest.raises(ProcessScanError, match="no process with id"):
        scan_pid(team_rules, 2**22 + 12345)


def test_walk_reports_a_missing_target_and_keeps_going(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    items = list(walk([tmp_path / "missing", tmp_path]))
    assert items[0] == Skipped(str(tmp_path / "missing"), "no such file or directory")
    assert [Path(item.path).name for item in items[1:]] == ["a.txt"]


# ---- fuzz --------------------------------------------------------------------------------------------------------

@settings(max_examples=40)
@given(text=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_rule_file_loads_or_is_reported_never_raises(tmp_path_factory: pytest.TempPathFactory,
                                                        text: bytes) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "fuzz.yar").write_bytes(text)
    (folder / "good.yar").write_text(GOOD_RULE)
    compiled = compile_rules([folder], use_cache=False)
    assert "good" in compiled.namespaces
    assert "fuzz" in compiled.namespaces or [Path(error.path).name for error in compiled.errors] == ["fuzz.yar"]
    assert all(error.line is None or error.line >= 1 for error in compiled.errors)


@settings(max_examples=60)
@given(data=st.binary(max_size=200))
def test_match_previews_are_printable_ascii(data: bytes) -> None:
    shown = yarascan.preview(data, limit=200)
    assert shown.isascii() and shown.isprintable()
    assert shown.count("\\x") == sum(1 for byte in data if not 32 <= byte < 127 or byte == 92)
