"""Sale-aware pushes end to end, with the marketplaces' delays on (a ManualClock moves them).

The issue's scenario: Amazon and eBay sell before the engine has read those orders (their
order searches lag), the merchant books a receipt, a cycle runs. No channel may be set
above what is really available; once the orders are readable every channel is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import channelsync as cs
from channelsync.core import schema as t
from channelsync.core.outbox import ChannelMove
from channelsync.core.retry import RetryPolicy
from channelsync.core.stockcheck import sales_read
from channelsync.sandbox import ManualClock, Sandbox

NO_WAIT = RetryPolicy(attempts=3, sleep=lambda _s: None, jitter=lambda: 0.0)


@pytest.fixture
def world(store: cs.Store) -> Iterator[tuple[Any, cs.SyncEngine, ManualClock]]:
    clock = ManualClock()
    with Sandbox(channels=["amazon", "ebay"], clock=clock) as sb:
        # The delays stay as the fakes model them: Amazon applies a patch 180 s after
        # ACCEPTED and indexes order changes 30-120 s late; eBay indexes them 10-120 s late.
        sb.amazon.seed_listing("S-1", quantity=20, price="9.00")
        sb.ebay.seed_listing("S-1", quantity=20, price="9.00")
        amazon = sb.amazon.channel(account="amazon-eu", clock=clock, sleep=clock.sleep)
        ebay = sb.ebay.channel(account="ebay-de", clock=clock)
        engine = cs.SyncEngine(store, channels=[amazon, ebay], clock=clock, retry=NO_WAIT)
        engine.set_on_hand("S-1", 20)
        engine.run_once()
        clock.advance(1000)  # Amazon's read-back of the import is long settled
        yield sb, engine, clock


def _shown(sb: Any) -> dict[str, int | None]:
    return {"amazon": sb.amazon.quantity("S-1"), "ebay": sb.ebay.quantity("S-1")}


def test_a_sale_the_engine_has_not_read_is_never_overwritten(world: Any) -> None:
    sb, engine, clock = world
    sb.amazon.place_order("S-1", 5)  # Amazon shows 15
    sb.ebay.place_order("S-1", 3)  # eBay shows 17
    clock.advance(10)
    engine.adjust("S-1", 1, "receipt")  # on hand 21; the ledger knows no sale yet
    report = engine.run_once()
    # Neither order is searchable yet: each channel's own sale stays off what it is set to.
    assert report.accounts["amazon-eu"].unseen_sales == 5
    assert report.accounts["ebay-de"].unseen_sales == 3
    clock.advance(sb.amazon.patch_apply_delay)
    shown = _shown(sb)
    assert (shown["amazon"], shown["ebay"]) <= (21 - 5, 21 - 3)
    assert None not in shown.values()

    # A few minutes on, each channel also knows the other's unread sale: at most 13 each.
    clock.advance(300)
    engine.run_once()
    clock.advance(sb.amazon.patch_apply_delay)
    assert all(q is not None and q <= 13 for q in _shown(sb).values()), _shown(sb)

    # Once the orders are searchable and read, the ledger has them and every channel is exact.
    for _ in range(3):
        clock.advance(400)
        engine.run_once()
    clock.advance(sb.amazon.patch_apply_delay)
    view = engine.stock("S-1")
    assert (view.on_hand, view.committed, view.available) == (21, 8, 13)
    assert _shown(sb) == {"amazon": 13, "ebay": 13}


def test_a_just_patched_amazon_listing_is_not_read_back_as_the_truth(world: Any) -> None:
    sb, engine, clock = world
    engine.adjust("S-1", 10, "receipt")  # 30: Amazon answers ACCEPTED, shows 20 for minutes
    engine.run_once()
    assert sb.amazon.quantity("S-1") == 20
    assert sb.amazon.pending_changes("S-1") == 1
    sb.amazon.place_order("S-1", 2)  # a buyer takes 2 of the 20 still shown
    clock.advance(60)
    engine.adjust("S-1", 5, "receipt")  # 35: an increase while the read-back is stale
    patches = sb.amazon.calls["patchListingsItem"]
    report = engine.run_once()
    # Amazon still reads 18 (the old 20 less the sale), not the 30 written: that read is
    # not the channel's truth (no unseen sale inferred from it), and the increase waits
    # until the write has settled and can be read back.
    assert report.accounts["amazon-eu"].unseen_sales == 0
    assert sb.amazon.calls["patchListingsItem"] == patches
    assert sb.amazon.pending_changes("S-1") == 1
    (listed,) = [c for c in engine.stock("S-1").channels if c.account == "amazon-eu"]
    assert (listed.desired, listed.acked) == (35, 30)
    # After the order is read and the write settled, Amazon shows exactly what is available.
    for _ in range(4):
        clock.advance(400)
        engine.run_once()
    clock.advance(sb.amazon.patch_apply_delay)
    assert engine.stock("S-1").available == 33
    assert sb.amazon.quantity("S-1") == 33


def test_a_sale_read_by_notification_is_not_taken_off_twice(store: cs.Store) -> None:
    """Amazon sells 5 the order search does not show yet: the push keeps them off. The order
    then arrives by ORDER_CHANGE notification, long before a pull could clear what was
    remembered: from then on the ledger counts the 5, and nothing takes them off again."""
    clock = ManualClock()
    with Sandbox(channels=["amazon", "ebay"], clock=clock) as sb:
        # writes show, and can be read back as the truth, 2 s later
        sb.amazon.patch_apply_delay = sb.amazon.feed_processing_seconds = 2.0
        sb.amazon.seed_listing("S-1", quantity=20, price="9.00")
        sb.ebay.seed_listing("S-1", quantity=20, price="9.00")
        amazon = sb.amazon.channel(account="amazon-eu", clock=clock, sleep=clock.sleep)
        ebay = sb.ebay.channel(account="ebay-de", clock=clock)
        engine = cs.SyncEngine(store, channels=[amazon, ebay], clock=clock, retry=NO_WAIT)
        engine.set_on_hand("S-1", 20)
        engine.run_once()
        clock.advance(10)

        order_id = sb.amazon.place_order("S-1", 5)  # Amazon shows 15; searchable 30 s+ later
        clock.advance(10)
        engine.adjust("S-1", 1, "receipt")  # 21 on hand
        report = engine.run_once()
        assert report.accounts["amazon-eu"].unseen_sales == 5
        clock.advance(3)
        assert sb.amazon.quantity("S-1") == 16  # 21 less its own unread 5

        engine.record_order(amazon.fetch_order(order_id))  # the notification's getOrder
        assert engine.stock("S-1").available == 16
        clock.advance(3)
        engine.adjust("S-1", 1, "receipt")  # 22 on hand, 5 sold: 17 everywhere
        report = engine.run_once()
        clock.advance(3)
        assert _shown(sb) == {"amazon": 17, "ebay": 17}  # not 12: the 5 taken off once
        assert report.accounts["amazon-eu"].unseen_sales == 0


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest) -> Iterator[cs.Store]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    s = cs.open_store(url)
    yield s
    s.close()


def test_only_sales_made_before_the_read_leave_the_unseen_memory(any_store: cs.Store) -> None:
    store = any_store
    seen = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    before, after = seen - timedelta(seconds=5), seen + timedelta(seconds=5)
    rows = [
        ("amazon-eu", "A", 5),
        ("amazon-eu", "B", 2),
        ("amazon-eu", "C", 3),
        ("ebay-de", "A", 4),
    ]
    store.run(
        lambda conn: conn.execute(
            t.unseen_sales.insert(),
            [{"account": a, "sku": s, "units": n, "seen_at": seen} for a, s, n in rows],
        )
    )
    moved = {
        ("A", ""): [ChannelMove(2, before, False), ChannelMove(1, after, False)],  # 2 of 5 read
        ("B", ""): [ChannelMove(2, before, False)],  # all read
        ("C", ""): [ChannelMove(3, after, False), ChannelMove(-1, before, True)],  # none
    }
    store.run(lambda conn: sales_read(store, conn, "amazon-eu", moved))
    with store.read() as conn:
        left = {
            (r.account, r.sku): r.units
            for r in conn.execute(
                sa.select(t.unseen_sales.c.account, t.unseen_sales.c.sku, t.unseen_sales.c.units)
            )
        }
    assert left == {("amazon-eu", "A"): 3, ("amazon-eu", "C"): 3, ("ebay-de", "A"): 4}


def test_a_sale_read_while_the_channel_is_being_read_is_not_remembered_unseen(
    store: cs.Store,
) -> None:
    """The notification of Amazon's sale is applied while the lane reads Amazon (after a pull
    that did not find the order yet): the drop the read shows is the sale the ledger has
    just read, not an unseen one to take off again later."""
    clock = ManualClock()
    with Sandbox(channels=["amazon", "ebay"], clock=clock) as sb:
        sb.amazon.patch_apply_delay = sb.amazon.feed_processing_seconds = 2.0
        sb.amazon.seed_listing("S-1", quantity=20, price="9.00")
        sb.ebay.seed_listing("S-1", quantity=20, price="9.00")
        amazon = sb.amazon.channel(account="amazon-eu", clock=clock, sleep=clock.sleep)
        ebay = sb.ebay.channel(account="ebay-de", clock=clock)
        engine = cs.SyncEngine(store, channels=[amazon, ebay], clock=clock, retry=NO_WAIT)
        engine.set_on_hand("S-1", 20)
        engine.run_once()
        clock.advance(10)

        order_id = sb.amazon.place_order("S-1", 5)  # Amazon shows 15; not searchable yet
        reads = []
        read_stock = amazon.read_stock

        def read_while_notified(listings: Any) -> Any:
            reads.append(len(listings))
            if len(reads) == 2:  # the read after the pull: the notification lands now
                engine.record_order(amazon.fetch_order(order_id))
            return read_stock(listings)

        amazon.read_stock = read_while_notified  # type: ignore[method-assign]
        clock.advance(10)
        engine.adjust("S-1", 1, "receipt")  # 21 on hand
        engine.run_once()
        assert len(reads) == 2
        amazon.read_stock = read_stock  # type: ignore[method-assign]
        assert engine.stock("S-1").available == 16
        clock.advance(3)
        engine.adjust("S-1", 1, "receipt")  # 22 on hand, 5 sold: 17 everywhere
        report = engine.run_once()
        clock.advance(3)
        assert _shown(sb) == {"amazon": 17, "ebay": 17}  # not 12: the 5 taken off once
        assert report.accounts["amazon-eu"].unseen_sales == 0
