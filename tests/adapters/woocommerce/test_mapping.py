"""mapping.py on every order, product and variation payload of the published v3 examples."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from tests.conftest import load_conformance

from channelsync.adapters.woocommerce.mapping import (
    STATUS_MAP,
    item_error,
    listing_from_product,
    listing_from_variation,
    money,
    order_from_payload,
    order_status,
    parse_gmt,
    price_item,
    refund_from_payload,
    refunded_quantities,
    shipments_from_meta,
    stock_item,
    tracking_body,
    wc_datetime,
)
from channelsync.adapters.woocommerce.payloads import (
    WooBatchError,
    WooOrder,
    WooProduct,
    WooRefund,
    WooVariation,
)
from channelsync.core.models import Money, OrderStatus, Shipment

USD = "USD"


def usd(amount: str) -> Money:
    return Money.of(amount, USD)


def order(raw: dict[str, Any], **kw: Any) -> Any:
    return order_from_payload(WooOrder.model_validate(raw), account="woo-main", **kw)


# -- orders --------------------------------------------------------------------------------


def _assert_order_727(o: Any, *, status: OrderStatus, raw_status: str, modified: str) -> None:
    assert o.kind == "woocommerce"
    assert o.account == "woo-main"
    assert o.order_id == "727"
    assert o.number == "727"
    assert o.status is status
    assert o.raw_status == raw_status
    # The shop is at UTC-3: date_created is 16:28 local, 19:28 GMT. Times come from *_gmt.
    assert o.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert o.updated_at == datetime.fromisoformat(modified).replace(tzinfo=UTC)
    assert o.currency == USD
    assert o.total == usd("29.35")
    assert o.subtotal == usd("18.00")
    assert o.shipping_total == usd("10.00")
    assert o.tax_total == usd("1.35")
    assert o.discount_total == usd("0.00")
    assert o.fees is None
    first, second = o.lines
    assert first.line_id == "315"
    assert first.sku is None  # "" in the payload: a line without SKU never touches stock
    assert first.title == "Woo Single #1"
    assert first.quantity == 2
    assert first.unit_price == usd("3.00")
    assert first.total == usd("6.00")
    assert first.tax == usd("0.45")
    assert first.discount is None
    assert first.channel_ids == {"product_id": "93"}
    assert second.line_id == "316"
    assert second.sku == "Bar3"
    assert second.title == "Ship Your Idea &ndash; Color: Black, Size: M Test"
    assert second.quantity == 1
    assert second.unit_price == usd("12.00")
    assert second.tax == usd("0.90")
    assert second.channel_ids == {"product_id": "22", "variation_id": "23"}
    assert o.customer is not None
    assert o.customer.customer_id is None  # guest checkout (customer_id 0)
    assert o.customer.name == "John Doe"
    assert o.customer.email == "john.doe@example.com"
    assert o.customer.phone == "(555) 555-5555"
    assert o.billing_address is not None
    assert o.billing_address.lines == ("969 Market",)
    assert o.billing_address.city == "San Francisco"
    assert o.billing_address.region == "CA"
    assert o.billing_address.postal_code == "94103"
    assert o.billing_address.country_code == "US"
    assert o.shipping_address is not None
    assert o.shipping_address.name == "John Doe"
    assert o.shipping_address.phone is None
    assert o.refunds == ()
    assert o.shipments == ()
    assert o.raw["order_key"] == "wc_order_58d2d042d1d"
    assert o.raw["shipping_lines"][0]["method_id"] == "flat_rate"


def test_orders_list_processing_order() -> None:
    o = order(load_conformance("woocommerce", "orders.list.response.json")[0])
    _assert_order_727(
        o, status=OrderStatus.OPEN, raw_status="processing", modified="2017-03-22T19:28:08"
    )
    assert [ln.quantity_shipped for ln in o.lines] == [0, 0]
    assert [ln.quantity_open for ln in o.lines] == [2, 1]


def test_orders_retrieve_and_create_response() -> None:
    for name in ("orders.retrieve.response.json", "orders.create.response.json"):
        o = order(load_conformance("woocommerce", name))
        _assert_order_727(
            o, status=OrderStatus.OPEN, raw_status="processing", modified="2017-03-22T19:28:08"
        )


def test_orders_update_response_is_shipped() -> None:
    o = order(load_conformance("woocommerce", "orders.update.response.json"))
    _assert_order_727(
        o, status=OrderStatus.SHIPPED, raw_status="completed", modified="2017-03-22T19:30:35"
    )
    assert [(ln.quantity_shipped, ln.quantity_open) for ln in o.lines] == [(2, 0), (1, 0)]


def test_completed_order_with_refunds_723() -> None:
    raw = load_conformance("woocommerce", "orders.list.response.json")[1]
    o = order(raw)
    assert o.order_id == "723"
    assert o.status is OrderStatus.SHIPPED
    assert o.created_at == datetime(2017, 3, 21, 19, 16, tzinfo=UTC)
    assert o.updated_at == datetime(2017, 3, 21, 19, 54, 51, tzinfo=UTC)
    assert o.total == usd("39.00")
    assert o.customer is not None
    assert o.customer.customer_id == "26"
    assert o.customer.name == "João Silva"
    assert o.billing_address is not None
    assert o.billing_address.country_code == "BR"
    assert o.billing_address.postal_code == "12345-000"
    assert o.billing_address.lines == ("Av. Brasil, 432",)
    assert [(r.refund_id, r.amount) for r in o.refunds] == [
        ("726", usd("10.00")),
        ("724", usd("9.00")),
    ]
    assert [r.reason for r in o.refunds] == [None, None]
    # Completed: every unit shipped; the later refunds do not un-ship them.
    assert [(ln.line_id, ln.quantity_shipped, ln.quantity_cancelled) for ln in o.lines] == [
        ("311", 1, 0),
        ("313", 1, 0),
    ]
    assert [ln.sku for ln in o.lines] == [None, None]


def test_refund_details_make_open_lines_cancelled() -> None:
    raw = copy.deepcopy(load_conformance("woocommerce", "orders.list.response.json")[1])
    raw["status"] = "processing"
    raw["date_completed_gmt"] = None
    refunds = [
        WooRefund.model_validate(r)
        for r in load_conformance("woocommerce", "order-refunds.list.response.json")
    ]
    o = order(raw, refunds=refunds)
    assert o.status is OrderStatus.OPEN
    lines = {ln.line_id: ln for ln in o.lines}
    assert (lines["311"].quantity_cancelled, lines["311"].quantity_open) == (1, 0)
    assert (lines["313"].quantity_cancelled, lines["313"].quantity_open) == (0, 1)
    refund_724 = next(r for r in o.refunds if r.refund_id == "724")
    assert refund_724.amount == usd("9.00")
    assert refund_724.lines == {"311": 1}
    assert refund_724.created_at == datetime(2017, 3, 21, 19, 55, 37, tzinfo=UTC)


def test_orders_batch_response_entries() -> None:
    batch = load_conformance("woocommerce", "orders.batch.response.json")
    created = [order(o) for o in batch["create"]]
    assert [(o.order_id, o.status, o.total) for o in created] == [
        ("728", OrderStatus.PENDING, usd("62.25")),
        ("729", OrderStatus.OPEN, usd("54.40")),
    ]
    assert [ln.sku for ln in created[0].lines] == [None, None, "Bar3"]
    assert created[0].shipping_total == usd("30.00")
    assert created[1].lines[1].channel_ids == {"product_id": "22", "variation_id": "24"}
    assert created[1].updated_at == datetime(2017, 3, 22, 19, 33, 47, tzinfo=UTC)
    (updated,) = [order(o) for o in batch["update"]]
    assert (updated.order_id, updated.status) == ("727", OrderStatus.SHIPPED)
    (deleted,) = [order(o) for o in batch["delete"]]
    assert (deleted.order_id, deleted.status, len(deleted.refunds)) == (
        "723",
        OrderStatus.SHIPPED,
        2,
    )


def test_orders_create_request_is_not_an_order() -> None:
    request = load_conformance("woocommerce", "orders.create.request.json")
    with pytest.raises(ValueError, match="id"):
        WooOrder.model_validate(request)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("pending", OrderStatus.PENDING),
        ("processing", OrderStatus.OPEN),
        ("on-hold", OrderStatus.OPEN),
        ("completed", OrderStatus.SHIPPED),
        ("cancelled", OrderStatus.CANCELLED),
        ("refunded", OrderStatus.REFUNDED),
        ("failed", OrderStatus.CANCELLED),
        ("checkout-draft", OrderStatus.CANCELLED),
        ("trash", OrderStatus.CANCELLED),  # not a custom status: it must release its units
        ("wc-processing", OrderStatus.OPEN),
        ("awaiting-shipment", OrderStatus.OPEN),  # a plugin's custom status: kept open
        ("partially-shipped", OrderStatus.OPEN),
    ],
)
def test_status_map(raw: str, expected: OrderStatus) -> None:
    assert order_status(raw) is expected


def test_custom_status_kept_raw() -> None:
    raw = copy.deepcopy(load_conformance("woocommerce", "orders.retrieve.response.json"))
    raw["status"] = "awaiting-shipment"
    o = order(raw)
    assert (o.status, o.raw_status) == (OrderStatus.OPEN, "awaiting-shipment")
    assert set(STATUS_MAP) >= {"pending", "processing", "on-hold", "completed", "checkout-draft"}


def test_fees_coupons_and_rounded_unit_price() -> None:
    raw = copy.deepcopy(load_conformance("woocommerce", "orders.retrieve.response.json"))
    raw["line_items"][0].update(quantity=3, subtotal="10.00", total="9.00")
    raw["fee_lines"] = [{"id": 900, "name": "Gift wrap", "total": "2.50", "total_tax": "0.00"}]
    raw["coupon_lines"] = [{"id": 901, "code": "spring", "discount": "1.00", "discount_tax": "0"}]
    raw["discount_total"] = "1.00"
    o = order(raw)
    line = o.lines[0]
    assert line.unit_price == usd("3.33")  # at the subtotal's own precision
    assert line.discount == usd("1.00")
    assert o.fees == usd("2.50")
    assert o.discount_total == usd("1.00")
    assert o.tags == ("coupon:spring",)


def test_local_dates_used_only_without_gmt() -> None:
    raw = copy.deepcopy(load_conformance("woocommerce", "orders.retrieve.response.json"))
    del raw["date_created_gmt"]
    del raw["date_modified_gmt"]
    with pytest.raises(ValueError, match="date_created_gmt"):
        order(raw)
    o = order(raw, shop_tz=timezone(timedelta(hours=-3)))
    assert o.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)


def test_tracking_meta_becomes_shipments() -> None:
    raw = copy.deepcopy(load_conformance("woocommerce", "orders.update.response.json"))
    raw["meta_data"].append(
        {
            "id": 1,
            "key": "_wc_shipment_tracking_items",
            "value": [
                {
                    "tracking_provider": "DHL",
                    "custom_tracking_provider": "",
                    "custom_tracking_link": "",
                    "tracking_number": "JD014600003",
                    "date_shipped": "1490212235",
                    "tracking_id": "abc",
                }
            ],
        }
    )
    (shipment,) = order(raw).shipments
    assert shipment == Shipment(
        carrier="DHL",
        tracking_number="JD014600003",
        shipped_at=datetime(2017, 3, 22, 19, 50, 35, tzinfo=UTC),
    )
    assert shipments_from_meta(WooOrder.model_validate(raw).meta_data[:2]) == ()


# -- refunds -------------------------------------------------------------------------------


def test_refund_payloads() -> None:
    created = WooRefund.model_validate(
        load_conformance("woocommerce", "order-refunds.create.response.json")
    )
    retrieved = WooRefund.model_validate(
        load_conformance("woocommerce", "order-refunds.retrieve.response.json")
    )
    for payload in (created, retrieved):
        refund = refund_from_payload(payload, USD)
        assert refund.refund_id == "726"
        assert refund.amount == usd("10.00")
        assert refund.reason is None
        assert refund.created_at == datetime(2017, 3, 21, 20, 7, 11, tzinfo=UTC)
        assert refund.lines == {}
    listed = [
        WooRefund.model_validate(r)
        for r in load_conformance("woocommerce", "order-refunds.list.response.json")
    ]
    assert refunded_quantities(listed) == {"311": 1}


# -- products and variations ---------------------------------------------------------------


def products() -> list[dict[str, Any]]:
    files = [
        "products.list.response.json",
        "products.retrieve.response.json",
        "products.create.response.json",
        "products.create-variable.response.json",
        "products.update.response.json",
    ]
    found: list[dict[str, Any]] = []
    for name in files:
        data = load_conformance("woocommerce", name)
        found += data if isinstance(data, list) else [data]
    batch = load_conformance("woocommerce", "products.batch.response.json")
    return found + batch["create"] + batch["update"] + batch["delete"]


def test_every_published_product_parses_and_none_has_a_sku() -> None:
    got = [WooProduct.model_validate(p) for p in products()]
    assert [(p.id, p.type) for p in got] == [
        (799, "variable"),
        (794, "simple"),
        (794, "simple"),
        (794, "simple"),
        (799, "variable"),
        (794, "simple"),
        (801, "simple"),
        (804, "simple"),
        (799, "variable"),
        (794, "simple"),
    ]
    # The examples carry no SKU: they cannot be synced, and are not listed.
    assert {listing_from_product(p, account="woo-main", currency="USD") for p in got} == {None}


def test_simple_product_with_sku() -> None:
    raw = copy.deepcopy(load_conformance("woocommerce", "products.retrieve.response.json"))
    unmanaged = listing_from_product(
        WooProduct.model_validate({**raw, "sku": "PQ-19"}), account="woo-main", currency="USD"
    )
    assert unmanaged is not None
    assert unmanaged.sku == "PQ-19"
    assert unmanaged.listing_id == "794"
    assert unmanaged.ids == {"product_id": "794"}
    assert unmanaged.title == "Premium Quality"
    assert unmanaged.price == usd("21.99")
    assert unmanaged.manages_stock is False  # reported, not skipped
    assert unmanaged.quantity is None
    managed = listing_from_product(
        WooProduct.model_validate(
            {**raw, "sku": "PQ-19", "manage_stock": True, "stock_quantity": 7}
        ),
        account="woo-main",
        currency="USD",
    )
    assert managed is not None
    assert (managed.manages_stock, managed.quantity) == (True, 7)
    updated = WooProduct.model_validate(
        {**load_conformance("woocommerce", "products.update.response.json"), "sku": "PQ-19"}
    )
    listing = listing_from_product(updated, account="woo-main", currency="USD")
    assert listing is not None
    assert listing.price == usd("24.54")


def test_variable_parent_is_not_a_listing_unless_it_manages_stock() -> None:
    raw = load_conformance("woocommerce", "products.create-variable.response.json")
    parent = WooProduct.model_validate({**raw, "sku": "SYI"})
    assert listing_from_product(parent, account="woo-main", currency="USD") is None
    shared = WooProduct.model_validate(
        {**raw, "sku": "SYI", "manage_stock": True, "stock_quantity": 12}
    )
    listing = listing_from_product(shared, account="woo-main", currency="USD")
    assert listing is not None
    assert (listing.sku, listing.quantity, listing.price) == ("SYI", 12, None)


def variations() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = list(
        load_conformance("woocommerce", "product-variations.list.response.json")
    )
    for name in (
        "product-variations.retrieve.response.json",
        "product-variations.create.response.json",
        "product-variations.update.response.json",
    ):
        found.append(load_conformance("woocommerce", name))
    batch = load_conformance("woocommerce", "product-variations.batch.response.json")
    return found + batch["create"] + batch["update"] + batch["delete"]


def test_every_published_variation() -> None:
    parent = WooProduct.model_validate(
        load_conformance("woocommerce", "products.create-variable.response.json")
    )
    got = [WooVariation.model_validate(v) for v in variations()]
    assert [(v.id, v.regular_price) for v in got] == [
        (733, "9.00"),
        (732, "9.00"),
        (732, "9.00"),
        (732, "9.00"),
        (733, "10.00"),
        (735, "10.00"),
        (736, "10.00"),
        (733, "10.00"),
        (732, "9.00"),
    ]
    assert {listing_from_variation(v, parent, account="woo-main", currency="USD") for v in got} == {
        None
    }
    green = got[0].model_copy(
        update={"sku": "SYI-GREEN", "manage_stock": True, "stock_quantity": 4}
    )
    listing = listing_from_variation(green, parent, account="woo-main", currency="USD")
    assert listing is not None
    assert listing.sku == "SYI-GREEN"
    assert listing.listing_id == "733"
    assert listing.ids == {"product_id": "799", "variation_id": "733"}
    assert listing.title == "Ship Your Idea - Green"
    assert (listing.quantity, listing.price, listing.manages_stock) == (4, usd("9.00"), True)
    inherits = got[1].model_copy(update={"sku": "SYI-BLACK", "manage_stock": "parent"})
    shared = listing_from_variation(inherits, parent, account="woo-main", currency="USD")
    assert shared is not None
    assert (shared.manages_stock, shared.quantity) == (False, None)


# -- writes and small helpers ----------------------------------------------------------------


def test_write_items_match_the_batch_request_examples() -> None:
    example = load_conformance("woocommerce", "product-variations.batch.request.json")["update"][0]
    assert price_item(733, Money.of("10.00", "USD")) == example
    assert stock_item(733, 5) == {"id": 733, "manage_stock": True, "stock_quantity": 5}
    assert price_item(1, Money.of(Decimal("7"), "EUR")) == {"id": 1, "regular_price": "7"}


def test_tracking_body() -> None:
    when = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert tracking_body(Shipment(carrier="DHL", tracking_number="1Z", shipped_at=when)) == {
        "tracking_number": "1Z",
        "tracking_provider": "DHL",
        "date_shipped": "2026-11-23",
    }
    assert tracking_body(
        Shipment(
            carrier="Kurier Nord", tracking_number="KN1", tracking_url="https://kn.example/KN1"
        )
    ) == {
        "tracking_number": "KN1",
        "custom_tracking_provider": "Kurier Nord",
        "custom_tracking_link": "https://kn.example/KN1",
    }


def test_item_error_from_the_real_per_item_shape() -> None:
    failure = WooBatchError.model_validate(
        {
            "id": 999,
            "error": {
                "code": "woocommerce_rest_product_invalid_id",
                "message": "Invalid ID.",
                "data": {"status": 400},
            },
        }
    )
    err = item_error("SKU-9", failure)
    assert (err.key, err.code, err.message, err.retryable) == (
        "SKU-9",
        "woocommerce_rest_product_invalid_id",
        "Invalid ID.",
        False,
    )
    deadlock = WooBatchError.model_validate(
        {
            "id": 5,
            "error": {
                "code": "woocommerce_rest_product_not_created",
                "message": "Deadlock found",
                "data": {"status": 400},
            },
        }
    )
    assert item_error("SKU-5", deadlock).retryable is True


def test_times_and_money() -> None:
    assert parse_gmt("2017-03-22T19:28:02") == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert parse_gmt("") is None
    assert parse_gmt(None) is None
    berlin_noon = datetime(2026, 6, 1, 12, 0, 30, 999, tzinfo=timezone(timedelta(hours=2)))
    assert wc_datetime(berlin_noon) == "2026-06-01T10:00:30"
    with pytest.raises(ValueError, match="naive"):
        wc_datetime(datetime(2026, 6, 1))
    assert money("", "USD") is None
    assert money("12", None) is None
    assert money("12.50", "usd") == usd("12.50")
    with pytest.raises(ValueError, match="decimal"):
        money("twelve", "USD")
