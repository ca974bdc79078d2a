"""The Shopify fake's shop: locations, products, variants, inventory, orders, and the
GraphQL resolvers that read and change them.

Orders are kept in Shopify's REST order JSON (the shape ``seed_order`` takes and the
``orders/*`` webhooks send) and rendered as GraphQL ``Order`` objects on demand, so one
record answers both. An order has a fulfillment order per location it was assigned to
(``assignedLocation``): one, or several when no location had every unit and Shopify's
routing split a line. Quantities are per inventory item and location: ``available``,
``committed`` (units of unfulfilled orders assigned there) and ``on_hand``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, StringValueNode, VariableNode

from channelsync.sandbox.shopify.aftersale import ShopAfterSale
from channelsync.sandbox.shopify.schema import Flavour

__all__ = ["ShopState"]

MAX_PAGE = 250
QUANTITY_NAMES = (
    "available",
    "on_hand",
    "committed",
    "incoming",
    "reserved",
    "damaged",
    "safety_stock",
    "quality_control",
)
#: The reasons ``inventorySetQuantities`` accepts.
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
_TERM = re.compile(r"(\w+):(>=|<=|>|<|=)?'?\"?([^'\"\s]+)'?\"?")

Notify = Callable[[str, dict[str, Any]], None]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _num(gid: str | int | None, kind: str | None = None) -> str | None:
    """The numeric id of a GID of ``kind`` (None when it is not one)."""
    if gid is None:
        return None
    text = str(gid)
    if not text.startswith("gid://shopify/"):
        return text if text.isdigit() else None
    kind_part, _, rest = text.removeprefix("gid://shopify/").partition("/")
    if kind is not None and kind_part != kind:
        return None
    number = rest.split("?", 1)[0]
    return number if number.isdigit() else None


def _money(amount: Any, currency: str) -> dict[str, Any]:
    return {"amount": str(amount), "currencyCode": currency}


def _bag(money_set: Mapping[str, Any] | None, amount: Any, currency: str) -> dict[str, Any]:
    if money_set:
        shop = money_set.get("shop_money") or {}
        pres = money_set.get("presentment_money") or shop
        return {
            "shopMoney": _money(shop.get("amount", "0.00"), shop.get("currency_code", currency)),
            "presentmentMoney": _money(
                pres.get("amount", "0.00"), pres.get("currency_code", currency)
            ),
        }
    value = amount if amount is not None else "0.00"
    return {"shopMoney": _money(value, currency), "presentmentMoney": _money(value, currency)}


def _rest_set(amount: Decimal, currency: str) -> dict[str, Any]:
    money = {"amount": f"{amount:.2f}", "currency_code": currency}
    return {"shop_money": dict(money), "presentment_money": dict(money)}


def _digits(value: Any) -> int:
    """A stable numeric id for a value without one (addresses)."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
    return int(digest[:10], 16)


