"""Stock semantics (DESIGN.md): every order-line transition changes the ledger once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from tests.core.helpers import line, make_order

import channelsync as cs
from channelsync import OrderStatus as S


@pytest.fixture
def store(db_store: cs.Store) -> cs.Store:
    """Every test here runs on SQLite and on PostgreSQL (``db_url`` in tests/conftest.py)."""
    return db_store


@dataclass(frozen=True)
class Case:
    name: str
    versions: list[cs.Order]
    on_hand: int
    committed: int


SHIPPED_ALL = line(qty=2, quantity_shipped=2)

CASES = [
    Case("open line commits", [make_order(status=S.OPEN)], 10, 2),
    Case("pending line commits", [make_order(status=S.PENDING)], 10, 2),
    Case("quantity edited up", [make_order(), make_order(lines=[line(qty=3)], minute=1)], 10, 3),
    Case("quantity edited down", [make_order(), make_order(lines=[line(qty=1)], minute=1)], 10, 1),
    Case(
        "cancelled before shipping releases",
        [make_order(), make_order(status=S.CANCELLED, minute=1)],
        10,
        0,
    ),
    Case(
        "refunded before shipping releases",
        [make_order(), make_order(status=S.REFUNDED, minute=1)],
        10,
        0,
    ),
    Case(
        "shipped leaves the warehouse",
        [make_order(), make_order(status=S.SHIPPED, lines=[SHIPPED_ALL], minute=1)],
        8,
        0,
    ),
    Case(
        "shipped status alone ships every live unit",
        [make_order(), make_order(status=S.SHIPPED, minute=1)],
        8,
        0,
    ),
    Case(
        "partial shipment",
        [
            make_order(lines=[line(qty=3)]),
            make_order(
                status=S.PARTIALLY_SHIPPED, lines=[line(qty=3, quantity_shipped=1)], minute=1
            ),
        ],
        9,
        2,
    ),
    Case(
        "partial then complete",
        [
            make_order(lines=[line(qty=3)]),
            make_order(
                status=S.PARTIALLY_SHIPPED, lines=[line(qty=3, quantity_shipped=1)], minute=1
            ),
            make_order(status=S.SHIPPED, lines=[line(qty=3, quantity_shipped=3)], minute=2),
        ],
        7,
        0,
    ),
    Case("first seen cancelled changes nothing", [make_order(status=S.CANCELLED)], 10, 0),
    Case("first seen shipped only lowers on_hand", [make_order(status=S.SHIPPED)], 8, 0),
    Case(
        "refund after shipping does not restock",
        [
            make_order(status=S.SHIPPED),
            make_order(status=S.REFUNDED, lines=[SHIPPED_ALL], minute=1),
        ],
        8,
        0,
    ),
    Case(
        "channel-fulfilled (FBA) line changes nothing",
        [make_order(lines=[line(fulfilled_by_channel=True)])],
        10,
        0,
    ),
    Case("custom line without SKU changes nothing", [make_order(lines=[line(sku=None)])], 10, 0),
    Case(
        "line removed from the order is released",
        [
            make_order(lines=[line(), line("L2", "SKU-1", 1)]),
            make_order(lines=[line("L2", "SKU-1", 1)], minute=1),
        ],
        10,
        1,
    ),
    Case("line-level cancellation", [make_order(lines=[line(qty=3, quantity_cancelled=1)])], 10, 2),
    Case(
        "older version arriving late is ignored",
        [make_order(status=S.CANCELLED, minute=5), make_order(minute=1)],
        10,
        0,
    ),
    Case(
        "stale open version after shipping is ignored",
        [make_order(), make_order(status=S.SHIPPED, minute=3), make_order(minute=2)],
        8,
        0,
    ),
    Case("same state five times", [make_order()] * 5, 10, 2),
    Case(
        "cancelled after partial shipment keeps shipped units out",
        [
            make_order(lines=[line(qty=3)]),
            make_order(
                status=S.PARTIALLY_SHIPPED, lines=[line(qty=3, quantity_shipped=1)], minute=1
            ),
            make_order(
                status=S.CANCELLED,
                lines=[line(qty=3, quantity_shipped=1, quantity_cancelled=2)],
                minute=2,
            ),
        ],
        9,
        0,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_order_transitions(store: cs.Store, case: Case) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand("SKU-1", 10)
    for version in case.versions:
        engine.record_order(version)
    view = engine.stock("SKU-1")
    assert (view.on_hand, view.committed) == (case.on_hand, case.committed)
    # The journal adds up to the figures.
    entries = engine.explain("SKU-1").entries
    assert sum(e.d_on_hand for e in entries) == case.on_hand
    assert sum(e.d_committed for e in entries) == case.committed


def test_set_on_hand_and_adjust_are_journalled(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand("SKU-1", 10, note="stock take")
    engine.adjust("SKU-1", 5, "receipt PO-7")
    engine.adjust("SKU-1", -2, "damaged in storage")
    engine.record_order(make_order())
    engine.set_on_hand("SKU-1", 12)
    ex = engine.explain("SKU-1")
    assert [
        (e.reason, e.d_on_hand, e.d_committed, e.on_hand_after, e.committed_after)
        for e in ex.entries
    ] == [
        ("set_on_hand", 10, 0, 10, 0),
        ("adjust", 5, 0, 15, 0),
        ("adjust", -2, 0, 13, 0),
        ("order open", 0, 2, 13, 2),
        ("set_on_hand", -1, 0, 12, 2),
    ]
    assert [e.note for e in ex.entries][:3] == ["stock take", "receipt PO-7", "damaged in storage"]
    assert ex.entries[3].source == "shop/1001/L1"
    assert (ex.on_hand, ex.committed, ex.available) == (12, 2, 10)


def test_caller_idempotency_key_applies_once(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand("SKU-1", 10, idempotency_key="erp-export-17")
    engine.set_on_hand("SKU-1", 10, idempotency_key="erp-export-17")
    engine.adjust("SKU-1", 4, "receipt", idempotency_key="po-1")
    engine.adjust("SKU-1", 4, "receipt", idempotency_key="po-1")
    assert engine.stock("SKU-1").on_hand == 14
    assert engine.set_on_hand_many({"A": 1, "B": 2}, idempotency_key="csv-1") == 2
    assert engine.set_on_hand_many({"B": 2, "A": 1}, idempotency_key="csv-1") == 0
    assert (engine.stock("A").on_hand, engine.stock("B").on_hand) == (1, 2)
    assert len(engine.explain("SKU-1").entries) == 2


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (lambda e: e.set_on_hand_many({"A": 1, "B": 1}, idempotency_key="m1"), "another payload"),
        (lambda e: e.set_on_hand_many({"A": 7}, idempotency_key="m1"), "another payload"),
        (lambda e: e.set_on_hand("A", 6, idempotency_key="m1"), "not set_on_hand"),
        (lambda e: e.adjust_many({"A": 6}, "x", idempotency_key="m1"), "not adjust_many"),
    ],
)
def test_a_key_reused_for_another_payload_is_refused_and_applies_nothing(
    store: cs.Store, second: object, message: str
) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand_many({"A": 6}, idempotency_key="m1")
    with pytest.raises(cs.IdempotencyConflict, match=f"'m1' was used for .*{message}") as info:
        second(engine)  # type: ignore[operator]
    assert info.value.key == "m1"
    assert (engine.stock("A").on_hand, engine.stock("B").on_hand) == (6, 0)
    assert [e.reason for e in engine.explain("A").entries] == ["set_on_hand"]
    assert engine.explain("B").entries == ()


@pytest.mark.parametrize("key", [17, b"k", "", " padded", "x" * 256, "tab\there"])
def test_idempotency_keys_are_strings_on_every_store(store: cs.Store, key: object) -> None:
    engine = cs.SyncEngine(store)
    with pytest.raises(cs.InvalidInput, match="idempotency_key"):
        engine.set_on_hand("A", 1, idempotency_key=key)  # type: ignore[arg-type]
    assert engine.explain("A").entries == ()


def test_adjust_many_is_one_transaction_with_one_reason(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand_many({"A": 1, "B": 2})
    assert engine.adjust_many({"A": 5, "B": -1}, "receipt PO-9", idempotency_key="po-9") == 2
    assert engine.adjust_many({"A": 5, "B": -1}, "receipt PO-9", idempotency_key="po-9") == 0
    with pytest.raises(cs.InvalidInput, match="delta for 'B'"):
        engine.adjust_many({"A": 1, "B": 1.5}, "x")  # type: ignore[dict-item]
    assert (engine.stock("A").on_hand, engine.stock("B").on_hand) == (6, 1)
    assert [e.note for e in engine.explain("A").entries] == [None, "receipt PO-9"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.set_on_hand("", 1), "SKU must be a non-empty string"),
        (lambda e: e.set_on_hand("A", -1), "whole number >= 0"),
        (lambda e: e.set_on_hand("A", 1.5), "must be a whole number, got float"),
        (lambda e: e.set_on_hand("A", 2**63), "beyond the 64-bit range"),
        (lambda e: e.adjust("A", 1, 5), "reason must be a string"),
        (lambda e: e.adjust("A", 1, " "), "needs a reason"),
        (lambda e: e.adjust("A", True, "x"), "whole number"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    store: cs.Store, call: object, message: str
) -> None:
    engine = cs.SyncEngine(store)
    with pytest.raises(ValueError, match=message):
        call(engine)  # type: ignore[operator]
    assert engine.explain("A").entries == ()


def test_unknown_sku_appears_with_zero_on_hand_and_is_reported(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    result = engine.record_order(make_order(lines=[line(sku="NEVER-SEEN", qty=1)]))
    assert result.unknown_skus == {"NEVER-SEEN"}
    assert result.oversold == {"NEVER-SEEN": -1}
    view = engine.stock("NEVER-SEEN")
    assert (view.on_hand, view.committed, view.available, view.tracked) == (0, 1, -1, False)


def test_oversell_is_reported(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand("SKU-1", 1)
    result = engine.record_order(make_order(lines=[line(qty=3)]))
    assert result.oversold == {"SKU-1": -2}
    assert result.unknown_skus == set()


def test_bundle_commits_components(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    engine.set_on_hand("CUP", 10)
    engine.set_on_hand("SAUCER", 7)
    engine.define_bundle("SET", {"CUP": 2, "SAUCER": 1})
    engine.record_order(make_order(lines=[line(sku="SET", qty=2)]))
    assert (engine.stock("CUP").committed, engine.stock("SAUCER").committed) == (4, 2)
    engine.record_order(make_order(status=S.SHIPPED, lines=[line(sku="SET", qty=2)], minute=1))
    assert (engine.stock("CUP").on_hand, engine.stock("CUP").committed) == (6, 0)
    assert (engine.stock("SAUCER").on_hand, engine.stock("SAUCER").committed) == (5, 0)
    assert engine.stock("SET").bundle == {"CUP": 2, "SAUCER": 1}


@pytest.mark.parametrize(
    ("components", "message"),
    [
        ({}, "at least one component"),
        ({"SET": 1}, "cannot contain itself"),
        ({"A": 0}, "positive int"),
    ],
)
def test_bad_bundles_are_refused(store: cs.Store, components: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cs.SyncEngine(store).define_bundle("SET", components)


def test_nested_bundles_are_refused(store: cs.Store) -> None:
    engine = cs.SyncEngine(store)
    engine.define_bundle("INNER", {"A": 1})
    with pytest.raises(ValueError, match="'INNER' is itself a bundle"):
        engine.define_bundle("OUTER", {"INNER": 1})


def test_same_timestamp_the_state_further_along_wins_in_any_order(store: cs.Store) -> None:
    """eBay's times do not always move on a cancellation: the cancelled state must win."""
    open_ = make_order(status=S.OPEN, minute=1)
    cancelled = make_order(status=S.CANCELLED, minute=1)
    for first, second in ((open_, cancelled), (cancelled, open_)):
        with cs.open_store("sqlite:///:memory:") as s:
            engine = cs.SyncEngine(s)
            engine.set_on_hand("SKU-1", 10)
            engine.record_order(first)
            engine.record_order(second)
            assert engine.stock("SKU-1").committed == 0
    partial = make_order(
        status=S.PARTIALLY_SHIPPED, lines=[line(qty=3, quantity_shipped=1)], minute=2
    )
    more = make_order(status=S.PARTIALLY_SHIPPED, lines=[line(qty=3, quantity_shipped=2)], minute=2)
    engine = cs.SyncEngine(store)
    engine.set_on_hand("SKU-1", 10)
    engine.record_order(more)
    engine.record_order(partial)
    assert (engine.stock("SKU-1").on_hand, engine.stock("SKU-1").committed) == (8, 1)
