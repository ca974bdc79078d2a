"""The Amazon fake's state: seller, listings, orders, feeds, tokens, buckets; shared helpers."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from channelsync.adapters._ratelimit import TokenBucket
from channelsync.core.errors import ConfigError
from channelsync.core.models import utcnow
from channelsync.sandbox._base import FakeMarketplace
from channelsync.sandbox.amazon.validation import SpApiModelValidator

__all__ = [
    "DATASETS",
    "DOCUMENT_TTL",
    "FULFILLMENT_STATUSES",
    "MARKETS",
    "PUBLISHED_RATE_LIMITS",
    "QUOTA_EXCEEDED",
    "AmazonState",
    "Answer",
    "DocumentRecord",
    "FeedRecord",
    "ListingRecord",
    "Override",
    "PageSnapshot",
    "PendingChange",
    "csv_values",
    "error_answer",
    "invalid_input",
    "iso_ms",
    "iso_us",
    "listing_issue",
    "money_json",
    "parse_time",
]

#: Amazon's published default usage plans: operation -> (requests per second, burst).
PUBLISHED_RATE_LIMITS: dict[str, tuple[float, int]] = {
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "getListingsItem": (5.0, 10),
    "searchListingsItems": (5.0, 5),
    "patchListingsItem": (5.0, 5),
    "createFeedDocument": (0.5, 15),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "getFeedDocument": (0.0222, 10),
    "getSolicitationActionsForOrder": (1.0, 5),
    "createProductReviewAndSellerFeedbackSolicitation": (1.0, 5),
}

MARKETS: dict[str, tuple[str, str, str]] = {
    # id: (currency, marketplace name, country)
    "A1PA6795UKMFR9": ("EUR", "Amazon.de", "DE"),
    "A13V1IB3VIYZZH": ("EUR", "Amazon.fr", "FR"),
    "APJ6JRA9NG5V4": ("EUR", "Amazon.it", "IT"),
    "A1RKKUPIHCS9HS": ("EUR", "Amazon.es", "ES"),
    "A1805IZSGTT6HS": ("EUR", "Amazon.nl", "NL"),
    "A1F83G8C2ARO7P": ("GBP", "Amazon.co.uk", "GB"),
    "A1C3SOZRARQ6R3": ("PLN", "Amazon.pl", "PL"),
    "A2NODRKZP88ZB9": ("SEK", "Amazon.se", "SE"),
}

DATASETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # includedData value: (order keys, order item keys) it brings
    "BUYER": (("buyer",), ()),
    "RECIPIENT": (("recipient",), ()),
    "PROCEEDS": (("proceeds",), ("proceeds",)),
    "EXPENSE": ((), ("expense",)),
    "PROMOTION": ((), ("promotion",)),
    "CANCELLATION": ((), ("cancellation",)),
    "FULFILLMENT": (("fulfillment",), ("fulfillment",)),
    "PACKAGES": (("packages",), ()),
    "TAX": (("tax",), ("tax",)),
    "PAYMENT": (("payment",), ()),
    "FULFILLMENT_ORDERS": (("fulfillmentOrders",), ()),
}
FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
)
DOCUMENT_TTL = timedelta(minutes=5)

Answer = tuple[int, Any, dict[str, str]]


def iso_ms(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_us(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def money_json(amount: Decimal, currency: str) -> dict[str, str]:
    return {
        "amount": f"{amount:.2f}" if currency != "JPY" else f"{amount:.0f}",
        "currencyCode": currency,
    }


def error_answer(status: int, code: str, message: str, details: str | None = None) -> Answer:
    error: dict[str, str] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return status, {"errors": [error]}, {}


def invalid_input(details: str) -> Answer:
    return error_answer(400, "InvalidInput", "Invalid Input", details)


def csv_values(values: Sequence[str]) -> list[str]:
    return [v for item in values for v in item.split(",") if v]


@dataclass
class ListingRecord:
    sku: str
    product_type: str
    title: str | None
    asin: str
    quantity: int | None
    fulfilled_by: str  # "MERCHANT" or "AMAZON"
    prices: dict[str, Decimal]
    created: datetime
    updated: datetime
    marketplace_ids: tuple[str, ...]


@dataclass
class DocumentRecord:
    document_id: str
    content_type: str
    created: datetime
    content: bytes | None = None
    result: bool = False


@dataclass
class FeedRecord:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    document_id: str
    created: datetime
    polls: int = 0
    status: str = "IN_QUEUE"
    started: datetime | None = None
    ended: datetime | None = None
    result_document_id: str | None = None
    partial_failure: bool = False
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class PendingChange:
    """An accepted listing change that Amazon has not applied yet."""

    due: datetime
    seq: int
    sku: str
    listing: ListingRecord
    changes: list[Callable[[], None]]


@dataclass
class PageSnapshot:
    key: str
    ids: list[str]
    offset: int


@dataclass
class Override:
    operation: str
    status: int
    body: bytes
    headers: dict[str, str]
    remaining: int
    skip: int = 0


QUOTA_EXCEEDED = json.dumps(
    {
        "errors": [
            {
                "code": "QuotaExceeded",
                "message": "You exceeded your quota for the requested resource.",
                "details": "",
            }
        ]
    }
).encode()


def listing_issue(code: str, message: str, attributes: list[str]) -> dict[str, Any]:
    issue: dict[str, Any] = {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "categories": ["INVALID_ATTRIBUTE"] if attributes else [],
    }
    if attributes:
        issue["attributeNames"] = attributes
    return issue


class AmazonState(FakeMarketplace):
    """What the Amazon fake holds; the API mixins and ``AmazonFake`` build on it."""

    name: ClassVar[str] = "amazon"
    seller_id = "A1SANDBOXSELLER"
    lwa_client_id = "amzn1.application-oa2-client.channelsync-sandbox"
    lwa_client_secret = "channelsync-sandbox-lwa-secret"
    refresh_token = "Atzr|channelsync-sandbox-refresh-token"

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
        marketplace_ids: Sequence[str] = ("A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4"),
        validator: SpApiModelValidator | None = None,
    ) -> None:
        super().__init__(latency_ms=latency_ms, clock=clock)
        unknown = [m for m in marketplace_ids if m not in MARKETS]
        if unknown:
            raise ConfigError(f"the Amazon fake does not model marketplace(s) {unknown}")
        self.marketplace_ids = tuple(marketplace_ids)
        self.validator = validator
        self.enforce_rate_limits = True
        self.feed_processing_polls = 1
        """How many ``getFeed`` polls see a feed IN_PROGRESS before it is DONE (at least)."""
        self.feed_processing_seconds = 120.0
        """How long a ``JSON_LISTINGS_FEED`` takes from ``createFeed`` to DONE on the fake's
        clock (Amazon: minutes; 0 makes polls alone decide)."""
        self.patch_apply_delay = 180.0
        """Seconds between ``patchListingsItem`` answering ACCEPTED and the change showing
        (Amazon processes accepted submissions asynchronously; 0: at once)."""
        self.order_search_lag: tuple[float, float] = (30.0, 120.0)
        """Each order change shows in ``searchOrders`` this many seconds (min, max; per
        change, deterministic) after it happened; ``getOrder`` reads it at once. Amazon's
        ``lastUpdatedBefore`` must be at least two minutes before the request for the
        same reason. (0, 0): at once."""
        self.token_lifetime = 3600
        self._tokens: dict[str, datetime] = {}
        self._listings: dict[str, ListingRecord] = {}
        self._orders: dict[str, dict[str, Any]] = {}
        self._documents: dict[str, DocumentRecord] = {}
        self._feeds: dict[str, FeedRecord] = {}
        self._pages: dict[str, PageSnapshot] = {}
        self._overrides: list[Override] = []
        self._buckets: dict[str, TokenBucket] = {
            op: TokenBucket(rate, burst) for op, (rate, burst) in PUBLISHED_RATE_LIMITS.items()
        }
        self._ids = itertools.count(1)
        self._last_change = datetime.min.replace(tzinfo=UTC)
        self._state_lock = threading.RLock()
        self._channels: list[Any] = []
        self._pending: list[PendingChange] = []
        self._versions: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
        self._publish: Callable[[dict[str, Any]], None] | None = None
        #: The local SQS the Sandbox publishes notifications to (for account settings).
        self.notifications_queue: Any = None

    # -- delays -------------------------------------------------------------------------------

    def _settle(self) -> None:
        """Apply the accepted listing changes whose time has come (callers hold the lock)."""
        if not self._pending:
            return
        now = self.clock()
        due = [p for p in self._pending if p.due <= now]
        if not due:
            return
        self._pending = [p for p in self._pending if p.due > now]
        for change in sorted(due, key=lambda p: (p.due, p.seq)):
            listing = self._listings.get(change.sku)
            if listing is not change.listing:
                continue  # deleted (or listed anew) meanwhile
            for apply in change.changes:
                apply()
            listing.updated = max(listing.updated, change.due)

    def pending_changes(self, sku: str | None = None) -> int:
        """Accepted listing changes not applied yet (of ``sku``, or all)."""
        with self._state_lock:
            self._settle()
            return sum(1 for p in self._pending if sku is None or p.sku == sku)

    def _search_lag(self, order_id: str, updated: str) -> float:
        low, high = self.order_search_lag
        if high <= low:
            return max(0.0, low)
        digest = hashlib.sha256(f"{order_id}|{updated}".encode()).digest()
        return low + (high - low) * (int.from_bytes(digest[:4], "big") / 0xFFFFFFFF)

    def _changed(self, order_id: str, *, notify: bool = True) -> None:
        """Record a change of the order: it reaches the search index after its lag, and an
        ORDER_CHANGE notification goes out (callers hold the lock)."""
        order = self._orders[order_id]
        updated = str(order["lastUpdatedTime"])
        when = parse_time(updated) or self.clock()
        visible = when + timedelta(seconds=self._search_lag(order_id, updated))
        self._versions.setdefault(order_id, []).append((visible, copy.deepcopy(order)))
        if notify and self._publish is not None:
            self._publish(self._notification(order_id))

    def searchable(self, order_id: str) -> dict[str, Any] | None:
        """The version of an order ``searchOrders`` serves now (None: not indexed yet)."""
        now = self.clock()
        seen = [doc for visible, doc in self._versions.get(order_id, []) if visible <= now]
        return seen[-1] if seen else None

    def _notification(self, order_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def _tick(self) -> datetime:
        """Now, strictly after the last change (order times carry microseconds)."""
        now = self.clock()
        if now <= self._last_change:
            now = self._last_change + timedelta(microseconds=1)
        self._last_change = now
        return now
