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
    return ebay
