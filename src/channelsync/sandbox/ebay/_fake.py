"""``EbayFake``: eBay's Trading API, Sell Inventory/Fulfillment REST, OAuth and notifications.

One seller account on one site. Listings live in one of eBay's two worlds: Trading
listings (Seller Hub / Trading API; revised with ReviseInventoryStatus) and Inventory API
listings (an inventory item with a published offer; revised with
bulkUpdatePriceQuantity). Both kinds appear in GetMyeBaySelling, as on eBay, and each
refuses the other world's write call. Orders are held as Trading ``<Order>`` elements and
also served through the Fulfillment API.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import secrets
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from channelsync.adapters.ebay import EbayChannel, EbayConfig
from channelsync.adapters.ebay.config import SITES
from channelsync.adapters.ebay.mapping import EBAY_NS, format_time, parse_time, parse_xml
from channelsync.adapters.ebay.webhooks import (
    QUERY_HEADER,
    challenge_response,
    platform_signature,
)
from channelsync.core.channel import WebhookEvent
from channelsync.core.models import utcnow
from channelsync.sandbox._base import FakeMarketplace, FaultKind, request_state
from channelsync.sandbox.ebay import _rest
from channelsync.sandbox.ebay._aftersale import AfterSale, AfterSaleState
from channelsync.sandbox.ebay._state import (
    Distribution,
    FakeLocation,
    FakeOffer,
    InventoryRecord,
    TradingListing,
    TradingVariation,
    XmlOrder,
)
from channelsync.sandbox.ebay._trading import HANDLERS
from channelsync.sandbox.ebay._xml import (
    TradingFault,
    amount,
    envelope,
    fault_document,
    finish,
    serialize,
    sub,
)

__all__ = ["EbayFake"]

TRADING_PATH = "/ws/api.dll"
_XML = {"content-type": "text/xml;charset=utf-8"}
World = str


class EbayFake(FakeMarketplace):
    """eBay for one seller on one site, on loopback.

    Args:
        latency_ms: added to every request.
        clock: aware UTC now (order times, token expiry, the daily quota's day).
        site_id: the seller's site (77: ebay.de, EUR).
        daily_call_quota: Trading calls allowed per day (None: no limit; default 5,000,
            what a new production keyset gets); the next call answers error 518 until
            midnight in ``quota_timezone``.
        quota_timezone: where the quota's day starts.

    Attributes (eBay's real limits, on by default; tests may change them):
        revisions_per_day: revisions of one listing per calendar day (ReviseInventoryStatus
            and bulkUpdatePriceQuantity alike; eBay: 250). None: no cap.
        revise_burst: at most this many ReviseInventoryStatus calls per seller ...
        revise_window: ... in any window of this many seconds (eBay: 6,000 in 15 s).
        sales_lower_locations: a sale of an Inventory API item lowers its
            ``availabilityDistributions`` too, the first location with stock first (True,
            the default), or only the ship-to-home total (False). eBay documents neither;
            the adapter must stay safe under both.
        order_search_lag: a change of an order shows in GetOrders by time and in the
            Fulfillment API's ``getOrders`` filter this many seconds (min, max; per change,
            deterministic) after it happened; reads by order id see it at once.
    """

    name = "ebay"
    APP_ID = "channelsy-fake-PRD-0a1b2c3d4-5e6f7a8b"
    DEV_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    CERT_ID = "PRD-a1b2c3d4e5f6-7a8b-9c0d-1e2f-3a4b"
    AUTH_N_AUTH_TOKEN = "AgAAAA**AQAAAA**aAAAAA**fake+auth+n+auth+token==**"
    REFRESH_TOKEN = "v^1.1#i^1#r^1#f^0#p^3#I^3#t^fake-refresh-token="
    VERIFICATION_TOKEN = "channelsync-fake-verification-token-0123456789"
    DELETION_ENDPOINT = "https://merchant.example/ebay/account-deletion"
    SELLER = "fake_seller_de"

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        clock: Callable[[], datetime] = utcnow,
        site_id: int = 77,
        daily_call_quota: int | None = 5000,
        quota_timezone: str = "America/Los_Angeles",
    ) -> None:
        super().__init__(latency_ms=latency_ms, clock=clock)
        site = SITES[site_id]
        self.site_id = site_id
        self.marketplace_id = site.marketplace_id
        self.currency = site.currency
        self.daily_call_quota = daily_call_quota
        self.quota_timezone = ZoneInfo(quota_timezone)
        self.listings: dict[str, TradingListing] = {}
        self.inventory: dict[str, InventoryRecord] = {}
        self.locations: dict[str, FakeLocation] = {}
        """Merchant locations (Inventory API), by ``merchantLocationKey``."""
        self.offers: dict[str, FakeOffer] = {}
        self.orders: dict[str, XmlOrder] = {}
        self.cancellations: list[dict[str, str]] = []
        self.aftersale = AfterSaleState()
        """Cancellations, refunds (``refund_reads``: reads before one is done) and returns."""
        self._tokens: dict[str, tuple[str, datetime]] = {}
        self._quota_used: Counter[date] = Counter()
        self.revisions_per_day: int | None = 250
        self.sales_lower_locations = True
        self.revise_burst = 6000
        self.revise_window = 15.0
        self.order_search_lag: tuple[float, float] = (10.0, 120.0)
        self._revisions: Counter[tuple[str, date]] = Counter()
        self._revise_calls: deque[datetime] = deque()
        self._item_ids = itertools.count(110_000_000_001)
        self._txn_ids = itertools.count(2_900_000_000_001)
        self._order_ids = itertools.count(1)
        self._offer_ids = itertools.count(9_100_000_001)
        self._fulfillment_ids = itertools.count(1)
        self._last_change = datetime.min.replace(tzinfo=UTC)
        self._signing_key = ec.generate_private_key(ec.SECP256R1())
        self.key_id = str(uuid.uuid4())
        self._channels: list[EbayChannel] = []

    # -- credentials ------------------------------------------------------------------------

    def issue_token(self, kind: str = "user", *, lifetime: timedelta = timedelta(hours=2)) -> str:
        """A new OAuth access token (``user`` or ``app``) valid for ``lifetime``."""
        token = f"v^1.1#i^1#p^3#r^0#I^3#f^0#t^{secrets.token_urlsafe(24)}"
        with self.lock:
            self._tokens[token] = (kind, self.clock() + lifetime)
        return token

    def expire_tokens(self) -> None:
        """Make every access token issued so far expire now (a refresh is then needed)."""
        with self.lock:
            now = self.clock()
            self._tokens = {t: (k, now) for t, (k, _) in self._tokens.items()}

    def token_state(self, token: str | None, kind: str = "user") -> str:
        """``valid``, ``expired`` or ``invalid`` (app tokens also pass for ``app``)."""
        if not token:
            return "invalid"
        with self.lock:
            found = self._tokens.get(token)
        if found is None or (kind == "user" and found[0] != "user"):
            return "invalid"
        return "valid" if self.clock() < found[1] else "expired"

    def channel(self, account: str = "ebay-de", **options: Any) -> EbayChannel:
        """A real ``EbayChannel`` aimed at this fake (Trading, REST and identity).

        ``auth="auth_n_auth"`` gives a Trading-only Auth'n'Auth account; ``clock=`` and
        ``public_keys=`` go to the channel; every other option is an ``EbayConfig`` field
        (``mod_time_lag_seconds`` defaults to the fake's longest order search lag).
        """
        if self.url is None:
            raise RuntimeError("the eBay fake is not served yet (start the Sandbox)")
        auth = options.pop("auth", "oauth")
        kwargs = {k: options.pop(k) for k in ("clock", "public_keys", "transport") if k in options}
        fields: dict[str, Any] = {
            "account": account,
            "site_id": self.site_id,
            "app_id": self.APP_ID,
            "cert_id": self.CERT_ID,
            "dev_id": self.DEV_ID,
            "verification_token": self.VERIFICATION_TOKEN,
            "deletion_endpoint_url": self.DELETION_ENDPOINT,
            # As long as the fake's order search lags (0 when a test shortened it).
            "mod_time_lag_seconds": int(-(-max(self.order_search_lag) // 1)),
            "quota_timezone": str(self.quota_timezone),
        }
        if auth == "auth_n_auth":
            fields["auth_token"] = self.AUTH_N_AUTH_TOKEN
        else:
            fields["user_token"] = self.issue_token()
            fields["refresh_token"] = self.REFRESH_TOKEN
        fields.update(options)
        channel = EbayChannel(EbayConfig(**fields), base_url=self.url, **kwargs)
        with self.lock:
            self._channels.append(channel)
        return channel

    def close(self) -> None:
        """Stop the webhook sender and close the connection pools of the channels handed out."""
        with self.lock:
            channels, self._channels = self._channels, []
        for channel in channels:
            channel.close()
        super().close()

    # -- arranging --------------------------------------------------------------------------

    def _tick(self) -> datetime:
        """Now, to the millisecond as eBay keeps times, never before an earlier change."""
        now = self.clock()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self._last_change = max(now, self._last_change)
        return self._last_change

    def seed_listing(
        self,
        sku: str,
        *,
        quantity: int,
        price: str,
        title: str | None = None,
        world: str = "trading",
        group: str | None = None,
        tracking: str = "ItemID",
        levels: Mapping[str, int] | None = None,
    ) -> None:
        """List ``sku`` in one of eBay's two worlds (``item_id(sku)`` gives its ItemID).

        ``world="trading"`` makes a Seller Hub / Trading listing; with ``group`` the SKU
        becomes a variation of the listing of that group (one ItemID, many SKUs).
        ``world="inventory_api"`` makes an inventory item with a published offer; with
        ``levels`` (merchant location key -> quantity, locations from ``add_location``)
        the item has those ``availabilityDistributions``, in that order, and ``quantity``
        must be their sum.
        """
        if quantity < 0:
            raise ValueError("quantity must not be negative")
        value = Decimal(price)
        with self.lock:
            spread: list[Distribution] = []
            if levels:
                if world != "inventory_api":
                    raise ValueError("levels are for world='inventory_api' (Trading has none)")
                unknown = [k for k in levels if k not in self.locations]
                if unknown:
                    raise ValueError(f"no merchant location {unknown[0]!r} (add_location first)")
                if sum(levels.values()) != quantity or min(levels.values()) < 0:
                    raise ValueError(f"quantity {quantity} is not the sum of levels {levels}")
                spread = [Distribution(key=k, quantity=q) for k, q in levels.items()]
            self._unlist(sku)
            now = self.clock()
            if world == "inventory_api":
                self.inventory[sku] = InventoryRecord(
                    sku=sku, title=title or sku, quantity=quantity, distributions=spread
                )
                offer = FakeOffer(
                    offer_id=str(next(self._offer_ids)),
                    sku=sku,
                    marketplace_id=self.marketplace_id,
                    currency=self.currency,
                    price=value,
                    available_quantity=quantity,
                    listing_id=str(next(self._item_ids)),
                    start_time=now,
                )
                self.offers[offer.offer_id] = offer
                return
            if world != "trading":
                raise ValueError(f"world must be 'trading' or 'inventory_api', not {world!r}")
            if group is not None:
                listing = next((x for x in self.listings.values() if x.title == group), None)
                if listing is None:
                    listing = TradingListing(
                        item_id=str(next(self._item_ids)),
                        title=group,
                        currency=self.currency,
                        start_time=now,
                    )
                    self.listings[listing.item_id] = listing
                listing.variations[sku] = TradingVariation(
                    sku=sku, title=title or sku, quantity=quantity, sold=0, price=value
                )
                listing.quantity = sum(v.quantity for v in listing.variations.values())
                return
            listing = TradingListing(
                item_id=str(next(self._item_ids)),
                title=title or sku,
                currency=self.currency,
                start_time=now,
                sku=sku,
                quantity=quantity,
                price=value,
                tracking=tracking,
            )
            self.listings[listing.item_id] = listing

    def add_location(self, key: str, *, name: str | None = None, enabled: bool = True) -> str:
        """Create a merchant location (createInventoryLocation) keyed ``key``; returns it.

        Keys are the seller's own (at most 36 characters on eBay); ``enabled=False`` makes a
        DISABLED location, which eBay refuses inventory at.
        """
        if not key or len(key) > 36 or key != key.strip():
            raise ValueError(f"merchantLocationKey {key!r}: 1 to 36 characters, no padding")
        with self.lock:
            if key in self.locations:
                raise ValueError(f"merchant location {key!r} exists already")
            self.locations[key] = FakeLocation(key=key, name=name or key, enabled=enabled)
        return key

    def disable_location(self, key: str) -> None:
        """disableInventoryLocation: no inventory may be loaded at ``key`` from now on."""
        with self.lock:
            self.locations[key].enabled = False

    def levels(self, sku: str) -> dict[str, int]:
        """The inventory item's quantity per merchant location (empty: none set)."""
        with self.lock:
            record = self.inventory.get(sku)
            return {d.key: d.quantity for d in record.distributions} if record else {}

    def item_id(self, sku: str) -> str | None:
        """The eBay ItemID ``sku`` is listed under (None: not listed)."""
        with self.lock:
            for listing in self.listings.values():
                if listing.sku == sku or sku in listing.variations:
                    return listing.item_id
            for offer in self.offers.values():
                if offer.sku == sku:
                    return offer.listing_id
        return None

    def _unlist(self, sku: str) -> None:
        for item_id, listing in list(self.listings.items()):
            if listing.sku == sku:
                del self.listings[item_id]
            elif sku in listing.variations:
                del listing.variations[sku]
        self.inventory.pop(sku, None)
        for offer_id in [o.offer_id for o in self.offers.values() if o.sku == sku]:
            del self.offers[offer_id]

    def seed_order(self, order: Any) -> str:
        """Store one Trading ``<Order>`` element (XML text); returns its OrderID.

        It is served by GetOrders as given, with ``CheckoutStatus/LastModifiedTime`` set to
        now when it has none; its modification time (for ``ModTimeFrom``) is now.
        """
        text = order.encode() if isinstance(order, str) else bytes(order)
        element = parse_xml(text)
        if element.tag != "Order":
            raise ValueError(f"expected an <Order> element, got <{element.tag!s}>")
        order_id = (element.findtext("OrderID") or "").strip()
        if not order_id:
            raise ValueError("the <Order> has no OrderID")
        if parse_time(element.findtext("CreatedTime")) is None:
            raise ValueError(f"order {order_id}: no valid CreatedTime")
        with self.lock:
            now = self._tick()
            if element.find("CheckoutStatus/LastModifiedTime") is None:
                checkout = element.find("CheckoutStatus")
                if checkout is None:
                    checkout = sub(element, "CheckoutStatus")
                sub(checkout, "LastModifiedTime", format_time(now))
            order = XmlOrder(order_id, element, now)
            order.versions.append((now, now, copy.deepcopy(element)))  # history: indexed
            self.orders[order_id] = order
        return order_id

    def place_order(self, sku: str, qty: int = 1, *, paid: bool = True) -> str:
        """A buyer buys ``qty`` of ``sku``: the listing's quantity drops, an order appears
        and a FixedPriceTransaction notification goes to subscribers. Returns the OrderID."""
        if qty < 1:
            raise ValueError("qty must be at least 1")
        with self.lock:
            now = self._tick()
            item_id, title, unit, variation = self._sell(sku, qty)
            n = next(self._order_ids)
            order_id = f"{10 + n % 90:02d}-{10000 + n:05d}-{(n * 7919) % 100000:05d}"
            txn_id = str(next(self._txn_ids))
            el = _order_element(
                order_id=order_id,
                item_id=item_id,
                txn_id=txn_id,
                sku=sku,
                title=title,
                variation=variation,
                qty=qty,
                unit=unit,
                currency=self.currency,
                now=now,
                paid=paid,
                record=n,
            )
            order = XmlOrder(order_id, el, now)
            self.orders[order_id] = order
            self._index(order)
            notification = self._transaction_notification(order, "FixedPriceTransaction")
        self.send_webhook("FixedPriceTransaction", *notification)
        return order_id

    def _sell(self, sku: str, qty: int) -> tuple[str, str, Decimal, str | None]:
        for listing in self.listings.values():
            if listing.sku == sku:
                if listing.available < qty:
                    raise ValueError(f"{sku}: only {listing.available} available")
                listing.sold += qty
                return listing.item_id, listing.title, listing.price, None
            var = listing.variations.get(sku)
            if var is not None:
                if var.available < qty:
                    raise ValueError(f"{sku}: only {var.available} available")
                var.sold += qty
                listing.sold = sum(v.sold for v in listing.variations.values())
                return listing.item_id, listing.title, var.price, var.title
        offer = next(
            (o for o in self.offers.values() if o.sku == sku and o.status == "PUBLISHED"), None
        )
        record = self.inventory.get(sku)
        if offer is None or record is None:
            raise KeyError(f"{sku} is not listed on the eBay fake")
        available = self._offer_available(offer)
        if available < qty:
            raise ValueError(f"{sku}: only {available} available")
        offer.sold += qty
        record.take(qty, from_locations=self.sales_lower_locations)
        if offer.available_quantity is not None:
            offer.available_quantity -= qty
        return offer.listing_id or "", record.title or sku, offer.price, None

    def _offer_available(self, offer: FakeOffer) -> int:
        record = self.inventory.get(offer.sku)
        total = record.quantity if record else 0
        if offer.available_quantity is not None:
            return min(offer.available_quantity, total)
        return total

    def quantity(self, sku: str, location: str | None = None) -> int | None:
        """What buyers can buy of ``sku`` now (None: not listed); with ``location`` (a
        merchant location key), the inventory item's quantity there (None: none set)."""
        with self.lock:
            if location is not None:
                record = self.inventory.get(sku)
                spread = {d.key: d.quantity for d in record.distributions} if record else {}
                return spread.get(location)
            for listing in self.listings.values():
                if listing.sku == sku:
                    return listing.available
                if sku in listing.variations:
                    return listing.variations[sku].available
            for offer in self.offers.values():
                if offer.sku == sku and offer.status == "PUBLISHED":
                    return self._offer_available(offer)
        return None

    def price(self, sku: str) -> Decimal | None:
        """The listing price of ``sku`` (None: not listed)."""
        with self.lock:
            for listing in self.listings.values():
                if listing.sku == sku:
                    return listing.price
                if sku in listing.variations:
                    return listing.variations[sku].price
            for offer in self.offers.values():
                if offer.sku == sku:
                    return offer.price
        return None

    def world(self, sku: str) -> str | None:
        """``trading`` or ``inventory_api``: where ``sku`` is listed."""
        with self.lock:
            if any(x.sku == sku or sku in x.variations for x in self.listings.values()):
                return "trading"
            if any(o.sku == sku for o in self.offers.values()):
                return "inventory_api"
        return None

    def order_xml(self, order_id: str) -> str:
        """The order as GetOrders serves it now."""
        with self.lock:
            return etree.tostring(self.orders[order_id].element, encoding="unicode")

    def open_return(
        self, order_id: str, line_id: str, quantity: int = 1, reason: str = "NO_LONGER_NEED_ITEM"
    ) -> str:
        """A buyer opens a Post-Order return of ``quantity`` units of a line (the
        ``OrderLineItemID`` ``itemId-transactionId``, or the transaction id); returns its id."""
        return AfterSale(self).open_return(order_id, line_id.rsplit("-", 1)[-1], quantity, reason)

    def return_state(self, return_id: str) -> str:
        """A return's state (``ITEM_SHIPPED``, ``ITEM_DELIVERED``...)."""
        with self.lock:
            return self.aftersale.returns[return_id].state

    def refunds(self, order_id: str) -> list[tuple[str, Decimal, str]]:
        """(refund id, amount, status) of the refunds issued for an order."""
        with self.lock:
            return [
                (r.refund_id, r.amount, r.status) for r in self.aftersale.refunds.get(order_id, [])
            ]

    # -- state the handlers use -------------------------------------------------------------

    def touch_order(self, order: XmlOrder) -> None:
        """Record a change of ``order`` now (searches see it after its lag)."""
        order.modified = self._tick()
        _set(order.element, "CheckoutStatus/LastModifiedTime", format_time(order.modified))
        self._index(order)

    def _index(self, order: XmlOrder) -> None:
        low, high = self.order_search_lag
        lag = max(0.0, low)
        if high > low:
            digest = hashlib.sha256(f"{order.order_id}|{order.modified}".encode()).digest()
            lag = low + (high - low) * (int.from_bytes(digest[:4], "big") / 0xFFFFFFFF)
        visible = order.modified + timedelta(seconds=lag)
        order.versions.append((visible, order.modified, copy.deepcopy(order.element)))

    def searchable(self, order: XmlOrder) -> tuple[datetime, etree._Element] | None:
        """(modified, element) of the version order searches serve now (None: none yet)."""
        now = self.clock()
        seen = [(m, el) for visible, m, el in order.versions if visible <= now]
        return seen[-1] if seen else None

    # -- revision caps --------------------------------------------------------------------

    def revisions(self, item_id: str) -> int:
        """Revisions of listing ``item_id`` counted today (eBay's calendar day)."""
        with self.lock:
            return self._revisions[(item_id, self._quota_day())]

    def spend_revision(self, item_id: str) -> bool:
        """Count one revision of ``item_id`` today; False when its daily cap is reached."""
        with self.lock:
            key = (item_id, self._quota_day())
            if (
                self.revisions_per_day is not None
                and self._revisions[key] >= self.revisions_per_day
            ):
                return False
            self._revisions[key] += 1
            return True

    def _spend_revise_call(self) -> bool:
        with self.lock:
            now = self.clock()
            while self._revise_calls and (now - self._revise_calls[0]).total_seconds() >= (
                self.revise_window
            ):
                self._revise_calls.popleft()
            if len(self._revise_calls) >= self.revise_burst:
                return False
            self._revise_calls.append(now)
            return True

    def restock_line(self, txn: etree._Element) -> None:
        """A cancelled line's units go back on sale (eBay restores the listing's quantity)."""
        qty = int(txn.findtext("QuantityPurchased") or "0")
        sku = txn.findtext("Variation/SKU") or txn.findtext("Item/SKU")
        item_id = txn.findtext("Item/ItemID")
        listing = self.listings.get(item_id or "")
        if listing is not None:
            if sku and sku in listing.variations:
                var = listing.variations[sku]
                var.sold = max(0, var.sold - qty)
                listing.sold = sum(v.sold for v in listing.variations.values())
            else:
                listing.sold = max(0, listing.sold - qty)
            return
        offer = next(
            (o for o in self.offers.values() if o.sku == sku and o.listing_id == item_id), None
        )
        if offer is not None:
            offer.sold = max(0, offer.sold - qty)
            record = self.inventory.get(offer.sku)
            if record is not None:
                record.give_back(qty, to_locations=self.sales_lower_locations)
            if offer.available_quantity is not None:
                offer.available_quantity += qty

    def rest_auth(self, request: Request, scheme: str = "Bearer") -> Response | None:
        """None for a request with a valid user token (``Bearer`` or ``IAF``), else the 401."""
        return _rest._bearer(self, request, scheme=scheme)

    def touch_listings(self) -> None:
        """A listing changed (nothing to record beyond the state itself)."""

    def find_order(self, order_id: str | None, line_id: str | None) -> XmlOrder | None:
        """The order with ``order_id``, or the one holding line ``line_id``."""
        if order_id is not None:
            return self.orders.get(order_id)
        for order in self.orders.values():
            for txn in order.element.findall("TransactionArray/Transaction"):
                if (txn.findtext("OrderLineItemID") or "") == line_id:
                    return order
        return None

    def active_item_ids(self) -> list[str]:
        """ItemIDs of every active fixed-price listing, both worlds."""
        ids = [x.item_id for x in self.listings.values() if x.sku or x.variations]
        ids += [
            o.listing_id for o in self.offers.values() if o.status == "PUBLISHED" and o.listing_id
        ]
        return sorted(ids)

    def item_element(self, item_id: str) -> etree._Element:
        """The ``<Item>`` of an active listing as GetMyeBaySelling returns it."""
        item = etree.Element("Item")
        listing = self.listings.get(item_id)
        if listing is not None:
            amount(item, "BuyItNowPrice", Decimal(0), listing.currency)
            sub(item, "ItemID", listing.item_id)
            details = sub(item, "ListingDetails")
            sub(details, "StartTime", format_time(listing.start_time))
            sub(details, "ViewItemURL", f"https://www.ebay.de/itm/{listing.item_id}")
            sub(item, "ListingDuration", "GTC")
            sub(item, "ListingType", "FixedPriceItem")
            sub(item, "Quantity", listing.quantity)
            status = sub(item, "SellingStatus")
            low = min((v.price for v in listing.variations.values()), default=listing.price)
            amount(status, "CurrentPrice", low, listing.currency)
            sub(status, "QuantitySold", listing.sold)
            sub(item, "Title", listing.title)
            if listing.sku:
                sub(item, "SKU", listing.sku)
            sub(item, "InventoryTrackingMethod", listing.tracking)
            sub(item, "QuantityAvailable", listing.available)
            if listing.variations:
                variations = sub(item, "Variations")
                for var in listing.variations.values():
                    v = sub(variations, "Variation")
                    sub(v, "SKU", var.sku)
                    amount(v, "StartPrice", var.price, listing.currency)
                    sub(v, "Quantity", var.quantity)
                    vs = sub(v, "SellingStatus")
                    sub(vs, "QuantitySold", var.sold)
                    sub(v, "VariationTitle", f"{listing.title}[{var.title}]")
            return item
        offer = next(o for o in self.offers.values() if o.listing_id == item_id)
        record = self.inventory.get(offer.sku)
        available = self._offer_available(offer)
        amount(item, "BuyItNowPrice", Decimal(0), offer.currency)
        sub(item, "ItemID", item_id)
        details = sub(item, "ListingDetails")
        sub(details, "StartTime", format_time(offer.start_time or self.clock()))
        sub(item, "ListingDuration", "GTC")
        sub(item, "ListingType", "FixedPriceItem")
        sub(item, "Quantity", available + offer.sold)
        status = sub(item, "SellingStatus")
        amount(status, "CurrentPrice", offer.price, offer.currency)
        sub(status, "QuantitySold", offer.sold)
        sub(item, "Title", (record.title if record else None) or offer.sku)
        sub(item, "SKU", offer.sku)
        sub(item, "QuantityAvailable", available)
        return item

    def locate_trading(
        self, item_id: str | None, sku: str | None
    ) -> tuple[TradingListing, str | None]:
        """The Trading listing (and variation SKU) an InventoryStatus names, or a fault."""
        keys = [v for v in (item_id, sku) if v]
        if item_id is not None:
            listing = self.listings.get(item_id)
            if listing is None:
                if any(o.listing_id == item_id for o in self.offers.values()):
                    raise _inventory_model_fault(keys)
                raise _not_found(keys)
            if listing.variations:
                if sku is None or sku not in listing.variations:
                    raise TradingFault(
                        "37",
                        "Input data is invalid.",
                        f"Listing {item_id} has variations: a variation SKU is required.",
                        params=keys,
                    )
                return listing, sku
            if sku is not None and listing.sku != sku:
                raise _not_found(keys)
            return listing, None
        if sku is None:
            raise _not_found(keys)
        for listing in self.listings.values():
            if listing.sku == sku:
                if listing.tracking != "SKU":
                    raise TradingFault(
                        "37",
                        "Input data is invalid.",
                        f"Listing {listing.item_id} tracks inventory by ItemID: give its ItemID.",
                        params=keys,
                    )
                return listing, None
            if sku in listing.variations:
                raise TradingFault(
                    "37",
                    "Input data is invalid.",
                    "A variation is revised with its listing's ItemID and its SKU.",
                    params=keys,
                )
        if any(o.sku == sku for o in self.offers.values()):
            raise _inventory_model_fault(keys)
        raise _not_found(keys)

    # -- quota ------------------------------------------------------------------------------

    def quota_used(self) -> int:
        """Trading calls counted against today's quota."""
        with self.lock:
            return self._quota_used[self._quota_day()]

    def _quota_day(self) -> date:
        return self.clock().astimezone(self.quota_timezone).date()

    def _spend_quota(self) -> bool:
        with self.lock:
            day = self._quota_day()
            if self.daily_call_quota is not None and self._quota_used[day] >= self.daily_call_quota:
                return False
            self._quota_used[day] += 1
            return True

    # -- notifications ----------------------------------------------------------------------

    def _transaction_notification(
        self, order: XmlOrder, event: str
    ) -> tuple[dict[str, str], bytes]:
        now = self.clock()
        root, _ = envelope("GetItemTransactions", now)
        sub(root, "CorrelationID", str(uuid.uuid4()))
        finish(root)
        sub(root, "NotificationEventName", event)
        sub(root, "RecipientUserID", self.SELLER)
        result = sub(root, "PaginationResult")
        sub(result, "TotalNumberOfPages", 1)
        sub(result, "TotalNumberOfEntries", 1)
        sub(root, "HasMoreTransactions", "false")
        sub(root, "TransactionsPerPage", 100)
        sub(root, "PageNumber", 1)
        sub(root, "ReturnedTransactionCountActual", 1)
        txn = order.element.find("TransactionArray/Transaction")
        assert txn is not None
        item_id = txn.findtext("Item/ItemID") or ""
        if item_id in self.listings or any(o.listing_id == item_id for o in self.offers.values()):
            root.append(self.item_element(item_id))
        array = sub(root, "TransactionArray")
        copy_txn = copy.deepcopy(txn)
        item_el = copy_txn.find("Item")
        if item_el is not None:
            copy_txn.remove(item_el)
        containing = sub(copy_txn, "ContainingOrder")
        for tag in ("OrderID", "OrderStatus", "CancelStatus"):
            value = order.element.findtext(tag)
            if value:
                sub(containing, tag, value)
        paid = order.element.findtext("PaidTime")
        if paid:
            sub(copy_txn, "PaidTime", paid)
        array.append(copy_txn)
        stamp = root.findtext("Timestamp") or format_time(now)
        signature = platform_signature(stamp, self.DEV_ID, self.APP_ID, self.CERT_ID)
        inner = serialize(root).decode("utf-8").split("?>", 1)[1].strip()
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
            ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<soapenv:Header>"
            '<ebl:RequesterCredentials soapenv:mustUnderstand="0"'
            f' xmlns:ns="{EBAY_NS}" xmlns:ebl="{EBAY_NS}">'
            f'<ebl:NotificationSignature xmlns:ebl="{EBAY_NS}">{signature}'
            "</ebl:NotificationSignature></ebl:RequesterCredentials></soapenv:Header>"
            f"<soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
        )
        headers = {
            "Content-Type": 'text/xml; charset="utf-8"',
            "SOAPAction": f'"https://developer.ebay.com/notification/{event}"',
        }
        return headers, body.encode("utf-8")

    def platform_notification(
        self, order_id: str, event: str = "FixedPriceTransaction"
    ) -> tuple[dict[str, str], bytes]:
        """A signed Platform Notification (SOAP) about ``order_id``'s first transaction."""
        with self.lock:
            return self._transaction_notification(self.orders[order_id], event)

    def deletion_notification(
        self, username: str, user_id: str, *, eias_token: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """A signed MARKETPLACE_ACCOUNT_DELETION push notification (headers, body)."""
        now = self.clock()
        message = {
            "metadata": {
                "topic": "MARKETPLACE_ACCOUNT_DELETION",
                "schemaVersion": "1.0",
                "deprecated": False,
            },
            "notification": {
                "notificationId": f"{uuid.uuid4()}_{uuid.uuid4()}",
                "eventDate": format_time(now),
                "publishDate": format_time(now),
                "publishAttemptCount": 1,
                "data": {
                    "username": username,
                    "userId": user_id,
                    "eiasToken": eias_token or base64.b64encode(user_id.encode()).decode(),
                },
            },
        }
        body = json.dumps(message, separators=(",", ":")).encode()
        signature = self._signing_key.sign(body, ec.ECDSA(hashes.SHA1()))  # noqa: S303
        header = {
            "alg": "ecdsa",
            "kid": self.key_id,
            "signature": base64.b64encode(signature).decode(),
            "digest": "SHA1",
        }
        headers = {
            "Content-Type": "application/json",
            "X-EBAY-SIGNATURE": base64.b64encode(json.dumps(header).encode()).decode(),
        }
        return headers, body

    def send_account_deletion(self, username: str, user_id: str) -> None:
        """Push a signed account deletion to every subscriber."""
        headers, body = self.deletion_notification(username, user_id)
        self.send_webhook("MARKETPLACE_ACCOUNT_DELETION", headers, body)

    def public_key_pem(self) -> str:
        """The signing key as getPublicKey returns it (one line, no newlines)."""
        der = self._signing_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return (
            "-----BEGIN PUBLIC KEY-----"
            + base64.b64encode(der).decode()
            + "-----END PUBLIC KEY-----"
        )

    def challenge(
        self,
        target: str | Callable[[Mapping[str, str], bytes], list[WebhookEvent]],
        *,
        endpoint_url: str | None = None,
    ) -> bool:
        """Check an account deletion endpoint as eBay does: GET ``?challenge_code=`` and
        compare ``challengeResponse`` with SHA-256(code + verification token + endpoint).

        ``target`` is a URL, or a ``parse_webhook``-like callable that gets the query in
        ``X-Channelsync-Query``.
        """
        code = secrets.token_hex(16)
        endpoint = endpoint_url or self.DELETION_ENDPOINT
        expected = challenge_response(code, self.VERIFICATION_TOKEN, endpoint)
        if isinstance(target, str):
            answer = httpx.get(target, params={"challenge_code": code}, timeout=10.0)
            if answer.status_code != 200:
                return False
            body = answer.json()
        else:
            events = target({QUERY_HEADER: f"challenge_code={code}"}, b"")
            if not events or events[0].response is None:
                return False
            body = json.loads(events[0].response)
        return isinstance(body, dict) and body.get("challengeResponse") == expected

    # -- HTTP -------------------------------------------------------------------------------

    def operation_for(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> str:
        """The Trading call name, or the REST operationId."""
        if path == TRADING_PATH:
            return headers.get("x-ebay-api-call-name") or "TradingUnknown"
        return _rest.operation_for(method, path)

    def fault_response(self, kind: FaultKind, operation: str) -> tuple[int, dict[str, str], bytes]:
        """eBay's own shapes: Trading error 518 / 10007; REST 429 errorId 2001 / 500."""
        now = self.clock()
        if operation in HANDLERS or operation == "TradingUnknown":
            if kind == "throttle":
                fault = TradingFault(
                    "518",
                    "Call usage limit has been reached.",
                    "Your application has exceeded usage limit on this call, please make call"
                    " to Developer Analytics API to check your call usage.",
                )
            else:
                fault = TradingFault(
                    "10007",
                    "Internal error to the application.",
                    "Internal error to the application.",
                    classification="SystemError",
                )
            return 200, dict(_XML), fault_document(operation, now, fault)
        return _rest.fault_response(kind, operation)

    def build_app(self) -> Any:
        """The Trading endpoint and the REST routes."""
        return Starlette(
            routes=[Route(TRADING_PATH, self._trading, methods=["POST"]), *_rest.routes(self)]
        )

    async def _trading(self, request: Request) -> Response:
        body = await request.body()
        call = request.headers.get("x-ebay-api-call-name", "")
        now = self.clock()
        try:
            document = self._trading_call(call, request.headers, body, request.scope, now)
        except TradingFault as fault:
            document = fault_document(call or "Unknown", now, fault)
        return Response(document, status_code=200, headers=_XML)

    def _trading_call(
        self,
        call: str,
        headers: Mapping[str, str],
        body: bytes,
        scope: Any,
        now: datetime,
    ) -> bytes:
        handler = HANDLERS.get(call)
        if handler is None:
            raise TradingFault(
                "2",
                "Unsupported API call.",
                f'The API call "{call}" is invalid or not supported in this release.',
            )
        for name in ("x-ebay-api-siteid", "x-ebay-api-compatibility-level"):
            if not (headers.get(name) or "").strip().lstrip("-").isdigit():
                raise TradingFault(
                    "37", "Input data is invalid.", f"Header {name.upper()} is missing or invalid."
                )
        if headers.get("x-ebay-api-app-name") != self.APP_ID:
            raise TradingFault("931", "Auth token is invalid.", "Unknown application (App ID).")
        try:
            request = parse_xml(body)
        except ValueError:
            raise TradingFault(
                "5", "XML Parse error.", "XML Error Text: the request is not well-formed."
            ) from None
        if request.tag != f"{call}Request":
            raise TradingFault("5", "XML Parse error.", f"Expected <{call}Request>.")
        self._authenticate(headers, request)
        if not self._spend_quota():
            raise TradingFault(
                "518",
                "Call usage limit has been reached.",
                "Your application has exceeded usage limit on this call, please make call to"
                " Developer Analytics API to check your call usage.",
            )
        state = request_state(scope)
        if call == "ReviseInventoryStatus":
            state.items = len(request.findall("InventoryStatus"))
            if not self._spend_revise_call():
                # eBay documents the limit (6,000 calls per seller in any 15 s) and that the
                # application is then blocked, not a code of its own: the call usage code.
                raise TradingFault(
                    "518",
                    "Call usage limit has been reached.",
                    f"More than {self.revise_burst} ReviseInventoryStatus calls for this seller"
                    f" within {self.revise_window:.0f} seconds.",
                )
        return handler(self, request, now)

    def _authenticate(self, headers: Mapping[str, str], request: etree._Element) -> None:
        iaf = headers.get("x-ebay-api-iaf-token")
        if iaf:
            state = self.token_state(iaf)
            if state == "expired":
                raise TradingFault(
                    "21917053", "IAF token expired.", "The OAuth access token has expired."
                )
            if state != "valid":
                raise TradingFault(
                    "21916984", "Invalid IAF token.", "IAF token supplied is invalid."
                )
            return
        token = (request.findtext("RequesterCredentials/eBayAuthToken") or "").strip()
        if token != self.AUTH_N_AUTH_TOKEN:
            raise TradingFault(
                "931",
                "Auth token is invalid.",
                "Validation of the authentication token in API request failed.",
            )

    # -- REST support ---------------------------------------------------------------------

    def next_fulfillment_id(self) -> str:
        """A new shipping fulfillment id."""
        return f"{next(self._fulfillment_ids):012d}"


def _set(el: etree._Element, path: str, text: str) -> None:
    node = el.find(path)
    if node is None:
        parent_path, _, tag = path.rpartition("/")
        parent = el.find(parent_path) if parent_path else el
        if parent is None:
            parent = sub(el, parent_path)
        node = sub(parent, tag)
    node.text = text


def _not_found(keys: list[str]) -> TradingFault:
    return TradingFault(
        "17",
        "Item cannot be accessed.",
        "This item cannot be accessed because the listing has been deleted, is a Half.com"
        " listing, or you are not the seller.",
        params=keys,
    )


def _inventory_model_fault(keys: list[str]) -> TradingFault:
    # eBay documents the rule (Inventory API listings cannot be revised through Trading)
    # without an error code; 240 is Trading's generic "cannot be listed or modified".
    return TradingFault(
        "240",
        "The item cannot be listed or modified.",
        "This listing was created with the Inventory API and can only be revised through"
        " the Inventory API.",
        params=keys,
    )


def _order_element(
    *,
    order_id: str,
    item_id: str,
    txn_id: str,
    sku: str,
    title: str,
    variation: str | None,
    qty: int,
    unit: Decimal,
    currency: str,
    now: datetime,
    paid: bool,
    record: int,
) -> etree._Element:
    shipping = Decimal("4.99")
    subtotal = unit * qty
    total = subtotal + shipping
    stamp = format_time(now)
    order = etree.Element("Order")
    sub(order, "OrderID", order_id)
    sub(order, "OrderStatus", "Completed" if paid else "Active")
    amount(order, "AdjustmentAmount", Decimal(0), currency)
    amount(order, "AmountPaid", total if paid else Decimal(0), currency)
    amount(order, "AmountSaved", Decimal(0), currency)
    checkout = sub(order, "CheckoutStatus")
    sub(checkout, "eBayPaymentStatus", "NoPaymentFailure")
    sub(checkout, "LastModifiedTime", stamp)
    sub(checkout, "PaymentMethod", "CreditCard" if paid else "None")
    sub(checkout, "Status", "Complete" if paid else "Incomplete")
    sub(checkout, "IntegratedMerchantCreditCardEnabled", "false")
    details = sub(order, "ShippingDetails")
    sub(details, "SellingManagerSalesRecordNumber", record)
    sub(order, "CreatedTime", stamp)
    sub(order, "PaymentMethods", "CreditCard")
    address = sub(order, "ShippingAddress")
    sub(address, "Name", "Erika Mustermann")
    sub(address, "Street1", "Heidestraße 17")
    sub(address, "Street2", "")
    sub(address, "CityName", "Köln")
    sub(address, "StateOrProvince", "Nordrhein-Westfalen")
    sub(address, "Country", "DE")
    sub(address, "CountryName", "Deutschland")
    sub(address, "Phone", "Invalid Request")
    sub(address, "PostalCode", "51147")
    sub(address, "AddressOwner", "eBay")
    service = sub(order, "ShippingServiceSelected")
    sub(service, "ShippingService", "DE_DHLPaket")
    amount(service, "ShippingServiceCost", shipping, currency)
    amount(order, "Subtotal", subtotal, currency)
    amount(order, "Total", total, currency)
    txns = sub(order, "TransactionArray")
    txn = sub(txns, "Transaction")
    buyer = sub(txn, "Buyer")
    sub(buyer, "Email", "Invalid Request")
    sub(buyer, "UserFirstName", "Erika")
    sub(buyer, "UserLastName", "Mustermann")
    tdetails = sub(txn, "ShippingDetails")
    sub(tdetails, "SellingManagerSalesRecordNumber", record)
    sub(txn, "CreatedDate", stamp)
    item = sub(txn, "Item")
    sub(item, "ItemID", item_id)
    sub(item, "Site", "Germany")
    sub(item, "Title", title)
    if variation is None:
        sub(item, "SKU", sku)
    sub(txn, "QuantityPurchased", qty)
    status = sub(txn, "Status")
    sub(status, "PaymentHoldStatus", "None")
    sub(status, "InquiryStatus", "NotApplicable")
    sub(status, "ReturnStatus", "NotApplicable")
    sub(txn, "TransactionID", txn_id)
    amount(txn, "TransactionPrice", unit, currency)
    if variation is not None:
        var = sub(txn, "Variation")
        sub(var, "SKU", sku)
        sub(var, "VariationTitle", variation)
    sub(txn, "OrderLineItemID", f"{item_id}-{txn_id}")
    sub(order, "BuyerUserID", f"buyer_{record:04d}")
    if paid:
        sub(order, "PaidTime", stamp)
    sub(order, "CancelStatus", "NotApplicable")
    return order
