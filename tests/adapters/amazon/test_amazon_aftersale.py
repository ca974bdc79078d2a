"""Cancel, refund and review requests on the Amazon fake: order feeds and Solicitations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

import channelsync as cs
from channelsync.adapters.amazon import AmazonChannel
from channelsync.core.channel import CancelOperation, OperationReceipt, RefundOperation
from channelsync.sandbox.amazon import AmazonFake

ACCOUNT = "amazon-eu"


def engine_for(store: cs.Store, channel: AmazonChannel, **stock: int) -> cs.SyncEngine:
    engine = cs.SyncEngine(store, channels=[channel])
    for sku, n in stock.items():
        engine.set_on_hand(sku, n)
    engine.run_once()
    return engine


def pull(engine: cs.SyncEngine) -> None:
    """Read the account's orders now (Amazon asks for three minutes between polls)."""
    engine.pull(ACCOUNT)


def figures(engine: cs.SyncEngine, sku: str) -> tuple[int, int]:
    view = engine.stock(sku)
    return view.on_hand, view.committed


def line_of(engine: cs.SyncEngine, order_id: str) -> str:
    return engine.order(ACCOUNT, order_id).lines[0].line_id


def test_whole_cancel_is_an_acknowledgement_failure(
    amazon_fake: AmazonFake, store: cs.Store
) -> None:
    amazon_fake.seed_listing("A-1", quantity=0, price="20.00")
    channel = amazon_fake.channel(account=ACCOUNT)
    engine = engine_for(store, channel, **{"A-1": 6})
    order_id = amazon_fake.place_order("A-1", 2)
    pull(engine)
    assert figures(engine, "A-1") == (6, 2)
    result = engine.cancel(ACCOUNT, order_id, reason="customer_request")
    assert (result.status, result.channel) == ("done", "done")
    assert result.reference is not None  # the feed id
    assert result.released == {"A-1": 2}
    order = amazon_fake.order(order_id)
    assert order["fulfillment"]["fulfillmentStatus"] == "CANCELLED"
    assert order["orderItems"][0]["cancellation"]["cancellationExecution"] == {
        "cancelledBy": "MERCHANT",
        "cancelReason": "BuyerCanceled",
    }
    assert amazon_fake.calls["createFeed"] == 1
    assert figures(engine, "A-1") == (6, 0)
    pull(engine)  # Amazon's cancelled version changes nothing more
    assert figures(engine, "A-1") == (6, 0)
    assert engine.order(ACCOUNT, order_id).status is cs.OrderStatus.CANCELLED
    again = engine.cancel(ACCOUNT, order_id, reason="customer_request")
    assert again.repeated
    assert amazon_fake.calls["createFeed"] == 1


def test_some_units_are_cancelled_by_an_adjustment(
    amazon_fake: AmazonFake, store: cs.Store
) -> None:
    amazon_fake.seed_listing("A-2", quantity=0, price="10.00")
    channel = amazon_fake.channel(account=ACCOUNT)
    engine = engine_for(store, channel, **{"A-2": 9})
    order_id = amazon_fake.place_order("A-2", 3)
    pull(engine)
    line_id = line_of(engine, order_id)
    result = engine.cancel(ACCOUNT, order_id, lines={line_id: 1}, reason="out_of_stock")
    assert result.status == "done"
    (adjustment,) = amazon_fake.adjustments(order_id)
    assert (adjustment["principal"], adjustment["quantity_cancelled"], adjustment["reason"]) == (
        Decimal("10.00"),
        1,
        "NoInventory",
    )
    assert figures(engine, "A-2") == (9, 2)
    pull(engine)
    assert figures(engine, "A-2") == (9, 2)
    assert engine.order(ACCOUNT, order_id).line(line_id).quantity_cancelled == 1


