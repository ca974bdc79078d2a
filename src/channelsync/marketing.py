"""Marketing success per channel and period, and customer cohorts.

Aggregated in SQL from the sales projection (``channelsync.core.salesbook``), which is
brought up to date first::

    rep = channel_report(store, start=..., end=..., period="week",
                         fee_percent={"ebay-de": Decimal("11")},
                         rates=load_rates("eurofxref-hist.csv"), currency="EUR")
    rep.rows                        # one ChannelRow per (period, account, currency)
    rep.unconverted                 # what the rates could not convert, never dropped
    cust = customer_report(store, start=..., end=..., repeat_days=90)
    cust.cohorts                    # customers per first-order month and their return

Definitions (on top of those of ``channelsync.reports``, whose revenue, refunds, fees,
cost and margin these are; a refund counts on its own day, a return on the day the units
came back):

- **orders**: orders with a sale in the row (not cancelled); **aov**: revenue / orders.
- **refund rate**: refunds / revenue; **return rate**: units returned / units sold.
- **new customers**: people whose first order ever (on any channel, before the report's
  end) is in the row; **returning customers**: people with an order in the row whose
  first order came earlier. A person is identified across channels (see
  ``channelsync.core.salesbook.identity_of`` and the merges of ``engine.merge_customers``);
  orders without any customer are counted as ``anonymous_orders``.
- **repeat rate (N days)**: of the new customers of the row, the share who ordered again
  (anywhere) within N days of their first order.
- **cohorts**: people by the month of their first order; for each later month, how many
  of them ordered in it.

Periods are calendar days, ISO weeks (starting Monday) or months in the report's
timezone. Amounts stay in their currency unless ``currency`` and ``rates`` are given; then
each amount is converted at the rate of its day, and what cannot be converted stays in
its own currency and is listed in ``unconverted``.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from channelsync.charts import draw_daily, report_days
from channelsync.core.errors import ConfigError
from channelsync.core.salesbook import SalesBook, local_offsets
from channelsync.core.store import Store
from channelsync.rates import Rates

__all__ = [
    "PERIODS",
    "ChannelReport",
    "ChannelRow",
    "Cohort",
    "CustomerReport",
    "Period",
    "channel_report",
    "customer_report",
    "period_start",
    "refresh_projection",
    "render_channel_chart",
]

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")
_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_ONE = Decimal(1)
_EPOCH_DAY = date(1970, 1, 1)


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT, ROUND_HALF_UP))


def _pct(part: Decimal, whole: Decimal) -> str | None:
    if not whole:
        return None
    return str((part / whole * 100).quantize(Decimal("0.1"), ROUND_HALF_UP))


def period_start(day: date, period: Period) -> date:
    """The first day of the period (day, ISO week from Monday, month) holding ``day``."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_period(start: date, period: Period) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def refresh_projection(store: Store) -> int:
    """Bring the reports' projection up to date with the stored orders; orders rebuilt."""
    return SalesBook(store).refresh()


