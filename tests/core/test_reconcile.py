"""``core/reconcile.py``: comparing what a channel shows with the ledger, and corrections."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from tests.core.parts import Core, build

import channelsync as cs
from channelsync.core import schema as t
from channelsync.core.reconcile import queue_corrections, reconcile
from channelsync.core.results import Drift
from channelsync.testing import FakeChannel


@pytest.fixture
def core(store: cs.Store, clock: Any) -> Core:
    return build(store, clock, rules={"shop": cs.Rule(buffer=1)})


def _shop(core: Core) -> tuple[FakeChannel, Any]:
    shop = FakeChannel("shop")
    for sku, qty in {"MUG": 9, "TEE": 4, "CAP": 2}.items():
        shop.add_listing(sku, qty)
    lane = core.lane(shop)
    lane.import_listings()
    core.count({"MUG": 10, "TEE": 5})  # CAP never counted
    return shop, lane


def test_a_channel_showing_the_ledgers_figures_is_in_sync(core: Core) -> None:
    _, lane = _shop(core)
    result = reconcile(lane)
    assert (result.listings, result.in_sync, result.drift) == (3, 2, [])
    assert result.skipped == {"CAP": "SKU not counted yet (set_on_hand/adjust)"}
    assert (result.not_imported, result.gone, result.error) == ([], [], None)


def test_drift_new_and_vanished_listings_are_reported(core: Core) -> None:
    shop, lane = _shop(core)
    shop.quantities["MUG"] = 15  # edited in the channel's back office
    shop.add_listing("NEW", 3)  # listed after the import
    del shop.quantities["TEE"]  # delisted
    seen: list[int] = []
    result = reconcile(lane, progress=seen.append)
    assert seen == [1, 2, 3]
    assert result.drift == [Drift("shop", "MUG", 15, 9, 9)]
    assert result.drift[0].difference == 6
    assert (result.not_imported, result.gone) == (["NEW"], ["TEE"])
    assert core.outbox_rows("shop")[0] == (
        "MUG",
        9,
        9,
        False,
    )  # a scan writes nothing (CAP: no row)


def test_queued_corrections_push_the_ledgers_figure_against_what_is_shown(core: Core) -> None:
    shop, lane = _shop(core)
    shop.quantities["MUG"] = 15
    result = reconcile(lane)
    assert queue_corrections(lane, result.drift, core.ledger, source="test") == 1
    assert core.outbox_rows("shop")[0] == ("MUG", 9, 15, True)
    with core.store.read() as conn:  # journalled: who, from what to what; no figure moved
        row = conn.execute(
            sa.select(t.journal.c.reason, t.journal.c.source, t.journal.c.d_on_hand).where(
                t.journal.c.sku == "MUG", t.journal.c.reason == "reconcile"
            )
        ).one()
    assert tuple(row) == ("reconcile", "test", 0)
    report = cs.AccountReport(account="shop", kind="fake")
    assert lane.push_stock(report) == 0  # no conflicts
    assert (report.pushes_ok, report.pushes_failed) == (1, 0)
    assert shop.quantities["MUG"] == 9
    assert reconcile(lane).drift == []


def test_corrections_of_another_account_or_unknown_figures_queue_nothing(core: Core) -> None:
    _, lane = _shop(core)
    other = [Drift("elsewhere", "MUG", 3, 9, 9), Drift("shop", "MUG", None, 9, 9)]
    assert queue_corrections(lane, other, core.ledger) == 0


def test_a_channel_error_is_reported_not_raised(core: Core) -> None:
    shop, lane = _shop(core)
    shop.fail("fetch_listings", cs.AuthError("token revoked"), times=5)
    result = reconcile(lane)
    assert result.error == "AuthError: token revoked"
    assert result.drift == []
