"""One rule for SKUs and 64-bit quantities on every store, adjust below zero only when
asked, argument types checked by every public method, and reconcile's corrections
journalled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from tests.core.helpers import line, make_order

import channelsync as cs
from channelsync.core import schema as t
from channelsync.core.errors import InvalidInput
from channelsync.core.models import MAX_QUANTITY, MAX_SKU_LENGTH, Listing, check_sku
from channelsync.testing import FakeChannel


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[cs.Store]:
    """The same test on a SQLite file and on PostgreSQL (skipped without its URL)."""
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
    store = cs.open_store(url)
    yield store
    store.close()


BAD_SKUS = [
    (" MUG-1", "surrounding whitespace"),
    ("MUG-1\n", "surrounding whitespace"),
    ("MUG\t1", "control character U\\+0009"),
    ("X\x00", "control character U\\+0000"),
    ("A\u2028B", "control character U\\+2028"),
    ("M" * (MAX_SKU_LENGTH + 1), "256 characters: a SKU has at most 255"),
    ("M" * 10_000_000, "10000000 characters"),
    ("", "non-empty"),
    (5, "must be a string, got int"),
    (None, "must be a string, got NoneType"),
]


@pytest.mark.parametrize(("sku", "message"), BAD_SKUS, ids=[repr(s)[:20] for s, _ in BAD_SKUS])
def test_the_sku_rule_refuses_and_names_it_on_every_store(
    any_store: cs.Store, sku: Any, message: str
) -> None:
    engine = cs.SyncEngine(any_store)
    calls = [
        lambda: engine.set_on_hand(sku, 1),
        lambda: engine.set_on_hand_many({sku: 1}),
        lambda: engine.adjust(sku, 1, "receipt"),
        lambda: engine.adjust_many({sku: 1}, "receipt"),
        lambda: engine.transfer(sku, 1, "a", "b"),
        lambda: engine.define_bundle(sku, {"A": 1}),
        lambda: engine.define_bundle("SET", {sku: 1}),
        lambda: engine.set_cost(sku, cs.Money.of("1.00", "EUR")),
        lambda: engine.set_price(sku, cs.Money.of("1.00", "EUR")),
        lambda: engine.stock(sku),
        lambda: engine.explain(sku),
    ]
    for call in calls:
        with pytest.raises(InvalidInput, match=message):
            call()
    with any_store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.journal)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(t.ledger)).scalar() == 0


@pytest.mark.parametrize(
    ("sku", "message"), BAD_SKUS[2:6], ids=[repr(s)[:20] for s, _ in BAD_SKUS[2:6]]
)
def test_channel_models_hold_the_same_rule(sku: str, message: str) -> None:
    """What a channel sends is refused by the same rule (the adapter records the order as a
    failure, the stream goes on), except surrounding whitespace, which the models have
    always stripped from channel data: a channel's "MUG-1 " is the ledger's "MUG-1"."""
    with pytest.raises(ValidationError, match=message):
        line(sku=sku)
    with pytest.raises(ValidationError, match=message):
        Listing(kind="fake", account="a", sku=sku, listing_id="1")
    assert line(sku=" MUG-1\n").sku == "MUG-1"
    assert Listing(kind="fake", account="a", sku="MUG-1 ", listing_id="1").sku == "MUG-1"


def test_the_longest_sku_and_unicode_skus_are_kept_on_every_store(any_store: cs.Store) -> None:
    engine = cs.SyncEngine(any_store)
    longest = "L" * MAX_SKU_LENGTH
    for sku in (longest, "Tasse-blau-ÄÖÜ", "マグカップ-1", "MUG 1 (blue)"):
        assert check_sku(sku) == sku
        engine.set_on_hand(sku, 3)
        assert engine.stock(sku).on_hand == 3
    engine.record_order(make_order(lines=[line(sku=longest, qty=2)]))
    assert engine.stock(longest).committed == 2


def test_quantities_are_64_bit_on_every_store(any_store: cs.Store) -> None:
    engine = cs.SyncEngine(any_store)
    engine.set_on_hand("BIG", 2**31)  # PostgreSQL's INTEGER ended at 2**31 - 1
    assert engine.stock("BIG").on_hand == 2**31
    engine.set_on_hand("MAX", MAX_QUANTITY)
    assert engine.stock("MAX").on_hand == 2**63 - 1
    engine.record_order(make_order(lines=[line(sku="MAX", qty=2**40)]))
    assert engine.stock("MAX").committed == 2**40
    assert engine.stock("MAX").available == 2**63 - 1 - 2**40
    with pytest.raises(InvalidInput, match="beyond the 64-bit range"):
        engine.set_on_hand("BIG", 2**63)
    with pytest.raises(InvalidInput, match="beyond the 64-bit range"):
        engine.adjust("BIG", -(2**63), "x", allow_negative=True)
    with pytest.raises(InvalidInput, match="would leave the 64-bit range"):
        engine.adjust("MAX", 1, "one more")
    assert engine.stock("MAX").on_hand == 2**63 - 1  # nothing of the refused call applied
    assert engine.stock("BIG").on_hand == 2**31
    with pytest.raises(ValidationError, match="64-bit"):
        line(sku="MAX", qty=2**63)


def test_adjust_below_zero_is_refused_unless_allowed_and_then_journalled(
    store: cs.Store,
) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand("MUG", 2)
    with pytest.raises(InvalidInput, match="from 2 to -3: below zero is refused"):
        engine.adjust("MUG", -5, "damage")
    with pytest.raises(InvalidInput, match="'MUG' by -5"):
        engine.adjust_many({"MUG": -5, "CUP": 4}, "damage")
    assert engine.stock("MUG").on_hand == 2
    assert engine.stock("CUP").tracked is False  # the batch was refused whole
    assert engine.adjust("MUG", -2, "damage").on_hand == 0  # down to zero is fine
    view = engine.adjust("MUG", -3, "found broken", allow_negative=True, idempotency_key="k")
    assert view.on_hand == -3
    last = engine.explain("MUG").entries[-1]
    assert (last.reason, last.note, last.d_on_hand, last.on_hand_after) == (
        "adjust (below zero allowed)",
        "found broken",
        -3,
        -3,
    )
    # The allowance is part of the key's payload: the same key without it is another call.
    with pytest.raises(cs.IdempotencyConflict):
        engine.adjust("MUG", -3, "found broken", idempotency_key="k")
    assert engine.adjust("MUG", -3, "found broken", allow_negative=True, idempotency_key="k")
    assert engine.stock("MUG").on_hand == -3


def test_adjust_below_zero_counts_per_location(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand("MUG", 5, location="berlin")
    with pytest.raises(InvalidInput, match="at 'hamburg' would take on hand from 0 to -1"):
        engine.adjust("MUG", -1, "damage", location="hamburg")
    assert engine.adjust("MUG", -1, "damage", location="berlin").at("berlin").on_hand == 4


WRONG_TYPES: list[tuple[str, Any, str]] = [
    ("adjust reason", lambda e: e.adjust("A", 1, 5), "reason must be a string"),
    ("adjust delta", lambda e: e.adjust("A", "5", "x"), "must be a whole number, got str"),
    ("adjust flag", lambda e: e.adjust("A", 1, "x", allow_negative="yes"), "True or False"),
    ("set_on_hand float", lambda e: e.set_on_hand("A", 1.0), "whole number, got float"),
    ("counts list", lambda e: e.set_on_hand_many([("A", 1)]), "mapping of SKU to units"),
    ("set_price int", lambda e: e.set_price("A", 5), "price must be a channelsync.Money"),
    ("set_cost str", lambda e: e.set_cost("A", "1.00"), "cost must be a channelsync.Money"),
    ("set_cost title", lambda e: e.set_cost("A", cs.Money.of("1", "EUR"), title=3), "title"),
    ("set_price accounts", lambda e: e.set_price("A", cs.Money.of("1", "EUR"), "shop"), "list"),
    ("bundle components", lambda e: e.define_bundle("S", ["A"]), "components must be"),
    ("bundle qty", lambda e: e.define_bundle("S", {"A": 1.5}), "whole number, got float"),
    ("set_rule", lambda e: e.set_rule("shop", 5), "must be a channelsync.Rule"),
    ("set_rule key", lambda e: e.set_rule(5, cs.Rule()), "rule key 5"),
    ("record_order", lambda e: e.record_order({"id": 1}), "each order of record_orders"),
    ("record_orders", lambda e: e.record_orders(make_order()), "takes a list"),
    ("order id", lambda e: e.order("shop", 5), "order_id must be a string"),
    ("ship", lambda e: e.ship("shop", "1", {"carrier": "DHL"}), "channelsync.Shipment"),
    ("ship id", lambda e: e.ship("shop", 1, cs.Shipment(carrier="DHL")), "order_id"),
    ("account list", lambda e: e.channel(["shop"]), "account must be a string"),
    ("cancel reason", lambda e: e.cancel("shop", "1", reason=None), "reason must be"),
    ("refund amount", lambda e: e.refund("shop", "1", amount=5, reason="x"), "amount"),
    ("return lines", lambda e: e.record_return("shop", "1", [1]), "lines must be"),
    ("orders limit", lambda e: e.orders(limit="10"), "limit must be"),
    ("orders status", lambda e: e.orders(status=["bogus"]), "'bogus' is not one of"),
    ("orders status str", lambda e: e.orders(status="open"), "list of strings"),
    ("orders since", lambda e: e.orders(since=datetime(2026, 1, 1)), "aware datetime"),
    ("shipments", lambda e: e.shipments(status="pending"), "list of strings"),
    ("operations", lambda e: e.operations(account=3), "account must be"),
    ("coverage", lambda e: e.coverage("shop"), "accounts must be a list"),
    ("webhook body", lambda e: e.receive_webhook("shop", {}, "{}"), "delivery's bytes"),
    ("webhook headers", lambda e: e.receive_webhook("shop", [], b"{}"), "headers must be"),
    ("reconcile fix", lambda e: e.reconcile("shop", fix="yes"), "fix must be True or False"),
    ("corrections", lambda e: e.corrections(limit=0), "limit must be"),
    ("stock", lambda e: e.stock(5), "SKU must be a string, got int"),
    ("privacy ids", lambda e: e.privacy.redact(customer_ids="c-1"), "customer_ids must be"),
    ("privacy emails", lambda e: e.privacy.export(emails=[5]), "each of emails must be"),
    ("retention", lambda e: e.privacy.redact_older_than(30), "positive timedelta"),
    ("reviews after", lambda e: e.review_requests_due(after=7), "after must be a timedelta"),
    ("reviews sent", lambda e: e.mark_review_requests_sent(["1"]), "pair, got .1."),
    ("apply_inbox ids", lambda e: e.apply_inbox("shop", ["a"]), "each inbox id"),
    ("import accounts", lambda e: e.import_listings("shop"), "accounts must be a list"),
    ("run_forever", lambda e: e.run_forever(poll_interval="1"), "poll_interval must be"),
    ("accept cancel", lambda e: e.accept_cancel_request("shop", None), "order_id must be"),
    ("explain account", lambda e: e.explain("A", 5), "account must be a string"),
]


@pytest.mark.parametrize(
    ("what", "call", "message"), WRONG_TYPES, ids=[w for w, _, _ in WRONG_TYPES]
)
def test_public_methods_refuse_wrong_arguments_with_a_channelsync_error(
    store: cs.Store, what: str, call: Any, message: str
) -> None:
    engine = cs.SyncEngine(store, [FakeChannel("shop")])
    with pytest.raises(InvalidInput, match=message):
        call(engine)
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.journal)).scalar() == 0


def test_explain_says_whether_the_sku_is_known(store: cs.Store) -> None:
    shop = FakeChannel("shop")
    shop.add_listing("LISTED", 0)
    engine = cs.SyncEngine(store, [shop])
    engine.import_listings()
    engine.set_on_hand("COUNTED", 0)
    engine.define_bundle("SET", {"COUNTED": 1})
    assert engine.explain("NO-SUCH-SKU").known is False
    assert [engine.explain(s).known for s in ("LISTED", "COUNTED", "SET")] == [True] * 3


def test_reconcile_fix_journals_each_correction(store: cs.Store, clock: Any) -> None:
    shop = FakeChannel("shop", compare_and_set=True)
    for sku in ("A", "B", "C"):
        shop.add_listing(sku, 0)
    engine = cs.SyncEngine(store, [shop], clock=clock)
    engine.set_on_hand_many({"A": 5, "B": 7, "C": 1})
    engine.record_order(make_order(lines=[line(sku="A", qty=1)]))
    engine.run_once()
    shop.quantities["A"] = 40
    shop.quantities["B"] = 0
    clock.advance(60)
    fixed_at = clock()
    result = engine.reconcile("shop", fix=True, source="cli:anna")
    assert result.queued == 2
    a_rows = [e for e in engine.explain("A").entries if e.reason == "reconcile"]
    assert len(a_rows) == 1
    (a,) = a_rows
    assert (a.source, a.at, a.account, a.location) == ("cli:anna", fixed_at, "shop", "")
    assert (a.d_on_hand, a.d_committed, a.on_hand_after, a.committed_after) == (0, 0, 5, 1)
    assert a.note == "shop showed 40, set to 4 (last acknowledged 4)"
    history = engine.corrections()
    assert [(e.sku, e.note) for e in history] == [
        ("B", "shop showed 0, set to 7 (last acknowledged 7)"),
        ("A", "shop showed 40, set to 4 (last acknowledged 4)"),
    ]
    assert engine.corrections("other") == []
    assert engine.stock("A").on_hand == 5  # a correction changes no figure
    engine.run_once()
    assert (shop.quantities["A"], shop.quantities["B"]) == (4, 7)
    assert engine.reconcile("shop", fix=True).queued == 0
    assert len(engine.corrections()) == 2
