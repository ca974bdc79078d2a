"""``channelsync.testing``: FakeChannel passes the ChannelContract, and the contract fails
channels that break it (a contract every channel passes would prove nothing)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

import pytest

from channelsync.core.channel import OrderFailure, PushResult, StockUpdate, WebhookEvent
from channelsync.core.errors import RateLimited, Unavailable
from channelsync.core.models import Order
from channelsync.testing import ChannelContract, FakeChannel


class _FakeContract(ChannelContract):
    """The contract on a ``FakeChannel`` (or a broken subclass, ``channel_class``)."""

    channel_class: type[FakeChannel] = FakeChannel

    def setup_fake(self) -> None:
        self.fake = self.channel_class("fake-contract", compare_and_set=True)

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
        # FakeChannel has no wire: the error it raises is the one given here, so this is
        # what an adapter that maps vendor answers correctly would raise.
        error = (
            RateLimited("slow down", retry_after=1.0, status=429)
            if fault == "throttle"
            else Unavailable("boom", status=503)
        )
        self.fake.fail("fetch_listings", error)

    def signed_webhook(self) -> tuple[dict[str, str], bytes]:
        self.fake.add_listing("CT-HOOK", 5)
        return self.fake.webhook_for(self.fake.place_order({"CT-HOOK": 1}))


class TestFakeChannelContract(_FakeContract):
    @pytest.fixture(autouse=True)
    def _fake(self) -> None:
        self.setup_fake()

    def test_throttling_maps_to_rate_limited(self) -> None:
        pytest.skip(
            "FakeChannel raises the error inject() hands it: no vendor answer to map"
            " (test_the_contract_fails_a_channel_that_leaks_vendor_errors covers the check)"
        )

    def test_server_error_maps_to_unavailable(self) -> None:
        pytest.skip("FakeChannel raises the error inject() hands it: no vendor answer to map")


# -- channels that break the contract, one way each -------------------------------------------


class _LeaksVendorErrors(FakeChannel):
    """Lets the HTTP client's own error out instead of ``RateLimited`` / ``Unavailable``."""


class _IgnoresBatchLimit(FakeChannel):
    """Advertises 50 items per stock call but sends every update in one call."""

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[PushResult]:
        advertised = self._limits
        self._limits = advertised.model_copy(update={"stock_batch": max(1, len(updates))})
        try:
            return super().push_stock(updates)
        finally:
            self._limits = advertised


class _TrustsAnySignature(FakeChannel):
    """Signs the delivery itself instead of checking the signature it came with."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        digest = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        return super().parse_webhook({"X-Fake-Signature": digest}, body)


class _NewestFirst(FakeChannel):
    """Yields orders newest change first."""

    def fetch_orders(self, updated_after: datetime) -> Iterator[Order | OrderFailure]:
        return iter(list(super().fetch_orders(updated_after))[::-1])


def _contract(channel_class: type[FakeChannel]) -> _FakeContract:
    contract = _FakeContract()
    contract.channel_class = channel_class
    contract.setup_fake()
    return contract


def test_the_contract_fails_a_channel_that_leaks_vendor_errors() -> None:
    contract = _contract(_LeaksVendorErrors)
    contract.inject = lambda fault: contract.fake.fail(  # type: ignore[method-assign]
        "fetch_listings", ConnectionError("429 Too Many Requests")
    )
    with pytest.raises(ConnectionError, match="429"):
        contract.test_throttling_maps_to_rate_limited()


def test_the_contract_fails_a_channel_that_ignores_the_batch_limit() -> None:
    contract = _contract(_IgnoresBatchLimit)
    with pytest.raises(AssertionError):
        contract.test_push_stock_respects_batch_limit()
    # 101 items (2 x 50 + 1) went out in 1 call where the contract expects 3.
    assert contract.fake.calls["push_stock"] == 1
    honest = _contract(FakeChannel)
    honest.test_push_stock_respects_batch_limit()
    assert honest.fake.calls["push_stock"] == 3


def test_the_contract_fails_a_channel_that_does_not_check_signatures() -> None:
    contract = _contract(_TrustsAnySignature)
    contract.test_webhook_signed_delivery_parses()  # a signed delivery still parses ...
    with pytest.raises(AssertionError, match="a wrong signature passed"):
        contract.test_webhook_wrong_signature_is_refused()  # ... but so does a forged one


def test_the_contract_fails_a_channel_that_lists_orders_newest_first() -> None:
    contract = _contract(_NewestFirst)
    with pytest.raises(AssertionError, match="orders are not oldest change first"):
        contract.test_fetch_orders_pages_to_the_end_oldest_first()
