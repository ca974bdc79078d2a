"""The errors channelsync raises, grouped by what the caller should do about them.

::

    ChannelsyncError
    ├── ChannelError                    a channel call failed (carries channel, operation,
    │   │                               status, vendor code, request id and raw body)
    │   ├── TransientError              retry later; the retry policy does it for you
    │   │   ├── RateLimited             slow down: wait at least ``retry_after`` seconds
    │   │   └── Unavailable             5xx, timeout, connection reset
    │   └── PermanentError              retrying the same request will not help
    │       ├── AuthError               credentials or scopes are wrong: fix the config
    │       ├── NotFound                the order, listing or SKU does not exist there
    │       ├── Rejected                the channel refused the content (validation)
    │       └── Conflict                compare-and-set lost: re-read, recompute, retry
    ├── ItemError                       one item of a batch failed; the rest went through
    ├── WebhookVerificationError        signature, topic or body of a webhook is not valid
    │   └── WebhookPayloadError         signed (or unsigned) body too large, too deep or malformed
    ├── ConfigError                     a configuration value is missing or wrong
    ├── InvalidInput                    an argument of a public call is wrong (also ValueError)
    │   ├── IdempotencyConflict         a key reused for another operation or payload
    │   └── OperationRefused            a cancel, refund or return that does not fit the order
    ├── StoreRace                       a store transaction lost a race (retried for you)
    ├── UnknownAccount                  an account name no channel of the engine carries
    └── UnknownOrder                    an order the store has never seen

Adapters translate SDK and HTTP errors into these at one boundary (their ``client.py``),
with ``raise ... from exc``; nothing vendor-specific leaks past it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthError",
    "ChannelError",
    "ChannelsyncError",
    "ConfigError",
    "Conflict",
    "IdempotencyConflict",
    "InvalidInput",
    "ItemError",
    "NotFound",
    "OperationRefused",
    "PermanentError",
    "RateLimited",
    "Rejected",
    "StoreRace",
    "TransientError",
    "Unavailable",
    "UnknownAccount",
    "UnknownOrder",
    "WebhookPayloadError",
    "WebhookVerificationError",
]

_MAX_RAW = 2_000


def _clip(raw: str | bytes | None) -> str | None:
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text if len(text) <= _MAX_RAW else text[:_MAX_RAW] + "…"


class ChannelsyncError(Exception):
    """Base class of every error channelsync raises on purpose."""


class ChannelError(ChannelsyncError):
    """A call to a sales channel failed.

    Attributes:
        channel: the channel kind or account that failed (``"shopify"``, ``"ebay-de"``).
        operation: the API operation (``"inventorySetQuantities"``, ``"GetOrders"``).
        status: the HTTP status, when there was a response.
        code: the vendor's own error code (``"THROTTLED"``, ``"518"``, ``"QuotaExceeded"``).
        request_id: the vendor's request id, for support tickets.
        raw: the response body (clipped to 2,000 characters), never credentials.
    """

    def __init__(
        self,
        message: str,
        *,
        channel: str | None = None,
        operation: str | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        raw: str | bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.channel = channel
        self.operation = operation
        self.status = status
        self.code = code
        self.request_id = request_id
        self.raw = _clip(raw)

    def __str__(self) -> str:
        parts = [self.message]
        where = " ".join(p for p in (self.channel, self.operation) if p)
        if where:
            parts.append(f"[{where}]")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)

    def describe(self) -> dict[str, Any]:
        """The error as a plain dict, for logs, reports and the outbox's ``last_error``."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "channel": self.channel,
            "operation": self.operation,
            "status": self.status,
            "code": self.code,
            "request_id": self.request_id,
        }


class TransientError(ChannelError):
    """The call may succeed later unchanged; the retry policy retries only these."""


class RateLimited(TransientError):
    """The channel asked us to slow down; wait at least ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = max(0.0, retry_after) if retry_after is not None else None


class Unavailable(TransientError):
    """The channel is down or slow (5xx, timeout, connection reset)."""


class PermanentError(ChannelError):
    """Repeating the same request will fail the same way."""


class AuthError(PermanentError):
    """Credentials, token or scopes were refused: fix the account's configuration."""


class NotFound(PermanentError):
    """The order, listing or SKU does not exist on the channel."""


class Rejected(PermanentError):
    """The channel refused the request's content (validation, business rule)."""


class Conflict(PermanentError):
    """A compare-and-set lost against a change on the channel: re-read and recompute.

    ``current`` is the quantity the channel holds now, when it said so.
    """

    def __init__(self, message: str, *, current: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.current = current


class ItemError(ChannelsyncError):
    """One item of a batch failed; the others were applied.

    Attributes:
        key: the item's key in the batch (usually the SKU).
        code: the vendor's error code for this item.
        retryable: whether a later attempt of this item may succeed.
        conflict: the item lost a compare-and-set (the channel counted a change we did not).
        current: the channel's current quantity for the item, when it reported one.
    """

    def __init__(
        self,
        key: str,
        message: str,
        *,
        code: str | None = None,
        retryable: bool = False,
        conflict: bool = False,
        current: int | None = None,
        raw: str | bytes | None = None,
    ) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message
        self.code = code
        self.retryable = retryable
        self.conflict = conflict
        self.current = current
        self.raw = _clip(raw)

    def describe(self) -> dict[str, Any]:
        """The error as a plain dict."""
        return {
            "type": "ItemError",
            "key": self.key,
            "message": self.message,
            "code": self.code,
            "retryable": self.retryable,
            "conflict": self.conflict,
        }


class WebhookVerificationError(ChannelsyncError):
    """A webhook was refused: bad or missing signature, unknown topic or malformed body."""


class WebhookPayloadError(WebhookVerificationError):
    """A webhook body is too large, nested too deep, not JSON/XML or not the payload its
    topic promises; the receiver answers 400 and the marketplace should not redeliver."""


class ConfigError(ChannelsyncError):
    """A configuration value is missing or wrong; the message names it."""


class InvalidInput(ChannelsyncError, ValueError):
    """An argument of a public call is wrong; the message names it and the rule it broke.

    Nothing of the call was applied.
    """


class IdempotencyConflict(InvalidInput):
    """An idempotency key was used before for another operation or another payload.

    A key names one operation: repeated with the same payload it is a no-op, with another
    payload it is refused and nothing of the call is applied.

    Attributes:
        key: the idempotency key.
        operation: the operation it was first used for.
    """

    def __init__(self, message: str, *, key: str, operation: str) -> None:
        super().__init__(message)
        self.key = key
        self.operation = operation


class StoreRace(ChannelsyncError):
    """A store transaction lost a race with another worker (deadlock, serialization
    failure, the same idempotency key written at once).

    ``Store.run`` repeats the transaction through the retry policy; callers see this only
    when every attempt lost.
    """


class UnknownAccount(ChannelsyncError, KeyError):
    """The account name is not one of the engine's channel accounts."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown account"


class UnknownOrder(ChannelsyncError, KeyError):
    """The order is not in the store (pull it or ``record_order`` it first)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown order"


class UnknownCustomer(ChannelsyncError, KeyError):
    """No person of the customer file matches (see ``engine.customers()``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown customer"


class OperationRefused(InvalidInput):
    """A cancel, refund or return does not fit the order as it stands; nothing changed.

    The message names what is wrong (more units than are left, more money than was paid, a
    shipped order to cancel) and what to do instead.
    """
