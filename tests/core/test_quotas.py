"""Spent call quotas: order intake goes on, the state is stored, survives a restart, shows."""

from __future__ import annotations

from datetime import timedelta

import channelsync as cs
from channelsync.core.quotas import QuotaBook
from channelsync.core.retry import RetryPolicy
from channelsync.sandbox import ManualClock, Sandbox

NO_WAIT = RetryPolicy(attempts=2, sleep=lambda _s: None, jitter=lambda: 0.0)


def test_every_ebay_order_reaches_the_store_through_a_fault_storm_with_one_518(
    store: cs.Store,
) -> None:
    clock = ManualClock()
    with Sandbox(channels=["ebay"], clock=clock) as sb:
        fake = sb.ebay
        # eBay's order search lag, shortened explicitly from 10-120 s to 2-15 s so that
        # "within a minute after the faults stop" is about the engine, not the index.
        fake.order_search_lag = (2.0, 15.0)
        fake.seed_listing("ST-1", quantity=10_000, price="3.00")
        channel = fake.channel(clock=clock)
        engine = cs.SyncEngine(store, channels=[channel], clock=clock, retry=NO_WAIT)
        engine.set_on_hand("ST-1", 10_000)
        engine.run_once()
        fake.subscribe(lambda headers, body: engine.ingest_webhook("ebay-de", headers, body))

        placed: list[str] = []
        # Three minutes of faults: REST 500s and 429s on every tick, Trading errors, and one
        # 518 (the daily call quota) early on; buyers keep buying; a cycle every 10 s.
        for tick in range(18):
            placed += [fake.place_order("ST-1") for _ in range(3)]
            if tick == 2:
                fake.inject("throttle", operation="GetOrders")  # Trading answers 518
            fake.inject("server_error", operation="getOrders")
            fake.inject("server_error", operation="getOrder")
            if tick % 3 == 0:
                fake.inject("throttle", times=2, operation="getOrders")
                fake.inject("server_error", operation="GetMyeBaySelling")
            fake.flush_webhooks()
            clock.advance(10)
            engine.run_once()
        fake.faults.clear()
        assert channel.trading.blocked_until is not None  # Trading stays spent all day

        for _ in range(6):  # one minute after the faults stop
            clock.advance(10)
            engine.run_once()
        stored = {o.order_id for o in engine.orders(account="ebay-de", limit=None)}
        assert len(placed) == 54
        assert set(placed) <= stored
        assert engine.stock("ST-1").committed == 54
        assert fake.calls["getOrders"] > 0  # read through the Fulfillment API


def test_a_spent_quota_survives_a_restart_and_costs_no_call(store: cs.Store) -> None:
    clock = ManualClock()
    with Sandbox(channels=["ebay"], clock=clock) as sb:
        fake = sb.ebay
        fake.order_search_lag = (0.0, 0.0)  # explicitly: orders readable at once here
        fake.seed_listing("Q-1", quantity=5, price="3.00")
        engine = cs.SyncEngine(
            store, channels=[fake.channel(clock=clock)], clock=clock, retry=NO_WAIT
        )
        engine.set_on_hand("Q-1", 5)
        engine.run_once()
        fake.inject("throttle", operation="GetOrders")  # 518
        clock.advance(120)
        report = engine.run_once()
        until = report.accounts["ebay-de"].quotas["trading"]
        assert [q.resource for q in QuotaBook(store, clock).spent("ebay-de")] == ["trading"]

        # A new worker process: new channel, new engine, same store.
        order_id = fake.place_order("Q-1", 2)
        trading_calls = fake.quota_used()
        again = cs.SyncEngine(
            store, channels=[fake.channel(clock=clock)], clock=clock, retry=NO_WAIT
        )
        clock.advance(120)
        report = again.run_once()
        assert fake.quota_used() == trading_calls  # it knew: no Trading call to find out
        assert report.accounts["ebay-de"].quotas == {"trading": until}
        assert again.order("ebay-de", order_id).lines[0].quantity == 2

        # The quota comes back at midnight Pacific: the stored state says so, then clears.
        clock.advance(timedelta(hours=24).total_seconds())
        report = again.run_once()
        assert report.accounts["ebay-de"].quotas == {}
        assert QuotaBook(store, clock).spent() == []
