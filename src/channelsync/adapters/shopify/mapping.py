"""Pure functions between Shopify payloads and channelsync models.

Orders arrive in two shapes: the GraphQL ``Order`` that polling reads and the REST order
JSON that ``orders/*`` webhooks deliver. Both map to the same ``Order``: amounts in the
shop's currency (``shopMoney`` / ``shop_money``; the buyer's presentment amounts stay in
``raw``), timestamps in UTC, custom lines without a SKU kept with ``sku=None``, ids as
Shopify's numeric ids (``"450789469"``), so a webhook and a poll of one order agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from channelsync.adapters._failures import ORDER_DATA_ERRORS, describe_error, failure, iso_time
from channelsync.adapters.shopify.payloads import (
    GqlAddress,
    GqlLineItem,
    GqlOrder,
    GqlVariant,
    InventoryLevel,
    LocatedFulfillmentOrder,
    MoneyBag,
    OrderQuantitiesOrder,
    RestAddress,
    RestMoneySet,
    RestOrder,
)
from channelsync.core.channel import OrderFailure, StockUpdate
from channelsync.core.models import (
    Address,
    Customer,
    Listing,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    Shipment,
)

__all__ = [
    "KIND",
    "ORDER_DATA_ERRORS",
    "LineLocation",
    "describe_error",
    "gid",
    "legacy_id",
    "line_locations",
    "listing_from_variant",
    "needs_quantities",
    "order_failure",
    "order_from_graphql",
    "order_from_rest",
    "order_status",
    "quantity_input",
    "settle_line",
    "shopify_cancel_reason",
]

KIND = "shopify"

_RESTOCKING = frozenset({"return", "cancel", "legacy_restock"})
_CANCEL_REASONS = {
    "customer": "CUSTOMER",
    "customer_request": "CUSTOMER",
    "payment_declined": "DECLINED",
    "declined": "DECLINED",
    "fraud": "FRAUD",
    "inventory": "INVENTORY",
    "out_of_stock": "INVENTORY",
    "staff": "STAFF",
    "other": "OTHER",
}


def gid(kind: str, value: str | int) -> str:
    """The global id ``gid://shopify/<kind>/<id>`` of a numeric id (GIDs pass unchanged)."""
    text = str(value).strip()
    if text.startswith("gid://"):
        return text
    if not text:
        raise ValueError(f"empty {kind} id")
    return f"gid://shopify/{kind}/{text}"


def legacy_id(value: str | int) -> str:
    """The numeric id inside a GID (``gid://shopify/Order/12?x=1`` -> ``"12"``)."""
    text = str(value)
    if not text.startswith("gid://"):
        return text
    return text.rsplit("/", 1)[-1].split("?", 1)[0]


def order_status(
    *, cancelled: bool, financial: str | None, fulfillment: str | None
) -> tuple[OrderStatus, str]:
    """The normalised status and the raw one (``"paid/unfulfilled"``) of an order.

    ``financial`` and ``fulfillment`` are Shopify's display statuses in either shape
    (``PARTIALLY_REFUNDED`` / ``partially_refunded``; REST ``partial`` and ``null`` mean
    ``partially_fulfilled`` and ``unfulfilled``).
    """
    fin = (financial or "pending").lower()
    ful = (fulfillment or "unfulfilled").lower()
    ful = {"partial": "partially_fulfilled"}.get(ful, ful)
    raw = f"{fin}/{ful}" + ("/cancelled" if cancelled else "")
    if cancelled or fin == "voided":
        return OrderStatus.CANCELLED, raw
    if fin == "refunded" or ful == "restocked":
        return OrderStatus.REFUNDED, raw
    if ful == "fulfilled":
        return OrderStatus.SHIPPED, raw
    if ful == "partially_fulfilled":
        return OrderStatus.PARTIALLY_SHIPPED, raw
    if fin in ("pending", "expired"):
        return OrderStatus.PENDING, raw
    return OrderStatus.OPEN, raw


def shopify_cancel_reason(reason: str | None) -> str:
    """Shopify's ``OrderCancelReason`` for a free-text reason (``OTHER`` when unknown)."""
    if not reason:
        return "OTHER"
    key = reason.strip().lower().replace(" ", "_").replace("-", "_")
    return _CANCEL_REASONS.get(key, "OTHER")


