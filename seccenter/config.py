"""The configuration file of ``seccenter scan``: what to read, with which rules, whom to tell, how long to keep.

Read with the project's YAML loader (safe, duplicate keys refused); every problem carries ``file:line``, an
unknown key is named with the closest known one. All problems of a file are collected before one
``ConfigError`` is raised, so a user fixes them in one go. Relative paths count from the config file's folder.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seccenter.collect.packets.flows import DEFAULT_PAYLOAD_LIMIT
from seccenter.collect.registry import FORMAT_NAMES
from seccenter.detect.yarascan import DEFAULT_MAX_SIZE, DEFAULT_TIMEOUT
from seccenter.privacy.deadlines import DEFAULT_ZONE
from seccenter.resources import sigma_rules, yara_rules
from seccenter.secretfile import SecretFileError, check_secret_mode, read_secret
from seccenter.store.alerts import LEVELS
from seccenter.units import parse_duration, parse_size
from seccenter.yamlfile import LineDict, Problem, SourceLocation, YamlFileError, read_documents

BUNDLED = "bundled"
"""In a rule list: the rules shipped with seccenter."""
NIS2_CLASSES = ("essential", "important", "none")
SYSLOG_FACILITIES = ("user", "daemon", "auth", "authpriv", "security", "local0", "local1", "local2", "local3",
                     "local4", "local5", "local6", "local7")
DEFAULT_THRESHOLD = "high"
DEFAULT_RETENTION = timedelta(days=90)
MAX_PASSWORD_BYTES = 4096
T = TypeVar("T")


class ConfigError(Exception):
    """The file cannot be used; ``problems`` lists every reason with its file:line."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class LogSource:
    pattern: str
    """A file, a folder or a glob (``/var/log/nginx/*.log``), expanded at each run."""
    format: str | None = None
    timezone: ZoneInfo | None = None
    """Zone of RFC 3164 timestamps, which carry none (default: the organisation's zone)."""
    year: int | None = None


@dataclass(frozen=True)
class InterfaceSource:
    name: str
    seconds: float
    filter: str | None = None


@dataclass(frozen=True)
class YaraTarget:
    paths: tuple[Path, ...]
    rules: tuple[Path, ...]
    exclude: tuple[str, ...] = ()
    max_size: int = DEFAULT_MAX_SIZE
    timeout: int = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Sources:
    logs: tuple[LogSource, ...] = ()
    pcaps: tuple[Path, ...] = ()
    interface: InterfaceSource | None = None
    yara: tuple[YaraTarget, ...] = ()
    ioc: tuple[Path, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.logs or self.pcaps or self.interface or self.yara)


@dataclass(frozen=True)
class RuleSets:
    sigma: tuple[Path, ...] = ()
    yara: tuple[Path, ...] = ()
    placeholders: Path | None = None
    payload_scan: bool = True
    payload_limit: int = DEFAULT_PAYLOAD_LIMIT


@dataclass(frozen=True)
class SyslogSettings:
    address: str = "/dev/log"
    facility: str = "local0"
    tag: str = "seccenter"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 25
    starttls: bool = False
    user: str | None = None
    password_file: Path | None = None
    password_env: str | None = None
    timeout: float = 30.0

    def password(self) -> str | None:
        """Read at sending time, so a rotated secret is picked up and never sits in the parsed config; a password
        file that group or others can read or change is refused (``SecretFileError``)."""
        if self.password_file is not None:
            return read_secret(self.password_file, MAX_PASSWORD_BYTES, what="password").decode("utf-8").strip()
        if self.password_env is not None:
            return os.environ.get(self.password_env)
        return None


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 10.0


@dataclass(frozen=True)
class Notifications:
    syslog: SyslogSettings | None = None
    smtp: SmtpSettings | None = None
    webhook: WebhookSettings | None = None

    @property
    def channels(self) -> list[str]:
        return [name for name in ("syslog", "smtp", "webhook") if getattr(self, name) is not None]


@dataclass(frozen=True)
class Retention:
    events: timedelta | None = None
    alerts: timedelta | None = None
    quarantine: timedelta | None = None

    @property
    def any(self) -> bool:
        return any((self.events, self.alerts, self.quarantine))


