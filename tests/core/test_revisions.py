"""The revision budget: eBay's 250 writes per listing per day, drops first."""

from __future__ import annotations

import channelsync as cs
from channelsync.core.retry import RetryPolicy
from channelsync.core.revisions import RevisionBudget, Write, allowed
from channelsync.sandbox import ManualClock, Sandbox


def test_drops_go_out_while_increases_wait_when_the_budget_runs_low() -> None:
    up, down, zero = Write("A", "1", 9, 5), Write("A", "1", 3, 5), Write("A", "1", 0, 5)
    assert allowed(up, used=224, cap=250, reserve=25) is None
    assert allowed(up, used=225, cap=250, reserve=25) == (
        "225 of 250 revisions used today: increases wait for tomorrow, the last 25 are kept"
        " for drops"
    )
    assert allowed(down, used=249, cap=250, reserve=25) is None
    assert allowed(zero, used=249, cap=250, reserve=25) is None
    assert allowed(zero, used=250, cap=250, reserve=25) is not None  # eBay would refuse it


def test_counts_per_listing_and_channel_day_survive_in_the_store(store: cs.Store) -> None:
    clock = ManualClock()
    budget = RevisionBudget(store, clock)
    writes = [Write(f"S-{i}", "ITEM-1", 5 + i % 2, 4) for i in range(12)]
    go, held = budget.take("ebay-de", writes, cap=10, timezone="America/Los_Angeles", reserve=2)
    # Variations of one listing share its budget: 8 increases go, the last 2 are kept.
    assert (len(go), len(held)) == (8, 4)
    assert budget.used("ebay-de", "ITEM-1", "America/Los_Angeles") == 8
    drop = [Write("S-0", "ITEM-1", 0, 5)]
    assert budget.take("ebay-de", drop, cap=10, timezone="America/Los_Angeles", reserve=2)[0]
    clock.advance(24 * 3600)  # a new eBay day
    assert budget.used("ebay-de", "ITEM-1", "America/Los_Angeles") == 0


def test_the_engine_never_spends_a_listings_last_revisions_on_increases(
    store: cs.Store,
) -> None:
    clock = ManualClock()
    with Sandbox(channels=["ebay"], clock=clock) as sb:
        fake = sb.ebay
        fake.seed_listing("R-1", quantity=0, price="3.00")
        channel = fake.channel(clock=clock)
        engine = cs.SyncEngine(
            store,
            channels=[channel],
            clock=clock,
            retry=RetryPolicy(attempts=2, sleep=lambda _s: None, jitter=lambda: 0.0),
        )
        engine.set_on_hand("R-1", 1)
        engine.run_once()
        item = fake.item_id("R-1")
        assert item is not None
        # A busy day: the stock goes up and down; every change is one write.
        for n in range(2, 260):
            engine.set_on_hand("R-1", n)
            clock.advance(30)
            engine.run_once()
        used = fake.revisions(item)
        assert used == 225  # 250 less the 25 kept for drops
        report = engine.run_once()
        assert fake.quantity("R-1") == 225  # the last increase that went out
        (listed,) = engine.stock("R-1").channels
        assert (listed.desired, listed.acked) == (259, 225)  # waits for tomorrow, and says so
        assert listed.last_error is not None
        assert listed.last_error.startswith("held: 225 of 250 revisions used today")
        engine.set_on_hand("R-1", 0)  # sold out elsewhere: the drop goes out at once
        clock.advance(30)
        report = engine.run_once()
        assert fake.quantity("R-1") == 0
        assert report.accounts["ebay-de"].held == 0
        assert fake.revisions(item) == 226
