"""``core/views.py``: the read side: stock, explain, plan, orders and coverage."""

from __future__ import annotations

from typing import Any

import pytest
from tests.core.parts import Core, build

import channelsync as cs
from channelsync.core.allocation import AllocationStep
from channelsync.testing import FakeChannel


@pytest.fixture
def core(store: cs.Store, clock: Any) -> Core:
    core = build(store, clock, rules={"b": cs.Rule(cap=2)})
    core.list("a", {"MUG": 6, "TEE": 1})
    core.list("b", {"MUG": 0})
    return core


def test_stock_shows_the_figures_and_every_listing(core: Core) -> None:
    core.count({"MUG": 10})
    view = core.views.stock("MUG")
    assert (view.on_hand, view.committed, view.tracked, view.bundle) == (10, 0, True, None)
    assert [(c.account, c.desired, c.acked, c.listed, c.note) for c in view.channels] == [
        ("a", 10, 6, 6, None),
        ("b", 2, 0, 0, None),
    ]
    assert [(x.location, x.on_hand, x.committed) for x in view.locations] == [("default", 10, 0)]


def test_an_uncounted_sku_says_so(core: Core) -> None:
    view = core.views.stock("TEE")
    assert (view.on_hand, view.committed, view.tracked) == (0, 0, False)
    assert [(c.account, c.desired, c.note) for c in view.channels] == [
        ("a", None, "SKU not counted yet (set_on_hand/adjust)")
    ]
    nothing = core.views.stock("NO-SUCH")
    assert (nothing.on_hand, nothing.tracked, nothing.channels) == (0, False, ())


def test_explain_lists_the_journal_and_each_listings_steps(core: Core) -> None:
    core.count({"MUG": 10})
    core.store.run(
        lambda conn: core.ledger.adjust_many(conn, {"MUG": -3}, "damaged", source="test", key="k")
    )
    why = core.views.explain("MUG")
    assert (why.on_hand, why.committed) == (7, 0)
    assert [(e.reason, e.note, e.d_on_hand, e.on_hand_after) for e in why.entries] == [
        ("set_on_hand", None, 10, 10),
        ("adjust", "damaged", -3, 7),
    ]
    assert why.allocation["b"] == (
        AllocationStep("available", "ledger: on_hand - committed", 7),
        AllocationStep("cap", "at most 2", 2),
    )
    assert list(core.views.explain("MUG", "a").allocation) == ["a"]


def test_plan_lists_what_the_next_cycle_would_push(core: Core) -> None:
    core.count({"MUG": 10})
    plan = core.views.plan()
    assert [(p.account, p.sku, p.quantity, p.acked) for p in plan] == [
        ("a", "MUG", 10, 6),
        ("b", "MUG", 2, 0),
    ]
    assert plan[1].steps[-1] == AllocationStep("cap", "at most 2", 2)


def test_orders_and_coverage(core: Core, clock: Any) -> None:
    shop = FakeChannel("a", clock=clock)
    shop.add_listing("MUG", 6)
    core.count({"MUG": 10})
    placed = shop.place_order({"MUG": 2})
    core.lane(shop).pull_orders(cs.AccountReport(account="a", kind="fake"))
    order = core.views.order("a", placed.order_id)
    assert [(x.sku, x.quantity) for x in order.lines] == [("MUG", 2)]
    assert [o.order_id for o in core.views.orders(account="a")] == [placed.order_id]
    with pytest.raises(cs.ChannelsyncError, match="NOPE"):
        core.views.order("a", "NOPE")
    coverage = core.views.coverage(["a", "b"])
    assert coverage.by_sku == {"MUG": {"a", "b"}, "TEE": {"a"}}
    assert coverage.missing() == {"TEE": ["b"]}
    assert coverage.untracked == {"TEE"}
