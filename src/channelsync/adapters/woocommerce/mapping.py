"""Pure functions between WooCommerce REST v3 payloads and channelsync models.

Nothing here talks to the network. Times come from the ``*_gmt`` fields (the plain
``date_*`` ones are the shop's local time, without an offset); amounts are decimal
strings turned into ``Money``; statuses map onto the one ``OrderStatus`` lifecycle with the
shop's own status kept in ``raw_status``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from channelsync.adapters._failures import ORDER_DATA_ERRORS, describe_error, failure
from channelsync.adapters.woocommerce.payloads import (
    WooAddress,
    WooBatchError,
    WooLineItem,
    WooMeta,
    WooOrder,
    WooProduct,
    WooRefund,
    WooRefundSummary,
    WooVariation,
)
from channelsync.core.channel import OrderFailure
from channelsync.core.errors import ItemError
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
    "STATUS_MAP",
    "address_from_payload",
    "describe_error",
    "item_error",
    "listing_from_product",
    "listing_from_variation",
    "money",
    "order_failure",
    "order_from_payload",
    "order_status",
    "parse_gmt",
    "parse_gmt_or_none",
    "parse_local",
    "price_item",
    "refund_from_payload",
    "refunded_quantities",
    "shipments_from_meta",
    "stock_item",
    "tracking_body",
    "wc_datetime",
]

log = logging.getLogger(__name__)

KIND = "woocommerce"

#: WooCommerce's core statuses. Anything else (a plugin's custom status) is kept raw and
#: treated as open, so its units stay committed until the order reaches a final status.
STATUS_MAP: Mapping[str, OrderStatus] = {
    "pending": OrderStatus.PENDING,  # awaiting payment
    "processing": OrderStatus.OPEN,  # paid, stock reduced, to ship
    "on-hold": OrderStatus.OPEN,  # awaiting confirmation (bank transfer), stock reduced
    "completed": OrderStatus.SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
    "failed": OrderStatus.CANCELLED,  # payment failed: nothing will ship
    # A block-checkout draft is a cart, not an order: it holds no units. WooCommerce deletes
    # abandoned drafts after a day without any change we could read, so committing them
    # would leak units; a draft that is paid becomes pending/processing and commits then.
    "checkout-draft": OrderStatus.CANCELLED,
    # A trashed order (``GET /orders/{id}`` and order webhooks report it so) will not ship;
    # restored from the trash it gets its old status back with a newer modification time.
    "trash": OrderStatus.CANCELLED,
}

#: The Shipment Tracking extension keeps its entries in this order meta key.
TRACKING_META = "_wc_shipment_tracking_items"
#: A refund line names the order line it refunds in this meta key.
REFUNDED_ITEM_META = "_refunded_item_id"


# -- times and money -----------------------------------------------------------------------


def parse_gmt(value: str | None) -> datetime | None:
    """A ``*_gmt`` field (``2017-03-22T19:28:02``, UTC without an offset) as aware UTC."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_gmt_or_none(value: str | None) -> datetime | None:
    """``parse_gmt``, or None for text that is not a date (an unreadable order's)."""
    try:
        return parse_gmt(value)
    except ValueError:
        return None


def parse_local(value: str | None, shop_tz: tzinfo) -> datetime | None:
    """A plain ``date_*`` field (the shop's wall-clock time) as aware UTC."""
    if value is None or not str(value).strip():
        return None
    parsed = datetime.fromisoformat(str(value).strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=shop_tz)
    return parsed.astimezone(UTC)


def wc_datetime(value: datetime) -> str:
    """An aware datetime as WooCommerce's UTC query format (``2026-11-23T12:00:00``)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: WooCommerce query times must be aware")
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"amount {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise ValueError(f"amount {value!r} is not finite")
    return number


def money(value: str | None, currency: str | None) -> Money | None:
    """``Money`` from a WooCommerce amount string; None for an empty amount or no currency."""
    amount = _decimal(value)
    if amount is None or not currency:
        return None
    return Money(amount=amount, currency=currency)


def _sum(values: Iterable[str | None], currency: str | None) -> Money | None:
    amounts = [a for a in (_decimal(v) for v in values) if a is not None]
    if not amounts or not currency:
        return None
    return Money(amount=sum(amounts, Decimal(0)), currency=currency)


def _unit_price(subtotal: str | None, quantity: int, currency: str | None) -> Money | None:
    """Subtotal / quantity at the subtotal's own precision (``"10.00"`` / 3 → ``3.33``)."""
    amount = _decimal(subtotal)
    if amount is None or quantity <= 0 or not currency:
        return None
    exponent = amount.as_tuple().exponent
    places = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    unit = (amount / quantity).quantize(places, rounding=ROUND_HALF_UP)
    return Money(amount=unit, currency=currency)


