"""Cancel, refund and return on the eBay fake: Post-Order and Fulfillment issueRefund."""

from __future__ import annotations

from decimal import Decimal

import pytest

import channelsync as cs
from channelsync.adapters.ebay import EbayChannel
from channelsync.core.channel import OperationReceipt, RefundOperation
from channelsync.sandbox.ebay import EbayFake


def engine_for(store: cs.Store, channel: EbayChannel, **stock: int) -> cs.SyncEngine:
    engine = cs.SyncEngine(store, channels=[channel])
    for sku, n in stock.items():
        engine.set_on_hand(sku, n)
    engine.run_once()
    return engine


def pull(engine: cs.SyncEngine) -> None:
    """Read the account's orders now (eBay asks for a minute between polls)."""
    engine.pull("ebay-de")


def figures(engine: cs.SyncEngine, sku: str) -> tuple[int, int]:
    view = engine.stock(sku)
    return view.on_hand, view.committed


def line_of(engine: cs.SyncEngine, account: str, order_id: str) -> str:
    return engine.order(account, order_id).lines[0].line_id


def test_cancel_checks_eligibility_and_releases(fake: EbayFake, store: cs.Store) -> None:
    fake.seed_listing("E-1", quantity=0, price="20.00")
    channel = fake.channel()
    engine = engine_for(store, channel, **{"E-1": 6})
    order_id = fake.place_order("E-1", 2)
    pull(engine)
    assert figures(engine, "E-1") == (6, 2)
    assert fake.quantity("E-1") == 4
    result = engine.cancel("ebay-de", order_id, reason="customer_request")
    assert result.status == "done"
    assert result.detail == "CLOSED/CANCEL_CLOSED_WITH_REFUND"
    assert fake.cancellations[-1]["reason"] == "BUYER_ASKED_CANCEL"
    assert channel.call_counts["checkCancellationEligibility"] == 1
    assert figures(engine, "E-1") == (6, 0)
    assert fake.quantity("E-1") == 6  # eBay put the units back on sale
    pull(engine)
    assert figures(engine, "E-1") == (6, 0)
    # Directly: eBay answers CANCELLATION_EXIST for a cancelled order, which is left alone;
    # an order eBay does not know (INVALID_ORDER) is NotFound.
    cancellations = len(fake.cancellations)
    channel.cancel_order(order_id, "buyer asked")
    assert len(fake.cancellations) == cancellations
    with pytest.raises(cs.NotFound, match="INVALID_ORDER"):
        channel.cancel_order("99-99999-99999", "buyer asked")


def test_partial_or_shipped_cancel_is_refused_with_what_to_do(
    fake: EbayFake, store: cs.Store
) -> None:
    fake.seed_listing("E-2", quantity=0, price="5.00")
    channel = fake.channel()
    engine = engine_for(store, channel, **{"E-2": 9})
    order_id = fake.place_order("E-2", 3)
    pull(engine)
    line_id = line_of(engine, "ebay-de", order_id)
    with pytest.raises(cs.Rejected, match=r"whole orders only.*refund those lines"):
        engine.cancel("ebay-de", order_id, lines={line_id: 1}, reason="out_of_stock")
    channel.push_fulfillment(order_id, cs.Shipment(carrier="DHL", tracking_number="T1"))
    with pytest.raises(cs.Rejected, match=r"ITEM_LEVEL_ELIGIBILITY_FAILURE \(a line has shipped"):
        channel.cancel_lines(
            cs.core.channel.CancelOperation(order_id=order_id, idempotency_key="k")
        )
    assert fake.cancellations == []
    assert figures(engine, "E-2") == (9, 3)


