"""Order cursors follow the channels' search lag: a late-appearing order is still pulled."""

from __future__ import annotations

from datetime import timedelta

import channelsync as cs
from channelsync.core.retry import RetryPolicy
from channelsync.sandbox import ManualClock, Sandbox


def test_an_order_that_shows_in_the_search_late_is_still_pulled(store: cs.Store) -> None:
    clock = ManualClock()
    with Sandbox(channels=["amazon"], clock=clock) as sb:
        fake = sb.amazon
        fake.seed_listing("L-1", quantity=50, price="5.00")
        channel = fake.channel(clock=clock, sleep=clock.sleep)
        assert channel.limits.search_lag == 120.0  # as the fake (and Amazon) lags
        engine = cs.SyncEngine(
            store,
            channels=[channel],
            clock=clock,
            order_lag=timedelta(seconds=30),  # shorter than the search lag, on purpose
            retry=RetryPolicy(attempts=2, sleep=lambda _s: None, jitter=lambda: 0.0),
        )
        engine.set_on_hand("L-1", 50)
        engine.run_once()
        clock.advance(10)
        fake.order_search_lag = (120.0, 120.0)  # this change takes the longest to index
        late = fake.place_order("L-1", 2)
        clock.advance(90)
        fake.order_search_lag = (0.0, 0.0)  # this one is indexed at once
        early = fake.place_order("L-1", 1)
        clock.advance(5)
        engine.pull("amazon-eu")  # sees the newer order only: the cursor passes the late one
        assert [o.order_id for o in engine.orders(account="amazon-eu")] == [early]
        clock.advance(300)
        engine.pull("amazon-eu")  # re-reads as far back as the search lags: finds it
        assert {o.order_id for o in engine.orders(account="amazon-eu")} == {early, late}
        assert engine.stock("L-1").committed == 3