# -- money and addresses -------------------------------------------------------------------


def _bag(bag: MoneyBag | None) -> Money | None:
    if bag is None:
        return None
    return Money(amount=bag.shop_money.amount, currency=bag.shop_money.currency_code)


def _set(money_set: RestMoneySet | None) -> Money | None:
    if money_set is None:
        return None
    return Money(amount=money_set.shop_money.amount, currency=money_set.shop_money.currency_code)


def _name(name: str | None, first: str | None, last: str | None) -> str | None:
    if name and name.strip():
        return name.strip()
    joined = " ".join(p.strip() for p in (first, last) if p and p.strip())
    return joined or None


def _address(addr: GqlAddress | RestAddress | None) -> Address | None:
    if addr is None:
        return None
    country = addr.country_code_v2 if isinstance(addr, GqlAddress) else addr.country_code
    address = Address(
        name=_name(addr.name, addr.first_name, addr.last_name),
        company=addr.company or None,
        lines=tuple(p for p in (addr.address1, addr.address2) if p),
        city=addr.city or None,
        postal_code=addr.zip or None,
        region=addr.province_code or addr.province or None,
        country_code=country or None,
        phone=addr.phone or None,
    )
    return None if address == Address() else address


# -- orders: GraphQL -------------------------------------------------------------------------


def settle_line(
    *,
    quantity: int,
    current: int,
    unfulfilled: int | None,
    shipped: int,
    returned: int,
    cancelled: int,
    unsure: int,
) -> tuple[int, int]:
    """Units of one line shipped and cancelled (removed before they shipped).

    ``shipped``: units in successful fulfillments. Of the removed units (``quantity -
    current``), refunds restocked as ``RETURN`` had shipped and ``CANCEL`` had not; units
    removed without a refund line (order edits, a cancellation without refund) never
    shipped. ``NO_RESTOCK`` and ``LEGACY_RESTOCK`` units (``unsure``) say neither: those
    beyond the shipped units not already returned cannot have shipped; the rest are settled
    by ``unfulfilled`` (units still to ship), which fixes the unshipped removals at
    ``quantity - shipped - unfulfilled``. Without it they count as shipped: an unshipped
    unit counted open keeps stock committed, while a shipped one counted cancelled would
    put back stock that is gone.
    """
    shipped = min(max(0, shipped), quantity)
    removed = min(quantity, max(0, quantity - current))
    returned = min(max(0, returned), shipped, removed)
    unshippable = quantity - shipped
    edits = max(0, removed - returned - max(0, cancelled) - max(0, unsure))
    known = min(removed - returned, max(0, cancelled) + edits, unshippable)
    unsure = max(0, removed - returned - known)
    low = min(unshippable, known + max(0, unsure - (shipped - returned)))
    high = min(unshippable, removed - returned)
    if unfulfilled is None:
        return shipped, low
    return shipped, max(low, min(high, quantity - shipped - max(0, unfulfilled)))


def _refunded_by_type(
    lines: Iterable[tuple[str, int, str | None]],
) -> dict[str, tuple[int, int, int]]:
    """Per line id: units refunded as (returned, cancelled, unsure) from (line, qty, type)."""
    out: dict[str, tuple[int, int, int]] = {}
    for line_id, qty, restock_type in lines:
        ret, can, uns = out.get(line_id, (0, 0, 0))
        kind = (restock_type or "").lower()
        if kind == "return":
            ret += qty
        elif kind == "cancel":
            can += qty
        else:
            uns += qty
        out[line_id] = (ret, can, uns)
    return out


@dataclass(frozen=True)
class LineLocation:
    """Where Shopify assigned an order line.

    Attributes:
        location_id: the location (GID) holding most of its units (None: Shopify does not
            say).
        units: (location GID, units) of every location the line is assigned to, most
            first; empty when the order's one fulfillment order holds the whole line.
    """

    location_id: str | None
    units: tuple[tuple[str, int], ...] = ()

    @property
    def split(self) -> bool:
        """Whether the line's units are assigned to more than one location."""
        return len(self.units) > 1


