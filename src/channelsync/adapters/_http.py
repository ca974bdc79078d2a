"""The httpx plumbing the adapters share: one client per account, errors mapped once.

Each adapter's ``client.py`` builds an ``HttpClient`` and calls ``request``; transport
failures become ``Unavailable``, and ``error_for_status`` turns an HTTP error answer into
the right ``ChannelError`` with the vendor's code, message and request id attached. No
header (credentials live there) is ever logged.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from channelsync.core.errors import (
    AuthError,
    ChannelError,
    Conflict,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
)

__all__ = ["HttpClient", "error_for_status", "is_loopback_host", "parse_retry_after"]

log = logging.getLogger(__name__)

USER_AGENT = "channelsync/0.1 (+https://github.com/channelsync/channelsync)"


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def error_for_status(
    response: httpx.Response,
    *,
    channel: str,
    operation: str,
    code: str | None = None,
    message: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> ChannelError:
    """The ``ChannelError`` an HTTP error answer stands for.

    401/403 → ``AuthError``; 404 → ``NotFound``; 409/412 → ``Conflict``; 429 →
    ``RateLimited`` (``Retry-After`` honoured); 5xx and 408 → ``Unavailable``; other 4xx →
    ``Rejected``. Adapters pass the vendor's own code and message from the body.
    """
    status = response.status_code
    text = message or f"HTTP {status} {response.reason_phrase}".strip()
    kw: dict[str, Any] = {
        "channel": channel,
        "operation": operation,
        "status": status,
        "code": code,
        "request_id": request_id,
        "raw": response.content,
    }
    if status == 429:
        wait = (
            retry_after
            if retry_after is not None
            else parse_retry_after(response.headers.get("retry-after"))
        )
        return RateLimited(text, retry_after=wait, **kw)
    if status >= 500 or status == 408:
        return Unavailable(text, **kw)
    if status in (401, 403):
        return AuthError(text, **kw)
    if status == 404:
        return NotFound(text, **kw)
    if status in (409, 412):
        return Conflict(text, **kw)
    return Rejected(text, **kw)


class HttpClient:
    """An httpx client for one channel account.

    Args:
        channel: the account name, for errors and logs.
        base_url: where the API lives (the real host, or a sandbox fake).
        transport: an httpx transport (``httpx.MockTransport`` in tests).
        timeout: seconds per request.
        headers: default headers (credentials included: they are never logged).
    """

    def __init__(
        self,
        channel: str,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.channel = channel
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"user-agent": USER_AGENT, **(headers or {})},
            auth=auth,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HttpClient({self.channel!r}, {self.base_url!r})"

    def request(self, operation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; transport failures raise ``Unavailable``. Statuses are not checked."""
        started = time.monotonic()
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise Unavailable(
                f"timed out after {time.monotonic() - started:.1f}s",
                channel=self.channel,
                operation=operation,
            ) from exc
        except httpx.TransportError as exc:
            raise Unavailable(
                f"connection failed: {type(exc).__name__}",
                channel=self.channel,
                operation=operation,
            ) from exc
        log.debug(
            "%s %s %s -> %d in %.0f ms",
            self.channel,
            operation,
            method,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
