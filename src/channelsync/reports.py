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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from channelsync.core import schema as t
from channelsync.core.aftersale import recorded_refunds, with_recorded_refunds
from channelsync.core.errors import ConfigError
from channelsync.core.models import Money, Order, OrderLine, OrderStatus, Refund
from channelsync.core.store import Store

__all__ = [
    "GROUPS",
    "Group",
    "SalesFact",
    "SalesReport",
    "SalesRow",
    "render_chart",
    "sales_report",
]

Group = Literal["channel", "sku", "day"]
GROUPS: tuple[Group, ...] = ("channel", "sku", "day")
NO_SKU = "(no SKU)"
_ZERO = Decimal(0)
_CENT = Decimal("0.01")


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

    @property
    def margin(self) -> Decimal:
        """``revenue - refunds - fees - cost``."""
        return self.revenue - self.refunds - self.fees - self.cost


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
class _Costs:
    own: dict[str, Money]
    bundles: dict[str, dict[str, int]]

    def unit_cost(self, sku: str, currency: str) -> Decimal | None:
        cost = self.own.get(sku)
        if cost is not None:
            return cost.amount if cost.currency == currency else None
        comps = self.bundles.get(sku)
        if not comps:
            return None
        total = _ZERO
        for comp, qty in comps.items():
            part = self.own.get(comp)
            if part is None or part.currency != currency:
                return None
            total += part.amount * qty
        return total


def _load_costs(store: Store) -> _Costs:
    with store.read() as conn:
        own = {
            r.sku: Money(amount=r.cost_amount, currency=r.cost_currency)
            for r in conn.execute(
                sa.select(t.products.c.sku, t.products.c.cost_amount, t.products.c.cost_currency)
                .where(t.products.c.cost_amount.is_not(None))
                .where(t.products.c.cost_currency.is_not(None))
            )
        }
        bundles: dict[str, dict[str, int]] = defaultdict(dict)
        for r in conn.execute(sa.select(t.bundles)):
            bundles[r.bundle_sku][r.component_sku] = r.quantity
    return _Costs(own, dict(bundles))


@dataclass(frozen=True)
class Returned:
    """Units of one line that came back (a row of the ``returns`` table)."""

    line_id: str
    quantity: int
    restocked: bool
    at: datetime
    channel_return_id: str | None = None


def _orders(
    store: Store, start: datetime, end: datetime, accounts: Iterable[str] | None
) -> Iterator[tuple[Order, list[Returned]]]:
    o = t.orders.c
    r = t.returns.c
    a = t.aftersale_ops.c
    wanted = list(accounts) if accounts is not None else None
    with store.read() as conn:
        # Older orders with a refund or return in the period: the stored order need not
        # have changed then (channelsync's own version keeps the order's change time).
        touched: set[tuple[str, str]] = set()
        for table, at in ((t.returns, r.created_at), (t.aftersale_ops, a.updated_at)):
            query = sa.select(table.c.account, table.c.order_id).where(at >= start, at < end)
            if table is t.aftersale_ops:
                query = query.where(a.kind == "refund", a.status == "done")
            if wanted is not None:
                query = query.where(table.c.account.in_(wanted))
            touched.update((row.account, row.order_id) for row in conn.execute(query))
        # Orders created in the period, and older ones changed since its start (a refund
        # made in the period changes the order).
        orders_query = (
            sa.select(o.account, o.order_id, o.doc)
            .where(o.created_at < end, sa.or_(o.created_at >= start, o.updated_at >= start))
            .order_by(o.created_at, o.account, o.order_id)
        )
        if wanted is not None:
            orders_query = orders_query.where(o.account.in_(wanted))
        rows = [(row.account, row.order_id, row.doc) for row in conn.execute(orders_query)]
        seen = {(account, order_id) for account, order_id, _ in rows}
        extra = sorted(touched - seen)
        for first in range(0, len(extra), 500):
            rows.extend(
                (row.account, row.order_id, row.doc)
                for row in conn.execute(
                    sa.select(o.account, o.order_id, o.doc).where(
                        sa.tuple_(o.account, o.order_id).in_(extra[first : first + 500]),
                        o.created_at < end,
                    )
                )
            )
        # Their refunds made here and their returns (every one before the end: a return
        # counts once however many periods are reported).
        pairs = [(account, order_id) for account, order_id, _ in rows]
        refunds: dict[tuple[str, str], list[Refund]] = {}
        returned: dict[tuple[str, str], list[Returned]] = defaultdict(list)
        for first in range(0, len(pairs), 500):
            chunk = pairs[first : first + 500]
            found = recorded_refunds(conn, None, {order_id for _, order_id in chunk})
            refunds.update((pair, found[pair]) for pair in chunk if pair in found)
            returns_query = (
                sa.select(t.returns)
                .where(sa.tuple_(r.account, r.order_id).in_(chunk), r.created_at < end)
                .order_by(r.created_at, r.id)
            )
            for row in conn.execute(returns_query):
                returned[(row.account, row.order_id)].append(
                    Returned(
                        row.line_id,
                        row.quantity,
                        row.disposition == "restocked",
                        row.created_at,
                        row.channel_return_id,
                    )
                )
    for account, order_id, doc in rows:
        order = with_recorded_refunds(
            Order.model_validate_json(doc), refunds.get((account, order_id), ())
        )
        yield order, returned.get((account, order_id), [])


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


