"""A channel listing whose SKU breaks the SKU rule is skipped, named in a warning, and the
account's other listings import: one bad listing never stops the batch."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from channelsync.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(latency_ms=0) as sb:
        yield sb


@pytest.mark.parametrize("kind", ["amazon", "ebay", "magento", "shopify", "woocommerce"])
def test_listings_breaking_the_sku_rule_are_skipped_and_named(
    sandbox: Sandbox, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake = getattr(sandbox, kind)
    for sku in ("RULE-OK", "RULE\tTAB", "R" * 300):
        fake.seed_listing(sku, quantity=3, price="1.00")
    channel = fake.channel(account=f"{kind}-rule")
    try:
        with caplog.at_level(logging.WARNING, logger="channelsync.adapters._skus"):
            skus = sorted(x.sku for x in channel.fetch_listings() if x.sku.startswith("R"))
    finally:
        channel.close()
    assert skus == ["RULE-OK"]
    warned = [r.getMessage() for r in caplog.records]
    assert any("contains the control character U+0009" in m for m in warned), warned
    assert any("is 300 characters: a SKU has at most 255" in m for m in warned), warned
    assert all(m.startswith(f"account {kind}-rule: ") for m in warned)