@dataclass(frozen=True)
class Organisation:
    actor: str | None = None
    nis2: str | None = None
    timezone: ZoneInfo = DEFAULT_ZONE

    def environment(self) -> dict[str, str]:
        """The settings the other commands read from the environment (audit actor, NIS2 class, display zone)."""
        values = {"SECCENTER_TIMEZONE": self.timezone.key}
        if self.actor:
            values["SECCENTER_ACTOR"] = self.actor
        if self.nis2:
            values["SECCENTER_NIS2"] = self.nis2
        return values


@dataclass(frozen=True)
class Config:
    path: Path
    database: Path | None = None
    organisation: Organisation = field(default_factory=Organisation)
    sources: Sources = field(default_factory=Sources)
    rules: RuleSets = field(default_factory=RuleSets)
    threshold: str = DEFAULT_THRESHOLD
    notifications: Notifications = field(default_factory=Notifications)
    retention: Retention = field(default_factory=Retention)
    pseudonymisation_key_file: Path | None = None


class _Reader:
    """Walks the parsed YAML, converting values and collecting problems with their lines."""

    def __init__(self, path: Path) -> None:
        self.file = path
        self.base = path.resolve().parent
        self.problems: list[Problem] = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(SourceLocation(str(self.file), line), message))

    def section(self, parent: LineDict, key: str, allowed: tuple[str, ...], where: str) -> LineDict | None:
        """``parent[key]`` as a mapping with only ``allowed`` keys (None when absent or not a mapping)."""
        if key not in parent or parent[key] is None:
            return None
        value = parent[key]
        if not isinstance(value, LineDict):
            self.problem(parent.key_lines[key], f"{where} must be a mapping, not {_kind(value)}")
            return None
        self.keys(value, allowed, where)
        value.line = parent.key_lines[key]  # a problem with the section as a whole points at its name
        return value

    def keys(self, mapping: LineDict, allowed: tuple[str, ...], where: str) -> None:
        for key in mapping:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(allowed)})"
            self.problem(mapping.key_lines[key], f"unknown key {key!r} in {where}{hint}")

    def value(self, mapping: LineDict, key: str, convert: Callable[[Any], T], where: str, default: T) -> T:
        if key not in mapping:
            return default
        try:
            return convert(mapping[key])
        except ValueError as error:
            self.problem(mapping.key_lines[key], f"{where}.{key}: {error}" if where else f"{key}: {error}")
            return default

    def required(self, mapping: LineDict, key: str, convert: Callable[[Any], T], where: str) -> T | None:
        if key not in mapping or mapping[key] is None:
            self.problem(mapping.line, f"{where} needs {key!r}")
            return None
        return self.value(mapping, key, convert, where, None)

    def items(self, mapping: LineDict, key: str, where: str) -> list[tuple[Any, int | None]]:
        """The entries of a list (a single value counts as a list of one), each with its line."""
        if key not in mapping or mapping[key] is None:
            return []
        value, line = mapping[key], mapping.key_lines[key]
        if isinstance(value, LineDict):
            self.problem(line, f"{where}.{key} must be a list, not a mapping")
            return []
        entries = value if isinstance(value, list) else [value]
        return [(entry, entry.line if isinstance(entry, LineDict) else line) for entry in entries]

    def item(self, value: Any, line: int | None, convert: Callable[[Any], T], where: str) -> T | None:
        """One list entry converted, or None with the problem recorded."""
        try:
            return convert(value)
        except ValueError as error:
            self.problem(line, f"{where}: {error}")
            return None

    def path(self, value: Any) -> Path:
        text = _text(value)
        return Path(os.path.expanduser(text)) if os.path.isabs(os.path.expanduser(text)) else self.base / text

    def rule_paths(self, value: Any, bundled: Path) -> Path:
        return bundled if value == BUNDLED else self.path(value)