@dataclass
class ChannelRow:
    """One channel account's marketing figures in one period and currency."""

    period: date
    account: str
    currency: str
    orders: int = 0
    units: int = 0
    revenue: Decimal = _ZERO
    refunds: Decimal = _ZERO
    returned_units: int = 0
    fees: Decimal = _ZERO
    fees_estimated: bool = False
    cost: Decimal = _ZERO
    units_without_cost: int = 0
    new_customers: int = 0
    returning_customers: int = 0
    anonymous_orders: int = 0
    repeat_customers: int = 0
    """New customers of this row who ordered again within the report's repeat window."""

    @property
    def margin(self) -> Decimal:
        """``revenue - refunds - fees - cost``."""
        return self.revenue - self.refunds - self.fees - self.cost

    @property
    def aov(self) -> Decimal | None:
        """Average order value: revenue / orders."""
        return self.revenue / self.orders if self.orders else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures (amounts rounded to cents, rates in percent)."""
        aov = self.aov
        return {
            "period": self.period.isoformat(),
            "account": self.account,
            "currency": self.currency,
            "orders": self.orders,
            "units": self.units,
            "revenue": _money(self.revenue),
            "refunds": _money(self.refunds),
            "refund_rate": _pct(self.refunds, self.revenue),
            "returned_units": self.returned_units,
            "return_rate": _pct(Decimal(self.returned_units), Decimal(self.units)),
            "fees": _money(self.fees),
            "fees_estimated": self.fees_estimated,
            "cost": _money(self.cost),
            "units_without_cost": self.units_without_cost,
            "margin": _money(self.margin),
            "margin_percent": _pct(self.margin, self.revenue - self.refunds),
            "aov": _money(aov) if aov is not None else None,
            "new_customers": self.new_customers,
            "returning_customers": self.returning_customers,
            "anonymous_orders": self.anonymous_orders,
            "repeat_customers": self.repeat_customers,
            "repeat_rate": _pct(Decimal(self.repeat_customers), Decimal(self.new_customers)),
        }


CHANNEL_COLUMNS = (
    "period",
    "account",
    "currency",
    "orders",
    "units",
    "revenue",
    "refunds",
    "refund_rate",
    "returned_units",
    "return_rate",
    "fees",
    "fees_estimated",
    "cost",
    "units_without_cost",
    "margin",
    "margin_percent",
    "aov",
    "new_customers",
    "returning_customers",
    "anonymous_orders",
    "repeat_customers",
    "repeat_rate",
)


@dataclass(frozen=True)
class Unconverted:
    """An amount the rates could not convert (it stays in its own currency)."""

    day: date
    account: str
    currency: str
    what: str
    amount: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "day": self.day.isoformat(),
            "account": self.account,
            "currency": self.currency,
            "what": self.what,
            "amount": _money(self.amount),
        }


@dataclass
class ChannelReport:
    """Marketing figures per channel account and period over ``[start, end)``."""

    start: datetime
    end: datetime
    period: Period
    timezone: str
    repeat_days: int
    currency: str | None = None
    rows: list[ChannelRow] = field(default_factory=list)
    unconverted: list[Unconverted] = field(default_factory=list)
    skus_without_cost: set[str] = field(default_factory=set)
    daily: dict[tuple[str, str], dict[date, tuple[Decimal, Decimal]]] = field(default_factory=dict)
    """(account, currency) -> day -> (revenue, margin): the chart's series."""

    def periods(self) -> list[date]:
        """Every period start the report covers, in order (including periods without sales)."""
        first = period_start(self.start.astimezone(ZoneInfo(self.timezone)).date(), self.period)
        last = (self.end - timedelta(microseconds=1)).astimezone(ZoneInfo(self.timezone)).date()
        out = []
        day = first
        while day <= last:
            out.append(day)
            day = _next_period(day, self.period)
        return out

    @property
    def totals(self) -> list[ChannelRow]:
        """One row per account and currency over the whole report."""
        return _fold(
            self.rows, lambda r: (self.periods()[0] if self.periods() else r.period, r.account)
        )

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "period": self.period,
            "timezone": self.timezone,
            "repeat_days": self.repeat_days,
            "currency": self.currency,
            "rows": [r.as_dict() for r in self.rows],
            "totals": [{**r.as_dict(), "period": None} for r in self.totals],
            "unconverted": [u.as_dict() for u in self.unconverted],
            "skus_without_cost": sorted(self.skus_without_cost),
        }

    def to_json(self) -> str:
        """``as_dict()`` as indented JSON."""
        return json.dumps(self.as_dict(), indent=2)

    def write_csv(self, out: IO[str]) -> None:
        """One CSV row per period, account and currency (with a header)."""
        writer = csv.DictWriter(out, fieldnames=CHANNEL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow(row.as_dict())


def _fold(rows: Iterable[ChannelRow], key: Any) -> list[ChannelRow]:
    out: dict[tuple[Any, ...], ChannelRow] = {}
    for r in rows:
        period, account = key(r)
        k = (period, account, r.currency)
        t = out.get(k)
        if t is None:
            t = out[k] = ChannelRow(period=period, account=account, currency=r.currency)
        for name in (
            "orders",
            "units",
            "revenue",
            "refunds",
            "returned_units",
            "fees",
            "cost",
            "units_without_cost",
            "new_customers",
            "returning_customers",
            "anonymous_orders",
            "repeat_customers",
        ):
            setattr(t, name, getattr(t, name) + getattr(r, name))
        t.fees_estimated |= r.fees_estimated
    return [out[k] for k in sorted(out)]


def _check(start: datetime, end: datetime, timezone: str) -> ZoneInfo:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if end <= start:
        raise ValueError(f"the report's end {end.isoformat()} is not after its start")
    try:
        return ZoneInfo(timezone)
    except Exception:
        raise ConfigError(f"unknown timezone {timezone!r}") from None


def channel_report(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    period: Period = "day",
    fee_percent: Mapping[str, Decimal] | None = None,
    timezone: str = "UTC",
    accounts: Iterable[str] | None = None,
    repeat_days: int = 90,
    rates: Rates | None = None,
    currency: str | None = None,
    refresh: bool = True,
) -> ChannelReport:
    """Marketing figures per channel account and period over ``[start, end)``.

    Args:
        store: the engine's store.
        start, end: aware datetimes.
        period: ``"day"``, ``"week"`` (ISO, from Monday) or ``"month"``.
        fee_percent: per account, the fee share of revenue where the channel reports none.
        timezone: IANA name of the calendar the periods follow.
        accounts: only these accounts (default: all).
        repeat_days: the window of the repeat-purchase rate.
        rates: exchange rates, to convert into ``currency`` and to cost a SKU whose cost
            price is in another currency than the sale.
        currency: the reporting currency (needs ``rates``).
        refresh: bring the projection up to date first (a benchmark may skip it).
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    if currency is not None and rates is None:
        raise ConfigError(f"converting into {currency} needs exchange rates (--rates FILE)")
    if repeat_days < 1:
        raise ValueError("repeat_days must be at least 1")
    _check(start, end, timezone)
    book = SalesBook(store)
    if refresh:
        refresh_projection(store)
    wanted = list(accounts) if accounts is not None else None
    fees = dict(fee_percent or {})
    offsets = local_offsets(timezone, start, end)
    rep = ChannelReport(
        start=start,
        end=end,
        period=period,
        timezone=timezone,
        repeat_days=repeat_days,
        currency=currency.upper() if currency else None,
    )
    cells: dict[tuple[date, str, str], ChannelRow] = {}
    day_of: dict[int, date] = {}

    def local_day(bucket: int) -> date:
        found = day_of.get(bucket)
        if found is None:
            found = day_of[bucket] = _EPOCH_DAY + timedelta(days=bucket)
        return found

    def row(day: date, account: str, cur: str) -> ChannelRow:
        key = (period_start(day, period), account, cur)
        found = cells.get(key)
        if found is None:
            found = cells[key] = ChannelRow(period=key[0], account=account, currency=cur)
        return found

    def converted(
        day: date, account: str, cur: str, what: str, amount: Decimal
    ) -> tuple[str, Decimal]:
        target = rep.currency
        if target is None or cur == target:
            return cur, amount
        assert rates is not None
        value = rates.convert(amount, cur, target, day)
        if value is None:
            rep.unconverted.append(Unconverted(day, account, cur, what, amount))
            return cur, amount
        return target, value

    daily: dict[tuple[str, str], dict[date, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [_ZERO, _ZERO])
    )
    uncosted = False
    seen_currencies: set[str] = set()
    for b in book.buckets(start, end, offsets, wanted):
        day = local_day(b.bucket)
        pct = fees.get(b.account)
        estimated = b.unreported_fee_revenue * pct / 100 if pct is not None else _ZERO
        amounts = {
            "revenue": b.revenue,
            "refunds": b.refunds,
            "fees": b.fees + estimated,
            "cost": b.cost,
        }
        counted_in = b.currency
        for what, amount in amounts.items():
            if amount or what == "revenue":
                cur, value = converted(day, b.account, b.currency, what, amount)
            else:
                cur, value = counted_in, amount
            if what == "revenue":
                counted_in = cur
            r = row(day, b.account, cur)
            setattr(r, what, getattr(r, what) + value)
            if what == "fees" and estimated:
                r.fees_estimated = True
            point = daily[(b.account, cur)][day]
            if what == "revenue":
                point[0] += value
            else:
                point[1] -= value
        uncosted |= b.units_without_cost > 0
        seen_currencies.add(b.currency)
        r = row(day, b.account, counted_in)
        r.units += b.units
        r.returned_units += b.returned
        r.units_without_cost += b.units_without_cost
    # Cost prices in another currency than the sale's: converted at the day's rate (SKUs
    # are found with an index seek each: cheap enough to look whenever rates are given).
    if uncosted or rates is not None:
        costs = book.costs()
        currencies = sorted(seen_currencies)
        missing = book.sold_in(
            [
                (sku, cur)
                for sku in book.skus()
                for cur in currencies
                if costs.unit_cost(sku, cur) is None
            ],
            start,
            end,
        )
        convertible = [(sku, cur) for sku, cur in missing if rates and costs.currencies(sku)]
        known = set(convertible)
        rep.skus_without_cost.update(sku for sku, cur in missing if (sku, cur) not in known)
        for account, sku, cur, bucket, cost_units, sold in book.cost_units_of(
            convertible, start, end, offsets, wanted
        ):
            day = local_day(bucket)
            unit: Decimal | None = None
            for other in costs.currencies(sku):
                own = costs.unit_cost(sku, other)
                if own is not None and rates is not None:
                    unit = rates.convert(own, other, cur, day)
                    if unit is not None:
                        break
            if unit is None:
                rep.skus_without_cost.add(sku)
                continue
            out_cur, value = converted(day, account, cur, "cost", unit * cost_units)
            r = row(day, account, out_cur)
            r.cost += value
            daily[(account, out_cur)][day][1] -= value
            r.units_without_cost = max(r.units_without_cost - sold, 0)
    for days in daily.values():
        for point in days.values():
            point[1] += point[0]
    rep.daily = {
        k: {d: (v[0], v[1]) for d, v in sorted(days.items())} for k, days in sorted(daily.items())
    }

    def home(day: date, cur: str | None) -> str:
        """The row currency of an order in ``cur``: the reporting one if convertible."""
        if rep.currency is None or cur is None or cur == rep.currency:
            return cur or rep.currency or ""
        assert rates is not None
        return rep.currency if rates.rate(cur, rep.currency, day) is not None else cur

    def day_at(at_s: int) -> date:
        for since, offset in reversed(offsets):
            if at_s >= since:
                return local_day((at_s + offset) // 86400)
        return local_day((at_s + offsets[0][1]) // 86400)

    _customers_into(rep, book, day_at, wanted, row, home)
    rep.rows = [cells[k] for k in sorted(cells)]
    return rep


def _customers_into(
    rep: ChannelReport,
    book: SalesBook,
    day_at: Callable[[int], date],
    wanted: list[str] | None,
    row: Callable[[date, str, str], ChannelRow],
    home: Callable[[date, str | None], str],
) -> None:
    """Orders, new, returning and repeat customers and anonymous orders, from one pass
    over every order (streamed, ordered by person then time)."""
    lo, hi = rep.start.timestamp(), rep.end.timestamp()
    window = rep.repeat_days * 86400
    person: str | None = None
    first_at, first_account, first_currency = 0, "", None
    seen_rows: set[tuple[date, str, str]] = set()
    repeated = False
    period = rep.period

    def close() -> None:
        if (
            person is not None
            and repeated
            and lo <= first_at < hi
            and (wanted is None or first_account in wanted)
        ):
            day = day_at(first_at)
            row(day, first_account, home(day, first_currency)).repeat_customers += 1

    for who, account, at_s, currency in book.order_points():
        if at_s >= hi:
            continue
        inside = at_s >= lo and (wanted is None or account in wanted)
        if who is None:
            if inside:
                day = day_at(at_s)
                target = row(day, account, home(day, currency))
                target.orders += 1
                target.anonymous_orders += 1
            continue
        if who != person:
            close()
            person, first_at, first_account, first_currency = who, at_s, account, currency
            repeated = False
            seen_rows = set()
            is_first = True
        else:
            is_first = False
            if at_s - first_at <= window:
                repeated = True
        if not inside:
            continue
        day = day_at(at_s)
        cur = home(day, currency)
        target = row(day, account, cur)
        target.orders += 1
        key = (period_start(day, period), account, cur)
        if key in seen_rows:
            continue
        seen_rows.add(key)
        if is_first:
            target.new_customers += 1
        else:
            target.returning_customers += 1
    close()


# -- customers and cohorts ----------------------------------------------------------------


@dataclass
class Cohort:
    """The people whose first order fell in ``month``, and when they came back."""

    month: date
    customers: int = 0
    active: list[int] = field(default_factory=list)
    """``active[k]``: how many of them ordered in the k-th month after ``month`` (k >= 1)."""
    repeat_customers: int = 0
    """How many ordered again within the report's repeat window."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "month": self.month.strftime("%Y-%m"),
            "customers": self.customers,
            "repeat_customers": self.repeat_customers,
            "repeat_rate": _pct(Decimal(self.repeat_customers), Decimal(self.customers)),
            "active": self.active,
        }


