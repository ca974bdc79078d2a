"""eBay's inbound deliveries: the account deletion endpoint and Platform Notifications.

Three kinds of request reach an eBay webhook endpoint:

- **The deletion challenge** (``GET ?challenge_code=...``): eBay checks the endpoint by
  asking for ``SHA-256(challenge_code + verification_token + endpoint_url)`` as hex in
  ``{"challengeResponse": "..."}``. The receiver passes the request's query string in the
  ``X-Channelsync-Query`` header (``QUERY_HEADER``); the event's ``response`` is the JSON
  body to answer with.
- **Push notifications** (MARKETPLACE_ACCOUNT_DELETION, mandatory for every application):
  JSON signed with ECDSA. ``X-EBAY-SIGNATURE`` is base64 of
  ``{"alg": "ecdsa", "kid": ..., "signature": <base64 DER>, "digest": "SHA1"}``; the public
  key comes from the Notification API ``getPublicKey`` (injectable, cached). A deletion
  becomes a ``customer_redact`` event.
- **Platform Notifications** (Trading; ``FixedPriceTransaction``, ``ItemMarkedShipped``):
  SOAP messages whose ``NotificationSignature`` is base64 of
  ``MD5(Timestamp + DevId + AppId + CertId)``. That signature proves knowledge of the
  keyset and the time, not the body: the timestamp must be recent (10 minutes), and the
  orders they announce are confirmed by the next GetOrders poll.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from channelsync.adapters._webhooks import check_size, describe_invalid, header, load_json
from channelsync.adapters.ebay.config import EbayConfig
from channelsync.adapters.ebay.mapping import (
    ORDER_DATA_ERRORS,
    describe_error,
    order_from_transaction,
    parse_time,
    parse_xml,
    stock_events_from_transaction,
)
from channelsync.adapters.ebay.payloads import DeletionMessage, PublicKey
from channelsync.core.channel import WebhookEvent
from channelsync.core.errors import (
    ChannelError,
    TransientError,
    WebhookPayloadError,
    WebhookVerificationError,
)

__all__ = [
    "DELETION_TOPIC",
    "NOTIFICATION_MAX_AGE",
    "QUERY_HEADER",
    "SIGNATURE_HEADER",
    "CachedPublicKeys",
    "EbayWebhooks",
    "PublicKeySource",
    "challenge_response",
    "platform_signature",
    "verify_push_signature",
]

log = logging.getLogger(__name__)

#: The receiver passes the request's query string (``challenge_code=...``) in this header.
QUERY_HEADER = "x-channelsync-query"
SIGNATURE_HEADER = "x-ebay-signature"
DELETION_TOPIC = "MARKETPLACE_ACCOUNT_DELETION"
#: Platform Notifications older (or further in the future) than this are refused.
NOTIFICATION_MAX_AGE = timedelta(minutes=10)
#: Platform Notification events that announce a sale or a shipment.
ORDER_EVENTS = frozenset({"FixedPriceTransaction", "ItemMarkedShipped", "AuctionCheckoutComplete"})

#: Returns the Notification API key for a key id (``getPublicKey``).
PublicKeySource = Callable[[str], PublicKey]


def challenge_response(challenge_code: str, verification_token: str, endpoint_url: str) -> str:
    """The hex SHA-256 of ``challenge_code + verification_token + endpoint_url``."""
    digest = hashlib.sha256()
    digest.update(challenge_code.encode())
    digest.update(verification_token.encode())
    digest.update(endpoint_url.encode())
    return digest.hexdigest()


def platform_signature(timestamp: str, dev_id: str, app_id: str, cert_id: str) -> str:
    """A Platform Notification's ``NotificationSignature`` for ``timestamp``."""
    raw = f"{timestamp}{dev_id}{app_id}{cert_id}".encode()
    return base64.b64encode(hashlib.md5(raw, usedforsecurity=False).digest()).decode()