def test_refund_is_pending_until_ebay_has_processed_it(fake: EbayFake, store: cs.Store) -> None:
    fake.seed_listing("E-3", quantity=0, price="25.00")
    channel = fake.channel()
    engine = engine_for(store, channel, **{"E-3": 10})
    order_id = fake.place_order("E-3", 2)  # 50.00 + 4.99 shipping
    pull(engine)
    line_id = line_of(engine, "ebay-de", order_id)
    fake.aftersale.refund_reads = 1  # one read sees it PENDING, the next REFUNDED
    first = engine.refund("ebay-de", order_id, lines={line_id: 1}, reason="customer_request")
    assert (first.status, first.channel) == ("pending", "pending")
    assert first.reference is not None
    assert figures(engine, "E-3") == (10, 2)  # nothing moves until eBay is done
    assert fake.refunds(order_id) == [(first.reference, Decimal("25.00"), "PENDING")]
    assert [o.status for o in engine.operations(status=["pending"])] == ["pending"]
    # The same call again asks eBay (still pending: one read so far), then it is done.
    assert (
        engine.refund("ebay-de", order_id, lines={line_id: 1}, reason="customer_request").status
        == "pending"
    )
    (settled,) = engine.settle_operations()
    assert settled.status == "done"
    assert settled.refund is not None
    assert settled.refund.amount == cs.Money.of("25.00", "EUR")
    assert fake.refunds(order_id)[0][2] == "REFUNDED"
    assert figures(engine, "E-3") == (10, 1)
    assert engine.operations(status=["pending"]) == []
    assert engine.settle_operations() == []
    pull(engine)
    stored = engine.order("ebay-de", order_id)
    assert [r.amount for r in stored.refunds] == [cs.Money.of("25.00", "EUR")]
    # eBay's order still says 2 units (a refund is money only): the unit stays cancelled
    # here, and shipping the line takes 1 unit off the shelf, not 2.
    assert stored.line(line_id).quantity == 2
    assert figures(engine, "E-3") == (10, 1)
    engine.ship("ebay-de", order_id, cs.Shipment(carrier="DHL", tracking_number="S1"))
    pull(engine)
    assert engine.order("ebay-de", order_id).status is cs.OrderStatus.SHIPPED
    assert figures(engine, "E-3") == (9, 0)


def test_ebay_refuses_a_refund_over_the_order_or_the_line(fake: EbayFake, store: cs.Store) -> None:
    fake.seed_listing("E-4", quantity=5, price="10.00")
    channel = fake.channel()
    order_id = fake.place_order("E-4", 1)  # 10.00 + 4.99
    txn_id = fake.order_xml(order_id).split("<TransactionID>")[1].split("<")[0]
    line_id = f"{fake.item_id('E-4')}-{txn_id}"
    with pytest.raises(cs.Rejected) as caught:
        channel.refund(
            RefundOperation(
                order_id=order_id, amount=cs.Money.of("15.00", "EUR"), idempotency_key="a"
            )
        )
    assert caught.value.code == "34915"
    with pytest.raises(cs.Conflict) as line_caught:
        channel.refund(
            RefundOperation(
                order_id=order_id,
                amount=cs.Money.of("10.01", "EUR"),
                lines={line_id: 1},
                line_amounts={line_id: cs.Money.of("10.01", "EUR")},
                idempotency_key="b",
            )
        )
    assert line_caught.value.code == "34924"
    receipt = channel.refund(
        RefundOperation(order_id=order_id, amount=cs.Money.of("4.99", "EUR"), idempotency_key="c")
    )
    assert receipt.status == "pending"
    with pytest.raises(cs.Rejected) as busy:
        channel.refund(
            RefundOperation(
                order_id=order_id, amount=cs.Money.of("1.00", "EUR"), idempotency_key="d"
            )
        )
    assert busy.value.code == "34922"
    done = channel.operation_status(order_id, receipt)
    done = channel.operation_status(order_id, done)
    assert done == OperationReceipt(
        reference=receipt.reference, refund=done.refund, detail="REFUNDED"
    )


def test_return_marks_the_buyers_open_return_received(fake: EbayFake, store: cs.Store) -> None:
    fake.seed_listing("E-5", quantity=0, price="30.00")
    channel = fake.channel()
    engine = engine_for(store, channel, **{"E-5": 4})
    order_id = fake.place_order("E-5", 2)
    pull(engine)
    engine.ship("ebay-de", order_id, cs.Shipment(carrier="DHL", tracking_number="R1"))
    assert figures(engine, "E-5") == (2, 0)
    line_id = line_of(engine, "ebay-de", order_id)
    with pytest.raises(cs.Rejected, match="opened by the buyer"):
        engine.record_return("ebay-de", order_id, {line_id: 1})
    assert figures(engine, "E-5") == (2, 0)
    return_id = fake.open_return(order_id, line_id, 1)
    result = engine.record_return("ebay-de", order_id, {line_id: 1}, reason="damaged")
    assert (result.channel, result.reference, result.restocked) == ("done", return_id, {"E-5": 1})
    assert fake.return_state(return_id) == "ITEM_DELIVERED"
    assert figures(engine, "E-5") == (3, 0)
    # Recorded locally only when eBay has no return for it.
    local = engine.record_return("ebay-de", order_id, {line_id: 1}, notify_channel=False)
    assert local.channel == "not_supported"
    assert figures(engine, "E-5") == (4, 0)
