"""``core/planner.py``: rules per account, SKU and location, and the desired quantities."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from tests.core.parts import build

import channelsync as cs
from channelsync.core import schema as t
from channelsync.core.allocation import AllocationStep
from channelsync.core.errors import InvalidInput
from channelsync.core.planner import RuleBook


def test_the_most_specific_rule_applies() -> None:
    book = RuleBook(
        {
            "shop": cs.Rule(buffer=1),
            ("shop", "MUG"): cs.Rule(buffer=2),
            ("shop", None, "berlin"): cs.Rule(buffer=3),
            ("shop", "MUG", "berlin"): cs.Rule(buffer=4),
        }
    )
    assert book.rule("shop", "TEE").buffer == 1
    assert book.rule("shop", "MUG").buffer == 2
    assert book.rule("shop", "TEE", "berlin").buffer == 3
    assert book.rule("shop", "MUG", "berlin").buffer == 4
    assert book.rule("shop", "MUG", "hamburg").buffer == 2  # no rule at hamburg: the SKU's
    assert book.rule("other", "MUG") == cs.Rule()
    assert book.accounts() == {"shop"}


@pytest.mark.parametrize(
    ("key", "rule", "error", "message"),
    [
        ("", cs.Rule(), ValueError, "must be an account name"),
        (("shop",), cs.Rule(), ValueError, r"must be \(account, sku\)"),
        (("shop", "", "berlin"), cs.Rule(), ValueError, "the SKU must be a string or None"),
        ("shop", {"buffer": 1}, InvalidInput, "must be a channelsync.Rule"),
    ],
)
def test_bad_rule_keys_are_refused(key: Any, rule: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        RuleBook().put(key, rule)


def test_each_listing_gets_its_accounts_rule_with_the_steps(store: cs.Store, clock: Any) -> None:
    core = build(store, clock, rules={"a": cs.Rule(buffer=2), "b": cs.Rule(share=0.5, cap=3)})
    core.list("a", {"MUG": 0})
    core.list("b", {"MUG": 0})
    core.count({"MUG": 10})
    with store.read() as conn:
        found = {d.account: d for d in core.planner.desired(conn, ["MUG"])}
    assert (found["a"].quantity, found["b"].quantity) == (8, 3)
    assert found["b"].steps == (
        AllocationStep("available", "ledger: on_hand - committed", 10),
        AllocationStep("share", "x 0.5, rounded down", 5),
        AllocationStep("cap", "at most 3", 3),
    )
    with store.read() as conn:
        fast = core.planner.desired(conn, ["MUG"], ["b"], steps=False)
    assert [(d.account, d.quantity, d.steps) for d in fast] == [("b", 3, ())]


def test_listings_that_get_no_push_say_why(store: cs.Store, clock: Any) -> None:
    core = build(store, clock, rules={("a", "OFF"): cs.Rule(enabled=False)})
    core.list("a", {"NEW": 4, "OFF": 1})
    core.list("a", {"FBA": 9}, fulfilled_by="channel")
    core.list("a", {"LOOSE": 2}, manages_stock=False)
    core.count({"OFF": 5, "FBA": 5, "LOOSE": 5})
    with store.read() as conn:
        reasons = {
            d.sku: (d.quantity, d.reason)
            for d in core.planner.desired(conn, ["NEW", "OFF", "FBA", "LOOSE"])
        }
    assert reasons == {
        "NEW": (None, "SKU not counted yet (set_on_hand/adjust)"),
        "OFF": (None, "rule disabled"),
        "FBA": (None, "fulfilled by the channel (its stock, not ours)"),
        "LOOSE": (None, "listing does not manage stock"),
    }


def test_a_bundle_shows_what_its_scarcest_component_allows(store: cs.Store, clock: Any) -> None:
    core = build(store, clock)
    core.list("a", {"KIT": 0})
    store.run(
        lambda conn: conn.execute(
            sa.insert(t.bundles),
            [
                {"bundle_sku": "KIT", "component_sku": "CUP", "quantity": 2},
                {"bundle_sku": "KIT", "component_sku": "LID", "quantity": 1},
            ],
        )
    )
    core.count({"CUP": 7, "LID": 5})  # 7 // 2 = 3 kits by cups, 5 by lids
    with store.read() as conn:
        affected, bundles = core.planner.expand(conn, ["CUP"])
        (kit,) = core.planner.desired(conn, ["CUP"])
    assert affected == {"CUP", "KIT"}
    assert bundles == {"KIT": {"CUP": 2, "LID": 1}}
    assert (kit.sku, kit.quantity) == ("KIT", 3)
    assert kit.steps[0] == AllocationStep("bundle", "CUP: 7//2, LID: 5//1", 3)


def test_recompute_writes_only_what_changed(store: cs.Store, clock: Any) -> None:
    core = build(store, clock, rules={"a": cs.Rule(buffer=1)})
    core.list("a", {"MUG": 6, "TEE": 2})
    core.count({"MUG": 10, "TEE": 2})  # recomputes inside the count's transaction
    # New rows start acknowledged at what the listing showed (diff-only from the start).
    assert core.outbox_rows("a") == [("MUG", 9, 6, False), ("TEE", 1, 2, False)]
    assert store.run(lambda conn: core.planner.recompute(conn, ["MUG", "TEE"])) == 0
    core.rules.put(("a", "TEE"), cs.Rule(buffer=0))
    assert store.run(lambda conn: core.planner.recompute(conn, ["MUG", "TEE"])) == 1
    assert core.outbox_rows("a") == [("MUG", 9, 6, False), ("TEE", 2, 2, False)]
    assert store.run(lambda conn: core.planner.recompute(conn, [])) == 0