# -- orders --------------------------------------------------------------------------------


def order_status(raw: str) -> OrderStatus:
    """The normalised status of a WooCommerce status (``wc-`` prefix tolerated)."""
    key = raw.strip().lower()
    if key.startswith("wc-"):
        key = key[3:]
    return STATUS_MAP.get(key, OrderStatus.OPEN)


def _name(first: str, last: str) -> str | None:
    name = f"{first.strip()} {last.strip()}".strip()
    return name or None


def address_from_payload(address: WooAddress | None) -> Address | None:
    """``billing``/``shipping`` as an ``Address``; None when every field is empty."""
    if address is None:
        return None
    result = Address(
        name=_name(address.first_name, address.last_name),
        company=address.company.strip() or None,
        lines=(address.address_1, address.address_2),
        city=address.city.strip() or None,
        postal_code=address.postcode.strip() or None,
        region=address.state.strip() or None,
        country_code=address.country.strip() or None,
        phone=(address.phone or "").strip() or None,
    )
    if result == Address():
        return None
    return result


def _meta(meta: Sequence[WooMeta], key: str) -> Any:
    for entry in meta:
        if entry.key == key:
            return entry.value
    return None


def shipments_from_meta(meta: Sequence[WooMeta]) -> tuple[Shipment, ...]:
    """Shipment Tracking extension entries (order meta ``_wc_shipment_tracking_items``)."""
    items = _meta(meta, TRACKING_META)
    if not isinstance(items, list):
        return ()
    shipments: list[Shipment] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        carrier = (
            str(item.get("custom_tracking_provider") or "").strip()
            or str(item.get("tracking_provider") or "").strip()
            or "unknown"
        )
        shipped_at = None
        stamp = item.get("date_shipped")
        if stamp not in (None, ""):
            try:
                shipped_at = datetime.fromtimestamp(int(str(stamp)), UTC)
            except ValueError:
                shipped_at = None
        shipments.append(
            Shipment(
                carrier=carrier,
                tracking_number=str(item.get("tracking_number") or "").strip() or None,
                tracking_url=str(item.get("custom_tracking_link") or "").strip() or None,
                shipped_at=shipped_at,
            )
        )
    return tuple(shipments)


def refunded_quantities(refunds: Iterable[WooRefund]) -> dict[str, int]:
    """Units refunded per order line id (refund lines carry negative quantities)."""
    counts: dict[str, int] = {}
    for refund in refunds:
        for line in refund.line_items:
            target = _meta(line.meta_data, REFUNDED_ITEM_META)
            if target in (None, ""):
                continue
            key = str(target)
            counts[key] = counts.get(key, 0) + abs(line.quantity)
    return counts


def refund_from_payload(refund: WooRefund | WooRefundSummary, currency: str | None) -> Refund:
    """A full refund (``/orders/{id}/refunds``) or an order's refund summary as a ``Refund``."""
    if isinstance(refund, WooRefundSummary):
        total = _decimal(refund.total)
        return Refund(
            refund_id=str(refund.id),
            amount=Money(amount=abs(total), currency=currency)
            if total is not None and currency
            else None,
            reason=(refund.reason or refund.refund or "").strip() or None,
        )
    return Refund(
        refund_id=str(refund.id),
        amount=money(refund.amount, currency),
        created_at=parse_gmt(refund.date_created_gmt),
        reason=refund.reason.strip() or None,
        lines={
            str(target): abs(line.quantity)
            for line in refund.line_items
            if (target := _meta(line.meta_data, REFUNDED_ITEM_META)) not in (None, "")
        },
    )


def _order_line(
    item: WooLineItem, currency: str | None, shipped_all: bool, refunded: Mapping[str, int]
) -> OrderLine:
    """One ``line_items`` entry; ``refunded``: units refunded per line id."""
    quantity = max(0, item.quantity)
    cancelled = 0 if shipped_all else min(quantity, refunded.get(str(item.id), 0))
    subtotal = _decimal(item.subtotal)
    total = _decimal(item.total)
    discount = (
        Money(amount=subtotal - total, currency=currency)
        if subtotal is not None and total is not None and currency and subtotal > total
        else None
    )
    ids = {"product_id": str(item.product_id)}
    if item.variation_id:
        ids["variation_id"] = str(item.variation_id)
    return OrderLine(
        line_id=str(item.id),
        sku=(item.sku or "").strip() or None,
        title=item.name or None,
        quantity=quantity,
        unit_price=_unit_price(item.subtotal, quantity, currency),
        total=money(item.total, currency),
        tax=money(item.total_tax, currency),
        discount=discount,
        quantity_shipped=quantity - cancelled if shipped_all else 0,
        quantity_cancelled=cancelled,
        channel_ids=ids,
    )


