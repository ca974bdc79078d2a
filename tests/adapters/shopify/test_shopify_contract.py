"""The ChannelContract suite, run against ShopifyChannel and the Shopify fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channelsync.adapters.shopify import ShopifyChannel
from channelsync.core.models import utcnow
from channelsync.sandbox.shopify import ShopifyFake
from channelsync.testing import ChannelContract


class TestShopifyContract(ChannelContract):
    @pytest.fixture(autouse=True)
    def _backend(self, fake: ShopifyFake) -> Iterator[None]:
        self.fake = fake
        self.opened: list[ShopifyChannel] = []
        yield
        for ch in self.opened:
            ch.close()

    def make_channel(self) -> ShopifyChannel:
        ch: ShopifyChannel = self.fake.channel(account="shopify-contract")
        self.opened.append(ch)
        return ch

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self.fake.seed_listing(sku, quantity=quantity, price=price)

    def seed_orders(self, count: int) -> list[str]:
        self.fake.seed_listing("CT-ORDER", quantity=100_000, price="5.00")
        return [self.fake.place_order("CT-ORDER", 1) for _ in range(count)]

    def seed_unreadable_order(self) -> str:
        # A currency channelsync does not know: the order cannot be priced.
        at = utcnow().replace(microsecond=0).isoformat().replace("+00:00", "Z")
        money = {"amount": "12.50", "currency_code": "XXX"}
        self.fake.seed_order(
            {
                "id": 999001,
                "created_at": at,
                "updated_at": at,
                "currency": "XXX",
                "total_price": "12.50",
                "line_items": [
                    {
                        "id": 9990010,
                        "sku": "CT-ORDER",
                        "title": "Mug",
                        "quantity": 1,
                        "price": "12.50",
                        "price_set": {"shop_money": money, "presentment_money": money},
                    }
                ],
            }
        )
        return "999001"

    def channel_quantity(self, sku: str) -> int:
        quantity = self.fake.quantity(sku)
        assert quantity is not None
        return quantity

    def stock_write_calls(self) -> int:
        return self.fake.calls["inventorySetQuantities"]

    def inject(self, fault: str) -> None:
        assert fault in ("throttle", "server_error")
        self.fake.inject(fault)  # type: ignore[arg-type]

    def signed_webhook(self) -> tuple[dict[str, str], bytes]:
        self.fake.seed_listing("CT-HOOK", quantity=5, price="5.00")
        order_id = self.fake.place_order("CT-HOOK")
        return self.fake.webhook("orders/create", self.fake.order(order_id))