def line_locations(
    fulfillment_orders: Iterable[LocatedFulfillmentOrder],
) -> dict[str, LineLocation]:
    """Per order line GID, where its units are assigned (from the order's fulfillment orders).

    Units of cancelled fulfillment orders count only for a line that has no other (a
    cancelled order's lines stay where they were). A line split over several locations
    (Shopify's routing found no location with every unit) is given the location with the
    most units (the first of equals, in Shopify's order), and carries the split.
    """
    live: dict[str, dict[str, int]] = {}
    cancelled: dict[str, dict[str, int]] = {}
    for fo in fulfillment_orders:
        place = fo.assigned_location.location
        if place is None:
            continue
        into = cancelled if fo.status.upper() == "CANCELLED" else live
        for li in fo.line_items.nodes:
            units = into.setdefault(li.line_item.id, {})
            units[place.id] = units.get(place.id, 0) + max(0, li.total_quantity)
    out: dict[str, LineLocation] = {}
    for line_id in {*live, *cancelled}:
        units = live.get(line_id) or cancelled.get(line_id) or {}
        ranked = tuple(sorted(units.items(), key=lambda kv: -kv[1]))
        out[line_id] = LineLocation(ranked[0][0] if ranked else None, ranked)
    return out


def _graphql_line(
    line: GqlLineItem,
    shipped: int,
    refunded: tuple[int, int, int],
    where: LineLocation | None = None,
) -> OrderLine:
    returned, cancel, unsure = refunded
    shipped, cancelled = settle_line(
        quantity=line.quantity,
        current=line.current_quantity,
        unfulfilled=line.unfulfilled_quantity,
        shipped=shipped,
        returned=returned,
        cancelled=cancel,
        unsure=unsure,
    )
    unit = _bag(line.original_unit_price_set)
    discount = _bag(line.total_discount_set)
    total = None
    if unit is not None:
        total = unit * line.quantity
        if discount is not None and discount.currency == total.currency:
            total = total - discount
    return OrderLine(
        line_id=legacy_id(line.id),
        sku=line.sku,
        title=line.name or line.title,
        quantity=line.quantity,
        unit_price=unit,
        total=total,
        discount=discount,
        quantity_shipped=shipped,
        quantity_cancelled=cancelled,
        channel_ids=_line_ids(line.id, where),
        location_id=where.location_id if where is not None else None,
    )


def _line_ids(line_gid: str, where: LineLocation | None) -> dict[str, str]:
    ids = {"line_item_id": line_gid}
    if where is not None and where.split:
        ids["location_units"] = ",".join(f"{loc}={units}" for loc, units in where.units)
    return ids


def needs_quantities(order: GqlOrder) -> bool:
    """Whether the order has fulfillments or refunds, whose lines ``OrderQuantities`` reads.

    An order without either has shipped nothing and refunded nothing: its removed units
    (order edits, a cancellation) never shipped, and the orders page alone settles it.
    """
    count = order.fulfillments_count
    return count is None or count.count > 0 or bool(order.fulfillments) or bool(order.refunds)


