"""The channel and customer reports over a million order lines, on SQLite.

    python bench/bench_reports.py [--lines 1000000] [--per-order 4] [--people 60000]
                                  [--sample 2000]

Fills a SQLite file (in a temp folder) with --lines order lines (--per-order lines per
order, five accounts, EUR and USD, a year of days, --people buyers of whom some order
again) as the reports' projection holds them, plus the same orders in ``orders`` (a
minimal row each, so the staleness check before every report reads them all). Then:

  1. the floor: one plain SQL GROUP BY (account, currency, day) over the same fact rows,
     through sqlite3 directly (run twice, the second timed: the file is then cached);
  2. ``channel_report`` per day over the year in Europe/Berlin (staleness check, SQL
     aggregation with the cost prices, the streamed pass over every order for new,
     returning and repeat customers); target: under 10 s, peak RSS flat (the growth
     over the filled store's stays within 100 MB);
  3. ``customer_report`` (cohorts) over the year;
  4. building the projection from --sample real orders (``engine.record_order`` then
     ``refresh_projection``): the rate at which new orders enter the projection.

Prints rows/s, seconds and the peak RSS (VmHWM, reset between phases where Linux allows).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import channelsync as cs
from channelsync.core.salesbook import SalesBook
from channelsync.marketing import channel_report, customer_report, refresh_projection
from channelsync.reports import day_bounds

ACCOUNTS = [
    ("shop-de", "shopify", "EUR"),
    ("woo-de", "woocommerce", "EUR"),
    ("ebay-de", "ebay", "EUR"),
    ("shop-us", "shopify", "USD"),
    ("amazon-us", "amazon", "USD"),
]
YEAR = date(2026, 1, 1)


def _reset_peak() -> None:
    """Start a new peak (VmHWM) from the current resident set, where Linux allows it."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _rss_mb() -> float:
    """This process's peak resident set (VmHWM)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fill(store: cs.Store, lines: int, per_order: int, people: int) -> int:
    """Projection rows and minimal order rows; returns the orders written."""
    rng = random.Random(16)
    orders = lines // per_order
    book = SalesBook(store)
    start = datetime(YEAR.year, 1, 1, tzinfo=UTC).timestamp()
    span = 365 * 86400
    skus = [f"SKU-{i:05d}" for i in range(2000)]
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(
            cs_tables().product_costs.insert(),
            [
                {
                    "sku": sku,
                    "currency": cur,
                    "amount": "3.50",
                    "scaled": 35000,
                    "updated_at": now,
                }
                for sku in skus[:1800]
                for cur in ("EUR", "USD")
            ],
        )
    chunk = 5000
    written = 0
    while written < orders:
        n = min(chunk, orders - written)
        order_rows, fact_rows, raw_orders = [], [], []
        for k in range(written, written + n):
            account, kind, cur = ACCOUNTS[k % len(ACCOUNTS)]
            at_s = int(start + rng.random() * span)
            person = rng.randrange(people) if rng.random() < 0.9 else None
            identity = f"email:p{person}@example.test" if person is not None else None
            cancelled = rng.random() < 0.02
            order_id = f"O{k}"
            created = datetime.fromtimestamp(at_s, UTC)
            raw_orders.append(
                {
                    "account": account,
                    "order_id": order_id,
                    "kind": kind,
                    "status": "cancelled" if cancelled else "open",
                    "created_at": created,
                    "updated_at": created,
                    "version": "v1",
                    "doc": "{}",
                    "first_seen_at": created,
                    "last_seen_at": created,
                }
            )
            order_rows.append(
                {
                    "account": account,
                    "order_id": order_id,
                    "kind": kind,
                    "signature": "v1|",
                    "identity": identity,
                    "created_at": created,
                    "at_s": at_s,
                    "currency": cur,
                    "counted": not cancelled,
                }
            )
            if cancelled:
                continue
            for seq in range(per_order):
                units = rng.randint(1, 3)
                refunded = rng.random() < 0.03
                fact_rows.append(
                    {
                        "account": account,
                        "order_id": order_id,
                        "seq": seq,
                        "line_id": str(seq + 1),
                        "sku": rng.choice(skus),
                        "currency": cur,
                        "at_s": at_s,
                        "sale": True,
                        "units": units,
                        "revenue": units * rng.randint(50_000, 500_000),
                        "refunds": 0,
                        "fees": 0,
                        "fees_reported": False,
                        "cost_units": units,
                        "returned": 1 if refunded else 0,
                    }
                )
        with store.engine.begin() as conn:
            conn.execute(cs_tables().orders.insert(), raw_orders)
            book.write(conn, order_rows, fact_rows)
        written += n
    return orders


def cs_tables():  # type: ignore[no-untyped-def]
    """The schema module (the bench fills tables directly, bypassing the order book)."""
    from channelsync.core import schema

    return schema


def _floor(path: Path) -> tuple[float, int]:
    conn = sqlite3.connect(path)
    t0 = time.perf_counter()
    rows = conn.execute(
        "SELECT account, currency, at_s / 86400, SUM(units), SUM(revenue), SUM(refunds),"
        " SUM(cost_units) FROM sales_facts GROUP BY 1, 2, 3"
    ).fetchall()
    seconds = time.perf_counter() - t0
    (count,) = conn.execute("SELECT COUNT(*) FROM sales_facts").fetchone()
    conn.close()
    return seconds, int(count) if rows else 0


def _sample(n: int) -> tuple[float, float]:
    """Seconds to record ``n`` orders and to project them (from their documents)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = cs.open_store(f"sqlite:///{tmp}/sample.db")
        engine = cs.SyncEngine(store)
        engine.set_cost("A", cs.Money.of("4.00", "EUR"))
        orders = [
            cs.Order.model_validate(
                {
                    "kind": "shopify",
                    "account": "shop-de",
                    "order_id": str(i),
                    "status": "open",
                    "created_at": datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=i),
                    "updated_at": datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=i),
                    "currency": "EUR",
                    "customer": {"email": f"p{i % 500}@example.test"},
                    "lines": [
                        {
                            "line_id": str(k),
                            "sku": "A",
                            "quantity": 1,
                            "unit_price": {"amount": "10.00", "currency": "EUR"},
                        }
                        for k in range(4)
                    ],
                }
            )
            for i in range(n)
        ]
        t0 = time.perf_counter()
        for first in range(0, n, 500):
            engine.record_orders(orders[first : first + 500])
        recorded = time.perf_counter() - t0
        t0 = time.perf_counter()
        built = refresh_projection(store)
        projected = time.perf_counter() - t0
        assert built == n, (built, n)
        store.close()
    return recorded, projected


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--per-order", type=int, default=4)
    parser.add_argument("--people", type=int, default=60_000)
    parser.add_argument("--sample", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reports.db"
        store = cs.open_store(f"sqlite:///{path}")
        t0 = time.perf_counter()
        orders = _fill(store, args.lines, args.per_order, args.people)
        print(
            f"filled {orders:,} orders / {args.lines:,} lines in {time.perf_counter() - t0:.1f} s"
        )
        _floor(path)  # once to bring the file into the page cache, as the report finds it
        floor_s, facts = _floor(path)
        print(
            f"floor    plain SQL GROUP BY over {facts:,} fact rows: {floor_s:.2f} s"
            f" ({facts / floor_s:,.0f} rows/s)"
        )
        start, end = day_bounds(date(2026, 1, 1), date(2026, 12, 31), "Europe/Berlin")
        _reset_peak()
        before = _rss_mb()
        t0 = time.perf_counter()
        rep = channel_report(
            store,
            start=start,
            end=end,
            period="day",
            timezone="Europe/Berlin",
            fee_percent={"ebay-de": Decimal("11")},
        )
        seconds = time.perf_counter() - t0
        peak = _rss_mb()
        revenue = sum((r.revenue for r in rep.rows if r.currency == "EUR"), Decimal(0))
        verdict = "OK" if seconds < 10 else "SLOW"
        print(
            f"channels report per day, {len(rep.rows):,} rows, EUR revenue {revenue:,.2f}:"
            f" {seconds:.2f} s ({facts / seconds:,.0f} lines/s, {seconds / floor_s:.1f}x the"
            f" floor) [{verdict}: target < 10 s]"
        )
        growth = peak - before
        print(
            f"         peak RSS {peak:.0f} MB (VmHWM; {growth:+.0f} MB over the filled store's"
            f" {before:.0f} MB) [{'OK' if growth < 100 else 'HIGH'}: growth < 100 MB]"
        )
        _reset_peak()
        t0 = time.perf_counter()
        cust = customer_report(store, start=start, end=end, timezone="Europe/Berlin")
        seconds = time.perf_counter() - t0
        print(
            f"customers report: {cust.customers:,} customers, {len(cust.cohorts)} cohorts:"
            f" {seconds:.2f} s ({orders / seconds:,.0f} orders/s); peak RSS {_rss_mb():.0f} MB"
        )
        store.close()
    recorded, projected = _sample(args.sample)
    lines = args.sample * 4
    print(
        f"projection of {args.sample:,} new orders ({lines:,} lines) from their documents:"
        f" {projected:.2f} s ({lines / projected:,.0f} lines/s; recording them took"
        f" {recorded:.2f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