@dataclass
class CustomerReport:
    """Customers over ``[start, end)``: cohorts by first-order month and repeat rate."""

    start: datetime
    end: datetime
    timezone: str
    repeat_days: int
    customers: int = 0
    """People with an order in the period."""
    new_customers: int = 0
    returning_customers: int = 0
    repeat_customers: int = 0
    """New customers of the period who ordered again within ``repeat_days``."""
    orders_per_customer: Decimal = _ZERO
    cohorts: list[Cohort] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "timezone": self.timezone,
            "repeat_days": self.repeat_days,
            "customers": self.customers,
            "new_customers": self.new_customers,
            "returning_customers": self.returning_customers,
            "repeat_customers": self.repeat_customers,
            "repeat_rate": _pct(Decimal(self.repeat_customers), Decimal(self.new_customers)),
            "orders_per_customer": str(self.orders_per_customer.quantize(Decimal("0.01"))),
            "cohorts": [c.as_dict() for c in self.cohorts],
        }

    def to_json(self) -> str:
        """``as_dict()`` as indented JSON."""
        return json.dumps(self.as_dict(), indent=2)

    def write_csv(self, out: IO[str]) -> None:
        """One CSV row per cohort: month, customers, repeat, then month 1, 2, ..."""
        width = max((len(c.active) for c in self.cohorts), default=0)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["month", "customers", "repeat_customers", "repeat_rate"]
            + [f"month_{k}" for k in range(1, width + 1)]
        )
        for c in self.cohorts:
            d = c.as_dict()
            writer.writerow(
                [d["month"], c.customers, c.repeat_customers, d["repeat_rate"] or ""]
                + c.active
                + [""] * (width - len(c.active))
            )


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def customer_report(
    store: Store,
    *,
    start: datetime,
    end: datetime,
    timezone: str = "UTC",
    repeat_days: int = 90,
    accounts: Iterable[str] | None = None,
    refresh: bool = True,
) -> CustomerReport:
    """Cohorts of the people whose first order fell in ``[start, end)``, by month, and
    the period's new, returning and repeat customers (orders up to ``end`` count).

    With ``accounts``, only people whose first order was on one of them.
    """
    tz = _check(start, end, timezone)
    if repeat_days < 1:
        raise ValueError("repeat_days must be at least 1")
    if refresh:
        refresh_projection(store)
    book = SalesBook(store)
    wanted = set(accounts) if accounts is not None else None
    lo, hi = start.timestamp(), end.timestamp()
    rep = CustomerReport(start=start, end=end, timezone=timezone, repeat_days=repeat_days)
    cohorts: dict[date, Cohort] = {}
    last_month = (end - timedelta(microseconds=1)).astimezone(tz).date().replace(day=1)
    orders_in = 0
    person: str | None = None
    state: dict[str, Any] = {}

    def close() -> None:
        if person is None or not state:
            return
        if wanted is not None and state["account"] not in wanted:
            return
        if state["in_period"]:
            rep.customers += 1
            if lo <= state["first"] < hi:
                rep.new_customers += 1
                if state["repeat"]:
                    rep.repeat_customers += 1
            else:
                rep.returning_customers += 1
        if lo <= state["first"] < hi:
            month: date = state["month"]
            cohort = cohorts.get(month)
            if cohort is None:
                cohort = cohorts[month] = Cohort(
                    month=month, active=[0] * _months_between(month, last_month)
                )
            cohort.customers += 1
            cohort.repeat_customers += 1 if state["repeat"] else 0
            for k in state["months"]:
                if 1 <= k <= len(cohort.active):
                    cohort.active[k - 1] += 1

    for who, account, at_s, _ in book.order_points():
        if who is None or at_s >= hi:
            continue
        if who != person:
            close()
            person = who
            month = datetime.fromtimestamp(at_s, tz).date().replace(day=1)
            state = {
                "first": at_s,
                "account": account,
                "month": month,
                "repeat": False,
                "in_period": False,
                "months": set(),
            }
        elif at_s - state["first"] <= repeat_days * 86400:
            state["repeat"] = True
        if at_s >= lo:
            state["in_period"] = True
            if wanted is None or state["account"] in wanted:
                orders_in += 1
        here = datetime.fromtimestamp(at_s, tz).date()
        state["months"].add(_months_between(state["month"], here))
    close()
    rep.cohorts = [cohorts[m] for m in sorted(cohorts)]
    if rep.customers:
        rep.orders_per_customer = Decimal(orders_in) / rep.customers
    return rep


# -- the chart ----------------------------------------------------------------------------


def render_channel_chart(report: ChannelReport, path: str | Path) -> Path:
    """Revenue and margin per channel per day over the report's whole period, one panel
    per currency (one panel when converted)."""
    days = report_days(report.start, report.end, report.timezone)
    span = f"{days[0].isoformat()} to {days[-1].isoformat()}" if days else ""
    return draw_daily(
        report.daily,
        days,
        path,
        title=f"Revenue and gross margin per channel, {span}",
        xlabel=f"day ({report.timezone})",
    )