def test_a_shipped_order_is_not_cancelled_and_nothing_changes(
    amazon_fake: AmazonFake, store: cs.Store
) -> None:
    amazon_fake.seed_listing("A-3", quantity=0, price="5.00")
    channel = amazon_fake.channel(account=ACCOUNT)
    engine = engine_for(store, channel, **{"A-3": 4})
    order_id = amazon_fake.place_order("A-3", 2)
    pull(engine)
    engine.ship(ACCOUNT, order_id, cs.Shipment(carrier="DHL", tracking_number="S-1"))
    pull(engine)
    assert figures(engine, "A-3") == (2, 0)
    with pytest.raises(cs.OperationRefused, match="has shipped"):
        engine.cancel(ACCOUNT, order_id, reason="out_of_stock")
    with pytest.raises(cs.Rejected, match="has shipped items"):
        channel.cancel_lines(CancelOperation(order_id=order_id, idempotency_key="k"))
    assert amazon_fake.calls["createFeed"] == 0
    assert figures(engine, "A-3") == (2, 0)


def test_refund_of_a_returned_unit_by_adjustment(amazon_fake: AmazonFake, store: cs.Store) -> None:
    amazon_fake.seed_listing("A-4", quantity=0, price="25.00")
    channel = amazon_fake.channel(account=ACCOUNT)
    engine = engine_for(store, channel, **{"A-4": 10})
    order_id = amazon_fake.place_order("A-4", 2)  # 50.00
    pull(engine)
    engine.ship(ACCOUNT, order_id, cs.Shipment(carrier="DHL", tracking_number="S-2"))
    assert figures(engine, "A-4") == (8, 0)
    line_id = line_of(engine, order_id)
    result = engine.refund(ACCOUNT, order_id, lines={line_id: 1}, reason="damaged", restock=True)
    assert (result.status, result.restocked) == ("done", {"A-4": 1})
    assert result.refund is not None
    assert result.refund.refund_id == result.reference
    (adjustment,) = amazon_fake.adjustments(order_id)
    assert (adjustment["principal"], adjustment["reason"]) == (Decimal("25.00"), "CustomerReturn")
    assert figures(engine, "A-4") == (9, 0)
    # Amazon's next version of the order carries no refunds: channelsync's stays.
    pull(engine)
    stored = engine.order(ACCOUNT, order_id)
    assert [r.amount for r in stored.refunds] == [cs.Money.of("25.00", "EUR")]
    # 25.00 is left: 25.01 is refused by the engine, nothing is sent.
    with pytest.raises(cs.OperationRefused, match=r"at most 25\.00 EUR left"):
        engine.refund(ACCOUNT, order_id, amount=cs.Money.of("25.01", "EUR"), reason="other")
    assert amazon_fake.calls["createFeed"] == 1
    rest = engine.refund(ACCOUNT, order_id, amount=cs.Money.of("25.00", "EUR"), reason="other")
    assert rest.status == "done"
    assert [a["principal"] for a in amazon_fake.adjustments(order_id)] == [
        Decimal("25.00"),
        Decimal("25.00"),
    ]
    assert engine.order(ACCOUNT, order_id).status is cs.OrderStatus.REFUNDED
    assert figures(engine, "A-4") == (9, 0)


def test_amazon_refuses_more_than_the_item_price(amazon_fake: AmazonFake) -> None:
    """The processing report's error for the order becomes the channel's refusal."""
    amazon_fake.seed_listing("A-5", quantity=3, price="12.00")
    channel = amazon_fake.channel(account=ACCOUNT)
    order_id = amazon_fake.place_order("A-5", 1)
    with pytest.raises(cs.Rejected, match=r"exceeds the amount that can be refunded") as caught:
        channel.refund(
            RefundOperation(
                order_id=order_id, amount=cs.Money.of("12.50", "EUR"), idempotency_key="r"
            )
        )
    assert caught.value.code == "90011"
    assert amazon_fake.adjustments(order_id) == []
    with pytest.raises(cs.Rejected, match="paid in EUR"):
        channel.refund(
            RefundOperation(
                order_id=order_id, amount=cs.Money.of("1.00", "GBP"), idempotency_key="g"
            )
        )


def test_a_feed_still_processing_is_pending_then_settled(
    amazon_fake: AmazonFake, store: cs.Store
) -> None:
    amazon_fake.seed_listing("A-6", quantity=0, price="8.00")
    channel = amazon_fake.channel(account=ACCOUNT, order_feed_wait=0)
    engine = engine_for(store, channel, **{"A-6": 5})
    order_id = amazon_fake.place_order("A-6", 1)
    pull(engine)
    first = engine.cancel(ACCOUNT, order_id, reason="out_of_stock")
    assert (first.status, first.channel) == ("pending", "pending")
    assert figures(engine, "A-6") == (5, 1)  # nothing moves until Amazon has processed it
    (seen,) = engine.settle_operations()  # the first poll: IN_PROGRESS
    assert seen.status == "pending"
    (settled,) = engine.settle_operations()
    assert settled.status == "done"
    assert figures(engine, "A-6") == (5, 0)
    assert engine.settle_operations() == []


