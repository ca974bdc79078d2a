"""The reports' query API: orders with their refunds and returns, and the sales projection.

This module alone writes the ``sales_orders`` and ``sales_facts`` tables: a projection of
every stored order that the reports aggregate in SQL. Each order's projection is rebuilt
(``SalesBook.refresh``) when its *signature* changes: the order's version, its returns and
the refunds channelsync made on it. A fact holds what one line contributes at one moment
(the sale, a refund, a return) in one currency, with amounts as integers in 1/10000 of the
currency unit so that sums are exact on every backend; cost prices are applied at report
time (``cost_units``), so a changed cost price needs no rebuild.

Who bought (``identity_of``): a normalised e-mail (trimmed, lower case) identifies a person
across channels; where a channel hides the e-mail (Amazon's relay addresses, eBay) the
channel's stable buyer id does: ``ebay:<BuyerUserID>``, ``amazon:<relay address>``. A
customer id without an e-mail is scoped to its account (a shop's customer numbers mean
nothing elsewhere).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channelsync.core import schema as t
from channelsync.core.aftersale import recorded_refunds, with_recorded_refunds
from channelsync.core.catalog import CostBook, read_costs
from channelsync.core.models import Order, OrderStatus, Refund
from channelsync.core.orderbook import lock_orders
from channelsync.core.salesfacts import Returned, SalesFact, order_facts
from channelsync.core.store import Store

__all__ = [
    "SCALE",
    "BucketRow",
    "Returned",
    "SalesBook",
    "from_scaled",
    "identity_of",
    "local_day_number",
    "local_offsets",
    "projection_facts",
    "to_scaled",
]

SCALE = Decimal(10000)
"""Amounts in the projection are integers of 1/SCALE of the currency unit."""

_RELAY = re.compile(r"@(marketplace\.amazon\.|members\.ebay\.)", re.IGNORECASE)
_HIDDEN_KINDS = ("amazon", "ebay")
_CHUNK = 500


def to_scaled(amount: Decimal) -> int:
    """``amount`` in 1/10000 units (half-even), as the projection stores it."""
    return int((amount * SCALE).to_integral_value(ROUND_HALF_EVEN))


def from_scaled(value: int | None) -> Decimal:
    """A projection integer back to a Decimal amount."""
    return Decimal(value or 0) / SCALE


def identity_of(kind: str, account: str, customer_id: str | None, email: str | None) -> str | None:
    """Who placed an order, the same string on every channel for the same person.

    ``email:<trimmed, lower-case e-mail>`` where the channel shows the buyer's e-mail;
    ``<kind>:<buyer id>`` where it hides it (Amazon relay addresses, eBay), the buyer id
    being the channel's stable one (an Amazon relay address is stable per buyer);
    ``<kind>:<account>:<customer id>`` for a customer number without an e-mail; None for
    an anonymous order.
    """
    mail = (email or "").strip().lower() or None
    if mail is not None and "@" not in mail:
        mail = None
    buyer = (customer_id or "").strip() or None
    hidden = kind in _HIDDEN_KINDS or (mail is not None and _RELAY.search(mail) is not None)
    if hidden:
        if buyer is not None:
            return f"{kind}:{buyer}"
        return f"{kind}:{mail}" if mail is not None else None
    if mail is not None:
        return f"email:{mail}"
    return f"{kind}:{account}:{buyer}" if buyer is not None else None


@dataclass(frozen=True)
class BucketRow:
    """Sums of the facts of one account, currency and time bucket (``SalesBook.buckets``)."""

    account: str
    currency: str
    bucket: int
    """The local calendar day, as days since 1970-01-01 (see ``local_days``)."""
    units: int
    revenue: Decimal
    refunds: Decimal
    fees: Decimal
    unreported_fee_revenue: Decimal
    """Revenue of lines whose channel reported no fees (the configured percentage applies)."""
    cost: Decimal
    units_without_cost: int
    returned: int


def local_offsets(timezone: str, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """The UTC offsets (seconds) of ``timezone`` over ``[start, end)``: a list of
    (Unix second from which it applies, offset), the first from ``start``."""
    tz = ZoneInfo(timezone)

    def offset(at: int) -> int:
        delta = datetime.fromtimestamp(at, tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    lo, hi = math.floor(start.timestamp()), math.ceil(end.timestamp())
    out = [(lo, offset(lo))]
    at = lo
    while at < hi:
        step = min(at + 3600, hi)
        if offset(step) != out[-1][1]:
            a, b = at, step  # the change lies in (a, b]: find its first second
            while b - a > 1:
                mid = (a + b) // 2
                if offset(mid) == out[-1][1]:
                    a = mid
                else:
                    b = mid
            out.append((b, offset(b)))
        at = step
    return out


def local_day_number(at_s: Any, offsets: Sequence[tuple[int, int]]) -> Any:
    """SQL: the local calendar day of the Unix second ``at_s`` as days since 1970-01-01,
    given the timezone's ``offsets`` (``local_offsets``)."""
    if len(offsets) == 1:
        return (at_s + offsets[0][1]) // 86400
    whens = [
        (at_s < since, (at_s + prev) // 86400)
        for (since, _), (_, prev) in zip(offsets[1:], offsets, strict=False)
    ]
    return sa.case(*whens, else_=(at_s + offsets[-1][1]) // 86400)


def _scan(conn: Connection, query: sa.Select[Any], wide: bool) -> Iterator[Any]:
    """The rows of ``query``; ``wide`` over SQLite reads ``sales_facts`` in table order
    (``NOT INDEXED``, which SQLAlchemy cannot say), streamed."""
    if not (wide and conn.dialect.name == "sqlite"):
        yield from conn.execution_options(yield_per=2000).execute(query)
        return
    compiled = query.compile(conn)
    sql = str(compiled).replace("FROM sales_facts ", "FROM sales_facts NOT INDEXED ", 1)
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    yield from conn.exec_driver_sql(sql, params)


class _UnitCost:
    """Every SKU costs 1: a fact's cost then counts the units whose cost counts."""

    def unit_cost(self, sku: str, currency: str) -> Decimal | None:
        return Decimal(1)


_UTC = ZoneInfo("UTC")


def projection_facts(order: Order, returned: Sequence[Returned]) -> list[SalesFact]:
    """The facts the projection stores for ``order``: ``cost`` counts cost units and
    fees are only those the channel reported."""
    return order_facts(order, costs=_UnitCost(), fee_percent={}, tz=_UTC, returns=returned)


class SalesBook:
    """Reads of orders, refunds, returns and costs for reports; the sales projection."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- orders with what happened to them after the sale --------------------------------

    def costs(self) -> CostBook:
        """The catalogue's cost prices (every currency) and bundles."""
        with self.store.read() as conn:
            return read_costs(conn)

    def orders_between(
        self, start: datetime, end: datetime, accounts: Iterable[str] | None = None
    ) -> Iterator[tuple[Order, list[Returned]]]:
        """Orders created in ``[start, end)``, and older ones with a change, refund or
        return in it, each with channelsync's confirmed refunds merged in and its returns
        made before ``end``."""
        o = t.orders.c
        r = t.returns.c
        a = t.aftersale_ops.c
        wanted = list(accounts) if accounts is not None else None
        with self.store.read() as conn:
            touched: set[tuple[str, str]] = set()
            for table, at in ((t.returns, r.created_at), (t.aftersale_ops, a.updated_at)):
                query = sa.select(table.c.account, table.c.order_id).where(at >= start, at < end)
                if table is t.aftersale_ops:
                    query = query.where(a.kind == "refund", a.status == "done")
                if wanted is not None:
                    query = query.where(table.c.account.in_(wanted))
                touched.update((row.account, row.order_id) for row in conn.execute(query))
            orders_query = (
                sa.select(o.account, o.order_id)
                .where(o.created_at < end, sa.or_(o.created_at >= start, o.updated_at >= start))
                .order_by(o.created_at, o.account, o.order_id)
            )
            if wanted is not None:
                orders_query = orders_query.where(o.account.in_(wanted))
            pairs = [(row.account, row.order_id) for row in conn.execute(orders_query)]
            seen = set(pairs)
            pairs.extend(sorted(touched - seen))
            for first in range(0, len(pairs), _CHUNK):
                yield from self._load(conn, pairs[first : first + _CHUNK], end)

    def _load(
        self, conn: Connection, pairs: Sequence[tuple[str, str]], end: datetime | None
    ) -> list[tuple[Order, list[Returned]]]:
        o = t.orders.c
        r = t.returns.c
        query = sa.select(o.account, o.order_id, o.doc).where(
            sa.tuple_(o.account, o.order_id).in_(pairs)
        )
        if end is not None:
            query = query.where(o.created_at < end)
        docs = {(row.account, row.order_id): row.doc for row in conn.execute(query)}
        found = recorded_refunds(conn, None, {order_id for _, order_id in pairs})
        refunds: dict[tuple[str, str], list[Refund]] = {
            pair: found[pair] for pair in pairs if pair in found
        }
        returned: dict[tuple[str, str], list[Returned]] = defaultdict(list)
        returns_query = (
            sa.select(t.returns)
            .where(sa.tuple_(r.account, r.order_id).in_(pairs))
            .order_by(r.created_at, r.id)
        )
        if end is not None:
            returns_query = returns_query.where(r.created_at < end)
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
        out = []
        for pair in pairs:
            doc = docs.get(pair)
            if doc is None:
                continue
            order = with_recorded_refunds(Order.model_validate_json(doc), refunds.get(pair, ()))
            out.append((order, returned.get(pair, [])))
        return out

    # -- the projection --------------------------------------------------------------------

    def _extras(
        self, conn: Connection, pairs: Sequence[tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], str]:
        """The part of the signature that returns and confirmed refunds make, per order
        that has any (``pairs``: only those orders)."""
        r = t.returns.c
        a = t.aftersale_ops.c
        back: dict[tuple[str, str], str] = {}
        returns = sa.select(r.account, r.order_id, sa.func.count(), sa.func.max(r.id)).group_by(
            r.account, r.order_id
        )
        refunds = (
            sa.select(a.account, a.order_id, sa.func.count(), sa.func.max(a.updated_at))
            .where(a.kind == "refund", a.status == "done")
            .group_by(a.account, a.order_id)
        )
        if pairs is not None:
            returns = returns.where(sa.tuple_(r.account, r.order_id).in_(list(pairs)))
            refunds = refunds.where(sa.tuple_(a.account, a.order_id).in_(list(pairs)))
        for row in conn.execute(returns):
            back[(row[0], row[1])] = f"r{row[2]}.{row[3]}"
        for row in conn.execute(refunds):
            when = row[3].timestamp() if row[3] is not None else 0
            back[(row[0], row[1])] = back.get((row[0], row[1]), "") + f"f{row[2]}.{when}"
        return back

    def stale(self) -> list[tuple[str, str]]:
        """Orders whose projection is missing or out of date.

        The versions are compared in SQL; only orders with returns or refunds (few) are
        compared in Python, on their whole signature.
        """
        o = t.orders.c
        s = t.sales_orders.c
        joined = t.orders.outerjoin(
            t.sales_orders, sa.and_(s.account == o.account, s.order_id == o.order_id)
        )
        prefix = sa.func.substr(s.signature, 1, sa.func.length(o.version) + 1)
        query = (
            sa.select(o.account, o.order_id)
            .select_from(joined)
            .where(sa.or_(s.account.is_(None), prefix != o.version + "|"))
        )
        with self.store.read() as conn:
            found = {(row.account, row.order_id) for row in conn.execute(query)}
            extras = self._extras(conn)
            checked = sorted(extras.keys() - found)
            for first in range(0, len(checked), _CHUNK):
                chunk = checked[first : first + _CHUNK]
                for row in conn.execute(
                    sa.select(o.account, o.order_id, o.version, s.signature)
                    .select_from(joined)
                    .where(sa.tuple_(o.account, o.order_id).in_(chunk))
                ):
                    pair = (row.account, row.order_id)
                    if row.signature != f"{row.version}|{extras[pair]}":
                        found.add(pair)
        return sorted(found)

    def refresh(self) -> int:
        """Bring the projection up to date with the stored orders; returns orders rebuilt."""
        stale = self.stale()
        for first in range(0, len(stale), _CHUNK):
            chunk = stale[first : first + _CHUNK]
            with self.store.read() as conn:
                extras = self._extras(conn, chunk)
                versions = {
                    (row.account, row.order_id): row.version
                    for row in conn.execute(
                        sa.select(
                            t.orders.c.account, t.orders.c.order_id, t.orders.c.version
                        ).where(sa.tuple_(t.orders.c.account, t.orders.c.order_id).in_(chunk))
                    )
                }
                loaded = self._load(conn, chunk, None)
            order_rows: list[dict[str, Any]] = []
            fact_rows: list[dict[str, Any]] = []
            for order, returned in loaded:
                pair = (order.account, order.order_id)
                customer = order.customer
                order_rows.append(
                    {
                        "account": order.account,
                        "order_id": order.order_id,
                        "kind": order.kind,
                        "signature": f"{versions[pair]}|{extras.get(pair, '')}",
                        "identity": identity_of(
                            order.kind,
                            order.account,
                            customer.customer_id if customer else None,
                            customer.email if customer else None,
                        ),
                        "created_at": order.created_at,
                        "at_s": math.floor(order.created_at.timestamp()),
                        "currency": order.currency
                        or (order.total.currency if order.total else None),
                        "counted": order.status is not OrderStatus.CANCELLED,
                    }
                )
                for seq, fact in enumerate(projection_facts(order, returned)):
                    assert fact.at is not None
                    fact_rows.append(
                        {
                            "account": order.account,
                            "order_id": order.order_id,
                            "seq": seq,
                            "line_id": fact.line_id,
                            "sku": fact.sku,
                            "currency": fact.currency,
                            "at_s": math.floor(fact.at.timestamp()),
                            "sale": fact.sale,
                            "units": fact.units,
                            "revenue": to_scaled(fact.revenue),
                            "refunds": to_scaled(fact.refunds),
                            "fees": 0 if fact.fees_estimated else to_scaled(fact.fees),
                            "fees_reported": order.fees is not None,
                            "cost_units": int(fact.cost),
                            "returned": fact.returned,
                        }
                    )
            self._write_chunk(chunk, order_rows, fact_rows)
        return len(stale)

    def _write_chunk(
        self,
        pairs: list[tuple[str, str]],
        order_rows: list[dict[str, Any]],
        fact_rows: list[dict[str, Any]],
    ) -> None:
        def work(conn: Connection) -> None:
            self._write(conn, pairs, order_rows, fact_rows)

        self.store.run(work)

    def _write(
        self,
        conn: Connection,
        pairs: Sequence[tuple[str, str]],
        order_rows: list[dict[str, Any]],
        fact_rows: list[dict[str, Any]],
    ) -> None:
        s = t.sales_orders.c
        f = t.sales_facts.c
        # Two reports (or a report and a worker) rebuilding the same order: the second waits
        # for the first, then replaces its rows instead of colliding with them.
        lock_orders(self.store, conn, pairs)
        conn.execute(t.sales_facts.delete().where(sa.tuple_(f.account, f.order_id).in_(pairs)))
        conn.execute(t.sales_orders.delete().where(sa.tuple_(s.account, s.order_id).in_(pairs)))
        if order_rows:
            conn.execute(t.sales_orders.insert(), order_rows)
        if fact_rows:
            conn.execute(t.sales_facts.insert(), fact_rows)

    def write(
        self, conn: Connection, order_rows: list[dict[str, Any]], fact_rows: list[dict[str, Any]]
    ) -> None:
        """Insert projection rows as they are (benchmarks fill the projection this way)."""
        if order_rows:
            conn.execute(t.sales_orders.insert(), order_rows)
        if fact_rows:
            conn.execute(t.sales_facts.insert(), fact_rows)

    def forget(self, conn: Connection, cond: sa.ColumnElement[bool]) -> None:
        """Drop the buyer's identity from the projection of the orders matching ``cond``."""
        o = t.orders.c
        s = t.sales_orders.c
        conn.execute(
            t.sales_orders.update()
            .where(
                sa.tuple_(s.account, s.order_id).in_(sa.select(o.account, o.order_id).where(cond))
            )
            .values(identity=None)
        )

    # -- aggregates --------------------------------------------------------------------------

    def _cost_table(self, conn: Connection) -> sa.Table | sa.Subquery:
        """(sku, currency, scaled) for every SKU with a cost in that currency: the cost
        prices themselves (joined through their primary key), with the bundles' sums of
        their components' added when there are bundles."""
        c = t.product_costs.c
        b = t.bundles.c
        if conn.execute(sa.select(b.bundle_sku).limit(1)).first() is None:
            return t.product_costs
        own = sa.select(c.sku.label("sku"), c.currency.label("currency"), c.scaled.label("scaled"))
        comps = (
            sa.select(b.bundle_sku, sa.func.count().label("n")).group_by(b.bundle_sku).subquery()
        )
        summed = (
            sa.select(
                b.bundle_sku.label("sku"),
                c.currency.label("currency"),
                sa.func.sum(b.quantity * c.scaled).label("scaled"),
                sa.func.count().label("n"),
            )
            .join(t.product_costs, c.sku == b.component_sku)
            .group_by(b.bundle_sku, c.currency)
            .subquery()
        )
        bundle = (
            sa.select(summed.c.sku, summed.c.currency, summed.c.scaled)
            .join(comps, comps.c.bundle_sku == summed.c.sku)
            .where(summed.c.n == comps.c.n, ~sa.exists().where(c.sku == summed.c.sku))
        )
        return sa.union_all(own, bundle).subquery("costs")

    def buckets(
        self,
        start: datetime,
        end: datetime,
        offsets: Sequence[tuple[int, int]],
        accounts: Iterable[str] | None = None,
    ) -> Iterator[BucketRow]:
        """Facts in ``[start, end)`` summed per account, currency and local day in SQL (one
        pass over the facts, cost prices joined by key), streamed. ``offsets`` are the
        timezone's UTC offsets over the period (``local_offsets``)."""
        f = t.sales_facts.c
        lo, hi = math.floor(start.timestamp()), math.floor(end.timestamp())
        with self.store.read() as conn:
            costs = self._cost_table(conn)
            bucket = local_day_number(f.at_s, offsets).label("bucket")
            missing = sa.and_(costs.c.scaled.is_(None), f.sku.is_not(None))
            first, last = conn.execute(sa.select(sa.func.min(f.at_s), sa.func.max(f.at_s))).one()
            # A period over much of the facts reads the table in its own order: through
            # an index (the time's, or the key's that SQLite picks for the grouping) the
            # rows are visited out of order, several times slower. PostgreSQL plans by cost.
            wide = first is not None and (hi - lo) * 4 >= (last - first + 1)
            query = (
                sa.select(
                    f.account,
                    f.currency,
                    bucket,
                    sa.func.sum(f.units).label("units"),
                    sa.func.sum(f.revenue).label("revenue"),
                    sa.func.sum(f.refunds).label("refunds"),
                    sa.func.sum(f.fees).label("fees"),
                    sa.func.sum(sa.case((f.fees_reported, 0), else_=f.revenue)).label("bare"),
                    sa.func.sum(f.cost_units * sa.func.coalesce(costs.c.scaled, 0)).label("cost"),
                    sa.func.sum(sa.case((sa.and_(missing, f.sale), f.units), else_=0)).label(
                        "nocost"
                    ),
                    sa.func.sum(f.returned).label("returned"),
                )
                .select_from(
                    t.sales_facts.outerjoin(
                        costs, sa.and_(costs.c.sku == f.sku, costs.c.currency == f.currency)
                    )
                )
                .where(f.at_s >= lo, f.at_s < hi)
                .group_by(f.account, f.currency, bucket)
            )
            if accounts is not None:
                query = query.where(f.account.in_(list(accounts)))
            for row in _scan(conn, query, wide):
                yield BucketRow(
                    account=row.account,
                    currency=row.currency,
                    bucket=int(row.bucket),
                    units=int(row.units or 0),
                    revenue=from_scaled(row.revenue),
                    refunds=from_scaled(row.refunds),
                    fees=from_scaled(row.fees),
                    unreported_fee_revenue=from_scaled(row.bare),
                    cost=from_scaled(row.cost),
                    units_without_cost=int(row.nocost or 0),
                    returned=int(row.returned or 0),
                )

    def skus(self) -> list[str]:
        """Every SKU the facts name (a loose index scan: one index seek per SKU)."""
        query = sa.text(
            "WITH RECURSIVE skus(sku) AS ("
            " SELECT MIN(sku) FROM sales_facts"
            " UNION ALL"
            " SELECT (SELECT MIN(f.sku) FROM sales_facts f WHERE f.sku > skus.sku)"
            " FROM skus WHERE skus.sku IS NOT NULL"
            ") SELECT sku FROM skus WHERE sku IS NOT NULL"
        )
        with self.store.read() as conn:
            return [row[0] for row in conn.execute(query)]

    def sold_in(
        self, pairs: Iterable[tuple[str, str]], start: datetime, end: datetime
    ) -> list[tuple[str, str]]:
        """Those (SKU, currency) ``pairs`` with a fact in ``[start, end)`` (an index seek each)."""
        f = t.sales_facts.c
        lo, hi = math.floor(start.timestamp()), math.floor(end.timestamp())
        out = []
        with self.store.read() as conn:
            for sku, currency in pairs:
                hit = conn.execute(
                    sa.select(f.sku)
                    .where(f.sku == sku, f.currency == currency, f.at_s >= lo, f.at_s < hi)
                    .limit(1)
                ).first()
                if hit is not None:
                    out.append((sku, currency))
        return out

    def cost_units_of(
        self,
        pairs: Sequence[tuple[str, str]],
        start: datetime,
        end: datetime,
        offsets: Sequence[tuple[int, int]],
        accounts: Iterable[str] | None = None,
    ) -> Iterator[tuple[str, str, str, int, int, int]]:
        """(account, sku, currency, bucket, cost units, units sold) of the facts of the
        (SKU, currency) ``pairs`` in ``[start, end)``: the reports cost them with a cost
        price in another currency."""
        f = t.sales_facts.c
        lo, hi = math.floor(start.timestamp()), math.floor(end.timestamp())
        wanted = list(accounts) if accounts is not None else None
        with self.store.read() as conn:
            for first in range(0, len(pairs), _CHUNK):
                bucket = local_day_number(f.at_s, offsets).label("bucket")
                query = (
                    sa.select(
                        f.account,
                        f.sku,
                        f.currency,
                        bucket,
                        sa.func.sum(f.cost_units),
                        sa.func.sum(sa.case((f.sale, f.units), else_=0)),
                    )
                    .where(
                        sa.tuple_(f.sku, f.currency).in_(list(pairs[first : first + _CHUNK])),
                        f.at_s >= lo,
                        f.at_s < hi,
                    )
                    .group_by(f.account, f.sku, f.currency, bucket)
                )
                if wanted is not None:
                    query = query.where(f.account.in_(wanted))
                for row in conn.execute(query):
                    yield row[0], row[1], row[2], int(row[3]), int(row[4] or 0), int(row[5] or 0)

    def order_points(self) -> Iterator[tuple[str | None, str, int, str | None]]:
        """(person, account, created at in Unix seconds, currency) of every counted order,
        ordered by person then time (streamed).

        The person is the buyer's identity, or the person a manual merge put it under
        (``customer_links``, joined in SQL); None for an order without a customer.
        """
        s = t.sales_orders.c
        lk = t.customer_links.c
        person = sa.func.coalesce(lk.person, s.identity).label("person")
        query = (
            sa.select(person, s.account, s.at_s, s.currency)
            .select_from(t.sales_orders.outerjoin(t.customer_links, lk.identity == s.identity))
            .where(s.counted)
            .order_by(person, s.at_s, s.account)
        )
        with self.store.read() as conn:
            result = conn.execution_options(yield_per=5000).execute(query)
            for chunk in result.partitions():
                for row in chunk:
                    yield row[0], row[1], int(row[2]), row[3]

    def order_totals(
        self, pairs: Sequence[tuple[str, str]] | None = None
    ) -> dict[tuple[str, str], dict[str, tuple[Decimal, Decimal, int]]]:
        """Per order, per currency: (revenue, refunds, units returned)."""
        f = t.sales_facts.c
        query = sa.select(
            f.account,
            f.order_id,
            f.currency,
            sa.func.sum(f.revenue),
            sa.func.sum(f.refunds),
            sa.func.sum(f.returned),
        ).group_by(f.account, f.order_id, f.currency)
        out: dict[tuple[str, str], dict[str, tuple[Decimal, Decimal, int]]] = defaultdict(dict)
        with self.store.read() as conn:
            if pairs is not None:
                for first in range(0, len(pairs), _CHUNK):
                    chunk = list(pairs[first : first + _CHUNK])
                    for row in conn.execute(
                        query.where(sa.tuple_(f.account, f.order_id).in_(chunk))
                    ):
                        out[(row[0], row[1])][row[2]] = (
                            from_scaled(row[3]),
                            from_scaled(row[4]),
                            int(row[5] or 0),
                        )
            else:
                for row in conn.execute(query):
                    out[(row[0], row[1])][row[2]] = (
                        from_scaled(row[3]),
                        from_scaled(row[4]),
                        int(row[5] or 0),
                    )
        return out
