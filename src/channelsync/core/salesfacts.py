"""What each order contributes to the sales reports: one ``SalesFact`` per order line,
moment and currency (the sale, each refund, each return), pure functions of the order.

See ``channelsync.reports`` for the definitions of units, revenue, refunds, fees, cost
and margin these facts carry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from channelsync.core.models import Order, OrderLine, OrderStatus

__all__ = ["CostSource", "Returned", "SalesFact", "order_facts"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Returned:
    """Units of one line that came back (a row of the ``returns`` table)."""

    line_id: str
    quantity: int
    restocked: bool
    at: datetime
    channel_return_id: str | None = None


@dataclass(frozen=True)
class SalesFact:
    """One order line's contribution to the report (the unit every grouping sums)."""

    account: str
    kind: str
    order_id: str
    day: date
    sku: str | None
    currency: str
    units: int
    revenue: Decimal
    refunds: Decimal
    fees: Decimal
    fees_estimated: bool
    cost: Decimal
    units_without_cost: int
    sale: bool = True
    """False for a refund (or fee) falling on another day or currency than the sale."""
    at: datetime | None = None
    """The moment the figures fall on (the order's, a refund's or a return's)."""
    returned: int = 0
    """Units the buyer sent back at ``at`` (restocked or written off)."""
    line_id: str = ""
    """The order line's id."""

    @property
    def margin(self) -> Decimal:
        """``revenue - refunds - fees - cost``."""
        return self.revenue - self.refunds - self.fees - self.cost


def _line_revenue(line: OrderLine, units: int) -> tuple[Decimal, str | None]:
    if units <= 0 or line.quantity <= 0:
        return _ZERO, None
    if line.total is not None:
        return line.total.amount * units / line.quantity, line.total.currency
    if line.unit_price is not None:
        gross = line.unit_price.amount * units
        if line.discount is not None and line.discount.currency == line.unit_price.currency:
            gross -= line.discount.amount * units / line.quantity
        return gross, line.unit_price.currency
    return _ZERO, None


