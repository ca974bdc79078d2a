"""Pure functions between SP-API payloads and channelsync models (no I/O, no SDK).

Orders come from the Orders API v2026-01-01 (``searchOrders`` / ``getOrder``), listings
from the Listings Items API 2021-08-01; writes go out as JSON Patch documents for
``patchListingsItem`` (or as ``JSON_LISTINGS_FEED`` messages, see ``feeds.py``) and as a
``confirmShipment`` body. Amazon withholds some data (buyer and address without the PII
roles, totals while an order is pending): such fields stay ``None``, never invented.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from channelsync.adapters._failures import ORDER_DATA_ERRORS, describe_error, failure, iso_time
from channelsync.adapters.amazon.config import MARKETPLACES
from channelsync.adapters.amazon.payloads import (
    CustomerAddress,
    ListingsItem,
    ProceedsBreakdown,
    SpMoney,
    SpOrder,
    SpOrderItem,
)
from channelsync.core.channel import OrderFailure
from channelsync.core.models import (
    Address,
    CancelRequest,
    Customer,
    Listing,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
)

__all__ = [
    "CARRIER_CODES",
    "FULFILLMENT_STATUS",
    "KIND",
    "ORDER_DATA_ERRORS",
    "confirm_shipment_body",
    "describe_error",
    "is_fulfilled_by_amazon",
    "json_number",
    "listing_from_item",
    "listing_from_payload",
    "money",
    "order_failure",
    "order_from_payload",
    "order_from_wire",
    "price_patch",
    "stock_patch",
]

log = logging.getLogger(__name__)

KIND = "amazon"

#: Orders API v2026-01-01 ``fulfillmentStatus`` → our lifecycle.
FULFILLMENT_STATUS: dict[str, OrderStatus] = {
    "PENDING_AVAILABILITY": OrderStatus.PENDING,  # pre-order, not yet paid
    "PENDING": OrderStatus.PENDING,  # placed, payment not yet authorised
    "UNSHIPPED": OrderStatus.OPEN,
    "PARTIALLY_SHIPPED": OrderStatus.PARTIALLY_SHIPPED,
    "SHIPPED": OrderStatus.SHIPPED,
    "CANCELLED": OrderStatus.CANCELLED,
    "UNFULFILLABLE": OrderStatus.CANCELLED,  # FBA multi-channel only: will never ship
}

#: Carrier codes Amazon knows (a subset of its list); any other carrier goes out as
#: ``carrierCode: "Other"`` with the name in ``carrierName``, as Amazon asks.
CARRIER_CODES: dict[str, str] = {
    c.casefold(): c
    for c in (
        "UPS",
        "USPS",
        "FedEx",
        "DHL",
        "DHL eCommerce",
        "Deutsche Post",
        "DPD",
        "GLS",
        "Hermes",
        "Royal Mail",
        "Parcelforce",
        "Yodel",
        "Colissimo",
        "Chronopost",
        "La Poste",
        "Poste Italiane",
        "BRT",
        "SDA",
        "Correos",
        "SEUR",
        "PostNL",
        "bpost",
        "Canada Post",
        "Australia Post",
        "Japan Post",
        "Yamato Transport",
        "Amazon Shipping",
        "OnTrac",
    )
}

_PROGRAM_TAGS = {"PRIME": "prime", "AMAZON_BUSINESS": "business", "PREMIUM": "premium"}


def money(value: SpMoney | None) -> Money | None:
    """An SP-API ``Money`` as ours (``None`` stays ``None``)."""
    if value is None:
        return None
    try:
        amount = Decimal(value.amount)
    except InvalidOperation:
        raise ValueError(f"amount {value.amount!r} is not a decimal number") from None
    return Money(amount=amount, currency=value.currency_code)


def _breakdown(items: Iterable[ProceedsBreakdown], kind: str) -> Money | None:
    found = [money(b.subtotal) for b in items if b.type == kind]
    amounts = [m for m in found if m is not None]
    if not amounts:
        return None
    total = amounts[0]
    for m in amounts[1:]:
        total = total + m
    return total


def _status(raw: str | None, order_id: str) -> OrderStatus:
    if raw is None:
        # Without the FULFILLMENT dataset Amazon sends no status; the adapter always asks
        # for it, so this is a payload we cannot place: hold its units (pending).
        log.warning("amazon order %s has no fulfillment status; treated as pending", order_id)
        return OrderStatus.PENDING
    status = FULFILLMENT_STATUS.get(raw)
    if status is None:
        log.warning("amazon order %s: unknown status %r treated as pending", order_id, raw)
        return OrderStatus.PENDING
    return status


def _line(item: SpOrderItem, status: OrderStatus, fba: bool) -> OrderLine:
    quantity = max(0, item.quantity_ordered)
    shipped = 0
    cancelled = 0
    fulfilled = item.fulfillment.quantity_fulfilled if item.fulfillment else None
    unfulfilled = item.fulfillment.quantity_unfulfilled if item.fulfillment else None
    if fulfilled is not None:
        shipped = min(max(0, fulfilled), quantity)
    elif status is OrderStatus.SHIPPED:
        shipped = quantity
    if status is OrderStatus.CANCELLED:
        cancelled = quantity - shipped
    elif fulfilled is not None and unfulfilled is not None:
        # Units neither shipped nor still to ship were cancelled.
        cancelled = max(0, quantity - shipped - max(0, unfulfilled))
    unit_price = money(item.product.price.unit_price) if item.product.price else None
    proceeds = item.proceeds
    ids = {"orderItemId": item.order_item_id}
    if item.product.asin:
        ids["asin"] = item.product.asin
    return OrderLine(
        line_id=item.order_item_id,
        sku=item.product.seller_sku,
        title=item.product.title,
        quantity=quantity,
        unit_price=unit_price,
        total=money(proceeds.proceeds_total) if proceeds else None,
        tax=_breakdown(proceeds.breakdowns, "TAX") if proceeds else None,
        discount=_breakdown(proceeds.breakdowns, "DISCOUNT") if proceeds else None,
        quantity_shipped=shipped,
        quantity_cancelled=cancelled,
        fulfilled_by_channel=fba,
        channel_ids=ids,
    )


def _lines(order: SpOrder, status: OrderStatus, fba: bool) -> list[OrderLine]:
    lines = []
    for index, item in enumerate(order.order_items):
        try:
            lines.append(_line(item, status, fba))
        except ValueError as exc:  # pydantic's ValidationError too: name the item
            raise ValueError(
                f"orderItems[{index}] (orderItemId {item.order_item_id}): {describe_error(exc)}"
            ) from exc
    return lines


def _address(addr: CustomerAddress | None) -> Address | None:
    if addr is None:
        return None
    values = (addr.name, addr.address_line1, addr.city, addr.postal_code, addr.country_code)
    if not any(values):
        return None
    return Address(
        name=addr.name or None,
        company=addr.company_name or None,
        lines=tuple(x for x in (addr.address_line1, addr.address_line2, addr.address_line3) if x),
        city=addr.city or None,
        postal_code=addr.postal_code or None,
        region=addr.state_or_region or None,
        country_code=addr.country_code or None,
        phone=addr.phone or None,
    )


def _cancel_request(order: SpOrder, status: OrderStatus) -> CancelRequest | None:
    """The buyer's open cancellation request (``cancellation.cancellationRequest`` of the
    items with no ``cancellationExecution`` yet); None once nothing is left to cancel."""
    if not status.commits_stock:
        return None
    asked = [
        item
        for item in order.order_items
        if item.cancellation is not None
        and item.cancellation.cancellation_request is not None
        and item.cancellation.cancellation_execution is None
    ]
    if not asked:
        return None
    first = asked[0].cancellation.cancellation_request if asked[0].cancellation else None
    every = len(asked) == len(order.order_items)
    return CancelRequest(
        requested_by=((first.requester if first else None) or "BUYER").lower(),
        reason=first.cancel_reason if first else None,
        lines=() if every else tuple(i.order_item_id for i in asked),
    )


def is_fulfilled_by_amazon(order: SpOrder) -> bool:
    """Whether Amazon's own warehouses ship the order (FBA)."""
    return bool(order.fulfillment and order.fulfillment.fulfilled_by == "AMAZON")


