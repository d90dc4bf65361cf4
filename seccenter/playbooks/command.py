"""``command`` steps: the argument list with incident fields filled in, run without a shell.

Each ``{incident.field}`` is replaced inside its own argument, so a title such as ``x; rm -rf /`` or ``$(id)``
reaches the program as one literal argument: no shell ever reads it. The program itself (argv[0]) is fixed by
the playbook. Output is kept on disk while the program runs (memory does not grow with it), and only its first
``OUTPUT_LIMIT`` characters, control characters made visible, reach the timeline."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

from seccenter.playbooks.model import DEFAULT_TIMEOUT, PLACEHOLDER, Step
from seccenter.report.terminal import visible

OUTPUT_LIMIT = 4000


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int | None  # None: did not start or timed out
    output: str
    error: str | None = None  # why it did not start or finish

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        if self.error:
            return self.error
        return f"exit code {self.exit_code}"


def command_argv(step: Step, incident: dict[str, Any]) -> tuple[str, ...]:
    """The step's arguments with ``{incident.field}`` replaced by the field's text (empty when unset)."""
    def field(match: Any) -> str:
        value = incident.get(match.group(1))
        return "" if value is None else str(value)

    return tuple(PLACEHOLDER.sub(field, arg) for arg in step.argv)


def run_command(argv: tuple[str, ...], timeout: int | None = None,
                environment: dict[str, str] | None = None) -> CommandResult:
    """Run ``argv`` (no shell, stdin closed, own process group) and capture the start of its output."""
    limit = timeout or DEFAULT_TIMEOUT
    with tempfile.TemporaryFile() as output:
        try:
            process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                       env=environment, start_new_session=True)
        except OSError as error:
            return CommandResult(argv, None, "", f"could not start {argv[0]}: {error.strerror or error}")
        try:
            exit_code: int | None = process.wait(timeout=limit)
            error_text = None
        except subprocess.TimeoutExpired:
            _kill_group(process)
            exit_code, error_text = None, f"stopped after {limit} s (timeout)"
        output.seek(0)
        head = output.read(OUTPUT_LIMIT * 4 + 1)
    text = head.decode("utf-8", errors="replace")
    cut = len(text) > OUTPUT_LIMIT or len(head) > OUTPUT_LIMIT * 4
    text = visible(text[:OUTPUT_LIMIT], limit=None)  # line breaks stay, other control characters become \xNN
    return CommandResult(argv, exit_code, text + ("\n[output cut]" if cut else ""), error_text)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the program's children too
    except OSError:
        process.kill()
    process.wait()
