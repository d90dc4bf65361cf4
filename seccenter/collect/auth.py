"""auth.log semantics: fields for sshd, sudo, su, useradd/groupadd and PAM messages.

Each program has an ordered list of (pattern, constant fields); the first pattern that matches adds its
named groups and constants. Names follow the Linux usage in SigmaHQ rules where there is one
(``user``, ``src_ip``), and are otherwise plain (``target_user``, ``outcome``, ``action``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

Pattern = tuple[re.Pattern[str], dict[str, str]]


def _patterns(*specs: tuple[str, dict[str, str]]) -> list[Pattern]:
    return [(re.compile(regex), constants) for regex, constants in specs]


_PAM = _patterns(
    (r"^pam_unix\((?P<pam_service>[^:)]+):auth\): authentication failure;"
     r"(?:.*? ruser=(?P<ruser>\S*))?(?:.*? rhost=(?P<rhost>\S*))?(?:.*? user=(?P<user>\S+))?",
     {"outcome": "failure", "action": "authentication"}),
    (r"^pam_unix\((?P<pam_service>[^:)]+):auth\): check pass; user unknown",
     {"outcome": "failure", "action": "unknown_user"}),
    (r"^pam_unix\((?P<pam_service>[^:)]+):session\): session (?P<session>opened|closed) for user "
     r"(?P<user>[^\s(]+)(?:\(uid=\d+\))?(?: by (?P<by_user>\S*?)\(uid=\d+\))?",
     {"action": "session"}),
    (r"^PAM (?P<attempts>\d{1,6}) more authentication failures?;(?:.*? rhost=(?P<rhost>\S*))?"
     r"(?:.*? user=(?P<user>\S+))?",
     {"outcome": "failure", "action": "authentication"}),
    (r"^authentication failure;(?:.*? ruser=(?P<ruser>\S*))?(?:.*? rhost=(?P<rhost>\S*))?"
     r"(?:.*? user=(?P<user>\S+))?",
     {"outcome": "failure", "action": "authentication"}),
)

# User names are attacker-chosen and may contain " from 1.2.3.4 port 1": the user group is greedy and the
# address is the last one before the fixed end of the message.
_SSH_TAIL = r"(?: ssh2(?:: .*)?)?(?: \[preauth\])?$"

_SSHD = _patterns(
    (r"^Failed (?P<auth_method>\S+) for (?P<invalid_user>invalid user )?(?P<user>.*) from (?P<src_ip>[^\s\[]+) "
     r"port (?P<src_port>\d{1,5})" + _SSH_TAIL, {"outcome": "failure", "action": "login"}),
    (r"^Accepted (?P<auth_method>\S+) for (?P<user>.*) from (?P<src_ip>[^\s\[]+) "
     r"port (?P<src_port>\d{1,5})" + _SSH_TAIL,
     {"outcome": "success", "action": "login"}),
    (r"^Invalid user (?P<user>.*) from (?P<src_ip>[^\s\[]+)(?: port (?P<src_port>\d{1,5}))?$",
     {"outcome": "failure", "action": "invalid_user"}),
    (r"^input_userauth_request: invalid user (?P<user>.*?) \[preauth\]",
     {"outcome": "failure", "action": "invalid_user"}),
    (r"^error: maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*) from "
     r"(?P<src_ip>[^\s\[]+) port (?P<src_port>\d{1,5})" + _SSH_TAIL, {"outcome": "failure", "action": "max_attempts"}),
    (r"^reverse mapping checking getaddrinfo for (?P<src_host>\S+) \[(?P<src_ip>[^\]]+)\] failed",
     {"action": "reverse_mapping_failed"}),
    (r"^(?:error: )?Received disconnect from (?P<src_ip>\S+?)(?: port (?P<src_port>\d{1,5}))?:",
     {"action": "disconnect"}),
    (r"^Disconnected from (?:(?:invalid |authenticating )?user (?P<user>.*) )?(?P<src_ip>[^\s\[]+) "
     r"port (?P<src_port>\d{1,5})" + _SSH_TAIL, {"action": "disconnect"}),
    (r"^Connection closed by (?:invalid |authenticating )?user (?P<user>.*) (?P<src_ip>[^\s\[]+) "
     r"port (?P<src_port>\d{1,5})" + _SSH_TAIL, {"action": "disconnect"}),
    (r"^Connection closed by (?P<src_ip>[^\s\[]+)(?: port (?P<src_port>\d{1,5}))?" + _SSH_TAIL,
     {"action": "disconnect"}),
    (r"^Disconnecting(?: (?:invalid|authenticating) user (?P<user>\S+) (?P<src_ip>[^\s\[]+) "
     r"port (?P<src_port>\d{1,5}))?"
     r": Too many authentication failures(?: for (?:invalid user )?(?P<user2>.*?))?(?: \[preauth\])?$",
     {"outcome": "failure", "action": "max_attempts"}),
    (r"^Did not receive identification string from (?P<src_ip>[^\s\[]+)", {"action": "no_identification"}),
)

_SUDO = _patterns(
    (r"^\s*(?P<user>\S+) : (?:(?P<sudo_error>[^;]*?) ; )?TTY=(?P<tty>\S+) ; PWD=(?P<pwd>.*?) ; "
     r"USER=(?P<target_user>\S+) ;(?: [A-Z]+=\S* ;)* COMMAND=(?P<command>.*)$", {"action": "sudo"}),
)

_SU = _patterns(
    (r"^FAILED SU \(to (?P<target_user>\S+)\) (?P<user>\S+) on (?P<tty>\S+)",
     {"outcome": "failure", "action": "su"}),
    (r"^FAILED su for (?P<target_user>\S+) by (?P<user>\S+)", {"outcome": "failure", "action": "su"}),
    (r"^Successful su for (?P<target_user>\S+) by (?P<user>\S+)", {"outcome": "success", "action": "su"}),
    (r"^\(to (?P<target_user>\S+)\) (?P<user>\S+) on (?P<tty>\S+)", {"outcome": "success", "action": "su"}),
)

_USERADD = _patterns(
    (r"^new user: name=(?P<target_user>[^,]+), UID=(?P<uid>\d{1,10}), GID=(?P<gid>\d{1,10}), home=(?P<home>[^,]*), "
     r"shell=(?P<shell>[^,\s]*)", {"action": "user_created"}),
    (r"^new group: name=(?P<group>[^,]+), GID=(?P<gid>\d{1,10})", {"action": "group_created"}),
)

_GROUPADD = _patterns(
    (r"^(?:group added to /etc/group|new group): name=(?P<group>[^,]+), GID=(?P<gid>\d{1,10})",
     {"action": "group_created"}),
)

_USERMOD = _patterns(
    (r"^add '(?P<target_user>[^']+)' to (?:shadow )?group '(?P<group>[^']+)'", {"action": "group_member_added"}),
)

_BY_PROGRAM: dict[str, list[Pattern]] = {
    "sshd": _SSHD, "sudo": _SUDO, "su": _SU, "useradd": _USERADD, "groupadd": _GROUPADD, "usermod": _USERMOD,
}

_INT_FIELDS = ("src_port", "uid", "gid", "attempts")


_PROGRAM_ALIASES = {"sshd-session": "sshd"}  # OpenSSH 9.8 split sshd; rules know one name


def program_base(program: str) -> str:
    """``sshd(pam_unix)`` → ``sshd``; ``CRON`` → ``cron``; ``sshd-session`` → ``sshd``: the name rules use."""
    base = program.split("(", 1)[0].lower()
    return _PROGRAM_ALIASES.get(base, base)


_REPEATED = re.compile(r"^message repeated (\d{1,9}) times: \[ ?(.*)\]$", re.DOTALL)


def auth_fields(program: str, message: str) -> dict[str, Any]:
    """Fields a known authentication message carries; empty for anything else."""
    repeated = _REPEATED.match(message) if message.startswith("message repeated ") else None
    if repeated:  # rsyslog folds identical messages: the fields are those of the folded message
        fields = auth_fields(program, repeated.group(2))
        fields["repeated"] = int(repeated.group(1))
        return fields
    candidates = _BY_PROGRAM.get(program, [])
    if message.startswith(("pam_unix(", "PAM ", "authentication failure")):
        candidates = _PAM
    for pattern, constants in candidates:
        match = pattern.match(message)
        if match:
            fields = {key: value for key, value in match.groupdict().items() if value}
            fields.update(constants)
            return _normalise(fields)
    return {}


def _normalise(fields: dict[str, Any]) -> dict[str, Any]:
    second_user = fields.pop("user2", None)
    if second_user and "user" not in fields:
        fields["user"] = second_user
    if "invalid_user" in fields:
        fields["invalid_user"] = True
    rhost = fields.pop("rhost", None)
    if rhost:
        fields["src_ip" if _is_ip(rhost) else "src_host"] = rhost
    for name in _INT_FIELDS:
        if name in fields:
            fields[name] = int(fields[name])
    if "src_ip" in fields and not _is_ip(fields["src_ip"]):
        fields["src_host"] = fields.pop("src_ip")
    return fields


_IPV4 = re.compile(r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}")


def _is_ip(text: str) -> bool:
    """IPv4 by one regex (the common case, and much cheaper than ipaddress); IPv6 by ipaddress."""
    if _IPV4.fullmatch(text):
        return True
    if ":" not in text:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True