def order_facts(
    order: Order,
    *,
    costs: _Costs,
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
    cells: dict[tuple[int, date, str], _Cell] = {}

    def cell(i: int, moment: datetime, currency: str) -> _Cell:
        key = (i, moment.astimezone(tz).date(), currency)
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
            day=day,
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
        )
        for (i, day, currency), c in cells.items()
    ]


def sales_report(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    by: Group = "channel",
    fee_percent: Mapping[str, Decimal] | None = None,
    timezone: str = "UTC",
    accounts: Iterable[str] | None = None,
) -> SalesReport:
    """The sales report of orders created in ``[start, end)``.

    Args:
        store: the engine's store.
        start, end: aware datetimes bounding the orders' creation time.
        by: ``"channel"`` (account), ``"sku"`` or ``"day"``.
        fee_percent: per account, the fee share of revenue for orders without fees.
        timezone: IANA name of the calendar ``day`` groups by.
        accounts: only these accounts (default: all).
    """
    if by not in GROUPS:
        raise ValueError(f"by must be one of {', '.join(GROUPS)}, got {by!r}")
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if end <= start:
        raise ValueError(f"the report's end {end.isoformat()} is not after its start")
    tz = ZoneInfo(timezone)
    costs = _load_costs(store)
    report = SalesReport(start=start, end=end, by=by, timezone=timezone)
    fees = dict(fee_percent or {})
    for order, returned in _orders(store, start, end, accounts):
        report.facts.extend(
            order_facts(
                order,
                costs=costs,
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

    Needs matplotlib (``pip install 'channelsync[chart]'``). Amounts of one currency are
    drawn: ``currency``, or the one with the most revenue.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError:
        raise ConfigError("the chart needs matplotlib: pip install 'channelsync[chart]'") from None
    series = report.series()
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for (_, cur), points in series.items():
        by_currency[cur] += sum((p[1] for p in points), _ZERO)
    chosen = currency or (max(by_currency, key=lambda c: by_currency[c]) if by_currency else "")
    fig = Figure(figsize=(10, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    drawn = 0
    for (account, cur), points in series.items():
        if cur != chosen:
            continue
        color = colors[drawn % len(colors)]
        days: Any = [p[0] for p in points]  # matplotlib plots dates; its stubs say floats
        ax.plot(
            days, [float(p[1]) for p in points], color=color, marker="o", label=f"{account} revenue"
        )
        ax.plot(
            days,
            [float(p[2]) for p in points],
            color=color,
            linestyle="--",
            marker="x",
            label=f"{account} margin",
        )
        drawn += 1
    last = (report.end - timedelta(microseconds=1)).date()
    span = f"{report.start.date().isoformat()} to {last.isoformat()}"
    ax.set_title(
        f"Revenue and gross margin per channel, {span}" + (f" ({chosen})" if chosen else "")
    )
    ax.set_xlabel(f"day ({report.timezone})")
    ax.set_ylabel(chosen or "amount")
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.grid(True, alpha=0.3)
    if drawn:
        ax.legend(loc="best", fontsize="small")
    else:
        ax.text(
            0.5, 0.5, "no sales in this period", ha="center", va="center", transform=ax.transAxes
        )
    fig.autofmt_xdate()
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png")
    return out