def order_from_graphql(
    order: GqlOrder,
    *,
    account: str,
    raw: Mapping[str, Any],
    more_lines: Iterable[GqlLineItem] = (),
    details: OrderQuantitiesOrder | None = None,
    locations: Mapping[str, LineLocation] | None = None,
) -> Order:
    """The ``Order`` of a GraphQL ``Order`` node.

    ``more_lines``: lines past the first page. ``details``: the order's fulfillments and
    refunds with their line items (``OrderQuantities``), required when it has any: units
    shipped and cancelled per line come from them, never estimated. Raises ``ValueError``
    when they are missing or incomplete. ``locations``: where each line (by GID) is
    assigned (``line_locations``); without it, an order with one fulfillment order has
    every line at that order's location, and others say none.
    """
    status, raw_status = order_status(
        cancelled=order.cancelled_at is not None,
        financial=order.display_financial_status,
        fulfillment=order.display_fulfillment_status,
    )
    currency = order.currency_code
    items = [*order.line_items.nodes, *more_lines]
    fulfillments, gql_refunds = order.fulfillments, order.refunds
    if details is not None:
        fulfillments, gql_refunds = details.fulfillments, details.refunds
    elif needs_quantities(order):
        raise ValueError(f"order {order.id}: fulfillment and refund lines were not read")
    shipped: dict[str, int] = {}
    for f in fulfillments:
        if f.status.upper() != "SUCCESS":
            continue
        if f.fulfillment_line_items is None or f.fulfillment_line_items.page_info.has_next_page:
            raise ValueError(f"fulfillment {f.id}: line items not read in full")
        for fl in f.fulfillment_line_items.nodes:
            key = fl.line_item.id
            shipped[key] = shipped.get(key, 0) + (fl.quantity or 0)
    refund_lines: list[tuple[str, int, str | None]] = []
    for r in gql_refunds:
        if r.refund_line_items is None or r.refund_line_items.page_info.has_next_page:
            raise ValueError(f"refund {r.id}: line items not read in full")
        refund_lines += [
            (rl.line_item.id, rl.quantity, rl.restock_type) for rl in r.refund_line_items.nodes
        ]
    refunded = _refunded_by_type(refund_lines)
    if locations is None:
        locations = {}
        probe = order.fulfillment_orders
        if probe is not None and len(probe.nodes) == 1 and not probe.page_info.has_next_page:
            place = probe.nodes[0].assigned_location.location
            if place is not None:
                whole = LineLocation(place.id)
                locations = {ln.id: whole for ln in items}
    lines = [
        _graphql_line(
            ln, shipped.get(ln.id, 0), refunded.get(ln.id, (0, 0, 0)), locations.get(ln.id)
        )
        for ln in items
    ]
    customer = None
    if order.customer is not None or order.email or order.phone:
        # ``displayName`` falls back to the email when the customer has no name.
        name = order.customer.display_name if order.customer else None
        customer = Customer(
            customer_id=legacy_id(order.customer.id) if order.customer else None,
            name=name if name and name != order.email else None,
            email=order.email,
            phone=order.phone,
        )
    shipments = [
        Shipment(
            carrier=(f.tracking_info[0].company if f.tracking_info else None) or "other",
            tracking_number=f.tracking_info[0].number if f.tracking_info else None,
            tracking_url=f.tracking_info[0].url if f.tracking_info else None,
            shipped_at=f.created_at,
        )
        for f in fulfillments
        if f.status.upper() == "SUCCESS"
    ]
    refunds = [
        Refund(
            refund_id=legacy_id(r.id),
            amount=_bag(r.total_refunded_set),
            created_at=r.created_at,
            reason=r.note,
        )
        for r in gql_refunds
    ]
    return Order(
        kind=KIND,
        account=account,
        order_id=order.legacy_resource_id or legacy_id(order.id),
        number=order.name,
        status=status,
        raw_status=raw_status,
        created_at=order.created_at,
        updated_at=max(order.updated_at, order.created_at),
        currency=currency,
        total=_bag(order.total_price_set),
        subtotal=_bag(order.subtotal_price_set),
        shipping_total=_bag(order.total_shipping_price_set),
        tax_total=_bag(order.total_tax_set),
        discount_total=_bag(order.total_discounts_set),
        lines=tuple(lines),
        customer=customer,
        shipping_address=_address(order.shipping_address),
        billing_address=_address(order.billing_address),
        shipments=tuple(shipments),
        refunds=tuple(refunds),
        tags=tuple(t for t in order.tags if t),
        raw=dict(raw),
    )


# -- orders that cannot be read ---------------------------------------------------------------


def order_failure(raw: Mapping[str, Any], exc: Exception) -> OrderFailure:
    """The ``OrderFailure`` of a GraphQL order node that cannot be read or mapped.

    The id is Shopify's numeric id (``legacyResourceId``, else the gid's tail), the time
    is the node's ``updatedAt``, each when the node has a readable one.
    """
    order_id: str | None = None
    legacy = raw.get("legacyResourceId")
    if isinstance(legacy, (str, int)) and str(legacy).strip():
        order_id = str(legacy).strip()
    elif isinstance(raw.get("id"), str) and raw["id"].strip():
        order_id = legacy_id(raw["id"])
    return failure(order_id, exc, iso_time(raw.get("updatedAt")), dict(raw))


# -- orders: REST (webhooks) -------------------------------------------------------------------


