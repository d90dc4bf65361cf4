"""Finds the bundled rules/, playbooks/, reports/ and samples whether running from a checkout or a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def bundled(name: str) -> Path:
    """``rules``, ``playbooks`` or ``reports``: inside the wheel (``_data``) or at the top of a checkout."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled folder {name!r} not found; is seccenter installed completely?")


def sigma_rules() -> Path:
    return bundled("rules") / "sigma"


def ioc_lists() -> Path:
    """The example IOC lists (signature-base format, documentation addresses and EICAR only)."""
    return bundled("rules") / "ioc"


def yara_rules() -> Path:
    return bundled("rules") / "yara"


def samples() -> Path:
    return _PACKAGE / "samples"


def report_templates() -> Path:
    """The Jinja2 templates of ``seccenter report`` (``reports/`` at the top of a checkout)."""
    return bundled("reports")


def examples() -> Path:
    """The sample register and DPIA (``examples/``), which ``seccenter demo`` loads."""
    return bundled("examples")


def playbooks_dir() -> Path:
    """The bundled incident playbooks (``playbooks/`` at the top of a checkout)."""
    return bundled("playbooks")
