"""Pure mapping of Trading XML and REST models (payloads: see payloads.py for provenance)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tests.adapters.ebay import payloads

from channelsync.adapters.ebay.mapping import (
    ack_of,
    complete_sale_request,
    errors_of,
    format_time,
    inventory_status_results,
    listing_from_inventory,
    listings_page,
    order_from_xml,
    orders_page,
    parse_time,
    parse_xml,
    revise_inventory_status_request,
)
from channelsync.adapters.ebay.payloads import InventoryItems, Offers
from channelsync.core.models import Money, OrderStatus


def _order(xml: str):  # type: ignore[no-untyped-def]
    return order_from_xml(parse_xml(xml.encode()), "ebay-de")


def test_two_transactions_become_two_lines_with_variation_sku_first() -> None:
    order = _order(payloads.TWO_LINE_ORDER)
    assert order.order_id == "05-11111-22222"
    assert order.status is OrderStatus.OPEN
    assert order.raw_status == "Completed/Complete/NotApplicable"
    assert [ln.line_id for ln in order.lines] == [
        "110000000011-2900000000101",
        "110000000012-2900000000102",
    ]
    shirt, mug = order.lines
    assert shirt.sku == "SHIRT-GREEN-M"  # Variation.SKU over Item.SKU (SHIRT-PARENT)
    assert shirt.title == "T-Shirt „Grün & Blau“[Grün,M]"
    assert shirt.quantity == 2
    assert shirt.unit_price == Money.of("19.99", "EUR")
    assert shirt.total == Money.of("39.98", "EUR")
    assert shirt.tax == Money.of("6.38", "EUR")
    assert shirt.channel_ids == {
        "item_id": "110000000011",
        "transaction_id": "2900000000101",
        "variation_sku": "SHIRT-GREEN-M",
    }
    assert mug.sku == "MUG-WHITE"
    assert mug.title == "Tasse <Weiß>"
    assert order.total == Money.of("64.97", "EUR")
    assert order.subtotal == Money.of("59.98", "EUR")
    assert order.shipping_total == Money.of("4.99", "EUR")
    assert order.currency == "EUR"
    assert order.created_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def test_address_and_buyer_with_umlauts_ampersand_and_withheld_fields() -> None:
    order = _order(payloads.TWO_LINE_ORDER)
    address = order.shipping_address
    assert address is not None
    assert address.name == "Jörg Müller & Söhne"
    assert address.lines == ("Königsallee 12 <Hinterhaus>", "c/o Bäckerei Weiß")
    assert address.city == "Düsseldorf"
    assert address.postal_code == "40212"
    assert address.region == "Nordrhein-Westfalen"
    assert address.country_code == "DE"
    assert address.phone is None  # "Invalid Request": eBay withholds it
    assert order.customer is not None
    assert order.customer.customer_id == "joerg_m"
    assert order.customer.name == "Jörg Müller"
    assert order.customer.email == "joerg@example.de"
    assert order.raw["ShippingAddress"]["Name"] == "Jörg Müller & Söhne"
    assert order.raw["Total"] == {"@currencyID": "EUR", "#text": "64.97"}


def test_unpaid_order_is_pending_in_its_own_currency() -> None:
    order = _order(payloads.UNPAID_ORDER)
    assert order.status is OrderStatus.PENDING
    assert order.total == Money.of("12.50", "USD")
    assert order.lines[0].line_id == "120000000001-0"
    assert order.lines[0].quantity_shipped == 0


def test_transaction_shipped_time_marks_only_that_line() -> None:
    order = _order(payloads.PARTLY_SHIPPED_ORDER)
    assert order.status is OrderStatus.PARTIALLY_SHIPPED
    assert [(ln.sku, ln.quantity_shipped) for ln in order.lines] == [("A-1", 1), ("B-2", 0)]
    assert len(order.shipments) == 1
    shipment = order.shipments[0]
    assert shipment.carrier == "DHL"
    assert shipment.tracking_number == "00340434161094042557"
    assert shipment.lines == {"130000000001-1": 1}
    assert shipment.shipped_at == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
    assert order.updated_at == datetime(2026, 11, 22, 7, 0, tzinfo=UTC)


def test_cancelled_order_with_refund() -> None:
    order = _order(payloads.CANCELLED_ORDER)
    assert order.status is OrderStatus.CANCELLED
    assert order.raw_status == "Cancelled/Complete/CancelComplete"
    assert len(order.refunds) == 1
    refund = order.refunds[0]
    assert refund.refund_id == "REF-9"
    assert refund.amount == Money.of("15.00", "GBP")
    assert refund.created_at == datetime(2026, 11, 21, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cancel", "status"),
    [
        ("CancelClosedWithRefund", OrderStatus.CANCELLED),
        ("CancelClosedNoRefund", OrderStatus.CANCELLED),
        ("CancelClosedUnknownRefund", OrderStatus.CANCELLED),  # refunded outside eBay
        ("CancelClosedForCommitment", OrderStatus.CANCELLED),  # unpaid, cancelled
        ("CancelRequested", OrderStatus.OPEN),
        ("CancelPending", OrderStatus.OPEN),
        ("CancelRejected", OrderStatus.OPEN),
        ("CancelFailed", OrderStatus.OPEN),
    ],
)
def test_every_closed_cancellation_releases_the_units(cancel: str, status: OrderStatus) -> None:
    # The order-level OrderStatus can lag behind (Completed while CancelStatus already says
    # the cancellation closed): a closed cancellation must not keep the units committed.
    xml = payloads.TWO_LINE_ORDER.replace(
        "<CancelStatus>NotApplicable</CancelStatus>", f"<CancelStatus>{cancel}</CancelStatus>"
    )
    assert _order(xml).status is status


def test_orders_page_reads_pagination() -> None:
    root = parse_xml(
        payloads.get_orders_response(payloads.UNPAID_ORDER, payloads.CANCELLED_ORDER, has_more=True)
    )
    page = orders_page(root)
    assert len(page.orders) == 2
    assert page.has_more is True
    assert page.total_pages == 2
    assert page.page_number == 1


def test_listings_page_maps_variations_and_skips_auctions_and_skuless() -> None:
    page = listings_page(parse_xml(payloads.MY_EBAY_SELLING), "ebay-de")
    assert page.total_pages == 3
    assert page.skipped == 2
    by_sku = {lst.sku: lst for lst in page.listings}
    assert list(by_sku) == ["MUG-WHITE", "SHIRT-GREEN-M", "SHIRT-GREEN-L"]
    mug = by_sku["MUG-WHITE"]
    assert mug.quantity == 7
    assert mug.price == Money.of("20.00", "EUR")
    assert mug.title == "Tasse <Weiß> & Untersetzer"
    assert mug.ids == {"world": "trading", "item_id": "110000000012", "tracking": "ItemID"}
    assert by_sku["SHIRT-GREEN-M"].quantity == 3  # Quantity 5 - QuantitySold 2
    assert by_sku["SHIRT-GREEN-L"].price == Money.of("21.99", "EUR")
    assert by_sku["SHIRT-GREEN-L"].ids["variation_sku"] == "SHIRT-GREEN-L"
    assert by_sku["SHIRT-GREEN-L"].listing_id == "110000000011"


def test_revise_results_and_item_errors() -> None:
    root = parse_xml(payloads.REVISE_MIXED)
    assert ack_of(root) == "Failure"
    results = inventory_status_results(root)
    assert [(r.item_id, r.sku, r.quantity) for r in results] == [
        ("110000000012", "MUG-WHITE", 8),
        ("110000000011", "SHIRT-GREEN-M", 6),
    ]
    (error,) = errors_of(root)
    assert error.code == "17"
    assert error.severity == "Error"
    assert error.parameters == ("999999999999",)
    assert error.classification == "RequestError"


def test_request_builders() -> None:
    request = revise_inventory_status_request(
        [{"ItemID": "1", "SKU": None, "Quantity": "3", "StartPrice": None}]
    )
    assert request == {"InventoryStatus": [{"ItemID": "1", "Quantity": "3"}]}
    with pytest.raises(ValueError, match="1 to 4"):
        revise_inventory_status_request([{"ItemID": str(i)} for i in range(5)])
    sale = complete_sale_request(
        order_id="05-1",
        carrier="DHL",
        tracking_number="123",
        shipped_at=datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC),
    )
    assert sale == {
        "Shipped": "true",
        "OrderID": "05-1",
        "Shipment": {
            "ShipmentTrackingDetails": {
                "ShipmentTrackingNumber": "123",
                "ShippingCarrierUsed": "DHL",
            },
            "ShippedTime": "2026-11-23T12:00:00.123Z",
        },
    }
    untracked = complete_sale_request(
        order_line_item_id="1-2", carrier="DHL", tracking_number=None, shipped_at=None
    )
    assert untracked == {"Shipped": "true", "OrderLineItemID": "1-2"}


def test_times_round_trip_in_gmt() -> None:
    when = parse_time("2026-11-23T12:34:56.789Z")
    assert when == datetime(2026, 11, 23, 12, 34, 56, 789000, tzinfo=UTC)
    assert when is not None
    assert format_time(when) == "2026-11-23T12:34:56.789Z"
    assert parse_time("not a time") is None


def test_hostile_xml_is_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>'
    )
    root = parse_xml(bomb)
    assert "aaaaaaaaaa" not in (root.text or "")
    with pytest.raises(ValueError, match="not well-formed"):
        parse_xml(b"<r><unclosed></r>")


def test_inventory_listing_uses_the_published_fixed_price_offer() -> None:
    items = InventoryItems.model_validate(
        {
            "inventoryItems": [
                {
                    "sku": "INV-1",
                    "product": {"title": "Füller & Tinte"},
                    "availability": {"shipToLocationAvailability": {"quantity": 12}},
                }
            ]
        }
    )
    offers = Offers.model_validate(
        {
            "offers": [
                {"offerId": "1", "sku": "INV-1", "format": "AUCTION", "status": "PUBLISHED"},
                {
                    "offerId": "2",
                    "sku": "INV-1",
                    "marketplaceId": "EBAY_DE",
                    "format": "FIXED_PRICE",
                    "availableQuantity": 10,
                    "pricingSummary": {"price": {"value": "7.50", "currency": "EUR"}},
                    "listing": {"listingId": "110000000099", "listingStatus": "ACTIVE"},
                    "status": "PUBLISHED",
                },
            ]
        }
    )
    listing = listing_from_inventory(items.inventoryItems[0], offers.offers, "ebay-de", "EBAY_DE")
    assert listing is not None
    assert listing.quantity == 10
    assert listing.price == Money(amount=Decimal("7.50"), currency="EUR")
    assert listing.title == "Füller & Tinte"
    assert listing.listing_id == "110000000099"
    assert listing.ids == {"world": "inventory_api", "offer_id": "2", "item_id": "110000000099"}
    unpublished = Offers.model_validate(
        {"offers": [{"offerId": "3", "sku": "INV-1", "status": "UNPUBLISHED"}]}
    )
    assert (
        listing_from_inventory(items.inventoryItems[0], unpublished.offers, "ebay-de", "EBAY_DE")
        is None
    )