def order_from_rest(order: RestOrder, *, account: str, raw: Mapping[str, Any]) -> Order:
    """The ``Order`` of a REST order payload (``orders/*`` webhook bodies)."""
    status, raw_status = order_status(
        cancelled=order.cancelled_at is not None,
        financial=order.financial_status,
        fulfillment=order.fulfillment_status,
    )
    total = _set(order.total_price_set)
    currency = order.currency or (total.currency if total else None)
    if total is None and order.total_price is not None and currency:
        total = Money(amount=order.total_price, currency=currency)
    shipped: dict[str, int] = {}
    shipments: list[Shipment] = []
    for f in order.fulfillments:
        if (f.status or "").lower() != "success":
            continue
        lines = {str(li.id): li.quantity for li in f.line_items}
        for line_id, qty in lines.items():
            shipped[line_id] = shipped.get(line_id, 0) + qty
        shipments.append(
            Shipment(
                carrier=f.tracking_company or "other",
                tracking_number=f.tracking_number,
                tracking_url=f.tracking_url,
                shipped_at=f.created_at,
                lines={k: v for k, v in lines.items() if v > 0},
            )
        )
    refunded: dict[str, int] = {}
    refund_lines: list[tuple[str, int, str | None]] = []
    rest_refunds: list[Refund] = []
    for r in order.refunds:
        rlines: dict[str, int] = {}
        for rl in r.refund_line_items:
            key = str(rl.line_item_id)
            rlines[key] = rlines.get(key, 0) + rl.quantity
            refunded[key] = refunded.get(key, 0) + rl.quantity
            restock_type = rl.restock_type or ("legacy_restock" if r.restock else "no_restock")
            refund_lines.append((key, rl.quantity, restock_type))
        paid_back = [
            t
            for t in r.transactions
            if (t.kind or "").lower() == "refund" and (t.status or "success").lower() == "success"
        ]
        amount = None
        if paid_back and (paid_back[0].currency or currency):
            amount = Money(
                amount=sum((t.amount for t in paid_back), Decimal(0)),
                currency=paid_back[0].currency or currency or "",
            )
        rest_refunds.append(
            Refund(
                refund_id=str(r.id),
                amount=amount,
                created_at=r.created_at,
                reason=r.note,
                lines={k: v for k, v in rlines.items() if v > 0},
                restock=bool(r.restock)
                or any((rl.restock_type or "") in _RESTOCKING for rl in r.refund_line_items),
            )
        )
    by_type = _refunded_by_type(refund_lines)
    order_lines: list[OrderLine] = []
    for li in order.line_items:
        line_id = str(li.id)
        current = (
            li.current_quantity
            if li.current_quantity is not None
            else max(0, li.quantity - refunded.get(line_id, 0))
        )
        # Removed units are cancelled only where they had not shipped: a refund of a shipped
        # unit (a return, or money back while the buyer keeps it) leaves it shipped.
        returned, cancel, unsure = by_type.get(line_id, (0, 0, 0))
        fulfilled, cancelled = settle_line(
            quantity=li.quantity,
            current=current,
            unfulfilled=li.fulfillable_quantity,
            shipped=shipped.get(line_id, 0),
            returned=returned,
            cancelled=cancel,
            unsure=unsure,
        )
        unit = _set(li.price_set)
        if unit is None and li.price is not None and currency:
            unit = Money(amount=li.price, currency=currency)
        discount = None
        if li.discount_allocations and unit is not None:
            discount = Money(
                amount=sum(
                    (
                        d.amount_set.shop_money.amount if d.amount_set else d.amount
                        for d in li.discount_allocations
                    ),
                    Decimal(0),
                ),
                currency=unit.currency,
            )
        elif unit is not None:
            discount = Money.zero(unit.currency)
        line_total = None
        if unit is not None:
            line_total = unit * li.quantity - (discount or Money.zero(unit.currency))
        order_lines.append(
            OrderLine(
                line_id=line_id,
                sku=li.sku,
                title=li.name or li.title,
                quantity=li.quantity,
                unit_price=unit,
                total=line_total,
                discount=discount,
                quantity_shipped=fulfilled,
                quantity_cancelled=cancelled,
                channel_ids={"line_item_id": gid("LineItem", line_id)},
            )
        )
    customer = None
    email = order.email or order.contact_email
    if order.customer is not None or email or order.phone:
        c = order.customer
        customer = Customer(
            customer_id=str(c.id) if c is not None else None,
            name=_name(None, c.first_name, c.last_name) if c is not None else None,
            email=email or (c.email if c else None),
            phone=order.phone or (c.phone if c else None),
        )
    return Order(
        kind=KIND,
        account=account,
        order_id=str(order.id),
        number=order.name,
        status=status,
        raw_status=raw_status,
        created_at=order.created_at,
        updated_at=max(order.updated_at or order.created_at, order.created_at),
        currency=currency,
        total=total,
        subtotal=_set(order.subtotal_price_set),
        shipping_total=_set(order.total_shipping_price_set),
        tax_total=_set(order.total_tax_set),
        discount_total=_set(order.total_discounts_set),
        lines=tuple(order_lines),
        customer=customer,
        shipping_address=_address(order.shipping_address),
        billing_address=_address(order.billing_address),
        shipments=tuple(shipments),
        refunds=tuple(rest_refunds),
        tags=tuple(t.strip() for t in (order.tags or "").split(",") if t.strip()),
        raw=dict(raw),
    )


