"""Sales reports from the store: revenue, units, refunds, channel fees and gross margin.

The figures come from the orders the engine has stored (``Order`` documents) and the cost
prices recorded with ``engine.set_cost`` (the ``products`` table)::

    report = sales_report(store, start=..., end=..., by="channel",
                          fee_percent={"ebay-de": Decimal("11")})
    report.rows                      # one SalesRow per channel account (and currency)
    report.write_csv(sys.stdout)     # or report.as_dict(), render_chart(report, "sales.png")

Definitions (per order line, cancelled orders and cancelled units left out):

- **units**: units sold (``quantity - quantity_cancelled``).
- **revenue**: ``OrderLine.total`` (the line's amount after discounts) for those units, or
  ``unit_price x units - discount`` where the channel reports no line total. Shipping and
  taxes are not revenue.
- **refunds**: money given back (``Order.refunds``, and refunds channelsync made that the
  channel's order reads do not carry, e.g. Amazon's; an order in status ``refunded`` that
  lists no refund counts its whole revenue), spread over the refunded lines, or over every
  line by revenue when the refund names none. A refund counts on the day it was made
  (``Refund.created_at``; an undated one on the order's day), in its own currency: a
  refund made in the period counts even when the order is older.
- **fees**: ``Order.fees`` where the channel reports them, spread over the lines by revenue
  (in the fees' own currency); else the account's configured ``fee_percent`` of the
  revenue (``fees_estimated``). Fees count on the order's day.
- **returns**: units the buyer sent back and that went back on sale (the ``returns``
  table: ``engine.record_return``, or a refund with restock) take their cost off on the
  day they came back, in the line's currency; written-off units keep theirs.
- **cost**: cost price x units, minus units refunded with restock and units returned to
  stock (each on its own day, never more than were sold); a bundle without a cost
  of its own costs the sum of its components. Units whose SKU has no cost price in the
  order's currency are counted in ``units_without_cost`` (their margin is overstated).
- **margin**: ``revenue - refunds - fees - cost``.

Every amount stays in its own currency: rows are per (key, currency), never summed across
currencies. Days are calendar days in the report's timezone.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from channelsync.charts import draw_daily, report_days
from channelsync.core.catalog import CostBook
from channelsync.core.rates import Rates
from channelsync.core.salesbook import Returned, SalesBook
from channelsync.core.salesfacts import CostSource, SalesFact, order_facts
from channelsync.core.store import Store

__all__ = [
    "GROUPS",
    "CostSource",
    "Group",
    "Returned",
    "SalesFact",
    "SalesReport",
    "SalesRow",
    "order_facts",
    "render_chart",
    "sales_report",
]

Group = Literal["channel", "sku", "day"]
GROUPS: tuple[Group, ...] = ("channel", "sku", "day")
NO_SKU = "(no SKU)"
_ZERO = Decimal(0)
_CENT = Decimal("0.01")


@dataclass
class SalesRow:
    """The figures of one group (a channel account, a SKU or a day) in one currency."""

    key: str
    currency: str
    orders: int = 0
    units: int = 0
    revenue: Decimal = _ZERO
    refunds: Decimal = _ZERO
    fees: Decimal = _ZERO
    cost: Decimal = _ZERO
    units_without_cost: int = 0
    fees_estimated: bool = False

    @property
    def margin(self) -> Decimal:
        """``revenue - refunds - fees - cost``."""
        return self.revenue - self.refunds - self.fees - self.cost

    @property
    def margin_percent(self) -> Decimal | None:
        """Margin as a percentage of revenue net of refunds (None without revenue)."""
        net = self.revenue - self.refunds
        if not net:
            return None
        return (self.margin / net * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures; amounts as decimal strings rounded to cents."""
        pct = self.margin_percent
        return {
            "key": self.key,
            "currency": self.currency,
            "orders": self.orders,
            "units": self.units,
            "revenue": _money(self.revenue),
            "refunds": _money(self.refunds),
            "fees": _money(self.fees),
            "cost": _money(self.cost),
            "margin": _money(self.margin),
            "margin_percent": str(pct) if pct is not None else None,
            "units_without_cost": self.units_without_cost,
            "fees_estimated": self.fees_estimated,
        }


CSV_COLUMNS = (
    "key",
    "currency",
    "orders",
    "units",
    "revenue",
    "refunds",
    "fees",
    "cost",
    "margin",
    "margin_percent",
    "units_without_cost",
    "fees_estimated",
)


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT, ROUND_HALF_UP))


