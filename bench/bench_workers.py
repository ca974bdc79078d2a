"""Several worker processes on one PostgreSQL store: throughput, takeover, exactness.

    .venv/bin/python bench/bench_workers.py [--pg URL] [--accounts 40] [--orders 250]
                                            [--workers 1,2,4] [--lease 10]

For each worker count, a fresh schema and ``--accounts`` channel accounts, each with
``--orders`` orders waiting (1 or 2 lines over 200 SKUs that every account lists, so each
order moves what all 40 accounts should show). Worker processes run ``run_forever()``
(orders polled every second, pushes coalesced as by default, accounts leased for
``--lease`` seconds). With two workers or more, one is killed (SIGKILL) once half the
orders are in. Printed per run:

- orders applied per second and stock items pushed per second, over the whole run;
- the takeover time: from the kill until every account of the dead worker runs again
  elsewhere (target: within twice the lease);
- the exactness check: every order line committed its units exactly once (the ledger's
  committed figure per SKU equals the sum over the orders, and the journal holds one row
  per line), whatever was killed when.

The channels are deterministic generators (the same orders in every process), so no
channel state is shared between processes; each worker counts the items it pushed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

import channelsync as cs
from channelsync.core import schema as t

SKUS = [f"W-{k:03d}" for k in range(200)]
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def lines_of(account_index: int, k: int) -> list[tuple[str, str, int]]:
    """The lines of order ``k`` of account ``account_index``: (line id, SKU, quantity)."""
    first = SKUS[(account_index * 37 + k * 11) % len(SKUS)]
    out = [("1", first, 1 + k % 2)]
    if k % 3 == 0:
        out.append(("2", SKUS[(account_index * 13 + k * 7 + 1) % len(SKUS)], 1))
    return out


class GenChannel:
    """A channel whose orders are generated, the same in every process."""

    kind = "bench"

    def __init__(self, index: int, orders: int, counter: Path) -> None:
        self.index = index
        self.account = f"acct-{index:02d}"
        self.orders = orders
        self.counter = counter
        self.limits = cs.ChannelLimits(
            stock_batch=100,
            price_batch=100,
            page_size=100,
            rate_limits=(cs.RateLimit(operation="push_stock", per_second=20, burst=20),),
        )

    def _order(self, k: int) -> cs.Order:
        return cs.Order(
            kind="bench",
            account=self.account,
            order_id=f"{self.account}-{k:05d}",
            status=cs.OrderStatus.OPEN,
            created_at=T0 + timedelta(seconds=k),
            updated_at=T0 + timedelta(seconds=k),
            lines=tuple(
                cs.OrderLine(line_id=lid, sku=sku, quantity=q)
                for lid, sku, q in lines_of(self.index, k)
            ),
        )

    def fetch_orders(self, updated_after: datetime) -> Iterator[cs.Order]:
        first = max(0, int((updated_after - T0).total_seconds()))
        for k in range(first, self.orders):
            yield self._order(k)

    def fetch_listings(self) -> Iterator[cs.Listing]:
        for sku in SKUS:
            yield cs.Listing(
                kind="bench", account=self.account, sku=sku, listing_id=sku, quantity=0
            )

    def push_stock(self, updates: Sequence[cs.StockUpdate]) -> list[cs.PushResult]:
        with self.counter.open("a", encoding="utf-8") as f:
            f.write(f"{len(updates)}\n")
        return [cs.PushResult.success(u.sku, u.quantity) for u in updates]

    def push_prices(self, updates: Sequence[cs.PriceUpdate]) -> list[cs.PushResult]:
        return [cs.PushResult.success(u.sku) for u in updates]

    def push_fulfillment(self, order_id: str, shipment: cs.Shipment) -> None:
        return None

    def cancel_order(self, order_id: str, reason: str | None = None) -> None:
        return None

    def parse_webhook(self, headers: object, body: bytes) -> list[cs.WebhookEvent]:
        return []


def worker(url: str, accounts: int, orders: int, lease: float, counter: str) -> None:
    channels = [GenChannel(i, orders, Path(counter)) for i in range(accounts)]
    engine = cs.SyncEngine(
        cs.open_store(url),
        channels,  # type: ignore[arg-type]
        order_lag=timedelta(seconds=5),
        initial_lookback=timedelta(days=30),
    )
    engine.run_forever(poll_interval=1.0, account_lease=timedelta(seconds=lease))


def expected(accounts: int, orders: int) -> tuple[dict[str, int], int]:
    committed = dict.fromkeys(SKUS, 0)
    lines = 0
    for a in range(accounts):
        for k in range(orders):
            for _, sku, q in lines_of(a, k):
                committed[sku] += q
                lines += 1
    return committed, lines


def one_run(base: str, workers: int, args: argparse.Namespace, tmp: Path) -> None:
    schema = f"cs_workers_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    total = args.accounts * args.orders
    try:
        store = cs.open_store(url)
        engine = cs.SyncEngine(
            store,
            [GenChannel(i, args.orders, tmp / "x") for i in range(args.accounts)],  # type: ignore[misc]
        )
        engine.set_on_hand_many(dict.fromkeys(SKUS, 1_000_000))
        counters = [tmp / f"pushed-{workers}-{n}" for n in range(workers)]
        started = time.monotonic()
        procs = [
            subprocess.Popen(  # noqa: S603 - this interpreter, this script
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    url,
                    str(args.accounts),
                    str(args.orders),
                    str(args.lease),
                    str(counter),
                ],
                stderr=subprocess.DEVNULL,
            )
            for counter in counters
        ]
        killed_at: float | None = None
        orphans: list[str] = []
        takeover: float | None = None
        victim_id = ""
        while True:
            with store.read() as conn:
                applied = conn.execute(sa.select(sa.func.count()).select_from(t.orders)).scalar()
            status = engine.status()
            if workers > 1 and killed_at is None and applied >= total // 2:
                held = {w.worker_id: w.accounts for w in status.workers if w.alive}
                # The worker holding the most accounts (they must be taken over).
                victim_id = max(held, key=lambda w: len(held[w]))
                victim = next(p for p in procs if f":{p.pid}:" in victim_id)
                orphans = list(held[victim_id])
                os.kill(victim.pid, signal.SIGKILL)
                killed_at = time.monotonic()
            if killed_at is not None and takeover is None:
                holders = {a.account: a.worker for a in status.accounts}
                if all(holders.get(a) not in (None, victim_id) for a in orphans):
                    takeover = time.monotonic() - killed_at
            pending = sum(a.outbox_depth for a in status.accounts)
            if applied >= total and pending == 0 and (killed_at is None or takeover is not None):
                break
            if time.monotonic() - started > args.timeout:
                print(f"  timed out: {applied}/{total} orders, {pending} pushes owed")
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=120)
        pushed = sum(sum(int(x) for x in c.read_text().split()) for c in counters if c.exists())
        want, lines = expected(args.accounts, args.orders)
        got = {s: engine.stock(s).committed for s in SKUS}
        with store.read() as conn:
            journal = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.journal)
                .where(t.journal.c.order_id.is_not(None))
            ).scalar()
        exact = got == want and journal == lines
        line = (
            f"{workers} worker(s): {total:,} orders in {elapsed:5.1f}s = {total / elapsed:7,.0f}"
            f" orders/s, {pushed:,} items pushed = {pushed / elapsed:7,.0f} pushes/s"
        )
        if killed_at is not None:
            line += (
                f"; one killed at half, its {len(orphans)} accounts taken over in"
                f" {takeover if takeover is not None else float('nan'):.1f}s"
                f" (target: within {2 * args.lease:.0f}s)"
            )
        print(line)
        print(
            f"  exactly once: {'yes' if exact else 'NO'} (journal rows {journal:,} for"
            f" {lines:,} lines; committed per SKU {'equal' if got == want else 'differs'})"
        )
        store.close()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", default=os.environ.get("CHANNELSYNC_TEST_DATABASE_URL"))
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--orders", type=int, default=250)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, accounts, orders, lease, counter = args.worker
        worker(url, int(accounts), int(orders), float(lease), counter)
        return 0
    if not args.pg:
        print("bench_workers needs PostgreSQL: pass --pg URL or set CHANNELSYNC_TEST_DATABASE_URL")
        return 0
    print(
        f"{args.accounts} accounts x {args.orders} orders, 200 SKUs listed on every account,"
        f" {os.cpu_count()} cpus, account lease {args.lease:.0f}s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(x) for x in args.workers.split(",")):
            one_run(args.pg, n, args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
