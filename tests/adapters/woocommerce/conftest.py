"""Fixtures of the WooCommerce adapter tests: a sandbox with only the WooCommerce fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from channelsync.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox with the WooCommerce fake only."""
    with Sandbox(channels=["woocommerce"]) as sb:
        yield sb


@pytest.fixture
def fake(sandbox: Sandbox) -> Any:
    """The WooCommerce fake (``WooCommerceFake``)."""
    return sandbox.woocommerce


@pytest.fixture
def channel(fake: Any) -> Iterator[Any]:
    """A real ``WooCommerceChannel`` aimed at the fake."""
    ch = fake.channel(account="woo-main")
    yield ch
    ch.close()
