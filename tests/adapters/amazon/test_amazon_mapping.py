"""Mapping of real SP-API payloads (../shared/conformance/amazon) with concrete values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.conftest import load_conformance

from channelsync.adapters.amazon.feeds import ListingsFeed
from channelsync.adapters.amazon.mapping import (
    confirm_shipment_body,
    json_number,
    listing_from_item,
    listing_from_payload,
    order_from_payload,
    price_patch,
    stock_patch,
)
from channelsync.adapters.amazon.payloads import (
    ItemSearchResults,
    OrderChangeNotification,
    ProcessingReport,
)
from channelsync.core.models import Address, Customer, Money, OrderStatus, Shipment

ACCOUNT = "amazon-test"


def _search_example() -> list[dict[str, Any]]:
    return list(
        load_conformance("amazon", "orders-2026-01-01.searchOrders.response-200.example.json")[
            "orders"
        ]
    )


def _static(name: str) -> list[dict[str, Any]]:
    cases = load_conformance("amazon", name)
    return [c["response"] for c in cases["200"]]


def _all_v2026_orders() -> list[dict[str, Any]]:
    orders = _search_example()
    orders.append(
        load_conformance("amazon", "orders-2026-01-01.getOrder.response-200.example.json")["order"]
    )
    for page in _static("orders-2026-01-01.searchOrders.sandbox-static.json"):
        orders.extend(page["orders"])
    for body in _static("orders-2026-01-01.getOrder.sandbox-static.json"):
        orders.append(body["order"])
    return orders


def test_every_v2026_order_payload_maps() -> None:
    orders = _all_v2026_orders()
    assert len(orders) == 8
    mapped = {o.order_id: o for o in (order_from_payload(p, account=ACCOUNT) for p in orders)}
    assert sorted(mapped) == [
        "028-1234567-8901234",
        "114-9876543-1234567",
        "123-4567890-1234567",
        "171-2345678-9012345",
        "171-9876543-2109876",
        "202-1234567-8901234",
        "202-7654321-1098765",
        "250-1234567-8901234",
    ]
    assert {oid: o.status for oid, o in mapped.items()} == {
        "028-1234567-8901234": OrderStatus.SHIPPED,
        "114-9876543-1234567": OrderStatus.OPEN,
        "123-4567890-1234567": OrderStatus.SHIPPED,
        "171-2345678-9012345": OrderStatus.OPEN,
        "171-9876543-2109876": OrderStatus.OPEN,
        "202-1234567-8901234": OrderStatus.SHIPPED,
        "202-7654321-1098765": OrderStatus.SHIPPED,
        "250-1234567-8901234": OrderStatus.SHIPPED,
    }
    assert {oid: str(o.total) for oid, o in mapped.items()} == {
        "028-1234567-8901234": "125.00 TRY",
        "114-9876543-1234567": "49.99 USD",
        "123-4567890-1234567": "154.99 USD",
        "171-2345678-9012345": "1599.90 BRL",
        "171-9876543-2109876": "299.90 BRL",
        "202-1234567-8901234": "103.97 GBP",
        "202-7654321-1098765": "34.99 GBP",
        "250-1234567-8901234": "19940 JPY",
    }
    for order in mapped.values():
        assert order.kind == "amazon"
        assert order.account == ACCOUNT
        assert order.raw["orderId"] == order.order_id
        assert order.created_at.tzinfo is not None


def test_us_business_prime_order_in_full() -> None:
    order = order_from_payload(_search_example()[0], account=ACCOUNT)
    assert order.order_id == "123-4567890-1234567"
    assert order.number == "123-4567890-1234567"
    assert order.raw_status == "SHIPPED"
    assert order.created_at == datetime(2024, 12, 25, 10, 30, tzinfo=UTC)
    assert order.updated_at == datetime(2024, 12, 25, 14, 45, tzinfo=UTC)
    assert order.currency == "USD"
    assert order.total == Money.of("154.99", "USD")
    assert set(order.tags) >= {"prime", "business", "fbm", "marketplace:ATVPDKIKX0DER"}
    assert "seller_order_id:SELLER-ORDER-2024-001" in order.tags
    assert order.customer == Customer(name="John Smith", email="buyer-email@marketplace.amazon.com")
    assert order.shipping_address == Address(
        name="John Smith",
        company="Smith Industries LLC",
        lines=("123 Main Street", "Suite 456"),
        city="Seattle",
        postal_code="98101",
        region="WA",
        country_code="US",
        phone="555-123-4567",
    )
    first, second = order.lines
    assert (first.line_id, first.sku, first.quantity) == (
        "12345678901234",
        "ECHO-DOT-4-CHARCOAL",
        2,
    )
    assert first.unit_price == Money.of("49.99", "USD")
    assert first.total == Money.of("100.00", "USD")
    assert first.tax == Money.of("0.02", "USD")
    assert (first.quantity_shipped, first.quantity_cancelled) == (2, 0)
    assert first.fulfilled_by_channel is False
    assert first.channel_ids == {"orderItemId": "12345678901234", "asin": "B08N5WRWNW"}
    assert (second.sku, second.quantity, second.quantity_shipped) == ("FIRE-TV-4K-2021", 1, 1)
    assert order.shipments == (
        Shipment(
            carrier="UPS",
            tracking_number="1Z999AA1234567890",
            shipped_at=datetime(2024, 12, 25, 14, 0, tzinfo=UTC),
            lines={"12345678901234": 2, "12345678901235": 1},
        ),
    )


def test_uk_order_breakdowns() -> None:
    body = load_conformance("amazon", "orders-2026-01-01.getOrder.response-200.example.json")
    order = order_from_payload(body["order"], account=ACCOUNT)
    assert order.subtotal == Money.of("89.97", "GBP")
    assert order.shipping_total == Money.of("10.00", "GBP")
    assert order.tax_total == Money.of("4.00", "GBP")
    assert order.discount_total is None
    (line,) = order.lines
    assert line.sku == "ECHO-DOT-4-UK-CHARCOAL-3PACK"
    assert (line.quantity, line.quantity_shipped, line.quantity_open) == (3, 3, 0)
    assert order.shipments[0].carrier == "Royal Mail"
    assert order.shipments[0].tracking_number == "RR123456789GB"


def test_fba_order_lines_never_touch_our_stock() -> None:
    page = _static("orders-2026-01-01.searchOrders.sandbox-static.json")[0]
    order = order_from_payload(page["orders"][0], account=ACCOUNT)
    assert order.order_id == "250-1234567-8901234"
    assert "fba" in order.tags
    assert [ln.fulfilled_by_channel for ln in order.lines] == [True, True]
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in order.lines] == [
        ("ECHO-DOT-4-JP-CHARCOAL", 1, Money.of("5980", "JPY")),
        ("FIRE-TV-4K-MAX-JP", 2, Money.of("6980", "JPY")),
    ]


def test_unshipped_brazil_business_order() -> None:
    page = _static("orders-2026-01-01.searchOrders.sandbox-static.json")[2]
    order = order_from_payload(page["orders"][0], account=ACCOUNT)
    assert order.status is OrderStatus.OPEN
    assert order.customer == Customer(
        name="Carlos Oliveira", email="buyer-email@marketplace.amazon.com.br"
    )
    assert order.shipping_address is not None
    assert order.shipping_address.city == "São Paulo"
    assert order.shipping_address.lines == ("Avenida Paulista, 1000", "Sala 301")
    (line,) = order.lines
    assert (line.sku, line.quantity_open, line.quantity_cancelled) == ("DELL-I15-BR-001", 1, 0)
    assert "business" in order.tags
    assert order.shipments == ()


def test_order_without_buyer_maps_without_inventing_one() -> None:
    body = _static("orders-2026-01-01.getOrder.sandbox-static.json")[2]["order"]
    assert "buyer" not in body
    order = order_from_payload(body, account=ACCOUNT)
    assert order.order_id == "114-9876543-1234567"
    assert order.customer is None
    assert order.lines[0].sku == "ECHO-POP-US-BLK"


def test_pending_order_without_buyer_address_or_totals_maps_cleanly() -> None:
    body = {
        "orderId": "305-0000000-0000001",
        "createdTime": "2026-11-23T10:00:00Z",
        "lastUpdatedTime": "2026-11-23T10:00:05Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
        "fulfillment": {"fulfillmentStatus": "PENDING", "fulfilledBy": "MERCHANT"},
        "orderItems": [
            {
                "orderItemId": "1",
                "quantityOrdered": 2,
                "product": {"asin": "B000000001", "sellerSku": "SKU-1"},
            }
        ],
    }
    order = order_from_payload(body, account=ACCOUNT)
    assert order.status is OrderStatus.PENDING
    assert order.total is None
    assert order.subtotal is None
    assert order.customer is None
    assert order.shipping_address is None
    assert order.currency == "EUR"  # from the marketplace, not invented amounts
    (line,) = order.lines
    assert (line.sku, line.quantity, line.unit_price, line.total) == ("SKU-1", 2, None, None)
    assert line.quantity_open == 2


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("PENDING_AVAILABILITY", OrderStatus.PENDING),
        ("PENDING", OrderStatus.PENDING),
        ("UNSHIPPED", OrderStatus.OPEN),
        ("PARTIALLY_SHIPPED", OrderStatus.PARTIALLY_SHIPPED),
        ("SHIPPED", OrderStatus.SHIPPED),
        ("CANCELLED", OrderStatus.CANCELLED),
        ("UNFULFILLABLE", OrderStatus.CANCELLED),
        ("SOMETHING_NEW", OrderStatus.PENDING),
    ],
)
def test_fulfillment_statuses(status: str, expected: OrderStatus) -> None:
    body = {
        "orderId": "1",
        "createdTime": "2026-01-01T00:00:00Z",
        "lastUpdatedTime": "2026-01-01T00:00:00Z",
        "salesChannel": {"channelName": "AMAZON"},
        "fulfillment": {"fulfillmentStatus": status},
        "orderItems": [],
    }
    assert order_from_payload(body, account=ACCOUNT).status is expected


def test_cancelled_and_partly_cancelled_lines() -> None:
    def item(item_id: str, ordered: int, fulfilled: int, unfulfilled: int) -> dict[str, Any]:
        return {
            "orderItemId": item_id,
            "quantityOrdered": ordered,
            "product": {"sellerSku": f"S{item_id}"},
            "fulfillment": {"quantityFulfilled": fulfilled, "quantityUnfulfilled": unfulfilled},
        }

    base = {
        "orderId": "2",
        "createdTime": "2026-01-01T00:00:00Z",
        "lastUpdatedTime": "2026-01-02T00:00:00Z",
        "salesChannel": {"channelName": "AMAZON"},
    }
    partial = order_from_payload(
        {
            **base,
            "fulfillment": {"fulfillmentStatus": "PARTIALLY_SHIPPED"},
            "orderItems": [item("1", 3, 1, 1)],
        },
        account=ACCOUNT,
    )
    (line,) = partial.lines
    assert (line.quantity_shipped, line.quantity_cancelled, line.quantity_open) == (1, 1, 1)
    cancelled = order_from_payload(
        {
            **base,
            "fulfillment": {"fulfillmentStatus": "CANCELLED"},
            "orderItems": [item("1", 2, 0, 0)],
        },
        account=ACCOUNT,
    )
    assert cancelled.lines[0].quantity_cancelled == 2
    assert cancelled.lines[0].quantity_open == 0


# -- listings --------------------------------------------------------------------------------


def test_listing_from_get_listings_item_example() -> None:
    payload = load_conformance(
        "amazon", "listings-2021-08-01.getListingsItem.response-200.example.json"
    )
    listing = listing_from_payload(payload, account=ACCOUNT, marketplace_ids=["ATVPDKIKX0DER"])
    assert listing.sku == "GM-ZDPI-9B4E"
    assert listing.listing_id == "GM-ZDPI-9B4E"
    assert listing.quantity == 100
    assert listing.price == Money.of("100.00", "USD")
    assert listing.title == "Hardside Carry-On Spinner Suitcase Luggage"
    assert listing.fulfilled_by == "merchant"
    assert listing.ids == {
        "marketplaceId": "ATVPDKIKX0DER",
        "productType": "LUGGAGE",
        "asin": "B071VG5N9D",
    }
    canada = listing_from_payload(payload, account=ACCOUNT, marketplace_ids=["A2EUQ1WTGCTBG2"])
    assert canada.price == Money.of("130.00", "CAD")
    assert canada.ids["marketplaceId"] == "A2EUQ1WTGCTBG2"


def test_listing_from_samples_repo_and_search_results() -> None:
    sample = load_conformance("amazon", "samples-repo.listings-getListingsItem.json")
    listing = listing_from_payload(sample, account=ACCOUNT, marketplace_ids=["A2Q3Y263D00KWC"])
    assert (listing.sku, listing.quantity, listing.price) == ("TEST-SKU-001", 100, None)
    assert listing.ids["productType"] == "PRODUCT"
    search = load_conformance(
        "amazon", "listings-2021-08-01.searchListingsItems.response-200.example.json"
    )
    results = ItemSearchResults.model_validate(search)
    assert results.number_of_results == 3
    assert results.pagination is not None
    assert (
        results.pagination.next_token == "xsdflkj324lkjsdlkj3423klkjsdfkljlk2j34klj2l3k4jlksdjl234"
    )
    (listing,) = [
        listing_from_item(item, account=ACCOUNT, marketplace_ids=["ATVPDKIKX0DER"])
        for item in results.items
    ]
    assert (listing.sku, listing.quantity, listing.price) == (
        "GM-ZDPI-9B4E",
        100,
        Money.of("100.00", "USD"),
    )


def test_fba_listing_is_channel_fulfilled() -> None:
    payload = {
        "sku": "FBA-1",
        "summaries": [
            {
                "marketplaceId": "A1PA6795UKMFR9",
                "productType": "SHOES",
                "status": ["BUYABLE"],
                "createdDate": "2025-01-01T00:00:00Z",
                "lastUpdatedDate": "2025-01-01T00:00:00Z",
                "fnSku": "X001",
            }
        ],
        "fulfillmentAvailability": [{"fulfillmentChannelCode": "AMAZON_EU", "quantity": 40}],
    }
    listing = listing_from_payload(payload, account=ACCOUNT, marketplace_ids=["A1PA6795UKMFR9"])
    assert listing.fulfilled_by == "channel"
    assert listing.quantity == 40
    assert listing.ids["fulfillmentChannelCode"] == "AMAZON_EU"


# -- writes ------------------------------------------------------------------------------------


def test_stock_patch_matches_the_feed_example_shape() -> None:
    example = load_conformance("amazon", "listings-feed-v2.example.json")
    replace, merge = example["messages"][3]["patches"][0], example["messages"][4]["patches"][0]
    assert stock_patch(10, "replace") == replace
    assert stock_patch(10, "merge") == merge
    with pytest.raises(ValueError, match="negative"):
        stock_patch(-1)


def test_price_patch_matches_the_guide_example() -> None:
    guide = load_conformance(
        "amazon", "listings-2021-08-01.patchListingsItem.request.guide-example.json"
    )
    offer = guide["patches"][1]
    ours = price_patch(Money.of("15.00", "USD"), ["ATVPDKIKX0DER"])
    assert ours["path"] == offer["path"]
    assert ours["value"][0]["our_price"] == offer["value"][0]["our_price"]
    assert ours["value"][0]["currency"] == "USD"
    assert json_number(Decimal("19.99")) == 19.99
    assert json_number(Decimal("20.00")) == 20


def test_confirm_shipment_body_matches_the_sandbox_request() -> None:
    case = load_conformance("amazon", "orders-v0.confirmShipment.sandbox-static.json")["204"][0]
    expected = case["request"]["parameters"]["body"]["value"]
    order = order_from_payload(
        {
            "orderId": "902-1106328-1059050",
            "createdTime": "2022-02-10T00:00:00Z",
            "lastUpdatedTime": "2022-02-10T00:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "ATVPDKIKX0DER"},
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
            "orderItems": [
                {
                    "orderItemId": "79039765272157",
                    "quantityOrdered": 1,
                    "product": {"sellerSku": "X"},
                    "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": 1},
                }
            ],
        },
        account=ACCOUNT,
    )
    body = confirm_shipment_body(
        order,
        Shipment(
            carrier="FedEx",
            tracking_number="112345678",
            shipped_at=datetime(2022, 2, 11, 1, 0, tzinfo=UTC),
        ),
        marketplace_id="ATVPDKIKX0DER",
        package_reference_id="1",
    )
    detail, want = body["packageDetail"], expected["packageDetail"]
    assert body["marketplaceId"] == expected["marketplaceId"]
    for key in ("packageReferenceId", "carrierCode", "carrierName", "trackingNumber", "shipDate"):
        assert detail[key] == want[key], key
    assert detail["orderItems"] == [{"orderItemId": "79039765272157", "quantity": 1}]
    other = confirm_shipment_body(
        order,
        Shipment(carrier="Hermes Germany Local", tracking_number="H1"),
        marketplace_id="ATVPDKIKX0DER",
        package_reference_id="2",
    )
    assert other["packageDetail"]["carrierCode"] == "Other"
    assert other["packageDetail"]["carrierName"] == "Hermes Germany Local"
    with pytest.raises(ValueError, match="tracking number"):
        confirm_shipment_body(
            order, Shipment(carrier="DHL"), marketplace_id="X", package_reference_id="3"
        )


# -- feeds and notifications -------------------------------------------------------------------


def test_processing_report_example_maps_issues_to_skus() -> None:
    report = ProcessingReport.model_validate(
        load_conformance("amazon", "listings-feed-processing-report-v2.example.json")
    )
    assert report.summary.messages_invalid == 2
    feed = ListingsFeed("AXXXXXXXXXXXX")
    for sku in ("My-SKU-A", "My-SKU-B", "My-SKU-C", "My-SKU-D", "My-SKU-E"):
        feed.patch(sku, "LUGGAGE", [stock_patch(10)])
    outcomes = feed.outcome(report)
    # Issues name messageId 4 and 5: the SKUs we sent under those ids carry them.
    assert {sku for sku, o in outcomes.items() if not o.ok} == {"My-SKU-D", "My-SKU-E"}
    assert [i.code for i in outcomes["My-SKU-D"].errors] == ["90220", "90220"]
    assert [i.code for i in outcomes["My-SKU-E"].errors] == ["99022"]


def test_feed_document_is_utf8_and_valid_json() -> None:
    feed = ListingsFeed("A1SELLER", issue_locale="de_DE")
    feed.patch("SKU-ÄÖÜ-€", "PRODUCT", [stock_patch(3)])
    raw = feed.document()
    assert "€".encode() in raw
    doc = json.loads(raw.decode("utf-8"))
    assert doc["header"] == {"sellerId": "A1SELLER", "version": "2.0", "issueLocale": "de_DE"}
    assert doc["messages"][0]["sku"] == "SKU-ÄÖÜ-€"
    assert doc["messages"][0]["operationType"] == "PATCH"


@pytest.mark.parametrize(
    ("name", "order_id", "notification_id"),
    [
        (
            "notification.ORDER_CHANGE.example.json",
            "903-8868176-2219830",
            "d0e9e693-c3ad-4373-979f-ed4ec98dd746",
        ),
        (
            "notification.ORDER_CHANGE.shipped.sample.json",
            "701-1588164-9632243",
            "fb7a833f-bcb7-48b7-8f0b-10397b015af8",
        ),
    ],
)
def test_order_change_notifications_read(name: str, order_id: str, notification_id: str) -> None:
    note = OrderChangeNotification.model_validate(load_conformance("amazon", name))
    assert note.notification_type == "ORDER_CHANGE"
    assert note.payload.order_change_notification.amazon_order_id == order_id
    assert note.notification_metadata.notification_id == notification_id
