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
from typing import Any

from channelsync.core.channel import (
    Channel,
    ChannelLimits,
    OrderFailure,
    PriceUpdate,
    PushResult,
    RateLimit,
    StockUpdate,
    WebhookEvent,
)
from channelsync.core.errors import (
    ChannelError,
    ItemError,
    NotFound,
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
        self.prices: dict[str, Money] = {}
        self.unmanaged: set[str] = set()
        self.channel_fulfilled: set[str] = set()
        self.orders: dict[str, Order] = {}
        self.unreadable: dict[str, OrderFailure] = {}
        self.fulfillments: list[tuple[str, Shipment]] = []
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
    ) -> None:
        """List ``sku`` with ``quantity`` units (and a price)."""
        with self._lock:
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
    ) -> Order:
        """A buyer orders ``lines`` (SKU -> quantity); the channel's own stock drops."""
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
                    )
                    for i, (sku, qty) in enumerate(lines.items(), 1)
                ),
            )
            for sku, qty in lines.items():
                if sku in self.quantities:
                    self.quantities[sku] -= qty
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
        current = self.quantities[u.sku]
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
                )
            )
        self.quantities[u.sku] = u.quantity
        return PushResult.success(u.sku, u.quantity)

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
        """Mark the shipment's lines shipped (all open lines when it names none)."""
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
    """

    #: how many orders the paging test seeds; default: two pages and one more.
    contract_orders: int | None = None
    #: the most listings a test seeds at once (keeps slow backends quick).
    contract_max_items: int = 600

    # -- hooks ----------------------------------------------------------------------------

    def make_channel(self) -> Channel:
        """The channel under test, aimed at a backend the other hooks control."""
        raise NotImplementedError("implement make_channel() in the ChannelContract subclass")

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        """Create a stock-managed listing of ``sku`` with ``quantity`` units on the backend."""
        raise NotImplementedError("implement seed_listing() in the ChannelContract subclass")

    def seed_orders(self, count: int) -> list[str]:
        """Create ``count`` orders, each changed at a distinct time now; return their ids."""
        raise NotImplementedError("implement seed_orders() in the ChannelContract subclass")

    def channel_quantity(self, sku: str) -> int:
        """The quantity the backend shows for ``sku`` now."""
        raise NotImplementedError("implement channel_quantity() in the ChannelContract subclass")

    def stock_write_calls(self) -> int:
        """How many stock-writing requests the backend has received so far."""
        raise NotImplementedError("implement stock_write_calls() in the ChannelContract subclass")

    def inject(self, fault: str) -> None:
        """Make the backend answer its next request with ``"throttle"`` or ``"server_error"``."""
        raise NotImplementedError("implement inject() in the ChannelContract subclass")

    def signed_webhook(self) -> tuple[dict[str, str], bytes] | None:
        """A correctly signed delivery, or None when the channel has no webhooks."""
        raise NotImplementedError("implement signed_webhook() in the ChannelContract subclass")

    def expected_stock_calls(self, items: int) -> int | None:
        """How many stock-writing requests pushing ``items`` listings should take (None: any)."""
        return math.ceil(items / self.make_channel().limits.stock_batch)

    # -- the checks -----------------------------------------------------------------------

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

    def test_fetch_listings_reports_seeded_listing(self) -> None:
        """A seeded listing comes back with its SKU and quantity."""
        channel = self.make_channel()
        self.seed_listing("CT-LIST-1", 7, "12.50")
        found = {lst.sku: lst for lst in channel.fetch_listings()}
        assert "CT-LIST-1" in found
        assert found["CT-LIST-1"].quantity == 7
        assert found["CT-LIST-1"].account == channel.account

    def _listings(self, channel: Channel, skus: Sequence[str]) -> dict[str, Listing]:
        found = {lst.sku: lst for lst in channel.fetch_listings() if lst.sku in set(skus)}
        assert set(found) == set(skus), f"listings not found: {sorted(set(skus) - set(found))[:5]}"
        return found

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

    def test_webhook_signature_is_verified(self) -> None:
        """A signed delivery parses; a tampered body, wrong or missing signature is refused."""
        delivery = self.signed_webhook()
        if delivery is None:
            import pytest

            pytest.skip(f"{type(self).__name__}: this channel has no signed webhooks")
        headers, body = delivery
        channel = self.make_channel()
        assert channel.parse_webhook(headers, body), "a correctly signed delivery gave no events"
        tampered = body[:-2] + bytes([body[-2] ^ 0x01]) + body[-1:]
        for bad_headers, bad_body in (
            (headers, tampered),
            (
                {
                    k: (v[:-4] + "AAAA" if "sig" in k.lower() or "hmac" in k.lower() else v)
                    for k, v in headers.items()
                },
                body,
            ),
            (
                {
                    k: v
                    for k, v in headers.items()
                    if "sig" not in k.lower() and "hmac" not in k.lower()
                },
                body,
            ),
        ):
            try:
                channel.parse_webhook(bad_headers, bad_body)
            except WebhookVerificationError:
                continue
            raise AssertionError("a delivery with a bad or missing signature was accepted")
