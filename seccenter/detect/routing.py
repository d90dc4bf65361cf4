"""Which rules see which events: Sigma logsource routing."""

from __future__ import annotations

from seccenter.events import LogSource

LINUX_AUTH_SERVICES = frozenset({
    "auth", "sshd", "sshd-session", "sudo", "su", "login", "useradd", "userdel", "usermod", "groupadd",
    "groupdel", "passwd", "chpasswd", "chage", "systemd-logind", "cron", "polkitd", "pkexec", "gdm-password",
})
"""Programs whose messages Debian's rsyslog writes to /var/log/auth.log, which SigmaHQ calls service ``auth``."""


CATEGORY_FAMILIES = {
    "registry_event": frozenset({"registry_event", "registry_add", "registry_delete", "registry_set",
                                 "registry_rename"}),
}
"""Sigma's generic category covers its specific ones: a ``registry_event`` rule sees every registry event."""


def applies(rule: LogSource, event: LogSource) -> bool:
    """A rule applies when every logsource attribute it names equals the event's.

    Two widenings: a Linux rule for service ``auth`` sees the events of every program that logs to auth.log,
    and a generic category sees its specific ones (``CATEGORY_FAMILIES``).
    """
    if rule.product is not None and rule.product != event.product:
        return False
    if rule.category is not None and rule.category != event.category and event.category not in CATEGORY_FAMILIES.get(
            rule.category, ()):
        return False
    if rule.service is None or rule.service == event.service:
        return True
    return rule.service == "auth" and event.product == "linux" and event.service in LINUX_AUTH_SERVICES
