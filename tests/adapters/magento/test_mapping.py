"""Pure mapping of Magento REST payloads: each unit counted once, states, money, addresses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.adapters.magento.payloads import order_42

from channelsync.adapters.magento.mapping import (
    line_index,
    listing_from_product,
    magento_time,
    open_units,
    order_from_payload,
    order_status,
    parse_magento_time,
    ship_items,
    source_item,
)
from channelsync.adapters.magento.payloads import (
    Creditmemo,
    MagentoError,
    MagentoOrder,
    Product,
    Shipment,
)
from channelsync.core.models import OrderLine, OrderStatus


def _order(raw: dict[str, Any], **kw: Any) -> Any:
    return order_from_payload(MagentoOrder.model_validate(raw), raw, account="magento-main", **kw)


def _items(order: dict[str, Any], **by_id: dict[str, Any]) -> dict[str, Any]:
    for item in order["items"]:
        item.update(by_id.get(f"i{item['item_id']}", {}))
    return order


def test_configurable_and_bundle_units_are_counted_once() -> None:
    order = _order(order_42())
    assert [(ln.line_id, ln.sku, ln.quantity) for ln in order.lines] == [
        ("1", "TEE-M", 2),  # configurable: the parent row, the child's SKU
        ("3", None, 1),  # bundle: its own row has no SKU (price only)
        ("4", "MUG", 1),  # and one line per component
        ("5", "COASTER", 2),
        ("6", "CANDLE", 3),
    ]
    units: dict[str, int] = {}
    for line in order.lines:
        if line.sku:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
    assert units == {"TEE-M": 2, "MUG": 1, "COASTER": 2, "CANDLE": 3}


def test_order_fields_money_and_addresses() -> None:
    order = _order(order_42())
    assert order.kind == "magento"
    assert order.order_id == "42"
    assert order.number == "000000042"
    assert order.status is OrderStatus.OPEN
    assert order.raw_status == "processing"
    assert order.created_at == datetime(2024, 5, 1, 9, 12, 31, tzinfo=UTC)
    assert order.updated_at == datetime(2024, 5, 1, 9, 14, 2, tzinfo=UTC)
    assert order.currency == "EUR"
    assert str(order.total) == "124.6 EUR"
    assert str(order.shipping_total) == "4.9 EUR"
    assert str(order.discount_total) == "5 EUR"
    tee = order.line("1")
    assert tee.unit_price is not None
    assert tee.unit_price.amount == Decimal("24.9")
    assert tee.total is not None
    assert tee.total.amount == Decimal("49.8")
    assert tee.channel_ids == {
        "item_id": "1",
        "child_item_id": "2",
        "product_id": "12",
        "parent_product_id": "11",
    }
    assert order.customer is not None
    assert (order.customer.customer_id, order.customer.name) == ("7", "Erika Mustermann")
    assert order.shipping_address is not None
    assert order.shipping_address.name == "Max Mustermann"
    assert order.shipping_address.company == "Muster GmbH"
    assert order.shipping_address.lines == ("Am Markt 1",)
    assert order.billing_address is not None
    assert order.billing_address.lines == ("Heidestrasse 17", "Hinterhaus")
    assert order.billing_address.region == "Nordrhein-Westfalen"
    assert order.raw["entity_id"] == 42


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("new", OrderStatus.PENDING),
        ("pending_payment", OrderStatus.PENDING),
        ("payment_review", OrderStatus.PENDING),
        ("processing", OrderStatus.OPEN),
        ("holded", OrderStatus.OPEN),
        ("complete", OrderStatus.SHIPPED),
        ("closed", OrderStatus.REFUNDED),
        ("canceled", OrderStatus.CANCELLED),
    ],
)
def test_states_map(state: str, expected: OrderStatus) -> None:
    assert order_status(state) is expected


def test_an_unknown_state_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown order state 'archived'"):
        order_status("archived")


def test_partly_shipped_and_shipped_but_not_invoiced() -> None:
    partial = [OrderLine(line_id="1", sku="A", quantity=2, quantity_shipped=1)]
    assert order_status("processing", partial) is OrderStatus.PARTIALLY_SHIPPED
    done = [OrderLine(line_id="1", sku="A", quantity=2, quantity_shipped=2)]
    assert order_status("processing", done) is OrderStatus.SHIPPED


def test_shipped_quantities_come_from_the_rows_that_hold_them() -> None:
    raw = _items(
        order_42(),
        i1={"qty_shipped": 1},  # Magento ships a configurable's units on the parent row
        i3={"qty_shipped": 1},  # and a bundle shipped together on the bundle row
        i6={"qty_shipped": 3},
    )
    lines = {ln.line_id: ln for ln in _order(raw).lines}
    assert lines["1"].quantity_shipped == 1
    assert (lines["4"].quantity_shipped, lines["5"].quantity_shipped) == (1, 2)
    assert lines["6"].quantity_shipped == 3
    assert _order(raw).status is OrderStatus.PARTIALLY_SHIPPED


def test_refunded_units_that_never_shipped_are_cancelled_and_shipped_ones_stay_shipped() -> None:
    raw = _items(
        order_42(),
        i6={"qty_shipped": 1, "qty_refunded": 2},  # one unit shipped, two refunded
    )
    candle = _order(raw).line("6")
    # Magento's own rule: to ship = ordered - max(shipped, refunded) - canceled = 3 - 2 = 1.
    assert (candle.quantity_shipped, candle.quantity_cancelled, candle.quantity_open) == (1, 1, 1)


def test_cancelled_units_and_a_cancelled_order() -> None:
    raw = _items(
        order_42(state="canceled", status="canceled"),
        i1={"qty_canceled": 2},
        i2={"qty_canceled": 2},
        i3={"qty_canceled": 1},
        i4={"qty_canceled": 1},
        i5={"qty_canceled": 2},
        i6={"qty_canceled": 3},
    )
    order = _order(raw)
    assert order.status is OrderStatus.CANCELLED
    assert all(ln.quantity_open == 0 for ln in order.lines)


def test_a_fractional_quantity_is_refused_with_the_item_named() -> None:
    raw = _items(order_42(), i6={"qty_ordered": 1.5})
    with pytest.raises(ValueError, match=r"item 6 \(CANDLE\) has a fractional quantity"):
        _order(raw)


def test_shipments_and_credit_memos_map_to_line_ids() -> None:
    raw = order_42()
    shipment = Shipment.model_validate(
        {
            "entity_id": 5,
            "order_id": 42,
            "created_at": "2024-05-02 10:00:00",
            "items": [{"order_item_id": 1, "qty": 2}, {"order_item_id": 2, "qty": 2}],
            "tracks": [{"track_number": "00340434161094042557", "title": "DHL"}],
        }
    )
    memo = Creditmemo.model_validate(
        {
            "entity_id": 9,
            "order_id": 42,
            "created_at": "2024-05-03 11:00:00",
            "base_grand_total": 11.67,
            "base_currency_code": "EUR",
            "items": [{"order_item_id": 6, "qty": 1}],
        }
    )
    order = _order(raw, shipments=[shipment], creditmemos=[memo])
    [sent] = order.shipments
    assert (sent.carrier, sent.tracking_number, sent.lines) == (
        "DHL",
        "00340434161094042557",
        {"1": 2},
    )
    [refund] = order.refunds
    assert (refund.refund_id, str(refund.amount), refund.lines) == ("9", "11.67 EUR", {"6": 1})


def test_a_shipped_line_carries_the_source_it_shipped_from() -> None:
    def shipment(entity_id: int, source: str | None, items: list[dict[str, Any]]) -> Shipment:
        return Shipment.model_validate(
            {
                "entity_id": entity_id,
                "order_id": 42,
                "items": items,
                "extension_attributes": {"source_code": source} if source else {},
            }
        )

    shipments = [
        # The configurable's parent and child rows both name line "1": 2 units from berlin.
        shipment(5, "berlin_wh", [{"order_item_id": 1, "qty": 2}, {"order_item_id": 2, "qty": 2}]),
        shipment(6, "hamburg_wh", [{"order_item_id": 6, "qty": 1}]),
        shipment(7, "berlin_wh", [{"order_item_id": 6, "qty": 1}]),
        shipment(8, "hamburg_wh", [{"order_item_id": 6, "qty": 1}]),
        shipment(9, None, [{"order_item_id": 3, "qty": 1}]),  # a store without MSI
    ]
    order = _order(order_42(), shipments=shipments)
    located = {line.line_id: line.location_id for line in order.lines}
    # Line 6 shipped 2 units from hamburg_wh and 1 from berlin_wh: it is at hamburg_wh.
    assert located == {"1": "berlin_wh", "3": None, "4": None, "5": None, "6": "hamburg_wh"}


def test_line_index_maps_a_configurable_child_to_its_parent_line() -> None:
    items = MagentoOrder.model_validate(order_42()).items
    assert line_index(items) == {1: "1", 2: "1", 3: "3", 4: "4", 5: "5", 6: "6"}


def test_open_units_per_sku_are_what_msi_keeps_reserved() -> None:
    raw = _items(order_42(), i6={"qty_shipped": 1}, i1={"qty_canceled": 1})
    assert open_units(MagentoOrder.model_validate(raw).items) == {
        "tee-m": 1,
        "mug": 1,
        "coaster": 2,
        "candle": 2,
    }


def test_ship_items_names_only_units_still_to_ship() -> None:
    raw = _items(order_42(), i6={"qty_shipped": 1})
    items = MagentoOrder.model_validate(raw).items
    assert ship_items(items, None) == [
        {"order_item_id": 1, "qty": 2},
        {"order_item_id": 3, "qty": 1},
        {"order_item_id": 6, "qty": 2},
    ]
    assert ship_items(items, {"6": 5, "1": 1}) == [
        {"order_item_id": 1, "qty": 1},
        {"order_item_id": 6, "qty": 2},
    ]


def test_times_round_trip_in_utc() -> None:
    moment = parse_magento_time("2024-05-01 09:12:31")
    assert moment == datetime(2024, 5, 1, 9, 12, 31, tzinfo=UTC)
    assert magento_time(moment) == "2024-05-01 09:12:31"
    assert parse_magento_time("2024-05-01T11:12:31+02:00") == moment
    with pytest.raises(ValueError, match="timezone-aware"):
        magento_time(datetime(2024, 5, 1))


def test_source_item_status_follows_the_quantity() -> None:
    assert source_item("A", "default", 3) == {
        "sku": "A",
        "source_code": "default",
        "quantity": 3,
        "status": 1,
    }
    assert source_item("A", "berlin", 0)["status"] == 0


def test_listing_carries_the_ids_a_push_needs() -> None:
    product = Product.model_validate(
        {"id": 12, "sku": "TEE-M", "name": "Organic Tee-M", "price": 24.9, "type_id": "simple"}
    )
    parent = Product.model_validate({"id": 11, "sku": "TEE", "type_id": "configurable"})
    listing = listing_from_product(
        product,
        account="magento-main",
        currency="EUR",
        quantity=6,
        manages_stock=True,
        source_code="default",
        stock_item_id=12,
        parent=parent,
    )
    assert listing.listing_id == "12"
    assert str(listing.price) == "24.9 EUR"
    assert listing.ids == {
        "product_id": "12",
        "type_id": "simple",
        "stock_item_id": "12",
        "source_code": "default",
        "parent_id": "11",
        "parent_sku": "TEE",
    }


def test_error_messages_fill_named_and_positional_placeholders() -> None:
    named = MagentoError.model_validate(
        {
            "message": "The consumer isn't authorized to access %resources.",
            "parameters": {"resources": "Magento_Sales::actions_view"},
        }
    )
    assert named.text() == "The consumer isn't authorized to access Magento_Sales::actions_view."
    positional = MagentoError.model_validate(
        {"message": "Signature method %1 is not supported", "parameters": ["PLAINTEXT"]}
    )
    assert positional.text() == "Signature method PLAINTEXT is not supported"