class CachedPublicKeys:
    """A ``PublicKeySource`` that remembers each key for ``ttl`` seconds (eBay's SDKs: 1 h)."""

    def __init__(
        self,
        fetch: PublicKeySource,
        *,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._keys: dict[str, tuple[float, PublicKey]] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def __call__(self, key_id: str) -> PublicKey:
        now = self._clock()
        with self._lock:
            cached = self._keys.get(key_id)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        key = self._fetch(key_id)
        with self._lock:
            self._keys[key_id] = (now, key)
            self.fetches += 1
        return key


def _pem(key: str) -> bytes:
    """eBay's one-line ``-----BEGIN PUBLIC KEY-----MFkw...-----END PUBLIC KEY-----`` as PEM."""
    begin, end = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
    body = key.replace(begin, "").replace(end, "").strip().replace("\n", "").replace(" ", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("\n".join([begin, *lines, end]) + "\n").encode()


def verify_push_signature(body: bytes, signature_header: str | None, keys: PublicKeySource) -> str:
    """Check ``X-EBAY-SIGNATURE`` over ``body``; returns the key id. Raises on any flaw.

    eBay's SDKs verify the compact JSON serialisation of the parsed body; the raw body is
    tried first and that form second, so both a byte-exact and a re-serialised delivery
    verify, and nothing else does.
    """
    if not signature_header:
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    try:
        decoded = json.loads(base64.b64decode(signature_header, validate=True))
        key_id = str(decoded["kid"])
        algorithm = str(decoded.get("alg", "")).lower()
        digest = str(decoded.get("digest", "")).upper()
        signature = base64.b64decode(str(decoded["signature"]), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} is not eBay's signature form") from exc
    if algorithm != "ecdsa" or digest != "SHA1":
        raise WebhookVerificationError(f"unsupported signature {algorithm}/{digest}")
    try:
        info = keys(key_id)
    except TransientError:
        raise  # the key service is down: the delivery is not refused, eBay will resend
    except ChannelError as exc:
        raise WebhookVerificationError(f"no public key {key_id!r}: {exc}") from exc
    if info.algorithm.upper() != "ECDSA" or info.digest.upper() != "SHA1":
        raise WebhookVerificationError(f"key {key_id!r} is {info.algorithm}/{info.digest}")
    try:
        public = serialization.load_pem_public_key(_pem(info.key))
    except ValueError as exc:
        raise WebhookVerificationError(f"key {key_id!r} is not a valid public key") from exc
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise WebhookVerificationError(f"key {key_id!r} is not an EC key")
    check_size(body)
    if _verifies(public, signature, body):
        return key_id
    # Only when the raw bytes do not verify is the body read, within the size and depth
    # limits, to try the compact form eBay's SDKs sign; what it holds is not used yet.
    try:
        compact = json.dumps(
            load_json(body, "notification body"), separators=(",", ":"), ensure_ascii=False
        ).encode()
    except WebhookPayloadError:
        compact = body
    if compact != body and _verifies(public, signature, compact):
        return key_id
    raise WebhookVerificationError(f"{SIGNATURE_HEADER} does not match the body")


def _verifies(public: ec.EllipticCurvePublicKey, signature: bytes, data: bytes) -> bool:
    try:
        public.verify(signature, data, ec.ECDSA(hashes.SHA1()))  # noqa: S303 - eBay's scheme
    except InvalidSignature:
        return False
    return True


class EbayWebhooks:
    """Verifies and parses what eBay sends to one account's webhook endpoint."""

    def __init__(
        self,
        config: EbayConfig,
        keys: PublicKeySource,
        clock: Callable[[], datetime],
    ) -> None:
        self._config = config
        self._keys = keys
        self._clock = clock

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """The events of one delivery, or ``WebhookVerificationError``."""
        check_size(body)
        query = header(headers, QUERY_HEADER)
        if query and "challenge_code" in parse_qs(query):
            return [self._challenge(parse_qs(query)["challenge_code"][0])]
        if header(headers, SIGNATURE_HEADER) is not None or body.lstrip().startswith(b"{"):
            return self._push(headers, body)
        if body.lstrip().startswith(b"<"):
            return self._platform(body)
        raise WebhookVerificationError("not an eBay delivery: no signature, no challenge")

    # -- account deletion -------------------------------------------------------------------

    def _challenge(self, code: str) -> WebhookEvent:
        token, endpoint = self._config.verification_token, self._config.deletion_endpoint_url
        if token is None or endpoint is None:
            raise WebhookVerificationError(
                f"{self._config.account}: no verification_token/deletion_endpoint_url"
                " configured to answer eBay's challenge"
            )
        answer = challenge_response(code, token.get_secret_value(), endpoint)
        return WebhookEvent(
            kind="ping",
            topic=f"{DELETION_TOPIC}.challenge",
            response=json.dumps({"challengeResponse": answer}),
            raw={"challenge_code": code},
        )

    def _push(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        verify_push_signature(body, header(headers, SIGNATURE_HEADER), self._keys)
        payload: dict[str, Any] = load_json(body, "eBay push notification")
        try:
            message = DeletionMessage.model_validate(payload)
        except (ValueError, ValidationError) as exc:
            raise WebhookPayloadError(
                f"not an eBay push notification: {describe_invalid(exc)}"
            ) from None
        if message.metadata.topic != DELETION_TOPIC:
            raise WebhookVerificationError(
                f"unsupported notification topic {message.metadata.topic!r}"
            )
        data = message.notification.data
        ids = tuple(v for v in (data.username, data.userId) if v)
        if not ids:
            raise WebhookVerificationError("account deletion without a username or user id")
        return [
            WebhookEvent(
                kind="customer_redact",
                event_id=message.notification.notificationId,
                topic=DELETION_TOPIC,
                customer_ids=ids,
                raw=payload,
            )
        ]

    # -- Platform Notifications -------------------------------------------------------------

    def _platform(self, body: bytes) -> list[WebhookEvent]:
        if not self._config.platform_notifications:
            raise WebhookVerificationError(
                f"{self._config.account}: Platform Notifications are not enabled"
            )
        try:
            envelope = parse_xml(body)
        except ValueError as exc:
            raise WebhookPayloadError(
                f"notification body is not XML: {describe_invalid(exc)}"
            ) from None
        signature = envelope.findtext("Header/RequesterCredentials/NotificationSignature") or ""
        payload = next((el for el in envelope.iterfind("Body/*")), None)
        if payload is None:
            raise WebhookVerificationError("notification without a SOAP body")
        stamp = (payload.findtext("Timestamp") or "").strip()
        when = parse_time(stamp)
        if not signature.strip() or when is None:
            raise WebhookVerificationError("notification without NotificationSignature/Timestamp")
        cfg = self._config
        expected = platform_signature(stamp, cfg.dev_id, cfg.app_id, cfg.cert_id.get_secret_value())
        if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
            raise WebhookVerificationError("NotificationSignature does not match")
        if abs(self._clock() - when) > NOTIFICATION_MAX_AGE:
            raise WebhookVerificationError(
                f"notification timestamp {stamp} is more than {NOTIFICATION_MAX_AGE} from now"
            )
        name = (payload.findtext("NotificationEventName") or "").strip()
        if name not in ORDER_EVENTS:
            return [WebhookEvent(kind="ping", topic=name or None, event_id=None)]
        item = payload.find("Item")
        events: list[WebhookEvent] = []
        for txn in payload.findall("TransactionArray/Transaction"):
            try:
                order = order_from_transaction(txn, item, cfg.account, now=when)
            except ORDER_DATA_ERRORS as exc:
                # The order id alone: the channel reads the order whole, and the next poll
                # reports it as an OrderFailure if it still cannot be mapped.
                order_id = (txn.findtext("ContainingOrder/OrderID") or "").strip() or None
                log.warning(
                    "%s: notified transaction of order %s cannot be read (%s)",
                    cfg.account,
                    order_id,
                    describe_error(exc),
                )
                if order_id is not None:
                    events.append(WebhookEvent(kind="order", topic=name, order_id=order_id))
                continue
            if order is None:
                continue
            line = order.lines[0].line_id if order.lines else order.order_id
            events.append(
                WebhookEvent(
                    kind="order",
                    event_id=f"{name}:{line}:{order.updated_at.isoformat()}",
                    topic=name,
                    order=order,
                    order_id=order.order_id,
                    raw=order.raw,
                )
            )
        events.extend(
            e.model_copy(update={"topic": name}) for e in stock_events_from_transaction(item, None)
        )
        return events
