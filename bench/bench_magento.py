"""Magento adapter against the sandbox fake: 10,000 stock changes in the fewest calls.

Run: ``.venv/bin/python bench/bench_magento.py [--skus 10000] [--legacy-skus 1000]``.

The fake enforces Adobe's documented input limits (*Input List Limit* 20 per synchronous
array, 5,000 per asynchronous one, *Maximum Page Size* 300). The fewest calls the API allows
for N stock changes with per-item results:

* asynchronous bulk (``POST /async/bulk/V1/inventory/source-items``): one request carrying
  ceil(N / 5,000) operations, and one read of ``GET /V1/bulk/{uuid}/detailed-status`` once
  the consumer has run them: 2 calls (3 once orders have been read: one search of Magento's
  open orders, whose reservations the push compensates);
* synchronous source items: ceil(N / 20) calls (ceil(N / batch) where a store raised its
  limit; one call where limits are off);
* stores without Multi-Source Inventory: N calls (one stock item per request).

And the read before every write (``read_stock``, issue 12: never overwrite a Magento sale):
ceil(N / page size) source-item searches (``sku in (…)``) plus one search per page of
Magento's unfinished orders (their reservations); without MSI ceil(N / page size) product
searches (``sku in (…)``, each product's stock item).

Prints the calls each path made against that optimum, and the wall time; exits non-zero if
a path made more calls than its optimum.
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


def _seed(fake: Any, count: int, prefix: str) -> list[str]:
    skus = [f"{prefix}-{i:06d}" for i in range(count)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="5.00")
    return skus


def _push(
    label: str, fake: Any, channel: Any, skus: list[str], optimum: int, note: str = ""
) -> bool:
    updates = [StockUpdate(sku=s, quantity=7) for s in skus]
    fake.calls.reset()
    started = time.perf_counter()
    results = channel.push_stock(updates)
    took = time.perf_counter() - started
    calls = fake.calls.total
    ok = sum(r.ok for r in results)
    detail = ", ".join(f"{op} {n}" for op, n in sorted(fake.calls.items()))
    print(
        f"{label}: {len(results)} changes, {ok} ok, {calls} calls (optimum {optimum}{note}:"
        f" {'met' if calls == optimum else 'MISSED'}) [{detail}], {took:.2f} s,"
        f" {len(results) / took:.0f} changes/s"
    )
    return calls <= optimum and ok == len(results)


def _read(label: str, fake: Any, channel: Any, listings: list[Any], optimum: int) -> bool:
    fake.calls.reset()
    started = time.perf_counter()
    shown = channel.read_stock(listings)
    took = time.perf_counter() - started
    calls = fake.calls.total
    read = sum(q is not None for q in shown.values())
    detail = ", ".join(f"{op} {n}" for op, n in sorted(fake.calls.items()))
    print(
        f"{label}: {len(listings)} listings, {read} read, {calls} calls (optimum {optimum}:"
        f" {'met' if calls == optimum else 'MISSED'}) [{detail}], {took:.2f} s,"
        f" {len(listings) / took:.0f} listings/s"
    )
    return calls <= optimum and read == len(listings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--legacy-skus", type=int, default=1_000)
    args = parser.parse_args()
    n = args.skus
    good = True
    with Sandbox(channels=["magento"]) as sb:
        fake: Any = sb.magento
        skus = _seed(fake, n, "MSI")

        channel = fake.channel(page_size=300)
        started = time.perf_counter()
        listings = list(channel.fetch_listings())
        took = time.perf_counter() - started
        print(
            f"fetch_listings: {len(listings)} listings, {fake.calls.total} calls"
            f" (products {fake.calls['products']}, source items"
            f" {fake.calls['inventory/source-items']}), {took:.2f} s"
        )

        good &= _push("bulk (auto)", fake, channel, skus, optimum=2)
        for sku in skus[:5]:
            fake.place_order(sku, 1)
        list(channel.fetch_orders(utcnow() - timedelta(hours=1)))
        good &= _push(
            "bulk, with Magento's open orders read",
            fake,
            channel,
            skus,
            optimum=3,
            note=" with one search of the open orders whose reservations are compensated",
        )
        good &= _read(
            "read_stock (MSI, page 300, 5 open orders)",
            fake,
            channel,
            listings,
            optimum=math.ceil(n / 300) + 1,
        )
        sync = fake.channel(page_size=300, bulk="never")
        list(sync.fetch_listings())
        good &= _push("synchronous, limit 20", fake, sync, skus, optimum=math.ceil(n / 20))

        fake.input_limits = False
        wide = fake.channel(page_size=300, bulk="never", batch_size=5000)
        list(wide.fetch_listings())
        good &= _push(
            "synchronous, limits off, 5,000 per call",
            fake,
            wide,
            skus,
            optimum=math.ceil(n / 5000),
            note=" at channelsync's cap of 5,000 items per transaction; the API's is 1",
        )

    with Sandbox(channels=["magento"]) as sb:
        legacy: Any = sb.magento
        legacy.store.msi = False
        skus = _seed(legacy, args.legacy_skus, "LEG")
        channel = legacy.channel(page_size=300)
        listings = list(channel.fetch_listings())
        good &= _push("no MSI (stock items)", legacy, channel, skus, optimum=len(skus))
        good &= _read(
            "read_stock (no MSI, page 300)",
            legacy,
            channel,
            listings,
            optimum=math.ceil(len(skus) / 300),
        )
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
