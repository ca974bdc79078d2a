"""``MagentoChannel``: the ``Channel`` of one Magento 2 / Adobe Commerce store (REST)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

import httpx

from channelsync.adapters._paging import Paginator
from channelsync.adapters._skus import syncable_sku
from channelsync.adapters.magento._search import SearchCriteria
from channelsync.adapters.magento.client import BatchTooLarge, MagentoClient, PageTooLarge
from channelsync.adapters.magento.config import MagentoConfig
from channelsync.adapters.magento.mapping import (
    KIND,
    ORDER_DATA_ERRORS,
    STOCK_TYPES,
    line_index,
    listing_from_product,
    magento_time,
    open_units,
    order_failure,
    order_from_payload,
    order_lines,
    parse_magento_time,
    price_row,
    refund_from_creditmemo,
    ship_items,
    source_item,
)
from channelsync.adapters.magento.payloads import (
    Creditmemo,
    MagentoOrder,
    OrderItem,
    PriceUpdateResult,
    Product,
    SearchResults,
    Shipment,
    UnreadableOrder,
)
from channelsync.adapters.magento.webhooks import MagentoWebhooks
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
    PermanentError,
    Rejected,
    TransientError,
)
from channelsync.core.models import Listing, Money, Order, Refund
from channelsync.core.models import Shipment as ShipmentModel

__all__ = ["MagentoChannel"]

log = logging.getLogger(__name__)

Inventory = Literal["msi", "legacy"]
#: Bulk operation statuses (``Magento\\Framework\\Bulk\\OperationInterface``).
_COMPLETE, _RETRIABLE, _FAILED, _OPEN, _REJECTED = 1, 2, 3, 4, 5
_IDEMPOTENCY_TAG = "channelsync:"
#: The order states Magento holds stock reserved in (an order leaves them once it is complete,
#: closed or canceled, when the reservation is compensated).
_OPEN_STATES = "new,pending_payment,processing,holded,payment_review"
#: Most characters of SKUs (URL-encoded, with their commas) one ``sku in (…)`` filter carries:
#: web servers refuse longer request lines (nginx's default buffer is 8 KB, Apache's 8,190).
_FILTER_BUDGET = 6000
#: Where an order scan stands: (updated_at, entity_id after which that second continues).
_OrderToken = tuple[str, int | None]


@dataclass(frozen=True)
class _Write:
    """One stock write: the update's position, SKU, source, the quantity buyers should see,
    and the units Magento holds reserved on top of it."""

    position: int
    sku: str
    source_code: str
    quantity: int
    reserved: int = 0

    def item(self) -> dict[str, Any]:
        """The source item to save."""
        return source_item(self.sku, self.source_code, self.quantity + self.reserved)


class MagentoChannel:
    """One Magento 2 / Adobe Commerce store as a channelsync ``Channel``.

    ::

        shop = MagentoChannel(MagentoConfig(
            account="magento-main", url="https://shop.example.com",
            access_token="...", consumer_key="...", consumer_secret="...",
            access_token_secret="...",
        ))

    Magento core sends no webhooks: orders are polled (``fetch_orders``), which
    ``parse_webhook`` says plainly (docs/channels/magento.md lists Adobe Commerce's own event
    options).

    Args:
        config: the account's configuration (no environment is read).
        transport: an httpx transport (``httpx.MockTransport`` in tests).
        base_url: the store URL to use instead of ``config.url`` (the sandbox).
        sleep: how to wait between reads of a bulk's status (``time.sleep``).
        clock: monotonic seconds, for the bulk timeout (``time.monotonic``).
    """

    kind = KIND

    def __init__(
        self,
        config: MagentoConfig,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._client = MagentoClient(config, transport=transport, base_url=base_url)
        self._webhooks = MagentoWebhooks(config.account)
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._batch_limit = config.batch_size
        self._page_size = config.page_size
        self._inventory: Inventory | None = None if config.inventory == "auto" else config.inventory
        self._bulk_usable = config.bulk != "never"
        self._currency = config.currency
        self._index: dict[str, Listing] = {}
        self._missing: set[str] = set()
        self._watermark: str | None = None
        self.skipped_unmanaged: list[str] = []
        """SKUs of the last ``fetch_listings`` whose stock Magento does not manage."""

    def __repr__(self) -> str:
        return f"MagentoChannel(account={self.account!r}, rest={self._client.rest_root!r})"

    # -- identity -------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """The merchant's name for this store."""
        return self.config.account

    @property
    def limits(self) -> ChannelLimits:
        """Items per synchronous stock and price call (20 unless configured or learnt from
        the store), the search page size, and the configured pacing."""
        rate = self.config.requests_per_second
        return ChannelLimits(
            stock_batch=self._batch_limit,
            price_batch=self._batch_limit,
            page_size=self._page_size,
            rate_limits=(
                (RateLimit(operation="*", per_second=rate, burst=max(1, int(rate))),)
                if rate
                else ()
            ),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # -- paging helpers ---------------------------------------------------------------------

    def _learn_page_limit(self, exc: PageTooLarge) -> None:
        with self._lock:
            if exc.limit < self._page_size:
                log.warning(
                    "account %s: the store allows at most %d items per page; using that",
                    self.account,
                    exc.limit,
                )
                self._page_size = max(1, exc.limit)
            else:
                raise exc

    def _search(
        self,
        call: Callable[[SearchCriteria], SearchResults[Any]],
        build: Callable[[int], SearchCriteria],
    ) -> SearchResults[Any]:
        """Run a search, shrinking the page once when the store's page limit refuses it."""
        while True:
            size = self._page_size
            try:
                return call(build(size))
            except PageTooLarge as exc:
                self._learn_page_limit(exc)
                if self._page_size == size:
                    raise

    # -- orders ---------------------------------------------------------------------------

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        """Every order changed at or after ``updated_after``, oldest change first.

        The search opens ``order_window_seconds`` early (Magento stamps ``updated_at``
        before its transaction commits, so a slow save can appear behind the newest change
        already read) and pages by keyset, not page number: each request starts at the
        newest ``updated_at`` read so far (``gteq``); a page that falls entirely in one
        second continues with ``updated_at eq T and entity_id gt last``. Orders already
        yielded in this scan (same id and ``updated_at``) are dropped. Each page's shipments
        (with tracking) and credit memos are read in one search each.

        An order that does not read or map is yielded as an ``OrderFailure`` in its place.
        """
        if updated_after.tzinfo is None:
            raise ValueError("updated_after must be timezone-aware")
        start = updated_after.replace(microsecond=0) - timedelta(
            seconds=self.config.order_window_seconds
        )
        seen: set[tuple[Any, Any]] = set()

        def fetch(
            token: _OrderToken | None,
        ) -> tuple[list[Order | OrderFailure], _OrderToken | None]:
            since, after = token or (magento_time(start), None)

            def build(size: int) -> SearchCriteria:
                criteria = SearchCriteria(page_size=size)
                if after is None:
                    criteria.where("updated_at", since, "gteq")
                else:
                    criteria.where("updated_at", since, "eq").where("entity_id", after, "gt")
                return criteria.order("updated_at").order("entity_id")

            page = self._search(self._client.orders, build)
            size = self._page_size
            raws = [_raw(o) for o in page.items]
            keys = [(r.get("entity_id"), r.get("updated_at") or r.get("created_at")) for r in raws]
            fresh = [o for o, k in zip(page.items, keys, strict=True) if k not in seen]
            seen.update(keys)
            orders = self._map_orders(fresh)
            self._advance_watermark(orders)
            full = len(page.items) >= size and page.total_count > len(page.items)
            if not full:
                if after is None:
                    return orders, None
                nxt = magento_time(parse_magento_time(since) + timedelta(seconds=1))
                return orders, (nxt, None)
            last_id = _int_or_none(raws[-1].get("entity_id"))
            if after is not None:
                return orders, (since, last_id if last_id is not None else after)
            newest = _time_or_none(keys[-1][1])
            if newest is not None and magento_time(newest) > since:
                return orders, (magento_time(newest), None)
            return orders, (since, last_id)

        yield from Paginator(fetch, channel=self.account, operation="GET orders")

    def _advance_watermark(self, orders: Sequence[Order | OrderFailure]) -> None:
        newest = max(
            (magento_time(o.updated_at) for o in orders if isinstance(o, Order)), default=None
        )
        if newest is None:
            return
        with self._lock:
            if self._watermark is None or newest > self._watermark:
                self._watermark = newest

    def _reserved(self) -> dict[str, int]:
        """Units per SKU (lower-cased) that Magento holds reserved for its open orders that
        ``fetch_orders`` has already returned (one order search per page of open orders)."""
        with self._lock:
            mark = self._watermark
        if mark is None or not self.config.compensate_reservations:
            return {}
        totals: dict[str, int] = {}
        for _, units in self._open_orders(mark):
            _add(totals, units)
        return totals

    def _open_orders(self, upto: str | None) -> Iterator[tuple[str, dict[str, int]]]:
        """(``updated_at``, SKU (lower-cased) -> units still to ship) of every order Magento
        holds units reserved for (its unfinished states), changed at or before ``upto``
        where given: one order search per page, keyset on ``entity_id``."""
        last = 0
        while True:
            after = last

            def build(size: int, after: int = after) -> SearchCriteria:
                criteria = SearchCriteria(page_size=size).where("state", _OPEN_STATES, "in")
                if upto is not None:
                    criteria.where("updated_at", upto, "lteq")
                return criteria.where("entity_id", after, "gt").order("entity_id")

            page = self._search(self._client.orders, build)
            for order in page.items:
                if isinstance(order, UnreadableOrder):
                    continue
                try:
                    units = open_units(order.items)
                except ORDER_DATA_ERRORS:
                    continue
                yield order.updated_at or order.created_at, units
            ids = [o.entity_id for o in page.items if isinstance(o, MagentoOrder)]
            if len(page.items) >= page.total_count or not ids:
                return
            last = max(ids)

    def read_order(self, order_id: str) -> Order | OrderFailure | None:
        """One order as the store has it now (``GET /V1/orders/{id}``); None if it is gone."""
        try:
            number = int(order_id)
        except ValueError:
            return None
        try:
            raw = self._client.order_json(number)
        except NotFound:
            return None
        try:
            order = MagentoOrder.model_validate(raw)
        except ORDER_DATA_ERRORS as exc:
            return order_failure(raw, exc)
        return self._map_orders([order])[0]

    def _map_orders(
        self, orders: Sequence[MagentoOrder | UnreadableOrder]
    ) -> list[Order | OrderFailure]:
        readable = [o for o in orders if isinstance(o, MagentoOrder)]
        shipped = [o.entity_id for o in readable if any(i.qty_shipped > 0 for i in o.items)]
        refunded = [o.entity_id for o in readable if (o.base_total_refunded or 0) > 0]
        shipments: dict[int, list[Shipment]] = {}
        for sh in self._by_order(self._client.shipments, shipped):
            shipments.setdefault(sh.order_id, []).append(sh)
        memos: dict[int, list[Creditmemo]] = {}
        for memo in self._by_order(self._client.creditmemos, refunded):
            memos.setdefault(memo.order_id, []).append(memo)
        out: list[Order | OrderFailure] = []
        for order in orders:
            if isinstance(order, UnreadableOrder):
                out.append(order_failure(order.raw, order.error))
                continue
            raw = order.model_dump(mode="json")
            try:
                out.append(
                    order_from_payload(
                        order,
                        raw,
                        account=self.account,
                        currency=self._currency,
                        shipments=shipments.get(order.entity_id, ()),
                        creditmemos=memos.get(order.entity_id, ()),
                    )
                )
            except ORDER_DATA_ERRORS as exc:
                out.append(order_failure(raw, exc))
        return out

    def _by_order(
        self, call: Callable[[SearchCriteria], SearchResults[Any]], order_ids: Sequence[int]
    ) -> list[Any]:
        """Every shipment or credit memo of ``order_ids`` (one search per page of ids)."""
        found: list[Any] = []
        for start in range(0, len(order_ids), self._page_size):
            ids = ",".join(str(i) for i in order_ids[start : start + self._page_size])
            page = 1
            while True:
                current = page

                def build(size: int, current: int = current, ids: str = ids) -> SearchCriteria:
                    return (
                        SearchCriteria(page_size=size)
                        .where("order_id", ids, "in")
                        .order("entity_id")
                        .page(current)
                    )

                got = self._search(call, build)
                found += got.items
                if not got.items or page * self._page_size >= got.total_count:
                    break
                page += 1
        return found

    # -- listings -------------------------------------------------------------------------

    def inventory_mode(self) -> Inventory:
        """``msi`` or ``legacy``: configured, or asked once (``GET /V1/inventory/sources``
        answers 404 *Request does not match any route* without the Inventory modules)."""
        with self._lock:
            if self._inventory is not None:
                return self._inventory
        try:
            sources = self._client.sources()
        except NotFound as exc:
            if exc.code != "no_route":
                raise
            mode: Inventory = "legacy"
        else:
            mode = "msi"
            codes = {s.source_code for s in sources}
            unknown = sorted(set(self.config.sources.values()) - codes)
            if unknown:
                log.warning(
                    "account %s: sources %s are not sources of the store (it has %s)",
                    self.account,
                    ", ".join(unknown),
                    ", ".join(sorted(codes)) or "none",
                )
        with self._lock:
            self._inventory = mode
        return mode

    def fetch_listings(self) -> Iterator[Listing]:
        """Every product that holds stock (simple, virtual, downloadable, gift card), with
        what buyers can buy from the default location's source (MSI: as ``read_stock``
        reads it, one order search per page of unfinished orders) or its stock item (legacy);
        where several sources are configured, its quantity at each of them too (``levels``,
        source code -> units: what an account that keeps a quantity per source starts
        from), read in the same source-item searches.

        Configurable products are not listings themselves; their children carry the
        parent's id and SKU in ``ids``. Products whose list entry lacks its stock item
        (Magento releases before the product list carried it) are read one by one
        (``GET /V1/stockItems/{sku}``).
        """
        mode = self.inventory_mode()
        currency = self._store_currency(required=False)
        products = self._all_products()
        parents: dict[int, Product] = {}
        for product in products:
            if product.type_id == "configurable" and product.extension_attributes:
                for child in product.extension_attributes.configurable_product_links:
                    parents[child] = product
        source = self.config.source_code()
        # Every configured source is read where there are several (the quantity per source,
        # ``levels``, is what an account that keeps one per source starts from).
        codes = list(dict.fromkeys([source, *self.config.sources.values()]))
        quantities = self._source_quantities(codes) if mode == "msi" else {}
        # What buyers can buy, in the terms ``read_stock`` reads (see ``_unaccounted``).
        reserved: dict[str, int] = {}
        if mode == "msi":
            try:
                reserved = self._unaccounted(
                    {p.sku.lower(): p.sku for p in products if p.type_id in STOCK_TYPES}
                )
            except AuthError as exc:
                log.warning(
                    "account %s: listings read without Magento's reservations (the open"
                    " orders cannot be read: %s)",
                    self.account,
                    exc,
                )
        index: dict[str, Listing] = {}
        unmanaged: list[str] = []
        for product in products:
            if product.type_id not in STOCK_TYPES:
                continue
            if not syncable_sku(self.account, product.sku, f"product {product.id}"):
                continue
            stock = (
                product.extension_attributes.stock_item if product.extension_attributes else None
            )
            if stock is None:
                try:
                    stock = self._client.stock_item(product.sku)
                except NotFound:
                    stock = None
            manages = stock is not None and (
                bool(stock.use_config_manage_stock) or stock.manage_stock is not False
            )
            levels: dict[str, int | None] = {}
            if mode == "msi":
                off = reserved.get(product.sku, 0)
                quantity = quantities.get((product.sku, source))
                if quantity is not None:
                    quantity -= off
                for code in codes if len(codes) > 1 else ():
                    if (product.sku, code) in quantities:
                        level = quantities[(product.sku, code)]
                        if level is not None and code == source:
                            level -= off
                        levels[code] = level
            else:
                quantity = int(stock.qty) if stock is not None and stock.qty is not None else None
            listing = listing_from_product(
                product,
                account=self.account,
                currency=currency,
                quantity=quantity,
                manages_stock=manages,
                source_code=source if mode == "msi" else None,
                stock_item_id=stock.item_id if stock is not None else None,
                parent=parents.get(product.id),
                levels=levels,
            )
            if not manages:
                unmanaged.append(product.sku)
            index[product.sku] = listing
            yield listing
        with self._lock:
            self._index = index
            self._missing.clear()
            self.skipped_unmanaged = unmanaged

    def _all_products(self) -> list[Product]:
        products: list[Product] = []
        last = 0
        while True:
            after = last

            def build(size: int, after: int = after) -> SearchCriteria:
                return (
                    SearchCriteria(page_size=size)
                    .where("entity_id", after, "gt")
                    .order("entity_id")
                )

            page = self._search(self._client.products, build)
            products += page.items
            if not page.items or len(page.items) >= page.total_count:
                return products
            newest = max(p.id for p in page.items)
            if newest <= last:
                raise PermanentError(
                    "the store's product search does not move past entity_id"
                    f" {last}: paging stopped",
                    channel=self.account,
                    operation="GET products",
                )
            last = newest

    def _source_quantities(self, codes: Sequence[str]) -> dict[tuple[str, str], int | None]:
        """(SKU, source code) -> the source item's quantity (None: not whole units), for
        every source item of ``codes``: one search per page."""
        out: dict[tuple[str, str], int | None] = {}
        page = 1
        while True:
            current = page

            def build(size: int, current: int = current) -> SearchCriteria:
                criteria = SearchCriteria(page_size=size)
                if len(codes) == 1:
                    criteria.where("source_code", codes[0])
                else:
                    criteria.where("source_code", ",".join(codes), "in")
                return criteria.order("sku").order("source_code").page(current)

            got = self._search(self._client.source_items, build)
            for item in got.items:
                out[(item.sku, item.source_code)] = (
                    int(item.quantity)
                    if item.quantity == item.quantity.to_integral_value()
                    else None
                )
            # Magento answers a page past the end with the last page again: stop on the count.
            if not got.items or page * self._page_size >= got.total_count:
                return out
            page += 1

    def _store_currency(self, *, required: bool) -> str | None:
        with self._lock:
            if self._currency:
                return self._currency
        try:
            configs = self._client.store_configs()
        except PermanentError:
            if required:
                raise
            return None
        found = next(
            (c.base_currency_code for c in configs if c.code == self.config.store_code), None
        )
        with self._lock:
            self._currency = found.upper() if found else None
            return self._currency

    # -- stock ----------------------------------------------------------------------------

    def _known(self, skus: Sequence[str]) -> set[str]:
        """Which of ``skus`` are products of the store (listings read, or one search)."""
        with self._lock:
            known = {s for s in skus if s in self._index}
            missing = {s for s in skus if s in self._missing}
        ask = [s for s in dict.fromkeys(skus) if s not in known and s not in missing]
        for chunk in _sku_chunks(ask, self._page_size):
            wanted = ",".join(chunk)

            def build(size: int, wanted: str = wanted) -> SearchCriteria:
                return SearchCriteria(page_size=size).where("sku", wanted, "in")

            page = self._search(self._client.products, build)
            found = {p.sku for p in page.items}
            with self._lock:
                for product in page.items:
                    if product.type_id in STOCK_TYPES and product.sku not in self._index:
                        self._index[product.sku] = listing_from_product(
                            product,
                            account=self.account,
                            currency=self._currency,
                            quantity=None,
                            manages_stock=True,
                            source_code=None,
                        )
                self._missing.update(s for s in chunk if s not in found)
            known |= found & set(chunk)
        return known

    def read_stock(self, listings: Sequence[Listing]) -> dict[str, int | None]:
        """SKU -> what buyers can buy now, by channelsync's account: read just before a write
        so a sale the engine has not read yet is never overwritten (``SupportsReadStock``).

        MSI stores: the default source's quantity less the units of Magento's unfinished
        orders that the next write does not add back (with ``compensate_reservations`` every
        open order's units, i.e. the salable quantity of that source; without it the units
        of orders ``fetch_orders`` has not returned yet): ``GET /V1/inventory/source-items``
        with ``sku in (…)`` and ``source_code``, one call per ``page_size`` SKUs, plus one
        ``GET /V1/orders`` per page of unfinished orders. Stores without MSI: the stock
        item's ``qty`` (Magento takes an order's units off it when the order is placed), from
        ``GET /V1/products`` with ``sku in (…)``, one call per ``page_size`` SKUs.

        None for a SKU the store has no product for, or whose stock Magento does not manage.
        The figure may be negative (oversold).
        """
        skus = list(dict.fromkeys(x.sku for x in listings))
        if not skus:
            return {}
        if self.inventory_mode() == "legacy":
            return self._read_stock_items(skus)
        source = self.config.source_code()
        levels = self._read_sources(skus, [source])
        return {sku: levels.get((sku, source)) for sku in skus}

    def read_levels(self, listings: Sequence[Listing]) -> dict[str, dict[str, int | None]]:
        """SKU -> source code -> what buyers can buy from that source now, by channelsync's
        account (``SupportsReadLevels``), at every source of ``sources`` (the codes the
        account's ``locations`` mapping names); a product with no source item at a source
        reads 0 there, a SKU the store has no product for is left out.

        One ``GET /V1/inventory/source-items`` with ``sku in (…)`` and ``source_code in (…)``
        per ``page_size`` source items, plus one ``GET /V1/orders`` per page of unfinished
        orders. Magento reserves an order's units on the stock, not on a source, until the
        order ships from one: those units come off the default source's figure (where
        ``compensate_reservations`` adds back the ones channelsync has read), the other
        sources read their source item's quantity. A store without MSI has one stock item:
        it is the default source's figure.
        """
        skus = list(dict.fromkeys(x.sku for x in listings))
        if not skus:
            return {}
        default = self.config.source_code()
        if self.inventory_mode() == "legacy":
            items = self._read_stock_items(skus)
            return {sku: {default: q} for sku, q in items.items() if q is not None}
        codes = list(dict.fromkeys([default, *self.config.sources.values()]))
        levels = self._read_sources(skus, codes)
        out: dict[str, dict[str, int | None]] = {}
        for (sku, code), q in levels.items():
            out.setdefault(sku, {})[code] = q
        return out

    def _read_sources(
        self, skus: Sequence[str], codes: Sequence[str]
    ) -> dict[tuple[str, str], int]:
        """(SKU, source code) -> the quantity buyers can buy there by channelsync's account,
        for the SKUs that are products (a product not assigned to a source reads 0)."""
        known = self._known(skus)
        wanted = [s for s in skus if s in known]
        by_key = {s.lower(): s for s in wanted}
        raw: dict[tuple[str, str], int] = {}
        for skus_of_call in _sku_chunks(wanted, self._page_size):
            chunk = ",".join(skus_of_call)
            page = 1
            while True:
                current = page

                def build(size: int, current: int = current, chunk: str = chunk) -> SearchCriteria:
                    return (
                        SearchCriteria(page_size=size)
                        .where("sku", chunk, "in")
                        .where("source_code", ",".join(codes), "in")
                        .order("sku")
                        .order("source_code")
                        .page(current)
                    )

                got = self._search(self._client.source_items, build)
                for item in got.items:
                    sku = by_key.get(item.sku.lower())
                    if sku is not None and item.source_code in codes:
                        raw[(sku, item.source_code)] = math.floor(item.quantity)
                # A page past the end answers the last page again: stop on the count.
                if not got.items or page * self._page_size >= got.total_count:
                    break
                page += 1
        default = self.config.source_code()
        off: dict[str, int] = {}
        if default in codes and wanted:
            off = self._unaccounted(by_key)
        return {
            (sku, code): raw.get((sku, code), 0) - (off.get(sku, 0) if code == default else 0)
            for sku in wanted
            for code in codes
        }

    def _unaccounted(self, by_key: Mapping[str, str]) -> dict[str, int]:
        """SKU -> units Magento holds reserved that a write to the default source does not
        add back: every unfinished order's with ``compensate_reservations`` (the write adds
        the read ones back), else those of orders ``fetch_orders`` has not returned yet."""
        with self._lock:
            mark = self._watermark
        compensate = self.config.compensate_reservations
        out: dict[str, int] = {}
        for updated_at, units in self._open_orders(None):
            if not compensate and mark is not None and updated_at <= mark:
                continue  # read, and not added back: the ledger has it
            for key, qty in units.items():
                sku = by_key.get(key)
                if sku is not None:
                    out[sku] = out.get(sku, 0) + qty
        return out

    def _read_stock_items(self, skus: Sequence[str]) -> dict[str, int | None]:
        """SKU -> the legacy stock item's ``qty`` (None: no product, or stock not managed):
        ``GET /V1/products`` with ``sku in (…)``, one call per ``page_size`` SKUs, and
        ``GET /V1/stockItems/{sku}`` for a product whose list entry lacks its stock item."""
        out: dict[str, int | None] = dict.fromkeys(skus)
        by_key = {s.lower(): s for s in skus}
        for skus_of_call in _sku_chunks(skus, self._page_size):
            chunk = ",".join(skus_of_call)

            def build(size: int, chunk: str = chunk) -> SearchCriteria:
                return SearchCriteria(page_size=size).where("sku", chunk, "in").order("entity_id")

            for product in self._search(self._client.products, build).items:
                sku = by_key.get(product.sku.lower())
                if sku is None or product.type_id not in STOCK_TYPES:
                    continue
                ext = product.extension_attributes
                stock = ext.stock_item if ext is not None else None
                if stock is None:
                    try:
                        stock = self._client.stock_item(product.sku)
                    except NotFound:
                        continue
                manages = bool(stock.use_config_manage_stock) or stock.manage_stock is not False
                if manages and stock.qty is not None:
                    out[sku] = math.floor(stock.qty)
        return out

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set absolute quantities; one result per update, in order.

        MSI stores: source items (``POST /V1/inventory/source-items``, the batch limit per
        call), or for large pushes one asynchronous bulk request whose operations' statuses
        are read back (see ``MagentoConfig.bulk``). A synchronous batch is one transaction:
        when Magento refuses it, it is split until the refused items stand alone, so one bad
        item never fails the others. Stores without MSI: one stock item per call.

        SKUs the store has no product for fail alone (``NOT_FOUND``), and so do products
        whose stock Magento does not manage.
        """
        results: dict[int, PushResult] = {}
        skus = [u.sku for u in updates]
        known = self._known(skus) if updates else set()
        writes: list[_Write] = []
        for i, update in enumerate(updates):
            if update.sku not in known:
                results[i] = PushResult.failure(
                    ItemError(update.sku, "no product with this SKU in the store", code="NOT_FOUND")
                )
                continue
            with self._lock:
                listing = self._index.get(update.sku)
            if listing is not None and not listing.manages_stock:
                results[i] = PushResult.failure(
                    ItemError(
                        update.sku, "Magento does not manage this product's stock", code="UNMANAGED"
                    )
                )
                continue
            try:
                # Stock per location (when StockUpdate carries one) picks its source here.
                source = self.config.source_code(getattr(update, "location", None))
            except ConfigError as exc:
                results[i] = PushResult.failure(ItemError(update.sku, str(exc), code="NO_SOURCE"))
                continue
            writes.append(_Write(i, update.sku, source, update.quantity))
        if writes:
            if self.inventory_mode() == "legacy":
                self._push_legacy(writes, results)
                return _located(updates, results)
            reserved = self._reserved()
            if reserved:
                # Reservations are per stock, not per source: they ride on the default
                # source alone, or a push to several sources would add them several times.
                default = self.config.source_code()
                writes = [
                    _Write(
                        w.position,
                        w.sku,
                        w.source_code,
                        w.quantity,
                        reserved.get(w.sku.lower(), 0) if w.source_code == default else 0,
                    )
                    for w in writes
                ]
            if self._use_bulk(len(writes)):
                self._push_bulk(writes, results)
            else:
                self._push_sync(writes, results)
        return _located(updates, results)

    def _use_bulk(self, count: int) -> bool:
        if self.config.bulk == "never" or not self._bulk_usable:
            return False
        if self.config.bulk == "always":
            return True
        return math.ceil(count / self._batch_limit) >= self.config.bulk_min_calls

    def _push_sync(self, writes: Sequence[_Write], results: dict[int, PushResult]) -> None:
        start = 0
        while start < len(writes):
            size = self._batch_limit
            chunk = list(writes[start : start + size])
            try:
                self._save_split(chunk, results)
            except BatchTooLarge as exc:
                self._learn_batch_limit(exc, len(chunk))
                continue
            start += len(chunk)

    def _learn_batch_limit(self, exc: BatchTooLarge, sent: int) -> None:
        smaller = exc.limit if 0 < exc.limit < sent else sent // 2
        if smaller < 1:
            raise exc
        with self._lock:
            self._batch_limit = min(self._batch_limit, smaller)
        log.warning(
            "account %s: the store accepts at most %d items per call; using that",
            self.account,
            self._batch_limit,
        )

    def _save_split(self, chunk: list[_Write], results: dict[int, PushResult]) -> None:
        """Save ``chunk`` in one call; when Magento refuses it, halve until the bad items
        stand alone (a source-items save is all or nothing)."""
        try:
            self._client.save_source_items([w.item() for w in chunk])
        except BatchTooLarge:
            raise
        except (Rejected, NotFound) as exc:
            if len(chunk) == 1:
                w = chunk[0]
                results[w.position] = PushResult.failure(
                    ItemError(w.sku, exc.message, code=exc.code or str(exc.status), raw=exc.raw)
                )
                return
            middle = len(chunk) // 2
            self._save_split(chunk[:middle], results)
            self._save_split(chunk[middle:], results)
            return
        for w in chunk:
            results[w.position] = PushResult.success(w.sku, w.quantity)

    def _push_bulk(self, writes: Sequence[_Write], results: dict[int, PushResult]) -> None:
        size = self.config.bulk_batch_size
        batches = [list(writes[i : i + size]) for i in range(0, len(writes), size)]
        response = self._client.bulk_source_items([[w.item() for w in b] for b in batches])
        accepted = {item.id for item in response.request_items if item.status == "accepted"}
        redo: list[_Write] = []
        for op_id, batch in enumerate(batches):
            if op_id not in accepted:
                redo += batch
        pending = {op_id for op_id in range(len(batches)) if op_id in accepted}
        deadline = self._clock() + self.config.bulk_timeout
        while pending:
            self._sleep(self.config.bulk_poll_interval)
            status = self._client.bulk_status(response.bulk_uuid)
            for op in status.operations_list:
                if op.id not in pending or op.status == _OPEN:
                    continue
                pending.discard(op.id)
                batch = batches[op.id]
                if op.status == _COMPLETE:
                    for w in batch:
                        results[w.position] = PushResult.success(w.sku, w.quantity)
                elif op.status == _RETRIABLE:
                    for w in batch:
                        results[w.position] = PushResult.failure(
                            ItemError(
                                w.sku,
                                f"bulk operation failed: {op.result_message or 'no message'}",
                                code=str(op.error_code or "bulk_retriable"),
                                retryable=True,
                            )
                        )
                else:  # failed or rejected: a bad item spoils its operation; find it
                    redo += batch
            if pending and self._clock() >= deadline:
                with self._lock:
                    self._bulk_usable = False
                log.warning(
                    "account %s: bulk %s still has %d open operations after %.0f s (is the"
                    " store's async.operations.all consumer running?); writing them"
                    " synchronously and not using the bulk API again in this process. The"
                    " queued operations may still apply later, with the values of this push.",
                    self.account,
                    response.bulk_uuid,
                    len(pending),
                    self.config.bulk_timeout,
                )
                for op_id in sorted(pending):
                    redo += batches[op_id]
                pending.clear()
        if redo:
            self._push_sync(sorted(redo, key=lambda w: w.position), results)

    def _push_legacy(self, writes: Sequence[_Write], results: dict[int, PushResult]) -> None:
        for w in writes:
            with self._lock:
                listing = self._index.get(w.sku)
            item_id = _int_or_none((listing.ids if listing else {}).get("stock_item_id"))
            try:
                if item_id is None:
                    stock = self._client.stock_item(w.sku)
                    item_id = stock.item_id if stock.item_id is not None else 1
                self._client.update_stock_item(w.sku, item_id, w.quantity)
            except TransientError:
                raise
            except PermanentError as exc:
                results[w.position] = PushResult.failure(
                    ItemError(w.sku, exc.message, code=exc.code or str(exc.status), raw=exc.raw)
                )
                continue
            results[w.position] = PushResult.success(w.sku, w.quantity)

    # -- prices ---------------------------------------------------------------------------

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[PushResult]:
        """Set base prices (store 0, the global price) with ``POST /V1/products/base-prices``,
        the batch limit per call; rows Magento refuses (unknown SKU, a type without a price of
        its own) fail alone."""
        currency = self._store_currency(required=False)
        results: dict[int, PushResult] = {}
        rows: list[tuple[int, PriceUpdate]] = []
        for i, update in enumerate(updates):
            if currency and update.price.currency != currency:
                results[i] = PushResult.failure(
                    ItemError(
                        update.sku,
                        f"price in {update.price.currency}; the store's base currency is"
                        f" {currency}",
                        code="currency_mismatch",
                    )
                )
            elif update.price.amount < 0:
                results[i] = PushResult.failure(
                    ItemError(update.sku, "a price must not be negative")
                )
            else:
                rows.append((i, update))
        start = 0
        while start < len(rows):
            chunk = rows[start : start + self._batch_limit]
            try:
                failed = self._client.update_base_prices(
                    [price_row(u.sku, u.price) for _, u in chunk]
                )
            except BatchTooLarge as exc:
                self._learn_batch_limit(exc, len(chunk))
                continue
            self._settle_prices(chunk, failed, results)
            start += len(chunk)
        return [results[i] for i in range(len(updates))]

    @staticmethod
    def _settle_prices(
        chunk: Sequence[tuple[int, PriceUpdate]],
        failed: Sequence[PriceUpdateResult],
        results: dict[int, PushResult],
    ) -> None:
        errors: dict[str, str] = {}
        for row in failed:
            for value in row.values():
                errors.setdefault(value, row.text())
        for i, update in chunk:
            if update.sku in errors:
                results[i] = PushResult.failure(
                    ItemError(update.sku, errors[update.sku], code="price_refused")
                )
            else:
                results[i] = PushResult.success(update.sku)

    # -- fulfilment, cancellation, refunds --------------------------------------------------

    def _order_id(self, order_id: str, operation: str) -> int:
        try:
            number = int(order_id)
        except (TypeError, ValueError):
            number = 0
        if number <= 0:
            raise NotFound(
                f"{order_id!r} is not a Magento order id (entity_id)",
                channel=self.account,
                operation=operation,
            )
        return number

    def _order(self, oid: int) -> MagentoOrder:
        raw = self._client.order_json(oid)
        try:
            return MagentoOrder.model_validate(raw)
        except ORDER_DATA_ERRORS as exc:
            raise PermanentError(
                f"order {oid} cannot be read: {exc}",
                channel=self.account,
                operation="GET orders/{id}",
            ) from exc

    def push_fulfillment(self, order_id: str, shipment: ShipmentModel) -> None:
        """Create a shipment with its tracking number (``POST /V1/order/{id}/ship``).

        Only units still to ship are named, so a repeat ships nothing twice; a shipment
        already carrying the same tracking number makes the call a no-op. On MSI stores the
        units leave the default location's source.
        """
        oid = self._order_id(order_id, "push_fulfillment")
        if shipment.tracking_number:
            existing = self._by_order(self._client.shipments, [oid])
            if any(t.track_number == shipment.tracking_number for s in existing for t in s.tracks):
                return
        order = self._order(oid)
        items = ship_items(order.items, dict(shipment.lines) if shipment.lines else None)
        if not items:
            if order.state in ("canceled", "closed"):
                raise Rejected(
                    f"order {oid} is {order.state}; nothing can ship",
                    channel=self.account,
                    operation="push_fulfillment",
                )
            return  # everything asked for has shipped already
        body: dict[str, Any] = {"items": items, "notify": False, "appendComment": False}
        if shipment.tracking_number:
            body["tracks"] = [
                {
                    "track_number": shipment.tracking_number,
                    "title": shipment.carrier,
                    "carrier_code": "custom",
                }
            ]
        if self.inventory_mode() == "msi":
            body["arguments"] = {"extension_attributes": {"source_code": self.config.source_code()}}
        self._client.ship_order(oid, body)

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        """Cancel with ``POST /V1/orders/{id}/cancel`` (Magento releases the reservation).

        An order already cancelled is left alone. Magento cancels only what was not invoiced
        or shipped: a complete or closed order, or one fully invoiced, is refused
        (``Rejected``): refund it with ``refund_order`` instead. ``reason`` is added to the
        order's history first.
        """
        oid = self._order_id(order_id, "cancel_order")
        order = self._order(oid)
        if order.state == "canceled":
            return
        if order.state in ("complete", "closed"):
            raise Rejected(
                f"order {oid} is {order.state}; refund it instead of cancelling",
                channel=self.account,
                operation="cancel_order",
            )
        if reason:
            self._client.add_order_comment(oid, f"Cancelled: {reason}")
        if self._client.cancel_order(oid):
            return
        again = self._order(oid)
        if again.state == "canceled":
            return
        raise Rejected(
            f"Magento cannot cancel order {oid} in state {again.state} (an invoiced order"
            " needs a credit memo: refund_order)",
            channel=self.account,
            operation="cancel_order",
        )

    def refund_order(
        self,
        order_id: str,
        amount: Money | None = None,
        *,
        reason: str | None = None,
        lines: Mapping[str, int] | None = None,
        restock: bool = False,
        idempotency_key: str | None = None,
    ) -> Refund:
        """Create an offline credit memo (``POST /V1/order/{id}/refund``).

        With ``lines`` (line id -> units) Magento refunds those units at their order prices;
        with ``amount`` alone, an adjustment of that amount and no units. The payment is not
        refunded through the gateway (refund online from the invoice in the Admin for that).
        ``restock`` returns the refunded units to the source. With ``idempotency_key`` a
        repeat finds the credit memo it made before (the key is in its comment).

        Args:
            order_id: the order's ``entity_id``.
            amount: the amount to refund (in the order's base currency) when no lines are given,
                or added on top of the lines as a positive adjustment.
            reason: the credit memo's comment.
            lines: line id -> units refunded.
            restock: put the refunded units back in stock.
            idempotency_key: marks the credit memo; a repeat returns it.
        """
        oid = self._order_id(order_id, "refund_order")
        if amount is None and not lines:
            raise ValueError("refund_order needs an amount or lines")
        if amount is not None and amount.amount <= 0:
            raise ValueError("a refund amount must be positive")
        order = self._order(oid)
        currency = order.base_currency_code or self._currency or (amount.currency if amount else "")
        if amount is not None and currency and amount.currency != currency:
            raise Rejected(
                f"refund currency {amount.currency} differs from order {oid}'s base currency"
                f" {currency}",
                channel=self.account,
                operation="refund_order",
            )
        index = line_index(order.items)
        if idempotency_key:
            found = self._memo_with_key(oid, idempotency_key)
            if found is not None:
                return refund_from_creditmemo(found, currency, index)
        items: list[dict[str, Any]] = []
        by_line = {str(i.item_id): i for i in order.items}
        if lines:
            for line_id, qty in lines.items():
                if line_id not in by_line or qty <= 0:
                    raise Rejected(
                        f"order {oid} has no line {line_id!r} to refund {qty} units of",
                        channel=self.account,
                        operation="refund_order",
                    )
                items.append({"order_item_id": int(line_id), "qty": qty})
        else:
            items = [
                {"order_item_id": i.item_id, "qty": 0}
                for i in order.items
                if i.parent_item_id is None
            ]
        memo_id, memo = self._create_memo(
            oid,
            items,
            positive=amount.amount if amount is not None else Decimal(0),
            negative=Decimal(0),
            restock=[i["order_item_id"] for i in items if i["qty"] > 0] if restock else [],
            reason=reason,
            idempotency_key=idempotency_key,
        )
        if memo is None:
            return Refund(refund_id=str(memo_id), amount=amount, reason=reason, restock=restock)
        return refund_from_creditmemo(memo, currency, index).model_copy(
            update={"restock": restock, "reason": reason}
        )

    def _memo_with_key(self, oid: int, idempotency_key: str) -> Creditmemo | None:
        """The order's credit memo whose comment carries ``idempotency_key`` (None: none)."""
        tag = f"[{_IDEMPOTENCY_TAG}{idempotency_key}]"
        memos: list[Creditmemo] = self._by_order(self._client.creditmemos, [oid])
        for memo in memos:
            comments = self._client.creditmemo_comments(memo.entity_id)
            if any(tag in c.comment for c in comments):
                return memo
        return None

    def _create_memo(
        self,
        oid: int,
        items: list[dict[str, Any]],
        *,
        positive: Decimal,
        negative: Decimal,
        restock: Sequence[int],
        reason: str | None,
        idempotency_key: str | None,
    ) -> tuple[int, Creditmemo | None]:
        """``POST /V1/order/{id}/refund`` with no shipping refunded: the memo's id and the
        memo read back (None when the search does not list it yet)."""
        comment = " ".join(
            p
            for p in (
                reason or "",
                f"[{_IDEMPOTENCY_TAG}{idempotency_key}]" if idempotency_key else "",
            )
            if p
        )
        arguments: dict[str, Any] = {
            "shipping_amount": 0,
            "adjustment_positive": positive,
            "adjustment_negative": negative,
        }
        if restock:
            arguments["extension_attributes"] = {"return_to_stock_items": list(restock)}
        body: dict[str, Any] = {
            "items": items,
            "notify": False,
            "appendComment": bool(comment),
            "arguments": arguments,
        }
        if comment:
            body["comment"] = {"comment": comment, "is_visible_on_front": 0}
        memo_id = self._client.refund_order(oid, body)
        memos: list[Creditmemo] = self._by_order(self._client.creditmemos, [oid])
        for memo in memos:
            if memo.entity_id == memo_id:
                return memo_id, memo
        return memo_id, None

    # -- after-sale (SupportsCancel, SupportsRefund) ----------------------------------------

    def cancel_lines(self, operation: CancelOperation) -> OperationReceipt:
        """Cancel the whole order (``POST /V1/orders/{id}/cancel``; see ``cancel_order``).

        Magento cancels whole orders only (the cancel call takes no items): ``lines`` naming
        every unit not shipped yet cancel the order; fewer units are refused (``Rejected``)
        with the way to do it, a credit memo of those units (``refund``). Units not shipped
        but invoiced are refused the same way (Magento's cancel would leave them), and a
        shipped, complete or closed order as ``cancel_order`` refuses it.
        """
        oid = self._order_id(operation.order_id, "cancel_lines")
        order: MagentoOrder | None = None
        if operation.lines:
            order = self._order(oid)
            left = _open_lines(order)
            asked = {lid: n for lid, n in operation.lines.items() if n > 0}
            whole = all(asked.get(lid, 0) >= n for lid, n in left.items()) and all(
                n <= left.get(lid, 0) for lid, n in asked.items()
            )
            if not whole:
                raise Rejected(
                    f"order {oid}: Magento cancels whole orders only (POST"
                    " /V1/orders/{id}/cancel takes no items); to take some units out, refund"
                    " those units with a credit memo instead (channelsync orders refund ..."
                    " --line LINE=UNITS; the order must be invoiced), which releases them",
                    channel=self.account,
                    operation="cancel_lines",
                )
        if order is None:
            order = self._order(oid)
        paid = _invoiced_open(order)
        if paid:
            raise Rejected(
                f"order {oid}: {paid} unit(s) not shipped are invoiced (paid); Magento cancels"
                " only what is not invoiced: refund them with a credit memo instead"
                " (channelsync orders refund ...), which releases them",
                channel=self.account,
                operation="cancel_lines",
            )
        note = f"{operation.reason}: {operation.note}" if operation.note else operation.reason
        self.cancel_order(operation.order_id, note)
        return OperationReceipt(reference=str(oid), detail="order canceled")

    def refund(self, operation: RefundOperation) -> OperationReceipt:
        """An offline credit memo of exactly ``operation.amount`` (``POST /V1/order/{id}/refund``).

        With ``lines`` the memo names those units; Magento prices them from the order (row
        total with tax, less discount), and the difference to the amount is sent as
        ``adjustment_positive`` or ``adjustment_negative``. Units cancelled (never shipped)
        or returned are sent in ``return_to_stock_items``; units that stay with the buyer
        are not. Without lines the amount is an adjustment alone. The amount may not exceed
        what was paid (invoiced) less earlier refunds: refused (``Rejected``) before
        anything is sent. The operation's key is written into the memo's comment, so a
        repeat after a lost answer finds that memo instead of refunding twice.
        """
        oid = self._order_id(operation.order_id, "refund")
        note = f"{operation.reason}: {operation.note}" if operation.note else operation.reason
        order = self._order(oid)
        currency = order.base_currency_code or self._currency or operation.amount.currency
        index = line_index(order.items)
        found = self._memo_with_key(oid, operation.idempotency_key)
        if found is not None:
            refund = refund_from_creditmemo(found, currency, index)
            return OperationReceipt(
                reference=refund.refund_id,
                refund=refund.model_copy(update={"reason": note}),
                detail="credit memo made before",
            )
        amount = operation.amount
        if amount.currency != currency:
            raise Rejected(
                f"refund currency {amount.currency} differs from order {oid}'s base currency"
                f" {currency}",
                channel=self.account,
                operation="refund",
            )
        invoiced = sum(
            (i.qty_invoiced for i in order.items if i.parent_item_id is None), Decimal(0)
        )
        if invoiced <= 0:
            raise Rejected(
                f"order {oid} has no invoice: Magento refunds (credit memo) only what was"
                " invoiced; cancel the order instead, or invoice it first",
                channel=self.account,
                operation="refund",
            )
        paid = (
            order.base_total_paid if order.base_total_paid is not None else order.base_grand_total
        )
        left = (paid or Decimal(0)) - (order.base_total_refunded or Decimal(0))
        if left == left.quantize(_CENT):
            left = left.quantize(_CENT)  # Magento renders 16.00 as 16
        if amount.amount > left:
            raise Rejected(
                f"order {oid}: {amount} is more than can be refunded ({left} {currency} paid"
                " and not refunded yet)",
                channel=self.account,
                operation="refund",
            )
        tops = {str(i.item_id): i for i in order.items if i.parent_item_id is None}
        rows = {str(i.item_id): i for i in order.items}  # a bundle's components are lines
        items: list[dict[str, Any]] = []
        priced = Decimal(0)
        for line_id, qty in sorted(operation.lines.items()):
            item = rows.get(line_id)
            if item is None or qty <= 0 or qty > item.qty_invoiced - item.qty_refunded:
                raise Rejected(
                    f"order {oid} has no line {line_id!r} with {qty} invoiced unit(s) not"
                    " refunded yet",
                    channel=self.account,
                    operation="refund",
                )
            items.append({"order_item_id": item.item_id, "qty": qty})
            priced += _unit_value(item) * qty
        priced = priced.quantize(_CENT)
        if not items:
            items = [{"order_item_id": i.item_id, "qty": 0} for i in tops.values()]
        back = set(operation.cancelled) | set(operation.returned)
        difference = amount.amount - priced
        _, memo = self._create_memo(
            oid,
            items,
            positive=max(difference, Decimal(0)),
            negative=max(-difference, Decimal(0)),
            restock=[int(lid) for lid in sorted(back) if lid in rows],
            reason=note,
            idempotency_key=operation.idempotency_key,
        )
        if memo is None:
            raise TransientError(
                f"order {oid}: the credit memo was made but is not listed yet; repeat the"
                " refund (its key finds the memo)",
                channel=self.account,
                operation="refund",
            )
        refund = refund_from_creditmemo(memo, currency, index).model_copy(
            update={"reason": note, "restock": bool(operation.returned)}
        )
        detail = None
        if refund.amount is not None and refund.amount.amount != amount.amount:
            detail = f"Magento made the credit memo {refund.amount}, not {amount}"
            log.warning("%s: order %s: %s", self.account, oid, detail)
        return OperationReceipt(reference=refund.refund_id, refund=refund, detail=detail)

    # -- webhooks -------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Magento core sends no webhooks: every delivery is refused
        (``WebhookVerificationError``); orders are polled."""
        return self._webhooks.parse(headers, body)


def _raw(order: MagentoOrder | UnreadableOrder) -> dict[str, Any]:
    if isinstance(order, UnreadableOrder):
        return order.raw
    return {
        "entity_id": order.entity_id,
        "updated_at": order.updated_at,
        "created_at": order.created_at,
    }


def _sku_chunks(skus: Sequence[str], size: int) -> Iterator[list[str]]:
    """``skus`` in runs of at most ``size`` whose ``sku in (…)`` filter stays within
    ``_FILTER_BUDGET`` characters once URL-encoded (long SKUs make shorter runs)."""
    chunk: list[str] = []
    used = 0
    for sku in skus:
        cost = len(quote(sku, safe="")) + 3  # the comma, encoded
        if chunk and (len(chunk) >= size or used + cost > _FILTER_BUDGET):
            yield chunk
            chunk, used = [], 0
        chunk.append(sku)
        used += cost
    if chunk:
        yield chunk


_CENT = Decimal("0.01")


def _unit_value(item: OrderItem) -> Decimal:
    """What Magento refunds for one unit of an order row: its row total with tax, less
    its discount, per unit ordered."""
    ordered = item.qty_ordered or Decimal(1)
    row = (
        item.base_row_total
        if item.base_row_total is not None
        else (item.base_price or Decimal(0)) * ordered
    )
    discount = abs(item.base_discount_amount or Decimal(0))  # positive on rows, as mapped
    return (row + (item.base_tax_amount or Decimal(0)) - discount) / ordered


def _invoiced_open(order: MagentoOrder) -> int:
    """Units not shipped that are invoiced: Magento's cancel leaves them (``canCancel``
    counts only units neither invoiced nor shipped), a credit memo takes them out."""
    count = Decimal(0)
    for item in order.items:
        if item.parent_item_id is not None:
            continue
        unshipped = item.qty_ordered - max(item.qty_shipped, item.qty_refunded) - item.qty_canceled
        uninvoiced = item.qty_ordered - item.qty_invoiced - item.qty_canceled
        count += max(Decimal(0), unshipped - max(Decimal(0), min(uninvoiced, unshipped)))
    return int(count)


def _open_lines(order: MagentoOrder) -> dict[str, int]:
    """Line id -> units neither shipped, refunded nor cancelled, of the lines with stock (the
    order's lines as ``read_order`` maps them: a bundle's components, a configurable's parent
    row)."""
    return {
        line.line_id: line.quantity_open
        for line in order_lines(order.items, None)
        if line.sku and line.quantity_open > 0
    }


def _add(totals: dict[str, int], units: Mapping[str, int]) -> None:
    for sku, qty in units.items():
        totals[sku] = totals.get(sku, 0) + qty


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _time_or_none(value: Any) -> Any:
    try:
        return parse_magento_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _located(updates: Sequence[StockUpdate], results: dict[int, PushResult]) -> list[PushResult]:
    """The results in order, each naming the location of its update (per-location pushes)."""
    out = []
    for i, update in enumerate(updates):
        result = results[i]
        if update.location is not None and result.location is None:
            result = result.model_copy(update={"location": update.location})
        out.append(result)
    return out
