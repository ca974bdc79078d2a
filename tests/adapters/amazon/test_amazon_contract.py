"""``AmazonChannel`` passes the ChannelContract against the Amazon fake."""

from __future__ import annotations

import math

import pytest

from channelsync.adapters.amazon import AmazonChannel
from channelsync.core.models import utcnow
from channelsync.sandbox.amazon import AmazonFake
from channelsync.testing import ChannelContract


class TestAmazonContract(ChannelContract):
    contract_cancel = False  # the SP-API has no seller cancellation
    # Patches go out at Amazon's 5/s: keep the batch test to a dozen listings (the
    # 10,000-SKU feed route is tested in test_amazon_channel.py).
    contract_max_items = 12

    @pytest.fixture(autouse=True)
    def _fake(self, amazon_fake: AmazonFake) -> None:
        self.fake = amazon_fake
        self.channel: AmazonChannel = amazon_fake.channel(account="amazon-eu")

    def make_channel(self) -> AmazonChannel:
        return self.channel

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self.fake.seed_listing(sku, quantity=quantity, price=price)

    def seed_orders(self, count: int) -> list[str]:
        self.fake.seed_listing("CT-ORDER", quantity=100_000, price="5.00")
        return [self.fake.place_order("CT-ORDER") for _ in range(count)]

    def seed_unreadable_order(self) -> str:
        # Amazon types amounts as strings: "12,99" is a valid document, not an amount.
        now = utcnow().replace(microsecond=0)
        stamp = now.isoformat().replace("+00:00", "Z")
        self.fake.seed_order(
            {
                "orderId": "305-9999999-0000001",
                "createdTime": stamp,
                "lastUpdatedTime": stamp,
                "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
                "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
                "orderItems": [
                    {
                        "orderItemId": "9999999000000101",
                        "quantityOrdered": 1,
                        "product": {
                            "asin": "B000000001",
                            "sellerSku": "CT-ORDER",
                            "price": {"unitPrice": {"amount": "12,99", "currencyCode": "EUR"}},
                        },
                    }
                ],
            }
        )
        return "305-9999999-0000001"

    def channel_quantity(self, sku: str) -> int:
        quantity = self.fake.quantity(sku)
        assert quantity is not None
        return quantity

    def stock_write_calls(self) -> int:
        return self.fake.calls["patchListingsItem"] + self.fake.calls["createFeed"]

    def inject(self, fault: str) -> None:
        assert fault in ("throttle", "server_error")
        self.fake.inject(fault, operation="searchListingsItems")  # type: ignore[arg-type]

    def signed_webhook(self) -> None:
        return None  # Amazon sends notifications through SQS, not signed HTTP webhooks

    def expected_stock_calls(self, items: int) -> int:
        if self.channel.route_for(items) == "patch":
            return items
        return math.ceil(items / self.channel.limits.stock_batch)