def order_from_payload(
    payload: WooOrder,
    *,
    account: str,
    refunds: Sequence[WooRefund] | None = None,
    shop_tz: tzinfo | None = None,
) -> Order:
    """An ``Order`` from a REST v3 order.

    Args:
        payload: the order.
        account: the channel account it came from.
        refunds: the order's full refunds (``/orders/{id}/refunds``), when read: their
            line quantities become ``quantity_cancelled`` of lines not yet shipped. Without
            them only the refund totals are known.
        shop_tz: the shop's timezone, used only when a ``*_gmt`` field is missing.

    Raises:
        ValueError: the payload lacks its dates or carries amounts that are not numbers.
    """
    currency = payload.currency or None
    created = parse_gmt(payload.date_created_gmt)
    updated = parse_gmt(payload.date_modified_gmt)
    if shop_tz is not None:
        created = created or parse_local(payload.date_created, shop_tz)
        updated = updated or parse_local(payload.date_modified, shop_tz)
    if created is None:
        raise ValueError(f"order {payload.id}: no date_created_gmt")
    updated = max(updated or created, created)
    status = order_status(payload.status)
    # Once completed, an order's units have left: a later refund or cancellation does not
    # bring them back (a restocked return is an explicit stock adjustment).
    shipped_all = status is OrderStatus.SHIPPED or payload.date_completed_gmt not in (None, "")
    refunded = refunded_quantities(refunds or ())
    lines: list[OrderLine] = []
    for index, item in enumerate(payload.line_items):
        try:
            lines.append(_order_line(item, currency, shipped_all, refunded))
        except ValueError as exc:  # pydantic's ValidationError too: name the line
            raise ValueError(f"line_items[{index}] (id {item.id}): {describe_error(exc)}") from exc
    billing = address_from_payload(payload.billing)
    full_refunds = {r.id: r for r in refunds or ()}
    customer_name = (
        _name(payload.billing.first_name, payload.billing.last_name) if payload.billing else None
    )
    email = (payload.billing.email or "").strip() if payload.billing else ""
    phone = (payload.billing.phone or "").strip() if payload.billing else ""
    customer = Customer(
        customer_id=str(payload.customer_id) if payload.customer_id else None,
        name=customer_name,
        email=email or None,
        phone=phone or None,
    )
    return Order(
        kind=KIND,
        account=account,
        order_id=str(payload.id),
        number=payload.number or str(payload.id),
        status=status,
        raw_status=payload.status,
        created_at=created,
        updated_at=updated,
        currency=currency,
        total=money(payload.total, currency),
        subtotal=_sum((i.subtotal for i in payload.line_items), currency),
        shipping_total=money(payload.shipping_total, currency),
        tax_total=money(payload.total_tax, currency),
        discount_total=money(payload.discount_total, currency),
        fees=_sum((f.total for f in payload.fee_lines), currency),
        lines=tuple(lines),
        customer=None if customer == Customer() else customer,
        shipping_address=address_from_payload(payload.shipping),
        billing_address=billing,
        shipments=shipments_from_meta(payload.meta_data),
        refunds=tuple(
            refund_from_payload(full_refunds.get(r.id, r), currency) for r in payload.refunds
        ),
        tags=tuple(f"coupon:{c.code}" for c in payload.coupon_lines if c.code),
        raw=payload.model_dump(mode="json"),
    )


# -- orders that cannot be read -----------------------------------------------------------


def order_failure(
    raw: Mapping[str, Any], exc: Exception, *, shop_tz: tzinfo | None = None
) -> OrderFailure:
    """The ``OrderFailure`` of a REST order that cannot be read or mapped.

    The id is the order's ``id`` and the time its ``date_modified_gmt`` (else
    ``date_created_gmt``; the local dates in ``shop_tz`` when the GMT ones are missing),
    each when the raw order has a readable one.
    """
    value = raw.get("id")
    order_id = (
        str(value).strip()
        if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).strip()
        else None
    )
    updated: datetime | None = None
    for gmt, local in (
        ("date_modified_gmt", "date_modified"),
        ("date_created_gmt", "date_created"),
    ):
        text = raw.get(gmt)
        updated = parse_gmt_or_none(text) if isinstance(text, str) else None
        if updated is None and shop_tz is not None and isinstance(raw.get(local), str):
            try:
                updated = parse_local(raw[local], shop_tz)
            except ValueError:
                updated = None
        if updated is not None:
            break
    return failure(order_id, exc, updated, dict(raw))


