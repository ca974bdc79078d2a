"""Stock per location: each unit counted once, channels shown what their locations give."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.core.helpers import T0, line, make_order

import channelsync as cs
from channelsync.core.locations import FirstWithStock, LocationBook
from channelsync.testing import FakeChannel

NO_WAIT = cs.RetryPolicy(attempts=1)
BERLIN, HAMBURG = "gid://shop/Location/1", "gid://shop/Location/2"


def two_warehouses(store: cs.Store) -> tuple[cs.SyncEngine, FakeChannel, FakeChannel]:
    """Shopify keeps a quantity per location (berlin, hamburg); WooCommerce shows one
    quantity pooled from both. Berlin holds 4 mugs, Hamburg 9."""
    shop = FakeChannel("shopify-main", compare_and_set=True)
    woo = FakeChannel("woo-main")
    shop.add_listing("MUG", levels={BERLIN: 0, HAMBURG: 0})
    woo.add_listing("MUG", 0)
    engine = cs.SyncEngine(
        store,
        [shop, woo],
        retry=NO_WAIT,
        locations={
            "shopify-main": {"berlin": BERLIN, "hamburg": HAMBURG},
            "woo-main": ["berlin", "hamburg"],
        },
    )
    engine.set_on_hand("MUG", 4, location="berlin")
    engine.set_on_hand("MUG", 9, location="hamburg")
    return engine, shop, woo


def test_two_warehouses_each_unit_counted_once(store: cs.Store) -> None:
    engine, shop, woo = two_warehouses(store)
    engine.run_once()
    # Shopify shows each location what it holds; WooCommerce the pool: 13 real units.
    assert shop.levels["MUG"] == {BERLIN: 4, HAMBURG: 9}
    assert woo.quantities["MUG"] == 13
    view = engine.stock("MUG")
    assert (view.on_hand, view.committed) == (13, 0)
    assert [(x.location, x.on_hand) for x in view.locations] == [("berlin", 4), ("hamburg", 9)]
    # A Shopify order assigned to Berlin commits there; a WooCommerce order takes the first
    # of its locations with every unit available: Berlin (1 left) cannot give 2 -> Hamburg.
    shop.place_order({"MUG": 3}, location=BERLIN)
    engine.run_once()
    woo.place_order({"MUG": 2})
    engine.run_once()
    view = engine.stock("MUG")
    assert (view.on_hand, view.committed) == (13, 5)
    assert [(x.location, x.on_hand, x.committed) for x in view.locations] == [
        ("berlin", 4, 3),
        ("hamburg", 9, 2),
    ]
    assert shop.levels["MUG"] == {BERLIN: 1, HAMBURG: 7}
    assert woo.quantities["MUG"] == 8
    # Shipping takes the units off where they were committed.
    [shop_order] = engine.orders(account="shopify-main")
    engine.ship("shopify-main", shop_order.order_id, cs.Shipment(carrier="DHL"), push=False)
    here = {x.location: (x.on_hand, x.committed) for x in engine.stock("MUG").locations}
    assert here == {"berlin": (1, 0), "hamburg": (9, 2)}
    assert sum(v[0] for v in here.values()) == engine.stock("MUG").on_hand == 10
    engine.run_once()
    assert shop.levels["MUG"] == {BERLIN: 1, HAMBURG: 7}
    assert woo.quantities["MUG"] == 8
    assert engine.plan() == []


def test_transfer_moves_units_and_what_channels_show(store: cs.Store) -> None:
    engine, shop, woo = two_warehouses(store)
    engine.run_once()
    view = engine.transfer("MUG", 3, "hamburg", "berlin", idempotency_key="move-1")
    assert [(x.location, x.on_hand) for x in view.locations] == [("berlin", 7), ("hamburg", 6)]
    engine.transfer("MUG", 3, "hamburg", "berlin", idempotency_key="move-1")  # a repeat
    assert engine.stock("MUG").at("berlin").on_hand == 7
    engine.run_once()
    assert shop.levels["MUG"] == {BERLIN: 7, HAMBURG: 6}
    assert woo.quantities["MUG"] == 13
    rows = [(e.reason, e.location, e.d_on_hand) for e in engine.explain("MUG").entries]
    assert rows[-2:] == [("transfer", "hamburg", -3), ("transfer", "berlin", 3)]
    with pytest.raises(cs.InvalidInput, match="only 6 on hand there"):
        engine.transfer("MUG", 7, "hamburg", "berlin")
    with pytest.raises(cs.IdempotencyConflict):
        engine.transfer("MUG", 1, "hamburg", "berlin", idempotency_key="move-1")
    assert engine.stock("MUG").at("hamburg").on_hand == 6


def test_a_buffer_per_location(store: cs.Store) -> None:
    shop = FakeChannel("shopify-main", compare_and_set=True)
    shop.add_listing("MUG", levels={BERLIN: 0, HAMBURG: 0})
    engine = cs.SyncEngine(
        store,
        [shop],
        retry=NO_WAIT,
        locations={"shopify-main": {"berlin": BERLIN, "hamburg": HAMBURG}},
        rules={("shopify-main", None, "berlin"): cs.Rule(buffer=2)},
    )
    engine.set_on_hand("MUG", 4, location="berlin")
    engine.set_on_hand("MUG", 9, location="hamburg")
    engine.run_once()
    assert shop.levels["MUG"] == {BERLIN: 2, HAMBURG: 9}
    steps = engine.explain("MUG").allocation["shopify-main@berlin"]
    assert [(s.step, s.quantity) for s in steps] == [("available", 4), ("buffer", 2)]
    assert steps[0].detail == "on_hand - committed at berlin"


def test_an_unmapped_channel_location_is_reported_and_not_pushed(store: cs.Store) -> None:
    shop = FakeChannel("shopify-main", compare_and_set=True)
    shop.add_listing("MUG", levels={BERLIN: 1, "gid://shop/Location/99": 5})
    engine = cs.SyncEngine(
        store, [shop], retry=NO_WAIT, locations={"shopify-main": {"berlin": BERLIN}}
    )
    engine.set_on_hand("MUG", 4, location="berlin")
    [result] = engine.import_listings().values()
    assert not isinstance(result, Exception)
    assert result.unmapped_locations == {"gid://shop/Location/99": 1}
    engine.run_once()
    assert shop.levels["MUG"] == {BERLIN: 4, "gid://shop/Location/99": 5}


def test_a_pooled_account_reports_only_items_stocked_at_several_channel_locations(
    store: cs.Store,
) -> None:
    """One quantity per listing is what a pooled account means: an item stocked at one
    channel location is as meant; one stocked at two has units the engine never writes."""
    shop = FakeChannel("shopify-main", compare_and_set=True)
    shop.add_listing("MUG", levels={BERLIN: 3})
    shop.add_listing("CAP", levels={BERLIN: 1, "gid://shop/Location/99": 5})
    engine = cs.SyncEngine(store, [shop], retry=NO_WAIT)
    [result] = engine.import_listings().values()
    assert not isinstance(result, Exception)
    assert result.unmapped_locations == {BERLIN: 1, "gid://shop/Location/99": 1}


def test_sourcing_is_replaceable(store: cs.Store) -> None:
    class Nearest:
        """Always Hamburg (the merchant's own rule)."""

        def choose(
            self,
            account: str | None,
            needs: Mapping[str, int],
            candidates: Sequence[str],
            available: Any,
        ) -> str:
            return "hamburg"

    woo = FakeChannel("woo-main")
    woo.add_listing("MUG", 0)
    engine = cs.SyncEngine(
        store,
        [woo],
        retry=NO_WAIT,
        locations={"woo-main": ["berlin", "hamburg"]},
        sourcing=Nearest(),
    )
    engine.set_on_hand("MUG", 4, location="berlin")
    engine.set_on_hand("MUG", 9, location="hamburg")
    engine.record_order(make_order(account="woo-main", lines=[line(sku="MUG", qty=1)]))
    assert engine.stock("MUG").at("hamburg").committed == 1


def test_first_with_stock_takes_the_first_location_that_has_every_unit() -> None:
    levels = {("A", "berlin"): 1, ("A", "hamburg"): 5, ("B", "berlin"): 9}

    def available(sku: str, location: str) -> int:
        return levels.get((sku, location), 0)

    policy = FirstWithStock()
    assert policy.choose("x", {"A": 1}, ["berlin", "hamburg"], available) == "berlin"
    assert policy.choose("x", {"A": 2}, ["berlin", "hamburg"], available) == "hamburg"
    assert policy.choose("x", {"A": 1, "B": 1}, ["hamburg", "berlin"], available) == "berlin"
    assert policy.choose("x", {"A": 9}, ["berlin", "hamburg"], available) == "berlin"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"a": []}, "the list is empty"),
        ({"a": {}}, "the mapping is empty"),
        ({"a": ["x", "x"]}, "listed twice"),
        ({"a": {"x": "1", "y": "1"}}, "mapped twice"),
        ({"a": "berlin"}, "must be a list of names or a mapping"),
        ({"a": [" padded"]}, "location name"),
    ],
)
def test_bad_location_config_is_refused(spec: Any, message: str) -> None:
    with pytest.raises(cs.ConfigError, match=message):
        LocationBook(spec)


