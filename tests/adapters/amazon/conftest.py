"""Fixtures of the Amazon adapter tests: the sandbox fake, checked against Amazon's models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.conftest import CONFORMANCE

from channelsync.sandbox import Sandbox
from channelsync.sandbox.amazon import AmazonFake, SpApiModelValidator


def model_validator() -> SpApiModelValidator | None:
    """The validator over ../shared/conformance/amazon, or None when the corpus is absent."""
    folder = CONFORMANCE / "amazon"
    if not (folder / "schemas").is_dir():
        return None
    return SpApiModelValidator(folder)


@pytest.fixture
def amazon_fake() -> Iterator[AmazonFake]:
    """A running Amazon fake; every request and response is checked against Amazon's
    published models when the conformance corpus is present (and must match; without the
    corpus ``test_amazon_fake.py::test_traffic_is_checked_against_amazon_models`` skips)."""
    with Sandbox(channels=["amazon"]) as sb:
        fake: AmazonFake = sb.amazon
        fake.validator = model_validator()
        # These tests check shapes, batching and pacing on the wall clock: Amazon's delays
        # (a patch applied minutes after ACCEPTED, feed processing, the order search lag)
        # are shortened to nothing here, explicitly, and tested on a ManualClock in
        # test_amazon_delays.py.
        fake.patch_apply_delay = 0.0
        fake.feed_processing_seconds = 0.0
        fake.order_search_lag = (0.0, 0.0)
        yield fake
        if fake.validator is not None:
            assert fake.validator.problems == [], fake.validator.problems[:5]
