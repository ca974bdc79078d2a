"""Allocation rules: a pipeline of pure steps from available stock to the shown quantity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import channelsync as cs
from channelsync.core.allocation import allocate, bundle_available, shown
from channelsync.testing import FakeChannel


@pytest.mark.parametrize(
    ("available", "rule", "shown"),
    [
        (10, cs.Rule(), 10),
        (10, cs.Rule(buffer=2), 8),
        (1, cs.Rule(buffer=2), 0),
        (-3, cs.Rule(), 0),
        (10, cs.Rule(share=0.5), 5),
        (7, cs.Rule(share=0.5), 3),
        (100, cs.Rule(share=0.29), 29),  # Decimal arithmetic: 0.29 * 100 is 29, not 28.999...
        (10, cs.Rule(share=0.3), 3),
        (10, cs.Rule(cap=4), 4),
        (3, cs.Rule(cap=4), 3),
        (2, cs.Rule(min_to_list=3), 0),
        (3, cs.Rule(min_to_list=3), 3),
        (20, cs.Rule(buffer=2, share=0.5, cap=5), 5),
        (10, cs.Rule(buffer=2, share=0.5, cap=5, min_to_list=5), 0),
    ],
)
def test_pipeline(available: int, rule: cs.Rule, shown: int) -> None:
    assert allocate(available, rule)[-1].quantity == shown


def test_steps_are_recorded() -> None:
    steps = allocate(20, cs.Rule(buffer=2, share=0.5, cap=5))
    assert [(s.step, s.quantity) for s in steps] == [
        ("available", 20),
        ("buffer", 18),
        ("share", 9),
        ("cap", 5),
    ]


def test_bundle_available_is_the_scarcest_component() -> None:
    assert bundle_available({"CUP": 2, "SAUCER": 1}, {"CUP": 9, "SAUCER": 7}) == 4
    assert bundle_available({"CUP": 2, "SAUCER": 1}, {"CUP": 9}) == 0
    assert bundle_available({"CUP": 2}, {"CUP": -1}) == -1


@pytest.mark.parametrize(
    "bad", [{"share": 1.5}, {"share": float("nan")}, {"buffer": -1}, {"cap": -2}, {"colour": 1}]
)
def test_bad_rules_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        cs.Rule.model_validate(bad)


def test_rules_per_account_and_per_sku(store: cs.Store) -> None:
    a, b, c = FakeChannel("a"), FakeChannel("b"), FakeChannel("c")
    for ch in (a, b, c):
        ch.add_listing("SKU-1", 0)
        ch.add_listing("SKU-2", 0)
    engine = cs.SyncEngine(
        store,
        [a, b, c],
        rules={"b": cs.Rule(buffer=3), ("b", "SKU-2"): cs.Rule(cap=1), "c": cs.Rule(enabled=False)},
    )
    engine.set_on_hand("SKU-1", 10)
    engine.set_on_hand("SKU-2", 10)
    engine.run_once()
    assert a.quantities == {"SKU-1": 10, "SKU-2": 10}
    assert b.quantities == {"SKU-1": 7, "SKU-2": 1}
    assert c.quantities == {"SKU-1": 0, "SKU-2": 0}  # disabled: never pushed
    assert c.calls["push_stock"] == 0
    engine.set_rule(("c", "SKU-1"), cs.Rule(share=0.5))
    engine.run_once()
    assert c.quantities == {"SKU-1": 5, "SKU-2": 0}
    steps = engine.explain("SKU-1", "b").allocation["b"]
    assert [(s.step, s.quantity) for s in steps] == [("available", 10), ("buffer", 7)]


def test_bundle_listing_shows_what_components_allow(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    for sku in ("CUP", "SAUCER", "SET"):
        shop.add_listing(sku, 0)
    engine = cs.SyncEngine(store, [shop])
    engine.set_on_hand("CUP", 9)
    engine.set_on_hand("SAUCER", 3)
    engine.define_bundle("SET", {"CUP": 2, "SAUCER": 1})
    engine.run_once()
    assert shop.quantities == {"CUP": 9, "SAUCER": 3, "SET": 3}
    shop.place_order({"CUP": 5})  # the channel lowers CUP itself
    engine.run_once()
    assert shop.quantities == {"CUP": 4, "SAUCER": 3, "SET": 2}
    assert engine.explain("SET", "shop").allocation["shop"][0].step == "bundle"


@given(
    available=st.integers(-50, 500),
    buffer=st.integers(0, 20),
    share=st.sampled_from([0.0, 0.1, 0.25, 0.29, 1 / 3, 0.5, 0.7, 0.99, 1.0]),
    cap=st.none() | st.integers(0, 100),
    min_to_list=st.integers(0, 10),
)
def test_fast_path_equals_recorded_steps(
    available: int, buffer: int, share: float, cap: int | None, min_to_list: int
) -> None:
    rule = cs.Rule(buffer=buffer, share=share, cap=cap, min_to_list=min_to_list)
    assert shown(available, rule) == allocate(available, rule)[-1].quantity
