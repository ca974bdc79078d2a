"""Ledger throughput and memory, no network: orders, bulk counts, a large catalogue.

    python bench/bench_core.py [--orders 20000] [--lines 3] [--batch 2000] [--pg URL]
                               [--counts 100000] [--listings 1000000]

Measures, on SQLite (a file in a temp folder) and on PostgreSQL when a URL is given or
CHANNELSYNC_TEST_DATABASE_URL is set:
  1. first sight of N orders (each line commits stock),
  2. the same N orders shipped (each line moves committed and on_hand),
  3. the first batch delivered again (idempotent: nothing changes),
with two channel accounts bound to every SKU, so each batch also recomputes the outbox.
Order objects are built before the clock starts: this measures the ledger, not pydantic.

Then, on SQLite, in the same run:
  4. ``set_on_hand_many`` of --counts SKUs, each listed on four accounts (first counts,
     then recounts), against its floor: a plain sqlite3 ``executemany`` writing the same
     rows (a journal row and a ledger row per SKU, four outbox rows per SKU) to a file
     with the same indexes. Target: within 10 times the floor.
  5. --listings listings on one account (a channel that pages, generating them on the
     fly) imported and reconciled in a process of their own; prints its peak RSS.
     Target: within 300 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
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


ACCOUNTS = ("shop-a", "shop-b", "shop-c", "shop-d")


def _listing_rows(skus: Sequence[str], now: datetime) -> list[dict[str, object]]:
    return [
        {
            "account": acct,
            "sku": sku,
            "kind": "bench",
            "listing_id": f"{acct}-{sku}",
            "quantity": 0,
            "manages_stock": True,
            "fulfilled_by": "merchant",
            "ids": {},
            "updated_at": now,
        }
        for acct in ACCOUNTS
        for sku in skus
    ]


def floor_executemany(path: Path, n: int) -> float:
    """The same rows as a count of ``n`` SKUs on four accounts, plain sqlite3."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.executescript(
        """
        CREATE TABLE journal (id INTEGER PRIMARY KEY, at TEXT, sku TEXT, d_on_hand INT,
            d_committed INT, on_hand_after INT, committed_after INT, reason TEXT, source TEXT,
            account TEXT, order_id TEXT, line_id TEXT, note TEXT, idempotency_key TEXT UNIQUE);
        CREATE INDEX ix_journal_sku_id ON journal (sku, id);
        CREATE TABLE ledger (sku TEXT PRIMARY KEY, on_hand INT, committed INT, tracked INT,
            updated_at TEXT);
        CREATE TABLE outbox (account TEXT, sku TEXT, desired INT, acked INT, stale INT,
            version INT, attempts INT, next_attempt_at TEXT, updated_at TEXT,
            PRIMARY KEY (account, sku));
        CREATE INDEX ix_outbox_account_next ON outbox (account, next_attempt_at);
        """
    )
    now = datetime.now(UTC).isoformat()
    skus = [f"C-{k:07d}" for k in range(n)]
    started = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO journal (at, sku, d_on_hand, d_committed, on_hand_after, committed_after,"
        " reason, source, idempotency_key) VALUES (?, ?, ?, 0, ?, 0, 'set_on_hand', 'bench', ?)",
        ((now, s, 5, 5, f"set_on_hand:k:{s}") for s in skus),
    )
    db.executemany("INSERT INTO ledger VALUES (?, 5, 0, 1, ?)", ((s, now) for s in skus))
    db.executemany(
        "INSERT INTO outbox VALUES (?, ?, 5, 0, 0, 1, 0, ?, ?)",
        ((a, s, now, now) for a in ACCOUNTS for s in skus),
    )
    db.execute("COMMIT")
    seconds = time.perf_counter() - started
    db.close()
    return seconds


def bulk_counts(tmp: Path, n: int) -> None:
    """Section 4: set_on_hand_many against its floor, in the same run."""
    store = cs.open_store(f"sqlite:///{tmp / 'counts.db'}")
    engine = cs.SyncEngine(store)
    skus = [f"C-{k:07d}" for k in range(n)]
    now = datetime.now(UTC)
    with store.transaction() as conn:
        for start in range(0, n, 20_000):
            conn.execute(t.listings.insert(), _listing_rows(skus[start : start + 20_000], now))
    counts = dict.fromkeys(skus, 5)
    recounts = {s: 6 + k % 3 for k, s in enumerate(skus)}
    gc.collect()
    started = time.perf_counter()
    first = engine.set_on_hand_many(counts, idempotency_key="bench-count-1")
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    engine.set_on_hand_many(recounts, idempotency_key="bench-count-2")
    second_s = time.perf_counter() - started
    with store.read() as conn:
        outbox = conn.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar()
    store.close()
    floor = floor_executemany(tmp / "floor.db", n)
    print(
        f"sqlite     set_on_hand_many {n:,} SKUs x {len(ACCOUNTS)} accounts: first count"
        f" {first_s:6.2f}s ({first:,} journal rows, {outbox:,} outbox rows),"
        f" recount {second_s:6.2f}s"
    )
    print(
        f"sqlite     floor (plain sqlite3 executemany of the same rows) {floor:6.2f}s:"
        f" first count {first_s / floor:4.1f}x, recount {second_s / floor:4.1f}x the floor"
        " (target: within 10x)"
    )


