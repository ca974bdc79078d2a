"""The daily call quota through the SyncEngine: pushing stops at error 518 and resumes after
the reset with the newest desired values, none lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import channelsync as cs
from channelsync.core.retry import RetryPolicy
from channelsync.sandbox import Sandbox
from channelsync.sandbox.ebay import EbayFake

SKUS = [f"Q-{i:02d}" for i in range(40)]


@pytest.fixture
def quota_fake(clock: Any) -> Iterator[EbayFake]:
    with Sandbox(channels=["ebay"], clock=clock) as sb:
        yield sb.ebay


def test_quota_exhaustion_stops_pushing_and_resumes_after_reset(
    store: cs.Store, clock: Any, quota_fake: EbayFake
) -> None:
    fake = quota_fake
    for sku in SKUS:
        fake.seed_listing(sku, quantity=0, price="5.00")
    channel = fake.channel(clock=clock)
    engine = cs.SyncEngine(
        store,
        channels=[channel],
        clock=clock,
        retry=RetryPolicy(attempts=3, sleep=lambda _: None, jitter=lambda: 0.0),
    )
    engine.import_listings()  # GetMyeBaySelling: 1 call
    for i, sku in enumerate(SKUS):
        engine.set_on_hand(sku, 10 + i)
    # Today: the import, one GetOrders, one GetMyeBaySelling (the listings are read before
    # they are written) and five ReviseInventoryStatus (20 of 40 listings).
    fake.daily_call_quota = fake.quota_used() + 7
    engine.run_once()
    assert fake.calls["ReviseInventoryStatus"] == 6  # the sixth was answered with 518
    pushed = [sku for i, sku in enumerate(SKUS) if fake.quantity(sku) == 10 + i]
    assert len(pushed) == 20
    waiting = [sku for sku in SKUS if sku not in pushed]
    assert all(fake.quantity(sku) == 0 for sku in waiting)
    assert channel.trading.blocked_until is not None

    # While blocked: new desired values arrive, no Trading call is sent to eBay; orders
    # are still read, through the Fulfillment API (its own quota).
    engine.set_on_hand(waiting[0], 99)
    engine.set_on_hand(pushed[0], 77)
    trading = fake.quota_used()
    rest_orders = fake.calls["getOrders"]
    clock.advance(600)
    report = engine.run_once()
    assert fake.quota_used() == trading
    assert fake.calls["getOrders"] == rest_orders + 1
    # The listings cannot be read before writing: the 21 increases wait, none is lost.
    assert report.accounts["ebay-de"].held == 21
    assert set(report.accounts["ebay-de"].quotas) == {"trading"}

    # 12:00 UTC is 04:00 in Los Angeles: the quota resets 20 hours later.
    clock.advance(20 * 3600)
    engine.run_once()
    expected = {sku: 10 + i for i, sku in enumerate(SKUS)}
    expected[waiting[0]] = 99
    expected[pushed[0]] = 77
    assert {sku: fake.quantity(sku) for sku in SKUS} == expected
    for sku in SKUS:
        (listed,) = engine.stock(sku).channels
        assert (listed.account, listed.acked, listed.pending) == ("ebay-de", expected[sku], False)
    # 21 listings were still pending after the block: six calls, none repeated for the
    # 19 listings that went through before it.
    assert fake.calls["ReviseInventoryStatus"] == 6 + 6
    assert channel.tokens.refreshes == 1  # the two-hour token ran out meanwhile
