"""``ShopifyChannel``: one Shopify shop as a channelsync ``Channel``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from channelsync.adapters._paging import Paginator
from channelsync.adapters._skus import syncable_sku
from channelsync.adapters.shopify import queries as q
from channelsync.adapters.shopify._stock import BATCH, StockWriter, no_result
from channelsync.adapters.shopify._throttle import CostThrottle
from channelsync.adapters.shopify.client import OrderNode, ShopifyClient
from channelsync.adapters.shopify.config import ShopifyConfig, version_at_least
from channelsync.adapters.shopify.mapping import (
    KIND,
    ORDER_DATA_ERRORS,
    LineLocation,
    gid,
    legacy_id,
    line_locations,
    listing_from_variant,
    needs_quantities,
    order_failure,
    order_from_graphql,
    shopify_cancel_reason,
)
from channelsync.adapters.shopify.payloads import (
    FulfillmentStateOrder,
    GqlFulfillment,
    GqlLineItem,
    GqlLocation,
    GqlOrder,
    GqlVariant,
    InventoryLevel,
    OrderQuantitiesOrder,
    ShopContextData,
    UnreadableOrder,
    UserError,
)
from channelsync.adapters.shopify.queries import ORDERS_PAGE
from channelsync.adapters.shopify.webhooks import ShopifyWebhooks
from channelsync.core.channel import (
    CancelOperation,
    ChannelLimits,
    OperationReceipt,
    OrderFailure,
    PriceUpdate,
    PushResult,
    RateLimit,
    RefundOperation,
    ReturnOperation,
    StockUpdate,
    WebhookEvent,
)
from channelsync.core.errors import ConfigError, ItemError, NotFound, Rejected, Unavailable
from channelsync.core.models import Listing, Money, Order, Refund, Shipment

__all__ = ["ShopifyChannel"]

log = logging.getLogger(__name__)

_OPEN_FULFILLMENT_ORDERS = frozenset({"OPEN", "IN_PROGRESS"})
#: Shopify's ``ReturnReason`` for channelsync's reasons.
_RETURN_REASONS = {
    "customer_request": "UNWANTED",
    "damaged": "DEFECTIVE",
    "wrong_item": "WRONG_ITEM",
    "not_as_described": "NOT_AS_DESCRIBED",
}


class ShopifyChannel:
    """A Shopify shop, through the Admin GraphQL API (version ``config.api_version``).

    Stock is the ``available`` quantity of each variant's inventory item at one location
    (``config.location_id``, default the primary location), written with
    ``inventorySetQuantities`` and compare-and-swap. Orders are read by ``updated_at``.

    Args:
        config: the account.
        transport: an httpx transport (tests).
        base_url: scheme and host to use instead of ``https://{shop}`` (the sandbox).
        clock: monotonic seconds, for pacing and the cancel wait.
        sleep: how to wait.
    """

    kind = KIND

    def __init__(
        self,
        config: ShopifyConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self.client = ShopifyClient(
            config,
            transport=transport,
            base_url=base_url,
            throttle=CostThrottle(clock=clock, sleep=sleep),
        )
        self._context: ShopContextData | None = None
        self._shop_locations: list[GqlLocation] | None = None
        self._stock = StockWriter(
            config,
            self.client,
            default_location=self._location,
            location_name=self._location_name,
        )
        self._lock = threading.Lock()
        self._skus: dict[str, str] = {}
        self._webhooks = ShopifyWebhooks(
            config, sku_for_item=self._skus.get, location_id=self._known_location
        )
        self._limits = ChannelLimits(
            stock_batch=BATCH,
            price_batch=BATCH,
            page_size=ORDERS_PAGE,
            rate_limits=(
                RateLimit(
                    operation="graphql",
                    per_second=100,
                    burst=2_000,
                    note="query cost points on the Standard plan; paced from throttleStatus",
                ),
            ),
            supports_compare_and_set=True,
        )

    @property
    def account(self) -> str:
        """The account name."""
        return self.config.account

    @property
    def limits(self) -> ChannelLimits:
        """250 items per stock or price call, 25 orders per page, cost-based pacing."""
        return self._limits

    def __repr__(self) -> str:
        return (
            f"ShopifyChannel(account={self.config.account!r}, shop={self.config.shop!r},"
            f" api_version={self.config.api_version!r})"
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    # -- shop context ------------------------------------------------------------------------

    def context(self) -> ShopContextData:
        """The shop's currency and the synced location (read once, then cached)."""
        with self._lock:
            if self._context is not None:
                return self._context
        wanted = gid("Location", self.config.location_id) if self.config.location_id else None
        ctx = self.client.shop_context(wanted)
        if ctx.location is None:
            raise ConfigError(
                f"{self.account}: location {self.config.location_id!r} does not exist on"
                f" {self.config.shop} (or the app lacks read_locations)"
            )
        with self._lock:
            self._context = ctx
        return ctx

    def _known_location(self) -> str | None:
        with self._lock:
            if self._context is not None and self._context.location is not None:
                return self._context.location.id
        return gid("Location", self.config.location_id) if self.config.location_id else None

    def _location(self) -> str:
        location = self.context().location
        assert location is not None  # context() refuses a missing location
        return location.id

    # -- orders ------------------------------------------------------------------------------

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        """Every order updated at or after ``updated_after`` (to the second), oldest first.

        An order that does not read or map (a malformed node, lines that do not read, a
        currency channelsync does not know) is yielded as an ``OrderFailure`` in its place;
        the orders around it are read on. Transport and auth errors still raise.
        """
        since = updated_after.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        search = f"updated_at:>='{since}'"
        pages: Paginator[OrderNode | UnreadableOrder, str] = Paginator(
            lambda after: self._orders_page(search, after),
            channel=self.account,
            operation="Orders",
        )
        for item in pages:
            if isinstance(item, UnreadableOrder):
                yield self._failure(item.raw, item.error)
                continue
            node, raw = item
            try:
                more = self._more_lines(node)
                lines = len(node.line_items.nodes) + len(more)
                order = order_from_graphql(
                    node,
                    account=self.account,
                    raw=raw,
                    more_lines=more,
                    details=self._quantities(node, lines),
                    locations=self._line_locations(node, lines),
                )
            except ORDER_DATA_ERRORS as exc:
                yield self._failure(raw, exc)
                continue
            yield order

    def _more_lines(self, node: GqlOrder) -> list[GqlLineItem]:
        """The order's lines past the first page of the orders query."""
        more: list[GqlLineItem] = []
        info = node.line_items.page_info
        while info.has_next_page:
            page = self.client.order_line_items(node.id, info.end_cursor)
            if page is None:
                break
            more.extend(page.nodes)
            info = page.page_info
        return more

    def _line_locations(self, node: GqlOrder, lines: int) -> dict[str, LineLocation] | None:
        """Where each line of an order with several fulfillment orders is assigned.

        None for an order with one fulfillment order (or none): the orders page says where
        its lines are. Otherwise ``OrderLocations`` reads every fulfillment order (doubling
        how many it asks for until all came) with its lines' units. A line split over
        several locations goes to the one with most units and is logged; what cannot be
        read within 1,000 points leaves its lines without a location (logged), since a
        location is where units are counted, not how many.
        """
        probe = node.fulfillment_orders
        if probe is None or not probe.page_info.has_next_page:
            return None
        orders = 5
        try:
            while True:
                per_order = q.locations_lines(orders, lines)
                if per_order < 1:
                    raise ValueError(
                        f"{orders} fulfillment orders cannot be read under 1,000 points"
                    )
                found = self.client.order_locations(node.id, orders=orders, lines=per_order)
                if found is None:
                    return {}
                page = found.fulfillment_orders
                if page.page_info is not None and page.page_info.has_next_page:
                    orders *= 2
                    continue
                break
        except ValueError as exc:
            log.warning(
                "%s: Shopify order %s: where its lines are assigned cannot be read (%s);"
                " its lines carry no location",
                self.account,
                legacy_id(node.id),
                exc,
            )
            return {}
        where = line_locations(page.nodes)
        for line_gid, place in where.items():
            if place.split:
                log.warning(
                    "%s: Shopify order %s line %s is split over %d locations (%s): its units"
                    " count at %s, the location with most of them",
                    self.account,
                    legacy_id(node.id),
                    legacy_id(line_gid),
                    len(place.units),
                    ", ".join(f"{units} at {loc}" for loc, units in place.units),
                    place.location_id,
                )
        return where

    def _quantities(self, node: GqlOrder, lines: int) -> OrderQuantitiesOrder | None:
        """The order's fulfillments and refunds with their line items, all of them.

        Only for an order that has any (``needs_quantities``). ``fulfillments`` and
        ``refunds`` are lists Shopify cannot page, so each is asked for in full: the exact
        ``fulfillmentsCount``, and the refunds the orders page listed (more when it listed a
        full ``REFUNDS_IN_PAGE``: asked again, doubled, until fewer come back). Each list
        item's lines are asked for up to the order's line count (a fulfillment holds at most
        one line item per order line), fewer when the 1,000-point limit needs it. An order
        that cannot be read in full within that limit raises ``ValueError`` (reported as an
        ``OrderFailure``): its units are never estimated.
        """
        if not needs_quantities(node):
            return None
        count = node.fulfillments_count
        exact = count is not None and count.precision.upper() == "EXACT"
        fulfillments = count.count if count is not None and exact else q.REFUNDS_IN_PAGE
        refunds = len(node.refunds)
        if refunds >= q.REFUNDS_IN_PAGE:
            refunds = 2 * q.REFUNDS_IN_PAGE
        while True:
            per_list = q.quantities_lines(fulfillments, refunds, lines)
            if per_list < 1:
                raise ValueError(
                    f"order {node.id}: {fulfillments} fulfillments and {refunds} refunds "
                    "cannot be read in one query under 1,000 points"
                )
            details = self.client.order_quantities(
                node.id, fulfillments=fulfillments, refunds=refunds, lines=per_list
            )
            if details is None:
                raise ValueError(f"order {node.id}: not found when its lines were read")
            more_fulfillments = not exact and len(details.fulfillments) >= fulfillments
            more_refunds = len(details.refunds) >= refunds > len(node.refunds)
            if not more_fulfillments and not more_refunds:
                return details
            fulfillments = 2 * fulfillments if more_fulfillments else fulfillments
            refunds = 2 * refunds if more_refunds else refunds

    def _failure(self, raw: Mapping[str, Any], exc: Exception) -> OrderFailure:
        failure = order_failure(raw, exc)
        log.warning(
            "account %s: Shopify order %s cannot be read (%s)",
            self.account,
            failure.order_id,
            failure.error,
        )
        return failure

    def _orders_page(
        self, search: str, after: str | None
    ) -> tuple[list[OrderNode | UnreadableOrder], str | None]:
        nodes, info = self.client.orders_page(search, after)
        return nodes, info.end_cursor if info.has_next_page else None

    # -- listings ----------------------------------------------------------------------------

    def locations(self) -> list[GqlLocation]:
        """Every active location of the shop (fulfilment-service ones included), read now.

        Each has its GID (``id``, what ``Listing.levels``, ``OrderLine.location_id`` and
        ``StockUpdate.location`` use), ``name``, and whether any item is stocked there
        (``has_active_inventory``): what an account's ``locations`` mapping names.
        """
        found = self.client.locations()
        with self._lock:
            self._shop_locations = found
        return found

    def _location_name(self, location: str) -> str:
        with self._lock:
            known = list(self._shop_locations or ())
        name = next((loc.name for loc in known if loc.id == location and loc.name), None)
        return f"{name} ({location})" if name else location

    def fetch_listings(self) -> Iterator[Listing]:
        """Every variant with a SKU, with ``available`` at every location it is stocked at.

        ``Listing.levels`` maps each location's GID to its ``available``; ``quantity`` is
        the account's default location's (``config.location_id``, else the primary). The
        shop's locations are read first (``locations()``): when items are stocked at the
        default location alone, its level is read alone (4 points a variant); otherwise
        each item's levels, as many a variant as locations have stock (5 + 2 per location
        a variant, up to ``LEVELS_PER_VARIANT``; the rest read per item).
        """
        ctx = self.context()
        location = self._location()
        shop = self.locations()  # read anew: a location may have been added since
        stocked = [loc.id for loc in shop if loc.has_active_inventory]
        one_place = len(shop) <= 1 or stocked in ([], [location])
        levels = min(max(len(stocked), 1), q.LEVELS_PER_VARIANT)

        def page(after: str | None) -> tuple[list[GqlVariant], str | None]:
            if one_place:
                conn = self.client.variants_page(after, location_id=location)
            else:
                conn = self.client.variants_page(after, levels=levels)
            return conn.nodes, conn.page_info.end_cursor if conn.page_info.has_next_page else None

        pages: Paginator[GqlVariant, str] = Paginator(
            page, channel=self.account, operation="Variants"
        )
        for variant in pages:
            if not variant.sku or not variant.sku.strip():
                log.debug("%s: variant %s has no SKU; not synced", self.account, variant.id)
                continue
            if not syncable_sku(self.account, variant.sku, f"variant {variant.id}"):
                continue
            listing = listing_from_variant(
                variant,
                account=self.account,
                location_id=location,
                currency=ctx.shop.currency_code,
                more_levels=self._more_levels(variant),
            )
            if listing is None:
                continue
            with self._lock:
                self._skus[variant.inventory_item.id] = listing.sku
            yield listing

    def _more_levels(self, variant: GqlVariant) -> list[InventoryLevel]:
        """The item's levels past the variants page's (items stocked at many locations)."""
        conn = variant.inventory_item.inventory_levels
        more: list[InventoryLevel] = []
        while conn is not None and conn.page_info.has_next_page and conn.page_info.end_cursor:
            conn = self.client.item_levels(variant.inventory_item.id, conn.page_info.end_cursor)
            if conn is not None:
                more.extend(conn.nodes)
        return more

    # -- stock -------------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set ``available`` with ``inventorySetQuantities``, 250 per call, compare-and-swap.

        Each update sets its ``location`` (a location GID or numeric id), or the account's
        default location when it has none; one call carries up to 250 quantities across
        locations, and each result names the update's ``location``. An item whose expected
        quantity no longer matches (a sale Shopify counted) fails alone as a conflict
        carrying Shopify's current quantity there; the engine re-reads orders and
        recomputes instead of overwriting the sale. At a location where the item is not
        stocked, 0 succeeds, more is stocked there with ``inventoryActivate`` when
        ``config.activate_locations`` is on, or fails saying how (see ``StockWriter``).
        """
        return self._stock.push(updates)

    # -- prices ------------------------------------------------------------------------------

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[PushResult]:
        """Set variant prices with ``productVariantsBulkUpdate``, one call per product (250 max)."""
        results: list[PushResult | None] = [None] * len(updates)
        by_product: dict[str, list[tuple[int, PriceUpdate]]] = {}
        for n, update in enumerate(updates):
            listing = update.listing
            ids = listing.ids if listing is not None else {}
            if "variant_id" not in ids or "product_id" not in ids:
                results[n] = PushResult.failure(
                    ItemError(
                        update.sku, "no Shopify variant is bound to this SKU", code="NO_LISTING"
                    )
                )
                continue
            if (
                listing is not None
                and listing.price is not None
                and (listing.price.currency != update.price.currency)
            ):
                results[n] = PushResult.failure(
                    ItemError(
                        update.sku,
                        f"Shopify prices are in the shop currency {listing.price.currency},"
                        f" not {update.price.currency}",
                        code="CURRENCY",
                    )
                )
                continue
            by_product.setdefault(gid("Product", ids["product_id"]), []).append((n, update))
        for product, items in by_product.items():
            for start in range(0, len(items), BATCH):
                self._push_prices(product, items[start : start + BATCH], results)
        return [
            r if r is not None else no_result(u.sku) for r, u in zip(results, updates, strict=True)
        ]

    def _push_prices(
        self, product: str, items: list[tuple[int, PriceUpdate]], results: list[PushResult | None]
    ) -> None:
        variants = []
        for _, u in items:
            assert u.listing is not None
            variants.append(
                {
                    "id": gid("ProductVariant", u.listing.ids["variant_id"]),
                    "price": str(u.price.amount),
                }
            )
        result = self.client.update_prices(product, variants)
        failed: dict[int, UserError] = {}
        general: list[UserError] = []
        for error in result.user_errors:
            index = error.index("variants")
            if index is not None and 0 <= index < len(items):
                failed.setdefault(index, error)
            else:
                general.append(error)
        for i, (n, u) in enumerate(items):
            refused = failed.get(i) or (general[0] if general else None)
            if refused is None:
                results[n] = PushResult.success(u.sku)
            else:
                results[n] = PushResult.failure(
                    ItemError(u.sku, refused.message, code=refused.code)
                )

    # -- fulfillment and cancellation ----------------------------------------------------------

    def push_fulfillment(self, order_id: str, shipment: Shipment) -> None:
        """Fulfil the shipment's lines (all unfulfilled when it names none) with tracking.

        Shopify fulfils the fulfillment orders of one location per ``fulfillmentCreate``:
        an order assigned to several locations gets one fulfillment per location, each
        with the shipment's tracking. Checks first, so a retry after a timeout does not
        fulfil twice: a location with a fulfillment of the same tracking number is done
        (its units count against the lines the shipment names), and nothing left to fulfil
        of the wanted lines means an earlier attempt went through.
        """
        order_gid = gid("Order", order_id)
        state = self.client.fulfillment_state(order_gid)
        if state is None:
            raise NotFound(
                f"order {order_id} does not exist on {self.config.shop}",
                channel=self.account,
                operation="FulfillmentState",
            )
        if state.cancelled_at is not None:
            raise Rejected(
                f"order {order_id} is cancelled: it cannot be fulfilled",
                channel=self.account,
                operation="CreateFulfillment",
            )
        done = [
            f
            for f in state.fulfillments
            if shipment.tracking_number
            and f.status.upper() == "SUCCESS"
            and any(t.number == shipment.tracking_number for t in f.tracking_info)
        ]
        if any(f.location is None for f in done):
            return  # a fulfillment with this tracking number, location unknown: done before
        done_at = {f.location.id for f in done if f.location is not None}
        wanted = {gid("LineItem", k): v for k, v in shipment.lines.items()}
        if done and wanted:
            for line_gid, units in self._fulfilled_units(order_gid, state, done).items():
                if line_gid in wanted:
                    wanted[line_gid] = max(0, wanted[line_gid] - units)
        known: set[str] = set()
        by_location: dict[str | None, list[dict[str, Any]]] = {}
        for fo in state.fulfillment_orders.nodes:
            for li in fo.line_items.nodes:
                known.add(li.line_item.id)
            place = fo.assigned_location.location if fo.assigned_location else None
            where = place.id if place is not None else None
            if fo.status.upper() not in _OPEN_FULFILLMENT_ORDERS or where in done_at:
                continue
            items = []
            for li in fo.line_items.nodes:
                if li.remaining_quantity <= 0:
                    continue
                take = li.remaining_quantity
                if shipment.lines:
                    take = min(take, wanted.get(li.line_item.id, 0))
                    if take <= 0:
                        continue
                    wanted[li.line_item.id] -= take
                items.append({"id": li.id, "quantity": take})
            if items:
                by_location.setdefault(where, []).append(
                    {"fulfillmentOrderId": fo.id, "fulfillmentOrderLineItems": items}
                )
        unknown = sorted(legacy_id(k) for k in shipment.lines if gid("LineItem", k) not in known)
        if unknown:
            raise Rejected(
                f"order {order_id} has no line(s) {', '.join(unknown)}",
                channel=self.account,
                operation="CreateFulfillment",
            )
        if not by_location:
            log.info(
                "%s: order %s has nothing left to fulfil; already done", self.account, order_id
            )
            return
        tracking = {
            k: v
            for k, v in {
                "company": shipment.carrier,
                "number": shipment.tracking_number,
                "url": shipment.tracking_url,
            }.items()
            if v
        }
        for groups in by_location.values():
            fulfillment: dict[str, Any] = {
                "lineItemsByFulfillmentOrder": groups,
                "notifyCustomer": self.config.notify_customer,
            }
            if tracking:
                fulfillment["trackingInfo"] = tracking
            result = self.client.create_fulfillment(fulfillment)
            if result.user_errors:
                raise Rejected(
                    "; ".join(e.message for e in result.user_errors),
                    channel=self.account,
                    operation="CreateFulfillment",
                    code=result.user_errors[0].code,
                )

    def _fulfilled_units(
        self, order_gid: str, state: FulfillmentStateOrder, done: Sequence[GqlFulfillment]
    ) -> dict[str, int]:
        """Units per order line (GID) of the fulfillments ``done`` (a retry's earlier work)."""
        ids = {f.id for f in done}
        lines = max(1, sum(len(fo.line_items.nodes) for fo in state.fulfillment_orders.nodes))
        count = len(state.fulfillments)
        per_list = q.quantities_lines(count, 0, lines)
        if per_list < 1:
            raise Rejected(
                f"order {legacy_id(order_gid)}: its {count} fulfillments cannot be read under"
                " 1,000 points to tell what an earlier attempt shipped; fulfil it in Shopify's"
                " admin",
                channel=self.account,
                operation="OrderQuantities",
            )
        details = self.client.order_quantities(
            order_gid, fulfillments=count, refunds=0, lines=per_list
        )
        units: dict[str, int] = {}
        for f in details.fulfillments if details is not None else ():
            if f.id not in ids or f.fulfillment_line_items is None:
                continue
            for fl in f.fulfillment_line_items.nodes:
                units[fl.line_item.id] = units.get(fl.line_item.id, 0) + (fl.quantity or 0)
        return units

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        """Cancel with ``orderCancel`` and wait (bounded) for Shopify's cancel job.

        An order already cancelled is left alone (a retry after a timeout).
        """
        self._cancel(order_id, reason, restock=self.config.cancel_restock)

    def _cancel(self, order_id: str, reason: str | None, *, restock: bool) -> None:
        order_gid = gid("Order", order_id)
        state = self.client.order_state(order_gid)
        if state is None:
            raise NotFound(
                f"order {order_id} does not exist on {self.config.shop}",
                channel=self.account,
                operation="OrderState",
            )
        if state.cancelled_at is not None:
            return
        result = self.client.cancel_order(
            order_gid,
            reason=shopify_cancel_reason(reason.split(":", 1)[0] if reason else None),
            restock=restock,
            refund=self.config.cancel_refund,
            staff_note=reason,
            notify_customer=self.config.notify_customer,
        )
        if result.order_cancel_user_errors:
            error = result.order_cancel_user_errors[0]
            kind = NotFound if error.code == "NOT_FOUND" else Rejected
            raise kind(
                error.message, channel=self.account, operation="CancelOrder", code=error.code
            )
        deadline = self._clock() + self.config.cancel_timeout
        delay = 0.1
        while True:
            state = self.client.order_state(order_gid)
            if state is not None and state.cancelled_at is not None:
                return
            if self._clock() >= deadline:
                raise Unavailable(
                    f"Shopify's cancel job for order {order_id} did not finish within"
                    f" {self.config.cancel_timeout:.0f}s",
                    channel=self.account,
                    operation="CancelOrder",
                )
            self._sleep(delay)
            delay = min(delay * 2, 2.0)

    # -- after-sale (SupportsCancel, SupportsRefund, SupportsReturns) ------------------------

    def cancel_lines(self, operation: CancelOperation) -> OperationReceipt:
        """Cancel the whole order with ``orderCancel`` (``restock`` as the operation says).

        Shopify cancels whole orders only: cancelling some units is refused with the way to
        do it (a refund of those units, which restocks them as ``CANCEL``).
        """
        if operation.lines:
            raise Rejected(
                f"order {operation.order_id}: Shopify cancels whole orders only (orderCancel);"
                " to cancel some units, refund them (channelsync orders refund ... --line"
                " LINE=UNITS): refundCreate restocks units not fulfilled as CANCEL",
                channel=self.account,
                operation="CancelOrder",
            )
        reason = f"{operation.reason}: {operation.note}" if operation.note else operation.reason
        self._cancel(operation.order_id, reason, restock=operation.restock)
        return OperationReceipt(reference=operation.order_id)

    def refund(self, operation: RefundOperation) -> OperationReceipt:
        """``refundCreate``: the amount against the order's captured payments, and the lines
        (units not shipped restocked as ``CANCEL``, returned ones as ``RETURN``, the rest
        ``NO_RESTOCK``), each at the location Shopify assigned its line to (the account's
        default location when it does not say).

        The operation's key goes with ``@idempotent`` (API 2026-01 on) and into the refund's
        note, where a repeat after a lost answer finds the refund instead of refunding twice.
        """
        order_gid = gid("Order", operation.order_id)
        state = self.client.refund_state(order_gid)
        if state is None:
            raise NotFound(
                f"order {operation.order_id} does not exist on {self.config.shop}",
                channel=self.account,
                operation="RefundState",
            )
        tag = f"[channelsync {operation.idempotency_key}]"
        for existing in state.refunds:
            if existing.note and tag in existing.note:
                return self._refund_receipt(existing, operation.amount)
        presented = state.presentment_currency_code or state.currency_code
        if presented != state.currency_code:
            raise Rejected(
                f"order {operation.order_id} was paid in {presented} (the shop keeps"
                f" {state.currency_code}): refund it in Shopify's admin",
                channel=self.account,
                operation="CreateRefund",
            )
        if operation.amount.currency != state.currency_code:
            raise Rejected(
                f"order {operation.order_id} is in {state.currency_code}, not"
                f" {operation.amount.currency}",
                channel=self.account,
                operation="CreateRefund",
            )
        transactions = self._refund_transactions(state.transactions, operation, order_gid)
        assigned = (
            line_locations(state.fulfillment_orders.nodes)
            if state.fulfillment_orders is not None
            else {}
        )
        items: list[dict[str, Any]] = []
        for line_id, qty in operation.lines.items():
            cancelled = min(qty, operation.cancelled.get(line_id, 0))
            returned = min(qty - cancelled, operation.returned.get(line_id, 0))
            for units, kind in (
                (cancelled, "CANCEL"),
                (returned, "RETURN"),
                (qty - cancelled - returned, "NO_RESTOCK"),
            ):
                if units > 0:
                    item: dict[str, Any] = {
                        "lineItemId": gid("LineItem", line_id),
                        "quantity": units,
                        "restockType": kind,
                    }
                    if kind != "NO_RESTOCK":
                        place = assigned.get(item["lineItemId"])
                        item["locationId"] = (
                            place.location_id
                            if place is not None and place.location_id
                            else self._location()
                        )
                    items.append(item)
        note = f"{operation.note or operation.reason} {tag}"
        refund_input: dict[str, Any] = {
            "orderId": order_gid,
            "note": note,
            "notify": self.config.notify_customer,
            "transactions": transactions,
        }
        if items:
            refund_input["refundLineItems"] = items
        key = operation.idempotency_key if self.config.needs_idempotency_key else None
        payload = self.client.create_refund(refund_input, key)
        if payload.user_errors or payload.refund is None:
            raise Rejected(
                "; ".join(e.message for e in payload.user_errors) or "refundCreate gave no refund",
                channel=self.account,
                operation="CreateRefund",
                code=payload.user_errors[0].code if payload.user_errors else None,
            )
        return self._refund_receipt(payload.refund, operation.amount)

    def _refund_transactions(
        self, transactions: Sequence[Any], operation: RefundOperation, order_gid: str
    ) -> list[dict[str, Any]]:
        """REFUND transactions spreading the amount over the captured payments."""
        refunded: dict[str, Any] = {}
        for t in transactions:
            if t.kind == "REFUND" and t.status == "SUCCESS" and t.parent_transaction:
                pid = t.parent_transaction.id
                refunded[pid] = refunded.get(pid, 0) + t.amount_set.shop_money.amount
        left = operation.amount.amount
        out: list[dict[str, Any]] = []
        for t in transactions:
            if t.kind not in ("SALE", "CAPTURE") or t.status != "SUCCESS" or left <= 0:
                continue
            room = t.amount_set.shop_money.amount - refunded.get(t.id, 0)
            take = min(room, left)
            if take <= 0:
                continue
            out.append(
                {
                    "orderId": order_gid,
                    "parentId": t.id,
                    "amount": format(take, "f"),
                    "gateway": t.gateway,
                    "kind": "REFUND",
                }
            )
            left -= take
        if left > 0:
            raise Rejected(
                f"order {operation.order_id}: {operation.amount} is more than its captured"
                f" payments can give back ({format(left, 'f')} short)",
                channel=self.account,
                operation="CreateRefund",
            )
        return out

    @staticmethod
    def _refund_receipt(refund: Any, asked: Money) -> OperationReceipt:
        total = refund.total_refunded_set.shop_money if refund.total_refunded_set else None
        amount = Money(amount=total.amount, currency=total.currency_code) if total else asked
        return OperationReceipt(
            reference=legacy_id(refund.id),
            refund=Refund(
                refund_id=legacy_id(refund.id),
                amount=amount,
                created_at=refund.created_at,
                reason=refund.note,
            ),
        )

    def record_return(self, operation: ReturnOperation) -> OperationReceipt:
        """``returnCreate`` for the fulfilled units, ``returnProcess`` restocking them at the
        location (``RESTOCKED``) or not (``NOT_RESTOCKED``), then ``returnClose``.

        ``returnProcess`` arrived with API version 2025-07: older versions are refused.
        """
        if not version_at_least(self.config.api_version, "2025-07"):
            raise Rejected(
                f"returns need Shopify's returnProcess (API 2025-07 or later); this account uses"
                f" {self.config.api_version}: raise api_version, or record the return with"
                " notify_channel=False",
                channel=self.account,
                operation="ProcessReturn",
            )
        order_gid = gid("Order", operation.order_id)
        state = self.client.return_state(order_gid)
        if state is None:
            raise NotFound(
                f"order {operation.order_id} does not exist on {self.config.shop}",
                channel=self.account,
                operation="ReturnState",
            )
        returned: dict[str, int] = {}
        for ret in state.returns.nodes:
            if ret.status.upper() in ("CANCELED", "DECLINED"):
                continue
            for rli in ret.return_line_items.nodes:
                if rli.fulfillment_line_item is not None:
                    fid = rli.fulfillment_line_item.id
                    returned[fid] = returned.get(fid, 0) + rli.quantity
        reason = _RETURN_REASONS.get(operation.reason, "OTHER")
        items: list[dict[str, Any]] = []
        for line_id, qty in operation.lines.items():
            line_gid, left = gid("LineItem", line_id), qty
            for f in state.fulfillments:
                if f.status.upper() != "SUCCESS":
                    continue
                for fli in f.fulfillment_line_items.nodes:
                    if fli.line_item is None or fli.line_item.id != line_gid or left <= 0:
                        continue
                    take = min(left, (fli.quantity or 0) - returned.get(fli.id, 0))
                    if take > 0:
                        items.append(
                            {
                                "fulfillmentLineItemId": fli.id,
                                "quantity": take,
                                "returnReason": reason,
                                "returnReasonNote": (operation.note or "")[:255],
                            }
                        )
                        left -= take
            if left:
                raise Rejected(
                    f"order {operation.order_id}: line {line_id} has {qty - left} fulfilled"
                    f" unit(s) not returned on Shopify: {qty} cannot be returned",
                    channel=self.account,
                    operation="CreateReturn",
                )
        created = self.client.create_return(
            {"orderId": order_gid, "returnLineItems": items, "notifyCustomer": False}
        )
        ret = self._return_of(created, "CreateReturn")
        reverse = {
            rl.fulfillment_line_item.id: rl.id
            for rfo in (
                ret.reverse_fulfillment_orders.nodes if ret.reverse_fulfillment_orders else []
            )
            for rl in rfo.line_items.nodes
            if rl.fulfillment_line_item is not None
        }
        location = gid("Location", operation.location) if operation.location else self._location()
        lines = []
        for rli in ret.return_line_items.nodes:
            fli_id = rli.fulfillment_line_item.id if rli.fulfillment_line_item else ""
            disposition: dict[str, Any] = {
                "reverseFulfillmentOrderLineItemId": reverse.get(fli_id, ""),
                "quantity": rli.quantity,
                "dispositionType": "RESTOCKED" if operation.restock else "NOT_RESTOCKED",
            }
            if operation.restock:
                disposition["locationId"] = location
            lines.append({"id": rli.id, "quantity": rli.quantity, "dispositions": [disposition]})
        processed = self._return_of(
            self.client.process_return(
                {"returnId": ret.id, "returnLineItems": lines, "notifyCustomer": False}
            ),
            "ProcessReturn",
            created=ret.id,
        )
        if processed.status.upper() == "OPEN":
            self._return_of(self.client.close_return(ret.id), "CloseReturn", created=ret.id)
        return OperationReceipt(reference=legacy_id(ret.id))

    def _return_of(self, payload: Any, operation: str, created: str | None = None) -> Any:
        if payload.user_errors or payload.return_ is None:
            prefix = f"return {legacy_id(created)} was created but " if created else ""
            raise Rejected(
                prefix
                + ("; ".join(e.message for e in payload.user_errors) or f"{operation} failed"),
                channel=self.account,
                operation=operation,
                code=payload.user_errors[0].code if payload.user_errors else None,
            )
        return payload.return_

    # -- webhooks ----------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Verify ``X-Shopify-Hmac-Sha256`` and map the delivery (see ``webhooks.py``)."""
        return self._webhooks.parse(headers, body)
