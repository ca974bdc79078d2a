"""The ``Channel`` protocol every adapter implements, and the values that cross it.

An adapter is one class built from a config model (and an optional transport or base
URL); the engine only ever talks to it through these members. Write your own adapter
for a channel channelsync does not ship, and check it with
``channelsync.testing.ChannelContract``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from channelsync.core.errors import ItemError
from channelsync.core.models import Listing, Money, Order, Refund, Shipment

__all__ = [
    "REASONS",
    "CancelOperation",
    "Channel",
    "ChannelLimits",
    "OperationReceipt",
    "OrderFailure",
    "PriceUpdate",
    "PushResult",
    "QuotaState",
    "RateLimit",
    "Reason",
    "RefundOperation",
    "ReturnOperation",
    "ReviewStatus",
    "StockUpdate",
    "SupportsCancel",
    "SupportsOperationStatus",
    "SupportsQuotas",
    "SupportsReadLevels",
    "SupportsReadOrder",
    "SupportsReadStock",
    "SupportsRefund",
    "SupportsReturns",
    "SupportsReviewRequests",
    "WebhookEvent",
    "WebhookEventKind",
]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RateLimit(_Value):
    """A published rate limit of one operation: a steady rate and a burst (token bucket)."""

    operation: str
    per_second: float = Field(gt=0)
    burst: int = Field(default=1, ge=1)
    note: str | None = None


class ChannelLimits(_Value):
    """What the engine plans with: batch sizes and rate limits of one channel.

    Attributes:
        stock_batch: most stock items one write call accepts (Shopify 250, eBay Trading 4).
        price_batch: most price items one write call accepts.
        page_size: orders per page when reading.
        rate_limits: the published limits per operation, for planning and documentation.
        min_poll_interval: the shortest sensible interval between order polls, in seconds
            (Amazon asks for about 3 minutes).
        supports_compare_and_set: stock writes can carry the expected current quantity.
        write_settle_seconds: how long an accepted stock write takes to show in reads
            (Amazon applies a listing patch minutes after ACCEPTED); a read of a listing
            written more recently is never taken as what the channel shows.
        search_lag: how long a changed order takes to show in the order search, in seconds
            (Amazon, eBay: up to about two minutes); the engine re-reads at least this far
            behind its cursor.
        revisions_per_day: the most writes one listing takes per channel day (eBay: 250);
            None for no cap. The engine budgets them (``core.revisions``).
        revisions_timezone: where that day starts (eBay: Pacific time).
    """

    stock_batch: int = Field(ge=1)
    price_batch: int = Field(ge=1)
    page_size: int = Field(ge=1)
    rate_limits: tuple[RateLimit, ...] = ()
    min_poll_interval: float = Field(default=0.0, ge=0)
    supports_compare_and_set: bool = False
    write_settle_seconds: float = Field(default=0.0, ge=0)
    search_lag: float = Field(default=0.0, ge=0)
    revisions_per_day: int | None = Field(default=None, ge=1)
    revisions_timezone: str = "UTC"


class QuotaState(_Value):
    """A call quota of a channel account that is spent: ``resource`` blocked until when."""

    resource: str
    blocked_until: datetime
    code: str | None = None
    detail: str | None = None


class StockUpdate(_Value):
    """Set the quantity a listing shows to an absolute value.

    ``expected`` is the quantity channelsync believes the channel shows now (its last
    acknowledged value); channels with compare-and-set send it so a sale the channel
    counted meanwhile is not overwritten. ``idempotency_key`` is fixed before the first
    attempt and reused for retries.
    """

    sku: str = Field(min_length=1)
    quantity: int = Field(ge=0)
    listing: Listing | None = None
    expected: int | None = None
    idempotency_key: str | None = None
    location: str | None = None
    """The channel's own location id to set the quantity at (channels that keep one per
    location: Shopify locations, Magento sources); None: the listing's one quantity."""