def _kind(value: Any) -> str:
    return {type(None): "nothing", dict: "a mapping", LineDict: "a mapping", list: "a list", str: "text",
            bool: "true/false", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected text, got {_kind(value) if value != '' else 'empty text'}")
    if any(ord(char) < 32 for char in value):
        raise ValueError("control characters are not allowed")
    return value.strip()


def _year(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1970 <= value <= 9999:
        raise ValueError(f"expected a year from 1970 to 9999, got {value!r}")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_kind(value)}")
    return value


def _number(low: float, high: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"expected a number from {low:g} to {high:g}, got {value!r}")
        return value
    return convert


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            close = difflib.get_close_matches(str(value), choices, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}{hint}")
        return value
    return convert


def _duration(value: Any) -> timedelta:
    return parse_duration(_text(value) if not isinstance(value, int) else str(value))


def _zone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_text(value))
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name that is a folder or too long for a file
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None


def _env_name(value: Any) -> str:
    text = _text(value)
    if not text.replace("_", "").isalnum():
        raise ValueError(f"{text!r} is not an environment variable name")
    return text


def _header(name: str, value: Any) -> tuple[str, str]:
    text = value if isinstance(value, str) else None
    if text is None or not name or any(char in name for char in ":\r\n ") or any(c in text for c in "\r\n\0"):
        raise ValueError(f"header {name!r} needs a one-line text value")
    return name, text


_TOP = ("database", "organisation", "sources", "rules", "threshold", "notifications", "retention",
        "pseudonymisation")


def load_config(path: Path) -> Config:
    """Read and check the file; raises ``ConfigError`` with every problem found."""
    reader = _Reader(path)
    try:
        documents = read_documents(path)
    except YamlFileError as error:
        raise ConfigError([Problem(error.location, error.reason)]) from None
    if len(documents) != 1 or not isinstance(documents[0], LineDict):
        raise ConfigError([Problem(SourceLocation(str(path), 1), "the config file must hold one mapping "
                                                                 f"(keys: {', '.join(_TOP)})")])
    top: LineDict = documents[0]
    reader.keys(top, _TOP, "the config file")
    organisation = _organisation(reader, top)
    rules = _rules(reader, top)
    config = Config(
        path=path,
        database=reader.value(top, "database", reader.path, "", None),
        organisation=organisation,
        sources=_sources(reader, top, organisation, rules.yara),
        rules=rules,
        threshold=reader.value(top, "threshold", _choice(LEVELS), "", DEFAULT_THRESHOLD),
        notifications=_notifications(reader, top),
        retention=_retention(reader, top),
        pseudonymisation_key_file=_pseudonymisation(reader, top),
    )
    if not reader.problems and config.sources.empty:
        reader.problem(top.key_lines.get("sources", top.line), "no source configured (sources: logs, pcaps, "
                                                               "interface, yara)")
    if reader.problems:
        raise ConfigError(sorted(reader.problems, key=lambda problem: problem.location.line or 0))
    return config


def _organisation(reader: _Reader, top: LineDict) -> Organisation:
    section = reader.section(top, "organisation", ("actor", "nis2", "timezone"), "organisation")
    if section is None:
        return Organisation()
    return Organisation(actor=reader.value(section, "actor", _text, "organisation", None),
                        nis2=reader.value(section, "nis2", _choice(NIS2_CLASSES), "organisation", None),
                        timezone=reader.value(section, "timezone", _zone, "organisation", DEFAULT_ZONE))


