"""FakeChannel passes the ChannelContract: the contract itself is exercised here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channelsync.core.errors import RateLimited, Unavailable
from channelsync.testing import ChannelContract, FakeChannel


class TestFakeChannelContract(ChannelContract):
    @pytest.fixture(autouse=True)
    def _fake(self) -> Iterator[None]:
        self.fake = FakeChannel("fake-contract", compare_and_set=True)
        return

    def make_channel(self) -> FakeChannel:
        return self.fake

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self.fake.add_listing(sku, quantity, price)

    def seed_orders(self, count: int) -> list[str]:
        self.fake.add_listing("CT-ORDER", 10_000, "5.00")
        return [self.fake.place_order({"CT-ORDER": 1}).order_id for _ in range(count)]

    def seed_unreadable_order(self) -> str:
        self.fake.add_unreadable_order("F-BROKEN", "total: 'abc' is not a decimal number")
        return "F-BROKEN"

    def fulfillment_count(self, order_id: str) -> int:
        return sum(1 for oid, _ in self.fake.fulfillments if oid == order_id)

    def channel_quantity(self, sku: str) -> int:
        return self.fake.quantities[sku]

    def stock_write_calls(self) -> int:
        return self.fake.calls["push_stock"]

    def inject(self, fault: str) -> None:
        error = (
            RateLimited("slow down", retry_after=1.0, status=429)
            if fault == "throttle"
            else Unavailable("boom", status=503)
        )
        self.fake.fail("fetch_listings", error)

    def signed_webhook(self) -> tuple[dict[str, str], bytes]:
        self.fake.add_listing("CT-HOOK", 5)
        return self.fake.webhook_for(self.fake.place_order({"CT-HOOK": 1}))
