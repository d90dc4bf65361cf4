"""State shared by the commands of one invocation: where the store is, opened on first use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click
from sqlite_utils import Database

from seccenter.detect.sigma import RuleSet, load_rules
from seccenter.report.terminal import make_console, visible
from seccenter.store.db import StoreError, open_db


@dataclass
class AppContext:
    db_path: Path
    _db: Database | None = field(default=None, repr=False)

    def db(self) -> Database:
        if self._db is None:
            try:
                self._db = open_db(self.db_path)
            except StoreError as error:
                raise click.ClickException(str(error)) from None
        return self._db


def load_ruleset(paths: tuple[Path, ...] | list[Path], quiet: bool = False) -> RuleSet:
    """Rules for a run: failures are warned about on stderr; no loadable rule at all is a user error."""
    ruleset = load_rules(paths)
    if ruleset.errors and not quiet:
        console = make_console(stderr=True)
        for error in ruleset.errors:
            console.print(f"warning: rule not loaded: {visible(str(error), limit=None)}", markup=False)
    if not ruleset.rules:
        raise click.ClickException(f"no Sigma rule could be loaded from {', '.join(map(str, paths))}")
    return ruleset
