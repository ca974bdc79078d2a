"""Cancel, refund and return on a WooCommerce shop through the engine and the sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import channelsync as cs


def engine_for(store: cs.Store, channel: Any, **stock: int) -> cs.SyncEngine:
    engine = cs.SyncEngine(store, channels=[channel])
    for sku, n in stock.items():
        engine.set_on_hand(sku, n)
    engine.run_once()
    return engine


def figures(engine: cs.SyncEngine, sku: str) -> tuple[int, int]:
    view = engine.stock(sku)
    return view.on_hand, view.committed


def test_cancel_by_status_releases_and_the_shop_restocks(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    fake.seed_listing("W-1", quantity=0, price="12.50")
    engine = engine_for(store, channel, **{"W-1": 10})
    order_id = fake.place_order("W-1", 3)
    engine.run_once()
    assert figures(engine, "W-1") == (10, 3)
    assert fake.quantity("W-1") == 7
    result = engine.cancel("woo-main", order_id, reason="customer_request", note="asked by mail")
    assert (result.status, result.released) == ("done", {"W-1": 3})
    assert fake.order_json(order_id)["status"] == "cancelled"
    assert fake.quantity("W-1") == 10  # WooCommerce put back what it had reduced
    assert figures(engine, "W-1") == (10, 0)
    notes = [n["note"] for n in fake.notes(order_id)]
    assert "Cancelled: customer_request: asked by mail" in notes
    engine.run_once()  # the shop's cancelled order arrives: nothing more moves
    assert figures(engine, "W-1") == (10, 0)


def test_partial_cancel_says_to_refund_the_lines(fake: Any, channel: Any, store: cs.Store) -> None:
    fake.seed_listing("W-2", quantity=0, price="5.00")
    engine = engine_for(store, channel, **{"W-2": 10})
    order_id = fake.place_order("W-2", 3)
    engine.run_once()
    line_id = str(fake.order_json(order_id)["line_items"][0]["id"])
    with pytest.raises(cs.Rejected, match=r"cancels whole orders only.*refund those lines"):
        engine.cancel("woo-main", order_id, lines={line_id: 1}, reason="out_of_stock")
    assert fake.order_json(order_id)["status"] == "processing"
    assert figures(engine, "W-2") == (10, 3)


def test_refund_lines_restocks_and_counts_money(fake: Any, channel: Any, store: cs.Store) -> None:
    fake.seed_listing("W-3", quantity=0, price="20.00")
    engine = engine_for(store, channel, **{"W-3": 10})
    order_id = fake.place_order("W-3", 3)  # 60.00 EUR by card
    engine.run_once()
    line_id = str(fake.order_json(order_id)["line_items"][0]["id"])
    result = engine.refund("woo-main", order_id, lines={line_id: 1}, reason="damaged")
    assert result.refund is not None
    assert result.refund.amount == cs.Money.of("20.00", "EUR")
    assert figures(engine, "W-3") == (10, 2)
    assert fake.gateway_refunds == [
        {"order_id": int(order_id), "amount": "20.00", "gateway": "stripe"}
    ]
    (refund,) = fake.order_json(order_id)["refunds"]
    assert Decimal(refund["total"]) == Decimal("-20.00")
    assert engine.refund("woo-main", order_id, lines={line_id: 1}, reason="damaged").repeated
    assert len(fake.order_json(order_id)["refunds"]) == 1
    engine.run_once()
    assert figures(engine, "W-3") == (10, 2)
    stored = engine.order("woo-main", order_id)
    assert stored.line(line_id).quantity_cancelled == 1


def test_refunding_more_than_paid_is_refused_by_us_and_by_the_shop(
    fake: Any, channel: Any, store: cs.Store
) -> None:
    fake.seed_listing("W-4", quantity=0, price="8.00")
    engine = engine_for(store, channel, **{"W-4": 5})
    order_id = fake.place_order("W-4", 2)  # 16.00 EUR
    engine.run_once()
    with pytest.raises(cs.OperationRefused, match=r"at most 16.00 EUR left"):
        engine.refund("woo-main", order_id, amount=cs.Money.of("16.01", "EUR"), reason="other")
    assert fake.order_json(order_id)["refunds"] == []
    # The shop's own guard: a refund over what is left fails there too.
    with pytest.raises(cs.Rejected, match="Invalid refund amount"):
        channel.refund_order(order_id, cs.Money.of("16.01", "EUR"))


def test_return_is_recorded_here_only(fake: Any, channel: Any, store: cs.Store) -> None:
    fake.seed_listing("W-5", quantity=0, price="8.00")
    engine = engine_for(store, channel, **{"W-5": 5})
    order_id = fake.place_order("W-5", 2)
    engine.run_once()
    engine.ship("woo-main", order_id, cs.Shipment(carrier="DHL"))
    line_id = str(fake.order_json(order_id)["line_items"][0]["id"])
    result = engine.record_return("woo-main", order_id, {line_id: 1})
    assert (result.channel, result.restocked) == ("not_supported", {"W-5": 1})
    assert figures(engine, "W-5") == (4, 0)
