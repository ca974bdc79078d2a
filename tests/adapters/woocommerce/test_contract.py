"""WooCommerceChannel passes the ChannelContract against the sandbox fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from channelsync.core.models import utcnow
from channelsync.sandbox import Sandbox
from channelsync.testing import ChannelContract


class TestWooCommerceContract(ChannelContract):
    @pytest.fixture(autouse=True)
    def _sandbox(self) -> Iterator[None]:
        with Sandbox(channels=["woocommerce"]) as sb:
            self.fake: Any = sb.woocommerce
            self.channels: list[Any] = []
            yield
            for ch in self.channels:
                ch.close()

    def make_channel(self) -> Any:
        channel = self.fake.channel(account="woo-main")
        self.channels.append(channel)
        return channel

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self.fake.seed_listing(sku, quantity=quantity, price=price)

    def seed_orders(self, count: int) -> list[str]:
        self.fake.seed_listing("CT-ORDER", quantity=100_000, price="5.00")
        return [self.fake.place_order("CT-ORDER") for _ in range(count)]

    def seed_unreadable_order(self) -> str:
        # A line total a plugin wrote with a decimal comma.
        at = utcnow().replace(microsecond=0, tzinfo=None).isoformat()
        return str(
            self.fake.seed_order(
                {
                    "status": "processing",
                    "currency": "EUR",
                    "date_created_gmt": at,
                    "date_modified_gmt": at,
                    "total": "12,50",
                    "line_items": [
                        {
                            "sku": "CT-ORDER",
                            "quantity": 1,
                            "subtotal": "12.50",
                            "total": "12,50",
                            "price": 12.5,
                        }
                    ],
                }
            )
        )

    def fulfillment_count(self, order_id: str) -> int:
        return len(self.fake.trackings(order_id)) or sum(
            1 for n in self.fake.notes(order_id) if str(n.get("note", "")).startswith("Shipped")
        )

    def channel_quantity(self, sku: str) -> int:
        quantity = self.fake.quantity(sku)
        assert quantity is not None
        return int(quantity)

    def stock_write_calls(self) -> int:
        return int(self.fake.calls["products/batch"] + self.fake.calls["variations/batch"])

    def inject(self, fault: str) -> None:
        self.fake.inject(fault)

    def signed_webhook(self) -> tuple[dict[str, str], bytes]:
        self.fake.seed_listing("CT-HOOK", quantity=5, price="9.00")
        order_id = self.fake.place_order("CT-HOOK")
        return self.fake.webhook_delivery("order.created", self.fake.order_json(order_id))
