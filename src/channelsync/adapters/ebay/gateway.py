"""The Trading API gateway: the one module that imports ebaysdk, and owns its quirks.

ebaysdk 2.2 builds the Trading request (the ``X-EBAY-API-*`` headers, the XML envelope
with ``RequesterCredentials``, ``dict2xml`` with escaping) and sends it with ``requests``.
What it does on its own that channelsync must not, and what this module does about it:

- **Not thread-safe**: a ``Connection`` keeps the request, the response and the verb of
  its last call on itself. The gateway keeps one connection per thread
  (``threading.local``).
- **Forces HTTPS**: its constructor sets ``config['https'] = True`` with ``force=True``,
  so ``https=False`` is ignored. The gateway sets the scheme of the configured URL on the
  connection's config after construction (the sandbox fake is plain HTTP on loopback).
- **Reads ebay.yaml**: with the default ``config_file='ebay.yaml'`` it reads that file from
  the working directory, ``~`` or ``/etc`` (and its YAML turns ``siteid: 0`` into False).
  The gateway passes ``config_file=None`` and gives ``siteid`` and ``compatibility`` as
  arguments, as strings.
- **Unescaped values**: ``dict2xml`` escapes ``&``, ``<`` and ``>`` in leaf strings only
  with ``escape_xml=True``; the gateway sets it (and sends every value as a string).
- **Hidden retries**: it mounts ``HTTPAdapter(max_retries=3)`` on its session. The gateway
  replaces the session with one mounting ``HTTPAdapter(max_retries=0)``, so the engine's
  retry policy is the only one. Its session is also closed after every call (no
  keep-alive); the gateway's session stays open until ``close()``.
- **Its own answer handling**: it parses answers with lxml's default parser, raises
  ``ConnectionError`` for ``Ack=Failure`` (never for ``Warning`` or ``PartialFailure``,
  so per-item errors go unnoticed), crashes with ``AttributeError`` on a non-XML answer,
  and logs warnings through the deprecated ``Logger.warn``. The gateway's connection
  class skips all of that and hands back the raw answer, which is parsed with the
  hardened parser of ``mapping.parse_xml``; every ``Ack`` is read and per-item results
  always reach the caller.
- **Logs secrets**: at DEBUG it logs request headers (cert id, IAF token), the request
  body (Auth'n'Auth token) and the response (buyers' addresses). A filter on the
  ``ebaysdk`` logger drops those records.

Error code 518 (call usage limit reached) becomes ``RateLimited`` with ``retry_after`` up
to the quota reset (midnight in ``EbayConfig.quota_timezone``), and until then no Trading
call is sent at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from ebaysdk.trading import Connection as _SdkTrading
from lxml import etree
from requests.adapters import HTTPAdapter

from channelsync.adapters._http import parse_retry_after
from channelsync.adapters.ebay.config import EbayConfig
from channelsync.adapters.ebay.mapping import TradingError, ack_of, errors_of, parse_xml
from channelsync.core.errors import (
    AuthError,
    ChannelError,
    NotFound,
    RateLimited,
    Rejected,
    Unavailable,
)

__all__ = [
    "AUTH_CODES",
    "NOT_FOUND_CODES",
    "QUOTA_CODE",
    "SYSTEM_CODES",
    "TradingAuth",
    "TradingGateway",
    "TradingReply",
    "error_for",
]

log = logging.getLogger(__name__)

#: Call usage limit reached (the daily quota of the application or of the call).
QUOTA_CODE = "518"
#: Token problems: invalid (931), hard-expired (932), revoked (16110), IAF token invalid or
#: expired (21916984, 21917053).
AUTH_CODES = frozenset({"931", "932", "16110", "17470", "21916984", "21917053"})
#: eBay-side failures worth another try: internal error (10007), SLA timeout (219255).
SYSTEM_CODES = frozenset({"10007", "219255"})
#: The item, listing, order or line does not exist (or is not the caller's).
NOT_FOUND_CODES = frozenset({"17", "20822", "21916586"})

#: (kind, token): ``("iaf", oauth_token)`` or ``("auth_n_auth", token)``.
TradingAuth = tuple[Literal["iaf", "auth_n_auth"], str]


class _RedactSecrets(logging.Filter):
    """Drops ebaysdk's DEBUG records that carry headers, bodies or answers."""

    _PREFIXES = ("headers=", "body=", "content=", "execute: verb=")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(self._PREFIXES)


_SDK_LOG = logging.getLogger("ebaysdk")
if not any(isinstance(f, _RedactSecrets) for f in _SDK_LOG.filters):
    _SDK_LOG.addFilter(_RedactSecrets())