def _sources(reader: _Reader, top: LineDict, organisation: Organisation, default_rules: tuple[Path, ...]) -> Sources:
    section = reader.section(top, "sources", ("logs", "pcaps", "interface", "yara", "ioc"), "sources")
    if section is None:
        return Sources()
    logs = []
    for entry, line in reader.items(section, "logs", "sources"):
        if not isinstance(entry, LineDict):
            entry = LineDict(path=entry)
            entry.line, entry.key_lines = line, {"path": line}
        reader.keys(entry, ("path", "format", "timezone", "year"), "a log source")
        pattern = reader.required(entry, "path", reader.path, "sources.logs")
        if pattern is not None:
            logs.append(LogSource(str(pattern),
                                  reader.value(entry, "format", _choice(FORMAT_NAMES), "sources.logs", None),
                                  reader.value(entry, "timezone", _zone, "sources.logs", organisation.timezone),
                                  reader.value(entry, "year", _year, "sources.logs", None)))
    pcaps = [reader.item(entry, line, reader.path, "sources.pcaps")
             for entry, line in reader.items(section, "pcaps", "sources")]
    interface = None
    nic = reader.section(section, "interface", ("name", "seconds", "filter"), "sources.interface")
    if nic is not None:
        name = reader.required(nic, "name", _text, "sources.interface")
        seconds = reader.required(nic, "seconds", _number(1, 86_400), "sources.interface")
        if name is not None and seconds is not None:
            interface = InterfaceSource(name, float(seconds),
                                        reader.value(nic, "filter", _text, "sources.interface", None))
    yara = []
    for entry, line in reader.items(section, "yara", "sources"):
        if not isinstance(entry, LineDict):
            reader.problem(line, "sources.yara: each target is a mapping with 'paths' (and optional 'rules', "
                                 "'exclude', 'max_size', 'timeout')")
            continue
        reader.keys(entry, ("paths", "rules", "exclude", "max_size", "timeout"), "a YARA target")
        paths = [reader.item(item, item_line, reader.path, "sources.yara.paths")
                 for item, item_line in reader.items(entry, "paths", "sources.yara")]
        if not paths:
            reader.problem(entry.line, "a YARA target needs 'paths': a list of files or folders")
        rules = [reader.item(item, item_line, lambda value: reader.rule_paths(value, yara_rules()),
                             "sources.yara.rules") for item, item_line in reader.items(entry, "rules", "sources.yara")]
        excludes = [reader.item(item, item_line, _text, "sources.yara.exclude")
                    for item, item_line in reader.items(entry, "exclude", "sources.yara")]
        if not paths or None in paths or None in rules or None in excludes:
            continue
        yara.append(YaraTarget(tuple(paths), tuple(rules) or default_rules, tuple(excludes),
                               reader.value(entry, "max_size", parse_size, "sources.yara", DEFAULT_MAX_SIZE),
                               int(reader.value(entry, "timeout", _number(1, 3600), "sources.yara",
                                                DEFAULT_TIMEOUT))))
    ioc = [reader.item(entry, line, reader.path, "sources.ioc") for entry, line in reader.items(section, "ioc",
                                                                                                "sources")]
    return Sources(tuple(logs), tuple(p for p in pcaps if p), interface, tuple(yara), tuple(p for p in ioc if p))


def _rule_list(reader: _Reader, top: LineDict, key: str, bundled: Path) -> list[Path]:
    section = top.get("rules")
    if not isinstance(section, LineDict) or key not in section:
        return [bundled]
    entries = reader.items(section, key, "rules")
    if not entries:
        reader.problem(section.key_lines[key], f"rules.{key} is empty; name folders or files of rules, or "
                                               f"{BUNDLED!r} for the rules shipped with seccenter")
    paths = [reader.item(entry, line, lambda value: reader.rule_paths(value, bundled), f"rules.{key}")
             for entry, line in entries]
    return [path for path in paths if path is not None]


def _rules(reader: _Reader, top: LineDict) -> RuleSets:
    section = reader.section(top, "rules", ("sigma", "yara", "placeholders", "payload_scan", "payload_limit"),
                             "rules")
    sigma = tuple(_rule_list(reader, top, "sigma", sigma_rules()))
    yara = tuple(_rule_list(reader, top, "yara", yara_rules()))
    if section is None:
        return RuleSets(sigma, yara)
    return RuleSets(sigma, yara, reader.value(section, "placeholders", reader.path, "rules", None),
                    reader.value(section, "payload_scan", _flag, "rules", True),
                    reader.value(section, "payload_limit", parse_size, "rules", DEFAULT_PAYLOAD_LIMIT))


def _notifications(reader: _Reader, top: LineDict) -> Notifications:
    section = reader.section(top, "notifications", ("syslog", "smtp", "webhook"), "notifications")
    if section is None:
        return Notifications()
    syslog = None
    if section.get("syslog") is True:
        syslog = SyslogSettings()
    elif section.get("syslog") is not False:
        where = "notifications.syslog"
        entry = reader.section(section, "syslog", ("address", "facility", "tag"), where)
        if entry is not None:
            syslog = SyslogSettings(reader.value(entry, "address", _text, where, "/dev/log"),
                                    reader.value(entry, "facility", _choice(SYSLOG_FACILITIES), where, "local0"),
                                    reader.value(entry, "tag", _text, where, "seccenter"))
    return Notifications(syslog, _smtp(reader, section), _webhook(reader, section))


