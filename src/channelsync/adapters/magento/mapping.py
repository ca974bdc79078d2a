"""Pure functions between Magento 2 REST payloads and channelsync's models.

Orders: Magento writes a configurable product as a parent row (the price, and the chosen
child's SKU) and a child row (the simple product); a bundle as a parent row (the bundle) and
one child row per component. Each unit of stock is counted once:

* configurable: one line, from the parent row (its ``item_id``, price and quantities) with
  the child's SKU; the child row is not a line of its own.
* bundle: one line per component (child row, its own SKU and quantity), whose shipped,
  cancelled and refunded units are at least the bundle's share (Magento may keep them on the
  parent row when the bundle ships together); the bundle row itself is a line without a SKU
  (its price, never stock).

A row's open units follow Magento's own ``getQtyToShip``: ordered minus
``max(shipped, refunded)`` minus cancelled. Refunded units beyond the shipped ones never ship,
so they count as cancelled here; refunded units that had shipped are returns, which do not
change what was shipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from channelsync.adapters._failures import ORDER_DATA_ERRORS, failure
from channelsync.adapters.magento.payloads import (
    Creditmemo,
    MagentoAddress,
    MagentoOrder,
    OrderItem,
    Product,
    Shipment,
)
from channelsync.core.channel import OrderFailure
from channelsync.core.models import (
    Address,
    Customer,
    Listing,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
)
from channelsync.core.models import Shipment as ShipmentModel

__all__ = [
    "KIND",
    "ORDER_DATA_ERRORS",
    "STOCK_TYPES",
    "address_from_payload",
    "line_index",
    "listing_from_product",
    "magento_time",
    "open_units",
    "order_failure",
    "order_from_payload",
    "order_lines",
    "order_status",
    "parse_magento_time",
    "price_row",
    "refund_from_creditmemo",
    "ship_items",
    "shipment_from_payload",
    "source_item",
]

KIND = "magento"

#: Product types that hold stock of their own (configurable, bundle and grouped products
#: are made of such products and hold none).
STOCK_TYPES = frozenset({"simple", "virtual", "downloadable", "giftcard"})

#: Magento's order states (fixed; statuses are the merchant's labels inside a state).
_STATES: dict[str, OrderStatus] = {
    "new": OrderStatus.PENDING,
    "pending_payment": OrderStatus.PENDING,
    "payment_review": OrderStatus.PENDING,
    "processing": OrderStatus.OPEN,
    "holded": OrderStatus.OPEN,
    "complete": OrderStatus.SHIPPED,
    "closed": OrderStatus.REFUNDED,
    "canceled": OrderStatus.CANCELLED,
}


def parse_magento_time(value: str | None) -> datetime:
    """Magento's ``2024-05-01 10:00:00`` (stored in UTC), or ISO 8601 with a zone, as aware UTC."""
    if not value:
        raise ValueError("missing time")
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def magento_time(moment: datetime) -> str:
    """A UTC time in Magento's filter format (``2024-05-01 10:00:00``, whole seconds)."""
    if moment.tzinfo is None:
        raise ValueError("time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _units(value: Decimal, what: str, item: OrderItem) -> int:
    if value != value.to_integral_value():
        raise ValueError(
            f"item {item.item_id} ({item.sku or 'no SKU'}) has a fractional {what} ({value});"
            " channelsync counts whole units"
        )
    return int(value)


def order_status(state: str | None, lines: Sequence[OrderLine] = ()) -> OrderStatus:
    """The normalised status of an order in Magento ``state`` with ``lines``.

    ``processing`` and ``holded`` orders with shipped units are partially shipped, or shipped
    when no unit is left to ship (Magento keeps a shipped order ``processing`` until it is
    invoiced too).
    """
    if state is None or state not in _STATES:
        raise ValueError(f"unknown order state {state!r}")
    status = _STATES[state]
    if status is OrderStatus.OPEN and any(ln.quantity_shipped > 0 for ln in lines):
        # Shipped but not (fully) invoiced stays "processing" in Magento.
        if all(ln.quantity_open == 0 for ln in lines):
            return OrderStatus.SHIPPED
        return OrderStatus.PARTIALLY_SHIPPED
    return status


def _money(value: Decimal | None, currency: str | None) -> Money | None:
    return None if value is None or currency is None else Money(amount=value, currency=currency)


def _counts(item: OrderItem) -> tuple[int, int, int, int]:
    return (
        _units(item.qty_ordered, "quantity", item),
        _units(item.qty_shipped, "shipped quantity", item),
        _units(item.qty_canceled, "cancelled quantity", item),
        _units(item.qty_refunded, "refunded quantity", item),
    )


def _settle(ordered: int, shipped: int, canceled: int, refunded: int) -> tuple[int, int]:
    """(shipped, cancelled) of a row: refunded units beyond the shipped ones never ship."""
    shipped = min(shipped, ordered)
    cancelled = canceled + max(0, refunded - shipped)
    return shipped, min(cancelled, ordered - shipped)


def order_lines(items: Sequence[OrderItem], currency: str | None) -> tuple[OrderLine, ...]:
    """The order's lines, each unit of stock counted once (see the module docstring)."""
    by_id = {item.item_id: item for item in items}
    children: dict[int, list[OrderItem]] = {}
    for item in items:
        if item.parent_item_id is not None and item.parent_item_id in by_id:
            children.setdefault(item.parent_item_id, []).append(item)
    lines: list[OrderLine] = []
    for item in items:
        if item.parent_item_id is not None and item.parent_item_id in by_id:
            continue  # written with its parent below
        kids = children.get(item.item_id, [])
        if item.product_type == "configurable":
            lines.append(_configurable_line(item, kids, currency))
        elif item.product_type == "bundle":
            lines += _bundle_lines(item, kids, currency)
        else:
            lines.append(_simple_line(item, currency))
    return tuple(lines)


def _simple_line(item: OrderItem, currency: str | None) -> OrderLine:
    ordered, shipped, canceled, refunded = _counts(item)
    shipped, cancelled = _settle(ordered, shipped, canceled, refunded)
    ids = {"item_id": str(item.item_id)}
    if item.product_id is not None:
        ids["product_id"] = str(item.product_id)
    return OrderLine(
        line_id=str(item.item_id),
        sku=item.sku,
        title=item.name,
        quantity=ordered,
        unit_price=_money(item.base_price, currency),
        total=_money(item.base_row_total, currency),
        tax=_money(item.base_tax_amount, currency),
        discount=_money(abs(item.base_discount_amount), currency)
        if item.base_discount_amount is not None
        else None,
        quantity_shipped=shipped,
        quantity_cancelled=cancelled,
        channel_ids=ids,
    )


def _configurable_line(
    parent: OrderItem, kids: Sequence[OrderItem], currency: str | None
) -> OrderLine:
    ordered, shipped, canceled, refunded = _counts(parent)
    child = kids[0] if kids else None
    if child is not None:
        _, c_shipped, c_canceled, c_refunded = _counts(child)
        shipped, canceled, refunded = (
            max(shipped, c_shipped),
            max(canceled, c_canceled),
            max(refunded, c_refunded),
        )
    shipped, cancelled = _settle(ordered, shipped, canceled, refunded)
    ids = {"item_id": str(parent.item_id)}
    if child is not None:
        ids["child_item_id"] = str(child.item_id)
        if child.product_id is not None:
            ids["product_id"] = str(child.product_id)
    if parent.product_id is not None:
        ids["parent_product_id"] = str(parent.product_id)
    return OrderLine(
        line_id=str(parent.item_id),
        sku=(child.sku if child is not None and child.sku else parent.sku),
        title=(child.name if child is not None and child.name else parent.name),
        quantity=ordered,
        unit_price=_money(parent.base_price, currency),
        total=_money(parent.base_row_total, currency),
        tax=_money(parent.base_tax_amount, currency),
        discount=_money(abs(parent.base_discount_amount), currency)
        if parent.base_discount_amount is not None
        else None,
        quantity_shipped=shipped,
        quantity_cancelled=cancelled,
        channel_ids=ids,
    )


def _bundle_lines(
    parent: OrderItem, kids: Sequence[OrderItem], currency: str | None
) -> list[OrderLine]:
    p_ordered, p_shipped, p_canceled, p_refunded = _counts(parent)
    p_shipped_n, p_cancelled_n = _settle(p_ordered, p_shipped, p_canceled, p_refunded)
    lines = [
        OrderLine(
            line_id=str(parent.item_id),
            sku=None,
            title=parent.name or parent.sku,
            quantity=p_ordered,
            unit_price=_money(parent.base_price, currency),
            total=_money(parent.base_row_total, currency),
            tax=_money(parent.base_tax_amount, currency),
            quantity_shipped=p_shipped_n,
            quantity_cancelled=p_cancelled_n,
            channel_ids={"item_id": str(parent.item_id), "bundle_sku": parent.sku or ""},
        )
    ]
    for kid in kids:
        ordered, shipped, canceled, refunded = _counts(kid)
        if p_ordered > 0:
            per = Decimal(ordered) / Decimal(p_ordered)
            shipped = max(shipped, int(per * p_shipped))
            canceled = max(canceled, int(per * p_canceled))
            refunded = max(refunded, int(per * p_refunded))
        shipped, cancelled = _settle(ordered, shipped, canceled, refunded)
        price = kid.base_price if kid.base_price else None
        lines.append(
            OrderLine(
                line_id=str(kid.item_id),
                sku=kid.sku,
                title=kid.name,
                quantity=ordered,
                unit_price=_money(price, currency),
                total=_money(kid.base_row_total if price else None, currency),
                quantity_shipped=shipped,
                quantity_cancelled=cancelled,
                channel_ids={
                    "item_id": str(kid.item_id),
                    "parent_item_id": str(parent.item_id),
                    **({"product_id": str(kid.product_id)} if kid.product_id else {}),
                },
            )
        )
    return lines


def open_units(items: Sequence[OrderItem]) -> dict[str, int]:
    """Units per SKU (lower-cased: Magento's SKUs ignore case) not yet shipped, cancelled or
    refunded: what Multi-Source Inventory still holds reserved for the order."""
    out: dict[str, int] = {}
    for line in order_lines(items, None):
        if line.sku and line.quantity_open > 0:
            key = line.sku.lower()
            out[key] = out.get(key, 0) + line.quantity_open
    return out


def line_index(items: Sequence[OrderItem]) -> dict[int, str]:
    """Magento ``item_id`` -> the line id channelsync gives it (a configurable's child row
    maps to its parent's line)."""
    by_id = {item.item_id: item for item in items}
    out: dict[int, str] = {}
    for item in items:
        parent = by_id.get(item.parent_item_id) if item.parent_item_id is not None else None
        if parent is not None and parent.product_type == "configurable":
            out[item.item_id] = str(parent.item_id)
        else:
            out[item.item_id] = str(item.item_id)
    return out


def address_from_payload(address: MagentoAddress | None) -> Address | None:
    """``OrderAddressInterface`` as an ``Address`` (None when absent)."""
    if address is None:
        return None
    name = " ".join(p for p in (address.firstname, address.lastname) if p) or None
    return Address(
        name=name,
        company=address.company or None,
        lines=tuple(address.street),
        city=address.city,
        postal_code=address.postcode,
        region=address.region or address.region_code,
        country_code=address.country_id or None,
        phone=address.telephone or None,
    )


def _at_sources(
    lines: Sequence[OrderLine], shipments: Sequence[Shipment], index: Mapping[int, str]
) -> tuple[OrderLine, ...]:
    """Each line carries the MSI source its units shipped from as ``location_id`` (the
    source that shipped most of them), so the ledger ships them where Magento deducted
    them; a line nothing has shipped of has no source yet (Magento picks one when it ships).
    """
    units: dict[str, dict[str, int]] = {}
    for shipment in shipments:
        ext = shipment.extension_attributes
        source = ext.source_code if ext is not None else None
        if not source:
            continue
        for item in shipment.items:
            if item.qty > 0 and item.order_item_id in index:
                by_source = units.setdefault(index[item.order_item_id], {})
                by_source[source] = by_source.get(source, 0) + int(item.qty)
    if not units:
        return tuple(lines)
    out = []
    for line in lines:
        shipped = units.get(line.line_id, {})
        if shipped and line.location_id is None:
            source = max(sorted(shipped), key=lambda code: shipped[code])
            line = line.model_copy(update={"location_id": source})
        out.append(line)
    return tuple(out)


def shipment_from_payload(shipment: Shipment, lines: Mapping[int, str]) -> ShipmentModel:
    """A Magento shipment (with its tracks) as a channelsync ``Shipment``."""
    track = shipment.tracks[0] if shipment.tracks else None
    carrier = (track.title or track.carrier_code) if track is not None else None
    shipped: dict[str, int] = {}
    for item in shipment.items:
        if item.qty > 0 and item.order_item_id in lines:
            key = lines[item.order_item_id]
            shipped[key] = max(shipped.get(key, 0), int(item.qty))
    return ShipmentModel(
        carrier=carrier or "unknown",
        tracking_number=track.track_number if track is not None else None,
        shipped_at=parse_magento_time(shipment.created_at) if shipment.created_at else None,
        lines=shipped,
    )


def refund_from_creditmemo(memo: Creditmemo, currency: str, lines: Mapping[int, str]) -> Refund:
    """A credit memo as a ``Refund`` (its base grand total, in the base currency)."""
    refunded: dict[str, int] = {}
    for item in memo.items:
        if item.qty > 0 and item.order_item_id in lines:
            key = lines[item.order_item_id]
            refunded[key] = max(refunded.get(key, 0), int(item.qty))
    return Refund(
        refund_id=str(memo.entity_id),
        amount=_money(memo.base_grand_total, memo.base_currency_code or currency),
        created_at=parse_magento_time(memo.created_at) if memo.created_at else None,
        lines=refunded,
    )


def order_from_payload(
    order: MagentoOrder,
    raw: Mapping[str, Any],
    *,
    account: str,
    currency: str | None = None,
    shipments: Iterable[Shipment] = (),
    creditmemos: Iterable[Creditmemo] = (),
) -> Order:
    """A Magento order as an ``Order``; raises ``ValueError`` (or a pydantic error) when the
    payload cannot be mapped (see ``order_failure``)."""
    base = order.base_currency_code or currency
    if not base:
        raise ValueError("the order has no base_currency_code and no currency is configured")
    index = line_index(order.items)
    shipments = tuple(shipments)
    lines = _at_sources(order_lines(order.items, base), shipments, index)
    status = order_status(order.state, lines)
    created = parse_magento_time(order.created_at)
    updated = parse_magento_time(order.updated_at) if order.updated_at else created
    customer = Customer(
        customer_id=str(order.customer_id) if order.customer_id else None,
        name=" ".join(p for p in (order.customer_firstname, order.customer_lastname) if p) or None,
        email=order.customer_email or None,
    )
    return Order(
        kind=KIND,
        account=account,
        order_id=str(order.entity_id),
        number=order.increment_id,
        status=status,
        raw_status=order.status or order.state,
        created_at=created,
        updated_at=max(updated, created),
        currency=base,
        total=_money(order.base_grand_total, base),
        subtotal=_money(order.base_subtotal, base),
        shipping_total=_money(order.base_shipping_amount, base),
        tax_total=_money(order.base_tax_amount, base),
        discount_total=_money(abs(order.base_discount_amount), base)
        if order.base_discount_amount is not None
        else None,
        lines=lines,
        customer=customer,
        shipping_address=address_from_payload(order.shipping_address),
        billing_address=address_from_payload(order.billing_address),
        shipments=tuple(shipment_from_payload(s, index) for s in shipments),
        refunds=tuple(refund_from_creditmemo(m, base, index) for m in creditmemos),
        raw=dict(raw),
    )


def order_failure(raw: Mapping[str, Any], exc: Exception) -> OrderFailure:
    """The ``OrderFailure`` of an order that cannot be mapped."""
    order_id = raw.get("entity_id")
    updated: datetime | None = None
    try:
        updated = parse_magento_time(raw.get("updated_at") or raw.get("created_at"))
    except (ValueError, TypeError):
        updated = None
    return failure(str(order_id) if order_id is not None else None, exc, updated, raw)


def listing_from_product(
    product: Product,
    *,
    account: str,
    currency: str | None,
    quantity: int | None,
    manages_stock: bool,
    source_code: str | None,
    stock_item_id: int | None = None,
    parent: Product | None = None,
    levels: Mapping[str, int | None] | None = None,
) -> Listing:
    """A product that holds stock, as a ``Listing`` (``ids`` name its product id, stock item
    id, source and, for a configurable's child, the parent; ``levels`` its quantity per
    source code, for stores whose account keeps one per source)."""
    ids = {"product_id": str(product.id), "type_id": product.type_id}
    if stock_item_id is not None:
        ids["stock_item_id"] = str(stock_item_id)
    if source_code is not None:
        ids["source_code"] = source_code
    if parent is not None:
        ids["parent_id"] = str(parent.id)
        ids["parent_sku"] = parent.sku
    price = (
        Money(amount=product.price, currency=currency)
        if product.price is not None and currency
        else None
    )
    return Listing(
        kind=KIND,
        account=account,
        sku=product.sku,
        listing_id=str(product.id),
        quantity=quantity,
        price=price,
        title=product.name,
        manages_stock=manages_stock,
        ids=ids,
        levels=dict(levels or {}),
    )


def source_item(sku: str, source_code: str, quantity: int) -> dict[str, Any]:
    """One ``SourceItemInterface`` to save: in stock (status 1) while units are left."""
    return {
        "sku": sku,
        "source_code": source_code,
        "quantity": quantity,
        "status": 1 if quantity > 0 else 0,
    }


def price_row(sku: str, price: Money) -> dict[str, Any]:
    """One ``BasePriceInterface`` row for the global (store 0) price."""
    return {"sku": sku, "price": price.amount, "store_id": 0}


def ship_items(
    items: Sequence[OrderItem], wanted: Mapping[str, int] | None
) -> list[dict[str, int]]:
    """The ``items`` of ``POST /V1/order/{id}/ship``: ``order_item_id`` and ``qty``.

    ``wanted`` maps channelsync line ids to units (None: every unit still to ship). Top-level
    rows are named (Magento ships a configurable's or bundle's children with their parent),
    and a bundle's component only when ``wanted`` names it (a bundle shipped separately).
    Units already shipped, cancelled or refunded are left out.
    """
    out: list[dict[str, int]] = []
    for item in items:
        if item.parent_item_id is not None and (wanted is None or str(item.item_id) not in wanted):
            continue  # shipped with its parent (a bundle shipped separately names them)
        ordered, shipped, canceled, refunded = _counts(item)
        open_units = max(0, ordered - max(shipped, refunded) - canceled)
        want = open_units if wanted is None else min(open_units, wanted.get(str(item.item_id), 0))
        if want > 0:
            out.append({"order_item_id": item.item_id, "qty": want})
    return out
