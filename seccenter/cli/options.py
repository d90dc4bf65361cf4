"""Options that many commands share, and their parameter types."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from seccenter.collect.interface import CollectOptions
from seccenter.store.alerts import LEVELS
from seccenter.units import parse_duration


class SinceType(click.ParamType):
    """``24h``, ``7d``, ``30m`` (back from now) or an ISO date/time (local zone if none given)."""

    name = "since"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        try:
            return datetime.now(UTC) - parse_duration(text)
        except ValueError:
            pass
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is neither a duration like 24h/7d nor an ISO date", param, ctx)
        return stamp if stamp.tzinfo else stamp.astimezone()


class ZoneType(click.ParamType):
    name = "zone"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> ZoneInfo:
        try:
            return ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)", param, ctx)


def json_option(command: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")(command)


def since_option(command: Callable) -> Callable:
    return click.option("--since", type=SinceType(), help="Only alerts since a duration ago (24h, 7d) or a date.")(
        command)


def level_option(command: Callable) -> Callable:
    return click.option("--level", type=click.Choice(LEVELS), help="Only alerts of this level or higher.")(command)


def time_options(command: Callable) -> Callable:
    """RFC 3164 syslog has no year and no zone: these supply them (default: current year, local zone)."""
    command = click.option("--timezone", "zone", type=ZoneType(),
                           help="Zone of timestamps that carry none (default: this machine's zone).")(command)
    return click.option("--year", type=click.IntRange(1970, 9999),
                        help="Year of syslog timestamps that carry none (default: inferred from today).")(command)


def collect_options(zone: ZoneInfo | None, year: int | None) -> CollectOptions:
    return CollectOptions(tz=zone, year=year)


def placeholders_option(command: Callable) -> Callable:
    return click.option("--placeholders", "placeholders_file", type=click.Path(dir_okay=False, path_type=Path),
                        help="YAML mapping of %name% placeholders (Sigma's expand modifier) to their values.")(command)
