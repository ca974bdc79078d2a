"""Fixtures of the Magento adapter tests: a sandbox with only the Magento fake."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from channelsync.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A running sandbox with the Magento fake only."""
    with Sandbox(channels=["magento"]) as sb:
        yield sb


@pytest.fixture
def fake(sandbox: Sandbox) -> Any:
    """The Magento fake (``MagentoFake``)."""
    return sandbox.magento


@pytest.fixture
def channel(fake: Any) -> Any:
    """A real ``MagentoChannel`` aimed at the fake (OAuth 1.0a signed)."""
    return fake.channel(account="magento-main")
