"""Terminal output with rich. Text from events is attacker-controlled: it only ever enters rich as a
``Text`` object (never parsed as markup) with control characters made visible."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

# control characters, and the invisible ones that reorder or hide text (bidi controls as in "Trojan Source",
# zero-width characters): a file name "invoice\u202egpj.exe" must not show as "invoiceexe.jpg"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
TEXT_LIMIT = 2000
"""Characters of one free text (a note, a DPIA's description) on a detail screen; the reports hold all of it."""
LEVEL_STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan",
                "informational": "dim"}


def visible(value: Any, limit: int | None = 200) -> str:
    """Control characters (ANSI escapes included) as ``\\xNN``, bidi and zero-width characters as ``\\uNNNN``;
    long values cut with an ellipsis."""
    text = value if isinstance(value, str) else str(value)
    text = _CONTROL.sub(_escaped, text.replace("\t", " "))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(value: Any, style: str = "", limit: int | None = 200) -> Text:
    return Text(visible(value, limit), style=style)


def level_text(level: str) -> Text:
    return Text(level, style=LEVEL_STYLES.get(level, ""))


def local_time(iso: str, layout: str = "%Y-%m-%d %H:%M:%S") -> str:
    """UTC inside, the analyst's zone on screen."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime(layout)
    except ValueError:
        return iso


def _origin(origin: dict[str, Any]) -> str:
    name = origin["path"].rsplit("/", 1)[-1]
    return f"{name}:{origin['line']}" if origin.get("line") else f"{name}@{origin['offset']}"


def event_summary(fields: dict[str, Any], raw: str | bytes | None) -> str:
    """What happened, without the timestamp and host the other columns show: the message or the request."""
    if fields.get("message"):
        return str(fields["message"])
    if fields.get("cs-uri-stem"):
        query = fields.get("cs-uri-query")
        return f"{fields.get('cs-method', '')} {fields['cs-uri-stem']}{'?' + str(query) if query else ''}".strip()
    if isinstance(raw, bytes):
        return raw.decode("latin-1")
    return raw or ""


def alerts_table(alerts: Iterable[dict[str, Any]], title: str = "Alerts", stored: bool = False) -> Table:
    """Alerts as detected, or ``stored`` ones with the id and status that ``alerts ack|close`` work with."""
    table = Table(title=title, expand=True)
    if stored:
        table.add_column("id", justify="right", no_wrap=True)
    table.add_column("time", no_wrap=True)
    table.add_column("level", no_wrap=True)
    if stored:
        table.add_column("status", no_wrap=True)
    table.add_column("rule", ratio=2, min_width=20)
    table.add_column("source", no_wrap=True)
    table.add_column("event", ratio=3, min_width=20, overflow="fold")
    table.add_column("origin", no_wrap=True, overflow="ellipsis")
    for alert in alerts:
        cells: list[Any] = [local_time(alert["time"]), level_text(alert["level"])]
        if stored:
            cells = [str(alert["id"]), *cells, alert["status"]]
        table.add_row(*cells, safe(alert["rule_title"]), safe(alert.get("source_ip") or "-"),
                      safe(event_summary(alert.get("fields") or {}, alert.get("raw")), limit=160),
                      safe(_origin(alert["origin"])))
    return table


def json_text(document: Any, indent: int | None = 2) -> str:
    """One JSON document for stdout (``indent=None``: on one line). ``ensure_ascii=False`` keeps names readable,
    and json escapes C0 controls (ESC included) anyway, but it leaves DEL and the C1 controls (U+0080-U+009F,
    U+009B is a CSI) raw: some terminals act on them, so they are written as \\u escapes too (the same JSON
    value), and so are the bidi and zero-width characters that would reorder or hide what a terminal shows."""
    return _RAW_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}",
                            json.dumps(document, indent=indent, ensure_ascii=False))


def make_console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)
