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
        yield fake
        if fake.validator is not None:
            assert fake.validator.problems == [], fake.validator.problems[:5]
