"""Cancel, refund and return on the Shopify fake, through ShopifyChannel and the engine."""

from __future__ import annotations

from decimal import Decimal

import pytest

import channelsync as cs
from channelsync.adapters.shopify import ShopifyChannel
from channelsync.core.channel import RefundOperation, ReturnOperation
from channelsync.sandbox.shopify import ShopifyFake


def engine_for(store: cs.Store, channel: ShopifyChannel, **stock: int) -> cs.SyncEngine:
    engine = cs.SyncEngine(store, channels=[channel])
    for sku, n in stock.items():
        engine.set_on_hand(sku, n)
    engine.run_once()
    return engine


def figures(engine: cs.SyncEngine, sku: str) -> tuple[int, int]:
    view = engine.stock(sku)
    return view.on_hand, view.committed


def line_of(fake: ShopifyFake, order_id: str) -> str:
    return str(fake.order(order_id)["line_items"][0]["id"])


def test_cancel_whole_order_with_restock(
    fake: ShopifyFake, channel: ShopifyChannel, store: cs.Store
) -> None:
    fake.seed_listing("S-1", quantity=0, price="15.00")
    engine = engine_for(store, channel, **{"S-1": 10})
    assert fake.quantity("S-1") == 10
    order_id = fake.place_order("S-1", 2)
    engine.run_once()
    assert fake.quantity("S-1") == 8
    result = engine.cancel("shopify-main", order_id, reason="customer_request")
    assert (result.status, result.released) == ("done", {"S-1": 2})
    shop_order = fake.order(order_id)
    assert shop_order["cancelled_at"] is not None
    assert shop_order["cancel_reason"] == "customer"
    assert fake.quantity("S-1") == 10  # restocked by the cancel job
    assert figures(engine, "S-1") == (10, 0)
    engine.run_once()
    assert figures(engine, "S-1") == (10, 0)
    with pytest.raises(cs.Rejected, match=r"cancels whole orders only.*CANCEL"):
        channel.cancel_lines(
            cs.core.channel.CancelOperation(
                order_id=order_id, lines={line_of(fake, order_id): 1}, idempotency_key="x"
            )
        )


def test_refund_unfulfilled_units_restocks_them_as_cancel(
    fake: ShopifyFake, channel: ShopifyChannel, store: cs.Store
) -> None:
    fake.seed_listing("S-2", quantity=0, price="15.00")
    engine = engine_for(store, channel, **{"S-2": 10})
    order_id = fake.place_order("S-2", 3)  # 45.00 captured
    engine.run_once()
    line_id = line_of(fake, order_id)
    result = engine.refund("shopify-main", order_id, lines={line_id: 1}, reason="out_of_stock")
    assert result.refund is not None
    assert result.refund.amount == cs.Money.of("15.00", "USD")
    assert figures(engine, "S-2") == (10, 2)
    shop_order = fake.order(order_id)
    (refund,) = shop_order["refunds"]
    assert [(rl["quantity"], rl["restock_type"]) for rl in refund["refund_line_items"]] == [
        (1, "cancel")
    ]
    assert [t["amount"] for t in refund["transactions"]] == ["15.00"]
    assert shop_order["financial_status"] == "partially_refunded"
    line = shop_order["line_items"][0]
    assert (line["current_quantity"], line["fulfillable_quantity"]) == (2, 2)
    assert fake.quantity("S-2") == 7 + 1  # Shopify restocked the cancelled unit
    # The order read back from Shopify agrees with the ledger: nothing moves.
    engine.run_once()
    assert figures(engine, "S-2") == (10, 2)
    assert engine.order("shopify-main", order_id).line(line_id).quantity_cancelled == 1
    assert [r.amount for r in engine.order("shopify-main", order_id).refunds] == [
        cs.Money.of("15.00", "USD")
    ]


