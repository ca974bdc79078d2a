"""Sale-aware pushes end to end, with the marketplaces' delays on (a ManualClock moves them).

The issue's scenario: Amazon and eBay sell before the engine has read those orders (their
order searches lag), the merchant books a receipt, a cycle runs. No channel may be set
above what is really available; once the orders are readable every channel is exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import channelsync as cs
from channelsync.core import schema
from channelsync.core import schema as t
from channelsync.core.errors import Unavailable
from channelsync.core.ledger import ApplyResult
from channelsync.core.outbox import ChannelMove
from channelsync.core.results import AccountReport
from channelsync.core.retry import RetryPolicy
from channelsync.core.stockcheck import sales_read
from channelsync.sandbox import ManualClock, Sandbox
from channelsync.testing import FakeChannel

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


# -- rows per location (channels without compare-and-set that read per location) ---------


class ReadingChannel(FakeChannel):
    """A channel without compare-and-set that keeps a quantity per location and reads its
    listings before writes (as Magento sources do)."""

    def __init__(self, account: str, **kw: Any) -> None:
        super().__init__(account, **kw)
        self.level_reads = 0

    def read_stock(self, listings: Sequence[cs.Listing]) -> dict[str, int | None]:
        return {x.sku: self.quantities.get(x.sku) for x in listings}

    def read_levels(self, listings: Sequence[cs.Listing]) -> dict[str, dict[str, int | None]]:
        self.level_reads += 1
        return {x.sku: dict(self.levels.get(x.sku, {})) for x in listings}


WHERE = {"berlin": "L-B", "hamburg": "L-H"}


def _located(store: cs.Store, clock: ManualClock, **kw: Any) -> tuple[Any, cs.SyncEngine]:
    channel = ReadingChannel("shop-loc", clock=clock, **kw)
    channel.add_listing("S-1", levels={"L-B": 20, "L-H": 3}, price="9.00")
    engine = cs.SyncEngine(
        store, channels=[channel], clock=clock, retry=NO_WAIT, locations={"shop-loc": WHERE}
    )
    engine.set_on_hand("S-1", 20, location="berlin")
    engine.set_on_hand("S-1", 3, location="hamburg")
    assert engine.run_once().ok
    return channel, engine


def _step(engine: cs.SyncEngine, account: str) -> AccountReport:
    """A worker's lane woken by a ledger change before its next order poll is due."""
    report = AccountReport(account=account, kind="fake")
    engine._lane(account).cycle(report, ApplyResult(), pull=False)
    return report


def test_a_location_is_read_and_its_unread_sale_pulled_before_the_write(store: cs.Store) -> None:
    clock = ManualClock()
    channel, engine = _located(store, clock)
    clock.advance(10)
    channel.place_order({"S-1": 5}, location="L-B")  # berlin shows 15
    engine.adjust("S-1", 1, "receipt", location="berlin")
    report = _step(engine, "shop-loc")
    assert (report.pulled, report.orders_new, report.unseen_sales) == (True, 1, 0)
    assert channel.levels["S-1"] == {"L-B": 16, "L-H": 3}
    assert engine.stock("S-1").available == 19
    assert engine.plan() == []


def test_a_location_is_never_set_above_what_it_sold_when_the_orders_cannot_be_read(
    store: cs.Store,
) -> None:
    _orders_unreadable(store)


def test_unseen_sales_per_location_on_postgres(pg_url: str) -> None:
    with cs.open_store(pg_url) as store:
        _orders_unreadable(store)


