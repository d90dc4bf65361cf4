"""State shared by the commands of one invocation: where the store is, opened on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from sqlite_utils import Database

from seccenter.detect.sigma import RuleSet, load_rules, standard_pipeline
from seccenter.report.terminal import make_console, visible
from seccenter.store.db import StoreError, UnsafeStorePath, open_db
from seccenter.yamlfile import YamlFileError, read_documents


@dataclass
class AppContext:
    db_path: Path
    _db: Database | None = field(default=None, repr=False)

    def db(self) -> Database:
        if self._db is None:
            try:
                self._db = open_db(self.db_path)
            except UnsafeStorePath as error:
                raise click.BadParameter(str(error), param_hint="'--db'") from None
            except StoreError as error:
                raise click.ClickException(str(error)) from None
        return self._db


def read_placeholders(path: Path | None) -> dict[str, list[Any]] | None:
    """``--placeholders FILE``: a YAML mapping of placeholder name to a value or a list of values."""
    if path is None:
        return None
    try:
        documents = read_documents(path)
    except YamlFileError as error:
        raise click.ClickException(f"placeholders: {error}") from None
    document = documents[0] if documents else None
    if not isinstance(document, dict) or not all(
            isinstance(values, str | int | list) and all(isinstance(v, str | int) for v in
                                                          (values if isinstance(values, list) else [values]))
            for values in document.values()):
        raise click.ClickException(f"{path}: placeholders must be a mapping of name to a value or a list of values")
    return {str(name): values if isinstance(values, list) else [values] for name, values in document.items()}


def load_ruleset(paths: tuple[Path, ...] | list[Path], quiet: bool = False,
                 placeholders: dict[str, list[Any]] | None = None) -> RuleSet:
    """Rules for a run: failures are warned about on stderr; no loadable rule at all is a user error."""
    ruleset = load_rules(paths, standard_pipeline(placeholders))
    if ruleset.errors and not quiet:
        console = make_console(stderr=True)
        for error in ruleset.errors:
            console.print(f"warning: rule not loaded: {visible(str(error), limit=None)}", markup=False)
    if not ruleset.rules:
        raise click.ClickException(f"no Sigma rule could be loaded from {', '.join(map(str, paths))}")
    return ruleset