def order_from_wire(order: SpOrder, *, account: str, raw: Mapping[str, Any]) -> Order:
    """One Orders API v2026-01-01 order as our ``Order``."""
    status = _status(
        order.fulfillment.fulfillment_status if order.fulfillment else None, order.order_id
    )
    fba = is_fulfilled_by_amazon(order)
    proceeds = order.proceeds
    total = money(proceeds.grand_total) if proceeds else None
    marketplace_id = order.sales_channel.marketplace_id
    currency = (
        total.currency
        if total
        else next(
            (
                i.product.price.unit_price.currency_code
                for i in order.order_items
                if i.product.price and i.product.price.unit_price
            ),
            None,
        )
    )
    if currency is None and marketplace_id in MARKETPLACES:
        currency = MARKETPLACES[marketplace_id].currency
    buyer = order.buyer
    customer = (
        Customer(name=buyer.buyer_name or None, email=buyer.buyer_email or None)
        if buyer and (buyer.buyer_name or buyer.buyer_email)
        else None
    )
    shipments = tuple(
        Shipment(
            carrier=p.carrier or p.shipping_service or "unknown",
            tracking_number=p.tracking_number or None,
            shipped_at=p.ship_time,
            lines={pi.order_item_id: pi.quantity for pi in p.package_items if pi.quantity > 0},
        )
        for p in order.packages or ()
    )
    tags = [_PROGRAM_TAGS.get(p, p.lower()) for p in order.programs or ()]
    tags.append("fba" if fba else "fbm")
    if marketplace_id:
        tags.append(f"marketplace:{marketplace_id}")
    seller_order_id = next(
        (a.alias_id for a in order.order_aliases if a.alias_type == "SELLER_ORDER_ID"), None
    )
    if seller_order_id:
        tags.append(f"seller_order_id:{seller_order_id}")
    return Order(
        kind=KIND,
        account=account,
        order_id=order.order_id,
        number=order.order_id,
        status=status,
        raw_status=order.fulfillment.fulfillment_status if order.fulfillment else None,
        created_at=order.created_time,
        updated_at=max(order.last_updated_time, order.created_time),
        currency=currency,
        total=total,
        subtotal=_breakdown(proceeds.breakdowns, "ITEM") if proceeds else None,
        shipping_total=_breakdown(proceeds.breakdowns, "SHIPPING") if proceeds else None,
        tax_total=_breakdown(proceeds.breakdowns, "TAX") if proceeds else None,
        discount_total=_breakdown(proceeds.breakdowns, "DISCOUNT") if proceeds else None,
        lines=tuple(_lines(order, status, fba)),
        cancel_request=_cancel_request(order, status),
        customer=customer,
        shipping_address=_address(order.recipient.delivery_address if order.recipient else None),
        shipments=shipments,
        tags=tuple(tags),
        raw=dict(raw),
    )