def test_a_return_restocks_where_the_line_shipped_from(store: cs.Store) -> None:
    engine, shop, _ = two_warehouses(store)
    engine.run_once()
    order = shop.place_order({"MUG": 2}, location=HAMBURG)
    engine.run_once()
    engine.ship("shopify-main", order.order_id, cs.Shipment(carrier="DHL"), push=False)
    assert engine.stock("MUG").at("hamburg").on_hand == 7
    engine.record_return("shopify-main", order.order_id, {order.lines[0].line_id: 1},
                         notify_channel=False)  # fmt: skip
    assert engine.stock("MUG").at("hamburg").on_hand == 8
    assert engine.stock("MUG").at("berlin").on_hand == 4


# -- the property: totals are the sums; no channel location shown more than it can give --

LOCATIONS = ("berlin", "hamburg", "shop")
step_st = st.one_of(
    st.tuples(st.just("count"), st.sampled_from(LOCATIONS), st.integers(0, 12)),
    st.tuples(st.just("transfer"), st.sampled_from(LOCATIONS), st.sampled_from(LOCATIONS),
              st.integers(1, 4)),
    st.tuples(st.just("order"), st.sampled_from(["shopify-main", "woo-main"]),
              st.sampled_from([None, *LOCATIONS]), st.integers(1, 3)),
    st.tuples(st.just("ship"), st.integers(0, 20)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
)  # fmt: skip


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step_st, min_size=1, max_size=14))
def test_totals_are_the_sums_and_no_location_is_oversold_by_a_channel(
    sqlite_url: str, steps: list[tuple[Any, ...]]
) -> None:
    ids = {name: f"gid://loc/{name}" for name in LOCATIONS}
    shop = FakeChannel("shopify-main", compare_and_set=True)
    shop.add_listing("MUG", levels=dict.fromkeys(ids.values(), 0))
    woo = FakeChannel("woo-main")
    woo.add_listing("MUG", 0)
    with cs.open_store(sqlite_url + f".{abs(hash(tuple(steps)))}") as store:
        engine = cs.SyncEngine(
            store,
            [shop, woo],
            retry=NO_WAIT,
            locations={"shopify-main": ids, "woo-main": ["berlin", "hamburg"]},
        )
        engine.set_on_hand_many(dict.fromkeys(["MUG"], 0))
        orders: list[tuple[str, str]] = []
        clock = T0
        for step in steps:
            kind = step[0]
            if kind == "count":
                engine.set_on_hand("MUG", step[2], location=step[1])
            elif kind == "transfer" and step[1] != step[2]:
                there = engine.stock("MUG").at(step[1]).on_hand
                if there >= step[3]:
                    engine.transfer("MUG", step[3], step[1], step[2])
            elif kind == "order":
                account, where, qty = step[1], step[2], step[3]
                clock += timedelta(minutes=1)
                order_id = f"O{len(orders)}"
                engine.record_order(
                    make_order(order_id, account=account, lines=[
                        line(sku="MUG", qty=qty, location_id=ids[where] if where else None)
                    ]).model_copy(update={"updated_at": clock})
                )  # fmt: skip
                orders.append((account, order_id))
            elif kind in ("ship", "cancel") and orders:
                account, order_id = orders[step[1] % len(orders)]
                if kind == "ship":
                    engine.ship(account, order_id, cs.Shipment(carrier="DHL"), push=False)
                else:
                    clock += timedelta(minutes=1)
                    stored = engine.order(account, order_id)
                    engine.record_order(
                        stored.model_copy(
                            update={"status": cs.OrderStatus.CANCELLED, "updated_at": clock}
                        )
                    )
            engine.run_once()
            view = engine.stock("MUG")
            assert view.on_hand == sum(x.on_hand for x in view.locations)
            assert view.committed == sum(x.committed for x in view.locations)
            for name, cid in ids.items():
                can_give = max(0, view.at(name).available)
                assert shop.levels["MUG"][cid] <= can_give, (name, shop.levels["MUG"])
            pooled = sum(view.at(n).available for n in ("berlin", "hamburg"))
            assert woo.quantities["MUG"] <= max(0, pooled)
