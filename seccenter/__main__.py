"""``python -m seccenter``: the same as the ``seccenter`` command."""

from seccenter.cli import main

main(prog_name="seccenter")