@dataclass
class SalesReport:
    """A sales report over ``[start, end)``, grouped ``by`` channel, SKU or day."""

    start: datetime
    end: datetime
    by: Group
    timezone: str
    facts: list[SalesFact] = field(default_factory=list)
    missing_cost: set[str] = field(default_factory=set)

    @property
    def rows(self) -> list[SalesRow]:
        """One row per group and currency, sorted by key."""
        return _aggregate(self.facts, self._key)

    @property
    def totals(self) -> list[SalesRow]:
        """One total row per currency."""
        return _aggregate(self.facts, lambda f: "total")

    def _key(self, fact: SalesFact) -> str:
        if self.by == "channel":
            return fact.account
        if self.by == "sku":
            return fact.sku or NO_SKU
        return fact.day.isoformat()

    def series(self) -> dict[tuple[str, str], list[tuple[date, Decimal, Decimal]]]:
        """Revenue and margin per (account, currency) per day, for charts."""
        per: dict[tuple[str, str], dict[date, list[Decimal]]] = defaultdict(
            lambda: defaultdict(lambda: [_ZERO, _ZERO])
        )
        for f in self.facts:
            cell = per[(f.account, f.currency)][f.day]
            cell[0] += f.revenue
            cell[1] += f.margin
        return {
            k: [(d, v[0], v[1]) for d, v in sorted(days.items())] for k, days in sorted(per.items())
        }

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "by": self.by,
            "timezone": self.timezone,
            "rows": [r.as_dict() for r in self.rows],
            "totals": [r.as_dict() for r in self.totals],
            "skus_without_cost": sorted(self.missing_cost),
        }

    def to_json(self) -> str:
        """``as_dict()`` as indented JSON."""
        return json.dumps(self.as_dict(), indent=2)

    def write_csv(self, out: IO[str]) -> None:
        """Write one CSV row per group and currency (with a header)."""
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow(row.as_dict())


def _aggregate(facts: Iterable[SalesFact], key: Any) -> list[SalesRow]:
    rows: dict[tuple[str, str], SalesRow] = {}
    orders: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for f in facts:
        k = (key(f), f.currency)
        row = rows.get(k)
        if row is None:
            row = rows[k] = SalesRow(key=k[0], currency=k[1])
        if f.sale:
            orders[k].add((f.account, f.order_id))
        row.units += f.units
        row.revenue += f.revenue
        row.refunds += f.refunds
        row.fees += f.fees
        row.cost += f.cost
        row.units_without_cost += f.units_without_cost
        row.fees_estimated |= f.fees_estimated
    for k, row in rows.items():
        row.orders = len(orders[k])
    return [rows[k] for k in sorted(rows)]


# -- computing the facts ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Converted:
    """Cost prices, with another currency's converted at one day's rate where the sale's
    currency has none."""

    costs: CostBook
    rates: Rates
    day: date

    def unit_cost(self, sku: str, currency: str) -> Decimal | None:
        own = self.costs.unit_cost(sku, currency)
        if own is not None:
            return own
        for other in self.costs.currencies(sku):
            amount = self.costs.unit_cost(sku, other)
            if amount is not None:
                converted = self.rates.convert(amount, other, currency, self.day)
                if converted is not None:
                    return converted
        return None


def sales_report(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    by: Group = "channel",
    fee_percent: Mapping[str, Decimal] | None = None,
    timezone: str = "UTC",
    accounts: Iterable[str] | None = None,
    rates: Rates | None = None,
) -> SalesReport:
    """The sales report of orders created in ``[start, end)``.

    Args:
        store: the engine's store.
        start, end: aware datetimes bounding the orders' creation time.
        by: ``"channel"`` (account), ``"sku"`` or ``"day"``.
        fee_percent: per account, the fee share of revenue for orders without fees.
        timezone: IANA name of the calendar ``day`` groups by.
        accounts: only these accounts (default: all).
        rates: exchange rates to cost a SKU whose cost price is in another currency than
            the sale (at the rate of the order's day); without them such units count in
            ``units_without_cost``.
    """
    if by not in GROUPS:
        raise ValueError(f"by must be one of {', '.join(GROUPS)}, got {by!r}")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if end <= start:
        raise ValueError(f"the report's end {end.isoformat()} is not after its start")
    tz = ZoneInfo(timezone)
    book = SalesBook(store)
    costs = book.costs()
    report = SalesReport(start=start, end=end, by=by, timezone=timezone)
    fees = dict(fee_percent or {})
    for order, returned in book.orders_between(start, end, accounts):
        report.facts.extend(
            order_facts(
                order,
                costs=_Converted(costs, rates, order.created_at.date()) if rates else costs,
                fee_percent=fees,
                tz=tz,
                missing_cost=report.missing_cost,
                start=start,
                end=end,
                returns=returned,
            )
        )
    return report


def day_bounds(first: date, last: date, timezone: str = "UTC") -> tuple[datetime, datetime]:
    """``[start of first, start of the day after last)`` in ``timezone``, as aware datetimes."""
    tz = ZoneInfo(timezone)
    start = datetime(first.year, first.month, first.day, tzinfo=tz)
    after = last + timedelta(days=1)
    return start, datetime(after.year, after.month, after.day, tzinfo=tz)


# -- the chart --------------------------------------------------------------------------------


def render_chart(report: SalesReport, path: str | Path, *, currency: str | None = None) -> Path:
    """Draw revenue (solid) and margin (dashed) per channel account per day into a PNG.

    Needs matplotlib (``pip install 'channelsync[chart]'``). The date axis spans the
    report's whole period, a day without sales is drawn as zero, and every currency gets
    a panel of its own (only ``currency``'s when given): no channel is left out.
    """
    series: dict[tuple[str, str], dict[date, tuple[Decimal, Decimal]]] = {
        key: {day: (revenue, margin) for day, revenue, margin in points}
        for key, points in report.series().items()
        if currency is None or key[1] == currency
    }
    days = report_days(report.start, report.end, report.timezone)
    span = f"{days[0].isoformat()} to {days[-1].isoformat()}" if days else ""
    return draw_daily(
        series,
        days,
        path,
        title=f"Revenue and gross margin per channel, {span}",
        xlabel=f"day ({report.timezone})",
    )
