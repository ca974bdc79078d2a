"""Ledger throughput: order-line events and orders applied per second, no network.

    python bench/bench_core.py [--orders 20000] [--lines 3] [--batch 2000] [--pg URL]

Measures, on SQLite (a file in a temp folder) and on PostgreSQL when a URL is given or
CHANNELSYNC_TEST_DATABASE_URL is set:
  1. first sight of N orders (each line commits stock),
  2. the same N orders shipped (each line moves committed and on_hand),
  3. the first batch delivered again (idempotent: nothing changes),
with two channel accounts bound to every SKU, so each batch also recomputes the outbox.
Order objects are built before the clock starts: this measures the ledger, not pydantic.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

import channelsync as cs
from channelsync.core import schema as t

SKUS = 1000


def build_orders(n: int, lines: int, status: cs.OrderStatus, minute: int) -> list[cs.Order]:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        cs.Order(
            kind="bench",
            account="bench-shop",
            order_id=f"O{i:07d}",
            status=status,
            created_at=t0,
            updated_at=t0 + timedelta(minutes=minute, microseconds=i),
            lines=tuple(
                cs.OrderLine(
                    line_id=str(k), sku=f"SKU-{(i * lines + k) % SKUS:04d}", quantity=1 + k % 2
                )
                for k in range(lines)
            ),
        )
        for i in range(n)
    ]


def seed(store: cs.Store, engine: cs.SyncEngine) -> None:
    engine.set_on_hand_many({f"SKU-{k:04d}": 1_000_000 for k in range(SKUS)})
    now = datetime.now(UTC)
    rows = [
        {
            "account": acct,
            "sku": f"SKU-{k:04d}",
            "kind": "bench",
            "listing_id": f"{acct}-{k}",
            "quantity": 0,
            "manages_stock": True,
            "fulfilled_by": "merchant",
            "ids": {},
            "updated_at": now,
        }
        for acct in ("shop-a", "shop-b")
        for k in range(SKUS)
    ]
    with store.transaction() as conn:
        conn.execute(t.listings.insert(), rows)


def run(url: str, n: int, lines: int, batch: int) -> None:
    store = cs.open_store(url)
    engine = cs.SyncEngine(store)
    seed(store, engine)
    opened = build_orders(n, lines, cs.OrderStatus.OPEN, 0)
    shipped = build_orders(n, lines, cs.OrderStatus.SHIPPED, 1)
    # The prebuilt orders would make every full garbage collection walk 2N pydantic
    # objects that a worker never holds at once; freeze them out of the measurement.
    gc.collect()
    gc.freeze()

    def apply_all(orders: list[cs.Order]) -> tuple[float, int]:
        rows = 0
        started = time.perf_counter()
        for start in range(0, len(orders), batch):
            chunk = orders[start : start + batch]
            rows += engine.record_orders(chunk).journal_rows
        return time.perf_counter() - started, rows

    name = store.dialect
    for label, orders in (("new orders", opened), ("shipped", shipped)):
        seconds, events = apply_all(orders)
        head = f"{name:10s} {label:14s} {len(orders):7d} orders {events:8d} line events"
        print(
            f"{head} in {seconds:6.2f}s: {events / seconds:9,.0f} events/s"
            f"  {len(orders) / seconds:8,.0f} orders/s"
        )
    seconds, events = apply_all(shipped[:batch])
    head = f"{name:10s} {'redelivered':14s} {batch:7d} orders {events:8d} line events"
    print(f"{head} in {seconds:6.2f}s: {batch / seconds:9,.0f} orders/s (all duplicates)")
    with store.read() as conn:
        outbox = conn.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar()
    print(f"{name:10s} outbox rows kept current: {outbox}")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--pg", default=os.environ.get("CHANNELSYNC_TEST_DATABASE_URL"))
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus,"
        f" {args.orders} orders x {args.lines} lines, batches of {args.batch}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.orders, args.lines, args.batch)
    if args.pg:
        import uuid

        schema = f"cs_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in args.pg else "?"
            run(
                f"{args.pg}{sep}options=-csearch_path%3D{schema}",
                args.orders,
                args.lines,
                args.batch,
            )
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    else:
        print("postgresql skipped: pass --pg URL or set CHANNELSYNC_TEST_DATABASE_URL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
