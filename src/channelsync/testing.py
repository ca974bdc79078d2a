"""Testing helpers for people who build on channelsync or write their own adapter.

``FakeChannel`` is an in-memory channel with configurable limits, failures and delays,
for unit tests of shop code and of the engine. ``ChannelContract`` is a pytest base class
of conformance tests: subclass it once for an adapter, implement its hooks, and pytest
runs every check against that adapter::

    class TestMyChannel(ChannelContract):
        @pytest.fixture(autouse=True)
        def _backend(self):
            self.backend = start_my_fake()
            yield
            self.backend.stop()

        def make_channel(self): return MyChannel(MyConfig(...), base_url=self.backend.url)
        def seed_listing(self, sku, quantity, price="10.00"): self.backend.add(sku, quantity, price)
        ...
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from channelsync.core.channel import (
    CancelOperation,
    Channel,
    ChannelLimits,
    OperationReceipt,
    OrderFailure,
    PriceUpdate,
    PushResult,
    RateLimit,
    RefundOperation,
    ReturnOperation,
    StockUpdate,
    SupportsCancel,
    SupportsOperationStatus,
    SupportsReadLevels,
    SupportsReadOrder,
    SupportsReadStock,
    SupportsRefund,
    SupportsReturns,
    WebhookEvent,
)
from channelsync.core.errors import (
    ChannelError,
    ItemError,
    NotFound,
    PermanentError,
    RateLimited,
    Rejected,
    TransientError,
    Unavailable,
    WebhookVerificationError,
)
from channelsync.core.models import (
    Listing,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    Shipment,
    utcnow,
)

__all__ = ["ChannelContract", "FakeChannel"]

_SIGNATURE_HEADER = "x-fake-signature"


class FakeChannel:
    """An in-memory sales channel that behaves like a strict one.

    It pages orders by ``limits.page_size`` (oldest change first), refuses a push bigger
    than ``limits.stock_batch`` (so a caller that ignores limits fails loudly), reports
    unknown SKUs per item, supports compare-and-set when asked to, and signs webhooks
    with HMAC-SHA256. Failures and delays are injectable per operation.

    Args:
        account: the account name.
        limits: batch sizes; defaults to 50 per stock/price call and 20 orders per page.
        compare_and_set: push_stock honours ``StockUpdate.expected`` (like Shopify).
        webhook_secret: the secret webhooks are signed with.
        delay: seconds every call sleeps (a slow channel).
    """

    kind = "fake"

    def __init__(
        self,
        account: str = "fake",
        *,
        limits: ChannelLimits | None = None,
        compare_and_set: bool = False,
        webhook_secret: str = "fake-webhook-secret",  # noqa: S107 - a fake's own test secret
        delay: float = 0.0,
        currency: str = "EUR",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._account = account
        self._limits = limits or ChannelLimits(
            stock_batch=50,
            price_batch=50,
            page_size=20,
            rate_limits=(RateLimit(operation="push_stock", per_second=10, burst=10),),
            supports_compare_and_set=compare_and_set,
        )
        if compare_and_set and not self._limits.supports_compare_and_set:
            self._limits = self._limits.model_copy(update={"supports_compare_and_set": True})
        self.webhook_secret = webhook_secret
        self.delay = delay
        self.currency = currency
        self.clock = clock
        self.quantities: dict[str, int] = {}
        self.levels: dict[str, dict[str, int]] = {}
        """Per-location quantities (SKU -> channel location id -> units) of SKUs listed so."""
        self.prices: dict[str, Money] = {}
        self.unmanaged: set[str] = set()
        self.channel_fulfilled: set[str] = set()
        self.orders: dict[str, Order] = {}
        self.unreadable: dict[str, OrderFailure] = {}
        self.fulfillments: list[tuple[str, Shipment]] = []
        self.returned: dict[tuple[str, str], int] = {}
        """Units recorded as returned per (order id, line id)."""
        self._operations: dict[str, OperationReceipt] = {}
        self.calls: Counter[str] = Counter()
        self.pushed: list[list[StockUpdate]] = []
        self.on_push: Callable[[Sequence[StockUpdate]], None] | None = None
        self._failures: dict[str, list[Exception]] = {}
        self._item_failures: dict[str, list[ItemError]] = {}
        self._ids = itertools.count(1)
        self._last_change = datetime.min.replace(tzinfo=clock().tzinfo)
        self._lock = threading.RLock()

    # -- identity -------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """The account name."""
        return self._account

    @property
    def limits(self) -> ChannelLimits:
        """Batch sizes and rate limits."""
        return self._limits

    def __repr__(self) -> str:
        return f"FakeChannel(account={self._account!r})"

    # -- arranging ------------------------------------------------------------------------

    def add_listing(
        self,
        sku: str,
        quantity: int = 0,
        price: str | None = None,
        *,
        manages_stock: bool = True,
        fulfilled_by_channel: bool = False,
        levels: Mapping[str, int] | None = None,
    ) -> None:
        """List ``sku`` with ``quantity`` units (and a price); with ``levels`` (channel
        location id -> units) the channel keeps a quantity per location, as Shopify does,
        and ``quantity`` is their sum."""
        with self._lock:
            if levels:
                self.levels[sku] = dict(levels)
                quantity = sum(levels.values())
            self.quantities[sku] = quantity
            if price is not None:
                self.prices[sku] = Money.of(price, self.currency)
            if not manages_stock:
                self.unmanaged.add(sku)
            if fulfilled_by_channel:
                self.channel_fulfilled.add(sku)

    def _tick(self) -> datetime:
        now = self.clock()
        if now <= self._last_change:
            now = self._last_change + timedelta(microseconds=1)
        self._last_change = now
        return now

    def place_order(
        self,
        lines: Mapping[str, int],
        *,
        status: OrderStatus = OrderStatus.OPEN,
        order_id: str | None = None,
        location: str | None = None,
    ) -> Order:
        """A buyer orders ``lines`` (SKU -> quantity); the channel's own stock drops (at
        ``location``, a channel location id, which the order lines then carry)."""
        with self._lock:
            now = self._tick()
            oid = order_id or f"F{next(self._ids):06d}"
            self.unreadable.pop(oid, None)
            order = Order(
                kind=self.kind,
                account=self._account,
                order_id=oid,
                number=f"#{oid}",
                status=status,
                raw_status=status.value,
                created_at=now,
                updated_at=now,
                currency=self.currency,
                total=sum(
                    (self.prices.get(s, Money.zero(self.currency)) * q for s, q in lines.items()),
                    Money.zero(self.currency),
                ),
                lines=tuple(
                    OrderLine(
                        line_id=f"{oid}-{i}",
                        sku=sku,
                        quantity=qty,
                        unit_price=self.prices.get(sku),
                        fulfilled_by_channel=sku in self.channel_fulfilled,
                        location_id=location,
                    )
                    for i, (sku, qty) in enumerate(lines.items(), 1)
                ),
            )
            for sku, qty in lines.items():
                if sku in self.quantities:
                    self.quantities[sku] -= qty
                if location is not None and sku in self.levels:
                    self.levels[sku][location] = self.levels[sku].get(location, 0) - qty
            self.orders[oid] = order
            return order

    def update_order(self, order_id: str, **changes: Any) -> Order:
        """Change an order as the channel would (``status=``, ``lines=``); bumps updated_at."""
        with self._lock:
            self.unreadable.pop(order_id, None)
            order = self.orders[order_id]
            changes.setdefault("raw_status", changes.get("status", order.status).value)
            order = Order.model_validate(
                {**order.model_dump(), **changes, "updated_at": self._tick()}
            )
            self.orders[order_id] = order
            return order

    def add_unreadable_order(self, order_id: str, error: str = "payload is malformed") -> None:
        """An order whose payload the adapter cannot map: ``fetch_orders`` yields a failure.

        ``update_order`` or ``place_order`` with the same id makes it readable again.
        """
        with self._lock:
            self.unreadable[order_id] = OrderFailure(
                order_id=order_id, error=error, updated_at=self._tick(), raw={"id": order_id}
            )

    def fail(self, operation: str, error: Exception, times: int = 1) -> None:
        """Raise ``error`` from the next ``times`` calls of ``operation``."""
        with self._lock:
            self._failures.setdefault(operation, []).extend([error] * times)

    def fail_item(
        self,
        sku: str,
        message: str = "refused",
        *,
        times: int = 1,
        conflict: bool = False,
        retryable: bool = False,
    ) -> None:
        """Make the next ``times`` pushes of ``sku`` fail for that item only."""
        with self._lock:
            err = ItemError(
                sku,
                message,
                code="FAKE",
                conflict=conflict,
                retryable=retryable,
                current=self.quantities.get(sku) if conflict else None,
            )
            self._item_failures.setdefault(sku, []).extend([err] * times)

    def sign(self, body: bytes) -> dict[str, str]:
        """The headers of a correctly signed webhook delivery of ``body``."""
        digest = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Fake-Signature": digest, "Content-Type": "application/json"}

    def webhook_for(
        self, order: Order, event_id: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """A signed webhook delivery announcing ``order``."""
        body = json.dumps(
            {
                "event_id": event_id or f"evt-{next(self._ids)}",
                "topic": "order",
                "order": order.model_dump(mode="json"),
            }
        ).encode()
        return self.sign(body), body

    def _enter(self, operation: str) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls[operation] += 1
            queue = self._failures.get(operation)
            if queue:
                raise queue.pop(0)

    # -- the Channel protocol ---------------------------------------------------------------

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        """Every order changed at or after ``updated_after``, oldest first, paged."""
        with self._lock:
            items: list[Order | OrderFailure] = [
                o
                for o in self.orders.values()
                if o.updated_at >= updated_after and o.order_id not in self.unreadable
            ]
            items += [
                f
                for f in self.unreadable.values()
                if f.updated_at is not None and f.updated_at >= updated_after
            ]
            pending = sorted(items, key=lambda o: (o.updated_at or updated_after, o.order_id or ""))
        size = self._limits.page_size
        for start in range(0, len(pending), size):
            self._enter("fetch_orders")
            yield from pending[start : start + size]
        if not pending:
            self._enter("fetch_orders")

    def read_order(self, order_id: str) -> Order | OrderFailure | None:
        """One order as the channel has it now (None: unknown here)."""
        self._enter("read_order")
        with self._lock:
            if order_id in self.unreadable:
                return self.unreadable[order_id]
            return self.orders.get(order_id)

    def edit_silently(self, order_id: str, **changes: Any) -> Order:
        """Change an order without moving its ``updated_at`` (as WooCommerce does for some
        edits): polling by change time does not see it."""
        with self._lock:
            order = self.orders[order_id]
            order = Order.model_validate({**order.model_dump(), **changes})
            self.orders[order_id] = order
            return order

    def fetch_listings(self) -> Iterator[Listing]:
        """Every listing."""
        self._enter("fetch_listings")
        with self._lock:
            items = sorted(self.quantities.items())
            levels_of = {sku: dict(v) for sku, v in self.levels.items()}
        for sku, qty in items:
            yield Listing(
                kind=self.kind,
                account=self._account,
                sku=sku,
                listing_id=f"L-{sku}",
                quantity=qty,
                price=self.prices.get(sku),
                manages_stock=sku not in self.unmanaged,
                fulfilled_by="channel" if sku in self.channel_fulfilled else "merchant",
                ids={"fake_id": f"L-{sku}"},
                levels=dict(levels_of.get(sku, {})),
            )

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set quantities, one call per ``limits.stock_batch`` items."""
        results: list[PushResult] = []
        size = self._limits.stock_batch
        for start in range(0, len(updates), size):
            chunk = list(updates[start : start + size])
            self._enter("push_stock")
            self.pushed.append(chunk)
            if self.on_push is not None:
                self.on_push(chunk)
            with self._lock:
                for u in chunk:
                    results.append(self._set_one(u))
        return results

    def _set_one(self, u: StockUpdate) -> PushResult:
        queued = self._item_failures.get(u.sku)
        if queued:
            return PushResult.failure(queued.pop(0))
        if u.sku not in self.quantities:
            return PushResult.failure(
                ItemError(u.sku, "no listing with this SKU", code="NOT_FOUND")
            )
        if u.sku in self.unmanaged:
            return PushResult.failure(
                ItemError(u.sku, "listing does not manage stock", code="UNMANAGED")
            )
        levels = self.levels.get(u.sku)
        if u.location is not None and (levels is None or u.location not in levels):
            return PushResult.failure(
                ItemError(u.sku, f"not stocked at location {u.location}", code="NOT_STOCKED"),
                location=u.location,
            )
        current = (
            levels[u.location] if levels is not None and u.location else self.quantities[u.sku]
        )
        if (
            self._limits.supports_compare_and_set
            and u.expected is not None
            and u.expected != current
        ):
            return PushResult.failure(
                ItemError(
                    u.sku,
                    f"expected {u.expected}, channel has {current}",
                    code="STALE",
                    conflict=True,
                    current=current,
                ),
                location=u.location,
            )
        if levels is not None and u.location is not None:
            levels[u.location] = u.quantity
            self.quantities[u.sku] = sum(levels.values())
        else:
            self.quantities[u.sku] = u.quantity
        return PushResult.success(u.sku, u.quantity, location=u.location)

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[PushResult]:
        """Set prices, one call per ``limits.price_batch`` items."""
        results: list[PushResult] = []
        size = self._limits.price_batch
        for start in range(0, len(updates), size):
            self._enter("push_prices")
            with self._lock:
                for u in updates[start : start + size]:
                    if u.sku not in self.quantities:
                        results.append(
                            PushResult.failure(ItemError(u.sku, "no listing with this SKU"))
                        )
                    else:
                        self.prices[u.sku] = u.price
                        results.append(PushResult.success(u.sku))
        return results

    def push_fulfillment(self, order_id: str, shipment: Shipment) -> None:
        """Mark the shipment's lines shipped (all open lines when it names none); a repeat
        of a recorded shipment (same tracking number) changes nothing."""
        self._enter("push_fulfillment")
        with self._lock:
            if order_id not in self.orders:
                raise NotFound(
                    f"no order {order_id}",
                    channel=self._account,
                    operation="push_fulfillment",
                    status=404,
                )
            order = self.orders[order_id]
            if shipment.tracking_number and any(
                oid == order_id and s.tracking_number == shipment.tracking_number
                for oid, s in self.fulfillments
            ):
                return  # a repeat of a shipment already recorded
            wanted = shipment.lines or {ln.line_id: ln.quantity_open for ln in order.lines}
            lines = tuple(
                ln.model_copy(
                    update={
                        "quantity_shipped": min(
                            ln.quantity - ln.quantity_cancelled,
                            ln.quantity_shipped + wanted.get(ln.line_id, 0),
                        )
                    }
                )
                for ln in order.lines
            )
            done = all(ln.quantity_open == 0 for ln in lines)
            self.fulfillments.append((order_id, shipment))
            self.update_order(
                order_id,
                lines=[ln.model_dump() for ln in lines],
                status=OrderStatus.SHIPPED if done else OrderStatus.PARTIALLY_SHIPPED,
                shipments=[*[s.model_dump() for s in order.shipments], shipment.model_dump()],
            )

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        """Cancel an unshipped order."""
        self._enter("cancel_order")
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise NotFound(
                    f"no order {order_id}",
                    channel=self._account,
                    operation="cancel_order",
                    status=404,
                )
            if order.status is OrderStatus.SHIPPED:
                raise Rejected(
                    f"order {order_id} has shipped",
                    channel=self._account,
                    operation="cancel_order",
                    status=422,
                )
            self.update_order(order_id, status=OrderStatus.CANCELLED)

    # -- after-sale (SupportsCancel, SupportsRefund, SupportsReturns) ----------------------

    def _known(self, order_id: str, operation: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise NotFound(
                f"no order {order_id}", channel=self._account, operation=operation, status=404
            )
        return order

    def _refuse(self, message: str, operation: str) -> Rejected:
        return Rejected(message, channel=self._account, operation=operation, status=422)

    def cancel_lines(self, operation: CancelOperation) -> OperationReceipt:
        """Cancel units not shipped; the channel restocks them when asked. A repeat of the
        same idempotency key returns the first receipt."""
        self._enter("cancel_lines")
        with self._lock:
            if operation.idempotency_key in self._operations:
                return self._operations[operation.idempotency_key]
            order = self._known(operation.order_id, "cancel_lines")
            if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
                raise self._refuse(f"order {order.order_id} is {order.status.value}", "cancel")
            wanted = operation.lines or {
                ln.line_id: ln.quantity_open for ln in order.lines if ln.quantity_open
            }
            if not wanted:
                raise self._refuse(
                    f"order {order.order_id} has shipped: nothing is left to cancel", "cancel"
                )
            lines = {ln.line_id: ln for ln in order.lines}
            for line_id, qty in wanted.items():
                line = lines.get(line_id)
                if line is None or qty > line.quantity_open:
                    raise self._refuse(
                        f"line {line_id} of order {order.order_id} has"
                        f" {line.quantity_open if line else 0} unit(s) to cancel, not {qty}",
                        "cancel",
                    )
            new_lines = []
            for line in order.lines:
                qty = wanted.get(line.line_id, 0)
                if (
                    qty
                    and operation.restock
                    and line.sku is not None
                    and line.sku in self.quantities
                ):
                    self.quantities[line.sku] += qty
                new_lines.append(
                    line.model_copy(update={"quantity_cancelled": line.quantity_cancelled + qty})
                )
            done = all(ln.quantity_open == 0 for ln in new_lines)
            shipped = any(ln.quantity_shipped for ln in new_lines)
            status: OrderStatus = order.status
            if done:
                status = OrderStatus.SHIPPED if shipped else OrderStatus.CANCELLED
            self.update_order(
                order.order_id, lines=[ln.model_dump() for ln in new_lines], status=status
            )
            receipt = OperationReceipt(reference=f"C-{operation.idempotency_key[-12:]}")
            self._operations[operation.idempotency_key] = receipt
            return receipt

    def refund(self, operation: RefundOperation) -> OperationReceipt:
        """Refund at most what was paid less earlier refunds; refunded units not shipped are
        cancelled, returned ones go back to the channel's stock."""
        self._enter("refund")
        with self._lock:
            if operation.idempotency_key in self._operations:
                return self._operations[operation.idempotency_key]
            order = self._known(operation.order_id, "refund")
            paid = order.total or Money.zero(self.currency)
            if operation.amount.currency != paid.currency:
                raise self._refuse(
                    f"order {order.order_id} was paid in {paid.currency}, not"
                    f" {operation.amount.currency}",
                    "refund",
                )
            before = sum(
                (r.amount for r in order.refunds if r.amount is not None), Money.zero(paid.currency)
            )
            if operation.amount > paid - before:
                raise self._refuse(
                    f"refund {operation.amount} exceeds the {paid - before} left to refund",
                    "refund",
                )
            lines = {ln.line_id: ln for ln in order.lines}
            new_lines = []
            for line in order.lines:
                qty = operation.cancelled.get(line.line_id, 0)
                if qty > line.quantity_open:
                    raise self._refuse(f"line {line.line_id} has no {qty} units open", "refund")
                new_lines.append(
                    line.model_copy(update={"quantity_cancelled": line.quantity_cancelled + qty})
                )
            for line_id, qty in (*operation.cancelled.items(), *operation.returned.items()):
                sku = lines[line_id].sku if line_id in lines else None
                if sku is not None and sku in self.quantities:
                    self.quantities[sku] += qty
            refund = Refund(
                refund_id=f"R{next(self._ids):06d}",
                amount=operation.amount,
                created_at=self._tick(),
                reason=operation.note or operation.reason,
                lines=dict(operation.lines),
            )
            refunded = before + operation.amount
            status = OrderStatus.REFUNDED if refunded >= paid else order.status
            if status is not OrderStatus.REFUNDED and all(
                ln.quantity_open == 0 for ln in new_lines
            ):
                status = (
                    OrderStatus.SHIPPED
                    if any(ln.quantity_shipped for ln in new_lines)
                    else OrderStatus.CANCELLED
                )
            self.update_order(
                order.order_id,
                lines=[ln.model_dump() for ln in new_lines],
                refunds=[*[r.model_dump() for r in order.refunds], refund.model_dump()],
                status=status,
            )
            receipt = OperationReceipt(reference=refund.refund_id, refund=refund)
            self._operations[operation.idempotency_key] = receipt
            return receipt

    def record_return(self, operation: ReturnOperation) -> OperationReceipt:
        """Record returned units: never more than a line shipped (less earlier returns)."""
        self._enter("record_return")
        with self._lock:
            if operation.idempotency_key in self._operations:
                return self._operations[operation.idempotency_key]
            order = self._known(operation.order_id, "record_return")
            lines = {ln.line_id: ln for ln in order.lines}
            for line_id, qty in operation.lines.items():
                line = lines.get(line_id)
                back = self.returned.get((order.order_id, line_id), 0)
                if line is None or qty > line.quantity_shipped - back:
                    raise self._refuse(
                        f"line {line_id} of order {order.order_id} shipped"
                        f" {line.quantity_shipped if line else 0} unit(s), {back} returned:"
                        f" {qty} more cannot come back",
                        "record_return",
                    )
            for line_id, qty in operation.lines.items():
                key = (order.order_id, line_id)
                self.returned[key] = self.returned.get(key, 0) + qty
                sku = lines[line_id].sku
                if operation.restock and sku is not None and sku in self.quantities:
                    self.quantities[sku] += qty
            receipt = OperationReceipt(reference=f"RMA-{next(self._ids):06d}")
            self._operations[operation.idempotency_key] = receipt
            return receipt

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Verify ``X-Fake-Signature`` (hex HMAC-SHA256) and return the order event."""
        lower = {k.lower(): v for k, v in headers.items()}
        given = lower.get(_SIGNATURE_HEADER)
        if not given:
            raise WebhookVerificationError("missing X-Fake-Signature header")
        expected = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookVerificationError("X-Fake-Signature does not match the body")
        try:
            payload = json.loads(body)
            order = Order.model_validate(payload["order"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookVerificationError(
                f"webhook body is not a fake order event: {exc}"
            ) from exc
        if order.account != self._account:
            raise WebhookVerificationError(
                f"webhook is for account {order.account!r}, not {self._account!r}"
            )
        return [
            WebhookEvent(
                kind="order",
                event_id=str(payload.get("event_id")),
                topic="order",
                order=order,
                raw=payload,
            )
        ]


class ChannelContract:
    """Conformance tests every ``Channel`` implementation must pass.

    Subclass it (with a name starting ``Test``) and implement the hooks below; a fixture
    of the subclass can start whatever backend the channel talks to. Every test calls the
    channel's methods directly, so an adapter must not retry on its own: errors surface
    mapped to the channelsync hierarchy, and the engine's retry policy decides.

    The checks come in groups (identity, orders, listings, stock, prices, fulfilment,
    cancellation, webhooks, errors), each one test method of its own. What a channel cannot
    do is switched off with a capability flag (``contract_prices = False``...) and the check
    is skipped saying so; compare-and-set is checked where ``limits.supports_compare_and_set``
    says the channel has it. A group that needs a hook the subclass does not implement
    (``seed_unreadable_order``...) is skipped with a visible reason.
    """

    #: how many orders the paging test seeds; default: two pages and one more.
    contract_orders: int | None = None
    #: the most listings a test seeds at once (keeps slow backends quick).
    contract_max_items: int = 600
    #: the channel sets prices (``push_prices``).
    contract_prices: bool = True
    #: the channel marks orders shipped (``push_fulfillment``).
    contract_fulfillment: bool = True
    #: the channel cancels an open order (``cancel_order``); Amazon cannot.
    contract_cancel: bool = True

    # -- hooks ----------------------------------------------------------------------------

    def make_channel(self) -> Channel:
        """The channel under test, aimed at a backend the other hooks control."""
        raise NotImplementedError("implement make_channel() in the ChannelContract subclass")

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        """Create a stock-managed listing of ``sku`` with ``quantity`` units on the backend."""
        raise NotImplementedError("implement seed_listing() in the ChannelContract subclass")

    def seed_orders(self, count: int) -> list[str]:
        """Create ``count`` open orders, each changed at a distinct time now; return their
        ids. Each has at least one line with a SKU and can be shipped and cancelled."""
        raise NotImplementedError("implement seed_orders() in the ChannelContract subclass")

    def seed_unreadable_order(self) -> str | None:
        """Store an order whose payload the adapter cannot map (a malformed amount, an
        unknown currency...), changed now; return its id (None: the backend cannot)."""
        return None

    def channel_quantity(self, sku: str) -> int:
        """The quantity the backend shows for ``sku`` now."""
        raise NotImplementedError("implement channel_quantity() in the ChannelContract subclass")

    def stock_write_calls(self) -> int:
        """How many stock-writing requests the backend has received so far."""
        raise NotImplementedError("implement stock_write_calls() in the ChannelContract subclass")

    def fulfillment_count(self, order_id: str) -> int | None:
        """How many shipments (fulfilments) the backend holds for the order (None: unknown)."""
        return None

    def open_return(self, order_id: str, line_id: str, quantity: int) -> None:
        """Let the buyer open a return of shipped units, where the channel needs one before
        the seller can record it (eBay); by default nothing."""

    def contract_locations(self) -> list[str]:
        """Channel location ids ``read_levels`` must read for every listing, the one
        ``seed_listing`` stocks first (channels with ``SupportsReadLevels``; empty: skip
        the check)."""
        return []

    def inject(self, fault: str) -> None:
        """Make the backend answer its next request with ``"throttle"`` or ``"server_error"``."""
        raise NotImplementedError("implement inject() in the ChannelContract subclass")

    def signed_webhook(self) -> tuple[dict[str, str], bytes] | None:
        """A correctly signed delivery, or None when the channel has no webhooks."""
        raise NotImplementedError("implement signed_webhook() in the ChannelContract subclass")

    def expected_stock_calls(self, items: int) -> int | None:
        """How many stock-writing requests pushing ``items`` listings should take (None: any)."""
        return math.ceil(items / self.make_channel().limits.stock_batch)

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _skip(reason: str) -> None:
        import pytest

        pytest.skip(reason)

    def _listings(self, channel: Channel, skus: Sequence[str]) -> dict[str, Listing]:
        found = {lst.sku: lst for lst in channel.fetch_listings() if lst.sku in set(skus)}
        assert set(found) == set(skus), f"listings not found: {sorted(set(skus) - set(found))[:5]}"
        return found

    def _read_back(self, channel: Channel, order_id: str) -> Order:
        """The order as the channel reports it now (``read_order``, else a scan)."""
        if isinstance(channel, SupportsReadOrder):
            got = channel.read_order(order_id)
            assert isinstance(got, Order), f"order {order_id} did not read back: {got!r}"
            return got
        found: Order | None = None
        for item in channel.fetch_orders(utcnow() - timedelta(days=2)):
            if isinstance(item, Order) and item.order_id == order_id:
                found = item
        assert found is not None, f"order {order_id} is not among the channel's orders"
        return found

    # -- identity -------------------------------------------------------------------------

    def test_identity_and_limits(self) -> None:
        """kind, account and limits are set and sane."""
        channel = self.make_channel()
        assert isinstance(channel, Channel)
        assert channel.kind
        assert isinstance(channel.kind, str)
        assert channel.account
        assert isinstance(channel.account, str)
        limits = channel.limits
        assert isinstance(limits, ChannelLimits)
        assert limits.stock_batch >= 1
        assert limits.price_batch >= 1
        assert limits.page_size >= 1

    # -- orders ---------------------------------------------------------------------------

    def test_fetch_orders_pages_to_the_end_oldest_first(self) -> None:
        """Every seeded order comes back once, across pages, in order of change, and paging ends."""
        channel = self.make_channel()
        count = self.contract_orders or 2 * channel.limits.page_size + 1
        since = utcnow() - timedelta(minutes=5)
        ids = self.seed_orders(count)
        assert len(ids) == count
        items = list(itertools.islice(channel.fetch_orders(since), 5 * count + 10))
        assert len(items) < 5 * count + 10, "fetch_orders did not stop paging"
        failures = [i for i in items if isinstance(i, OrderFailure)]
        assert not failures, f"seeded orders could not be read: {failures[:2]}"
        got = [i for i in items if isinstance(i, Order)]
        seen = [o.order_id for o in got]
        assert len(seen) == len(set(seen)), "an order came back twice in one scan"
        assert set(ids) <= set(seen), f"missing orders: {sorted(set(ids) - set(seen))[:5]}"
        times = [o.updated_at for o in got]
        assert times == sorted(times), "orders are not oldest change first"
        assert all(o.account == channel.account and o.kind == channel.kind for o in got)

    def test_fetch_orders_honours_updated_after(self) -> None:
        """Nothing changed after a time in the future."""
        channel = self.make_channel()
        self.seed_orders(2)
        assert list(channel.fetch_orders(utcnow() + timedelta(days=1))) == []

    def test_fetch_orders_yields_an_unreadable_order_as_a_failure(self) -> None:
        """An order that cannot be mapped is an ``OrderFailure`` in its place; the others read."""
        channel = self.make_channel()
        since = utcnow() - timedelta(minutes=5)
        first = self.seed_orders(1)
        bad = self.seed_unreadable_order()
        if bad is None:
            self._skip(f"{type(self).__name__}: seed_unreadable_order() is not implemented")
        last = self.seed_orders(1)
        items = list(itertools.islice(channel.fetch_orders(since), 1000))
        failures = [i for i in items if isinstance(i, OrderFailure)]
        assert [f.order_id for f in failures] == [bad], failures
        assert failures[0].error, "an OrderFailure must say what is wrong"
        read = {i.order_id for i in items if isinstance(i, Order)}
        assert {*first, *last} <= read, "an unreadable order hid the orders around it"

    # -- listings -------------------------------------------------------------------------

    def test_fetch_listings_reports_seeded_listing(self) -> None:
        """A seeded listing comes back with its SKU and quantity."""
        channel = self.make_channel()
        self.seed_listing("CT-LIST-1", 7, "12.50")
        found = {lst.sku: lst for lst in channel.fetch_listings()}
        assert "CT-LIST-1" in found
        assert found["CT-LIST-1"].quantity == 7
        assert found["CT-LIST-1"].account == channel.account

    # -- stock ----------------------------------------------------------------------------

    def test_push_stock_sets_absolute_quantity_idempotently(self) -> None:
        """Pushing the same absolute values twice leaves the same quantities."""
        channel = self.make_channel()
        skus = ["CT-PUSH-1", "CT-PUSH-2", "CT-PUSH-3"]
        for i, sku in enumerate(skus):
            self.seed_listing(sku, 10 + i)
        listings = self._listings(channel, skus)
        updates = [
            StockUpdate(
                sku=s,
                quantity=3 + i,
                listing=listings[s],
                expected=listings[s].quantity,
                idempotency_key=f"ct-{s}",
            )
            for i, s in enumerate(skus)
        ]
        first = channel.push_stock(updates)
        assert [r.sku for r in first if r.ok] == skus, [r.error for r in first if not r.ok]
        second = channel.push_stock(updates)
        for r in second:  # a repeat either succeeds or reports the value is already there
            assert r.ok or (
                r.error is not None
                and r.error.conflict
                and r.error.current == 3 + skus.index(r.sku)
            )
        assert [self.channel_quantity(s) for s in skus] == [3, 4, 5]

    def test_push_stock_respects_batch_limit(self) -> None:
        """More items than one call takes go out in the expected number of calls, all applied."""
        channel = self.make_channel()
        n = min(2 * channel.limits.stock_batch + 1, self.contract_max_items)
        skus = [f"CT-BATCH-{i:04d}" for i in range(n)]
        for sku in skus:
            self.seed_listing(sku, 1)
        listings = self._listings(channel, skus)
        before = self.stock_write_calls()
        results = channel.push_stock(
            [StockUpdate(sku=s, quantity=9, listing=listings[s], expected=1) for s in skus]
        )
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        assert sorted(r.sku for r in results) == sorted(skus)
        expected = self.expected_stock_calls(n)
        if expected is not None:
            assert self.stock_write_calls() - before == expected
        assert {self.channel_quantity(s) for s in skus[:: max(1, n // 10)]} == {9}

    def test_push_stock_reports_unknown_item_alone(self) -> None:
        """One item the channel does not know fails alone; the others apply."""
        channel = self.make_channel()
        self.seed_listing("CT-GOOD-1", 2)
        good = self._listings(channel, ["CT-GOOD-1"])["CT-GOOD-1"]
        bogus = Listing(
            kind=channel.kind,
            account=channel.account,
            sku="CT-MISSING",
            listing_id="999999991",
            ids={k: "999999991" for k in good.ids},
        )
        results = {
            r.sku: r
            for r in channel.push_stock(
                [
                    StockUpdate(sku="CT-GOOD-1", quantity=6, listing=good, expected=2),
                    StockUpdate(sku="CT-MISSING", quantity=6, listing=bogus, expected=0),
                ]
            )
        }
        assert results["CT-GOOD-1"].ok
        assert not results["CT-MISSING"].ok
        assert isinstance(results["CT-MISSING"].error, ItemError)
        assert self.channel_quantity("CT-GOOD-1") == 6

    def test_read_stock_reads_what_each_listing_shows(self) -> None:
        """A channel that reads its listings (``SupportsReadStock``: channels without
        compare-and-set, read before every write so a sale they counted is never
        overwritten) reads what the backend shows for each, in one bulk call for several
        listings; a listing the channel does not have reads None; a settled write reads back.
        """
        channel = self.make_channel()
        if not isinstance(channel, SupportsReadStock):
            self._skip(f"{channel.kind} offers no SupportsReadStock")
        assert isinstance(channel, SupportsReadStock)
        skus = ["CT-READ-1", "CT-READ-2", "CT-READ-3"]
        for i, sku in enumerate(skus):
            self.seed_listing(sku, 4 + i)
        listings = self._listings(channel, skus)
        got = channel.read_stock([listings[s] for s in skus])
        assert {s: got.get(s) for s in skus} == {"CT-READ-1": 4, "CT-READ-2": 5, "CT-READ-3": 6}
        assert [got[s] for s in skus] == [self.channel_quantity(s) for s in skus]
        good = listings["CT-READ-1"]
        ghost = Listing(
            kind=channel.kind,
            account=channel.account,
            sku="CT-READ-MISSING",
            listing_id="999999992",
            ids={k: "999999992" for k in good.ids},
        )
        got = channel.read_stock([good, ghost])
        assert got.get("CT-READ-MISSING") is None
        assert got["CT-READ-1"] == 4
        if channel.limits.write_settle_seconds > 0:
            return  # the write shows only later (Amazon): read back by the engine once settled
        results = channel.push_stock([StockUpdate(sku="CT-READ-1", quantity=9, listing=good)])
        assert results[0].ok, results[0].error
        assert channel.read_stock([good]) == {"CT-READ-1": 9}

    def test_read_levels_reads_each_location(self) -> None:
        """A channel that reads quantities per location (``SupportsReadLevels``) reads what
        a seeded listing shows at the location it is stocked at (``contract_locations()``:
        the channel location id a seeded listing is stocked at first)."""
        channel = self.make_channel()
        if not isinstance(channel, SupportsReadLevels):
            self._skip(f"{channel.kind} offers no SupportsReadLevels")
        assert isinstance(channel, SupportsReadLevels)
        locations = self.contract_locations()
        if not locations:
            self._skip("contract_locations() names no channel location a listing is seeded at")
        self.seed_listing("CT-LEVEL-1", 7)
        self.seed_listing("CT-LEVEL-2", 3)
        listings = self._listings(channel, ["CT-LEVEL-1", "CT-LEVEL-2"])
        levels = channel.read_levels(list(listings.values()))
        assert levels["CT-LEVEL-1"][locations[0]] == 7
        assert levels["CT-LEVEL-2"][locations[0]] == 3
        for sku in ("CT-LEVEL-1", "CT-LEVEL-2"):
            assert set(levels[sku]) >= set(locations)

    def test_push_stock_compare_and_set_refuses_a_stale_expectation(self) -> None:
        """With compare-and-set, a push expecting the wrong current value changes nothing and
        reports a conflict with the channel's quantity."""
        channel = self.make_channel()
        if not channel.limits.supports_compare_and_set:
            self._skip(f"{type(self).__name__}: the channel has no compare-and-set")
        self.seed_listing("CT-CAS-1", 5)
        listing = self._listings(channel, ["CT-CAS-1"])["CT-CAS-1"]
        [result] = channel.push_stock(
            [StockUpdate(sku="CT-CAS-1", quantity=2, listing=listing, expected=4)]
        )
        assert not result.ok, "a stale expectation overwrote the channel's quantity"
        assert result.error is not None
        assert result.error.conflict
        assert result.error.current in (None, 5)
        assert self.channel_quantity("CT-CAS-1") == 5

    # -- prices ---------------------------------------------------------------------------

    def test_push_prices_sets_the_price(self) -> None:
        """A pushed price is what the listing shows afterwards."""
        if not self.contract_prices:
            self._skip(f"{type(self).__name__}: the channel does not set prices")
        channel = self.make_channel()
        self.seed_listing("CT-PRICE-1", 3, "10.00")
        listing = self._listings(channel, ["CT-PRICE-1"])["CT-PRICE-1"]
        assert listing.price is not None, "a seeded listing must report its price"
        price = Money.of("12.34", listing.price.currency)
        [result] = channel.push_prices(
            [PriceUpdate(sku="CT-PRICE-1", price=price, listing=listing)]
        )
        assert result.ok, result.error
        after = self._listings(channel, ["CT-PRICE-1"])["CT-PRICE-1"]
        assert after.price == price

    def test_push_prices_reports_unknown_item_alone(self) -> None:
        """A price for a SKU the channel does not know fails alone; the others apply."""
        if not self.contract_prices:
            self._skip(f"{type(self).__name__}: the channel does not set prices")
        channel = self.make_channel()
        self.seed_listing("CT-PRICE-2", 3, "10.00")
        listing = self._listings(channel, ["CT-PRICE-2"])["CT-PRICE-2"]
        assert listing.price is not None
        currency = listing.price.currency
        bogus = Listing(
            kind=channel.kind,
            account=channel.account,
            sku="CT-PRICE-MISSING",
            listing_id="999999992",
            ids={k: "999999992" for k in listing.ids},
        )
        results = {
            r.sku: r
            for r in channel.push_prices(
                [
                    PriceUpdate(
                        sku="CT-PRICE-2", price=Money.of("9.50", currency), listing=listing
                    ),
                    PriceUpdate(
                        sku="CT-PRICE-MISSING", price=Money.of("9.50", currency), listing=bogus
                    ),
                ]
            )
        }
        assert results["CT-PRICE-2"].ok, results["CT-PRICE-2"].error
        assert not results["CT-PRICE-MISSING"].ok
        assert isinstance(results["CT-PRICE-MISSING"].error, ItemError)

    # -- fulfilment -----------------------------------------------------------------------

    def _ship(self, channel: Channel, order_id: str, tracking: str) -> None:
        channel.push_fulfillment(
            order_id, Shipment(carrier="DHL", tracking_number=tracking, shipped_at=utcnow())
        )

    def test_push_fulfillment_marks_the_order_shipped(self) -> None:
        """A shipment of the whole order leaves every line shipped."""
        if not self.contract_fulfillment:
            self._skip(f"{type(self).__name__}: the channel does not take fulfilments")
        channel = self.make_channel()
        [order_id] = self.seed_orders(1)
        self._ship(channel, order_id, "CT0000000001")
        order = self._read_back(channel, order_id)
        stock_lines = [ln for ln in order.lines if ln.sku and not ln.fulfilled_by_channel]
        assert stock_lines, "the seeded order has no line to ship"
        assert all(ln.quantity_shipped == ln.quantity for ln in stock_lines), order.lines
        assert order.status is OrderStatus.SHIPPED, order.status

    def test_push_fulfillment_sent_twice_is_harmless(self) -> None:
        """The same shipment sent again (a retry after a timeout) raises nothing and ships
        nothing twice."""
        if not self.contract_fulfillment:
            self._skip(f"{type(self).__name__}: the channel does not take fulfilments")
        channel = self.make_channel()
        [order_id] = self.seed_orders(1)
        self._ship(channel, order_id, "CT0000000002")
        self._ship(channel, order_id, "CT0000000002")
        order = self._read_back(channel, order_id)
        assert all(ln.quantity_shipped == ln.quantity for ln in order.lines if ln.sku)
        count = self.fulfillment_count(order_id)
        if count is not None:
            assert count == 1, f"the repeated shipment was recorded {count} times"

    # -- cancellation ---------------------------------------------------------------------

    def test_cancel_order_cancels_an_open_order(self) -> None:
        """An open order cancels, and reads back cancelled; cancelling again is harmless."""
        if not self.contract_cancel:
            self._skip(f"{type(self).__name__}: the channel cannot cancel orders")
        channel = self.make_channel()
        [order_id] = self.seed_orders(1)
        channel.cancel_order(order_id, "contract check")
        assert self._read_back(channel, order_id).status is OrderStatus.CANCELLED
        channel.cancel_order(order_id, "contract check")

    def test_cancel_order_refuses_a_shipped_order(self) -> None:
        """A shipped order is not cancelled: ``PermanentError`` (its units have left)."""
        if not (self.contract_cancel and self.contract_fulfillment):
            self._skip(f"{type(self).__name__}: the channel cannot cancel or ship orders")
        import pytest

        channel = self.make_channel()
        [order_id] = self.seed_orders(1)
        self._ship(channel, order_id, "CT0000000003")
        with pytest.raises(PermanentError):
            channel.cancel_order(order_id, "contract check")
        assert self._read_back(channel, order_id).status is not OrderStatus.CANCELLED

    def test_cancel_order_of_an_unknown_order_is_not_found(self) -> None:
        """Cancelling an order the channel does not have raises ``NotFound``."""
        if not self.contract_cancel:
            self._skip(f"{type(self).__name__}: the channel cannot cancel orders")
        import pytest

        with pytest.raises(NotFound):
            self.make_channel().cancel_order("999999993", "contract check")

    # -- errors ---------------------------------------------------------------------------

    def test_throttling_maps_to_rate_limited(self) -> None:
        """A throttled answer raises RateLimited (a TransientError), not a vendor error."""
        channel = self.make_channel()
        self.seed_listing("CT-THROTTLE", 1)
        self.inject("throttle")
        import pytest

        with pytest.raises(RateLimited) as caught:
            list(channel.fetch_listings())
        assert isinstance(caught.value, TransientError)

    def test_server_error_maps_to_unavailable(self) -> None:
        """A 5xx answer raises Unavailable (a TransientError)."""
        channel = self.make_channel()
        self.seed_listing("CT-5XX", 1)
        self.inject("server_error")
        import pytest

        with pytest.raises(Unavailable) as caught:
            list(channel.fetch_listings())
        assert isinstance(caught.value, ChannelError)

    # -- webhooks -------------------------------------------------------------------------

    def _delivery(self) -> tuple[dict[str, str], bytes]:
        delivery = self.signed_webhook()
        if delivery is None:
            self._skip(f"{type(self).__name__}: this channel has no signed webhooks")
        assert delivery is not None
        return delivery

    def _refused(self, channel: Channel, headers: Mapping[str, str], body: bytes) -> bool:
        try:
            channel.parse_webhook(headers, body)
        except WebhookVerificationError:
            return True
        return False

    def test_webhook_signed_delivery_parses(self) -> None:
        """A correctly signed delivery gives events."""
        headers, body = self._delivery()
        assert self.make_channel().parse_webhook(headers, body), "a signed delivery gave no events"

    def test_webhook_tampered_body_is_refused(self) -> None:
        """One bit changed in the body: ``WebhookVerificationError``."""
        headers, body = self._delivery()
        tampered = body[:-2] + bytes([body[-2] ^ 0x01]) + body[-1:]
        assert self._refused(self.make_channel(), headers, tampered), "a tampered body passed"

    def test_webhook_wrong_signature_is_refused(self) -> None:
        """A signature that does not match: ``WebhookVerificationError``."""
        headers, body = self._delivery()
        wrong = {
            k: (v[:-4] + "AAAA" if "sig" in k.lower() or "hmac" in k.lower() else v)
            for k, v in headers.items()
        }
        assert self._refused(self.make_channel(), wrong, body), "a wrong signature passed"

    def test_webhook_missing_signature_is_refused(self) -> None:
        """No signature header: ``WebhookVerificationError``."""
        headers, body = self._delivery()
        bare = {
            k: v for k, v in headers.items() if "sig" not in k.lower() and "hmac" not in k.lower()
        }
        assert self._refused(self.make_channel(), bare, body), "an unsigned delivery passed"

    # -- after-sale (optional capabilities, each checked where the channel has it) --------

    @staticmethod
    def _settled(channel: Channel, order_id: str, receipt: OperationReceipt) -> OperationReceipt:
        """Follow a pending receipt (``SupportsOperationStatus``) until it is done."""
        for _ in range(30):
            if receipt.status == "done":
                return receipt
            assert isinstance(channel, SupportsOperationStatus), (
                "a pending receipt needs SupportsOperationStatus to follow it up"
            )
            receipt = channel.operation_status(order_id, receipt)
        raise AssertionError(f"order {order_id}: the operation is still pending")

    def _attempt(
        self, channel: Channel, order_id: str, call: Callable[[], OperationReceipt]
    ) -> OperationReceipt:
        return self._settled(channel, order_id, call())

    def test_cancel_lines_cancels_an_open_order(self) -> None:
        """``SupportsCancel``: a whole open order is cancelled (a pending one settles)."""
        channel = self.make_channel()
        if not isinstance(channel, SupportsCancel):
            self._skip(f"{channel.kind} offers no SupportsCancel")
        assert isinstance(channel, SupportsCancel)
        [order_id] = self.seed_orders(1)
        operation = CancelOperation(
            order_id=order_id, reason="customer_request", idempotency_key="ct-cancel-1"
        )
        self._attempt(channel, order_id, lambda: channel.cancel_lines(operation))
        assert self._read_back(channel, order_id).status is OrderStatus.CANCELLED

    def test_cancel_lines_refuses_a_shipped_order(self) -> None:
        """``SupportsCancel``: a shipped order is refused (``PermanentError``), unchanged."""
        channel = self.make_channel()
        if not (isinstance(channel, SupportsCancel) and self.contract_fulfillment):
            self._skip(f"{channel.kind} offers no SupportsCancel, or takes no fulfilments")
        assert isinstance(channel, SupportsCancel)
        import pytest

        [order_id] = self.seed_orders(1)
        self._ship(channel, order_id, "CT0000000011")
        operation = CancelOperation(order_id=order_id, reason="other", idempotency_key="ct-c-2")
        with pytest.raises(PermanentError):
            self._attempt(channel, order_id, lambda: channel.cancel_lines(operation))
        assert self._read_back(channel, order_id).status is not OrderStatus.CANCELLED

    def test_refund_never_more_than_was_paid(self) -> None:
        """``SupportsRefund``: more than the order's total is refused (``PermanentError``);
        a part of it is refunded with the channel's reference (a pending one settles)."""
        channel = self.make_channel()
        if not isinstance(channel, SupportsRefund):
            self._skip(f"{channel.kind} offers no SupportsRefund")
        assert isinstance(channel, SupportsRefund)
        import pytest

        [order_id] = self.seed_orders(1)
        order = self._read_back(channel, order_id)
        assert order.total is not None, "the seeded order carries no total"
        too_much = RefundOperation(
            order_id=order_id,
            amount=Money(amount=order.total.amount + 100, currency=order.total.currency),
            reason="other",
            idempotency_key="ct-refund-1",
        )
        with pytest.raises(PermanentError):
            self._attempt(channel, order_id, lambda: channel.refund(too_much))
        part = RefundOperation(
            order_id=order_id,
            amount=Money(amount=Decimal("1.00"), currency=order.total.currency),
            reason="other",
            idempotency_key="ct-refund-2",
        )
        done = self._attempt(channel, order_id, lambda: channel.refund(part))
        assert done.reference, "a refund names the channel's reference"

    def test_record_return_never_more_than_shipped(self) -> None:
        """``SupportsReturns``: more units than shipped are refused (``PermanentError``);
        shipped units are recorded as returned."""
        channel = self.make_channel()
        if not (isinstance(channel, SupportsReturns) and self.contract_fulfillment):
            self._skip(f"{channel.kind} offers no SupportsReturns, or takes no fulfilments")
        assert isinstance(channel, SupportsReturns)
        import pytest

        [order_id] = self.seed_orders(1)
        self._ship(channel, order_id, "CT0000000012")
        line = next(ln for ln in self._read_back(channel, order_id).lines if ln.sku)
        too_many = ReturnOperation(
            order_id=order_id, lines={line.line_id: line.quantity + 1}, idempotency_key="ct-t-1"
        )
        with pytest.raises(PermanentError):
            self._attempt(channel, order_id, lambda: channel.record_return(too_many))
        self.open_return(order_id, line.line_id, 1)
        one = ReturnOperation(order_id=order_id, lines={line.line_id: 1}, idempotency_key="ct-t-2")
        assert self._attempt(channel, order_id, lambda: channel.record_return(one)).status == "done"
