"""Builders shared by the core tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from channelsync import Order, OrderLine, OrderStatus

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def line(line_id: str = "L1", sku: str | None = "SKU-1", qty: int = 2, **kw: Any) -> OrderLine:
    return OrderLine(line_id=line_id, sku=sku, quantity=qty, **kw)


def make_order(
    order_id: str = "1001",
    status: OrderStatus = OrderStatus.OPEN,
    lines: list[OrderLine] | None = None,
    *,
    minute: int = 0,
    account: str = "shop",
    kind: str = "fake",
) -> Order:
    return Order(
        kind=kind,
        account=account,
        order_id=order_id,
        status=status,
        raw_status=status.value,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=minute),
        lines=tuple(lines if lines is not None else [line()]),
    )
