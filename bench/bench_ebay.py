"""eBay adapter against the sandbox fake: calls and seconds for N listings per world.

.venv/bin/python bench/bench_ebay.py [N]
"""

from __future__ import annotations

import sys
import time

from channelsync.core.channel import StockUpdate
from channelsync.sandbox import Sandbox


def main(n: int) -> None:
    with Sandbox(channels=["ebay"]) as sb:
        fake = sb.ebay
        for i in range(n):
            fake.seed_listing(f"T-{i:05d}", quantity=1, price="2.00")
            fake.seed_listing(f"I-{i:05d}", quantity=1, price="2.00", world="inventory_api")
        channel = fake.channel()
        started = time.perf_counter()
        listings = {x.sku: x for x in channel.fetch_listings()}
        print(
            f"fetch_listings: {len(listings)} listings in {time.perf_counter() - started:.2f}s"
            f" ({dict(channel.call_counts)})"
        )
        for world, prefix, operation in (
            ("trading", "T", "ReviseInventoryStatus"),
            ("inventory_api", "I", "bulkUpdatePriceQuantity"),
        ):
            updates = [
                StockUpdate(sku=s, quantity=7, listing=x)
                for s, x in listings.items()
                if s.startswith(prefix)
            ]
            before = fake.calls[operation]
            started = time.perf_counter()
            results = channel.push_stock(updates)
            seconds = time.perf_counter() - started
            ok = sum(r.ok for r in results)
            calls = fake.calls[operation] - before
            print(
                f"push_stock {world}: {ok}/{len(updates)} ok, {calls} {operation} calls,"
                f" {seconds:.2f}s ({seconds / max(calls, 1) * 1000:.1f} ms per call)"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
