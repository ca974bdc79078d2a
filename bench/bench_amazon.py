"""Amazon adapter against the sandbox fake: both push routes, order reads, on real limits.

    python bench/bench_amazon.py [--skus 25000] [--patches 40] [--orders 1000]

Measures, on loopback (the adapter's and the fake's own cost plus the waiting Amazon's
published usage plans impose):
  1. one JSON_LISTINGS_FEED of N SKUs (document, upload, createFeed, getFeed polls, report),
  2. the patchListingsItem route for a few dozen SKUs: achieved rate against the 5/s plan
     and 429s (should be 0: the client paces),
  3. reading M orders through searchOrders (100 a page) and mapping them,
and prints the route threshold the planner computes from the limits.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

from channelsync.core.channel import StockUpdate
from channelsync.core.models import utcnow
from channelsync.sandbox import Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=25_000)
    parser.add_argument("--patches", type=int, default=40)
    parser.add_argument("--orders", type=int, default=1_000)
    args = parser.parse_args()
    with Sandbox(channels=["amazon"]) as sb:
        fake = sb.amazon
        channel = fake.channel(account="bench")
        buckets = channel.client.buckets
        from channelsync.adapters.amazon.channel import route_threshold

        threshold = route_threshold(
            patch_rate=buckets["patchListingsItem"].rate,
            patch_tokens=buckets["patchListingsItem"].capacity,
            feed_seconds=channel.config.feed_processing_estimate,
        )
        print(f"route threshold with default limits: patches up to {threshold} SKUs, feed above")

        started = time.monotonic()
        for n in range(args.skus):
            fake.seed_listing(f"FEED-{n:06d}", quantity=1, price="9.99")
        print(f"seeded {args.skus} listings in {time.monotonic() - started:.2f}s")
        updates = [StockUpdate(sku=f"FEED-{n:06d}", quantity=n % 17) for n in range(args.skus)]
        started = time.monotonic()
        results = channel.push_stock(updates)
        took = time.monotonic() - started
        ok = sum(r.ok for r in results)
        print(
            f"feed route: {ok}/{len(results)} SKUs in {took:.2f}s ({len(results) / took:,.0f}/s),"
            f" routes={channel.last_routes}, createFeed={fake.calls['createFeed']},"
            f" getFeed polls={fake.calls['getFeed']}"
        )

        skus = [f"PATCH-{n:04d}" for n in range(args.patches)]
        for sku in skus:
            fake.seed_listing(sku, quantity=1, price="9.99")
        started = time.monotonic()
        results = channel.push_stock([StockUpdate(sku=s, quantity=3) for s in skus])
        took = time.monotonic() - started
        records = fake.calls.records("patchListingsItem")
        throttled = sum(r.status == 429 for r in records)
        span = (records[-1].at - records[0].at).total_seconds()
        print(
            f"patch route: {sum(r.ok for r in results)}/{len(results)} SKUs in {took:.2f}s;"
            f" after the burst of 5: {(len(records) - 5) / span:.2f} req/s (plan 5/s,"
            f" paced at {buckets['patchListingsItem'].rate:.2f}/s), 429s={throttled}"
        )

        fake.seed_listing("ORDER-SKU", quantity=10 * args.orders, price="12.50")
        for _ in range(args.orders):
            fake.place_order("ORDER-SKU")
        started = time.monotonic()
        orders = list(channel.fetch_orders(utcnow() - timedelta(minutes=5)))
        took = time.monotonic() - started
        print(
            f"orders: {len(orders)} read in {took:.2f}s ({len(orders) / took:,.0f}/s),"
            f" searchOrders pages={fake.calls['searchOrders']} (burst 20, then 1 per ~180 s)"
        )


if __name__ == "__main__":
    main()