def order_from_payload(payload: Mapping[str, Any], *, account: str) -> Order:
    """An Orders API v2026-01-01 ``Order`` JSON object as our ``Order``.

    Raises ``pydantic.ValidationError`` when the payload is not such an order.
    """
    return order_from_wire(SpOrder.model_validate(payload), account=account, raw=payload)


# -- orders that cannot be read ------------------------------------------------------------


def order_failure(raw: Mapping[str, Any], exc: Exception) -> OrderFailure:
    """The ``OrderFailure`` of an Orders API order that cannot be read or mapped.

    The id is the JSON's ``orderId`` and the time its ``lastUpdatedTime``, each when the
    JSON has a readable one.
    """
    value = raw.get("orderId")
    order_id = value.strip() if isinstance(value, str) and value.strip() else None
    updated_at = iso_time(raw.get("lastUpdatedTime"))
    return failure(order_id, exc, updated_at, dict(raw))


# -- listings -------------------------------------------------------------------------------


def listing_from_item(
    item: ListingsItem, *, account: str, marketplace_ids: Sequence[str]
) -> Listing:
    """A Listings Items API item as our ``Listing``.

    Stock is the ``DEFAULT`` (merchant-fulfilled) entry of ``fulfillmentAvailability``;
    an item with only Amazon fulfillment channels (``AMAZON_EU``...) is FBA: its stock is
    Amazon's (``fulfilled_by="channel"``). Title, price and product type come from the
    first of ``marketplace_ids`` the item has, else from its first marketplace.
    """
    primary = next(
        (s for mid in marketplace_ids for s in item.summaries if s.marketplace_id == mid),
        item.summaries[0] if item.summaries else None,
    )
    offer = next(
        (
            o
            for mid in marketplace_ids
            for o in item.offers
            if o.marketplace_id == mid and o.offer_type == "B2C"
        ),
        next((o for o in item.offers if o.offer_type == "B2C"), None),
    )
    merchant = next(
        (f for f in item.fulfillment_availability if f.fulfillment_channel_code == "DEFAULT"),
        None,
    )
    amazon = [f for f in item.fulfillment_availability if f.fulfillment_channel_code != "DEFAULT"]
    fba = merchant is None and bool(amazon)
    quantity = merchant.quantity if merchant else (amazon[0].quantity if amazon else None)
    ids: dict[str, str] = {}
    if primary is not None:
        ids["marketplaceId"] = primary.marketplace_id
        if primary.product_type:
            ids["productType"] = primary.product_type
        if primary.asin:
            ids["asin"] = primary.asin
        if primary.fn_sku:
            ids["fnSku"] = primary.fn_sku
    if fba:
        ids["fulfillmentChannelCode"] = amazon[0].fulfillment_channel_code
    return Listing(
        kind=KIND,
        account=account,
        sku=item.sku,
        listing_id=item.sku,
        quantity=quantity,
        price=money(offer.price) if offer else None,
        title=primary.item_name if primary else None,
        manages_stock=True,
        fulfilled_by="channel" if fba else "merchant",
        ids=ids,
    )


