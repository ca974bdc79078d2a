"""Cancel, refund and return on a Magento store through the engine and the sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import channelsync as cs
from channelsync.core.channel import (
    CancelOperation,
    RefundOperation,
    SupportsCancel,
    SupportsRefund,
    SupportsReturns,
)

ACCOUNT = "magento-main"


def engine_for(store: cs.Store, channel: Any, **stock: int) -> cs.SyncEngine:
    engine = cs.SyncEngine(store, channels=[channel])
    for sku, n in stock.items():
        engine.set_on_hand(sku, n)
    engine.run_once()
    return engine


def figures(engine: cs.SyncEngine, sku: str) -> tuple[int, int]:
    view = engine.stock(sku)
    return view.on_hand, view.committed


def line_of(fake: Any, order_id: str) -> str:
    [item] = [i for i in fake.order_json(order_id)["items"] if i.get("parent_item_id") is None]
    return str(item["item_id"])


def memo_totals(fake: Any, order_id: str) -> list[Decimal]:
    return [Decimal(str(m["base_grand_total"])) for m in fake.creditmemos_of(order_id)]


def test_the_adapter_offers_cancel_and_refund_but_no_returns_api(channel: Any) -> None:
    assert isinstance(channel, SupportsCancel)
    assert isinstance(channel, SupportsRefund)
    assert not isinstance(channel, SupportsReturns)


def test_cancel_of_an_open_order_releases_once_and_magento_shows_it_canceled(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    fake.seed_listing("M-1", quantity=0, price="12.50")
    engine = engine_for(store, channel, **{"M-1": 10})
    order_id = fake.place_order("M-1", 3)
    engine.run_once()
    assert figures(engine, "M-1") == (10, 3)
    assert (fake.quantity("M-1"), fake.reserved("M-1")) == (7, 3)
    result = engine.cancel(ACCOUNT, order_id, reason="customer_request", note="asked by mail")
    assert (result.status, result.released) == ("done", {"M-1": 3})
    assert result.reference == order_id
    order = fake.order_json(order_id)
    assert (order["state"], order["status"]) == ("canceled", "canceled")
    assert order["items"][0]["qty_canceled"] == 3
    assert order["status_histories"][0]["comment"] == "Cancelled: customer_request: asked by mail"
    assert (fake.quantity("M-1"), fake.reserved("M-1")) == (10, 0)
    assert figures(engine, "M-1") == (10, 0)
    again = engine.cancel(ACCOUNT, order_id, reason="customer_request", note="asked by mail")
    assert again.repeated
    engine.run_once()  # the canceled order comes back from Magento: nothing more moves
    assert figures(engine, "M-1") == (10, 0)


def test_partial_cancel_is_refused_with_the_way_to_do_it_and_changes_nothing(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    fake.seed_listing("M-2", quantity=0, price="5.00")
    engine = engine_for(store, channel, **{"M-2": 10})
    order_id = fake.place_order("M-2", 3)
    engine.run_once()
    line_id = line_of(fake, order_id)
    with pytest.raises(
        cs.Rejected, match=r"Magento cancels whole orders only.*refund those units with a credit"
    ):
        engine.cancel(ACCOUNT, order_id, lines={line_id: 1}, reason="out_of_stock")
    order = fake.order_json(order_id)
    assert (order["state"], order["items"][0]["qty_canceled"]) == ("new", 0)
    assert (fake.quantity("M-2"), fake.reserved("M-2")) == (7, 3)
    assert figures(engine, "M-2") == (10, 3)
    assert fake.creditmemos_of(order_id) == []


def test_cancel_lines_naming_every_open_unit_cancels_the_order(fake: Any, channel: Any) -> None:
    fake.seed_listing("M-3", quantity=5, price="5.00")
    order_id = fake.place_order("M-3", 2)
    line_id = line_of(fake, order_id)
    receipt = channel.cancel_lines(
        CancelOperation(order_id=order_id, lines={line_id: 2}, idempotency_key="k-c-3")
    )
    assert (receipt.status, receipt.reference) == ("done", order_id)
    assert fake.order_json(order_id)["state"] == "canceled"
    assert (fake.quantity("M-3"), fake.reserved("M-3")) == (5, 0)


def test_refund_of_a_returned_unit_makes_one_exact_memo_and_restocks_it(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    fake.seed_listing("M-4", quantity=0, price="24.99")
    engine = engine_for(store, channel, **{"M-4": 10})
    order_id = fake.place_order("M-4", 2, invoiced=True)  # 49.98 EUR captured
    engine.run_once()
    engine.ship(ACCOUNT, order_id, cs.Shipment(carrier="DHL", tracking_number="DHL-4"))
    assert figures(engine, "M-4") == (8, 0)
    assert fake.source_quantity("M-4") == 8
    line_id = line_of(fake, order_id)
    result = engine.refund(ACCOUNT, order_id, lines={line_id: 1}, reason="damaged", restock=True)
    assert result.status == "done"
    assert result.refund is not None
    assert result.refund.amount == cs.Money.of("24.99", "EUR")
    assert result.restocked == {"M-4": 1}
    assert figures(engine, "M-4") == (9, 0)
    [memo] = fake.creditmemos_of(order_id)
    assert Decimal(str(memo["base_grand_total"])) == Decimal("24.99")
    assert [(i["order_item_id"], i["qty"]) for i in memo["items"]] == [(int(line_id), 1)]
    assert result.reference == str(memo["entity_id"])
    assert fake.source_quantity("M-4") == 9  # returned to stock in Magento too
    order = fake.order_json(order_id)
    assert Decimal(str(order["base_total_refunded"])) == Decimal("24.99")
    # The same refund again is the engine's no-op: no second memo.
    again = engine.refund(ACCOUNT, order_id, lines={line_id: 1}, reason="damaged", restock=True)
    assert again.repeated
    assert memo_totals(fake, order_id) == [Decimal("24.99")]
    engine.run_once()
    assert figures(engine, "M-4") == (9, 0)


def test_a_refund_sent_twice_with_one_key_finds_the_first_memo(fake: Any, channel: Any) -> None:
    fake.seed_listing("M-5", quantity=5, price="24.99")
    order_id = fake.place_order("M-5", 2, invoiced=True)
    line_id = line_of(fake, order_id)
    operation = RefundOperation(
        order_id=order_id,
        amount=cs.Money.of("24.99", "EUR"),
        lines={line_id: 1},
        cancelled={line_id: 1},
        reason="out_of_stock",
        idempotency_key="crash-after-send",
    )
    first = channel.refund(operation)  # the answer is lost; the engine retries
    second = channel.refund(operation)
    assert first.reference == second.reference
    assert second.refund is not None
    assert second.refund.amount == cs.Money.of("24.99", "EUR")
    assert memo_totals(fake, order_id) == [Decimal("24.99")]
    [memo] = fake.creditmemos_of(order_id)
    assert "[channelsync:crash-after-send]" in memo["comments"][0]["comment"]
    assert fake.order_json(order_id)["items"][0]["qty_refunded"] == 1
    # The unit had not shipped: its reservation is compensated, not put back on the source.
    assert (fake.reserved("M-5"), fake.source_quantity("M-5")) == (1, 5)


def test_line_refunds_are_adjusted_to_the_exact_amount(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    fake.seed_listing("M-6", quantity=0, price="24.99")
    engine = engine_for(store, channel, **{"M-6": 10})
    order_id = fake.place_order("M-6", 2, invoiced=True)  # 49.98 EUR
    engine.run_once()
    engine.ship(ACCOUNT, order_id, cs.Shipment(carrier="DHL"))
    line_id = line_of(fake, order_id)
    less = engine.refund(
        ACCOUNT, order_id, lines={line_id: 1}, amount=cs.Money.of("20.00", "EUR"), reason="other"
    )
    assert less.refund is not None
    assert less.refund.amount == cs.Money.of("20.00", "EUR")
    more = engine.refund(
        ACCOUNT, order_id, lines={line_id: 1}, amount=cs.Money.of("29.98", "EUR"), reason="other"
    )
    assert more.refund is not None
    assert more.refund.amount == cs.Money.of("29.98", "EUR")
    # 24.99 - 4.99 (adjustment_negative), then 24.99 + 4.99 (adjustment_positive)
    assert memo_totals(fake, order_id) == [Decimal("20.00"), Decimal("29.98")]
    order = fake.order_json(order_id)
    assert Decimal(str(order["base_total_refunded"])) == Decimal("49.98")
    assert order["state"] == "closed"
    # Neither unit came back (no restock): the source keeps what shipping left.
    assert fake.source_quantity("M-6") == 8
    assert figures(engine, "M-6") == (8, 0)


def test_an_amount_only_refund_is_an_adjustment(fake: Any, channel: Any, store: cs.Store) -> None:
    fake.seed_listing("M-7", quantity=0, price="24.99")
    engine = engine_for(store, channel, **{"M-7": 4})
    order_id = fake.place_order("M-7", 2, invoiced=True)
    engine.run_once()
    result = engine.refund(ACCOUNT, order_id, amount=cs.Money.of("5.00", "EUR"), reason="other")
    assert result.refund is not None
    assert result.refund.amount == cs.Money.of("5.00", "EUR")
    [memo] = fake.creditmemos_of(order_id)
    assert (Decimal(str(memo["base_grand_total"])), memo["items"]) == (Decimal("5.00"), [])
    assert figures(engine, "M-7") == (4, 2)  # no units: still committed
    assert fake.reserved("M-7") == 2


def test_refunding_more_than_paid_is_refused_and_changes_nothing(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    fake.seed_listing("M-8", quantity=0, price="8.00")
    engine = engine_for(store, channel, **{"M-8": 5})
    order_id = fake.place_order("M-8", 2, invoiced=True)  # 16.00 EUR
    engine.run_once()
    # (Magento renders 16.00 as 16: the engine's figure comes from the order as read)
    with pytest.raises(cs.OperationRefused, match=r"paid 16 EUR .* \(at most 16 EUR left\)"):
        engine.refund(ACCOUNT, order_id, amount=cs.Money.of("16.01", "EUR"), reason="other")
    # The adapter's own guard, before anything is sent.
    too_much = RefundOperation(
        order_id=order_id,
        amount=cs.Money.of("16.01", "EUR"),
        reason="other",
        idempotency_key="too-much",
    )
    with pytest.raises(cs.Rejected, match=r"16.01 EUR is more than can be refunded \(16.00 EUR"):
        channel.refund(too_much)
    assert fake.creditmemos_of(order_id) == []
    order = fake.order_json(order_id)
    assert (order["state"], order.get("base_total_refunded", 0)) == ("processing", 0)
    assert figures(engine, "M-8") == (5, 2)


def test_a_refund_of_an_order_not_invoiced_says_to_cancel_it(fake: Any, channel: Any) -> None:
    fake.seed_listing("M-9", quantity=5, price="8.00")
    order_id = fake.place_order("M-9", 1)
    operation = RefundOperation(
        order_id=order_id, amount=cs.Money.of("8.00", "EUR"), idempotency_key="not-invoiced"
    )
    with pytest.raises(cs.Rejected, match=r"has no invoice.*cancel the order instead"):
        channel.refund(operation)
    assert fake.creditmemos_of(order_id) == []


def test_return_is_recorded_here_only(fake: Any, channel: Any, store: cs.Store) -> None:
    fake.seed_listing("M-10", quantity=0, price="8.00")
    engine = engine_for(store, channel, **{"M-10": 5})
    order_id = fake.place_order("M-10", 2, invoiced=True)
    engine.run_once()
    engine.ship(ACCOUNT, order_id, cs.Shipment(carrier="DHL"))
    assert figures(engine, "M-10") == (3, 0)
    line_id = line_of(fake, order_id)
    result = engine.record_return(ACCOUNT, order_id, {line_id: 1})
    assert (result.status, result.channel, result.restocked) == (
        "done",
        "not_supported",
        {"M-10": 1},
    )
    assert figures(engine, "M-10") == (4, 0)
    assert fake.creditmemos_of(order_id) == []  # Magento was not told
    with pytest.raises(cs.OperationRefused, match="1 came back already"):
        engine.record_return(ACCOUNT, order_id, {line_id: 2})


def test_a_configurable_line_cancels_and_refunds_by_its_parent_row(fake: Any, channel: Any) -> None:
    fake.seed_configurable("TEE", {"TEE-S": (5, "19.90"), "TEE-M": (5, "19.90")})
    open_id = fake.place_order("TEE-S", 2)
    parent = line_of(fake, open_id)
    channel.push_fulfillment(open_id, cs.Shipment(carrier="DHL", lines={parent: 1}))
    assert (fake.source_quantity("TEE-S"), fake.reserved("TEE-S")) == (4, 1)
    # The one unit left open is the whole rest of the order: Magento cancels it.
    channel.cancel_lines(
        CancelOperation(order_id=open_id, lines={parent: 1}, idempotency_key="k-tee-1")
    )
    assert fake.order_json(open_id)["state"] == "canceled"
    assert (fake.source_quantity("TEE-S"), fake.reserved("TEE-S")) == (4, 0)

    paid_id = fake.place_order("TEE-S", 2, invoiced=True)  # 39.80 EUR
    line = line_of(fake, paid_id)
    channel.push_fulfillment(paid_id, cs.Shipment(carrier="DHL"))
    assert fake.source_quantity("TEE-S") == 2
    receipt = channel.refund(
        RefundOperation(
            order_id=paid_id,
            amount=cs.Money.of("19.90", "EUR"),
            lines={line: 1},
            returned={line: 1},
            idempotency_key="k-tee-2",
        )
    )
    assert receipt.refund is not None
    assert receipt.refund.amount == cs.Money.of("19.90", "EUR")
    assert receipt.refund.lines == {line: 1}
    assert fake.source_quantity("TEE-S") == 3  # the returned unit is back on the source


def test_a_refund_whose_answer_was_lost_finds_its_memo_on_the_retry(
    fake: Any, channel: Any, store: cs.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.seed_listing("M-11", quantity=0, price="24.99")
    engine = engine_for(store, channel, **{"M-11": 10})
    order_id = fake.place_order("M-11", 2, invoiced=True)
    engine.run_once()
    line_id = line_of(fake, order_id)
    send = channel._client.refund_order

    def lost(oid: int, body: Any) -> int:
        send(oid, body)  # Magento makes the memo, the answer never arrives
        raise cs.Unavailable("read timed out", channel=ACCOUNT, operation="POST order/{id}/refund")

    monkeypatch.setattr(channel._client, "refund_order", lost)
    with pytest.raises(cs.Unavailable):
        engine.refund(ACCOUNT, order_id, lines={line_id: 1}, reason="out_of_stock")
    assert memo_totals(fake, order_id) == [Decimal("24.99")]
    assert figures(engine, "M-11") == (10, 2)  # nothing applied without an answer
    monkeypatch.undo()
    result = engine.refund(ACCOUNT, order_id, lines={line_id: 1}, reason="out_of_stock")
    assert (result.status, result.repeated, result.released) == ("done", False, {"M-11": 1})
    [memo] = fake.creditmemos_of(order_id)  # found by its key, not made twice
    assert result.reference == str(memo["entity_id"])
    assert figures(engine, "M-11") == (10, 1)
    assert fake.reserved("M-11") == 1


def test_cancel_of_an_invoiced_order_says_to_refund_it_and_changes_nothing(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    fake.seed_listing("M-12", quantity=0, price="8.00")
    engine = engine_for(store, channel, **{"M-12": 5})
    order_id = fake.place_order("M-12", 2, invoiced=True)
    engine.run_once()
    with pytest.raises(cs.Rejected, match=r"2 unit\(s\) not shipped are invoiced.*credit memo"):
        engine.cancel(ACCOUNT, order_id, reason="customer_request")
    order = fake.order_json(order_id)
    assert (order["state"], order["items"][0]["qty_canceled"]) == ("processing", 0)
    assert fake.reserved("M-12") == 2
    assert figures(engine, "M-12") == (5, 2)
    # The way it says: a credit memo of both units releases them.
    line_id = line_of(fake, order_id)
    result = engine.refund(ACCOUNT, order_id, lines={line_id: 2}, reason="customer_request")
    assert result.released == {"M-12": 2}
    assert memo_totals(fake, order_id) == [Decimal("16.00")]
    assert (fake.order_json(order_id)["state"], fake.reserved("M-12")) == ("closed", 0)
    assert figures(engine, "M-12") == (5, 0)