def test_shopify_refuses_more_than_was_captured(
    fake: ShopifyFake, channel: ShopifyChannel, store: cs.Store
) -> None:
    fake.seed_listing("S-3", quantity=5, price="10.00")
    order_id = fake.place_order("S-3", 1)  # 10.00 captured
    channel.refund(
        RefundOperation(
            order_id=order_id, amount=cs.Money.of("6.00", "USD"), idempotency_key="first"
        )
    )
    with pytest.raises(cs.Rejected, match="more than its captured payments"):
        channel.refund(
            RefundOperation(
                order_id=order_id, amount=cs.Money.of("4.01", "USD"), idempotency_key="second"
            )
        )
    # The shop's own guard, reached directly: over the captured amount is a user error.
    order_gid = f"gid://shopify/Order/{order_id}"
    sale = next(t for t in channel.client.refund_state(order_gid).transactions if t.kind == "SALE")
    payload = channel.client.create_refund(
        {
            "orderId": order_gid,
            "transactions": [
                {
                    "orderId": order_gid,
                    "parentId": sale.id,
                    "amount": "4.01",
                    "gateway": sale.gateway,
                    "kind": "REFUND",
                }
            ],
        },
        "third",
    )
    assert payload.refund is None
    assert "4.00" in payload.user_errors[0].message
    assert len(fake.order(order_id)["refunds"]) == 1
    # A repeat of the first refund's key finds it (note tag and @idempotent), no second one.
    again = channel.refund(
        RefundOperation(
            order_id=order_id, amount=cs.Money.of("6.00", "USD"), idempotency_key="first"
        )
    )
    assert again.refund is not None
    assert again.refund.amount == cs.Money.of("6.00", "USD")
    assert len(fake.order(order_id)["refunds"]) == 1


def test_return_is_created_processed_restocked_and_closed(
    fake: ShopifyFake, channel: ShopifyChannel, store: cs.Store
) -> None:
    fake.seed_listing("S-4", quantity=0, price="30.00")
    engine = engine_for(store, channel, **{"S-4": 10})
    order_id = fake.place_order("S-4", 2)
    engine.run_once()
    engine.ship("shopify-main", order_id, cs.Shipment(carrier="UPS", tracking_number="1Z99"))
    assert figures(engine, "S-4") == (8, 0)
    line_id = line_of(fake, order_id)
    shown = fake.quantity("S-4")
    result = engine.record_return("shopify-main", order_id, {line_id: 1}, reason="damaged")
    assert (result.channel, result.restocked) == ("done", {"S-4": 1})
    assert result.reference is not None
    assert figures(engine, "S-4") == (9, 0)
    (shop_return,) = fake.state.aftersale.returns.values()
    assert shop_return["status"] == "CLOSED"
    (returned,) = shop_return["lines"]
    assert (returned["quantity"], returned["processed"], returned["reason"]) == (1, 1, "DEFECTIVE")
    assert [d["type"] for d in returned["dispositions"]] == ["RESTOCKED"]
    assert fake.quantity("S-4") == (shown or 0) + 1
    # One unit is left to return; two more are refused by us and, directly, by Shopify.
    with pytest.raises(cs.OperationRefused, match="at most 1"):
        engine.record_return("shopify-main", order_id, {line_id: 2})
    with pytest.raises(cs.Rejected, match="1 fulfilled unit"):
        channel.record_return(
            ReturnOperation(order_id=order_id, lines={line_id: 2}, idempotency_key="again")
        )
    assert figures(engine, "S-4") == (9, 0)


def test_refund_of_a_shipped_unit_with_restock_is_a_return(
    fake: ShopifyFake, channel: ShopifyChannel, store: cs.Store
) -> None:
    fake.seed_listing("S-5", quantity=0, price="12.00")
    engine = engine_for(store, channel, **{"S-5": 6})
    order_id = fake.place_order("S-5", 1)
    engine.run_once()
    engine.ship("shopify-main", order_id, cs.Shipment(carrier="DHL"))
    line_id = line_of(fake, order_id)
    result = engine.refund(
        "shopify-main", order_id, lines={line_id: 1}, reason="not_as_described", restock=True
    )
    assert result.restocked == {"S-5": 1}
    (refund,) = fake.order(order_id)["refunds"]
    assert refund["refund_line_items"][0]["restock_type"] == "return"
    assert fake.order(order_id)["financial_status"] == "refunded"
    assert figures(engine, "S-5") == (6, 0)
    engine.run_once()
    assert figures(engine, "S-5") == (6, 0)
    assert sum(
        (r.amount.amount for r in engine.order("shopify-main", order_id).refunds if r.amount),
        Decimal(0),
    ) == Decimal("12.00")
