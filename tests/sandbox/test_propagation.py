"""The propagation latency figures of the demo and bench_latency: percentiles and the watcher."""

from __future__ import annotations

import pytest

from channelsync.core.errors import InvalidInput
from channelsync.sandbox import LatencySummary, Propagation, PropagationWatcher, percentile
from channelsync.sandbox.shopify import ShopifyFake
from channelsync.sandbox.woocommerce import WooCommerceFake


def test_percentile_is_the_nearest_rank() -> None:
    ten = [0.7, 0.1, 1.0, 0.4, 0.2, 0.9, 0.3, 0.6, 0.8, 0.5]
    # ceil(share * 10)-th smallest: 5th, 9th, 10th, 10th
    assert percentile(ten, 0.50) == 0.5
    assert percentile(ten, 0.90) == 0.9
    assert percentile(ten, 0.95) == 1.0
    assert percentile(ten, 0.99) == 1.0
    assert percentile(ten, 0.01) == 0.1
    # 0.99 * 200 is 198.00000000000003 in floating point: still the 198th value, not the 199th
    assert percentile([float(v) for v in range(1, 201)], 0.99) == 198.0
    assert percentile([3.0], 0.5) == 3.0


def test_percentile_refuses_nothing_and_shares_outside_0_1() -> None:
    with pytest.raises(InvalidInput, match="no values"):
        percentile([], 0.5)
    with pytest.raises(InvalidInput, match="share"):
        percentile([1.0], 0.0)
    with pytest.raises(InvalidInput, match="share"):
        percentile([1.0], 1.5)


def test_summary_of_twenty_latencies() -> None:
    # 0.05, 0.10, ..., 1.00 s: p50 is the 10th (0.50), p95 the 19th (0.95), p99 the 20th
    values = [round(0.05 * i, 2) for i in range(20, 0, -1)]
    summary = LatencySummary.of(values, missing=2)
    assert summary == LatencySummary(count=20, p50=0.5, p95=0.95, p99=1.0, max=1.0, missing=2)
    assert summary.as_dict() == {
        "count": 20,
        "p50_ms": 500.0,
        "p95_ms": 950.0,
        "p99_ms": 1000.0,
        "max_ms": 1000.0,
        "missing": 2,
    }
    assert summary.line() == (
        "p50  500 ms, p95  950 ms, p99 1000 ms, max 1000 ms (n=20, 2 never arrived)"
    )
    nothing = LatencySummary.of([], missing=1)
    assert nothing == LatencySummary(0, None, None, None, None, 1)
    assert nothing.as_dict()["p50_ms"] is None
    assert nothing.line() == "nothing measured (1 never arrived)"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_watcher_times_each_channel_showing_the_sale() -> None:
    shop, woo = ShopifyFake(), WooCommerceFake()
    clock = Clock()
    for fake in (shop, woo):
        fake.seed_listing("MUG", quantity=10, price="9.00")
        fake.seed_listing("TRAY", quantity=4, price="19.00")
    watcher = PropagationWatcher({"shopify": shop, "woocommerce": woo}, clock=clock)

    # a webhook-origin sale of MUG at t=100 (WooCommerce has to show 9), a polled one of
    # TRAY at t=100.5 (Shopify has to show 3), a second MUG sale at t=101 (WooCommerce 8)
    watcher.expect("MUG", {"woocommerce": 9}, origin="webhook")
    watcher.expect("TRAY", {"shopify": 3}, origin="polled", started=100.5)
    watcher.expect("MUG", {"woocommerce": 8}, origin="webhook", started=101.0)
    assert watcher.missing_count() == 3
    assert watcher.waiting_skus() == {"MUG", "TRAY"}
    assert watcher.check() == 0  # nothing shows it yet

    clock.now = 101.25
    shop.seed_listing("TRAY", quantity=3, price="19.00")
    assert watcher.check() == 1
    # WooCommerce skipped 9: showing 8 at t=102 says both MUG sales reached it
    clock.now = 102.0
    woo.seed_listing("MUG", quantity=8, price="9.00")
    assert watcher.check() == 2
    assert watcher.missing_count() == 0
    assert sorted(watcher.seen(), key=lambda p: p.seconds) == [
        Propagation("shopify", "TRAY", "polled", 0.75),
        Propagation("woocommerce", "MUG", "webhook", 1.0),
        Propagation("woocommerce", "MUG", "webhook", 2.0),
    ]
    assert watcher.summary("channel") == {
        "shopify": LatencySummary(1, 0.75, 0.75, 0.75, 0.75),
        "woocommerce": LatencySummary(2, 1.0, 2.0, 2.0, 2.0),
    }
    assert watcher.summary("origin") == {
        "polled": LatencySummary(1, 0.75, 0.75, 0.75, 0.75),
        "webhook": LatencySummary(2, 1.0, 2.0, 2.0, 2.0),
    }
    assert watcher.overall() == LatencySummary(3, 1.0, 2.0, 2.0, 2.0)


def test_watcher_counts_what_never_arrived() -> None:
    shop = ShopifyFake()
    shop.seed_listing("MUG", quantity=10, price="9.00")
    clock = Clock()
    watcher = PropagationWatcher({"shopify": shop}, clock=clock)
    watcher.expect("MUG", {"shopify": 9}, origin="SQS")
    watcher.expect("GONE", {"shopify": 0}, origin="SQS")  # not listed: never shows anything
    clock.now = 100.5
    shop.seed_listing("MUG", quantity=9, price="9.00")
    assert watcher.check() == 1
    assert watcher.summary("origin") == {"SQS": LatencySummary(1, 0.5, 0.5, 0.5, 0.5, 1)}
    assert watcher.summary("channel")["shopify"].missing == 1
    assert watcher.overall().missing == 1
    assert not watcher.wait(timeout=0.05)
    watcher.clear()
    assert watcher.seen() == []
    assert watcher.missing_count() == 1
    with pytest.raises(InvalidInput, match="ebay"):
        watcher.expect("MUG", {"ebay": 1}, origin="webhook")


def test_watcher_thread_sees_a_change_on_its_own() -> None:
    shop = ShopifyFake()
    shop.seed_listing("MUG", quantity=10, price="9.00")
    watcher = PropagationWatcher({"shopify": shop}, interval=0.001)
    watcher.start()
    try:
        watcher.expect("MUG", {"shopify": 9}, origin="webhook")
        shop.seed_listing("MUG", quantity=9, price="9.00")
        assert watcher.wait(timeout=5)
    finally:
        watcher.stop()
    [seen] = watcher.seen()
    assert (seen.channel, seen.sku, seen.origin) == ("shopify", "MUG", "webhook")
    assert seen.seconds >= 0