def listing_from_payload(
    payload: Mapping[str, Any], *, account: str, marketplace_ids: Sequence[str]
) -> Listing:
    """A Listings Items API ``Item`` JSON object as our ``Listing``."""
    return listing_from_item(
        ListingsItem.model_validate(payload), account=account, marketplace_ids=marketplace_ids
    )


# -- writes ---------------------------------------------------------------------------------


def stock_patch(quantity: int, op: Literal["merge", "replace"] = "merge") -> dict[str, Any]:
    """The JSON Patch that sets the merchant-fulfilled quantity (``DEFAULT`` channel)."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    return {
        "op": op,
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
    }


def price_patch(price: Money, marketplace_ids: Sequence[str]) -> dict[str, Any]:
    """The JSON Patch that sets the B2C price (``our_price``) in each marketplace given.

    Amounts go out as JSON numbers (the attribute schema's type); ``Decimal`` keeps them
    exact to the cent when serialised by ``json_number``.
    """
    return {
        "op": "merge",
        "path": "/attributes/purchasable_offer",
        "value": [
            {
                "marketplace_id": mid,
                "currency": price.currency,
                "audience": "ALL",
                "our_price": [{"schedule": [{"value_with_tax": json_number(price.amount)}]}],
            }
            for mid in marketplace_ids
        ],
    }


def json_number(amount: Decimal) -> int | float:
    """A Decimal as the JSON number with the same digits (``19.99`` → ``19.99``)."""
    if amount == amount.to_integral_value():
        return int(amount)
    as_float = float(amount)
    if Decimal(repr(as_float)) != amount.normalize():
        raise ValueError(f"amount {amount} cannot be sent exactly as a JSON number")
    return as_float


def confirm_shipment_body(
    order: Order, shipment: Shipment, *, marketplace_id: str, package_reference_id: str
) -> dict[str, Any]:
    """The ``confirmShipment`` request body for ``shipment`` of ``order``.

    ``shipment.lines`` (order item id → units) names what the package carries; empty means
    every unit not yet shipped or cancelled. Lines fulfilled by Amazon are never confirmed.
    """
    if shipment.lines:
        known = {ln.line_id: ln for ln in order.lines}
        unknown = sorted(set(shipment.lines) - set(known))
        if unknown:
            raise ValueError(f"order {order.order_id} has no item(s) {', '.join(unknown)}")
        items = [(line_id, qty) for line_id, qty in shipment.lines.items()]
    else:
        items = [
            (ln.line_id, ln.quantity_open)
            for ln in order.lines
            if ln.quantity_open > 0 and not ln.fulfilled_by_channel
        ]
    if not items:
        raise ValueError(f"order {order.order_id} has nothing left to ship")
    if not shipment.tracking_number:
        raise ValueError("Amazon's confirmShipment needs a tracking number")
    shipped_at = shipment.shipped_at or datetime.now(UTC)
    code = CARRIER_CODES.get(shipment.carrier.strip().casefold(), "Other")
    detail: dict[str, Any] = {
        "packageReferenceId": package_reference_id,
        "carrierCode": code,
        "carrierName": shipment.carrier.strip(),
        "trackingNumber": shipment.tracking_number,
        "shipDate": shipped_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "orderItems": [{"orderItemId": line_id, "quantity": qty} for line_id, qty in items],
    }
    return {"marketplaceId": marketplace_id, "packageDetail": detail}
