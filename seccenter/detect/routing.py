"""Which rules see which events: Sigma logsource routing."""

from __future__ import annotations

from seccenter.events import LogSource

LINUX_AUTH_SERVICES = frozenset({
    "auth", "sshd", "sshd-session", "sudo", "su", "login", "useradd", "userdel", "usermod", "groupadd",
    "groupdel", "passwd", "chpasswd", "chage", "systemd-logind", "cron", "polkitd", "pkexec", "gdm-password",
})
"""Programs whose messages Debian's rsyslog writes to /var/log/auth.log, which SigmaHQ calls service ``auth``."""


def applies(rule: LogSource, event: LogSource) -> bool:
    """A rule applies when every logsource attribute it names equals the event's.

    One widening: a Linux rule for service ``auth`` sees the events of every program that logs to auth.log.
    """
    if rule.product is not None and rule.product != event.product:
        return False
    if rule.category is not None and rule.category != event.category:
        return False
    if rule.service is None or rule.service == event.service:
        return True
    return rule.service == "auth" and event.product == "linux" and event.service in LINUX_AUTH_SERVICES