# -- listings and stock ------------------------------------------------------------------------


def listing_from_variant(
    variant: GqlVariant,
    *,
    account: str,
    location_id: str,
    currency: str,
    more_levels: Iterable[InventoryLevel] = (),
) -> Listing | None:
    """The ``Listing`` of a variant (None for a variant without SKU).

    ``levels`` holds every location the item is stocked at (location GID -> ``available``;
    None when Shopify does not track the item's quantity): the variant's one level at
    ``location_id`` (``Variants``), or its levels (``VariantsLevels``) and ``more_levels``
    past the first page. ``quantity`` is ``available`` at ``location_id``, the account's
    default location: what a ``StockUpdate`` without a location sets and compares against
    (None when the item is not stocked there). ``manages_stock`` is False when Shopify
    does not track the item or it is stocked nowhere: channelsync cannot set a quantity.
    """
    if not variant.sku or not variant.sku.strip():
        return None
    item = variant.inventory_item
    found: list[tuple[str, InventoryLevel]] = []
    if item.inventory_levels is not None:
        for level in [*item.inventory_levels.nodes, *more_levels]:
            if level.location is not None:
                found.append((level.location.id, level))
    elif item.inventory_level is not None:
        found.append((location_id, item.inventory_level))
    levels: dict[str, int | None] = {
        place: (level.quantity("available") if item.tracked else None) for place, level in found
    }
    return Listing(
        kind=KIND,
        account=account,
        sku=variant.sku,
        listing_id=variant.legacy_resource_id or legacy_id(variant.id),
        quantity=levels.get(location_id),
        price=Money(amount=variant.price, currency=currency) if variant.price is not None else None,
        title=variant.display_name or variant.title,
        manages_stock=item.tracked and bool(levels),
        ids={
            "variant_id": variant.id,
            "product_id": variant.product.id,
            "inventory_item_id": item.id,
            "location_id": location_id,
        },
        levels=levels,
    )


def quantity_input(
    update: StockUpdate, *, location_id: str, cas_field: str, compare: bool
) -> dict[str, Any]:
    """One ``InventoryQuantityInput`` for ``update``, at ``location_id`` (the caller resolves
    the update's own location, or the account's default for an update without one).

    With ``changeFromQuantity`` the field is always sent: the expected quantity, or an
    explicit null to opt out (omitting it is an error from 2026-04). With the legacy
    ``compareQuantity`` it is sent only when ``compare`` (the call opts out otherwise).
    """
    listing = update.listing
    if listing is None or "inventory_item_id" not in listing.ids:
        raise ValueError(f"{update.sku}: no Shopify inventory item id on the listing")
    value: dict[str, Any] = {
        "inventoryItemId": gid("InventoryItem", listing.ids["inventory_item_id"]),
        "locationId": gid("Location", location_id),
        "quantity": update.quantity,
    }
    if cas_field == "changeFromQuantity":
        value["changeFromQuantity"] = update.expected
    elif compare:
        value["compareQuantity"] = update.expected
    return value
