"""One analyst at a terminal, for ``test_concurrency.py``: run one seccenter command again and again until a deadline
and print, as one JSON document, how many runs there were and every run that failed with its output.

Usage: python cli_writer.py DB SECONDS PAUSE ITEMS ARG...

Each run goes through the CLI as a typed command does (click parses, the command opens the store anew); ``{n}`` in
an argument is the run's number and ``{item}`` one of ITEMS (comma-separated, taken in turn); PAUSE seconds pass
between runs. Runs are made in this one process so that a writer makes many writes a second instead of one per
interpreter start.
"""

from __future__ import annotations

import json
import sys
import time

from click.testing import CliRunner

from seccenter.cli import main


def write_until(db: str, seconds: float, pause: float, items: list[str], template: list[str]) -> dict[str, object]:
    runner = CliRunner()
    deadline = time.monotonic() + seconds
    runs, slowest, failed = 0, 0.0, []
    while time.monotonic() < deadline:
        args = [part.format(n=runs, item=items[runs % len(items)]) for part in template]
        began = time.monotonic()
        result = runner.invoke(main, ["--db", db, *args])
        slowest = max(slowest, time.monotonic() - began)
        if result.exit_code != 0:
            failed.append({"args": args, "exit_code": result.exit_code, "output": result.output,
                           "exception": repr(result.exception)})
        runs += 1
        time.sleep(pause)
    return {"runs": runs, "failed": failed, "slowest": round(slowest, 3)}


if __name__ == "__main__":
    db, seconds, pause, items, *template = sys.argv[1:]
    print(json.dumps(write_until(db, float(seconds), float(pause), items.split(","), template)))
