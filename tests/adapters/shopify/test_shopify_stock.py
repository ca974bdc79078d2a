"""Stock pushes: batching, compare-and-swap (adapter and engine), pacing, idempotency."""

from __future__ import annotations

import time
from typing import Any

import pytest

import channelsync as cs
from channelsync.adapters.shopify import ShopifyChannel
from channelsync.core.channel import StockUpdate
from channelsync.core.errors import Unavailable
from channelsync.core.models import Listing
from channelsync.core.retry import RetryPolicy
from channelsync.sandbox.shopify import ShopifyFake


def _listing(fake: ShopifyFake, sku: str, quantity: int) -> Listing:
    return Listing(
        kind="shopify",
        account="shopify-main",
        sku=sku,
        listing_id=fake.ids(sku)["variant_id"].rsplit("/", 1)[-1],
        quantity=quantity,
        ids=fake.ids(sku),
    )


@pytest.mark.slow
def test_ten_thousand_changes_go_out_in_forty_calls(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    skus = [f"BULK-{n:05d}" for n in range(10_000)]
    for sku in skus:
        fake.seed_listing(sku, quantity=3, price="4.00")
    updates = [
        StockUpdate(
            sku=sku,
            quantity=n % 17,
            listing=_listing(fake, sku, 3),
            expected=3,
            idempotency_key=f"shopify-main:{sku}:v1",
        )
        for n, sku in enumerate(skus)
    ]
    results = channel.push_stock(updates)
    assert [r.sku for r in results] == skus
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert [r.quantity for r in results[:20]] == [n % 17 for n in range(20)]
    assert fake.calls["inventorySetQuantities"] == 40
    assert [r.items for r in fake.calls.records("inventorySetQuantities")] == [250] * 40
    assert [fake.quantity(skus[n]) for n in (0, 1, 16, 17, 4_999, 9_999)] == [0, 1, 16, 0, 1, 3]


def test_lost_compare_and_swap_is_a_conflict_with_the_current_quantity(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    fake.seed_listing("CAS-A", quantity=10, price="5.00")
    fake.seed_listing("CAS-B", quantity=4, price="5.00")
    listings = {lst.sku: lst for lst in channel.fetch_listings()}
    fake.place_order("CAS-A", 2)  # a sale Shopify counted after our read
    results = channel.push_stock(
        [
            StockUpdate(sku="CAS-A", quantity=12, listing=listings["CAS-A"], expected=10),
            StockUpdate(sku="CAS-B", quantity=6, listing=listings["CAS-B"], expected=4),
        ]
    )
    conflict, ok = results
    assert not conflict.ok
    assert conflict.error is not None
    assert conflict.error.conflict is True
    assert conflict.error.current == 8
    assert conflict.error.code == "CHANGE_FROM_QUANTITY_STALE"
    assert ok.ok
    assert ok.quantity == 6
    assert fake.quantity("CAS-A") == 8  # the sale stands
    assert fake.quantity("CAS-B") == 6
    # Shopify applies nothing of a call with an item error: the good item went out again.
    assert fake.calls["inventorySetQuantities"] == 2
    assert fake.calls["inventoryItem"] == 1  # the re-read of the conflicting item


def test_cas_conflict_through_the_engine_never_overwrites_the_sale(
    fake: ShopifyFake, store: cs.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.seed_listing("CAS-1", quantity=10, price="10.00")
    channel: ShopifyChannel = fake.channel(account="shopify-main")
    engine = cs.SyncEngine(
        store, channels=[channel], retry=RetryPolicy(attempts=3, sleep=lambda _s: None)
    )
    engine.set_on_hand("CAS-1", 10)
    first = engine.run_once()
    assert first.ok, first.accounts
    assert fake.quantity("CAS-1") == 10

    # Two units are received; while the engine pushes 12, a buyer takes one on Shopify.
    engine.adjust("CAS-1", 2, "receipt")
    real_set = channel.client.set_quantities
    sales: list[str] = []

    def racing_sale(payload: dict[str, Any], key: str | None) -> Any:
        if not sales:
            sales.append(fake.place_order("CAS-1", 1))
        return real_set(payload, key)

    monkeypatch.setattr(channel.client, "set_quantities", racing_sale)
    report = engine.run_once()

    account = report.accounts["shopify-main"]
    assert account.conflicts == 1
    assert fake.quantity("CAS-1") == 11  # 12 received-or-held minus the sale, never 12
    view = engine.stock("CAS-1")
    assert (view.on_hand, view.committed) == (12, 1)
    assert engine.order("shopify-main", sales[0]).lines[0].quantity == 1
    sent = [r.items for r in fake.calls.records("inventorySetQuantities")]
    assert sent == [1, 1]  # the stale write, then the recomputed one
    channel.close()


def test_throttled_plan_is_paced_so_no_request_is_refused(fake: ShopifyFake) -> None:
    fake.set_plan(bucket_size=40, restore_rate=400)
    for n in range(30):
        fake.seed_listing(f"PACE-{n}", quantity=1, price="1.00")
    channel: ShopifyChannel = fake.channel(account="shopify-main")
    listings = {lst.sku: lst for lst in channel.fetch_listings()}  # 2 + 30 x 4 = 122 points
    started = time.monotonic()
    for n in range(30):  # 30 mutations of 10 points: 300 points through a 40-point bucket
        sku = f"PACE-{n}"
        result = channel.push_stock(
            [StockUpdate(sku=sku, quantity=5, listing=listings[sku], expected=1)]
        )
        assert result[0].ok, result[0].error
    elapsed = time.monotonic() - started
    assert fake.throttled == 0
    assert fake.calls["inventorySetQuantities"] == 30
    assert channel.client.throttle.bucket.waited > 0.1  # the client waited; the shop never refused
    assert elapsed >= (300 - 40) / 400 * 0.8
    channel.close()


def test_unpaced_burst_on_the_same_plan_is_throttled(fake: ShopifyFake) -> None:
    # The control experiment: fresh clients know nothing of the bucket and get refused.
    fake.set_plan(bucket_size=40, restore_rate=1)
    fake.seed_listing("BURST", quantity=1, price="1.00")
    listing = Listing(
        kind="shopify", account="shopify-main", sku="BURST", listing_id="1", ids=fake.ids("BURST")
    )
    waits: list[float | None] = []
    for _ in range(6):
        ch: ShopifyChannel = fake.channel(account="shopify-main")
        try:
            ch.push_stock([StockUpdate(sku="BURST", quantity=2, listing=listing)])
        except cs.RateLimited as exc:
            waits.append(exc.retry_after)
        ch.close()
    # Each fresh client spends 2 (shop context) + 10 points; the fourth finds the bucket dry.
    assert len(waits) >= 2
    assert all(w is not None and w > 0 for w in waits)
    assert fake.throttled == len(waits)


def test_retry_after_a_timeout_replays_the_idempotency_key(fake: ShopifyFake) -> None:
    fake.seed_listing("IDEM-1", quantity=4, price="1.00")
    fake.client_timeout = 0.4
    channel: ShopifyChannel = fake.channel(account="shopify-main", timeout=0.4)
    listing = next(iter(channel.fetch_listings()))
    update = StockUpdate(
        sku="IDEM-1", quantity=9, listing=listing, expected=4, idempotency_key="acct:IDEM-1:v7"
    )
    fake.inject("timeout", operation="inventorySetQuantities")
    with pytest.raises(Unavailable):
        channel.push_stock([update])
    assert fake.quantity("IDEM-1") == 9  # Shopify did the work; the answer came too late
    fake.place_order("IDEM-1", 3)  # and sold three before the retry
    again = channel.push_stock([update])  # the engine's retry: same batch, same key
    assert again[0].ok
    assert again[0].quantity == 9
    assert fake.quantity("IDEM-1") == 6  # without applying the old value over the sale
    keys = fake.state.idempotency
    assert len(keys) == 1  # one logical write, one key
    channel.close()


def test_partial_failure_fails_only_the_refused_items(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    skus = [f"PART-{n}" for n in range(10)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="1.00")
    fake.inject("partial_failure", operation="inventorySetQuantities")
    results = channel.push_stock(
        [StockUpdate(sku=s, quantity=7, listing=_listing(fake, s, 1), expected=1) for s in skus]
    )
    failed = [r.sku for r in results if not r.ok]
    assert failed == ["PART-0", "PART-5"]
    assert {r.error.code for r in results if r.error} == {"NON_MUTABLE_INVENTORY_ITEM"}
    assert [fake.quantity(s) for s in skus] == [1, 7, 7, 7, 7, 1, 7, 7, 7, 7]


def test_update_without_listing_ids_fails_alone(fake: ShopifyFake, channel: ShopifyChannel) -> None:
    fake.seed_listing("HAS-IDS", quantity=1, price="1.00")
    results = channel.push_stock(
        [
            StockUpdate(sku="NO-IDS", quantity=3),
            StockUpdate(
                sku="HAS-IDS", quantity=3, listing=_listing(fake, "HAS-IDS", 1), expected=1
            ),
        ]
    )
    assert not results[0].ok
    assert results[0].error is not None
    assert results[0].error.code == "NO_LISTING"
    assert results[1].ok
    assert fake.quantity("HAS-IDS") == 3


def test_legacy_api_version_uses_compare_quantity(fake: ShopifyFake) -> None:
    fake.seed_listing("OLD-1", quantity=5, price="1.00")
    fake.seed_listing("OLD-2", quantity=5, price="1.00")
    channel: ShopifyChannel = fake.channel(account="shopify-main", api_version="2025-01")
    listings = {lst.sku: lst for lst in channel.fetch_listings()}
    fake.place_order("OLD-1", 1)
    results = channel.push_stock(
        [
            StockUpdate(sku="OLD-1", quantity=8, listing=listings["OLD-1"], expected=5),
            StockUpdate(sku="OLD-2", quantity=8, listing=listings["OLD-2"]),  # no expectation
        ]
    )
    assert results[0].error is not None
    assert results[0].error.code == "COMPARE_QUANTITY_STALE"
    assert results[0].error.current == 4
    assert results[1].ok
    assert (fake.quantity("OLD-1"), fake.quantity("OLD-2")) == (4, 8)
    # One call with the compare check, one opting out with ignoreCompareQuantity.
    assert fake.calls["inventorySetQuantities"] == 2
    assert fake.state.idempotency == {}  # no @idempotent before 2026-01
    channel.close()
