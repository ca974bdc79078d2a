"""``core/outbox.py``: desired values, claims, acknowledgements, failures and corrections."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from tests.core.parts import Core, build

import channelsync as cs
from channelsync.core import schema as t
from channelsync.core.outbox import ChannelMove, backoff

LEASE = timedelta(seconds=30)


@pytest.fixture
def core(store: cs.Store, clock: Any) -> Core:
    core = build(store, clock)
    core.list("shop", {"MUG": 5, "TEE": 3, "CAP": 0})
    return core


def _desired(core: Core, values: dict[str, int]) -> int:
    return core.store.run(lambda conn: core.outbox.set_desired(conn, "shop", values))


def test_set_desired_starts_at_what_the_channel_showed(core: Core) -> None:
    assert _desired(core, {"MUG": 5, "TEE": 7}) == 2
    assert core.outbox_rows("shop") == [("MUG", 5, 5, False), ("TEE", 7, 3, False)]
    assert _desired(core, {"MUG": 5, "TEE": 7}) == 0  # nothing changed
    assert _desired(core, {"TEE": 4}) == 1
    assert core.outbox_rows("shop") == [("MUG", 5, 5, False), ("TEE", 4, 3, False)]


def test_a_claim_takes_only_pending_rows_and_an_ack_settles_them(core: Core) -> None:
    _desired(core, {"MUG": 5, "TEE": 7, "CAP": 2})
    claim = core.outbox.claim_stock("shop", 10, LEASE)
    assert [(p.sku, p.desired, p.acked) for p in claim.items] == [("CAP", 2, 0), ("TEE", 7, 3)]
    assert claim.items[0].listing is not None
    assert claim.items[0].listing.listing_id == "shop-CAP"
    # Leased: a second pusher gets nothing until the lease runs out.
    assert not core.outbox.claim_stock("shop", 10, LEASE)
    assert core.outbox.ack_stock(claim, [("CAP", 2), ("TEE", 7)]) == [("CAP", ""), ("TEE", "")]
    assert core.outbox_rows("shop") == [
        ("CAP", 2, 2, False),
        ("MUG", 5, 5, False),
        ("TEE", 7, 7, False),
    ]
    assert not core.outbox.claim_stock("shop", 10, LEASE)


def test_an_expired_lease_passes_the_rows_on_and_the_old_ack_is_ignored(
    core: Core, clock: Any
) -> None:
    _desired(core, {"TEE": 7})
    first = core.outbox.claim_stock("shop", 10, LEASE)
    clock.advance(31)
    second = core.outbox.claim_stock("shop", 10, LEASE)
    assert [p.sku for p in second.items] == ["TEE"]
    assert core.outbox.ack_stock(first, [("TEE", 7)]) == []  # not its rows any more
    assert core.outbox_rows("shop") == [("TEE", 7, 3, False)]
    assert core.outbox.ack_stock(second, [("TEE", 7)]) == [("TEE", "")]


def test_a_failure_backs_off_and_a_lost_compare_and_set_takes_the_channels_figure(
    core: Core, clock: Any
) -> None:
    _desired(core, {"MUG": 9, "TEE": 7})
    claim = core.outbox.claim_stock("shop", 10, LEASE)
    core.outbox.fail_stock(
        claim, [("MUG", "HTTP 503", None, None), ("TEE", "compare-and-set lost", None, 6)]
    )
    o = t.outbox.c
    with core.store.read() as conn:
        rows = {
            r.sku: r
            for r in conn.execute(sa.select(o.sku, o.attempts, o.last_error, o.next_attempt_at))
        }
    assert (rows["MUG"].attempts, rows["MUG"].last_error) == (1, "HTTP 503")
    assert backoff(1) == timedelta(seconds=5)
    due = rows["MUG"].next_attempt_at
    assert due.replace(tzinfo=UTC) == clock() + timedelta(seconds=5)  # SQLite drops the zone
    assert core.outbox_rows("shop")[1] == ("TEE", 7, 6, False)  # compare against 6 next
    assert not core.outbox.claim_stock("shop", 10, LEASE)  # both wait 5 s
    clock.advance(5)
    assert sorted(p.sku for p in core.outbox.claim_stock("shop", 10, LEASE).items) == [
        "MUG",
        "TEE",
    ]


def test_a_sale_on_the_channel_lowers_what_it_is_known_to_show(core: Core, clock: Any) -> None:
    _desired(core, {"MUG": 5, "TEE": 3})
    claim = core.outbox.claim_stock("shop", 10, LEASE)
    assert not claim  # both already show what they should
    clock.advance(1)
    core.store.run(
        lambda conn: core.outbox.channel_moved(
            conn,
            "shop",
            {
                "MUG": [ChannelMove(2, clock(), unsure=False)],
                "TEE": [ChannelMove(-1, clock(), unsure=True)],
            },
        )
    )
    # MUG: the shop took 2 off by itself (5 -> 3); TEE: an unsure restock makes it stale.
    assert core.outbox_rows("shop") == [("MUG", 5, 3, False), ("TEE", 3, 4, True)]
    pending = core.outbox.claim_stock("shop", 10, LEASE)
    assert [(p.sku, p.desired, p.acked) for p in pending.items] == [("MUG", 5, 3), ("TEE", 3, 4)]


def test_correct_makes_a_drifted_row_due_against_what_the_channel_shows(core: Core) -> None:
    _desired(core, {"MUG": 5})
    assert core.store.run(lambda conn: core.outbox.correct(conn, "shop", {"MUG": 11})) == 1
    assert core.outbox_rows("shop") == [("MUG", 5, 11, True)]
    assert core.store.run(lambda conn: core.outbox.correct(conn, "shop", {"NOPE": 1})) == 0
    claim = core.outbox.claim_stock("shop", 10, LEASE)
    assert [(p.sku, p.desired, p.acked) for p in claim.items] == [("MUG", 5, 11)]


def test_forget_drops_the_rows_of_listings_that_are_gone(core: Core) -> None:
    _desired(core, {"MUG": 5, "TEE": 1})
    core.store.run(lambda conn: core.outbox.forget(conn, "shop", ["TEE"]))
    assert [row[0] for row in core.outbox_rows("shop")] == ["MUG"]