class _Session(requests.Session):
    """A requests session without retries that survives ebaysdk's per-call ``close()``."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        no_retries = HTTPAdapter(max_retries=0)
        self.mount("http://", no_retries)
        self.mount("https://", no_retries)

    def close(self) -> None:
        """ebaysdk calls this after every answer: keep the pool (and keep-alive) instead."""

    def shutdown(self) -> None:
        """Really close the connection pool."""
        super().close()


class _Connection(_SdkTrading):  # type: ignore[misc]  # ebaysdk ships no type hints
    """ebaysdk's Trading connection without its answer handling: ``execute`` returns the
    raw ``requests.Response``; the gateway parses and checks it."""

    def process_response(self, parse_response: bool = True) -> None:
        return None

    def error_check(self) -> None:
        return None


@dataclass(frozen=True)
class TradingReply:
    """A parsed Trading answer: its root element (namespaces dropped), ack and errors."""

    call: str
    root: etree._Element
    ack: str
    errors: tuple[TradingError, ...]
    request_id: str | None
    content: bytes

    @property
    def warnings(self) -> tuple[TradingError, ...]:
        """Errors of severity Warning (the call went through)."""
        return tuple(e for e in self.errors if e.is_warning)

    @property
    def failures(self) -> tuple[TradingError, ...]:
        """Errors of severity Error."""
        return tuple(e for e in self.errors if not e.is_warning)


def error_for(
    errors: Collection[TradingError],
    *,
    channel: str,
    operation: str,
    status: int | None = None,
    request_id: str | None = None,
    raw: bytes | None = None,
) -> ChannelError:
    """The ``ChannelError`` a failed Trading answer stands for (by its error codes)."""
    failures = [e for e in errors if not e.is_warning] or list(errors)
    first = failures[0] if failures else None
    message = first.message if first else "Trading call failed without an error element"
    kw: dict[str, Any] = {
        "channel": channel,
        "operation": operation,
        "status": status,
        "code": first.code if first else None,
        "request_id": request_id,
        "raw": raw,
    }
    codes = {e.code for e in failures}
    if codes & AUTH_CODES:
        code = next(iter(sorted(codes & AUTH_CODES)))
        return AuthError(message, **{**kw, "code": code})
    if codes & SYSTEM_CODES or any(e.classification == "SystemError" for e in failures):
        return Unavailable(message, **kw)
    if codes & NOT_FOUND_CODES:
        return NotFound(message, **kw)
    return Rejected(message, **kw)


class TradingGateway:
    """Sends Trading API calls for one account through ebaysdk.

    Args:
        config: the account.
        url: the Trading endpoint (``https://api.ebay.com/ws/api.dll`` or a fake's).
        auth: returns the credentials to send; called with ``refresh=True`` once after an
            auth error, so an expired OAuth token is replaced and the call sent again.
        can_refresh: whether ``auth(refresh=True)`` can produce a new token.
        clock: aware UTC now (for the quota reset).
    """

    def __init__(
        self,
        config: EbayConfig,
        *,
        url: str,
        auth: Callable[[bool], TradingAuth],
        can_refresh: bool,
        clock: Callable[[], datetime],
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"Trading URL must be http(s)://host/path, got {url!r}")
        self._config = config
        self._https = parts.scheme == "https"
        self._domain = parts.netloc
        self._uri = parts.path or "/ws/api.dll"
        self._auth = auth
        self._can_refresh = can_refresh
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[_Session] = []
        self._blocked_until: datetime | None = None
        self.calls = 0

    def __repr__(self) -> str:
        scheme = "https" if self._https else "http"
        return f"TradingGateway({self._config.account!r}, {scheme}://{self._domain}{self._uri})"

    # -- connections ----------------------------------------------------------------------

    def _connection(self) -> Any:
        conn = getattr(self._local, "connection", None)
        if conn is not None:
            return conn
        cfg = self._config
        conn = _Connection(
            domain=self._domain,
            uri=self._uri,
            config_file=None,
            appid=cfg.app_id,
            devid=cfg.dev_id,
            certid=cfg.cert_id.get_secret_value(),
            siteid=str(cfg.site_id),
            compatibility=str(cfg.compatibility_level),
            escape_xml=True,
            warnings=False,
            errors=False,
            debug=False,
            timeout=cfg.timeout,
        )
        # The constructor forced https=True; the configured URL decides.
        conn.config.set("https", self._https, force=True)
        session = _Session()
        conn.session = session
        with self._lock:
            self._sessions.append(session)
        self._local.connection = conn
        return conn

    def close(self) -> None:
        """Close every thread's connection pool."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.shutdown()

    # -- quota ----------------------------------------------------------------------------

    @property
    def blocked_until(self) -> datetime | None:
        """When the exhausted call quota resets (None: not exhausted)."""
        with self._lock:
            if self._blocked_until is not None and self._clock() >= self._blocked_until:
                self._blocked_until = None
            return self._blocked_until

    def block(self, until: datetime) -> None:
        """Send no Trading call until ``until`` (a quota known spent, from the store)."""
        with self._lock:
            if self._blocked_until is None or until > self._blocked_until:
                self._blocked_until = until

    def _quota_error(self, verb: str, until: datetime, raw: bytes | None = None) -> RateLimited:
        wait = max(0.0, (until - self._clock()).total_seconds())
        return RateLimited(
            f"eBay call quota exhausted; it resets at {until.isoformat()}",
            retry_after=wait,
            channel=self._config.account,
            operation=verb,
            code=QUOTA_CODE,
            raw=raw,
        )

    # -- calls ----------------------------------------------------------------------------

    def call(
        self,
        verb: str,
        data: Mapping[str, Any],
        *,
        item_keys: Collection[str] = (),
    ) -> TradingReply:
        """Send one call; return its parsed answer, or raise the error it stands for.

        With ``item_keys`` (the ItemIDs/SKUs of a batch), errors whose ``ErrorParameters``
        name one of them are item errors: the reply comes back for the caller to settle
        item by item, whatever the ``Ack``. Errors naming no item raise.
        """
        until = self.blocked_until
        if until is not None:
            raise self._quota_error(verb, until)
        try:
            return self._send(verb, data, item_keys, refresh=False)
        except AuthError:
            if not self._can_refresh:
                raise
            log.info("%s: Trading auth failed; refreshing the OAuth token", self._config.account)
            return self._send(verb, data, item_keys, refresh=True)

    def _send(
        self, verb: str, data: Mapping[str, Any], item_keys: Collection[str], *, refresh: bool
    ) -> TradingReply:
        account = self._config.account
        conn = self._connection()
        kind, token = self._auth(refresh)
        if kind == "iaf":
            conn.config.set("iaf_token", token, force=True)
            conn.config.set("token", None, force=True)
        else:
            conn.config.set("iaf_token", None, force=True)
            # ebaysdk writes the token into the XML unescaped.
            conn.config.set("token", _xml_escape(token), force=True)
        try:
            response = conn.execute(verb, dict(data))
        except requests.Timeout as exc:
            raise Unavailable(
                f"timed out after {self._config.timeout:.0f}s", channel=account, operation=verb
            ) from exc
        except requests.RequestException as exc:
            raise Unavailable(
                f"connection failed: {type(exc).__name__}", channel=account, operation=verb
            ) from exc
        finally:
            conn.config.set("iaf_token", None, force=True)
            conn.config.set("token", None, force=True)
        with self._lock:
            self.calls += 1
        request = getattr(conn, "request", None)
        request_id = request.headers.get("X-EBAY-SDK-REQUEST-ID") if request is not None else None
        return self._read(verb, response, request_id, item_keys)

    def _read(
        self,
        verb: str,
        response: requests.Response,
        request_id: str | None,
        item_keys: Collection[str],
    ) -> TradingReply:
        account = self._config.account
        status = response.status_code
        content = response.content or b""
        try:
            root = parse_xml(content) if content.strip() else None
        except ValueError:
            root = None
        if status != 200 and (root is None or not errors_of(root)):
            kw: dict[str, Any] = {
                "channel": account,
                "operation": verb,
                "status": status,
                "request_id": request_id,
                "raw": content,
            }
            text = f"HTTP {status} {response.reason or ''}".strip()
            if status == 429:
                raise RateLimited(
                    text, retry_after=parse_retry_after(response.headers.get("retry-after")), **kw
                )
            if status >= 500 or status == 408:
                raise Unavailable(text, **kw)
            if status in (401, 403):
                raise AuthError(text, **kw)
            raise Rejected(text, **kw)
        if root is None:
            raise Unavailable(
                "the Trading answer is not XML",
                channel=account,
                operation=verb,
                status=status,
                request_id=request_id,
                raw=content,
            )
        errors = tuple(errors_of(root))
        reply = TradingReply(verb, root, ack_of(root), errors, request_id, content)
        if any(e.code == QUOTA_CODE for e in errors):
            until = self._config.next_quota_reset(self._clock())
            with self._lock:
                self._blocked_until = until
            log.warning("%s: eBay call quota exhausted until %s", account, until.isoformat())
            raise self._quota_error(verb, until, content)
        for warning in reply.warnings:
            log.info("%s %s warning: %s", account, verb, warning.message)
        if reply.ack == "Failure" or status != 200:
            keys = set(item_keys)
            call_level = [
                e for e in reply.failures if not (keys and any(p in keys for p in e.parameters))
            ]
            if call_level or not keys or status != 200:
                raise error_for(
                    call_level or errors,
                    channel=account,
                    operation=verb,
                    status=status,
                    request_id=request_id,
                    raw=content,
                )
        return reply


def _xml_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
