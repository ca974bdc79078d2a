"""One order that cannot be read never blocks the others: it becomes an ``OrderFailure``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from channelsync.adapters.shopify import ShopifyChannel, ShopifyConfig
from channelsync.core.channel import OrderFailure
from channelsync.core.errors import Rejected
from channelsync.core.models import Order
from channelsync.sandbox.shopify import ShopifyFake


def _rest_order(order_id: int, at: str, currency: str = "USD") -> dict[str, Any]:
    money = {"amount": "12.50", "currency_code": currency}
    return {
        "id": order_id,
        "created_at": at,
        "updated_at": at,
        "currency": currency,
        "total_price": "12.50",
        "line_items": [
            {
                "id": order_id * 10,
                "sku": "MUG",
                "title": "Mug",
                "quantity": 1,
                "price": "12.50",
                "price_set": {"shop_money": money, "presentment_money": money},
            }
        ],
    }


def test_an_order_in_a_currency_channelsync_does_not_know_is_a_failure_in_its_place(
    fake: ShopifyFake, channel: ShopifyChannel
) -> None:
    # Shopify's CurrencyCode enum has codes outside ISO 4217: XXX ("unrecognized
    # currency"), JEP, KID. An order in one cannot become channelsync Money.
    fake.seed_order(_rest_order(1001, "2026-02-01T10:00:00Z"))
    fake.seed_order(_rest_order(1002, "2026-02-01T11:00:00Z", currency="XXX"))
    fake.seed_order(_rest_order(1003, "2026-02-01T12:00:00Z"))

    got = list(channel.fetch_orders(datetime(2026, 1, 1, tzinfo=UTC)))

    assert [type(x) for x in got] == [Order, OrderFailure, Order]
    first, failure, last = got
    assert isinstance(first, Order)
    assert isinstance(last, Order)
    assert (first.order_id, last.order_id) == ("1001", "1003")
    assert isinstance(failure, OrderFailure)
    assert failure.order_id == "1002"
    assert failure.updated_at == datetime(2026, 2, 1, 11, 0, tzinfo=UTC)
    assert "order 1002 cannot be read" in failure.error
    assert "Money.currency: currency 'XXX' is not an ISO 4217 code" in failure.error
    assert failure.raw["currencyCode"] == "XXX"
    assert failure.raw["legacyResourceId"] == "1002"
    assert fake.calls["orders"] == 1  # one page, read to its end


def _node(n: int, updated: str) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Order/{n}",
        "legacyResourceId": str(n),
        "name": f"#{n}",
        "createdAt": "2026-03-01T08:00:00Z",
        "updatedAt": updated,
        "cancelledAt": None,
        "displayFinancialStatus": "PAID",
        "displayFulfillmentStatus": "UNFULFILLED",
        "currencyCode": "EUR",
        "email": "buyer@example.com",
        "lineItems": {
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{n}1",
                    "sku": "MUG",
                    "name": "Mug",
                    "quantity": 2,
                    "currentQuantity": 2,
                    "unfulfilledQuantity": 2,
                }
            ],
        },
        "fulfillmentsCount": {"count": 0, "precision": "EXACT"},
        "refunds": [],
    }


def _channel_serving(pages: list[dict[str, Any]]) -> ShopifyChannel:
    answers = iter(pages)

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["operationName"] == "Orders"
        return httpx.Response(200, json={"data": {"orders": next(answers)}})

    config = ShopifyConfig(
        account="shopify-main",
        shop="failures.myshopify.com",
        access_token="shpat_token",
        webhook_secret="shpss_secret",
    )
    return ShopifyChannel(config, transport=httpx.MockTransport(handler))


def test_a_malformed_node_does_not_fail_its_page_and_paging_goes_on() -> None:
    bad = _node(2, "2026-03-01T09:30:00Z")
    bad["lineItems"]["nodes"][0]["quantity"] = "two"
    no_time = _node(3, "2026-03-01T09:45:00Z")
    del no_time["createdAt"]
    channel = _channel_serving(
        [
            {
                "pageInfo": {"hasNextPage": True, "endCursor": "c1"},
                "nodes": [_node(1, "2026-03-01T09:00:00Z"), bad, no_time],
            },
            {
                "pageInfo": {"hasNextPage": False, "endCursor": "c2"},
                "nodes": [_node(4, "2026-03-01T10:00:00Z")],
            },
        ]
    )
    got = list(channel.fetch_orders(datetime(2026, 3, 1, tzinfo=UTC)))
    assert [type(x) for x in got] == [Order, OrderFailure, OrderFailure, Order]
    assert [x.order_id for x in got] == ["1", "2", "3", "4"]
    quantity, created = got[1], got[2]
    assert isinstance(quantity, OrderFailure)
    assert isinstance(created, OrderFailure)
    assert "GqlOrder.lineItems.nodes.0.quantity: Input should be a valid integer" in (
        quantity.error
    )
    assert quantity.updated_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert "GqlOrder.createdAt: Field required" in created.error
    assert "buyer@example.com" not in quantity.error + created.error
    channel.close()


def test_a_page_whose_envelope_does_not_read_still_raises() -> None:
    channel = _channel_serving([{"nodes": [_node(1, "2026-03-01T09:00:00Z")]}])
    with pytest.raises(Rejected, match="pageInfo"):
        list(channel.fetch_orders(datetime(2026, 3, 1, tzinfo=UTC)))
    channel.close()