def _cursor(key: tuple[Any, ...]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode()


def _uncursor(cursor: str) -> tuple[Any, ...]:
    try:
        return tuple(json.loads(base64.urlsafe_b64decode(cursor.encode())))
    except (ValueError, TypeError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from exc


def connection(
    items: Iterable[Any],
    *,
    key: Callable[[Any], tuple[Any, ...]],
    render: Callable[[Any], dict[str, Any]],
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool = False,
) -> dict[str, Any]:
    """A Relay connection page over ``items`` in ``key`` order, as Shopify pages."""
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    size = first if first is not None else last
    assert size is not None
    if size < 0 or size > MAX_PAGE:
        raise GraphQLError(f"The page size must be between 0 and {MAX_PAGE} (got {size}).")
    ordered = sorted(items, key=key, reverse=reverse)
    if after is not None:
        mark = _uncursor(after)
        ordered = [
            x for x in ordered if (tuple(key(x)) < mark if reverse else tuple(key(x)) > mark)
        ]
    if before is not None:
        mark = _uncursor(before)
        ordered = [
            x for x in ordered if (tuple(key(x)) > mark if reverse else tuple(key(x)) < mark)
        ]
    if first is not None:
        page, more, earlier = ordered[:size], len(ordered) > size, after is not None
    else:
        page, more, earlier = (
            ordered[-size:] if size else [],
            before is not None,
            len(ordered) > size,
        )
    cursors = [_cursor(key(x)) for x in page]
    rendered: list[dict[str, Any]] | None = None

    def nodes(_info: Any = None) -> list[dict[str, Any]]:
        nonlocal rendered
        if rendered is None:
            rendered = [render(x) for x in page]
        return rendered

    return {
        "nodes": nodes,
        "edges": lambda _info: [
            {"cursor": c, "node": n} for c, n in zip(cursors, nodes(), strict=True)
        ],
        "pageInfo": {
            "hasNextPage": more if first is not None else earlier,
            "hasPreviousPage": earlier if first is not None else more,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


@dataclass
class Location:
    """A location of the shop."""

    number: int
    name: str
    active: bool = True

    @property
    def gid(self) -> str:
        """Its GID."""
        return f"gid://shopify/Location/{self.number}"


@dataclass
class Level:
    """The quantities of one inventory item at one location."""

    available: int
    on_hand: int
    updated_at: datetime
    committed: int = 0
    """Units of unfulfilled orders (``on_hand = available + committed``), as Shopify keeps
    them from checkout until fulfilment or cancellation."""


@dataclass
class Item:
    """An inventory item (one per variant)."""

    number: int
    variant: int
    tracked: bool = True
    levels: dict[str, Level] = field(default_factory=dict)

    @property
    def gid(self) -> str:
        """Its GID."""
        return f"gid://shopify/InventoryItem/{self.number}"


@dataclass
class Variant:
    """A product variant."""

    number: int
    product: int
    sku: str | None
    title: str
    price: Decimal
    item: int

    @property
    def gid(self) -> str:
        """Its GID."""
        return f"gid://shopify/ProductVariant/{self.number}"


@dataclass
class Product:
    """A product."""

    number: int
    title: str
    variants: list[int] = field(default_factory=list)

    @property
    def gid(self) -> str:
        """Its GID."""
        return f"gid://shopify/Product/{self.number}"


@dataclass
class FoLine:
    """One line of a fulfillment order: an order line, or its share at this location."""

    number: int
    line_id: str
    share: int | None = None
    """Units of the order line assigned to this fulfillment order when Shopify split the
    line over several locations; None: the whole line is here."""
    fulfilled: int = 0
    """Units of the share fulfilled from this fulfillment order (split lines only)."""


@dataclass
class FulfillmentOrder:
    """A fulfillment order of an order: its lines (or shares of them) at one location."""

    number: int
    order: str
    location: str
    lines: list[FoLine]

    @property
    def gid(self) -> str:
        """Its GID."""
        return f"gid://shopify/FulfillmentOrder/{self.number}"


@dataclass
class Job:
    """An asynchronous job (order cancellation)."""

    gid: str
    due: float
    finish: Callable[[], None]
    done: bool = False


class ShopState:
    """Everything the fake shop holds, behind the fake's lock (callers hold it)."""

    def __init__(
        self,
        *,
        shop: str,
        currency: str,
        clock: Callable[[], datetime],
        notify: Notify,
        cancel_delay: float = 0.05,
    ) -> None:
        self.shop = shop
        self.currency = currency
        self.clock = clock
        self.notify = notify
        self.cancel_delay = cancel_delay
        self._numbers = itertools.count(1_000_001)
        self._order_numbers = itertools.count(1001)
        self.locations: dict[str, Location] = {}
        self.primary = self.add_location("Shop location")
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self.items: dict[int, Item] = {}
        self.by_sku: dict[str, int] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.order_location: dict[str, str] = {}
        self.fulfillment_orders: dict[str, list[FulfillmentOrder]] = {}
        self.jobs: dict[str, Job] = {}
        self.idempotency: dict[str, tuple[str, dict[str, Any]]] = {}
        self.partial_failure: Callable[[str], bool] = lambda _op: False
        self.commit_unfulfilled = True
        """Checkout moves units from ``available`` to ``committed`` until fulfilment, as
        Shopify does (False: ``committed`` reads 0, as the fake once had it)."""
        self.aftersale = ShopAfterSale(self)
        self._last_stamp = datetime.min.replace(tzinfo=UTC)

    def next_id(self) -> int:
        """A fresh numeric id."""
        return next(self._numbers)

    def stamp(self) -> datetime:
        """Now, to the second as Shopify keeps it, never before the previous stamp."""
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        self._last_stamp = max(now, self._last_stamp)
        return self._last_stamp

    # -- catalogue -------------------------------------------------------------------------

    def add_location(self, name: str) -> Location:
        """Create a location."""
        if not name.strip():
            raise ValueError("a location needs a name")
        if any(loc.name == name for loc in self.locations.values()):
            raise ValueError(f"the shop already has a location named {name!r}")
        location = Location(self.next_id() if self.locations else 1, name)
        self.locations[location.gid] = location
        return location

    def find_location(self, ref: str) -> Location:
        """The location a GID, a numeric id or a name names (``ValueError`` when none)."""
        text = str(ref)
        number = _num(text, "Location")
        if number is not None:
            found = self.locations.get(f"gid://shopify/Location/{number}")
            if found is not None:
                return found
        for location in self.locations.values():
            if location.name == text:
                return location
        known = ", ".join(f"{loc.name} ({loc.gid})" for loc in self.locations.values())
        raise ValueError(f"no location {ref!r} in the Shopify fake (it has {known})")

    def seed_listing(
        self,
        sku: str,
        *,
        quantity: int,
        price: Decimal,
        title: str | None,
        tracked: bool = True,
        location: str | None = None,
    ) -> Variant:
        """Create (or update) a product with one variant of ``sku``, stocked at a location.

        Seeding an existing SKU at another location stocks it there too (its other levels
        stay); at a location where it is stocked, the level is set anew.
        """
        where = self.find_location(location).gid if location else self.primary.gid
        existing = self.by_sku.get(sku)
        now = self.stamp()
        if existing is not None:
            variant = self.variants[existing]
            variant.price = price
            if title is not None:
                self.products[variant.product].title = title
            item = self.items[variant.item]
            item.tracked = tracked
            item.levels[where] = Level(quantity, quantity, now)
            return variant
        product = Product(self.next_id(), title or sku)
        item = Item(self.next_id(), 0, tracked=tracked)
        variant = Variant(self.next_id(), product.number, sku, "Default Title", price, item.number)
        item.variant = variant.number
        item.levels[where] = Level(quantity, quantity, now)
        product.variants.append(variant.number)
        self.products[product.number] = product
        self.items[item.number] = item
        self.variants[variant.number] = variant
        self.by_sku[sku] = variant.number
        return variant

    def level(self, sku: str, location: str | None = None) -> Level | None:
        """The level of ``sku`` at a location (default the primary one)."""
        item = self.item_of(sku)
        if item is None:
            return None
        where = self.find_location(location).gid if location else self.primary.gid
        return item.levels.get(where)

    def item_of(self, sku: str) -> Item | None:
        """The inventory item of ``sku`` (None: no such variant)."""
        number = self.by_sku.get(sku)
        return self.items[self.variants[number].item] if number is not None else None

    def stocked(self, item: Item) -> list[Location]:
        """The locations ``item`` is stocked at, in the order they were created."""
        return [loc for loc in self.locations.values() if loc.gid in item.levels]

    def route(self, sku: str, qty: int, location: str | Mapping[str, int] | None) -> dict[str, int]:
        """Which locations an order of ``qty`` x ``sku`` is assigned to, and how many units each.

        ``location``: one location (every unit there), a split (location -> units), or None
        for Shopify's routing: the primary location when it can fulfil every unit, else the
        first location that can, else the units split over the stocked locations in turn.
        A tracked item is assigned only where it is stocked with enough ``available``.
        """
        item = self.item_of(sku)
        if item is None:
            raise ValueError(f"no listing with SKU {sku!r} in the Shopify fake")
        stocked = self.stocked(item)
        if isinstance(location, Mapping):
            split: dict[str, int] = {}
            for ref, units in location.items():
                gid = self.find_location(ref).gid
                split[gid] = split.get(gid, 0) + int(units)
            if any(units < 1 for units in split.values()) or sum(split.values()) != qty:
                raise ValueError(f"a split of {qty} unit(s) must give each location at least one")
        elif location is not None:
            split = {self.find_location(location).gid: qty}
        elif not item.tracked or not stocked:
            where = self.primary if self.primary in stocked or not stocked else stocked[0]
            split = {where.gid: qty}
        else:
            total = sum(max(0, item.levels[loc.gid].available) for loc in stocked)
            if total < qty:
                raise ValueError(f"{sku}: only {total} available; Shopify's checkout refuses {qty}")
            whole = [loc for loc in stocked if item.levels[loc.gid].available >= qty]
            if whole:
                where = self.primary if self.primary in whole else whole[0]
                split = {where.gid: qty}
            else:
                split, left = {}, qty
                for loc in stocked:
                    take = min(left, max(0, item.levels[loc.gid].available))
                    if take:
                        split[loc.gid] = take
                        left -= take
        if item.tracked:
            for gid, units in split.items():
                level = item.levels.get(gid)
                name = self.locations[gid].name
                if level is None:
                    raise ValueError(f"{sku} is not stocked at {name}; Shopify cannot assign it")
                if level.available < units:
                    raise ValueError(
                        f"{sku}: only {level.available} available at {name};"
                        f" Shopify's checkout refuses {units} there"
                    )
        return split

    # -- orders -----------------------------------------------------------------------------

    def store_order(
        self,
        order: Mapping[str, Any],
        location: str | None = None,
        shares: Mapping[str, Mapping[str, int]] | None = None,
    ) -> str:
        """Keep a REST-shaped order (filling what Shopify always sets); returns its id.

        Its lines are assigned to ``location`` (default the primary one), except lines
        ``shares`` splits (order line id -> location GID -> units): one fulfillment order
        per location.
        """
        record = copy.deepcopy(dict(order))
        if "id" not in record or record["id"] in (None, ""):
            record["id"] = self.next_id()
        order_id = str(record["id"])
        record.setdefault("admin_graphql_api_id", f"gid://shopify/Order/{order_id}")
        now = self.stamp()
        record.setdefault("created_at", _iso(now))
        record.setdefault("updated_at", record["created_at"])
        record.setdefault("name", f"#{next(self._order_numbers)}")
        record.setdefault("currency", self.currency)
        record.setdefault("presentment_currency", record["currency"])
        record.setdefault("financial_status", "paid")
        record.setdefault("fulfillment_status", None)
        record.setdefault("cancelled_at", None)
        for key in ("line_items", "fulfillments", "refunds"):
            record.setdefault(key, [])
        shipped: dict[str, int] = {}
        for f in record["fulfillments"]:
            if (f.get("status") or "success").lower() == "success":
                for li in f.get("line_items") or []:
                    shipped[str(li["id"])] = shipped.get(str(li["id"]), 0) + int(li["quantity"])
        returned: dict[str, int] = {}
        for r in record["refunds"]:
            for rl in r.get("refund_line_items") or []:
                if (rl.get("restock_type") or "") == "return":
                    key = str(rl["line_item_id"])
                    returned[key] = returned.get(key, 0) + int(rl["quantity"])
        for line in record["line_items"]:
            line.setdefault("id", self.next_id())
            line.setdefault("current_quantity", line["quantity"])
            # Units still to ship: what remains after removals, less what shipped and was
            # not itself refunded (a returned unit left the order after it shipped).
            key = str(line["id"])
            line.setdefault(
                "fulfillable_quantity",
                max(0, line["current_quantity"] - shipped.get(key, 0) + returned.get(key, 0)),
            )
            line.setdefault("title", line.get("name") or line.get("sku") or "Custom item")
            line.setdefault("name", line["title"])
        self.orders[order_id] = record
        default = self.find_location(location).gid if location else self.primary.gid
        by_location: dict[str, list[FoLine]] = {}
        for line in record["line_items"]:
            key = str(line["id"])
            split = dict((shares or {}).get(key) or {default: 0})
            for where, units in split.items():
                share = units if len(split) > 1 else None
                by_location.setdefault(where, []).append(FoLine(self.next_id(), key, share))
        if not by_location:
            by_location[default] = []
        self.order_location[order_id] = next(iter(by_location))
        self.fulfillment_orders[order_id] = [
            FulfillmentOrder(self.next_id(), order_id, where, lines)
            for where, lines in by_location.items()
        ]
        return order_id

    def place_order(
        self, sku: str, qty: int, location: str | Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        """A buyer checks out ``qty`` of ``sku``: ``available`` drops (and ``committed``
        rises) at the locations the order is assigned to (``route``)."""
        if qty < 1:
            raise ValueError("qty must be at least 1")
        split = self.route(sku, qty, location)
        variant = self.variants[self.by_sku[sku]]
        item = self.items[variant.item]
        if item.tracked:
            for where, units in split.items():
                level = item.levels[where]
                level.available -= units
                if self.commit_unfulfilled:
                    level.committed += units
                level.updated_at = self.stamp()
        product = self.products[variant.product]
        total = variant.price * qty
        line_id = self.next_id()
        now = _iso(self.stamp())
        order: dict[str, Any] = {
            "created_at": now,
            "updated_at": now,
            "processed_at": now,
            "financial_status": "paid",
            "email": "buyer@example.com",
            "contact_email": "buyer@example.com",
            "total_price": f"{total:.2f}",
            "total_price_set": _rest_set(total, self.currency),
            "subtotal_price": f"{total:.2f}",
            "subtotal_price_set": _rest_set(total, self.currency),
            "total_tax_set": _rest_set(Decimal(0), self.currency),
            "total_discounts_set": _rest_set(Decimal(0), self.currency),
            "total_shipping_price_set": _rest_set(Decimal(0), self.currency),
            "tags": "",
            "customer": {
                "id": 207119551,
                "email": "buyer@example.com",
                "first_name": "Sandbox",
                "last_name": "Buyer",
                "admin_graphql_api_id": "gid://shopify/Customer/207119551",
            },
            "shipping_address": {
                "first_name": "Sandbox",
                "last_name": "Buyer",
                "name": "Sandbox Buyer",
                "address1": "Chestnut Street 92",
                "city": "Louisville",
                "zip": "40202",
                "province": "Kentucky",
                "province_code": "KY",
                "country": "United States",
                "country_code": "US",
            },
            "line_items": [
                {
                    "id": line_id,
                    "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                    "variant_id": variant.number,
                    "product_id": product.number,
                    "sku": sku,
                    "title": product.title,
                    "name": product.title,
                    "variant_title": None,
                    "quantity": qty,
                    "current_quantity": qty,
                    "fulfillable_quantity": qty,
                    "fulfillment_status": None,
                    "price": f"{variant.price:.2f}",
                    "price_set": _rest_set(variant.price, self.currency),
                    "discount_allocations": [],
                    "tax_lines": [],
                }
            ],
        }
        order_id = self.store_order(order, location=next(iter(split)), shares={str(line_id): split})
        return self.orders[order_id]

    def touch(self, order: dict[str, Any]) -> None:
        """Mark an order changed now."""
        order["updated_at"] = _iso(self.stamp())

    def settle_jobs(self) -> None:
        """Finish asynchronous jobs whose time has come."""
        now = time.monotonic()
        for job in list(self.jobs.values()):
            if not job.done and now >= job.due:
                job.done = True
                job.finish()

    # -- rendering (REST record -> GraphQL object) -------------------------------------------

    def fo_remaining(self, fo: FulfillmentOrder, fo_line: FoLine) -> int:
        """Units of a fulfillment-order line still to fulfil.

        A whole line's are the order line's ``fulfillable_quantity``. A split line's
        fulfillable units are shared out over its fulfillment orders in turn, each up to
        its share less what was fulfilled from it.
        """
        order = self.orders[fo.order]
        line = self._line(order, fo_line.line_id)
        fulfillable = int((line or {}).get("fulfillable_quantity", 0) or 0)
        if fo_line.share is None:
            return fulfillable
        left = fulfillable
        for other in self.fulfillment_orders.get(fo.order, []):
            for part in other.lines:
                if part.line_id != fo_line.line_id or part.share is None:
                    continue
                take = min(left, max(0, part.share - part.fulfilled))
                if part is fo_line:
                    return take
                left -= take
        return 0

    def fo_total(self, fo: FulfillmentOrder, fo_line: FoLine) -> int:
        """``totalQuantity`` of a fulfillment-order line."""
        if fo_line.share is not None:
            return fo_line.share
        line = self._line(self.orders[fo.order], fo_line.line_id) or {}
        return int(line.get("current_quantity", line.get("quantity", 0)) or 0)

    def line_location(self, order_id: str, line_id: str) -> str:
        """The location holding most units of an order line (where it restocks)."""
        best: tuple[int, str] | None = None
        for fo in self.fulfillment_orders.get(order_id, []):
            for fo_line in fo.lines:
                if fo_line.line_id == line_id:
                    units = self.fo_total(fo, fo_line)
                    if best is None or units > best[0]:
                        best = (units, fo.location)
        return best[1] if best else self.order_location.get(order_id, self.primary.gid)

    def _line(self, order: Mapping[str, Any], line_id: str) -> dict[str, Any] | None:
        return next((ln for ln in order["line_items"] if str(ln["id"]) == line_id), None)

    def render_line(self, line: Mapping[str, Any], currency: str) -> dict[str, Any]:
        """A GraphQL ``LineItem``."""
        discount = sum(
            (
                Decimal(
                    str(
                        (d.get("amount_set") or {}).get("shop_money", {}).get("amount")
                        or d.get("amount")
                        or 0
                    )
                )
                for d in line.get("discount_allocations") or []
            ),
            Decimal(0),
        )
        variant_number = line.get("variant_id")
        variant = self.variants.get(int(variant_number)) if variant_number else None
        return {
            "id": line.get("admin_graphql_api_id") or f"gid://shopify/LineItem/{line['id']}",
            "sku": line.get("sku") or None,
            "title": line.get("title") or "",
            "name": line.get("name") or line.get("title") or "",
            "variantTitle": line.get("variant_title"),
            "quantity": line["quantity"],
            "currentQuantity": line.get("current_quantity", line["quantity"]),
            "unfulfilledQuantity": line.get("fulfillable_quantity", 0) or 0,
            "originalUnitPriceSet": _bag(line.get("price_set"), line.get("price"), currency),
            "totalDiscountSet": _bag(None, f"{discount:.2f}", currency),
            "variant": (lambda _info: self.render_variant(variant)) if variant else None,
        }

    def render_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """A GraphQL ``Order`` of a REST record."""
        currency = order.get("currency") or self.currency
        order_id = str(order["id"])
        fulfillment = (order.get("fulfillment_status") or "unfulfilled").lower()
        display_fulfillment = {
            "partial": "PARTIALLY_FULFILLED",
            "fulfilled": "FULFILLED",
            "restocked": "RESTOCKED",
        }.get(fulfillment, "UNFULFILLED")
        customer = order.get("customer")

        def address(addr: Mapping[str, Any] | None) -> dict[str, Any] | None:
            if not addr:
                return None
            return {
                "id": f"gid://shopify/MailingAddress/{_digits(addr)}",
                "name": addr.get("name"),
                "firstName": addr.get("first_name"),
                "lastName": addr.get("last_name"),
                "company": addr.get("company"),
                "address1": addr.get("address1"),
                "address2": addr.get("address2"),
                "city": addr.get("city"),
                "zip": addr.get("zip"),
                "province": addr.get("province"),
                "provinceCode": addr.get("province_code"),
                "country": addr.get("country"),
                "countryCodeV2": addr.get("country_code"),
                "phone": addr.get("phone"),
            }

        line_items = listed(order["line_items"], lambda pair: self.render_line(pair[1], currency))

        def fulfillments(_info: Any, first: int | None = None) -> list[dict[str, Any]]:
            out = []
            for f in order.get("fulfillments") or []:
                tracking = []
                numbers = f.get("tracking_numbers") or (
                    [f["tracking_number"]] if f.get("tracking_number") else []
                )
                urls = f.get("tracking_urls") or (
                    [f["tracking_url"]] if f.get("tracking_url") else []
                )
                for n, number in enumerate(numbers or [None]):
                    if number is None and not f.get("tracking_company"):
                        continue
                    tracking.append(
                        {
                            "company": f.get("tracking_company"),
                            "number": number,
                            "url": urls[n] if n < len(urls) else None,
                        }
                    )
                created = _iso(_parse_time(f.get("created_at")))
                out.append(
                    {
                        "id": f.get("admin_graphql_api_id")
                        or f"gid://shopify/Fulfillment/{f['id']}",
                        "status": (f.get("status") or "success").upper(),
                        "createdAt": created,
                        "updatedAt": _iso(_parse_time(f.get("updated_at"))) or created,
                        "name": f.get("name") or f"{order.get('name')}.1",
                        "totalQuantity": sum(
                            int(li.get("quantity", 0)) for li in f.get("line_items") or []
                        ),
                        "location": self._fulfillment_location(f),
                        "trackingInfo": lambda _i, first=None, t=tracking: (
                            t[:first] if first else t
                        ),
                        "fulfillmentLineItems": self._fulfillment_lines(order, f, currency),
                    }
                )
            return out[:first] if first is not None else out

        def fulfillments_count(_info: Any) -> dict[str, Any]:
            return {"count": len(order.get("fulfillments") or []), "precision": "EXACT"}

        def refunds(_info: Any, first: int | None = None) -> list[dict[str, Any]]:
            out = []
            for r in order.get("refunds") or []:
                paid = sum(
                    (
                        Decimal(str(t.get("amount", "0")))
                        for t in r.get("transactions") or []
                        if t.get("kind") == "refund" and t.get("status", "success") == "success"
                    ),
                    Decimal(0),
                )
                out.append(
                    {
                        "id": r.get("admin_graphql_api_id") or f"gid://shopify/Refund/{r['id']}",
                        "createdAt": _iso(_parse_time(r.get("created_at"))),
                        "note": r.get("note"),
                        "totalRefundedSet": _bag(None, f"{paid:.2f}", currency),
                        "refundLineItems": self._refund_lines(order, r, currency),
                    }
                )
            return out[:first] if first is not None else out

        def fulfillment_orders(
            _info: Any, first: int | None = None, after: str | None = None, **_kw: Any
        ) -> dict[str, Any]:
            return connection(
                self.fulfillment_orders.get(order_id, []),
                key=lambda fo: (fo.number,),
                render=lambda fo: self.render_fulfillment_order(fo),
                first=first,
                after=after,
            )

        created = _parse_time(order.get("created_at"))
        return {
            "id": order.get("admin_graphql_api_id") or f"gid://shopify/Order/{order_id}",
            "legacyResourceId": order_id,
            "name": order.get("name") or f"#{order_id}",
            "createdAt": _iso(created),
            "updatedAt": _iso(_parse_time(order.get("updated_at")) or created),
            "processedAt": _iso(_parse_time(order.get("processed_at")) or created),
            "cancelledAt": _iso(_parse_time(order.get("cancelled_at"))),
            "cancelReason": (order.get("cancel_reason") or "").upper() or None,
            "closed": order.get("closed_at") is not None,
            "closedAt": _iso(_parse_time(order.get("closed_at"))),
            "displayFinancialStatus": (order.get("financial_status") or "pending").upper(),
            "displayFulfillmentStatus": display_fulfillment,
            "currencyCode": currency,
            "presentmentCurrencyCode": order.get("presentment_currency") or currency,
            "email": order.get("email") or order.get("contact_email"),
            "phone": order.get("phone"),
            "tags": [t.strip() for t in (order.get("tags") or "").split(",") if t.strip()],
            "test": bool(order.get("test", False)),
            "totalPriceSet": _bag(order.get("total_price_set"), order.get("total_price"), currency),
            "subtotalPriceSet": _bag(
                order.get("subtotal_price_set"), order.get("subtotal_price"), currency
            ),
            "totalShippingPriceSet": _bag(order.get("total_shipping_price_set"), None, currency),
            "totalTaxSet": _bag(order.get("total_tax_set"), order.get("total_tax"), currency),
            "totalDiscountsSet": _bag(
                order.get("total_discounts_set"), order.get("total_discounts"), currency
            ),
            "customer": {
                "id": customer.get("admin_graphql_api_id")
                or f"gid://shopify/Customer/{customer['id']}",
                "displayName": " ".join(
                    p for p in (customer.get("first_name"), customer.get("last_name")) if p
                )
                or customer.get("email")
                or "",
            }
            if customer
            else None,
            "shippingAddress": address(order.get("shipping_address")),
            "billingAddress": address(order.get("billing_address")),
            "lineItems": line_items,
            "fulfillments": fulfillments,
            "fulfillmentsCount": fulfillments_count,
            "refunds": refunds,
            "fulfillmentOrders": fulfillment_orders,
            **self.aftersale.order_fields(order),
        }

    def _fulfillment_location(self, fulfillment: Mapping[str, Any]) -> dict[str, Any] | None:
        number = _num(fulfillment.get("location_id"), "Location")
        location = self.locations.get(f"gid://shopify/Location/{number}") if number else None
        return self.render_location(location) if location else None

    def _fulfillment_lines(
        self, order: Mapping[str, Any], fulfillment: Mapping[str, Any], currency: str
    ) -> Callable[..., dict[str, Any]]:
        """``Fulfillment.fulfillmentLineItems``: one per order line the fulfillment holds.

        A REST fulfillment's ``line_items[]`` are the order's lines (``id`` is the order
        line's id) with the fulfilled ``quantity``.
        """
        items = list(fulfillment.get("line_items") or [])
        fid = str(fulfillment.get("id") or "")
        number = int(fid) if fid.isdigit() else _digits(fulfillment)

        def render(pair: tuple[int, Mapping[str, Any]]) -> dict[str, Any]:
            n, li = pair
            line = self._line(order, str(li["id"])) or {**li, "quantity": li.get("quantity", 0)}
            return {
                "id": f"gid://shopify/FulfillmentLineItem/{number * 1000 + n + 1}",
                "quantity": int(li.get("quantity", 0) or 0),
                "lineItem": self.render_line(line, currency),
            }

        return listed(items, render)

    def _refund_lines(
        self, order: Mapping[str, Any], refund: Mapping[str, Any], currency: str
    ) -> Callable[..., dict[str, Any]]:
        """``Refund.refundLineItems`` of a REST refund's ``refund_line_items[]``.

        ``restockType`` is the REST ``restock_type`` (refunds older than restock types carry
        only the refund's ``restock`` flag: ``LEGACY_RESTOCK`` when set, else
        ``NO_RESTOCK``).
        """
        items = list(refund.get("refund_line_items") or [])
        legacy = "LEGACY_RESTOCK" if refund.get("restock") else "NO_RESTOCK"

        def render(pair: tuple[int, Mapping[str, Any]]) -> dict[str, Any]:
            _, rl = pair
            line_id = str(rl.get("line_item_id") or (rl.get("line_item") or {}).get("id"))
            line = self._line(order, line_id) or {"id": line_id, "quantity": 0}
            restock_type = (rl.get("restock_type") or "").upper() or legacy
            return {
                "id": f"gid://shopify/RefundLineItem/{rl['id']}" if rl.get("id") else None,
                "quantity": int(rl.get("quantity", 0) or 0),
                "restockType": restock_type,
                "restocked": restock_type in ("RETURN", "CANCEL", "LEGACY_RESTOCK"),
                "lineItem": self.render_line(line, currency),
            }

        return listed(items, render)

    def fo_status(self, fo: FulfillmentOrder) -> str:
        """A fulfillment order's status, from its order's lines."""
        order = self.orders[fo.order]
        if order.get("cancelled_at"):
            return "CANCELLED"
        remaining = [self.fo_remaining(fo, fo_line) for fo_line in fo.lines]
        if not any(remaining):
            return "CLOSED"
        totals = [self.fo_total(fo, fo_line) for fo_line in fo.lines]
        return "IN_PROGRESS" if sum(remaining) < sum(totals) else "OPEN"

    def render_fulfillment_order(self, fo: FulfillmentOrder) -> dict[str, Any]:
        """A GraphQL ``FulfillmentOrder``."""
        order = self.orders[fo.order]
        currency = order.get("currency") or self.currency

        def line_items(
            _info: Any, first: int | None = None, after: str | None = None, **_kw: Any
        ) -> dict[str, Any]:
            def render(fo_line: FoLine) -> dict[str, Any]:
                line = self._line(order, fo_line.line_id) or {
                    "id": fo_line.line_id,
                    "quantity": 0,
                }
                return {
                    "id": f"gid://shopify/FulfillmentOrderLineItem/{fo_line.number}",
                    "remainingQuantity": self.fo_remaining(fo, fo_line),
                    "totalQuantity": self.fo_total(fo, fo_line),
                    "sku": line.get("sku"),
                    "lineItem": self.render_line(line, currency),
                }

            return connection(
                fo.lines, key=lambda fl: (fl.number,), render=render, first=first, after=after
            )

        location = self.locations.get(fo.location)
        return {
            "id": fo.gid,
            "status": self.fo_status(fo),
            "orderId": order.get("admin_graphql_api_id") or f"gid://shopify/Order/{fo.order}",
            "orderName": order.get("name") or "",
            "assignedLocation": {
                "name": location.name if location else "",
                "countryCode": "US",
                "address1": None,
                "address2": None,
                "city": None,
                "province": None,
                "zip": None,
                "phone": None,
                "location": self.render_location(location) if location else None,
            },
            "lineItems": line_items,
        }

    def render_location(self, location: Location) -> dict[str, Any]:
        """A GraphQL ``Location``."""
        return {
            "id": location.gid,
            "legacyResourceId": str(location.number),
            "name": location.name,
            "isActive": location.active,
            "fulfillsOnlineOrders": location.active,
            "shipsInventory": location.active,
            "isFulfillmentService": False,
            "hasActiveInventory": lambda _info: any(
                location.gid in item.levels for item in self.items.values()
            ),
        }

    def render_item(self, item: Item) -> dict[str, Any]:
        """A GraphQL ``InventoryItem``."""
        variant = self.variants[item.variant]

        def level(_info: Any, locationId: str) -> dict[str, Any] | None:  # noqa: N803 - GraphQL name
            lvl = item.levels.get(locationId)
            location = self.locations.get(locationId)
            if lvl is None or location is None:
                return None
            return self.render_level(item, location, lvl)

        def levels(
            _info: Any,
            first: int | None = None,
            after: str | None = None,
            last: int | None = None,
            before: str | None = None,
            reverse: bool = False,
            query: str | None = None,
        ) -> dict[str, Any]:
            return connection(
                [(loc, item.levels[loc.gid]) for loc in self.stocked(item)],
                key=lambda pair: (pair[0].number,),
                render=lambda pair: self.render_level(item, pair[0], pair[1]),
                first=first,
                after=after,
                last=last,
                before=before,
                reverse=reverse,
            )

        return {
            "id": item.gid,
            "sku": variant.sku,
            "tracked": item.tracked,
            "inventoryLevel": level,
            "inventoryLevels": levels,
            "variant": lambda _info: self.render_variant(variant),
        }

    def render_level(self, item: Item, location: Location, lvl: Level) -> dict[str, Any]:
        """A GraphQL ``InventoryLevel``."""
        level_id = f"gid://shopify/InventoryLevel/{location.number}?inventory_item_id={item.number}"
        values = {"available": lvl.available, "on_hand": lvl.on_hand, "committed": lvl.committed}

        def quantities(_info: Any, names: list[str]) -> list[dict[str, Any]]:
            unknown = [n for n in names if n not in QUANTITY_NAMES]
            if unknown:
                raise GraphQLError(f"Invalid quantity names: {', '.join(unknown)}")
            return [
                {
                    "id": f"gid://shopify/InventoryQuantity/{location.number}?inventory_item_id={item.number}&name={n}",
                    "name": n,
                    "quantity": values.get(n, 0),
                    "updatedAt": _iso(lvl.updated_at),
                }
                for n in names
            ]

        return {
            "id": level_id,
            "location": self.render_location(location),
            "item": lambda _info: self.render_item(item),
            "quantities": quantities,
        }

    def render_variant(self, variant: Variant) -> dict[str, Any]:
        """A GraphQL ``ProductVariant``."""
        product = self.products[variant.product]
        item = self.items[variant.item]
        return {
            "id": variant.gid,
            "legacyResourceId": str(variant.number),
            "sku": variant.sku,
            "title": variant.title,
            "displayName": product.title
            if variant.title == "Default Title"
            else f"{product.title} - {variant.title}",
            "price": f"{variant.price:.2f}",
            "inventoryQuantity": sum(lvl.available for lvl in item.levels.values()),
            "product": {
                "id": product.gid,
                "title": product.title,
                "handle": product.title.lower().replace(" ", "-"),
            },
            "inventoryItem": lambda _info: self.render_item(item),
        }

    # -- GraphQL roots ------------------------------------------------------------------------

    def query_root(self) -> dict[str, Any]:
        """The root value of queries."""
        return {
            "shop": {
                "id": "gid://shopify/Shop/548380009",
                "name": self.shop.split(".", 1)[0],
                "myshopifyDomain": self.shop,
                "currencyCode": self.currency,
            },
            "location": self._location,
            "order": self._order,
            "orders": self._orders,
            "productVariants": self._variants,
            "inventoryItem": self._inventory_item,
            "locations": self._locations,
            "job": self._job,
            "return": self.aftersale.find_return,
        }

    def mutation_root(self) -> dict[str, Any]:
        """The root value of mutations."""
        return {
            "inventorySetQuantities": self._set_quantities,
            "inventoryActivate": self._inventory_activate,
            "productVariantsBulkUpdate": self._bulk_update_variants,
            "fulfillmentCreate": self._fulfillment_create,
            "orderCancel": self._order_cancel,
            **self.aftersale.mutations(),
        }

    def _location(self, _info: Any, id: str | None = None) -> dict[str, Any] | None:
        location = self.primary if id is None else self.locations.get(id)
        return self.render_location(location) if location else None

    def _locations(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        reverse: bool = False,
        sortKey: str = "NAME",  # noqa: N803 - GraphQL names
        query: str | None = None,
        includeLegacy: bool = False,  # noqa: N803
        includeInactive: bool = False,  # noqa: N803
    ) -> dict[str, Any]:
        shown = [loc for loc in self.locations.values() if loc.active or includeInactive]
        key: Callable[[Location], tuple[Any, ...]] = (
            (lambda loc: (loc.number,))
            if sortKey == "ID"
            else (lambda loc: (loc.name.lower(), loc.number))
        )
        return connection(
            shown,
            key=key,
            render=self.render_location,
            first=first,
            after=after,
            last=last,
            before=before,
            reverse=reverse,
        )

    def _order(self, _info: Any, id: str) -> dict[str, Any] | None:
        number = _num(id, "Order")
        order = self.orders.get(number) if number else None
        return self.render_order(order) if order else None

    def _orders(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        reverse: bool = False,
        sortKey: str = "PROCESSED_AT",  # noqa: N803 - GraphQL name
        query: str | None = None,
    ) -> dict[str, Any]:
        orders = [o for o in self.orders.values() if _matches(o, query)]
        field_name = {
            "UPDATED_AT": "updated_at",
            "CREATED_AT": "created_at",
            "PROCESSED_AT": "processed_at",
        }.get(sortKey)

        def key(order: Mapping[str, Any]) -> tuple[Any, ...]:
            if field_name is None:
                return (int(order["id"]),)
            value = _parse_time(order.get(field_name)) or _parse_time(order.get("created_at"))
            return (_iso(value), int(order["id"]))

        return connection(
            orders,
            key=key,
            render=self.render_order,
            first=first,
            after=after,
            last=last,
            before=before,
            reverse=reverse,
        )

    def _variants(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        reverse: bool = False,
        sortKey: str = "ID",  # noqa: N803 - GraphQL name
        query: str | None = None,
    ) -> dict[str, Any]:
        variants = list(self.variants.values())
        if query:
            wanted = {m.group(3) for m in _TERM.finditer(query) if m.group(1) == "sku"}
            if wanted:
                variants = [v for v in variants if v.sku in wanted]
        key: Callable[[Variant], tuple[Any, ...]] = (
            (lambda v: (v.sku or "", v.number)) if sortKey == "SKU" else (lambda v: (v.number,))
        )
        return connection(
            variants,
            key=key,
            render=self.render_variant,
            first=first,
            after=after,
            last=last,
            before=before,
            reverse=reverse,
        )

    def _inventory_item(self, _info: Any, id: str) -> dict[str, Any] | None:
        number = _num(id, "InventoryItem")
        item = self.items.get(int(number)) if number else None
        return self.render_item(item) if item else None

    def _job(self, _info: Any, id: str) -> dict[str, Any] | None:
        self.settle_jobs()
        job = self.jobs.get(id)
        return {"id": job.gid, "done": job.done} if job else None

    # -- mutations ----------------------------------------------------------------------------

    def _idempotency_key(self, info: GraphQLResolveInfo[Any]) -> str | None:
        for directive in info.field_nodes[0].directives or ():
            if directive.name.value != "idempotent":
                continue
            for arg in directive.arguments or ():
                if arg.name.value != "key":
                    continue
                if isinstance(arg.value, StringValueNode):
                    return arg.value.value
                if isinstance(arg.value, VariableNode):
                    raw: Any = info.variable_values
                    variables: Mapping[str, Any] = getattr(raw, "coerced", raw)
                    value = variables.get(arg.value.name.value)
                    return str(value) if value is not None else None
        return None

    def _set_quantities(
        self, info: GraphQLResolveInfo[Any], input: dict[str, Any]
    ) -> dict[str, Any]:
        flavour: Flavour = info.context["flavour"]
        key = self._idempotency_key(info)
        if key is None and info.context["idempotency_required"]:
            raise GraphQLError(
                "The @idempotent directive is required for this mutation: pass"
                ' @idempotent(key: "<unique key>").',
                extensions={"code": "BAD_REQUEST"},
            )
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        if key is not None and key in self.idempotency:
            seen, result = self.idempotency[key]
            if seen != fingerprint:
                return {
                    "inventoryAdjustmentGroup": None,
                    "userErrors": [
                        {
                            "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                            "field": None,
                            "message": "The same idempotency key cannot be used with different"
                            " operation parameters.",
                        }
                    ],
                }
            return result
        result = self._apply_quantities(input, flavour, info)
        if key is not None:
            self.idempotency[key] = (fingerprint, result)
        return result

    def _apply_quantities(
        self,
        input: dict[str, Any],
        flavour: Flavour,
        info: GraphQLResolveInfo[Any],
    ) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        name = input["name"]
        if name not in ("available", "on_hand"):
            errors.append(
                {
                    "code": "INVALID_NAME",
                    "field": ["input", "name"],
                    "message": "The quantity name must be either 'available' or 'on_hand'.",
                }
            )
        if input["reason"] not in REASONS:
            errors.append(
                {
                    "code": "INVALID_REASON",
                    "field": ["input", "reason"],
                    "message": "The specified reason is invalid.",
                }
            )
        ignore = bool(input.get("ignoreCompareQuantity")) if flavour.compare_quantity else False
        plan: list[tuple[Item, Location, Level, int]] = []
        seen: set[tuple[str, str]] = set()
        fail_some = self.partial_failure("inventorySetQuantities")
        for n, q in enumerate(input["quantities"]):
            path = ["input", "quantities", str(n)]
            if not flavour.compare_quantity and "changeFromQuantity" not in q:
                raise GraphQLError(
                    "changeFromQuantity must be passed for every quantity; pass null to opt out"
                    " of the compare-and-swap check.",
                    extensions={"code": "BAD_REQUEST"},
                )
            pair = (q["inventoryItemId"], q["locationId"])
            if pair in seen:
                errors.append(
                    {
                        "code": "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                        "field": path,
                        "message": "The combination of inventoryItemId and locationId must be"
                        " unique.",
                    }
                )
                continue
            seen.add(pair)
            number = _num(q["inventoryItemId"], "InventoryItem")
            item = self.items.get(int(number)) if number else None
            if item is None:
                errors.append(
                    {
                        "code": "INVALID_INVENTORY_ITEM",
                        "field": [*path, "inventoryItemId"],
                        "message": "The specified inventory item could not be found.",
                    }
                )
                continue
            location = self.locations.get(q["locationId"])
            if location is None:
                errors.append(
                    {
                        "code": "INVALID_LOCATION",
                        "field": [*path, "locationId"],
                        "message": "The specified location could not be found.",
                    }
                )
                continue
            level = item.levels.get(location.gid)
            if level is None:
                errors.append(
                    {
                        "code": "ITEM_NOT_STOCKED_AT_LOCATION",
                        "field": [*path, "inventoryItemId"],
                        "message": "The specified inventory item is not stocked at the location.",
                    }
                )
                continue
            quantity = int(q["quantity"])
            if quantity > 1_000_000_000:
                errors.append(
                    {
                        "code": "INVALID_QUANTITY_TOO_HIGH",
                        "field": [*path, "quantity"],
                        "message": "The total quantity can't be higher than 1,000,000,000.",
                    }
                )
                continue
            if quantity < 0 and name == "on_hand":
                errors.append(
                    {
                        "code": "INVALID_QUANTITY_NEGATIVE",
                        "field": [*path, "quantity"],
                        "message": "The quantity can't be negative.",
                    }
                )
                continue
            if fail_some and n % 5 == 0:
                errors.append(
                    {
                        "code": "NON_MUTABLE_INVENTORY_ITEM",
                        "field": [*path, "inventoryItemId"],
                        "message": "The specified inventory item is not allowed to be adjusted"
                        " via API (sandbox partial failure).",
                    }
                )
                continue
            current = level.available if name == "available" else level.on_hand
            if flavour.change_from_quantity and "changeFromQuantity" in q:
                expected = q["changeFromQuantity"]
                if expected is not None and expected != current:
                    errors.append(
                        {
                            "code": "CHANGE_FROM_QUANTITY_STALE",
                            "field": [*path, "changeFromQuantity"],
                            "message": "The changeFromQuantity value does not match the"
                            " persisted value.",
                        }
                    )
                    continue
            elif flavour.compare_quantity and not ignore:
                expected = q.get("compareQuantity")
                if expected is None:
                    errors.append(
                        {
                            "code": "COMPARE_QUANTITY_REQUIRED",
                            "field": [*path, "compareQuantity"],
                            "message": "The compareQuantity argument must be given to each"
                            " quantity or ignored using ignoreCompareQuantity.",
                        }
                    )
                    continue
                if expected != current:
                    errors.append(
                        {
                            "code": "COMPARE_QUANTITY_STALE",
                            "field": [*path, "compareQuantity"],
                            "message": "The compareQuantity value does not match persisted value.",
                        }
                    )
                    continue
            plan.append((item, location, level, quantity))
        if errors:
            # Shopify applies none of a call that has a user error.
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        now = self.stamp()
        changes: list[dict[str, Any]] = []
        for item, location, level, quantity in plan:
            if name == "available":
                delta = quantity - level.available
                level.available = quantity
                level.on_hand += delta
                moved = [("available", delta, level.available), ("on_hand", delta, level.on_hand)]
            else:
                delta = quantity - level.on_hand
                level.on_hand = quantity
                level.available += delta
                moved = [("on_hand", delta, level.on_hand), ("available", delta, level.available)]
            level.updated_at = now
            for qname, qdelta, after in moved:
                changes.append(
                    {
                        "name": qname,
                        "delta": qdelta,
                        "quantityAfterChange": after,
                        "ledgerDocumentUri": None,
                        "item": self.render_item(item),
                        "location": self.render_location(location),
                    }
                )

        def change_list(
            _info: Any,
            inventoryItemIds: list[str] | None = None,  # noqa: N803 - GraphQL names
            locationIds: list[str] | None = None,  # noqa: N803
            quantityNames: list[str] | None = None,  # noqa: N803
        ) -> list[dict[str, Any]]:
            return [
                c
                for c in changes
                if (quantityNames is None or c["name"] in quantityNames)
                and (inventoryItemIds is None or c["item"]["id"] in inventoryItemIds)
                and (locationIds is None or c["location"]["id"] in locationIds)
            ]

        return {
            "inventoryAdjustmentGroup": {
                "id": f"gid://shopify/InventoryAdjustmentGroup/{self.next_id()}",
                "createdAt": _iso(now),
                "reason": input["reason"],
                "referenceDocumentUri": input.get("referenceDocumentUri"),
                "changes": change_list,
            },
            "userErrors": [],
        }

    def _inventory_activate(
        self,
        info: GraphQLResolveInfo[Any],
        inventoryItemId: str,  # noqa: N803 - GraphQL names
        locationId: str,  # noqa: N803
        available: int | None = None,
        onHand: int | None = None,  # noqa: N803
        stockAtLegacyLocation: bool = False,  # noqa: N803
    ) -> dict[str, Any]:
        """``inventoryActivate``: stock an item at a location (idempotent from 2026-01,
        ``@idempotent`` required from 2026-04). An item already stocked there keeps its
        quantities: the existing level is returned."""
        key = self._idempotency_key(info)
        if key is None and info.context["idempotency_required"]:
            raise GraphQLError(
                "The @idempotent directive is required for this mutation: pass"
                ' @idempotent(key: "<unique key>").',
                extensions={"code": "BAD_REQUEST"},
            )
        arguments = {
            "inventoryItemId": inventoryItemId,
            "locationId": locationId,
            "available": available,
            "onHand": onHand,
        }
        fingerprint = json.dumps(arguments, sort_keys=True)
        stored = self.idempotency.get(f"inventoryActivate:{key}") if key else None
        if stored is not None:
            seen, result = stored
            if seen != fingerprint:
                return {
                    "inventoryLevel": None,
                    "userErrors": [
                        {
                            "field": None,
                            "message": "The same idempotency key cannot be used with different"
                            " operation parameters.",
                        }
                    ],
                }
            return result

        def refuse(field: str, message: str) -> dict[str, Any]:
            return {"inventoryLevel": None, "userErrors": [{"field": [field], "message": message}]}

        number = _num(inventoryItemId, "InventoryItem")
        item = self.items.get(int(number)) if number else None
        if item is None:
            return refuse("inventoryItemId", "Inventory item does not exist")
        location = self.locations.get(locationId)
        if location is None:
            return refuse("locationId", "Location does not exist")
        if not location.active:
            return refuse("locationId", "Location is not active")
        if (available is not None and available < 0) or (onHand is not None and onHand < 0):
            return refuse("available", "Quantity can't be negative")
        level = item.levels.get(location.gid)
        if level is None:
            stock = available if available is not None else 0
            level = Level(stock, onHand if onHand is not None else stock, self.stamp())
            item.levels[location.gid] = level
        result = {"inventoryLevel": self.render_level(item, location, level), "userErrors": []}
        if key is not None:
            self.idempotency[f"inventoryActivate:{key}"] = (fingerprint, result)
        return result

    def _bulk_update_variants(
        self,
        _info: Any,
        productId: str,  # noqa: N803 - GraphQL name
        variants: list[dict[str, Any]],
        allowPartialUpdates: bool = False,  # noqa: N803
    ) -> dict[str, Any]:
        number = _num(productId, "Product")
        product = self.products.get(int(number)) if number else None
        if product is None:
            return {
                "product": None,
                "productVariants": None,
                "userErrors": [
                    {
                        "code": "PRODUCT_DOES_NOT_EXIST",
                        "field": ["productId"],
                        "message": "Product does not exist",
                    }
                ],
            }
        errors: list[dict[str, Any]] = []
        plan: list[tuple[Variant, dict[str, Any]]] = []
        fail_some = self.partial_failure("productVariantsBulkUpdate")
        for n, change in enumerate(variants):
            path = ["variants", str(n)]
            if not change.get("id"):
                errors.append(
                    {
                        "code": "PRODUCT_VARIANT_ID_MISSING",
                        "field": [*path, "id"],
                        "message": "Product variant is missing ID attribute",
                    }
                )
                continue
            vnum = _num(change["id"], "ProductVariant")
            variant = self.variants.get(int(vnum)) if vnum else None
            if variant is None:
                errors.append(
                    {
                        "code": "PRODUCT_VARIANT_DOES_NOT_EXIST",
                        "field": [*path, "id"],
                        "message": "Product variant does not exist",
                    }
                )
                continue
            if variant.product != product.number:
                errors.append(
                    {
                        "code": "MUST_BE_FOR_THIS_PRODUCT",
                        "field": [*path, "id"],
                        "message": "Product variant does not belong to this product",
                    }
                )
                continue
            price = change.get("price")
            if price is not None:
                try:
                    amount = Decimal(str(price))
                except InvalidOperation:
                    errors.append(
                        {
                            "code": "INVALID_INPUT",
                            "field": [*path, "price"],
                            "message": "Price is invalid",
                        }
                    )
                    continue
                if amount < 0:
                    errors.append(
                        {
                            "code": "NEGATIVE_PRICE_VALUE",
                            "field": [*path, "price"],
                            "message": "Price must be greater than or equal to 0",
                        }
                    )
                    continue
            if fail_some and n % 5 == 0:
                errors.append(
                    {
                        "code": "INVALID_INPUT",
                        "field": [*path, "price"],
                        "message": "Price could not be saved (sandbox partial failure)",
                    }
                )
                continue
            plan.append((variant, change))
        if errors and not allowPartialUpdates:
            return {"product": None, "productVariants": None, "userErrors": errors}
        updated = []
        for variant, change in plan:
            if change.get("price") is not None:
                variant.price = Decimal(str(change["price"]))
            updated.append(self.render_variant(variant))
        return {
            "product": {"id": product.gid, "title": product.title, "handle": product.title.lower()},
            "productVariants": updated,
            "userErrors": errors,
        }

    def _fulfillment_create(
        self, _info: Any, fulfillment: dict[str, Any], message: str | None = None
    ) -> dict[str, Any]:
        def refuse(text: str, path: list[str]) -> dict[str, Any]:
            return {"fulfillment": None, "userErrors": [{"field": path, "message": text}]}

        groups = fulfillment["lineItemsByFulfillmentOrder"]
        if not groups:
            return refuse("Line items by fulfillment order can't be blank.", ["fulfillment"])
        order_id: str | None = None
        location: str | None = None
        plan: list[tuple[FulfillmentOrder, FoLine, int]] = []
        for g, group in enumerate(groups):
            path = ["fulfillment", "lineItemsByFulfillmentOrder", str(g)]
            fo_number = _num(group["fulfillmentOrderId"], "FulfillmentOrder")
            fo = next(
                (
                    f
                    for fos in self.fulfillment_orders.values()
                    for f in fos
                    if fo_number and f.number == int(fo_number)
                ),
                None,
            )
            if fo is None:
                return refuse("Fulfillment order does not exist.", [*path, "fulfillmentOrderId"])
            if order_id is not None and fo.order != order_id:
                return refuse(
                    "All fulfillment orders must belong to the same order.",
                    [*path, "fulfillmentOrderId"],
                )
            if location is not None and fo.location != location:
                return refuse(
                    "All fulfillment orders must be assigned to the same location.",
                    [*path, "fulfillmentOrderId"],
                )
            order_id, location = fo.order, fo.location
            if self.fo_status(fo) not in ("OPEN", "IN_PROGRESS"):
                return refuse(
                    f"Fulfillment order {fo.gid} has an unfulfillable status="
                    f" {self.fo_status(fo).lower()}.",
                    [*path, "fulfillmentOrderId"],
                )
            wanted = group.get("fulfillmentOrderLineItems")
            lines = {fo_line.number: fo_line for fo_line in fo.lines}
            if not wanted:
                for fo_line in fo.lines:
                    remaining = self.fo_remaining(fo, fo_line)
                    if remaining:
                        plan.append((fo, fo_line, remaining))
                continue
            for i, li in enumerate(wanted):
                li_number = _num(li["id"], "FulfillmentOrderLineItem")
                target = lines.get(int(li_number)) if li_number else None
                if target is None:
                    return refuse(
                        "Fulfillment order line item does not exist.",
                        [*path, "fulfillmentOrderLineItems", str(i), "id"],
                    )
                quantity = int(li["quantity"])
                if quantity <= 0 or quantity > self.fo_remaining(fo, target):
                    return refuse(
                        "Invalid fulfillment order line item quantity requested.",
                        [*path, "fulfillmentOrderLineItems", str(i), "quantity"],
                    )
                plan.append((fo, target, quantity))
        assert order_id is not None
        order = self.orders[order_id]
        if not plan:
            return refuse("No line items left to fulfill.", ["fulfillment"])
        tracking = fulfillment.get("trackingInfo") or {}
        numbers = tracking.get("numbers") or (
            [tracking["number"]] if tracking.get("number") else []
        )
        urls = tracking.get("urls") or ([tracking["url"]] if tracking.get("url") else [])
        now = _iso(self.stamp())
        record_id = self.next_id()
        count = len(order["fulfillments"]) + 1
        record = {
            "id": record_id,
            "admin_graphql_api_id": f"gid://shopify/Fulfillment/{record_id}",
            "order_id": order["id"],
            "status": "success",
            "created_at": now,
            "updated_at": now,
            "location_id": _num(location, "Location"),
            "name": f"{order.get('name')}.{count}",
            "service": "manual",
            "tracking_company": tracking.get("company"),
            "tracking_number": numbers[0] if numbers else None,
            "tracking_numbers": numbers,
            "tracking_url": urls[0] if urls else None,
            "tracking_urls": urls,
            "line_items": [],
        }
        for fo, fo_line, quantity in plan:
            line = self._line(order, fo_line.line_id)
            assert line is not None
            if fo_line.share is not None:
                fo_line.fulfilled += quantity
            line["fulfillable_quantity"] = int(line.get("fulfillable_quantity", 0)) - quantity
            line["fulfillment_status"] = (
                "fulfilled" if line["fulfillable_quantity"] == 0 else "partial"
            )
            record["line_items"].append({**copy.deepcopy(line), "quantity": quantity})
            # The units leave the location: committed stock becomes shipped.
            variant_number = line.get("variant_id")
            if variant_number and int(variant_number) in self.variants:
                item = self.items[self.variants[int(variant_number)].item]
                level = item.levels.get(fo.location)
                if level is not None:
                    level.on_hand -= quantity
                    level.committed = max(0, level.committed - quantity)
        order["fulfillments"].append(record)
        open_units = sum(int(ln.get("fulfillable_quantity", 0) or 0) for ln in order["line_items"])
        order["fulfillment_status"] = "fulfilled" if open_units == 0 else "partial"
        self.touch(order)
        self.notify("orders/fulfilled" if open_units == 0 else "orders/partially_fulfilled", order)
        self.notify("orders/updated", order)
        rendered = self.render_order(order)["fulfillments"](None)
        return {"fulfillment": rendered[-1], "userErrors": []}

    def _order_cancel(
        self,
        _info: Any,
        orderId: str,  # noqa: N803 - GraphQL names
        reason: str,
        restock: bool,
        refund: bool | None = None,
        refundMethod: dict[str, Any] | None = None,  # noqa: N803
        notifyCustomer: bool = False,  # noqa: N803
        staffNote: str | None = None,  # noqa: N803
    ) -> dict[str, Any]:
        def refuse(code: str, text: str) -> dict[str, Any]:
            error = {"code": code, "field": ["orderId"], "message": text}
            return {
                "job": None,
                "orderCancelUserErrors": [error],
                "userErrors": [{"field": ["orderId"], "message": text}],
            }

        number = _num(orderId, "Order")
        order = self.orders.get(number) if number else None
        if order is None:
            return refuse("NOT_FOUND", "Order not found")
        if order.get("cancelled_at"):
            return refuse("INVALID", "Order has already been cancelled")
        if any((f.get("status") or "") == "success" for f in order.get("fulfillments") or []):
            return refuse("INVALID", "Cannot cancel an order that has fulfillments")
        gives_back = (
            bool(refundMethod.get("originalPaymentMethodsRefund")) if refundMethod else bool(refund)
        )
        job_gid = f"gid://shopify/Job/{uuid.uuid4()}"

        def finish() -> None:
            self._finish_cancel(order, reason=reason, restock=restock, refund=gives_back)

        self.jobs[job_gid] = Job(job_gid, time.monotonic() + self.cancel_delay, finish)
        return {
            "job": {"id": job_gid, "done": False},
            "orderCancelUserErrors": [],
            "userErrors": [],
        }

    def _finish_cancel(
        self, order: dict[str, Any], *, reason: str, restock: bool, refund: bool
    ) -> None:
        now = _iso(self.stamp())
        order_id = str(order["id"])
        # Units still to fulfil, per line and location, before the lines are emptied.
        open_units: list[tuple[Mapping[str, Any], str, int]] = []
        for fo in self.fulfillment_orders.get(order_id, []):
            for fo_line in fo.lines:
                units = self.fo_remaining(fo, fo_line)
                found = self._line(order, fo_line.line_id)
                if units and found is not None:
                    open_units.append((found, fo.location, units))
        for open_line, location, units in open_units:
            variant_number = open_line.get("variant_id")
            if not variant_number or int(variant_number) not in self.variants:
                continue
            item = self.items[self.variants[int(variant_number)].item]
            level = item.levels.get(location)
            if level is None or not item.tracked:
                continue
            if restock:
                level.available += units
                level.committed = max(0, level.committed - units)
            else:
                # Not restocked: the committed units leave the count altogether.
                released = min(level.committed, units)
                level.committed -= released
                level.on_hand -= released
            level.updated_at = self.stamp()
        for line in order["line_items"]:
            line["current_quantity"] = 0
            line["fulfillable_quantity"] = 0
        order["cancelled_at"] = now
        order["cancel_reason"] = reason.lower()
        order["closed_at"] = now
        if refund and order.get("financial_status") in (
            "paid",
            "partially_refunded",
            "partially_paid",
        ):
            order["financial_status"] = "refunded"
        elif order.get("financial_status") in ("pending", "authorized"):
            order["financial_status"] = "voided"
        self.touch(order)
        self.notify("orders/cancelled", order)
        self.notify("orders/updated", order)


def listed(
    items: Iterable[Any], render: Callable[[tuple[int, Any]], dict[str, Any]]
) -> Callable[..., dict[str, Any]]:
    """A connection field's resolver over ``items`` in their own order (cursor: position).

    ``render`` gets each item with its position: ``(n, item)``.
    """
    pairs = list(enumerate(items))

    def resolve(
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        reverse: bool = False,
    ) -> dict[str, Any]:
        return connection(
            pairs,
            key=lambda pair: (pair[0],),
            render=render,
            first=first,
            after=after,
            last=last,
            before=before,
            reverse=reverse,
        )

    return resolve


def _matches(order: Mapping[str, Any], query: str | None) -> bool:
    """Whether an order matches a search query (``updated_at:>='...'`` terms, ANDed)."""
    if not query:
        return True
    for match in _TERM.finditer(query):
        name, op, raw = match.group(1), match.group(2) or "=", match.group(3)
        if name in ("updated_at", "created_at", "processed_at"):
            try:
                bound = _parse_time(raw)
            except ValueError:
                raise GraphQLError(f"Invalid date in search query: {raw!r}") from None
            value = _parse_time(order.get(name)) or _parse_time(order.get("created_at"))
            if bound is None or value is None:
                return False
            ok = {
                ">=": value >= bound,
                ">": value > bound,
                "<=": value <= bound,
                "<": value < bound,
                "=": value == bound,
            }[op]
            if not ok:
                return False
        elif name == "name":
            if str(order.get("name", "")).lstrip("#") != raw.lstrip("#"):
                return False
        elif name == "id" and str(order.get("id")) != raw:
            return False
    return True