def _spread(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` (evenly when they are all zero)."""
    if not weights:
        return []
    whole = sum(weights, _ZERO)
    if whole == 0:
        return [total / len(weights)] * len(weights)
    return [total * w / whole for w in weights]


@dataclass
class _Cell:
    """What one order line contributes to one (day, currency) while facts are gathered."""

    units: int = 0
    revenue: Decimal = _ZERO
    refunds: Decimal = _ZERO
    fees: Decimal = _ZERO
    fees_estimated: bool = False
    cost: Decimal = _ZERO
    units_without_cost: int = 0
    sale: bool = False
    returned: int = 0


class CostSource(Protocol):
    """Where ``order_facts`` finds a SKU's unit cost in a currency (None: unknown)."""

    def unit_cost(self, sku: str, currency: str) -> Decimal | None:
        """The cost of one unit of ``sku`` in ``currency``, or None."""
        ...


def order_facts(
    order: Order,
    *,
    costs: CostSource,
    fee_percent: Mapping[str, Decimal],
    tz: ZoneInfo,
    missing_cost: set[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    returns: Iterable[Returned] = (),
) -> list[SalesFact]:
    """The report facts of one order (none for a cancelled order).

    The sale (units, revenue, fees, cost) falls on the day the order was created; each
    refund (its money, and the cost of units it restocked) on the day it was made, in its
    own currency; each return to stock (its units' cost) on the day the units came back.
    With ``start``/``end`` only what happened in ``[start, end)`` counts.
    """
    if order.status is OrderStatus.CANCELLED:
        return []

    def inside(moment: datetime) -> bool:
        return (start is None or moment >= start) and (end is None or moment < end)

    fallback_currency = order.currency or (order.total.currency if order.total else None)
    lines: list[tuple[OrderLine, int, Decimal, str]] = []
    for line in order.lines:
        units = line.quantity - line.quantity_cancelled
        if units <= 0:
            continue
        revenue, currency = _line_revenue(line, units)
        currency = currency or fallback_currency
        if currency is None:
            continue  # no amount and no currency anywhere: nothing to report
        lines.append((line, units, revenue, currency))
    if not lines:
        return []
    revenues = [rev for _, _, rev, _ in lines]
    cells: dict[tuple[int, datetime, str], _Cell] = {}

    def cell(i: int, moment: datetime, currency: str) -> _Cell:
        key = (i, moment, currency)
        found = cells.get(key)
        if found is None:
            found = cells[key] = _Cell()
        return found

    unit_costs: list[Decimal | None] = [
        costs.unit_cost(line.sku, currency) if line.sku is not None else _ZERO
        for line, _, _, currency in lines
    ]

    # The sale: units, revenue, cost and fees on the order's day.
    if inside(order.created_at):
        if order.fees is not None:
            fees = _spread(order.fees.amount, revenues)
            fee_currency: str | None = order.fees.currency
            estimated = False
        else:
            pct = fee_percent.get(order.account)
            fees = [rev * pct / 100 for rev in revenues] if pct is not None else []
            fee_currency = None  # each line's own
            estimated = pct is not None
        for i, (line, units, revenue, currency) in enumerate(lines):
            sold = cell(i, order.created_at, currency)
            sold.sale = True
            sold.units += units
            sold.revenue += revenue
            unit_cost = unit_costs[i]
            if unit_cost is None:
                sold.units_without_cost += units
                if missing_cost is not None and line.sku is not None:
                    missing_cost.add(line.sku)
            else:
                sold.cost += unit_cost * units
            if fees and (fees[i] or (fee_currency or currency) == currency):
                # Fees the channel reports in another currency stay in that currency.
                charged = cell(i, order.created_at, fee_currency or currency)
                charged.fees += fees[i]
                charged.fees_estimated |= estimated

    # Refunds: money back (in the refund's currency) and restocked units' cost, on the
    # refund's day (an undated refund on the order's).
    index = {line.line_id: i for i, (line, _, _, _) in enumerate(lines)}
    restocked = [0] * len(lines)
    listed = [r for r in order.refunds if r.amount is not None]
    for refund in listed:
        assert refund.amount is not None
        moment = refund.created_at or order.created_at
        targets = [index[lid] for lid in refund.lines if lid in index]
        if targets:
            weights = [
                revenues[i] * refund.lines[lines[i][0].line_id] / lines[i][1] for i in targets
            ]
            parts = list(zip(targets, _spread(refund.amount.amount, weights), strict=True))
        else:
            parts = list(enumerate(_spread(refund.amount.amount, revenues)))
        for i, part in parts:
            if inside(moment) and (part or refund.amount.currency == lines[i][3]):
                cell(i, moment, refund.amount.currency).refunds += part
        if refund.restock:
            for lid, qty in refund.lines.items():
                if lid not in index:
                    continue
                i = index[lid]
                back = min(qty, lines[i][1] - restocked[i])
                restocked[i] += back
                unit_cost = unit_costs[i]
                if back > 0 and unit_cost is not None and inside(moment):
                    cell(i, moment, lines[i][3]).cost -= unit_cost * back
    # Returns to stock: the units' cost comes off on the day they came back (units a
    # restocking refund counted already, under the same channel id, are not counted again).
    restocking = {r.refund_id for r in listed if r.restock}
    for back_units in returns:
        i_or_none = index.get(back_units.line_id)
        if i_or_none is not None and inside(back_units.at):
            cell(i_or_none, back_units.at, lines[i_or_none][3]).returned += back_units.quantity
        if i_or_none is None or not back_units.restocked:
            continue
        if back_units.channel_return_id and back_units.channel_return_id in restocking:
            continue
        i = i_or_none
        back = min(back_units.quantity, lines[i][1] - restocked[i])
        restocked[i] += back
        unit_cost = unit_costs[i]
        if back > 0 and unit_cost is not None and inside(back_units.at):
            cell(i, back_units.at, lines[i][3]).cost -= unit_cost * back
    if order.status is OrderStatus.REFUNDED and not listed and inside(order.created_at):
        for i, (_, _, revenue, currency) in enumerate(lines):
            cell(i, order.created_at, currency).refunds += revenue

    return [
        SalesFact(
            account=order.account,
            kind=order.kind,
            order_id=order.order_id,
            day=moment.astimezone(tz).date(),
            sku=lines[i][0].sku,
            currency=currency,
            units=c.units,
            revenue=c.revenue,
            refunds=c.refunds,
            fees=c.fees,
            fees_estimated=c.fees_estimated,
            cost=c.cost,
            units_without_cost=c.units_without_cost,
            sale=c.sale,
            at=moment,
            line_id=lines[i][0].line_id,
            returned=c.returned,
        )
        for (i, moment, currency), c in cells.items()
    ]
