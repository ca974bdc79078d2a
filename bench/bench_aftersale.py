"""After-sale operations: requests per operation on each sandbox fake, and the engine's own cost.

    python bench/bench_aftersale.py [--local 300]

Measures, on loopback with a temporary SQLite store:
  1. per channel (Shopify, WooCommerce, eBay, Amazon): a whole-order cancel, a one-line
     refund of a shipped order and, where the channel has a returns API, a return; the
     requests each sends (by operation, from the fake's call log) and its wall time;
  2. the engine's own cost: N refunds of one unit and N returns on FakeChannel orders
     (no network), operations per second, against N plain ``adjust`` calls (the floor:
     one journaled ledger change each).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import channelsync as cs
from channelsync.sandbox import Sandbox
from channelsync.testing import FakeChannel

_ACCOUNTS = {
    "shopify": "shopify-main",
    "woocommerce": "woo-main",
    "ebay": "ebay-de",
    "amazon": "amazon-eu",
}


def _calls(fake: Any) -> Counter[str]:
    return Counter(dict(fake.calls))


def _diff(after: Counter[str], before: Counter[str]) -> str:
    delta = after - before
    total = sum(delta.values())
    parts = ", ".join(f"{op} {n}" for op, n in sorted(delta.items()))
    return f"{total:3d} requests ({parts})"


def channels(folder: Path) -> None:
    print("1. requests per operation, through the engine")
    for kind, account in _ACCOUNTS.items():
        with Sandbox(channels=[kind]) as sb:
            fake = getattr(sb, kind)
            fake.seed_listing("B-1", quantity=0, price="20.00")
            channel = fake.channel(account=account)
            store = cs.open_store(f"sqlite:///{folder / f'{kind}.db'}")
            engine = cs.SyncEngine(store, [channel])
            engine.set_on_hand("B-1", 50)
            engine.run_once()
            cancel_id = fake.place_order("B-1", 2)
            ship_id = fake.place_order("B-1", 2)
            engine.pull(account)
            rows: list[tuple[str, str, float]] = []
            before = _calls(fake)
            started = time.perf_counter()
            engine.cancel(account, cancel_id, reason="customer_request")
            rows.append(("cancel", _diff(_calls(fake), before), time.perf_counter() - started))
            engine.ship(account, ship_id, cs.Shipment(carrier="DHL", tracking_number="B1"))
            line_id = engine.order(account, ship_id).lines[0].line_id
            before = _calls(fake)
            started = time.perf_counter()
            result = engine.refund(account, ship_id, lines={line_id: 1}, reason="damaged")
            while result.status == "pending":
                (result,) = engine.settle_operations(account)
            rows.append(("refund", _diff(_calls(fake), before), time.perf_counter() - started))
            if kind == "ebay":
                fake.open_return(ship_id, line_id, 1)
            before = _calls(fake)
            started = time.perf_counter()
            back = engine.record_return(account, ship_id, {line_id: 1})
            label = "return" if back.channel == "done" else "return (recorded here only)"
            rows.append((label, _diff(_calls(fake), before), time.perf_counter() - started))
            for what, calls, seconds in rows:
                print(f"   {kind:12s} {what:28s} {seconds * 1000:7.1f} ms  {calls}")
            store.close()


def local(folder: Path, n: int) -> None:
    print(f"2. the engine's own cost, {n} operations each (FakeChannel, SQLite)")
    shop = FakeChannel("shop")
    shop.add_listing("L-1", 0, "10.00")
    store = cs.open_store(f"sqlite:///{folder / 'local.db'}")
    engine = cs.SyncEngine(store, [shop])
    engine.set_on_hand("L-1", 10 * n)
    orders = [shop.place_order({"L-1": 2}) for _ in range(n)]
    engine.run_once()
    for order in orders:
        shop.push_fulfillment(order.order_id, cs.Shipment(carrier="DHL", tracking_number="T"))
    engine.run_once()
    started = time.perf_counter()
    for i in range(n):
        engine.adjust("L-1", 1, f"bench {i}")
    floor = time.perf_counter() - started
    started = time.perf_counter()
    for order in orders:
        engine.refund("shop", order.order_id, lines={order.lines[0].line_id: 1}, reason="other")
    refunds = time.perf_counter() - started
    started = time.perf_counter()
    for order in orders:
        engine.record_return("shop", order.order_id, {order.lines[0].line_id: 1})
    returns = time.perf_counter() - started
    started = time.perf_counter()
    for order in orders:
        engine.record_return("shop", order.order_id, {order.lines[0].line_id: 1})
    repeats = time.perf_counter() - started
    for what, seconds in (
        ("adjust (floor)", floor),
        ("refund", refunds),
        ("record_return", returns),
        ("record_return repeated", repeats),
    ):
        print(f"   {what:24s} {n / seconds:8.0f} ops/s  {seconds * 1000 / n:6.2f} ms each")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        channels(Path(tmp))
        local(Path(tmp), args.local)


if __name__ == "__main__":
    main()
