"""Fixtures of the eBay adapter tests: a served eBay fake, and XML builders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from channelsync.sandbox import Sandbox
from channelsync.sandbox.ebay import EbayFake


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A Sandbox serving only the eBay fake."""
    with Sandbox(channels=["ebay"]) as sb:
        yield sb


@pytest.fixture
def fake(sandbox: Sandbox) -> EbayFake:
    """The running eBay fake."""
    ebay = sandbox.ebay
    assert isinstance(ebay, EbayFake)
    # These tests read orders right after placing them, on the wall clock: eBay's order
    # search lag is shortened to nothing here, explicitly; test_ebay_delays.py tests it
    # (and the revision cap) on a ManualClock.
    ebay.order_search_lag = (0.0, 0.0)
    return ebay