def _smtp(reader: _Reader, section: LineDict) -> SmtpSettings | None:
    entry = reader.section(section, "smtp", ("host", "port", "starttls", "user", "password_file", "password_env",
                                             "password", "from", "to", "timeout"), "notifications.smtp")
    if entry is None:
        return None
    if "password" in entry:
        reader.problem(entry.key_lines["password"], "notifications.smtp: the password is never written into the "
                                                    "config file; use password_file (mode 0600) or password_env")
    host = reader.required(entry, "host", _text, "notifications.smtp")
    sender = reader.required(entry, "from", _address, "notifications.smtp")
    recipients = [reader.item(item, line, _address, "notifications.smtp.to")
                  for item, line in reader.items(entry, "to", "notifications.smtp")]
    if not recipients:
        reader.problem(entry.line, "notifications.smtp needs 'to': one or more addresses")
    password_file = reader.value(entry, "password_file", reader.path, "notifications.smtp", None)
    password_env = reader.value(entry, "password_env", _env_name, "notifications.smtp", None)
    user = reader.value(entry, "user", _text, "notifications.smtp", None)
    if password_file and password_env:
        reader.problem(entry.key_lines["password_env"], "notifications.smtp: give password_file or password_env, "
                                                        "not both")
    if password_file:
        try:
            check_secret_mode(password_file, password_file.stat().st_mode)
        except SecretFileError as error:
            reader.problem(entry.key_lines["password_file"], f"notifications.smtp.password_file: {error}")
        except OSError:
            pass  # a file that is not there yet is a delivery failure when sending, reported then
    if (password_file or password_env) and not user:
        reader.problem(entry.line, "notifications.smtp: a password needs 'user'")
    starttls = reader.value(entry, "starttls", _flag, "notifications.smtp", False)
    port = int(reader.value(entry, "port", _number(1, 65535), "notifications.smtp", 587 if starttls else 25))
    timeout = float(reader.value(entry, "timeout", _number(1, 600), "notifications.smtp", 30.0))
    if host is None or sender is None or not recipients or None in recipients:
        return None
    return SmtpSettings(host, sender, tuple(r for r in recipients if r), port, starttls, user, password_file,
                        password_env, timeout)


def _address(value: Any) -> str:
    text = _text(value)
    if "@" not in text or any(char in text for char in " <>,;"):
        raise ValueError(f"{text!r} is not a plain e-mail address (name@example.org)")
    return text


def _webhook(reader: _Reader, section: LineDict) -> WebhookSettings | None:
    entry = reader.section(section, "webhook", ("url", "headers", "timeout"), "notifications.webhook")
    if entry is None:
        return None
    url = reader.required(entry, "url", _url, "notifications.webhook")
    raw = entry.get("headers") or LineDict()
    if not isinstance(raw, LineDict):
        reader.problem(entry.key_lines["headers"], "notifications.webhook.headers must be a mapping of name to value")
        raw = LineDict()
    headers = [reader.item(value, raw.key_lines[name], lambda v, name=name: _header(str(name), v),
                           "notifications.webhook") for name, value in raw.items()]
    timeout = float(reader.value(entry, "timeout", _number(1, 600), "notifications.webhook", 10.0))
    return WebhookSettings(url, tuple(h for h in headers if h), timeout) if url else None


def _url(value: Any) -> str:
    text = _text(value)
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError(f"{text!r} is not an http:// or https:// address")
    return text


def _retention(reader: _Reader, top: LineDict) -> Retention:
    section = reader.section(top, "retention", ("events", "alerts", "quarantine"), "retention")
    if section is None:
        return Retention()
    return Retention(*(reader.value(section, key, _duration, "retention", None)
                       for key in ("events", "alerts", "quarantine")))


def _pseudonymisation(reader: _Reader, top: LineDict) -> Path | None:
    section = reader.section(top, "pseudonymisation", ("key_file",), "pseudonymisation")
    return reader.value(section, "key_file", reader.path, "pseudonymisation", None) if section else None
