"""``EbayChannel``: one eBay seller account, across eBay's two listing worlds.

Listings created in Seller Hub or through the Trading API can only be revised through
Trading (``ReviseInventoryStatus``, four per call); listings created through the Sell
Inventory API can only be revised through that API (``bulkUpdatePriceQuantity``, 25 per
call). ``fetch_listings`` finds out which world each SKU lives in and records it in
``Listing.ids["world"]``; pushes route by it. Orders are orders whichever world their
listing lives in: they are read with GetOrders and shipped with CompleteSale.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import httpx
from lxml import etree

from channelsync.adapters._http import HttpClient
from channelsync.adapters._paging import Paginator
from channelsync.adapters._ratelimit import TokenBucket
from channelsync.adapters.ebay.client import EbayRestClient, OAuthTokens
from channelsync.adapters.ebay.config import IDENTITY_URL, REST_URL, TRADING_URL, EbayConfig
from channelsync.adapters.ebay.gateway import (
    QUOTA_CODE,
    SYSTEM_CODES,
    TradingAuth,
    TradingGateway,
)
from channelsync.adapters.ebay.mapping import (
    ORDER_DATA_ERRORS,
    bulk_results_by_sku,
    complete_sale_request,
    distributions_request,
    format_time,
    fulfillment_failure,
    inventory_status_results,
    levels_of,
    listing_from_inventory,
    listings_page,
    order_failure,
    order_from_fulfillment,
    order_from_xml,
    orders_page,
    rest_error_text,
    revise_inventory_status_request,
)
from channelsync.adapters.ebay.payloads import (
    InventoryItem,
    InventoryLocation,
    PriceQuantityResponse,
)
from channelsync.adapters.ebay.webhooks import CachedPublicKeys, EbayWebhooks, PublicKeySource
from channelsync.core.channel import (
    CancelOperation,
    ChannelLimits,
    OperationReceipt,
    OrderFailure,
    PriceUpdate,
    PushResult,
    QuotaState,
    RateLimit,
    RefundOperation,
    ReturnOperation,
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
)
from channelsync.core.models import Listing, Money, Order, OrderStatus, Refund, Shipment, utcnow

__all__ = ["INVENTORY_BATCH", "TRADING_BATCH", "EbayChannel"]

log = logging.getLogger(__name__)

#: ReviseInventoryStatus takes at most four InventoryStatus containers.
TRADING_BATCH = 4
#: bulkUpdatePriceQuantity takes at most 25 requests.
INVENTORY_BATCH = 25
#: eBay returns orders of the last 90 days only.
ORDER_HORIZON = timedelta(days=90)

World = Literal["trading", "inventory_api"]
_CANCEL_REASONS = {
    "buyer": "BUYER_ASKED_CANCEL",
    "customer_request": "BUYER_ASKED_CANCEL",
    "address": "ADDRESS_ISSUES",
}
#: The Fulfillment API's ``reasonForRefund`` for channelsync's reasons (refunds of units
#: that shipped; units cancelled before shipping are ``BUYER_CANCEL``/``SELLER_CANCEL``).
_REFUND_REASONS = {
    "customer_request": "BUYER_RETURN",
    "not_as_described": "ITEM_NOT_AS_DESCRIBED",
    "wrong_item": "ITEM_NOT_AS_DESCRIBED",
    "damaged": "ITEM_NOT_AS_DESCRIBED",
}
#: Post-Order return states in which the seller can mark the item received.
_RETURN_RECEIVABLE = frozenset({"ITEM_SHIPPED", "READY_FOR_SHIPPING"})


@dataclass(frozen=True)
class _Item:
    """One update on its way: SKU, the listing it goes to, and the value."""

    sku: str
    listing: Listing
    quantity: int | None = None
    price: str | None = None
    currency: str | None = None


class EbayChannel:
    """One eBay seller account (one site), as the engine sees it.

    Args:
        config: the account.
        transport: an httpx transport for the REST and identity calls (tests, the
            sandbox); the Trading calls go through ebaysdk's own ``requests`` session.
        base_url: one root for every endpoint (the sandbox fake): Trading at
            ``{base_url}/ws/api.dll``, REST and identity at ``{base_url}``.
        trading_url, rest_url, identity_url: each endpoint on its own (eBay's sandbox is
            ``https://api.sandbox.ebay.com/ws/api.dll`` and ``https://api.sandbox.ebay.com``).
        public_keys: where Notification API keys come from (default: ``getPublicKey``,
            cached for an hour).
        clock: aware UTC now (order windows, token expiry, quota reset).
    """

    kind = "ebay"

    def __init__(
        self,
        config: EbayConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        base_url: str | None = None,
        trading_url: str | None = None,
        rest_url: str | None = None,
        identity_url: str | None = None,
        public_keys: PublicKeySource | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        root = base_url.rstrip("/") if base_url else None
        self.config = config
        self._clock = clock
        self._identity_http = HttpClient(
            config.account,
            identity_url or root or IDENTITY_URL,
            transport=transport,
            timeout=config.timeout,
        )
        self._rest_http = HttpClient(
            config.account,
            rest_url or root or REST_URL,
            transport=transport,
            timeout=config.timeout,
        )
        self.tokens = OAuthTokens(config, self._identity_http, clock)
        self.rest = EbayRestClient(config, self._rest_http, self.tokens)
        self.trading = TradingGateway(
            config,
            url=trading_url or (f"{root}/ws/api.dll" if root else TRADING_URL),
            auth=self._trading_auth,
            can_refresh=config.has_oauth and config.refresh_token is not None,
            clock=clock,
        )
        self.webhooks = EbayWebhooks(
            config, public_keys or CachedPublicKeys(self.rest.public_key), clock
        )
        # ReviseInventoryStatus: at most 6000 calls per seller in any 15 seconds.
        self._revise_pace = TokenBucket(rate=400.0, capacity=6000.0)
        self._listings: dict[str, Listing] = {}
        self._lock = threading.Lock()
        # Per-location writes read, then write an item's whole distribution list: one at a
        # time in this channel (the engine leases an account to one worker at a time).
        self._levels_lock = threading.Lock()
        self.call_counts: Counter[str] = Counter()
        self._limits = ChannelLimits(
            stock_batch=TRADING_BATCH,
            price_batch=TRADING_BATCH,
            page_size=config.order_page_size,
            rate_limits=(
                RateLimit(
                    operation="ReviseInventoryStatus",
                    per_second=400.0,
                    burst=6000,
                    note="6000 calls per seller per 15 s; 4 listings per call",
                ),
                RateLimit(
                    operation="bulkUpdatePriceQuantity",
                    per_second=2_000_000 / 86_400,
                    burst=25,
                    note="Inventory API daily quota; 25 listings per call",
                ),
            ),
            min_poll_interval=60.0,
            # eBay: changes take a couple of minutes to show in order searches (what
            # mod_time_lag_seconds covers); a listing takes 250 revisions per calendar day.
            search_lag=float(config.mod_time_lag_seconds),
            revisions_per_day=250,
            revisions_timezone=config.quota_timezone,
        )

    def __repr__(self) -> str:
        return f"EbayChannel(account={self.config.account!r}, site_id={self.config.site_id})"

    # -- identity -------------------------------------------------------------------------

    @property
    def account(self) -> str:
        """The merchant's name for this account."""
        return self.config.account

    @property
    def limits(self) -> ChannelLimits:
        """Four items per stock or price call (the Trading world's limit; Inventory API
        listings go out 25 per call within a push)."""
        return self._limits

    def _count(self, operation: str, n: int = 1) -> None:
        with self._lock:
            self.call_counts[operation] += n

    def _trading_auth(self, refresh: bool) -> TradingAuth:
        if self.config.has_oauth:
            return "iaf", self.tokens.user_token(refresh=refresh)
        assert self.config.auth_token is not None  # EbayConfig guarantees one credential
        return "auth_n_auth", self.config.auth_token.get_secret_value()

    # -- orders ---------------------------------------------------------------------------

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        """Every order modified since ``updated_after``, oldest change first.

        GetOrders with ``ModTimeFrom``/``ModTimeTo`` in windows of at most
        ``order_window_days`` (eBay keeps 90 days), ``ModTimeTo`` kept
        ``mod_time_lag_seconds`` behind now, ``OrderRole=Seller``, every page. An
        ``<Order>`` that cannot be mapped is yielded as an ``OrderFailure`` in its place
        (by its newest timestamp; one without any comes first in its window).
        """
        now = self._clock()
        end = now - timedelta(seconds=self.config.mod_time_lag_seconds)
        start = max(updated_after, now - ORDER_HORIZON + timedelta(minutes=1))
        window = timedelta(days=self.config.order_window_days)
        if self.trading.blocked_until is not None and self.config.has_oauth:
            # Trading's daily quota is spent: the Fulfillment API has its own.
            yield from self._fulfillment_orders(start, end)
            return
        while start < end:
            stop = min(start + window, end)
            try:
                found = list(self._orders_between(start, stop))
            except RateLimited as exc:
                if exc.code != QUOTA_CODE or not self.config.has_oauth:
                    raise
                log.warning(
                    "%s: Trading quota spent; reading orders through the Fulfillment API",
                    self.account,
                )
                yield from self._fulfillment_orders(start, end)
                return
            yield from found
            start = stop

    def _fulfillment_orders(self, start: datetime, end: datetime) -> Iterator[Order | OrderFailure]:
        """getOrders of the Sell Fulfillment API (its own call quota), oldest change first."""
        limit = 200

        def page(offset: int | None) -> tuple[list[Order | OrderFailure], int | None]:
            current = offset or 0
            got = self.rest.orders(start, end, offset=current, limit=limit)
            self._count("getOrders(REST)")
            mapped = [self._map_rest(raw) for raw in got.orders]
            more = bool(got.next) and bool(got.orders)
            return mapped, (current + limit if more else None)

        seen: dict[str, Order | OrderFailure] = {}
        for n, order in enumerate(Paginator(page, channel=self.account, operation="getOrders")):
            seen[order.order_id or f"(unidentified {n})"] = order
        yield from sorted(seen.values(), key=_stream_key)

    def _map_rest(self, raw: Mapping[str, Any]) -> Order | OrderFailure:
        try:
            return order_from_fulfillment(raw, self.account)
        except ORDER_DATA_ERRORS as exc:
            failure = fulfillment_failure(raw, exc)
            log.warning(
                "account %s: eBay order %s cannot be read (%s)",
                self.account,
                failure.order_id,
                failure.error,
            )
            return failure

    # -- quotas ---------------------------------------------------------------------------

    def quotas(self) -> list[QuotaState]:
        """Trading's daily call quota, while it is spent (error 518)."""
        until = self.trading.blocked_until
        if until is None:
            return []
        return [
            QuotaState(
                resource="trading",
                blocked_until=until,
                code=QUOTA_CODE,
                detail="eBay Trading API daily call quota; orders are read through the"
                " Fulfillment API meanwhile"
                if self.config.has_oauth
                else "eBay Trading API daily call quota",
            )
        ]

    def restore_quotas(self, states: Sequence[QuotaState]) -> None:
        """Take a Trading quota known spent (after a restart) as spent until its reset."""
        for state in states:
            if state.resource == "trading":
                self.trading.block(state.blocked_until)

    def _orders_between(self, start: datetime, stop: datetime) -> Iterator[Order | OrderFailure]:
        def page(number: int | None) -> tuple[list[Order | OrderFailure], int | None]:
            current = number or 1
            reply = self.trading.call(
                "GetOrders",
                {
                    "ModTimeFrom": format_time(start),
                    "ModTimeTo": format_time(stop),
                    "OrderRole": "Seller",
                    "OrderStatus": "All",
                    "DetailLevel": "ReturnAll",
                    "Pagination": {
                        "EntriesPerPage": str(self.config.order_page_size),
                        "PageNumber": str(current),
                    },
                },
            )
            self._count("GetOrders")
            result = orders_page(reply.root)
            orders = [self._map(el) for el in result.orders]
            more = result.has_more or (
                result.total_pages is not None and current < result.total_pages
            )
            return orders, (current + 1 if more and result.orders else None)

        seen: dict[str, Order | OrderFailure] = {}
        for n, order in enumerate(Paginator(page, channel=self.account, operation="GetOrders")):
            # A later page has the newer state.
            seen[order.order_id or f"(unidentified {n})"] = order
        yield from sorted(seen.values(), key=_stream_key)

    def _map(self, el: etree._Element) -> Order | OrderFailure:
        """One ``<Order>`` mapped, or the ``OrderFailure`` that says why it cannot be."""
        try:
            return order_from_xml(el, self.account)
        except ORDER_DATA_ERRORS as exc:
            failure = order_failure(el, exc)
            log.warning(
                "account %s: eBay order %s cannot be read (%s)",
                self.account,
                failure.order_id,
                failure.error,
            )
            return failure

    # -- listings -------------------------------------------------------------------------

    def fetch_listings(self) -> Iterator[Listing]:
        """Every active fixed-price listing, each marked ``trading`` or ``inventory_api``.

        Trading: GetMyeBaySelling ``ActiveList`` (variation SKUs included). Inventory API:
        getInventoryItems and each SKU's published offer (getOffers). A listing the
        Inventory API owns also appears in GetMyeBaySelling; it is kept in the Inventory
        API world, the only one that may revise it.
        """
        trading = list(self._trading_listings())
        inventory = list(self._inventory_listings()) if self.config.has_oauth else []
        if not self.config.has_oauth:
            log.warning(
                "%s: no OAuth token: Inventory API listings cannot be read or revised",
                self.account,
            )
        owned_items = {lst.ids.get("item_id") for lst in inventory} - {None}
        owned_skus = {lst.sku for lst in inventory}
        listings = inventory + [
            lst
            for lst in trading
            if lst.ids.get("item_id") not in owned_items and lst.sku not in owned_skus
        ]
        with self._lock:
            self._listings = {lst.sku: lst for lst in listings}
        yield from listings

    def _trading_listings(self) -> Iterator[Listing]:
        def page(number: int | None) -> tuple[list[Listing], int | None]:
            current = number or 1
            reply = self.trading.call(
                "GetMyeBaySelling",
                {
                    "ActiveList": {
                        "Include": "true",
                        "Pagination": {
                            "EntriesPerPage": str(self.config.listing_page_size),
                            "PageNumber": str(current),
                        },
                    },
                    "DetailLevel": "ReturnAll",
                },
            )
            self._count("GetMyeBaySelling")
            result = listings_page(reply.root, self.account)
            if result.skipped:
                log.info(
                    "%s: %d active listings without SKU or not fixed-price are not synced",
                    self.account,
                    result.skipped,
                )
            return result.listings, (current + 1 if current < result.total_pages else None)

        yield from Paginator(page, channel=self.account, operation="GetMyeBaySelling")

    def _inventory_listings(self) -> Iterator[Listing]:
        def offers_of(sku: str) -> Listing | None:
            offers = self.rest.offers(sku)
            self._count("getOffers")
            return (
                None
                if item_by_sku.get(sku) is None
                else listing_from_inventory(
                    item_by_sku[sku], offers.offers, self.account, self.config.marketplace_id
                )
            )

        item_by_sku: dict[str, InventoryItem] = {}

        def page(offset: int | None) -> tuple[list[Listing], int | None]:
            current = offset or 0
            items = self.rest.inventory_items(offset=current, limit=self.config.listing_page_size)
            self._count("getInventoryItems")
            skus = [item.sku for item in items.inventoryItems if item.sku]
            item_by_sku.update({item.sku: item for item in items.inventoryItems if item.sku})
            # getOffers answers one SKU per call: ask for a page's SKUs side by side.
            with ThreadPoolExecutor(
                max_workers=self.config.read_concurrency, thread_name_prefix="ebay-offers"
            ) as pool:
                found = list(pool.map(offers_of, skus))
            more = bool(items.next) and bool(items.inventoryItems)
            return [x for x in found if x is not None], (current + 1 if more else None)

        yield from Paginator(page, channel=self.account, operation="getInventoryItems")

    def read_stock(self, listings: Sequence[Listing]) -> dict[str, int | None]:
        """What each listing shows now: GetMyeBaySelling's active list (200 a call; both
        worlds' listings appear there). ``RateLimited`` while the Trading quota is spent."""
        found = {lst.sku: lst.quantity for lst in self._trading_listings()}
        return {lst.sku: found.get(lst.sku) for lst in listings}

    def read_levels(self, listings: Sequence[Listing]) -> dict[str, dict[str, int | None]]:
        """What each Inventory API listing shows per merchant location now (bulkGetInventoryItem,
        25 SKUs a call): SKU -> merchant location key -> quantity; ``{}`` for an item with
        one ship-to-home quantity. Trading listings (no locations) and SKUs eBay does not
        know are left out."""
        skus = [lst.sku for lst in listings if lst.ids.get("world") == "inventory_api"]
        out: dict[str, dict[str, int | None]] = {}
        for start in range(0, len(skus), INVENTORY_BATCH):
            _, found = self.rest.bulk_get_inventory_items(skus[start : start + INVENTORY_BATCH])
            self._count("bulkGetInventoryItem")
            for answer in found.responses:
                if answer.sku and answer.statusCode == 200 and answer.inventoryItem is not None:
                    out[answer.sku] = levels_of(answer.inventoryItem)
        return out

    def locations(self) -> list[InventoryLocation]:
        """Every merchant location of the seller (getInventoryLocations, every page): the
        ``merchantLocationKey`` values an account's ``locations`` mapping names, with
        their names and ``merchantLocationStatus`` (eBay refuses inventory at a DISABLED
        one)."""
        self.config.require_oauth("getInventoryLocations")
        limit = 100

        def page(offset: int | None) -> tuple[list[InventoryLocation], int | None]:
            current = offset or 0
            got = self.rest.inventory_locations(offset=current, limit=limit)
            self._count("getInventoryLocations")
            more = bool(got.next) and bool(got.locations)
            return list(got.locations), (current + limit if more else None)

        return list(Paginator(page, channel=self.account, operation="getInventoryLocations"))

    def _listing_for(self, sku: str, given: Listing | None) -> Listing | None:
        if given is not None and given.ids.get("world") in ("trading", "inventory_api"):
            return given
        with self._lock:
            return self._listings.get(sku)

    # -- pushes ---------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        """Set quantities: Trading listings four per ReviseInventoryStatus, Inventory API
        listings 25 per bulkUpdatePriceQuantity; one result per SKU (and location).

        An update with a ``location`` (a merchant location key: the account keeps a
        quantity per location) sets that location's ``availabilityDistributions`` entry of
        an Inventory API item; see ``_push_locations``. Trading listings have one quantity
        and no locations: such an update fails alone (``NO_LOCATIONS``).

        Each listing's daily revision cap makes every call count: the engine coalesces
        changes, and ``call_counts`` says how many calls were spent.
        """
        refused: list[PushResult] = []
        items: dict[str, tuple[StockUpdate, Listing | None]] = {}
        located: dict[str, dict[str, StockUpdate]] = {}
        located_listing: dict[str, Listing] = {}
        for u in updates:
            listing = self._listing_for(u.sku, u.listing)
            if u.location is None:
                items[u.sku] = (u, listing)  # the last update of a SKU wins
                continue
            if listing is None:
                refused.append(_no_listing(u.sku, u.location))
            elif listing.ids.get("world") != "inventory_api":
                refused.append(
                    PushResult.failure(
                        ItemError(
                            u.sku,
                            f"eBay Trading listing {listing.ids.get('item_id') or u.sku} keeps"
                            " one quantity, not one per merchant location: list this account's"
                            " locations as names (pooled) for Trading listings, or move the"
                            f" listing to the Inventory API (location {u.location!r} not set)",
                            code="NO_LOCATIONS",
                        ),
                        location=u.location,
                    )
                )
            else:
                earlier = located.setdefault(u.sku, {}).pop(u.location, None)
                if earlier is not None:
                    refused.append(_superseded(earlier))
                located[u.sku][u.location] = u
                located_listing[u.sku] = listing
        for sku in [s for s in items if s in located]:
            u, _ = items.pop(sku)
            refused.append(
                PushResult.failure(
                    ItemError(
                        sku,
                        "a pooled update (no location) and updates per merchant location of"
                        " the same SKU in one push: the pooled quantity would drop eBay's"
                        " quantities per location, so only the per-location ones are sent",
                        code="MIXED_LOCATIONS",
                    )
                )
            )
        work = [
            _Item(sku, listing, quantity=u.quantity)
            for sku, (u, listing) in items.items()
            if listing is not None
        ]
        spread = [w.sku for w in work if w.listing.levels]
        if spread:
            log.warning(
                "%s: %d pooled update(s) of Inventory API items that hold quantities per"
                " merchant location (%s...): eBay keeps only the one quantity sent; map"
                " the account's locations to the merchant location keys to keep them",
                self.account,
                len(spread),
                ", ".join(spread[:3]),
            )
        missing = [sku for sku, (_, listing) in items.items() if listing is None]
        results = list(refused)
        stopped: ChannelError | None = None
        try:
            results.extend(self._push(work, missing, "stock"))
        except ChannelError as exc:  # nothing pooled went through: the located still go
            stopped = exc
            results.extend([*_failed(work, exc), *(_no_listing(sku) for sku in missing)])
        if located:
            try:
                results.extend(self._push_locations(located, located_listing))
            except ChannelError as exc:
                stopped = stopped or exc
                results.extend(_failed_located(list(located), located, exc))
        if stopped is not None and not any(r.ok for r in results):
            raise stopped  # nothing applied: the engine waits as the error says
        return results

    def _push_locations(
        self, located: Mapping[str, Mapping[str, StockUpdate]], listings: Mapping[str, Listing]
    ) -> list[PushResult]:
        """Set quantities per merchant location, every location of a SKU in one request.

        eBay replaces an item's whole ``availabilityDistributions`` list with the one a
        write carries, and has no compare-and-set. So, 25 SKUs at a time: one
        bulkGetInventoryItem reads each item's distributions as they are now, and one
        bulkUpdatePriceQuantity writes each SKU's full list back (one request per SKU, so
        all its locations change together or not at all): the updated locations with their
        new figures, every other location with the figure just read (its
        ``fulfillmentTime`` kept), ``quantity`` their sum but never more than eBay's total
        plus what the write adds (see ``distributions_request``), and the published
        offer's ``availableQuantity`` the same. Results name each update's location.
        """
        results: list[PushResult] = []
        skus = list(located)
        halt: ChannelError | None = None
        went_through = 0
        for start in range(0, len(skus), INVENTORY_BATCH):
            chunk = skus[start : start + INVENTORY_BATCH]
            if halt is not None:
                results.extend(_failed_located(chunk, located, halt))
                continue
            try:
                with self._levels_lock:
                    done = self._write_locations(chunk, located, listings)
            except (Rejected, NotFound) as exc:
                results.extend(_failed_located(chunk, located, exc))
                continue
            except ChannelError as exc:  # quota, outage, auth: stop here
                halt = exc
                results.extend(_failed_located(chunk, located, exc))
                continue
            went_through += sum(1 for r in done if r.ok)
            results.extend(done)
        if halt is not None and not went_through:
            raise halt
        return results

    def _write_locations(
        self,
        chunk: Sequence[str],
        located: Mapping[str, Mapping[str, StockUpdate]],
        listings: Mapping[str, Listing],
    ) -> list[PushResult]:
        status, found = self.rest.bulk_get_inventory_items(chunk)
        self._count("bulkGetInventoryItem")
        answers = {a.sku: a for a in found.responses if a.sku}
        results: list[PushResult] = []
        requests: list[dict[str, Any]] = []
        sent: list[str] = []
        for sku in chunk:
            answer = answers.get(sku)
            item = answer.inventoryItem if answer is not None else None
            if answer is None or answer.statusCode != 200 or item is None:
                code, message = rest_error_text(answer.errors) if answer else (None, None)
                error = message or f"bulkGetInventoryItem (HTTP {status}) returned no item"
                results.extend(
                    PushResult.failure(
                        ItemError(
                            sku,
                            f"the item's quantities per location could not be read: {error}",
                            code=code,
                            retryable=answer is None
                            or (answer.statusCode or 0) >= 500
                            or answer.statusCode == 429,
                        ),
                        location=loc,
                    )
                    for loc in located[sku]
                )
                continue
            ship = item.availability.shipToLocationAvailability if item.availability else None
            figures = {loc: u.quantity for loc, u in located[sku].items()}
            distributions, total = distributions_request(
                ship.availabilityDistributions if ship else (),
                figures,
                ship.quantity if ship else None,
            )
            request: dict[str, Any] = {
                "sku": sku,
                "shipToLocationAvailability": {
                    "quantity": total,
                    "availabilityDistributions": distributions,
                },
            }
            offer_id = listings[sku].ids.get("offer_id")
            if offer_id:
                request["offers"] = [{"offerId": offer_id, "availableQuantity": total}]
            requests.append(request)
            sent.append(sku)
        if not requests:
            return results
        status, body = self.rest.bulk_update_price_quantity(requests)
        self._count("bulkUpdatePriceQuantity")
        by_sku = bulk_results_by_sku(body.responses)
        for sku in sent:
            for loc, u in located[sku].items():
                one = _Item(sku, listings[sku], quantity=u.quantity)
                result = _bulk_result(one, by_sku.get(sku, []), status)
                results.append(result.model_copy(update={"location": loc}))
        return results

    def push_prices(self, updates: Sequence[PriceUpdate]) -> list[PushResult]:
        """Set prices by the same two routes (``StartPrice``; the offer's ``price``)."""
        items = {}
        for u in updates:
            items[u.sku] = (u, self._listing_for(u.sku, u.listing))
        work = []
        missing = []
        refused: list[PushResult] = []
        for sku, (u, listing) in items.items():
            if listing is None:
                missing.append(sku)
            elif listing.ids.get("world") == "inventory_api" and not listing.ids.get("offer_id"):
                refused.append(
                    PushResult.failure(
                        ItemError(sku, "no published offer known to price", code="NO_OFFER")
                    )
                )
            elif u.price.currency != self.config.currency:
                refused.append(
                    PushResult.failure(
                        ItemError(
                            sku,
                            f"price in {u.price.currency}; eBay site {self.config.site_id}"
                            f" lists in {self.config.currency}",
                            code="CURRENCY",
                        )
                    )
                )
            else:
                work.append(
                    _Item(sku, listing, price=str(u.price.amount), currency=u.price.currency)
                )
        return refused + self._push(work, missing, "price")

    def _push(
        self, work: list[_Item], missing: list[str], what: Literal["stock", "price"]
    ) -> list[PushResult]:
        results: list[PushResult] = [_no_listing(sku) for sku in missing]
        trading = [w for w in work if w.listing.ids.get("world") == "trading"]
        inventory = [w for w in work if w.listing.ids.get("world") == "inventory_api"]
        stopped: list[ChannelError] = []
        went_through = 0
        for world, batch, send in (
            ("trading", TRADING_BATCH, self._revise),
            ("inventory_api", INVENTORY_BATCH, self._bulk),
        ):
            chunk_items = trading if world == "trading" else inventory
            halt: ChannelError | None = None
            for start in range(0, len(chunk_items), batch):
                chunk = chunk_items[start : start + batch]
                if halt is not None:
                    results.extend(_failed(chunk, halt))
                    continue
                try:
                    chunk_results = send(chunk, what)
                except (Rejected, NotFound) as exc:  # the call's content: these items only
                    results.extend(_failed(chunk, exc))
                    continue
                except ChannelError as exc:  # quota, outage, auth: stop this world
                    halt = exc
                    stopped.append(exc)
                    results.extend(_failed(chunk, exc))
                    continue
                went_through += sum(1 for r in chunk_results if r.ok)
                results.extend(chunk_results)
        if stopped and not went_through:
            raise stopped[0]  # nothing applied: the engine waits as the error says
        return results

    def _revise(self, chunk: list[_Item], what: str) -> list[PushResult]:
        entries: list[dict[str, str | None]] = []
        keys: set[str] = set()
        for w in chunk:
            ids = w.listing.ids
            item_id = ids.get("item_id")
            variation = ids.get("variation_sku")
            by_sku = ids.get("tracking") == "SKU" and not variation
            entry: dict[str, str | None] = {
                "ItemID": None if by_sku else item_id,
                "SKU": variation or (w.sku if by_sku else None),
                "Quantity": str(w.quantity) if w.quantity is not None else None,
                "StartPrice": w.price,
            }
            entries.append(entry)
            keys.update(v for v in (item_id, variation, w.sku) if v)
        self._revise_pace.acquire()
        reply = self.trading.call(
            "ReviseInventoryStatus", revise_inventory_status_request(entries), item_keys=keys
        )
        self._count("ReviseInventoryStatus")
        statuses = inventory_status_results(reply.root)
        results = []
        for w, entry in zip(chunk, entries, strict=True):
            wanted_sku = entry["SKU"]
            wanted_item = entry["ItemID"]
            hit = next(
                (
                    s
                    for s in statuses
                    if (wanted_sku is not None and s.sku == wanted_sku)
                    or (wanted_sku is None and wanted_item is not None and s.item_id == wanted_item)
                ),
                None,
            )
            if hit is not None:
                results.append(PushResult.success(w.sku, w.quantity))
                continue
            mine = {v for v in (wanted_item, wanted_sku, w.sku) if v}
            error = next(
                (e for e in reply.failures if mine & set(e.parameters)),
                reply.failures[0] if reply.failures else None,
            )
            if error is None:
                item_error = ItemError(w.sku, "eBay returned no result for this listing")
            else:
                item_error = ItemError(
                    w.sku,
                    error.message,
                    code=error.code,
                    retryable=error.code in SYSTEM_CODES,
                    raw=reply.content,
                )
            results.append(PushResult.failure(item_error))
        return results

    def _bulk(self, chunk: list[_Item], what: str) -> list[PushResult]:
        requests: list[dict[str, Any]] = []
        for w in chunk:
            offer_id = w.listing.ids.get("offer_id")
            request: dict[str, Any] = {"sku": w.sku}
            offer: dict[str, Any] = {}
            if what == "stock":
                request["shipToLocationAvailability"] = {"quantity": w.quantity}
                if offer_id:
                    offer = {"offerId": offer_id, "availableQuantity": w.quantity}
            elif offer_id:  # push_prices guarantees an offer id for prices
                offer = {"offerId": offer_id, "price": {"value": w.price, "currency": w.currency}}
            if offer:
                request["offers"] = [offer]
            requests.append(request)
        status, body = self.rest.bulk_update_price_quantity(requests)
        self._count("bulkUpdatePriceQuantity")
        by_sku = bulk_results_by_sku(body.responses)
        return [_bulk_result(w, by_sku.get(w.sku, []), status) for w in chunk]

    # -- fulfilment and cancellation --------------------------------------------------------

    def push_fulfillment(self, order_id: str, shipment: Shipment) -> None:
        """CompleteSale with ``Shipped`` and the tracking details: the whole order, or each
        line the shipment names (``OrderLineItemID``; eBay marks a whole line shipped)."""
        shipped_at = shipment.shipped_at or self._clock()
        targets: list[dict[str, str]] = (
            [{"order_line_item_id": line_id} for line_id in shipment.lines]
            if shipment.lines
            else [{"order_id": order_id}]
        )
        for target in targets:
            self.trading.call(
                "CompleteSale",
                complete_sale_request(
                    **target,
                    carrier=shipment.carrier,
                    tracking_number=shipment.tracking_number,
                    shipped_at=shipped_at,
                ),
            )
            self._count("CompleteSale")

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        """Cancel as the seller through the Post-Order API (``POST /cancellation``).

        The reason maps to eBay's codes: mentioning the buyer gives
        ``BUYER_ASKED_CANCEL``, an address ``ADDRESS_ISSUES``, anything else
        ``OUT_OF_STOCK_OR_CANNOT_FULFILL`` (which counts against seller standards). An order
        cancelled already is left alone; one eBay does not know is ``NotFound``; one eBay
        will not cancel (shipped, refunded, a buyer's request open) raises ``Rejected`` with
        eBay's reasons.
        """
        self.config.require_oauth("cancel_order")
        text = (reason or "").lower()
        code = next(
            (v for k, v in _CANCEL_REASONS.items() if k in text),
            "OUT_OF_STOCK_OR_CANNOT_FULFILL",
        )
        self._create_cancellation(order_id, code)

    def _create_cancellation(self, order_id: str, code: str) -> str | None:
        """The new cancellation's id; None when the order is cancelled already."""
        answer = self.rest.create_cancellation(order_id, code)
        self._count("createCancellation")
        if answer.cancelId is None:
            reasons = (
                answer.orderEligibilityResult.failureReason if answer.orderEligibilityResult else ()
            )
            if self._cancelled_already(order_id, reasons):
                return None
            raise self._not_cancelled(order_id, reasons, "createCancellation")
        return answer.cancelId

    def _cancelled_already(self, order_id: str, reasons: Sequence[str]) -> bool:
        if "CANCELLATION_EXIST" not in reasons:
            return False
        current = self.read_order(order_id)
        return isinstance(current, Order) and current.status is OrderStatus.CANCELLED

    def _not_cancelled(self, order_id: str, reasons: Sequence[str], operation: str) -> ChannelError:
        """eBay's refusal to cancel: ``NotFound`` for an order it does not know."""
        kind = NotFound if "INVALID_ORDER" in reasons else Rejected
        return kind(
            f"eBay will not cancel order {order_id}: {', '.join(reasons) or 'not eligible'}"
            + _cancel_advice(reasons),
            channel=self.account,
            operation=operation,
            code=reasons[0] if reasons else None,
        )

    # -- after-sale (SupportsCancel, SupportsRefund, SupportsReturns) ------------------------

    def cancel_lines(self, operation: CancelOperation) -> OperationReceipt:
        """Check the order's eligibility, then cancel it as the seller (Post-Order API).

        eBay cancels whole orders only: cancelling some units is refused with the way to do
        it (a refund of those lines with ``issueRefund``). A repeat after a lost answer finds
        the order cancelled and returns.
        """
        self.config.require_oauth("cancel_order")
        if operation.lines:
            raise Rejected(
                f"order {operation.order_id}: eBay cancels whole orders only (Post-Order API);"
                " to cancel some units refund those lines instead (channelsync orders refund"
                " ... --line LINE=UNITS, Fulfillment issueRefund)",
                channel=self.account,
                operation="createCancellation",
            )
        eligibility = self.rest.check_cancellation(operation.order_id)
        self._count("checkCancellationEligibility")
        if not eligibility.eligible:
            reasons = eligibility.failureReason
            if self._cancelled_already(operation.order_id, reasons):
                return OperationReceipt(detail="eBay has the order cancelled already")
            raise self._not_cancelled(operation.order_id, reasons, "checkCancellationEligibility")
        code = _CANCEL_REASONS.get(operation.reason) or (
            "ADDRESS_ISSUES"
            if operation.reason == "address_issue"
            else "OUT_OF_STOCK_OR_CANNOT_FULFILL"
        )
        cancel_id = self._create_cancellation(operation.order_id, code)
        if cancel_id is None:  # cancelled between the check and the request
            return OperationReceipt(detail="eBay has the order cancelled already")
        detail = self.rest.cancellation(cancel_id).cancelDetail
        self._count("getCancellation")
        state = f"{detail.cancelState}/{detail.cancelStatus}" if detail else None
        return OperationReceipt(reference=cancel_id, detail=state)

    def refund(self, operation: RefundOperation) -> OperationReceipt:
        """Fulfillment ``issueRefund``: per line (``legacyReference`` of the line's item and
        transaction) when the lines carry the amount, else at order level. eBay processes
        refunds asynchronously: the receipt is ``pending`` until ``getOrder`` says REFUNDED.
        """
        self.config.require_oauth("issueRefund")
        if operation.cancelled and sum(operation.cancelled.values()) == sum(
            operation.lines.values()
        ):
            reason = "BUYER_CANCEL" if operation.reason == "customer_request" else "SELLER_CANCEL"
        else:
            reason = _REFUND_REASONS.get(operation.reason, "OTHER_ADJUSTMENT")
        body: dict[str, Any] = {"reasonForRefund": reason}
        comment = operation.note or operation.reason
        body["comment"] = comment[:100]
        if operation.lines and set(operation.line_amounts) == set(operation.lines):
            items: list[dict[str, Any]] = []
            for line_id in operation.lines:
                item_id, _, txn_id = line_id.rpartition("-")
                if not item_id or not txn_id:
                    items = []
                    break
                share = operation.line_amounts[line_id]
                items.append(
                    {
                        "legacyReference": {"legacyItemId": item_id, "legacyTransactionId": txn_id},
                        "refundAmount": {
                            "value": f"{share.amount:.2f}",
                            "currency": share.currency,
                        },
                    }
                )
            if items:
                body["refundItems"] = items
        if "refundItems" not in body:
            body["orderLevelRefundAmount"] = {
                "value": f"{operation.amount.amount:.2f}",
                "currency": operation.amount.currency,
            }
        answer = self.rest.issue_refund(operation.order_id, body)
        self._count("issueRefund")
        if answer.refundStatus == "FAILED" or answer.refundId is None:
            raise Rejected(
                f"eBay refused the refund of order {operation.order_id}"
                f" (refundStatus {answer.refundStatus})",
                channel=self.account,
                operation="issueRefund",
            )
        refund = Refund(
            refund_id=answer.refundId,
            amount=operation.amount,
            reason=operation.note or operation.reason,
            lines=dict(operation.lines),
        )
        if answer.refundStatus == "REFUNDED":
            return OperationReceipt(reference=answer.refundId, refund=refund)
        return OperationReceipt(status="pending", reference=answer.refundId, refund=refund)

    def operation_status(self, order_id: str, receipt: OperationReceipt) -> OperationReceipt:
        """A pending refund as ``getOrder`` shows it: done once every part is REFUNDED,
        ``Rejected`` when one FAILED."""
        if receipt.reference is None:
            return receipt
        order = self.rest.order_refunds(order_id)
        self._count("getOrder")
        parts = [r for r in order.refunds() if r.refundId == receipt.reference]
        if not parts:
            return receipt
        statuses = {r.refundStatus for r in parts}
        if "FAILED" in statuses:
            raise Rejected(
                f"eBay's refund {receipt.reference} of order {order_id} failed: refund it in"
                " Seller Hub",
                channel=self.account,
                operation="getOrder",
                code="FAILED",
            )
        if statuses == {"REFUNDED"}:
            total = sum((r.amount.value for r in parts if r.amount and r.amount.value), Decimal(0))
            currency = next(
                (r.amount.currency for r in parts if r.amount and r.amount.currency), None
            )
            refund = (
                Refund(refund_id=receipt.reference, amount=Money(amount=total, currency=currency))
                if currency
                else receipt.refund
            )
            return OperationReceipt(reference=receipt.reference, refund=refund, detail="REFUNDED")
        return receipt

    def record_return(self, operation: ReturnOperation) -> OperationReceipt:
        """Mark the buyer's open Post-Order returns of the lines received.

        eBay returns are opened by the buyer; a line without an open return is refused with
        what to do (record the units here only: ``notify_channel=False``).
        """
        self.config.require_oauth("markReturnReceived")
        found = self.rest.search_returns(operation.order_id)
        self._count("searchReturns")
        chosen: list[str] = []
        for line_id, qty in operation.lines.items():
            item_id, _, txn_id = line_id.rpartition("-")
            left = qty
            for r in found.members:
                item = r.creationInfo.item if r.creationInfo else None
                if (
                    item is None
                    or (r.state or r.status) not in _RETURN_RECEIVABLE
                    or item.transactionId != (txn_id or line_id)
                    or (item_id and item.itemId != item_id)
                    or r.returnId in chosen
                    or left <= 0
                ):
                    continue
                chosen.append(r.returnId)
                left -= item.returnQuantity or 0
            if left > 0:
                raise Rejected(
                    f"order {operation.order_id}: no open eBay return covers {qty} unit(s) of line"
                    f" {line_id}; eBay returns are opened by the buyer (Post-Order API): record"
                    " the units here only (notify_channel=False)",
                    channel=self.account,
                    operation="searchReturns",
                )
        for return_id in chosen:
            self.rest.mark_return_received(return_id, operation.note)
            self._count("markReturnReceived")
        return OperationReceipt(reference=",".join(chosen), detail="ITEM_DELIVERED")

    # -- webhooks -------------------------------------------------------------------------

    def fetch_order(self, order_id: str) -> Order | None:
        """One order as GetOrders serves it now (``OrderIDArray``); None when eBay has none.

        None too when the order cannot be mapped (logged): a notification then carries the
        order id alone, and the next poll reports the order as an ``OrderFailure``.
        """
        order = self.read_order(order_id)
        return order if isinstance(order, Order) else None

    def read_order(self, order_id: str) -> Order | OrderFailure | None:
        """One order as GetOrders serves it now; None when eBay has none.

        The engine re-reads open orders with this every few hours: eBay's order times do
        not always move on a cancellation, so polling by change time alone can miss it.
        Each call is one GetOrders against the daily quota.
        """
        if self.trading.blocked_until is not None and self.config.has_oauth:
            raw = self.rest.order(order_id)
            self._count("getOrder(REST)")
            return None if raw is None else self._map_rest(raw)
        reply = self.trading.call(
            "GetOrders",
            {
                "OrderIDArray": {"OrderID": [order_id]},
                "OrderRole": "Seller",
                "DetailLevel": "ReturnAll",
            },
        )
        self._count("GetOrders")
        for el in orders_page(reply.root).orders:
            if (el.findtext("OrderID") or "").strip() == order_id:
                return self._map(el)
        return None

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """The account deletion challenge and notification, and Platform Notifications.

        A Platform Notification carries one transaction, not the whole order: applied as
        the order it would drop the order's other lines (the ledger reads a line missing
        from a newer version as removed and releases its units). Each announced order is
        therefore read whole with GetOrders; where that read fails, the event carries only
        the order id and the next poll brings the order.
        """
        events = self.webhooks.parse(headers, body)
        fetched: dict[str, Order | None] = {}
        out: list[WebhookEvent] = []
        for event in events:
            if event.kind != "order" or event.order is None:
                out.append(event)
                continue
            order_id = event.order.order_id
            if order_id not in fetched:
                try:
                    fetched[order_id] = self.fetch_order(order_id)
                except ChannelError as exc:
                    log.warning(
                        "%s: notified order %s not read (%s); the next poll brings it",
                        self.account,
                        order_id,
                        exc,
                    )
                    fetched[order_id] = None
            out.append(event.model_copy(update={"order": fetched[order_id]}))
        return out

    def close(self) -> None:
        """Close every connection pool."""
        self.trading.close()
        self.rest.close()
        self._identity_http.close()


def _no_listing(sku: str, location: str | None = None) -> PushResult:
    return PushResult.failure(
        ItemError(
            sku, "no eBay listing known for this SKU (fetch_listings first)", code="NO_LISTING"
        ),
        location=location,
    )


def _superseded(update: StockUpdate) -> PushResult:
    return PushResult.failure(
        ItemError(
            update.sku,
            "a later update of this SKU and merchant location in the same push replaces it",
            code="SUPERSEDED",
        ),
        location=update.location,
    )


def _failed_located(
    skus: Sequence[str], located: Mapping[str, Mapping[str, StockUpdate]], exc: ChannelError
) -> list[PushResult]:
    return [
        PushResult.failure(
            ItemError(sku, str(exc), code=exc.code, retryable=isinstance(exc, TransientError)),
            location=loc,
        )
        for sku in skus
        for loc in located[sku]
    ]


def _failed(chunk: Sequence[_Item], exc: ChannelError) -> list[PushResult]:
    return [
        PushResult.failure(
            ItemError(
                w.sku,
                str(exc),
                code=exc.code,
                retryable=isinstance(exc, TransientError),
            )
        )
        for w in chunk
    ]


def _bulk_result(w: _Item, answers: list[PriceQuantityResponse], status: int) -> PushResult:
    if not answers:
        return PushResult.failure(
            ItemError(w.sku, f"bulkUpdatePriceQuantity (HTTP {status}) returned no result")
        )
    bad = [a for a in answers if a.statusCode != 200]
    if not bad:
        return PushResult.success(w.sku, w.quantity)
    first = bad[0]
    code, message = rest_error_text(first.errors)
    return PushResult.failure(
        ItemError(
            w.sku,
            message or f"statusCode {first.statusCode}",
            code=code or (str(first.statusCode) if first.statusCode else None),
            retryable=first.statusCode is not None
            and (first.statusCode >= 500 or first.statusCode == 429),
        )
    )


_NO_TIME = datetime.min.replace(tzinfo=UTC)


def _stream_key(item: Order | OrderFailure) -> tuple[datetime, str]:
    """Oldest change first; a failure without a readable time first of all."""
    return (item.updated_at or _NO_TIME, item.order_id or "")


def _cancel_advice(reasons: Sequence[str]) -> str:
    """What to do instead, for eBay's reasons not to cancel."""
    if "ITEM_LEVEL_ELIGIBILITY_FAILURE" in reasons:
        return " (a line has shipped: refund it, or record a return when it comes back)"
    if "CANCELLATION_EXIST" in reasons:
        return " (a cancellation exists: answer the buyer's request in Seller Hub)"
    if "FULL_REFUNDED_ORDER" in reasons:
        return " (the order is refunded in full already)"
    return ""