class PriceUpdate(_Value):
    """Set a listing's price."""

    sku: str = Field(min_length=1)
    price: Money
    listing: Listing | None = None
    idempotency_key: str | None = None


class PushResult(_Value):
    """The outcome of one item of a push: ``ok``, or the ``error`` that item got."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    sku: str
    ok: bool
    error: ItemError | None = None
    quantity: int | None = None
    """The value the channel now shows, when it said so."""
    location: str | None = None
    """The channel location id of the update this answers (per-location pushes)."""

    @classmethod
    def success(
        cls, sku: str, quantity: int | None = None, *, location: str | None = None
    ) -> PushResult:
        """An item that went through."""
        return cls(sku=sku, ok=True, quantity=quantity, location=location)

    @classmethod
    def failure(cls, error: ItemError, *, location: str | None = None) -> PushResult:
        """An item that failed with ``error`` (its ``key`` is the SKU)."""
        return cls(sku=error.key, ok=False, error=error, location=location)


WebhookEventKind = Literal[
    "order",
    "order_deleted",
    "stock",
    "product",
    "customer_redact",
    "customer_data_request",
    "shop_redact",
    "ping",
]


class OrderFailure(_Value):
    """An order the channel returned that the adapter could not map (yielded, not raised).

    ``fetch_orders`` yields one of these in place of an order whose payload is malformed
    or inconsistent, so one bad order never blocks the account's order stream: the engine
    records it (``engine.order_failures()``), reports it, and reads on. When the order
    changes on the channel and maps, it is applied and the failure is cleared.
    """

    order_id: str | None
    error: str
    updated_at: datetime | None = None
    raw: dict[str, Any] = Field(default_factory=dict)


class WebhookEvent(_Value):
    """One event out of a verified webhook delivery.

    ``order`` is set for ``order`` events (``order_id`` alone when the channel's body is not
    enough and the next poll brings the order). ``order_deleted`` names an ``order_id`` the
    channel deleted: it will never be polled again, so the engine releases its units.
    ``stock`` events carry ``sku`` and ``quantity`` where the channel says them. Privacy
    events carry the customer in ``customer_ids`` and ``customer_emails`` and the affected
    orders in ``order_ids``.
    """

    kind: WebhookEventKind
    event_id: str | None = None
    topic: str | None = None
    order: Order | None = None
    order_id: str | None = None
    sku: str | None = None
    quantity: int | None = None
    customer_ids: tuple[str, ...] = ()
    customer_emails: tuple[str, ...] = ()
    order_ids: tuple[str, ...] = ()
    response: str | None = None
    """A body the receiver must answer with (eBay's challenge response), else None."""
    raw: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class Channel(Protocol):
    """One sales channel account, as the engine sees it."""

    @property
    def kind(self) -> str:
        """The channel kind: ``"shopify"``, ``"woocommerce"``, ``"amazon"``, ``"ebay"``..."""
        ...

    @property
    def account(self) -> str:
        """The merchant's name for this account (``"shopify-main"``, ``"ebay-de"``)."""
        ...

    @property
    def limits(self) -> ChannelLimits:
        """Batch sizes and rate limits the engine plans with."""
        ...

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        """Every order changed at or after ``updated_after``, oldest change first, all pages.

        An order that cannot be mapped is yielded as an ``OrderFailure``, never raised.
        """
        ...

    def fetch_listings(self) -> Iterator[Listing]:
        """Every listing of the account with its SKU, channel ids, quantity and price."""
        ...

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set absolute quantities, batched by the channel's limits; one result per item."""
        ...

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[PushResult]:
        """Set prices, batched by the channel's limits; one result per item."""
        ...

    def push_fulfillment(self, order_id: str, shipment: Shipment) -> None:
        """Mark the shipment's lines shipped on the channel, with carrier and tracking."""
        ...

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        """Cancel the order on the channel, where the channel allows it."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Verify a delivery and return its events, or raise ``WebhookVerificationError``."""
        ...


@runtime_checkable
class SupportsReadOrder(Protocol):
    """A channel that can read one order by id (optional, beside ``Channel``).

    The engine then re-reads orders that are still open every few hours: a safety net
    for channels whose change times do not move on every change (WooCommerce before 7.6
    on a partial refund, line edits), so no such change waits for another one to be seen.
    """

    def read_order(self, order_id: str) -> Order | OrderFailure | None:
        """The order as the channel has it now; None when the channel no longer has it."""
        ...


@runtime_checkable
class SupportsReadStock(Protocol):
    """A channel that can read what its listings show now, in bulk (optional).

    Channels without compare-and-set implement it so the engine can find out, just
    before it writes, whether a listing sold units the engine has not read yet (and read
    them first, or keep them off the value it writes), instead of overwriting the sale.
    """

    def read_stock(self, listings: Sequence[Listing]) -> dict[str, int | None]:
        """SKU -> the quantity buyers can buy now (None: not listed there), in as few calls
        as the channel allows. Raises ``ChannelError`` when the read fails."""
        ...


@runtime_checkable
class SupportsReadLevels(Protocol):
    """A channel that keeps a quantity per location and can read them in bulk (optional).

    The per-location counterpart of ``SupportsReadStock``, for channels without
    compare-and-set whose accounts map our locations to channel location ids (Magento
    sources): the engine reads the rows it is about to write, per (SKU, channel location),
    and judges each one as it judges a pooled listing, so a sale the channel counted at a
    location is never overwritten there. Channels with compare-and-set (Shopify
    ``inventorySetQuantities``) need not implement it: the write itself refuses a stale
    expectation.

    A sale a channel has not yet placed at any location (Magento reserves an order's units
    on the stock, not a source, until it ships) is charged to the location the channel
    fills such sales from (Magento: the account's default source), so the engine still
    sees it and reads the account's orders first.
    """

    def read_levels(self, listings: Sequence[Listing]) -> dict[str, dict[str, int | None]]:
        """SKU -> channel location id -> the quantity buyers can buy there now, for the
        locations the channel keeps the listing at, in as few calls as the channel allows.
        A location missing from a SKU's figures (or a SKU missing) was not read there: an
        increase waits for a read. Raises ``ChannelError`` when the read fails."""
        ...


# -- after-sale operations (optional capabilities) ---------------------------------------

Reason = Literal[
    "customer_request",
    "out_of_stock",
    "address_issue",
    "fraud",
    "payment_declined",
    "damaged",
    "wrong_item",
    "not_as_described",
    "other",
]
"""Why an order is cancelled, refunded or returned; each adapter maps it to its channel's
codes (eBay ``BUYER_ASKED_CANCEL``, Amazon ``BuyerCanceled``, Shopify ``CUSTOMER``...)."""

REASONS: tuple[Reason, ...] = (
    "customer_request",
    "out_of_stock",
    "address_issue",
    "fraud",
    "payment_declined",
    "damaged",
    "wrong_item",
    "not_as_described",
    "other",
)


class CancelOperation(_Value):
    """Cancel units that have not shipped.

    ``lines`` maps line id to units; empty means the whole order (every unit not shipped).
    ``restock`` lets the channel put the units back in its own stock where it keeps one
    (channelsync pushes absolute quantities anyway). ``idempotency_key`` is the engine's
    key of the operation, the same on every attempt.
    """

    order_id: str = Field(min_length=1)
    lines: dict[str, int] = Field(default_factory=dict)
    reason: Reason = "other"
    note: str | None = None
    restock: bool = True
    idempotency_key: str = Field(min_length=1)


class RefundOperation(_Value):
    """Give money back, optionally for specific lines.

    ``lines`` holds the units refunded per line; of those, ``cancelled`` are units that had
    not shipped (they never will) and ``returned`` shipped units that come back to stock.
    Units in ``lines`` and in neither were shipped and stay with the buyer.
    """

    order_id: str = Field(min_length=1)
    amount: Money
    lines: dict[str, int] = Field(default_factory=dict)
    line_amounts: dict[str, Money] = Field(default_factory=dict)
    """The amount split over ``lines`` by what their units cost (empty when the lines
    carry no prices): for channels that refund per line (eBay ``refundItems``)."""
    cancelled: dict[str, int] = Field(default_factory=dict)
    returned: dict[str, int] = Field(default_factory=dict)
    reason: Reason = "other"
    note: str | None = None
    idempotency_key: str = Field(min_length=1)


class ReturnOperation(_Value):
    """Units the buyer sent back arrived: tell the channel (restocked or not)."""

    order_id: str = Field(min_length=1)
    lines: dict[str, int]
    restock: bool = True
    location: str | None = None
    """The channel's own location id to restock at, where the channel has locations."""
    reason: Reason = "other"
    note: str | None = None
    idempotency_key: str = Field(min_length=1)


class OperationReceipt(_Value):
    """What the channel answered to an after-sale operation.

    ``status`` is ``"done"`` when the channel has applied it, ``"pending"`` when it works
    on it asynchronously (an Amazon feed in process, an eBay refund pending): the engine
    asks again with ``SupportsOperationStatus.operation_status``. ``reference`` is the
    channel's id (refund id, cancel id, feed id, return id).
    """

    status: Literal["done", "pending"] = "done"
    reference: str | None = None
    refund: Refund | None = None
    detail: str | None = None


@runtime_checkable
class SupportsCancel(Protocol):
    """A channel that cancels units of an order through its API (optional)."""

    def cancel_lines(self, operation: CancelOperation) -> OperationReceipt:
        """Cancel the operation's units; raise ``Rejected`` saying what to do instead where
        the channel cannot (eBay cancels whole orders only, a shipped order)."""
        ...


@runtime_checkable
class SupportsQuotas(Protocol):
    """A channel whose call quotas can be spent for hours (eBay's daily Trading quota).

    The engine stores what ``quotas()`` reports after each cycle and hands it back with
    ``restore_quotas`` when it starts, so a restart does not spend calls to find out again.
    """

    def quotas(self) -> list[QuotaState]:
        """The quotas spent now."""
        ...

    def restore_quotas(self, states: Sequence[QuotaState]) -> None:
        """Take quotas known spent (from the store) as spent until their time."""
        ...


@runtime_checkable
class SupportsRefund(Protocol):
    """A channel that refunds money through its API (optional)."""

    def refund(self, operation: RefundOperation) -> OperationReceipt:
        """Refund the operation's amount; the channel refuses more than was paid."""
        ...


@runtime_checkable
class SupportsReturns(Protocol):
    """A channel that records returned units through its API (optional)."""

    def record_return(self, operation: ReturnOperation) -> OperationReceipt:
        """Record the units as returned on the channel (restocked there or not)."""
        ...


@runtime_checkable
class SupportsOperationStatus(Protocol):
    """A channel whose after-sale operations can finish later (optional)."""

    def operation_status(self, order_id: str, receipt: OperationReceipt) -> OperationReceipt:
        """The receipt as it stands now: ``done``, still ``pending``, or raise the channel's
        refusal (``Rejected``) when processing failed."""
        ...


ReviewStatus = Literal["eligible", "not_yet", "expired", "sent", "unavailable"]
"""Where an order stands for a review request on a channel that sends them itself."""


@runtime_checkable
class SupportsReviewRequests(Protocol):
    """A channel that sends review requests to buyers itself (Amazon Solicitations)."""

    def review_request_status(self, order: Order) -> ReviewStatus:
        """Whether the channel allows a review request for ``order`` now."""
        ...

    def send_review_request(self, order: Order) -> None:
        """Ask the buyer for a review; ``Rejected`` when the channel refuses (once per
        order, outside its window)."""
        ...
