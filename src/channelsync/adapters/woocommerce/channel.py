"""``WooCommerceChannel``: the ``Channel`` of one WooCommerce shop (REST API v3)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx

from channelsync.adapters._paging import Paginator
from channelsync.adapters._skus import syncable_sku
from channelsync.adapters.woocommerce.client import BatchTooLarge, WooCommerceClient
from channelsync.adapters.woocommerce.config import WooCommerceConfig
from channelsync.adapters.woocommerce.mapping import (
    KIND,
    ORDER_DATA_ERRORS,
    item_error,
    listing_from_product,
    listing_from_variation,
    order_failure,
    order_from_payload,
    order_status,
    parse_gmt_or_none,
    price_item,
    refund_from_payload,
    stock_item,
    tracking_body,
    wc_datetime,
)
from channelsync.adapters.woocommerce.payloads import (
    UnreadableOrder,
    WooBatchError,
    WooOrder,
    WooProduct,
    WooVariation,
)
from channelsync.adapters.woocommerce.webhooks import WooCommerceWebhooks
from channelsync.core.channel import (
    CancelOperation,
    ChannelLimits,
    OperationReceipt,
    OrderFailure,
    PriceUpdate,
    PushResult,
    RateLimit,
    RefundOperation,
    StockUpdate,
    WebhookEvent,
)
from channelsync.core.errors import (
    AuthError,
    ConfigError,
    ItemError,
    NotFound,
    Rejected,
)
from channelsync.core.models import Listing, Money, Order, OrderStatus, Refund, Shipment

__all__ = ["WooCommerceChannel"]

log = logging.getLogger(__name__)

U = TypeVar("U", StockUpdate, PriceUpdate)
Outcome = WooBatchError | WooProduct | WooVariation

#: How long a finding about the Shipment Tracking extension (there or not) is trusted.
_TRACKING_PROBE_TTL = 3600.0
#: Most order ids named in one ``exclude`` (keeps the URL well under common 8 KB limits).
_MAX_EXCLUDE = 500
#: Where an order scan stands: (modified_after, page, ids to exclude).
_OrderToken = tuple[str, int, tuple[int, ...]]


class WooCommerceChannel:
    """One WooCommerce shop as a channelsync ``Channel``.

    ::

        shop = WooCommerceChannel(WooCommerceConfig(
            account="woo-main", url="https://shop.example.com",
            consumer_key="ck_...", consumer_secret="cs_...", webhook_secret="...",
        ))

    Args:
        config: the account's configuration (no environment is read).
        transport: an httpx transport (``httpx.MockTransport`` in tests).
        base_url: the API root or shop URL to use instead of ``config.url`` (the sandbox).
        shop_timezone: the shop's timezone, only to read a payload that lacks its ``*_gmt``
            dates (WooCommerce always sends them; custom plugins may not).
    """

    kind = KIND

    def __init__(
        self,
        config: WooCommerceConfig,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
        *,
        shop_timezone: str | None = None,
    ) -> None:
        self.config = config
        self._client = WooCommerceClient(config, transport=transport, base_url=base_url)
        self._webhooks = WooCommerceWebhooks(
            config.account, (config.webhook_secret, config.previous_webhook_secret)
        )
        try:
            self._shop_tz = ZoneInfo(shop_timezone) if shop_timezone else None
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"unknown shop_timezone {shop_timezone!r}") from exc
        self._lock = threading.Lock()
        self._batch_limit = config.batch_size
        self._currency = config.currency
        self._tracking: tuple[bool, float] | None = None
        self._index: dict[str, Listing] = {}
        self.skipped_without_sku: list[str] = []
        """Products and variations of the last ``fetch_listings`` that have no SKU
        (``"123"`` or ``"45/67"`` for parent/variation): they cannot be synced."""

    def __repr__(self) -> str:
        return f"WooCommerceChannel(account={self.account!r}, api={self._client.api_root!r})"

    # -- identity -------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """The merchant's name for this shop."""
        return self.config.account

    @property
    def limits(self) -> ChannelLimits:
        """100 items per batch (or less, once the shop answered 413), 100 per page."""
        rate = self.config.requests_per_second
        return ChannelLimits(
            stock_batch=self._batch_limit,
            price_batch=self._batch_limit,
            page_size=self.config.page_size,
            rate_limits=(
                (RateLimit(operation="*", per_second=rate, burst=max(1, int(rate))),)
                if rate
                else ()
            ),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # -- orders ---------------------------------------------------------------------------

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        """Every order modified at or after ``updated_after``, oldest change first.

        WooCommerce filters on whole seconds and ``modified_after`` is exclusive, so the
        window opens one second early. Instead of page numbers, which drift when an order
        changes mid-scan (it jumps to the end and the next page skips one), each request
        restarts from the newest modification time read so far: a changed order can only
        move later, never out of the window. When a whole page falls in one second, the next
        request excludes the ids already read instead of asking for page 2. Orders already
        yielded in this scan (same id and modification time) are dropped; a newer version of
        one is yielded again.

        An order that does not read or map (a malformed field, an amount that is not a
        number, a currency channelsync does not know, a refund that does not read) is
        yielded as an ``OrderFailure`` in its place; it still counts in the page for the
        windowing above. Transport and auth errors still raise.
        """
        if updated_after.tzinfo is None:
            raise ValueError("updated_after must be timezone-aware")
        size = self.config.page_size
        start = updated_after.replace(microsecond=0) - timedelta(seconds=1)
        seen: set[tuple[int | None, str | None]] = set()

        def fetch(
            token: _OrderToken | None,
        ) -> tuple[list[Order | OrderFailure], _OrderToken | None]:
            window, page, exclude = token or (wc_datetime(start), 1, ())
            params: dict[str, str | int] = {
                "modified_after": window,
                "dates_are_gmt": "true",
                "orderby": "modified",
                "order": "asc",
                "per_page": size,
                "page": page,
            }
            if exclude:
                params["exclude"] = ",".join(str(i) for i in exclude)
            got = self._client.orders_page(params)
            fresh = [o for o in got.items if (o.id, o.date_modified_gmt) not in seen]
            seen.update((o.id, o.date_modified_gmt) for o in fresh)
            orders = [self._order(o) for o in fresh]
            full = len(got.items) >= size and (got.total_pages is None or got.total_pages > page)
            if not full:
                return orders, None
            newest = max(
                (t for t in (parse_gmt_or_none(o.date_modified_gmt) for o in got.items) if t),
                default=None,
            )
            if newest is not None:
                moved = wc_datetime(newest - timedelta(seconds=1))
                if moved > window:
                    return orders, (moved, 1, ())
            # A full page inside one second: leave out what was read (drift-proof), or, for
            # a burst too large to name in a URL, page on within that second.
            burst = exclude + tuple(o.id for o in got.items if o.id is not None)
            if len(burst) <= _MAX_EXCLUDE:
                return orders, (window, 1, burst)
            return orders, (window, page + 1, exclude)

        yield from Paginator(fetch, channel=self.account, operation="GET orders")

    def read_order(self, order_id: str) -> Order | OrderFailure | None:
        """One order as the shop has it now (``GET /orders/{id}``); None if it is gone.

        The engine re-reads open orders with this every few hours: WooCommerce does not
        move ``date_modified`` on every change (a partial refund before 7.6, line edits),
        so polling by change time alone can miss them.
        """
        try:
            number = int(order_id)
        except ValueError:
            return None
        try:
            woo = self._client.order(number)
        except NotFound:
            return None
        return self._order(woo)

    def _order(self, woo: WooOrder | UnreadableOrder) -> Order | OrderFailure:
        """``woo`` mapped, or the ``OrderFailure`` that says why it cannot be."""
        if isinstance(woo, UnreadableOrder):
            return self._failure(woo.raw, woo.error)
        try:
            refunds = None
            if woo.refunds and order_status(woo.status).commits_stock:
                # Only the refunds' own lines say which units will no longer ship.
                refunds = self._client.order_refunds(woo.id, strict=False)
            return order_from_payload(
                woo, account=self.account, refunds=refunds, shop_tz=self._shop_tz
            )
        except ORDER_DATA_ERRORS as exc:
            return self._failure(woo.model_dump(mode="json"), exc)

    def _failure(self, raw: dict[str, Any], exc: Exception) -> OrderFailure:
        failure = order_failure(raw, exc, shop_tz=self._shop_tz)
        log.warning(
            "account %s: WooCommerce order %s cannot be read (%s)",
            self.account,
            failure.order_id,
            failure.error,
        )
        return failure

    # -- listings -------------------------------------------------------------------------

    def shop_currency(self) -> str | None:
        """The shop's currency: from the config, else its ``woocommerce_currency`` setting."""
        if self._currency is None:
            try:
                value = self._client.setting("general", "woocommerce_currency").value
            except (NotFound, AuthError) as exc:
                log.warning(
                    "account %s: cannot read the shop's currency (%s); prices are not read or"
                    " checked: set currency in WooCommerceConfig",
                    self.account,
                    exc,
                )
                return None
            if isinstance(value, str) and len(value.strip()) == 3:
                self._currency = value.strip().upper()
        return self._currency

    def fetch_listings(self) -> Iterator[Listing]:
        """Simple products, then every variation of each variable product.

        Products that do not manage stock come back with ``manages_stock=False`` (they are
        reported, not skipped); variations sharing their parent's stock likewise. Products
        without a SKU cannot be synced: they are logged and kept in ``skipped_without_sku``.
        """
        currency = self.shop_currency()
        size = self.config.page_size
        skipped: list[str] = []
        index: dict[str, Listing] = {}
        parents: list[WooProduct] = []

        def products(page: int | None) -> tuple[list[WooProduct], int | None]:
            number = page or 1
            got = self._client.products_page(number, size)
            more = len(got.items) >= size and (got.total_pages or 0) > number
            return got.items, number + 1 if more else None

        for product in Paginator(products, first=1, channel=self.account, operation="GET products"):
            if product.type == "variable":
                parents.append(product)
            if product.sku.strip() and not syncable_sku(
                self.account, product.sku, f"product {product.id}"
            ):
                continue
            listing = listing_from_product(product, account=self.account, currency=currency)
            if listing is not None:
                index.setdefault(listing.sku, listing)
                yield listing
            elif product.type == "simple" and not product.sku.strip():
                skipped.append(str(product.id))
        for parent in parents:

            def variations(
                page: int | None, parent_id: int = parent.id
            ) -> tuple[list[WooVariation], int | None]:
                number = page or 1
                got = self._client.variations_page(parent_id, number, size)
                more = len(got.items) >= size and (got.total_pages or 0) > number
                return got.items, number + 1 if more else None

            for variation in Paginator(
                variations, first=1, channel=self.account, operation="GET products/{id}/variations"
            ):
                if (variation.sku or "").strip() and not syncable_sku(
                    self.account, variation.sku or "", f"variation {parent.id}/{variation.id}"
                ):
                    continue
                listing = listing_from_variation(
                    variation, parent, account=self.account, currency=currency
                )
                if listing is None:
                    skipped.append(f"{parent.id}/{variation.id}")
                    continue
                index.setdefault(listing.sku, listing)
                yield listing
        if skipped:
            log.warning(
                "account %s: %d products/variations have no SKU and cannot be synced (first: %s)",
                self.account,
                len(skipped),
                ", ".join(skipped[:5]),
            )
        with self._lock:
            self._index = index
            self.skipped_without_sku = skipped

    def read_stock(self, listings: Sequence[Listing]) -> dict[str, int | None]:
        """What each listing shows now: products and variations read by id, 100 a call.

        A variation that keeps its stock on the parent reads the parent's quantity; a
        product that does not manage stock reads None.
        """
        simple: dict[int, str] = {}
        variations: dict[int, dict[int, str]] = {}
        out: dict[str, int | None] = {}
        for listing in listings:
            try:
                product_id, variation_id = self._target(listing.sku, listing)
            except ItemError:
                out[listing.sku] = None
                continue
            if variation_id is None:
                simple[product_id] = listing.sku
            else:
                variations.setdefault(product_id, {})[variation_id] = listing.sku
        ids = sorted(simple)
        for start in range(0, len(ids), 100):
            for product in self._client.products_by_id(ids[start : start + 100]):
                if product.id in simple:
                    out[simple[product.id]] = (
                        product.stock_quantity if product.manage_stock is True else None
                    )
        for parent_id, wanted in variations.items():
            vids = sorted(wanted)
            for start in range(0, len(vids), 100):
                for variation in self._client.variations_by_id(
                    parent_id, vids[start : start + 100]
                ):
                    if variation.id in wanted:
                        out[wanted[variation.id]] = variation.stock_quantity
        for listing in listings:
            out.setdefault(listing.sku, None)
        return out

    # -- writes ---------------------------------------------------------------------------

    def _target(self, sku: str, listing: Listing | None) -> tuple[int, int | None]:
        """(product id, variation id or None) of a listing; ItemError when unknown."""
        if listing is None:
            with self._lock:
                listing = self._index.get(sku)
            if listing is None:
                raise ItemError(
                    sku,
                    "no WooCommerce product or variation with this SKU (import listings first)",
                    code="unknown_sku",
                )
        try:
            product_id = int(listing.ids.get("product_id") or listing.listing_id)
            variation = listing.ids.get("variation_id")
            return product_id, int(variation) if variation else None
        except ValueError:
            raise ItemError(
                sku, f"listing ids {listing.ids!r} are not WooCommerce ids", code="bad_listing"
            ) from None

    def _ensure_index(self, updates: Sequence[StockUpdate | PriceUpdate]) -> None:
        if any(u.listing is None for u in updates):
            with self._lock:
                empty = not self._index
            if empty:
                for _ in self.fetch_listings():
                    pass

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set absolute quantities with ``POST /products/batch`` (simple products) and
        ``POST /products/{id}/variations/batch`` (one parent per request), at most the batch
        limit per request. Failed items (unknown id, refused value) are reported alone.
        """

        def check(update: StockUpdate, written: WooProduct | WooVariation) -> PushResult:
            if written.manage_stock is True and written.stock_quantity == update.quantity:
                return PushResult.success(update.sku, written.stock_quantity)
            return PushResult.failure(
                ItemError(
                    update.sku,
                    f"the shop kept stock_quantity={written.stock_quantity}"
                    f" (manage_stock={written.manage_stock!r}, type may not hold stock)",
                    code="not_applied",
                    current=written.stock_quantity,
                )
            )

        return self._push(updates, lambda u, item_id: stock_item(item_id, u.quantity), check)

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[PushResult]:
        """Set regular prices through the same batch endpoints (prices as strings)."""
        currency = self.shop_currency()
        accepted: list[PriceUpdate] = []
        refused: dict[int, PushResult] = {}
        for i, update in enumerate(updates):
            if currency and update.price.currency != currency:
                refused[i] = PushResult.failure(
                    ItemError(
                        update.sku,
                        f"price in {update.price.currency}; the shop sells in {currency}",
                        code="currency_mismatch",
                    )
                )
            else:
                accepted.append(update)

        def check(update: PriceUpdate, written: WooProduct | WooVariation) -> PushResult:
            stored = written.regular_price
            if stored not in (None, "") and Decimal(str(stored)) == update.price.amount:
                return PushResult.success(update.sku)
            return PushResult.failure(
                ItemError(update.sku, f"the shop kept regular_price={stored!r}", code="not_applied")
            )

        pushed = iter(self._push(accepted, lambda u, item_id: price_item(item_id, u.price), check))
        return [refused[i] if i in refused else next(pushed) for i in range(len(updates))]

    def _push(
        self,
        updates: Sequence[U],
        body: Callable[[U, int], dict[str, Any]],
        check: Callable[[U, WooProduct | WooVariation], PushResult],
    ) -> list[PushResult]:
        self._ensure_index(updates)
        results: dict[int, PushResult] = {}
        simple: list[tuple[int, int, U]] = []
        by_parent: dict[int, list[tuple[int, int, U]]] = {}
        for i, update in enumerate(updates):
            try:
                product_id, variation_id = self._target(update.sku, update.listing)
            except ItemError as exc:
                results[i] = PushResult.failure(exc)
                continue
            if variation_id is None:
                simple.append((i, product_id, update))
            else:
                by_parent.setdefault(product_id, []).append((i, variation_id, update))
        groups: list[tuple[int | None, list[tuple[int, int, U]]]] = (
            [(None, simple)] if simple else []
        )
        groups += sorted(by_parent.items())
        for parent, items in groups:
            self._send_group(parent, items, body, check, results)
        return [results[i] for i in range(len(updates))]

    def _send_group(
        self,
        parent: int | None,
        items: list[tuple[int, int, U]],
        body: Callable[[U, int], dict[str, Any]],
        check: Callable[[U, WooProduct | WooVariation], PushResult],
        results: dict[int, PushResult],
    ) -> None:
        start = 0
        while start < len(items):
            size = self._batch_limit
            chunk = items[start : start + size]
            payload = [body(u, item_id) for _, item_id, u in chunk]
            try:
                outcomes: Sequence[Outcome] = (
                    self._client.batch_products(payload)
                    if parent is None
                    else self._client.batch_variations(parent, payload)
                )
            except BatchTooLarge as exc:
                smaller = exc.limit if exc.limit and exc.limit < len(chunk) else len(chunk) // 2
                if smaller < 1:
                    raise
                with self._lock:
                    self._batch_limit = min(self._batch_limit, smaller)
                log.warning(
                    "account %s: the shop accepts at most %d items per batch; using that",
                    self.account,
                    self._batch_limit,
                )
                continue
            self._settle(chunk, outcomes, check, results)
            start += len(chunk)

    @staticmethod
    def _settle(
        chunk: list[tuple[int, int, U]],
        outcomes: Sequence[Outcome],
        check: Callable[[U, WooProduct | WooVariation], PushResult],
        results: dict[int, PushResult],
    ) -> None:
        by_id: dict[int, list[Outcome]] = {}
        for entry in outcomes:
            by_id.setdefault(entry.id, []).append(entry)
        for position, (i, item_id, update) in enumerate(chunk):
            outcome: Outcome | None = None
            if position < len(outcomes) and outcomes[position].id in (item_id, 0):
                outcome = outcomes[position]
            elif by_id.get(item_id):
                outcome = by_id[item_id].pop(0)
            if outcome is None:
                results[i] = PushResult.failure(
                    ItemError(
                        update.sku,
                        "the shop's batch answer has no entry for this item",
                        code="no_result",
                        retryable=True,
                    )
                )
            elif isinstance(outcome, WooBatchError):
                results[i] = PushResult.failure(item_error(update.sku, outcome))
            else:
                results[i] = check(update, outcome)

    # -- fulfilment, cancellation, refunds --------------------------------------------------

    def _order_id(self, order_id: str, operation: str) -> int:
        try:
            number = int(order_id)
        except ValueError:
            raise NotFound(
                f"{order_id!r} is not a WooCommerce order id",
                channel=self.account,
                operation=operation,
            ) from None
        if number <= 0:
            raise NotFound(
                f"{order_id!r} is not a WooCommerce order id",
                channel=self.account,
                operation=operation,
            )
        return number

    def _tracking_known(self) -> bool | None:
        with self._lock:
            if self._tracking is None:
                return None
            present, at = self._tracking
            if time.monotonic() - at > _TRACKING_PROBE_TTL:
                return None
            return present

    def _set_tracking(self, present: bool) -> None:
        with self._lock:
            self._tracking = (present, time.monotonic())

    def push_fulfillment(self, order_id: str, shipment: Shipment) -> None:
        """Record the shipment and complete the order.

        With the Shipment Tracking extension the tracking number goes to
        ``/wc-shipment-tracking/v3/orders/{id}/shipment-trackings``; without it, a customer
        note names carrier and tracking number. Then the status becomes ``completed``
        (WooCommerce has no partial shipments: a shipment of only some units records the
        tracking but leaves the order open). Repeating the call adds nothing twice.
        """
        oid = self._order_id(order_id, "push_fulfillment")
        complete = True
        if shipment.lines:
            order = self._client.order(oid)
            complete = all(
                shipment.lines.get(str(item.id), 0) >= item.quantity for item in order.line_items
            )
        recorded = False
        if shipment.tracking_number and self._tracking_known() is not False:
            existing = self._client.trackings(oid)
            self._set_tracking(existing is not None)
            if existing is not None:
                if not any(t.tracking_number == shipment.tracking_number for t in existing):
                    added = self._client.add_tracking(oid, tracking_body(shipment))
                    if added is None:
                        self._set_tracking(False)
                recorded = self._tracking_known() is True
        if not recorded:
            note = _shipment_note(shipment, partial=not complete)
            if note not in {n.note for n in self._client.order_notes(oid)}:
                self._client.add_note(oid, note, customer_note=True)
        if complete:
            self._client.update_order(oid, {"status": "completed"})

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        """Set status ``cancelled`` (WooCommerce then restocks the order's items).

        A completed or refunded order is refused: cancelling it would put units that have
        left back into the shop's stock. Refund it instead.
        """
        oid = self._order_id(order_id, "cancel_order")
        order = self._client.order(oid)
        if order.status == "cancelled":
            return
        if order_status(order.status) in (OrderStatus.SHIPPED, OrderStatus.REFUNDED) or (
            order.date_completed_gmt
        ):
            raise Rejected(
                f"order {oid} is {order.status}; refund it instead of cancelling",
                channel=self.account,
                operation="cancel_order",
            )
        if reason:
            note = f"Cancelled: {reason}"
            if note not in {n.note for n in self._client.order_notes(oid)}:
                self._client.add_note(oid, note, customer_note=False)
        self._client.update_order(oid, {"status": "cancelled"})

    def refund_order(
        self,
        order_id: str,
        amount: Money,
        *,
        reason: str | None = None,
        lines: Mapping[str, int] | None = None,
        restock: bool = False,
        gateway_refund: bool = False,
        idempotency_key: str | None = None,
    ) -> Refund:
        """Record a refund of ``amount`` on the order (``POST /orders/{id}/refunds``).

        WooCommerce's own default (``api_refund: true``) asks the payment gateway to send
        the money back; here that happens only with ``gateway_refund=True``. ``restock``
        lets WooCommerce put the refunded lines' units back in its stock (channelsync
        pushes absolute quantities anyway). With ``idempotency_key`` a repeated call finds
        the refund it made before instead of refunding twice.

        Args:
            order_id: the WooCommerce order id.
            amount: the amount to refund, in the order's currency.
            reason: shown on the order.
            lines: order line id -> units refunded (their share of ``amount`` is computed
                from each line's total).
            restock: let WooCommerce restock the refunded units.
            gateway_refund: let the payment gateway refund the money for real.
            idempotency_key: stored on the refund; a refund already carrying it is returned.
        """
        oid = self._order_id(order_id, "refund_order")
        if amount.amount <= 0:
            raise ValueError("a refund amount must be positive")
        meta_key = "_channelsync_idempotency_key"
        if idempotency_key:
            for existing in self._client.order_refunds(oid):
                if any(
                    m.get("key") == meta_key and m.get("value") == idempotency_key
                    for m in existing.model_dump().get("meta_data", [])
                    if isinstance(m, dict)
                ):
                    return refund_from_payload(existing, amount.currency)
        body: dict[str, Any] = {
            "amount": format(amount.amount, "f"),
            "reason": reason or "",
            "api_refund": gateway_refund,
            "api_restock": restock,
        }
        if idempotency_key:
            body["meta_data"] = [{"key": meta_key, "value": idempotency_key}]
        order = self._client.order(oid)
        if order.currency and order.currency.upper() != amount.currency:
            raise Rejected(
                f"refund currency {amount.currency} differs from order {oid}'s currency"
                f" {order.currency}",
                channel=self.account,
                operation="refund_order",
            )
        if lines:
            by_id = {str(item.id): item for item in order.line_items}
            picked: list[tuple[int, int, Decimal]] = []  # (item id, units, share)
            for line_id, qty in lines.items():
                item = by_id.get(line_id)
                if item is None or qty <= 0 or qty > item.quantity:
                    raise Rejected(
                        f"order {oid} has no line {line_id!r} with {qty} units to refund",
                        channel=self.account,
                        operation="refund_order",
                    )
                picked.append((item.id, qty, Decimal(item.total or "0") / item.quantity * qty))
            # The lines' shares never add up to more than the refund (WooCommerce refuses a
            # refund smaller than its lines): a smaller amount is spread in proportion.
            whole = sum((share for _, _, share in picked), Decimal(0))
            if whole > amount.amount:
                left, scaled = amount.amount, []
                for i, (item_id, qty, share) in enumerate(picked):
                    part = (
                        left
                        if i == len(picked) - 1
                        else (share * amount.amount / whole).quantize(Decimal("0.01"))
                    )
                    scaled.append((item_id, qty, part))
                    left -= part
                picked = scaled
            line_items = [
                {"id": item_id, "quantity": qty, "refund_total": format(share, ".2f")}
                for item_id, qty, share in picked
            ]
            body["line_items"] = line_items
        refund = self._client.create_refund(oid, body)
        result = refund_from_payload(refund, amount.currency)
        return result.model_copy(update={"restock": restock})

    # -- after-sale (SupportsCancel, SupportsRefund) ----------------------------------------

    def cancel_lines(self, operation: CancelOperation) -> OperationReceipt:
        """Cancel the whole order by status (WooCommerce restocks what it had reduced).

        WooCommerce has no cancellation of single lines: cancelling some units is refused
        with the way to do it (a refund of those lines, which restocks them).
        """
        if operation.lines:
            raise Rejected(
                f"order {operation.order_id}: WooCommerce cancels whole orders only (status"
                " cancelled); to cancel some units, refund those lines (channelsync orders"
                " refund ... --line LINE=UNITS), which takes them out of the order and restocks"
                " them",
                channel=self.account,
                operation="cancel_order",
            )
        note = f"{operation.reason}: {operation.note}" if operation.note else operation.reason
        self.cancel_order(operation.order_id, note)
        return OperationReceipt(reference=operation.order_id)

    def refund(self, operation: RefundOperation) -> OperationReceipt:
        """``POST /orders/{id}/refunds`` with the lines' units and their share of the amount.

        ``api_refund`` follows ``gateway_refund`` of the config; ``api_restock`` is set when
        any refunded unit comes back to stock (units not shipped, or returned). The
        operation's key is stored on the refund: a repeat finds it instead of refunding
        twice.
        """
        note = f"{operation.reason}: {operation.note}" if operation.note else operation.reason
        refund = self.refund_order(
            operation.order_id,
            operation.amount,
            reason=note,
            lines=operation.lines or None,
            restock=bool(operation.cancelled or operation.returned),
            gateway_refund=self.config.gateway_refund,
            idempotency_key=operation.idempotency_key,
        )
        return OperationReceipt(reference=refund.refund_id, refund=refund)

    # -- webhooks -------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Verify ``X-WC-Webhook-Signature`` and return the delivery's events.

        The unsigned creation ping (``webhook_id=N``) is a ``ping`` event; a delivery seen
        before gives []; a bad signature, topic or body raises ``WebhookVerificationError``.
        """
        return self._webhooks.parse(headers, body)


def _shipment_note(shipment: Shipment, *, partial: bool) -> str:
    text = f"Shipped with {shipment.carrier}"
    if shipment.tracking_number:
        text += f", tracking number {shipment.tracking_number}"
    if shipment.tracking_url:
        text += f" ({shipment.tracking_url})"
    if partial and shipment.lines:
        text += " - items: " + ", ".join(f"{k} x{v}" for k, v in sorted(shipment.lines.items()))
    return text + "."