def test_a_refused_feed_fails_the_operation(amazon_fake: AmazonFake, store: cs.Store) -> None:
    amazon_fake.seed_listing("A-7", quantity=0, price="8.00")
    channel = amazon_fake.channel(account=ACCOUNT, order_feed_wait=0)
    engine = engine_for(store, channel, **{"A-7": 5})
    order_id = amazon_fake.place_order("A-7", 1)
    pull(engine)
    pending = engine.cancel(ACCOUNT, order_id, reason="out_of_stock")
    assert pending.status == "pending"
    amazon_fake.cancel(order_id)  # the buyer's cancellation wins the race
    engine.settle_operations()
    (failed,) = engine.settle_operations()
    assert failed.status == "failed"
    assert failed.detail is not None
    assert "already cancelled" in failed.detail
    assert [o.status for o in engine.operations()] == ["failed"]
    pull(engine)  # Amazon's cancelled version releases the unit
    assert figures(engine, "A-7") == (5, 0)


def test_buyer_cancellation_request_is_accepted(amazon_fake: AmazonFake, store: cs.Store) -> None:
    amazon_fake.seed_listing("A-8", quantity=0, price="15.00")
    channel = amazon_fake.channel(account=ACCOUNT)
    engine = engine_for(store, channel, **{"A-8": 3})
    order_id = amazon_fake.place_order("A-8", 1)
    amazon_fake.request_cancellation(order_id, reason="Ordered by mistake")
    pull(engine)
    (request,) = engine.cancel_requests(ACCOUNT)
    assert (request.order_id, request.reason, request.requested_by) == (
        order_id,
        "Ordered by mistake",
        "buyer",
    )
    result = engine.accept_cancel_request(ACCOUNT, order_id)
    assert result.status == "done"
    item = amazon_fake.order(order_id)["orderItems"][0]
    assert item["cancellation"]["cancellationExecution"]["cancelReason"] == "BuyerCanceled"
    assert figures(engine, "A-8") == (3, 0)
    pull(engine)
    assert engine.cancel_requests(ACCOUNT) == []


def test_review_request_window_and_once_per_order(amazon_fake: AmazonFake) -> None:
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    amazon_fake.clock = lambda: now[0]
    amazon_fake.token_lifetime = 90 * 86400
    amazon_fake.seed_listing("A-9", quantity=3, price="30.00")
    channel = amazon_fake.channel(account=ACCOUNT, clock=lambda: now[0])
    order_id = amazon_fake.place_order("A-9", 1)
    channel.push_fulfillment(
        order_id, cs.Shipment(carrier="DHL", tracking_number="RV-1", shipped_at=now[0])
    )
    order = channel.fetch_order(order_id)
    assert channel.review_request_status(order) == "not_yet"
    with pytest.raises(cs.Rejected, match="5-30 day range"):
        channel.send_review_request(order)
    now[0] += timedelta(days=8)  # shipped + 2 days = earliest delivery; + 5 days is open
    assert channel.review_request_status(order) == "eligible"
    channel.send_review_request(order)
    assert amazon_fake.solicited(order_id)
    assert channel.review_request_status(order) == "unavailable"  # once per order
    with pytest.raises(cs.Rejected, match="not available for this amazonOrderId"):
        channel.send_review_request(order)
    other = amazon_fake.place_order("A-9", 1)
    channel.push_fulfillment(
        other, cs.Shipment(carrier="DHL", tracking_number="RV-2", shipped_at=now[0])
    )
    now[0] += timedelta(days=40)
    assert channel.review_request_status(channel.fetch_order(other)) == "expired"


def test_operation_status_without_reference_is_unchanged(amazon_fake: AmazonFake) -> None:
    channel = amazon_fake.channel(account=ACCOUNT)
    receipt = OperationReceipt(status="pending")
    assert channel.operation_status("305-0000000-0000000", receipt) == receipt