class PagingChannel:
    """A channel of ``n`` listings generated page by page (its own memory stays flat)."""

    kind = "bench"

    def __init__(self, account: str, n: int, page: int = 1000) -> None:
        self.account = account
        self.n = n
        self.page = page
        self.limits = cs.ChannelLimits(stock_batch=1000, price_batch=1000, page_size=page)

    def fetch_listings(self) -> Iterator[cs.Listing]:
        for start in range(0, self.n, self.page):
            page = [
                cs.Listing(
                    kind="bench",
                    account=self.account,
                    sku=f"L-{k:07d}",
                    listing_id=str(k),
                    quantity=k % 7 if k % 1000 else 99,  # one in a thousand drifted
                )
                for k in range(start, min(self.n, start + self.page))
            ]
            yield from page

    def fetch_orders(self, updated_after: datetime) -> Iterator[cs.Order]:
        return iter(())

    def push_stock(self, updates: Sequence[cs.StockUpdate]) -> list[cs.PushResult]:
        return [cs.PushResult.success(u.sku, u.quantity) for u in updates]

    def push_prices(self, updates: Sequence[cs.PriceUpdate]) -> list[cs.PushResult]:
        return [cs.PushResult.success(u.sku) for u in updates]

    def push_fulfillment(self, order_id: str, shipment: cs.Shipment) -> None:
        return None

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        return None

    def parse_webhook(self, headers: object, body: bytes) -> list[cs.WebhookEvent]:
        return []


def _reset_peak() -> None:
    """Start a new peak (VmHWM) from the current resident set, where Linux allows it."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _rss_mb() -> float:
    """This process's peak resident set (VmHWM): unlike ``ru_maxrss`` it is not inherited
    from the parent that started it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def large_catalogue(path: Path, n: int) -> None:
    """Section 5, run in a process of its own: import and reconcile ``n`` listings."""
    store = cs.open_store(f"sqlite:///{path}")
    channel = PagingChannel("big-shop", n)
    engine = cs.SyncEngine(store, [channel])  # type: ignore[list-item]
    print(f"sqlite     {n:,} listings: peak RSS at start {_rss_mb():6.1f} MB")
    started = time.perf_counter()
    for start in range(0, n, 100_000):  # the ERP's counts, as an export would send them
        engine.set_on_hand_many(
            {f"L-{k:07d}": k % 7 for k in range(start, min(n, start + 100_000))}
        )
    print(
        f"sqlite     counted in {time.perf_counter() - started:6.1f}s, peak RSS {_rss_mb():6.1f} MB"
    )
    gc.collect()
    _reset_peak()  # the peaks below are the import's and the reconcile's own
    started = time.perf_counter()
    result = engine.import_listings()["big-shop"]
    assert not isinstance(result, Exception), result
    print(
        f"sqlite     imported {result.listings:,} in {time.perf_counter() - started:6.1f}s,"
        f" peak RSS {_rss_mb():6.1f} MB"
    )
    gc.collect()
    _reset_peak()
    started = time.perf_counter()
    report = engine.reconcile("big-shop")
    print(
        f"sqlite     reconciled {report.listings:,} in {time.perf_counter() - started:6.1f}s"
        f" ({report.in_sync:,} in sync, {len(report.drift):,} drifted),"
        f" peak RSS {_rss_mb():6.1f} MB (target: within 300 MB)"
    )
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--pg", default=os.environ.get("CHANNELSYNC_TEST_DATABASE_URL"))
    parser.add_argument("--counts", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=1_000_000)
    parser.add_argument("--catalogue-only", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.catalogue_only:
        large_catalogue(Path(args.catalogue_only), args.listings)
        return 0
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
    with tempfile.TemporaryDirectory() as tmp:
        if args.counts:
            bulk_counts(Path(tmp), args.counts)
        if args.listings:
            # A process of its own: its peak RSS is the catalogue's, not the benches' above.
            subprocess.run(  # noqa: S603 - this interpreter, this script
                [
                    sys.executable,
                    __file__,
                    "--catalogue-only",
                    str(Path(tmp) / "catalogue.db"),
                    "--listings",
                    str(args.listings),
                ],
                check=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
