"""WooCommerce adapter against the sandbox fake: requests and wall time of the big paths.

Run: ``.venv/bin/python bench/bench_woocommerce.py [--skus 10000] [--orders 2000]``.
Prints figures; asserts nothing beyond the request counts the design promises.
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import timedelta
from typing import Any

from channelsync.core.channel import StockUpdate
from channelsync.core.models import utcnow
from channelsync.sandbox import Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=2_000)
    args = parser.parse_args()
    with Sandbox(channels=["woocommerce"]) as sb:
        woo: Any = sb.woocommerce
        simple = int(args.skus * 0.425)
        variations = args.skus - simple
        parents = max(1, variations // 90)
        for i in range(simple):
            woo.seed_listing(f"S-{i:06d}", quantity=1, price="5.00")
        per_parent = [
            variations // parents + (1 if p < variations % parents else 0) for p in range(parents)
        ]
        for p, count in enumerate(per_parent):
            woo.seed_variable(
                f"P-{p:04d}", {f"V-{p:04d}-{v:03d}": (1, "7.00") for v in range(count)}
            )
        channel = woo.channel()

        started = time.perf_counter()
        listings = list(channel.fetch_listings())
        listed = time.perf_counter() - started
        reads = woo.calls.total
        print(f"fetch_listings: {len(listings)} listings, {reads} requests, {listed:.2f} s")

        woo.calls.reset()
        updates = [StockUpdate(sku=lst.sku, quantity=3, listing=lst) for lst in listings]
        started = time.perf_counter()
        results = channel.push_stock(updates)
        pushed = time.perf_counter() - started
        minimum = math.ceil(simple / 100) + sum(math.ceil(n / 100) for n in per_parent)
        print(
            f"push_stock: {len(results)} items, {sum(r.ok for r in results)} ok,"
            f" {woo.calls.total} batch requests (minimum {minimum}), {pushed:.2f} s,"
            f" {len(results) / pushed:.0f} items/s,"
            f" {pushed / woo.calls.total * 1000:.1f} ms/request"
        )
        assert woo.calls.total == minimum

        woo.seed_listing("ORDERED", quantity=10**9, price="1.00")
        for _ in range(args.orders):
            woo.place_order("ORDERED")
        woo.calls.reset()
        started = time.perf_counter()
        orders = list(channel.fetch_orders(utcnow() - timedelta(hours=1)))
        read = time.perf_counter() - started
        print(
            f"fetch_orders: {len(orders)} orders, {woo.calls['orders']} requests, {read:.2f} s,"
            f" {len(orders) / read:.0f} orders/s"
        )


if __name__ == "__main__":
    main()