# -- listings ------------------------------------------------------------------------------


def _price(regular: str | None, active: str | None, currency: str | None) -> Money | None:
    return money(regular, currency) or money(active, currency)


def listing_from_product(
    product: WooProduct, *, account: str, currency: str | None
) -> Listing | None:
    """A simple product (or a variable product managing stock at its own level) as a
    ``Listing``. None for what carries no stock of its own or has no SKU: variable
    parents whose variations hold the stock, grouped and external products."""
    sku = product.sku.strip()
    if not sku:
        return None
    managed = product.manage_stock is True
    if product.type == "variable" and not managed:
        return None
    if product.type not in ("simple", "variable", "variation"):
        return None
    ids = {"product_id": str(product.id)}
    if product.type == "variation":
        ids = {"product_id": str(product.parent_id), "variation_id": str(product.id)}
    return Listing(
        kind=KIND,
        account=account,
        sku=sku,
        listing_id=str(product.id),
        quantity=product.stock_quantity if managed else None,
        price=_price(product.regular_price, product.price, currency),
        title=product.name or None,
        manages_stock=managed,
        ids=ids,
    )


def listing_from_variation(
    variation: WooVariation, parent: WooProduct, *, account: str, currency: str | None
) -> Listing | None:
    """A variation as a ``Listing`` (None without a SKU).

    A variation whose ``manage_stock`` is ``"parent"`` shares its parent's stock: it is
    reported as not managing stock of its own.
    """
    sku = variation.sku.strip()
    if not sku:
        return None
    managed = variation.manage_stock is True
    options = [str(a.get("option", "")).strip() for a in variation.attributes if a.get("option")]
    title = parent.name + (f" - {', '.join(options)}" if options else "")
    return Listing(
        kind=KIND,
        account=account,
        sku=sku,
        listing_id=str(variation.id),
        quantity=variation.stock_quantity if managed else None,
        price=_price(variation.regular_price, variation.price, currency),
        title=title or None,
        manages_stock=managed,
        ids={"product_id": str(parent.id), "variation_id": str(variation.id)},
    )


# -- writes --------------------------------------------------------------------------------


def stock_item(item_id: int, quantity: int) -> dict[str, Any]:
    """A batch ``update`` item setting an absolute quantity (stock management on, since
    WooCommerce ignores ``stock_quantity`` while it is off)."""
    return {"id": item_id, "manage_stock": True, "stock_quantity": quantity}


def price_item(item_id: int, price: Money) -> dict[str, Any]:
    """A batch ``update`` item setting the regular price (a string, as WooCommerce wants)."""
    return {"id": item_id, "regular_price": format(price.amount, "f")}


def tracking_body(shipment: Shipment) -> dict[str, Any]:
    """A Shipment Tracking extension entry for ``shipment``.

    A carrier with its own tracking URL goes in as a custom provider with that link;
    otherwise the extension resolves known provider names (``DHL``, ``UPS``...) itself.
    """
    body: dict[str, Any] = {"tracking_number": shipment.tracking_number or ""}
    if shipment.tracking_url:
        body["custom_tracking_provider"] = shipment.carrier
        body["custom_tracking_link"] = shipment.tracking_url
    else:
        body["tracking_provider"] = shipment.carrier
    if shipment.shipped_at is not None:
        body["date_shipped"] = shipment.shipped_at.astimezone(UTC).date().isoformat()
    return body


#: Per-item error codes that mean the save itself failed (a database hiccup), not the item.
_RETRYABLE_ITEM_CODES = frozenset(
    {"woocommerce_rest_product_not_created", "woocommerce_rest_product_variation_not_created"}
)


def item_error(sku: str, failure: WooBatchError) -> ItemError:
    """A batch item's ``error`` object as an ``ItemError`` keyed by SKU."""
    status = failure.error.status
    retryable = failure.error.code in _RETRYABLE_ITEM_CODES or (
        status is not None and (status >= 500 or status == 429)
    )
    return ItemError(
        sku,
        failure.error.message or failure.error.code or "refused",
        code=failure.error.code or None,
        retryable=retryable,
        raw=failure.model_dump_json(),
    )
