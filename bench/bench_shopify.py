"""Shopify adapter against the sandbox fake: push throughput and pacing on real plan limits.

    python bench/bench_shopify.py [--skus 10000] [--plan standard|advanced|plus|unlimited]
                                  [--locations 1]

Measures, on loopback (so the figures are the adapter's and the fake's own cost, plus
the waiting the plan's leaky bucket imposes):
  1. importing N listings (``productVariants`` pages: 4 points a variant with one location,
     5 + 2 x L with L locations), against the fewest pages those costs allow,
  2. pushing N x L absolute quantities with compare-and-swap, each SKU at each location
     (``inventorySetQuantities``, 250 a call across locations, 10 points a call), against
     the fewest calls (ceil(N x L / 250)),
  3. the same push repeated with the same idempotency keys (Shopify replays the results),
and reports calls, THROTTLED refusals (should be 0: the client paces from
``throttleStatus``) and seconds spent waiting for the bucket.
"""

from __future__ import annotations

import argparse
import math
import time

from channelsync.adapters.shopify import queries as q
from channelsync.core.channel import StockUpdate
from channelsync.sandbox import Sandbox

PLANS = {
    "standard": (2_000, 100),
    "advanced": (4_000, 200),
    "plus": (20_000, 1_000),
    "unlimited": (10_000_000, 10_000_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--plan", choices=sorted(PLANS), default="plus")
    parser.add_argument("--locations", type=int, default=1, help="locations per SKU")
    args = parser.parse_args()
    bucket, rate = PLANS[args.plan]
    with Sandbox(channels=["shopify"]) as sb:
        fake = sb.shopify
        fake.set_plan(bucket_size=bucket, restore_rate=rate)
        places: list[str | None] = [None]
        if args.locations > 1:
            places = [fake.add_location(f"warehouse-{n}") for n in range(args.locations)]
        started = time.monotonic()
        for n in range(args.skus):
            for place in places:
                fake.seed_listing(f"BENCH-{n:06d}", quantity=5, price="9.99", location=place)
        print(
            f"seeded {args.skus} listings at {len(places)} location(s) in"
            f" {time.monotonic() - started:.2f}s"
        )
        channel = fake.channel(account="bench")
        bucket_clock = channel.client.throttle.bucket

        started = time.monotonic()
        listings = list(channel.fetch_listings())
        took = time.monotonic() - started
        per_variant = q.VARIANT_COST if len(places) == 1 else q.variant_cost(len(places))
        floor = math.ceil(args.skus / min(q.VARIANTS_PAGE, 998 // per_variant))
        print(
            f"import: {len(listings)} listings, {fake.calls['productVariants']} pages (fewest"
            f" at {per_variant} points a variant: {floor}) in {took:.2f}s"
            f" ({len(listings) / took:,.0f}/s), waited {bucket_clock.waited:.2f}s"
        )

        updates = [
            StockUpdate(
                sku=lst.sku,
                quantity=n % 11,
                listing=lst,
                expected=lst.levels.get(where) if where else lst.quantity,
                idempotency_key=f"bench:{lst.sku}:{where}:v1",
                location=where,
            )
            for n, lst in enumerate(listings)
            for where in places
        ]
        waited = bucket_clock.waited
        started = time.monotonic()
        results = channel.push_stock(updates)
        took = time.monotonic() - started
        ok = sum(r.ok for r in results)
        print(
            f"push: {ok}/{len(updates)} ok in {fake.calls['inventorySetQuantities']} calls"
            f" (fewest: {math.ceil(len(updates) / 250)}),"
            f" {took:.2f}s ({len(updates) / took:,.0f} quantities/s), waited"
            f" {bucket_clock.waited - waited:.2f}s"
        )
        calls = fake.calls["inventorySetQuantities"]
        started = time.monotonic()
        again = channel.push_stock(updates)
        took = time.monotonic() - started
        print(
            f"replay: {sum(r.ok for r in again)}/{len(updates)} ok in"
            f" {fake.calls['inventorySetQuantities'] - calls} calls, {took:.2f}s"
        )
        print(f"THROTTLED refusals: {fake.throttled}; plan {args.plan} ({bucket} pts, {rate}/s)")
        channel.close()


if __name__ == "__main__":
    main()
