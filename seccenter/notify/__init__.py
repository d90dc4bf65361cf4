"""Notifications about new alerts: local syslog, e-mail (SMTP) and a webhook, through an outbox in the store.

Each channel is one module with ``send(settings, message)`` (see ``interface``); the message is built once per
run (``message.build_message``) and the same JSON is stored for every channel, so a retry sends what the
first attempt would have sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from seccenter.config import Notifications
from seccenter.notify import smtp, syslog, webhook
from seccenter.notify.interface import DeliveryError
from seccenter.notify.message import at_or_above, build_message, one_line
from seccenter.store import outbox
from seccenter.store.alerts import LEVELS

logger = logging.getLogger(__name__)

SENDERS: dict[str, Callable[[Any, Mapping[str, Any]], None]] = {
    "syslog": syslog.send, "smtp": smtp.send, "webhook": webhook.send,
}
"""Channel name (as in the config and the outbox) → its send function."""


@dataclass(frozen=True)
class Failure:
    channel: str
    error: str

    def to_dict(self) -> dict[str, str]:
        return {"channel": self.channel, "error": self.error}


@dataclass(frozen=True)
class NotifyReport:
    queued: int
    """Messages added to the outbox in this run (one per configured channel, or none)."""
    delivered: int
    """Messages delivered in this run, older ones retried included."""
    failed: tuple[Failure, ...]
    """One entry per failed attempt in this run."""
    pending: int
    """Undelivered messages a later run will try (those of channels no longer configured included)."""

    def to_dict(self) -> dict[str, Any]:
        return {"queued": self.queued, "delivered": self.delivered,
                "failed": [failure.to_dict() for failure in self.failed], "pending": self.pending}


def notify(db: Database, settings: Notifications, run_id: int | None, alerts: Sequence[Mapping[str, Any]],
           threshold: str) -> NotifyReport:
    """Tell the configured channels about a run's new alerts and retry what earlier runs could not deliver.

    ``alerts`` are dicts as ``store.alerts.list_alerts`` returns them: the run's new alerts at or above
    ``threshold`` (a level of ``LEVELS``; alerts below it are left out here too). When any remain, one digest
    message per configured channel is first stored in the outbox (``notification_outbox``), then every pending
    message of the configured channels is sent, oldest first, and marked delivered or failed (attempts, last
    error). A channel that fails is not tried again in the same run (its later messages wait for the next run,
    so a dead server costs one timeout). Messages of channels no longer configured stay pending, untried; a
    message that failed ``outbox.MAX_ATTEMPTS`` times is given up and stays listed with its last error.

    A delivery failure is logged (``logging``, this module's logger) and reported, never raised; errors of
    the store itself are raised.
    """
    if threshold not in LEVELS:
        raise ValueError(f"threshold {threshold!r} is not one of {', '.join(LEVELS)}")
    channels = settings.channels
    wanted = [alert for alert in alerts if at_or_above(alert["level"], threshold)]
    queued = outbox.enqueue(db, channels, run_id, build_message(run_id, wanted, threshold)) if wanted else []
    delivered, failed, down = 0, [], set()
    for message in outbox.pending(db, channels):
        channel = message["channel"]
        if channel in down:
            continue
        error = _deliver(channel, getattr(settings, channel), message["payload"])
        if error is None:
            outbox.mark_delivered(db, message["id"])
            delivered += 1
            logger.info("notification %d delivered via %s", message["id"], channel)
            continue
        attempts = outbox.mark_failed(db, message["id"], error)
        if attempts >= outbox.MAX_ATTEMPTS:
            error += f" (given up after {attempts} attempts)"
        logger.warning("notification %d via %s failed: %s", message["id"], channel, error)
        failed.append(Failure(channel, error))
        down.add(channel)
    return NotifyReport(len(queued), delivered, tuple(failed), outbox.pending_count(db))


def _deliver(channel: str, settings: Any, payload: Mapping[str, Any]) -> str | None:
    """None when delivered, else why not."""
    try:
        SENDERS[channel](settings, payload)
    except DeliveryError as error:
        return str(error)
    except Exception as error:  # a notification never ends the scan; a bug here is logged with its traceback
        logger.exception("notification via %s: unexpected error", channel)
        return f"{channel}: unexpected {type(error).__name__}: {one_line(error)}"
    return None
