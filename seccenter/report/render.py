"""Documents from Jinja2 templates (``reports/<kind>.md.j2``, ``reports/<kind>.html.j2``), JSON and CSV via the
standard library.

Every text in a document was typed by someone: HTML templates are autoescaped, Markdown goes through
``md`` (markup characters escaped), control characters are made visible everywhere, and CSV cells that a
spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from seccenter.privacy.register_csv import neutralise
from seccenter.report.i18n import LANGUAGES, translate, translate_or
from seccenter.report.terminal import json_text, visible
from seccenter.resources import report_templates

FORMATS = ("md", "html", "json", "csv")

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_MARKDOWN_LINE_START = re.compile(r"^(\s*\d*)([#+\-=]|(?<=\d)[.)])")


def md(value: Any) -> str:
    """Text for Markdown: control characters visible, line breaks as spaces, markup characters escaped."""
    text = visible("" if value is None else value, limit=None)
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    return _MARKDOWN_LINE_START.sub(lambda match: f"{match.group(1)}\\{match.group(2)}", escaped)


def md_block(value: Any) -> str:
    """Multi-line text for Markdown: each line escaped, lines kept as hard line breaks."""
    return "  \n".join(md(line) for line in str(value or "").splitlines() if line.strip())


def text(value: Any) -> str:
    """Text for HTML (autoescaping does the rest): control characters visible."""
    return visible("" if value is None else value, limit=None)


@dataclass(frozen=True)
class Document:
    """What a report kind hands to the renderer: the template (``kind``), the template's variables, the JSON
    document, and the CSV table (header keys translated, rows of cells), if the kind has one."""

    kind: str
    context: Mapping[str, Any]
    data: Any
    csv_header: Sequence[str] = ()
    csv_rows: Sequence[Sequence[Any]] = field(default_factory=list)


@lru_cache(maxsize=4)
def _environment(folder: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters.update(md=md, md_block=md_block, text=text)
    return environment


def render(document: Document, fmt: str, lang: str, templates: Path | None = None) -> str:
    """The document as ``fmt`` (md, html, json, csv) in ``lang`` (de, en)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    if fmt == "json":
        return json_text(document.data) + "\n"
    if fmt == "csv":
        if not document.csv_header:
            raise ValueError(f"the {document.kind} report has no CSV form")
        stream = io.StringIO()
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow([translate(key, lang) for key in document.csv_header])
        for row in document.csv_rows:
            writer.writerow([neutralise(visible(_cell(cell, lang), limit=None)) for cell in row])
        return stream.getvalue()
    if fmt not in ("md", "html"):
        raise ValueError(f"unknown format {fmt!r}")
    environment = _environment(templates or report_templates())
    template = environment.get_template(f"{document.kind}.{fmt}.j2")
    return template.render(**document.context, **_helpers(lang))


def _cell(value: Any, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(_cell(item, lang) for item in value)
    return str(value)


def _helpers(lang: str) -> dict[str, Any]:
    def t(key: str) -> str:
        return translate(key, lang)

    def measure(category: str) -> str:
        return translate_or(f"measure.{category}", lang, category.replace("_", " "))

    return {"lang": lang, "t": t, "measure": measure, "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}

