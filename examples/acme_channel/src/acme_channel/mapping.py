"""Pure functions between Acme's JSON and channelsync's models."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from acme_channel.payloads import AcmeListing, AcmeOrder
from channelsync.core.models import Listing, Money, Order, OrderLine, OrderStatus

__all__ = ["KIND", "STATUSES", "listing_from_payload", "order_from_payload", "parse_time"]

KIND = "acme"
STATUSES = {
    "open": OrderStatus.OPEN,
    "partial": OrderStatus.PARTIALLY_SHIPPED,
    "shipped": OrderStatus.SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
}


def parse_time(value: str) -> datetime:
    """Acme's ISO 8601 times (always with a zone) as aware UTC."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time {value!r} has no zone")
    return moment.astimezone(UTC)


def listing_from_payload(item: AcmeListing, account: str) -> Listing:
    """A listing of ``account``."""
    return Listing(
        kind=KIND,
        account=account,
        sku=item.sku,
        listing_id=item.id,
        quantity=item.qty,
        price=Money(amount=item.price, currency=item.currency),
        ids={"listing_id": item.id},
    )


def order_from_payload(raw: Mapping[str, Any], account: str) -> Order:
    """An order of ``account``; raises ``ValueError``/``ValidationError`` on bad data."""
    order = AcmeOrder.model_validate(raw)
    if order.status not in STATUSES:
        raise ValueError(f"unknown status {order.status!r}")
    return Order(
        kind=KIND,
        account=account,
        order_id=order.id,
        number=order.id,
        status=STATUSES[order.status],
        raw_status=order.status,
        created_at=parse_time(order.created),
        updated_at=parse_time(order.updated),
        currency=order.currency,
        lines=tuple(
            OrderLine(
                line_id=ln.id,
                sku=ln.sku,
                quantity=ln.qty,
                unit_price=Money(amount=ln.price, currency=order.currency),
                quantity_shipped=ln.shipped,
                quantity_cancelled=ln.cancelled,
            )
            for ln in order.lines
        ),
        raw=dict(raw),
    )
