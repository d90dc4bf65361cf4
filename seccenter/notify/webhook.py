"""A JSON POST of the message to the configured URL; any answer outside 2xx is a failure."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from seccenter import __version__
from seccenter.config import WebhookSettings
from seccenter.notify.interface import DeliveryError, is_loopback
from seccenter.notify.message import one_line

RESPONSE_LIMIT = 64 * 1024


def _origin(url: str) -> str:
    """scheme://host:port only: a webhook's path or query often is its secret."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def cleartext_warning(settings: WebhookSettings) -> str | None:
    """A warning when the digest (personal data) would cross the network unencrypted: http:// to a host other
    than this machine."""
    parts = urlsplit(settings.url)
    if parts.scheme.lower() != "http" or is_loopback(parts.hostname or ""):
        return None
    return (f"the webhook {_origin(settings.url)} gets the alert digest (personal data) unencrypted over http://; "
            "use https://")


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows 307/308 on the same scheme, host and port with the same POST. Anything else is not followed (and
    so fails): urllib would turn a POST answered by 301/302/303 into a body-less GET, and a message must not
    go to another host without the config saying so."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        if code in (307, 308) and _origin(newurl) == _origin(req.full_url):
            return urllib.request.Request(newurl, data=req.data, headers=req.headers, method=req.get_method())
        return None


def request(settings: WebhookSettings, message: Mapping[str, Any]) -> urllib.request.Request:
    headers = {"Content-Type": "application/json", "User-Agent": f"seccenter/{__version__}", **dict(settings.headers)}
    body = json.dumps(message, ensure_ascii=False).encode()
    return urllib.request.Request(settings.url, data=body, headers=headers, method="POST")


def send(settings: WebhookSettings, message: Mapping[str, Any]) -> None:
    where = f"webhook {_origin(settings.url)}"
    opener = urllib.request.build_opener(_SameOriginRedirects)
    try:
        with opener.open(request(settings, message), timeout=settings.timeout) as response:
            response.read(RESPONSE_LIMIT)
    except urllib.error.HTTPError as error:
        location = error.headers.get("Location") if error.headers else None
        error.close()
        if 300 <= error.code < 400 and location:
            target = one_line(_origin(urljoin(settings.url, location)))
            raise DeliveryError(f"{where}: HTTP {error.code} redirect to {target} not followed; configure the"
                                " address it redirects to") from None
        raise DeliveryError(f"{where}: HTTP {error.code} {one_line(error.reason)}") from None
    except urllib.error.URLError as error:
        raise DeliveryError(f"{where}: {_reason(error.reason)}") from None
    except (http.client.HTTPException, OSError) as error:
        raise DeliveryError(f"{where}: {_reason(error)}") from None


def _reason(error: BaseException | str) -> str:
    if isinstance(error, str):
        return one_line(error)
    return one_line(getattr(error, "strerror", None) or str(error) or type(error).__name__)
