"""Local syslog: one datagram per message on the UNIX socket at the configured address (``/dev/log``)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from logging.handlers import SysLogHandler
from typing import Any

from seccenter.config import SyslogSettings
from seccenter.notify.interface import DeliveryError
from seccenter.notify.message import alert_line, headline, one_line

DATAGRAM_LIMIT = 2048
"""Bytes in one datagram (RFC 3164's 1 KiB is widely exceeded; journald and rsyslog take 2 KiB unconfigured)."""
TRUNCATED = " …[truncated]"
SEND_TIMEOUT = 5.0
_SEVERITIES = {"critical": "crit", "high": "err", "medium": "warning", "low": "notice", "informational": "info"}


def datagram(settings: SyslogSettings, message: Mapping[str, Any]) -> bytes:
    """``<PRI>tag[pid]: text`` in UTF-8, at most ``DATAGRAM_LIMIT`` bytes; the severity follows the highest
    level in the message."""
    highest = next(iter(message["by_level"]), "informational")
    priority = (SysLogHandler.facility_names[settings.facility] << 3
                | SysLogHandler.priority_names[_SEVERITIES.get(highest, "info")])
    listed = "; ".join(alert_line(alert) for alert in message["alerts"])
    more = f"; and {int(message['more'])} more" if message["more"] else ""
    run = f" in scan run {int(message['run_id'])}" if message.get("run_id") is not None else ""
    text = (f"<{priority}>{one_line(settings.tag, 64)}[{os.getpid()}]: {headline(message)} at or above "
            f"{one_line(message['threshold'])}{run}: {listed}{more}").encode()
    if len(text) <= DATAGRAM_LIMIT:
        return text
    marker = TRUNCATED.encode()
    # cut on a character boundary: a partial UTF-8 sequence at the end is dropped
    return text[: DATAGRAM_LIMIT - len(marker)].decode(errors="ignore").encode() + marker


def send(settings: SyslogSettings, message: Mapping[str, Any]) -> None:
    payload = datagram(settings, message)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as client:
            client.settimeout(SEND_TIMEOUT)
            client.connect(settings.address)
            client.send(payload)
    except OSError as error:
        raise DeliveryError(f"syslog socket {one_line(settings.address)}: {one_line(error.strerror or error)}"
                            ) from None
