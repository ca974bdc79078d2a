"""MagentoChannel against the Magento fake: paging, stock (MSI, bulk, legacy), prices, orders
back to the shop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tests.adapters.magento.payloads import order_42

from channelsync.core.channel import OrderFailure, PriceUpdate, StockUpdate
from channelsync.core.errors import NotFound, Rejected, WebhookVerificationError
from channelsync.core.models import Money, Order, OrderStatus, Shipment, utcnow
from channelsync.sandbox import Sandbox

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _simple_order(oid: int, at: datetime, sku: str = "MUG", qty: int = 1) -> dict[str, Any]:
    return {
        "entity_id": oid,
        "state": "processing",
        "status": "processing",
        "created_at": _at(at),
        "updated_at": _at(at),
        "base_currency_code": "EUR",
        "base_grand_total": 9.9 * qty,
        "items": [
            {
                "item_id": oid * 10,
                "sku": sku,
                "product_type": "simple",
                "qty_ordered": qty,
                "base_price": 9.9,
                "base_row_total": 9.9 * qty,
            }
        ],
    }


def _orders(channel: Any, since: datetime) -> list[Order | OrderFailure]:
    return list(channel.fetch_orders(since))


# -- orders -------------------------------------------------------------------------------


def test_a_burst_in_one_second_larger_than_a_page_is_read_whole_once(fake: Any) -> None:
    for oid in range(1, 8):
        fake.seed_order(_simple_order(oid, T0))
    fake.seed_order(_simple_order(8, T0 + timedelta(seconds=1)))
    channel = fake.channel(page_size=3, order_window_seconds=0)
    got = _orders(channel, T0)
    assert [o.order_id for o in got] == [str(i) for i in range(1, 9)]
    searches = [r.path for r in fake.calls.records("orders")]
    assert len(searches) == 4  # 3 + 3 + 1 in the busy second, then the rest after it


def test_the_safety_window_re_reads_orders_saved_just_before(fake: Any) -> None:
    fake.seed_order(_simple_order(1, T0 - timedelta(seconds=30)))
    fake.seed_order(_simple_order(2, T0 - timedelta(seconds=90)))
    channel = fake.channel(order_window_seconds=60)
    assert [o.order_id for o in _orders(channel, T0)] == ["1"]


def test_a_page_size_above_the_stores_limit_is_learnt(fake: Any) -> None:
    fake.max_page_size = 4
    for oid in range(1, 7):
        fake.seed_order(_simple_order(oid, T0 + timedelta(seconds=oid)))
    channel = fake.channel(page_size=10, order_window_seconds=0)
    assert len(_orders(channel, T0)) == 6
    assert channel.limits.page_size == 4


def test_an_unreadable_order_does_not_hide_its_page(fake: Any) -> None:
    fake.seed_order(_simple_order(1, T0))
    broken = _simple_order(2, T0 + timedelta(seconds=1))
    broken["items"][0]["qty_ordered"] = "zwei"
    fake.seed_order(broken)
    fake.seed_order(_simple_order(3, T0 + timedelta(seconds=2)))
    got = _orders(fake.channel(order_window_seconds=0), T0)
    assert [type(o).__name__ for o in got] == ["Order", "OrderFailure", "Order"]
    failure = got[1]
    assert isinstance(failure, OrderFailure)
    assert failure.order_id == "2"
    assert "order 2 cannot be read" in failure.error


def test_read_order_and_a_gone_order(fake: Any, channel: Any) -> None:
    fake.seed_order(order_42())
    order = channel.read_order("42")
    assert isinstance(order, Order)
    assert [ln.sku for ln in order.lines] == ["TEE-M", None, "MUG", "COASTER", "CANDLE"]
    assert channel.read_order("4242") is None
    assert channel.read_order("not-a-number") is None


def test_orders_carry_their_shipments_and_refunds(fake: Any) -> None:
    fake.seed_listing("MUG", quantity=10, price="9.90")
    oid = fake.place_order("MUG", 2, invoiced=True)
    channel = fake.channel()
    channel.push_fulfillment(oid, Shipment(carrier="DHL", tracking_number="JJD0099"))
    channel.refund_order(oid, Money.of("5.00", "EUR"), reason="scratched")
    [order] = [o for o in _orders(channel, utcnow() - timedelta(hours=1)) if o.order_id == oid]
    assert isinstance(order, Order)
    assert order.status is OrderStatus.SHIPPED
    assert [(s.carrier, s.tracking_number) for s in order.shipments] == [("DHL", "JJD0099")]
    assert [r.amount for r in order.refunds] == [Money.of("5.00", "EUR")]


# -- listings -------------------------------------------------------------------------------


def test_listings_skip_parents_and_name_them_on_children(fake: Any, channel: Any) -> None:
    fake.seed_configurable("TEE", {"TEE-S": (3, "19.90"), "TEE-M": (4, "19.90")})
    fake.seed_listing("SERVICE", quantity=0, price="5.00", manage_stock=False)
    listings = {lst.sku: lst for lst in channel.fetch_listings()}
    assert sorted(listings) == ["SERVICE", "TEE-M", "TEE-S"]
    assert listings["TEE-S"].ids["parent_sku"] == "TEE"
    assert listings["TEE-S"].quantity == 3
    assert listings["TEE-S"].price == Money.of("19.90", "EUR")
    assert listings["SERVICE"].manages_stock is False
    assert channel.skipped_unmanaged == ["SERVICE"]


def test_listings_read_stock_items_one_by_one_when_the_list_lacks_them(fake: Any) -> None:
    fake.list_includes_stock_item = False
    fake.seed_listing("A", quantity=1, price="1.00")
    fake.seed_listing("B", quantity=2, price="1.00", manage_stock=False)
    listings = {lst.sku: lst for lst in fake.channel().fetch_listings()}
    assert (listings["A"].manages_stock, listings["B"].manages_stock) == (True, False)
    assert fake.calls["stockItems/{sku}"] == 2


def test_source_items_page_by_total_count_not_by_an_empty_page(fake: Any) -> None:
    for i in range(7):
        fake.seed_listing(f"P-{i}", quantity=i, price="1.00")
    channel = fake.channel(page_size=3)
    assert {lst.sku: lst.quantity for lst in channel.fetch_listings()} == {
        f"P-{i}": i for i in range(7)
    }
    # Magento answers page 4 of 3 with page 3 again: the count, not an empty page, ends it.
    assert fake.calls["inventory/source-items"] == 3


# -- stock --------------------------------------------------------------------------------


def _updates(skus: list[str], quantity: int) -> list[StockUpdate]:
    return [StockUpdate(sku=s, quantity=quantity) for s in skus]


def test_push_writes_source_items_in_batches_of_the_input_list_limit(fake: Any) -> None:
    skus = [f"S-{i:02d}" for i in range(45)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="1.00")
    channel = fake.channel(bulk="never")
    list(channel.fetch_listings())
    results = channel.push_stock(_updates(skus, 8))
    assert all(r.ok for r in results)
    assert [r.items for r in fake.calls.records("inventory/source-items/save")] == [20, 20, 5]
    assert {fake.source_quantity(s) for s in skus} == {8}


def test_a_lower_input_list_limit_is_learnt_from_the_refusal(fake: Any) -> None:
    fake.input_list_limit = 8
    skus = [f"L-{i:02d}" for i in range(20)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="1.00")
    channel = fake.channel(bulk="never")
    list(channel.fetch_listings())
    assert all(r.ok for r in channel.push_stock(_updates(skus, 2)))
    assert channel.limits.stock_batch == 8
    saves = fake.calls.records("inventory/source-items/save")
    assert [(r.items, r.status) for r in saves] == [(20, 400), (8, 200), (8, 200), (4, 200)]


def test_a_refused_batch_is_split_until_the_bad_item_stands_alone(fake: Any) -> None:
    skus = [f"B-{i}" for i in range(8)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="1.00")
    channel = fake.channel(bulk="never")
    list(channel.fetch_listings())
    fake.inject("partial_failure", operation="inventory/source-items/save")
    results = channel.push_stock(_updates(skus, 4))
    assert [r.ok for r in results] == [True] * 8  # one refusal, then halves that pass
    assert [r.items for r in fake.calls.records("inventory/source-items/save")] == [8, 4, 4]
    assert {fake.quantity(s) for s in skus} == {4}


def test_unknown_and_unmanaged_skus_fail_alone(fake: Any, channel: Any) -> None:
    fake.seed_listing("KNOWN", quantity=1, price="1.00")
    fake.seed_listing("FREE", quantity=0, price="1.00", manage_stock=False)
    list(channel.fetch_listings())
    results = channel.push_stock(_updates(["KNOWN", "GHOST", "FREE"], 5))
    assert [(r.sku, r.ok, r.error.code if r.error else None) for r in results] == [
        ("KNOWN", True, None),
        ("GHOST", False, "NOT_FOUND"),
        ("FREE", False, "UNMANAGED"),
    ]
    assert fake.source_quantity("GHOST") is None


def test_skus_not_imported_yet_are_looked_up_once(fake: Any, channel: Any) -> None:
    fake.seed_listing("LATE", quantity=1, price="1.00")
    assert channel.push_stock(_updates(["LATE", "NOPE"], 3))[0].ok
    channel.push_stock(_updates(["LATE", "NOPE"], 4))
    assert fake.calls["products"] == 1
    assert fake.quantity("LATE") == 4


def test_a_large_push_goes_through_one_bulk_request_read_back(fake: Any) -> None:
    skus = [f"K-{i:03d}" for i in range(250)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="1.00")
    channel = fake.channel(bulk_batch_size=100)
    list(channel.fetch_listings())
    fake.calls.reset()
    results = channel.push_stock(_updates(skus, 6))
    assert all(r.ok for r in results)
    assert dict(fake.calls) == {
        "async/bulk/inventory/source-items": 1,
        "bulk/detailed-status": 1,
    }
    assert [r.items for r in fake.calls.records("async/bulk/inventory/source-items")] == [250]
    assert {fake.quantity(s) for s in skus} == {6}


def test_a_failed_bulk_operation_is_redone_synchronously(fake: Any) -> None:
    skus = [f"F-{i:03d}" for i in range(100)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="1.00")
    channel = fake.channel(bulk="always", bulk_batch_size=50)
    list(channel.fetch_listings())
    fake.inject("partial_failure", operation="async/bulk/inventory/source-items")
    results = channel.push_stock(_updates(skus, 2))
    assert all(r.ok for r in results)
    assert fake.calls["inventory/source-items/save"] == 3  # the failed 50 items, 20 per call
    assert {fake.quantity(s) for s in skus} == {2}


def test_without_a_running_consumer_the_push_falls_back_and_stops_using_bulk(fake: Any) -> None:
    fake.consumer_running = False
    skus = [f"C-{i:03d}" for i in range(120)]
    for sku in skus:
        fake.seed_listing(sku, quantity=1, price="1.00")
    ticks = iter(range(1000))
    channel = fake.channel(
        bulk="auto", bulk_timeout=3, sleep=lambda _s: None, clock=lambda: float(next(ticks))
    )
    list(channel.fetch_listings())
    results = channel.push_stock(_updates(skus, 7))
    assert all(r.ok for r in results)
    assert {fake.quantity(s) for s in skus} == {7}
    assert fake.calls["bulk/detailed-status"] == 3
    channel.push_stock(_updates(skus, 8))
    assert fake.calls["async/bulk/inventory/source-items"] == 1
    assert fake.run_consumer() == 1  # the queued operation still applies later


def test_msi_reservations_of_orders_already_read_are_added_to_the_source(fake: Any) -> None:
    fake.seed_listing("RES", quantity=10, price="1.00")
    oid = fake.place_order("RES", 3)
    assert (fake.quantity("RES"), fake.reserved("RES")) == (7, 3)
    channel = fake.channel()
    assert channel.push_stock(_updates(["RES"], 5))[0].ok
    assert fake.source_quantity("RES") == 5  # no order read yet: nothing compensated
    assert fake.quantity("RES") == 2
    assert [o.order_id for o in _orders(channel, utcnow() - timedelta(hours=1))] == [oid]
    channel.push_stock(_updates(["RES"], 5))
    assert (fake.source_quantity("RES"), fake.quantity("RES")) == (8, 5)
    listing = {lst.sku: lst for lst in channel.fetch_listings()}["RES"]
    assert listing.quantity == 5


def test_stores_without_msi_write_the_legacy_stock_item() -> None:
    with Sandbox(channels=["magento"]) as sb:
        fake = sb.magento
        fake.store.msi = False
        fake.seed_listing("LEG-1", quantity=4, price="2.00")
        fake.seed_listing("LEG-2", quantity=4, price="2.00")
        channel = fake.channel()
        assert channel.inventory_mode() == "legacy"
        assert {lst.sku: lst.quantity for lst in channel.fetch_listings()} == {
            "LEG-1": 4,
            "LEG-2": 4,
        }
        results = channel.push_stock(_updates(["LEG-1", "LEG-2"], 9))
        assert all(r.ok for r in results)
        assert fake.calls["stockItems/update"] == 2
        fake.place_order("LEG-1", 2)
        assert fake.quantity("LEG-1") == 7  # the stock item drops when an order is placed


def test_a_stock_update_for_a_location_without_a_source_fails_alone(fake: Any) -> None:
    fake.seed_listing("LOC", quantity=1, price="1.00")
    channel = fake.channel(sources={"default": "default", "berlin": "berlin-store"})
    assert channel.config.source_code("berlin") == "berlin-store"
    with pytest.raises(Exception, match="no Magento source for location 'hamburg'"):
        channel.config.source_code("hamburg")


# -- prices -------------------------------------------------------------------------------


def test_prices_go_in_batches_and_refused_rows_fail_alone(fake: Any, channel: Any) -> None:
    fake.seed_listing("PR-1", quantity=1, price="1.00")
    fake.seed_configurable("PR-TEE", {"PR-TEE-S": (1, "5.00")})
    results = channel.push_prices(
        [
            PriceUpdate(sku="PR-1", price=Money.of("19.99", "EUR")),
            PriceUpdate(sku="PR-TEE", price=Money.of("5.00", "EUR")),
            PriceUpdate(sku="PR-1", price=Money.of("3.00", "USD")),
        ]
    )
    assert [(r.ok, r.error.code if r.error else None) for r in results] == [
        (True, None),
        (False, "price_refused"),
        (False, "currency_mismatch"),
    ]
    assert "Invalid attribute SKU = PR-TEE." in str(results[1].error)
    assert fake.price("PR-1") == Decimal("19.99")
    assert fake.calls["products/base-prices"] == 1


# -- back to the shop -----------------------------------------------------------------------


def test_ship_part_then_the_rest_with_tracking_and_the_source(fake: Any, channel: Any) -> None:
    fake.seed_order(order_42())
    channel.push_fulfillment("42", Shipment(carrier="DHL", tracking_number="A1", lines={"6": 2}))
    channel.push_fulfillment("42", Shipment(carrier="UPS", tracking_number="B2"))
    [first, second] = fake.shipments_of(42)
    assert [(i["order_item_id"], i["qty"]) for i in first["items"]] == [(6, 2)]
    assert first["tracks"][0]["track_number"] == "A1"
    assert first["extension_attributes"] == {"source_code": "default"}
    assert sorted((i["order_item_id"], i["qty"]) for i in second["items"]) == [
        (1, 2),
        (2, 2),
        (3, 1),
        (4, 1),
        (5, 2),
        (6, 1),
    ]
    order = channel.read_order("42")
    assert isinstance(order, Order)
    assert order.status is OrderStatus.SHIPPED  # invoiced and shipped: complete
    assert order.raw_status == "complete"


def test_a_cancelled_order_cannot_ship(fake: Any, channel: Any) -> None:
    fake.seed_listing("C1", quantity=3, price="1.00")
    oid = fake.place_order("C1", 1)
    channel.cancel_order(oid, "buyer asked")
    with pytest.raises(Rejected, match="is canceled; nothing can ship"):
        channel.push_fulfillment(oid, Shipment(carrier="DHL"))
    order = fake.order_json(oid)
    assert order["status_histories"][0]["comment"] == "Cancelled: buyer asked"
    assert fake.quantity("C1") == 3  # the reservation is released


def test_an_invoiced_order_is_not_cancelled_but_refunded(fake: Any, channel: Any) -> None:
    fake.seed_listing("INV", quantity=3, price="10.00")
    oid = fake.place_order("INV", 2, invoiced=True)
    with pytest.raises(Rejected, match="needs a credit memo"):
        channel.cancel_order(oid)
    line = next(iter(fake.order_json(oid)["items"]))["item_id"]
    refund = channel.refund_order(oid, lines={str(line): 2}, restock=True, idempotency_key="r-1")
    assert refund.amount == Money.of("20", "EUR")
    assert refund.lines == {str(line): 2}
    again = channel.refund_order(oid, lines={str(line): 2}, idempotency_key="r-1")
    assert again.refund_id == refund.refund_id
    assert len(fake.store.creditmemos) == 1
    order = channel.read_order(oid)
    assert isinstance(order, Order)
    assert order.status is OrderStatus.REFUNDED
    assert order.line(str(line)).quantity_cancelled == 2


def test_a_refund_of_an_order_not_invoiced_is_refused(fake: Any, channel: Any) -> None:
    fake.seed_listing("NI", quantity=3, price="10.00")
    oid = fake.place_order("NI", 1)
    with pytest.raises(Rejected, match="does not allow a creditmemo"):
        channel.refund_order(oid, Money.of("5.00", "EUR"))


def test_unknown_orders_are_not_found(channel: Any) -> None:
    with pytest.raises(NotFound):
        channel.cancel_order("77")
    with pytest.raises(NotFound):
        channel.push_fulfillment("abc", Shipment(carrier="DHL"))


def test_webhooks_are_refused_saying_magento_is_polled(channel: Any) -> None:
    with pytest.raises(WebhookVerificationError, match="Magento core sends no webhooks"):
        channel.parse_webhook({"X-Signature": "x"}, b"{}")


def test_inventory_mode_is_detected_once(fake: Any, channel: Any) -> None:
    assert channel.inventory_mode() == "msi"
    assert channel.inventory_mode() == "msi"
    assert fake.calls["inventory/sources"] == 1
