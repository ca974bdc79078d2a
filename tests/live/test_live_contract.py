"""The ChannelContract against real accounts: a Shopify development store, eBay's sandbox,
the SP-API sandbox endpoints, a Magento test store (docs/testing-live.md).

    CHANNELSYNC_LIVE_CONFIG=live.toml python3 dev.py live            # read-only
    CHANNELSYNC_LIVE_CONFIG=live.toml CHANNELSYNC_LIVE_SKU=TEST-1 python3 dev.py live --write

The accounts, their endpoints (``channel_args = { base_url = ... }`` for a sandbox) and their
secrets come from an ordinary ``channelsync.toml`` (secrets from the environment or its
secrets file). Read-only by default: the checks that need to create listings or orders skip,
saying so, and the live checks read listings and recent orders. With
``CHANNELSYNC_LIVE_WRITE=1`` they also write, and only this: the quantity and the price that
``CHANNELSYNC_LIVE_SKU`` already has, set again. Without a config the whole module skips
with the reason.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from channelsync.core.channel import OrderFailure, PriceUpdate, StockUpdate
from channelsync.core.errors import WebhookVerificationError
from channelsync.core.models import Listing, Order, utcnow
from channelsync.testing import ChannelContract

CONFIG = os.environ.get("CHANNELSYNC_LIVE_CONFIG")
if not CONFIG:
    pytest.skip(
        "live contract: set CHANNELSYNC_LIVE_CONFIG to a channelsync.toml with real (test)"
        " accounts to run it (docs/testing-live.md)",
        allow_module_level=True,
    )

from channelsync.config import load_config  # noqa: E402 - only with a config to read

WRITE = os.environ.get("CHANNELSYNC_LIVE_WRITE") == "1"
SKU = os.environ.get("CHANNELSYNC_LIVE_SKU")
DAYS = float(os.environ.get("CHANNELSYNC_LIVE_DAYS", "7"))
_config = load_config(CONFIG)
_wanted = os.environ.get("CHANNELSYNC_LIVE_ACCOUNTS")
ACCOUNTS = (
    [a.strip() for a in _wanted.split(",") if a.strip()] if _wanted else _config.enabled_accounts()
)
READ_ONLY = "live and read-only: the contract cannot seed {what} on a real account"


class TestLiveContract(ChannelContract):
    """Every account of the live config, through the same checks as the fakes."""

    # Even cancelling an order that does not exist is a write request: only when allowed.
    contract_cancel = WRITE

    @pytest.fixture(autouse=True, params=ACCOUNTS)
    def _account(self, request: pytest.FixtureRequest) -> Iterator[None]:
        self.channel: Any = _config.build_channel(request.param)
        yield
        close = getattr(self.channel, "close", None)
        if callable(close):
            close()

    # -- hooks: nothing is seeded on a real account ------------------------------------------

    def make_channel(self) -> Any:
        return self.channel

    def seed_listing(self, sku: str, quantity: int, price: str = "10.00") -> None:
        self._skip(READ_ONLY.format(what="listings"))

    def seed_orders(self, count: int) -> list[str]:
        self._skip(READ_ONLY.format(what="orders"))
        return []

    def channel_quantity(self, sku: str) -> int:
        found = {lst.sku: lst for lst in self.channel.fetch_listings() if lst.sku == sku}
        quantity = found[sku].quantity
        assert quantity is not None
        return quantity

    def stock_write_calls(self) -> int:
        self._skip("live: the marketplace's request counts are not visible")
        return 0

    def inject(self, fault: str) -> None:
        self._skip("live: faults cannot be injected into a real marketplace")

    def signed_webhook(self) -> None:
        return None  # a real delivery cannot be produced here

    # -- read-only checks ------------------------------------------------------------------

    def test_live_reads_listings(self) -> None:
        """The first listings read, each of this account, with a SKU."""
        listings = list(itertools.islice(self.channel.fetch_listings(), 200))
        assert all(isinstance(lst, Listing) for lst in listings)
        assert all(lst.account == self.channel.account for lst in listings)
        assert all(lst.sku for lst in listings)

    def test_live_reads_recent_orders_oldest_first(self) -> None:
        """Orders of the last days (CHANNELSYNC_LIVE_DAYS) read, oldest change first."""
        since = utcnow() - timedelta(days=DAYS)
        items = list(itertools.islice(self.channel.fetch_orders(since), 500))
        orders = [i for i in items if isinstance(i, Order)]
        assert all(isinstance(i, Order | OrderFailure) for i in items)
        assert all(o.account == self.channel.account for o in orders)
        times = [o.updated_at for o in orders]
        assert times == sorted(times)
        failures = [i for i in items if isinstance(i, OrderFailure)]
        assert all(f.error for f in failures)

    def test_live_refuses_an_unsigned_webhook(self) -> None:
        """A delivery without a signature is refused (no request is made)."""
        with pytest.raises(WebhookVerificationError):
            self.channel.parse_webhook({"Content-Type": "application/json"}, b'{"id": 1}')

    # -- writes, only when allowed -----------------------------------------------------------

    def _own_listing(self) -> Listing:
        if not WRITE:
            self._skip("live and read-only: set CHANNELSYNC_LIVE_WRITE=1 to allow writes")
        if not SKU:
            self._skip("live writes need CHANNELSYNC_LIVE_SKU: the one listing they may touch")
        found = [lst for lst in self.channel.fetch_listings() if lst.sku == SKU]
        if not found:
            self._skip(f"live: {SKU} is not listed on {self.channel.account}")
        return found[0]

    def test_live_push_stock_sets_the_current_quantity_again(self) -> None:
        """The quantity the listing has, pushed again: accepted, unchanged."""
        listing = self._own_listing()
        if listing.quantity is None or not listing.manages_stock:
            self._skip(f"live: {listing.sku} has no managed quantity")
        assert listing.quantity is not None
        [result] = self.channel.push_stock(
            [StockUpdate(sku=listing.sku, quantity=listing.quantity, listing=listing)]
        )
        assert result.ok, result.error
        assert self.channel_quantity(listing.sku) == listing.quantity

    def test_live_push_prices_sets_the_current_price_again(self) -> None:
        """The price the listing has, pushed again: accepted."""
        listing = self._own_listing()
        if listing.price is None:
            self._skip(f"live: {listing.sku} reports no price")
        assert listing.price is not None
        [result] = self.channel.push_prices(
            [PriceUpdate(sku=listing.sku, price=listing.price, listing=listing)]
        )
        assert result.ok, result.error
