"""MagentoChannel passes the ChannelContract against the Magento fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from channelsync.core.models import utcnow
from channelsync.sandbox import Sandbox
from channelsync.testing import ChannelContract


class TestMagentoContract(ChannelContract):
    #: Orders seeded invoiced (payment captured): Magento cancels only what is not invoiced
    #: and refunds (credit memo) only what is, so the refund check seeds invoiced orders.
    invoiced = False

    @pytest.fixture(autouse=True)
    def _sandbox(self) -> Iterator[None]:
        with Sandbox(channels=["magento"]) as sb:
            self.fake: Any = sb.magento
            yield

    def make_channel(self) -> Any:
        # A second source (holding nothing) so read_levels reads per source too.
        return self.fake.channel(
            account="magento-main",
            bulk="never",
            sources={"default": "default", "berlin": "berlin_wh"},
        )

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self.fake.seed_listing(sku, quantity=quantity, price=price)

    def seed_orders(self, count: int) -> list[str]:
        self.fake.seed_listing("CT-ORDER", quantity=100_000, price="5.00")
        return [self.fake.place_order("CT-ORDER", invoiced=self.invoiced) for _ in range(count)]

    def test_refund_never_more_than_was_paid(self) -> None:
        """The contract's refund check on an invoiced order (a credit memo needs one)."""
        self.invoiced = True
        super().test_refund_never_more_than_was_paid()
        [memo] = [m for oid in self.fake.store.orders for m in self.fake.creditmemos_of(oid)]
        assert memo["base_grand_total"] == 1.0  # the 1.00 part; the refused amount made none

    def seed_unreadable_order(self) -> str:
        # A fractional quantity (a product sold by the metre): channelsync counts units.
        at = utcnow().strftime("%Y-%m-%d %H:%M:%S")
        return str(
            self.fake.seed_order(
                {
                    "entity_id": 90001,
                    "increment_id": "000090001",
                    "state": "processing",
                    "status": "processing",
                    "created_at": at,
                    "updated_at": at,
                    "base_currency_code": "EUR",
                    "base_grand_total": 7.5,
                    "items": [
                        {
                            "item_id": 90001,
                            "sku": "CT-ORDER",
                            "product_type": "simple",
                            "qty_ordered": 1.5,
                            "base_price": 5,
                            "base_row_total": 7.5,
                        }
                    ],
                }
            )
        )

    def fulfillment_count(self, order_id: str) -> int:
        return len(self.fake.shipments_of(order_id))

    def channel_quantity(self, sku: str) -> int:
        quantity = self.fake.quantity(sku)
        assert quantity is not None
        return int(quantity)

    def stock_write_calls(self) -> int:
        return int(self.fake.calls["inventory/source-items/save"])

    def inject(self, fault: str) -> None:
        self.fake.inject(fault)

    def signed_webhook(self) -> None:
        return None

    def contract_locations(self) -> list[str]:
        return ["default", "berlin_wh"]
