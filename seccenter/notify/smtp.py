"""E-mail through the configured SMTP server: plain text, STARTTLS when configured, the password read when sending."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from seccenter.config import SmtpSettings
from seccenter.notify.interface import DeliveryError, is_loopback
from seccenter.notify.message import headline, one_line, plain_text
from seccenter.secretfile import SecretFileError


def email(settings: SmtpSettings, message: Mapping[str, Any]) -> EmailMessage:
    """The mail: its subject is made of counts only, its addresses come from the config, its body is
    ``plain_text`` (alert text made visible), so nothing from an alert can add a header."""
    mail = EmailMessage()
    mail["Subject"] = f"seccenter: {headline(message)}"
    mail["From"] = settings.sender
    mail["To"] = ", ".join(settings.recipients)
    mail["Date"] = format_datetime(datetime.fromisoformat(message["created"]))
    mail["Message-ID"] = make_msgid("seccenter", domain=settings.sender.rpartition("@")[2])
    mail.set_content(plain_text(message))
    return mail


def _password(settings: SmtpSettings) -> str:
    try:
        password = settings.password()
    except OSError as error:
        raise DeliveryError(f"cannot read the SMTP password file {settings.password_file}: "
                            f"{error.strerror or error}") from None
    except SecretFileError as error:
        raise DeliveryError(f"SMTP password file refused: {error}") from None
    if password is None:
        source = (f"environment variable {settings.password_env} is not set" if settings.password_env
                  else "neither password_file nor password_env is configured")
        raise DeliveryError(f"no SMTP password for user {settings.user}: {source}")
    return password


def _reply(code: int, text: bytes | str) -> str:
    """A server's answer as one line (it may echo what it was sent, but never gets the password back)."""
    return f"{code} {one_line(text.decode(errors='replace') if isinstance(text, bytes) else text)}"


def send(settings: SmtpSettings, message: Mapping[str, Any]) -> None:
    where = f"SMTP {settings.host}:{settings.port}"
    mail = email(settings, message)
    password = None
    if settings.user is not None:
        if not settings.starttls and not is_loopback(settings.host):
            raise DeliveryError(f"{where}: refusing to send the password of {settings.user} unencrypted; "
                                "set starttls: true")
        password = _password(settings)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as client:
            if settings.starttls:
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise DeliveryError(f"{where}: the server does not offer STARTTLS (starttls: true is "
                                        "configured); nothing was sent")
                client.starttls(context=ssl.create_default_context())
            if settings.user is not None:
                client.login(settings.user, password)
            client.send_message(mail)
    except smtplib.SMTPAuthenticationError as error:
        reply = _reply(error.smtp_code, error.smtp_error)
        raise DeliveryError(f"{where}: login as {settings.user} refused: {reply}") from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(f"{where}: the server offers no login (AUTH) for user {settings.user}") from None
    except smtplib.SMTPRecipientsRefused as error:
        refused = ", ".join(f"{address} ({_reply(*reply)})" for address, reply in error.recipients.items())
        raise DeliveryError(f"{where}: recipients refused: {refused}") from None
    except smtplib.SMTPResponseException as error:
        raise DeliveryError(f"{where}: {_reply(error.smtp_code, error.smtp_error)}") from None
    except smtplib.SMTPException as error:
        raise DeliveryError(f"{where}: {one_line(error)}") from None
    except ssl.SSLError as error:
        raise DeliveryError(f"{where}: TLS failed: {one_line(error.reason or error)}") from None
    except OSError as error:
        raise DeliveryError(f"{where}: {one_line(error.strerror or error)}") from None
