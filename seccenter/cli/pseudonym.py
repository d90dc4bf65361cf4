from __future__ import annotations

from pathlib import Path

import click

from seccenter.privacy.pseudonym import PseudonymError, write_new_key


@click.group("pseudonym")
def group() -> None:
    """Keys for pseudonymised exports (`seccenter export ... --pseudonymise --key-file FILE`)."""


@group.command("keygen")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def keygen(path: Path) -> None:
    """Create a new random key in FILE (mode 0600); an existing file is never overwritten.

    The same key gives the same pseudonyms in every export, so keep it (and keep it secret: with it, a guessed
    address or name can be checked).

    Example: seccenter pseudonym keygen /etc/seccenter/pseudonym.key
    """
    try:
        write_new_key(path)
    except PseudonymError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"new key written to {click.format_filename(path)} (mode 0600)")