def _orders_unreadable(store: cs.Store) -> None:
    clock = ManualClock()
    channel, engine = _located(store, clock)
    clock.advance(10)
    channel.place_order({"S-1": 5}, location="L-B")
    engine.adjust("S-1", 1, "receipt", location="berlin")
    # The order read fails (every attempt): the 5 units berlin sold stay off its value.
    channel.fail("fetch_orders", Unavailable("down", channel="shop-loc"), times=3)
    report = _step(engine, "shop-loc")
    assert report.unseen_sales == 5
    assert channel.levels["S-1"] == {"L-B": 16, "L-H": 3}  # 21 less the 5 sold, not 21
    with store.read() as conn:
        u = schema.unseen_sales.c
        rows = conn.execute(sa.select(u.sku, u.location, u.units)).all()
    assert [tuple(r) for r in rows] == [("S-1", "berlin", 5)]
    # Hamburg sold nothing: a receipt there goes out whole, berlin's unseen sale aside.
    engine.adjust("S-1", 2, "receipt", location="hamburg")
    _step(engine, "shop-loc")
    assert channel.levels["S-1"] == {"L-B": 16, "L-H": 5}
    # Once the orders are read, every figure is exact.
    clock.advance(120)
    assert engine.run_once().ok
    clock.advance(120)
    assert engine.run_once().ok
    view = engine.stock("S-1")
    assert (view.on_hand, view.committed, view.available) == (26, 5, 21)
    assert channel.levels["S-1"] == {"L-B": 16, "L-H": 5}
    assert engine.plan() == []


def test_a_sale_taken_at_another_location_than_the_ledger_charged_is_no_unseen_sale(
    store: cs.Store,
) -> None:
    clock = ManualClock()
    channel, engine = _located(store, clock)
    clock.advance(10)
    # The channel takes 3 off hamburg but its order names no location: the ledger charges
    # berlin (the first location with stock) once it reads the order.
    channel.place_order({"S-1": 3})
    channel.levels["S-1"]["L-H"] -= 3
    assert engine.run_once().ok
    engine.adjust("S-1", 1, "receipt", location="berlin")
    report = _step(engine, "shop-loc")
    # Berlin reads 3 above what it should, hamburg 3 below: the total is what the ledger
    # expects, so nothing is kept off and no order read is needed.
    assert (report.pulled, report.unseen_sales) == (False, 0)
    assert channel.levels["S-1"]["L-B"] == 18
    assert engine.stock("S-1").at("berlin").available == 18


def test_compare_and_set_locations_are_not_read(store: cs.Store) -> None:
    clock = ManualClock()
    channel, engine = _located(store, clock, compare_and_set=True)
    engine.adjust("S-1", 4, "receipt", location="hamburg")
    assert engine.run_once().ok
    assert channel.levels["S-1"] == {"L-B": 20, "L-H": 7}
    assert channel.level_reads == 0


def test_migration_0011_keys_unseen_sales_per_location(tmp_path: Path) -> None:
    """A store at 0008 keeps its unseen sales as the listings' one quantity (location "");
    going back drops the rows per location only."""
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", "channelsync.core:migrations")
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")
        conn.exec_driver_sql(
            "INSERT INTO unseen_sales (account, sku, units, seen_at)"
            " VALUES ('amazon-eu', 'S-1', 5, '2026-11-01 12:00:00.000000')"
        )
        command.upgrade(cfg, "0011")
        conn.exec_driver_sql(
            "INSERT INTO unseen_sales (account, sku, location, units, seen_at)"
            " VALUES ('magento-main', 'S-1', 'berlin', 3, '2026-11-01 12:00:00.000000'),"
            " ('magento-main', 'S-1', 'hamburg', 1, '2026-11-01 12:00:00.000000')"
        )
        rows = conn.exec_driver_sql(
            "SELECT account, sku, location, units FROM unseen_sales ORDER BY account, location"
        ).all()
        assert [tuple(r) for r in rows] == [
            ("amazon-eu", "S-1", "", 5),
            ("magento-main", "S-1", "berlin", 3),
            ("magento-main", "S-1", "hamburg", 1),
        ]
        command.downgrade(cfg, "0008")
        rows = conn.exec_driver_sql("SELECT account, sku, units FROM unseen_sales").all()
        assert [tuple(r) for r in rows] == [("amazon-eu", "S-1", 5)]
    engine.dispose()
