"""``AmazonChannel`` passes the ChannelContract against the Amazon fake."""

from __future__ import annotations

import math

import pytest

from channelsync.adapters.amazon import AmazonChannel
from channelsync.sandbox.amazon import AmazonFake
from channelsync.testing import ChannelContract


class TestAmazonContract(ChannelContract):
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
