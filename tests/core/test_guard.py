"""The guard's decisions on their own: never above what the channel itself sold allows."""

from __future__ import annotations

import pytest

from channelsync.core.guard import Facts, judge


def test_a_drop_the_ledger_cannot_explain_pulls_orders_first() -> None:
    # Amazon sold 5 of 20 before the engine read the order; a receipt of 1 booked meanwhile.
    first = judge(Facts("A", desired=21, expected=20, shown=15), pulled=False)
    assert (first.action, first.quantity, first.unseen) == ("pull", None, 5)


def test_after_the_pull_unfound_sales_come_off_the_value_sent() -> None:
    verdict = judge(Facts("A", desired=21, expected=20, shown=15), pulled=True)
    assert (verdict.action, verdict.quantity, verdict.unseen) == ("push", 16, 5)


def test_when_the_pull_found_the_order_nothing_is_left_unseen() -> None:
    # The ledger applied the 5 units: desired 16, expected lowered to 15 by the sale.
    verdict = judge(Facts("A", desired=16, expected=15, shown=15), pulled=True)
    assert (verdict.action, verdict.quantity, verdict.unseen) == ("push", 16, 0)


def test_remembered_unseen_units_keep_coming_off_until_the_orders_are_read() -> None:
    verdict = judge(Facts("A", desired=21, expected=16, shown=16, unseen=5), pulled=False)
    assert (verdict.action, verdict.quantity) == ("push", 16)


def test_an_unsettled_read_is_never_taken_as_the_truth() -> None:
    # Amazon answered ACCEPTED to 20 a minute ago and still reads back the old 12.
    up = judge(Facts("A", desired=25, expected=20, shown=12, settled=False), pulled=False)
    assert (up.action, up.quantity) == ("hold", None)
    down = judge(Facts("A", desired=18, expected=20, shown=12, settled=False), pulled=False)
    assert (down.action, down.quantity, down.unseen) == ("push", 18, 0)


def test_without_a_read_increases_wait_and_decreases_go_out() -> None:
    assert judge(Facts("E", desired=9, expected=7, shown=None), pulled=False).action == "hold"
    assert judge(Facts("E", desired=0, expected=7, shown=None), pulled=False).quantity == 0
    # Never acknowledged: nothing to protect yet.
    assert judge(Facts("E", desired=9, expected=None, shown=None), pulled=False).quantity == 9


@pytest.mark.parametrize(
    ("desired", "expected", "shown", "unseen"),
    [(21, 20, 15, 0), (3, 10, 0, 2), (50, 40, 39, 7), (0, 5, 1, 0), (8, 8, 8, 0)],
)
def test_never_above_desired_less_every_unit_the_channel_sold(
    desired: int, expected: int, shown: int, unseen: int
) -> None:
    facts = Facts("X", desired=desired, expected=expected, shown=shown, unseen=unseen)
    verdict = judge(facts, pulled=True)
    sold_there = unseen + max(0, expected - shown)
    assert verdict.action == "push"
    assert verdict.quantity == max(0, desired - sold_there)
