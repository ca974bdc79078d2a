"""EbayChannel passes the ChannelContract against the eBay fake (Trading world listings)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channelsync.adapters.ebay import EbayChannel
from channelsync.sandbox import Sandbox
from channelsync.sandbox.ebay import EbayFake
from channelsync.testing import ChannelContract


class TestEbayContract(ChannelContract):
    contract_max_items = 40

    @pytest.fixture(autouse=True)
    def _sandbox(self) -> Iterator[None]:
        with Sandbox(channels=["ebay"]) as sb:
            self.fake: EbayFake = sb.ebay
            # The contract reads orders right after seeding them: the search lag is
            # shortened to nothing here, explicitly (test_ebay_delays.py tests it).
            self.fake.order_search_lag = (0.0, 0.0)
            self.channels: list[EbayChannel] = []
            yield
            for channel in self.channels:
                channel.close()

    def make_channel(self) -> EbayChannel:
        channel = self.fake.channel(account="ebay-de")
        self.channels.append(channel)
        return channel

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self.fake.seed_listing(sku, quantity=quantity, price=price)

    def seed_orders(self, count: int) -> list[str]:
        self.fake.seed_listing("CT-ORDER", quantity=10_000, price="3.00")
        return [self.fake.place_order("CT-ORDER") for _ in range(count)]

    def open_return(self, order_id: str, line_id: str, quantity: int) -> None:
        self.fake.open_return(order_id, line_id, quantity)

    def seed_unreadable_order(self) -> str:
        # A quantity written with a decimal comma: well-formed XML, not a quantity.
        self.fake.seed_order(
            """<Order xmlns="urn:ebay:apis:eBLBaseComponents">
              <OrderID>27-99999-00001</OrderID>
              <OrderStatus>Completed</OrderStatus>
              <CheckoutStatus><Status>Complete</Status></CheckoutStatus>
              <CreatedTime>2026-11-20T08:00:00.000Z</CreatedTime>
              <Total currencyID="EUR">9.90</Total>
              <TransactionArray><Transaction>
                <Item><ItemID>110000000001</ItemID><SKU>CT-ORDER</SKU><Title>Mug</Title></Item>
                <QuantityPurchased>1,5</QuantityPurchased>
                <TransactionID>99001</TransactionID>
                <TransactionPrice currencyID="EUR">9.90</TransactionPrice>
                <OrderLineItemID>110000000001-99001</OrderLineItemID>
              </Transaction></TransactionArray>
              <PaidTime>2026-11-20T08:01:00.000Z</PaidTime>
            </Order>"""
        )
        return "27-99999-00001"

    def channel_quantity(self, sku: str) -> int:
        quantity = self.fake.quantity(sku)
        assert quantity is not None
        return quantity

    def stock_write_calls(self) -> int:
        return self.fake.calls["ReviseInventoryStatus"] + self.fake.calls["bulkUpdatePriceQuantity"]

    def inject(self, fault: str) -> None:
        self.fake.inject("throttle" if fault == "throttle" else "server_error")

    def signed_webhook(self) -> tuple[dict[str, str], bytes]:
        return self.fake.deletion_notification("ct_buyer", "ctUserId01")


class TestEbayContractInventoryWorld(TestEbayContract):
    """The same checks with every listing in the Inventory API world."""

    contract_max_items = 60

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self.fake.seed_listing(sku, quantity=quantity, price=price, world="inventory_api")

    def expected_stock_calls(self, items: int) -> int | None:
        return -(-items // 25)
