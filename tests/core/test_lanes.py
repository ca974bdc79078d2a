"""``core/lanes.py``: one account's import, order pull and stock push, driven directly."""

from __future__ import annotations

from typing import Any

import pytest
from tests.core.parts import Core, build

import channelsync as cs
from channelsync.core.lanes import AccountLane
from channelsync.testing import FakeChannel


@pytest.fixture
def core(store: cs.Store, clock: Any) -> Core:
    return build(store, clock, rules={"shop": cs.Rule(buffer=1)})


def _report() -> cs.AccountReport:
    return cs.AccountReport(account="shop", kind="fake")


def _lane(core: Core, clock: Any, **kw: Any) -> tuple[FakeChannel, AccountLane]:
    shop = FakeChannel("shop", clock=clock, **kw)
    shop.add_listing("MUG", 4)
    shop.add_listing("TEE", 2)
    shop.add_listing("FBA", 7, fulfilled_by_channel=True)
    shop.add_listing("GIFT", 1, manages_stock=False)
    return shop, core.lane(shop)


def test_import_binds_every_listing_and_names_the_odd_ones(core: Core, clock: Any) -> None:
    shop, lane = _lane(core, clock)
    assert lane.needs_import()
    result = lane.import_listings()
    assert (result.listings, result.channel_fulfilled, result.unmanaged) == (4, ["FBA"], ["GIFT"])
    assert result.removed == []
    assert not lane.needs_import()
    del shop.quantities["TEE"]
    again = lane.import_listings()
    assert (again.listings, again.removed) == (3, ["TEE"])
    with core.store.read() as conn:
        assert core.listings.skus(conn, "shop") == {"MUG", "FBA", "GIFT"}


def test_push_sends_only_what_differs_and_acknowledges_it(core: Core, clock: Any) -> None:
    shop, lane = _lane(core, clock)
    lane.import_listings()
    core.count({"MUG": 10, "TEE": 3, "FBA": 50, "GIFT": 50})
    report = _report()
    assert lane.push_stock(report) == 0
    # MUG: 10 - buffer 1 = 9 (showed 4); TEE: 3 - 1 = 2, already shown: not sent.
    assert [[(u.sku, u.quantity) for u in batch] for batch in shop.pushed] == [[("MUG", 9)]]
    assert (report.pushes_ok, shop.quantities["MUG"], shop.quantities["FBA"]) == (1, 9, 7)
    assert core.outbox_rows("shop") == [("MUG", 9, 9, False), ("TEE", 2, 2, False)]
    lane.push_stock(report)
    assert len(shop.pushed) == 1  # nothing pending


def test_orders_pulled_twice_commit_once(core: Core, clock: Any) -> None:
    shop, lane = _lane(core, clock)
    lane.import_listings()
    core.count({"MUG": 10})
    assert lane.cursor() is None
    clock.advance(60)
    order = shop.place_order({"MUG": 3})
    report = _report()
    first = lane.pull_orders(report)
    assert first.new == [("shop", order.order_id)]
    assert (report.orders_seen, report.orders_new, report.pulled) == (1, 1, True)
    assert lane.cursor() == order.updated_at
    second = lane.pull_orders(report)  # the lag window reads it again
    assert (second.new, second.changed, second.unchanged) == ([], [], 1)
    view = core.views.stock("MUG")
    assert (view.on_hand, view.committed) == (10, 3)
    # 10 - 3 committed - buffer 1 = 6, and the channel took 3 off by itself (4 -> 1).
    assert core.outbox_rows("shop")[0] == ("MUG", 6, 1, False)


def test_a_lost_compare_and_set_stops_the_push_and_asks_for_orders_first(
    core: Core, clock: Any
) -> None:
    shop, lane = _lane(core, clock, compare_and_set=True)
    lane.import_listings()
    core.count({"MUG": 10})
    shop.quantities["MUG"] = 3  # a sale the lane has not read yet
    report = _report()
    assert lane.push_stock(report) == 1
    assert (report.conflicts, report.pushes_ok, shop.quantities["MUG"]) == (1, 0, 3)
    assert core.outbox_rows("shop")[0] == ("MUG", 9, 3, False)  # compares against 3 next


def test_a_failing_channel_ends_in_the_report_not_in_an_exception(core: Core, clock: Any) -> None:
    shop, lane = _lane(core, clock)
    lane.import_listings()
    shop.fail("fetch_orders", cs.AuthError("token revoked"), times=5)
    report = _report()
    lane.cycle(report, cs.core.ledger.ApplyResult(), pull=True)
    assert report.errors == ["AuthError: token revoked"]
    assert report.pulled is False


def test_orders_of_another_account_are_refused(core: Core, clock: Any) -> None:
    _, lane = _lane(core, clock)
    other = FakeChannel("other", clock=clock)
    other.add_listing("MUG", 1)
    stray = other.place_order({"MUG": 1})
    with pytest.raises(ValueError, match="belongs to 'other', not 'shop'"):
        lane.apply([stray], advance_cursor=False)
