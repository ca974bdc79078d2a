"""A ``kind = "custom"`` factory handing the CLI in-memory FakeChannels the tests control."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from channelsync.testing import FakeChannel

#: account -> the FakeChannel every CLI invocation of this test gets.
REGISTRY: dict[str, FakeChannel] = {}


def build(*, account: str, options: dict[str, Any], secrets: dict[str, SecretStr]) -> FakeChannel:
    """The test's FakeChannel of ``account`` (created on first use)."""
    channel = REGISTRY.get(account)
    if channel is None:
        secret = secrets.get("webhook_secret")
        channel = FakeChannel(
            account,
            webhook_secret=secret.get_secret_value() if secret else "fake-webhook-secret",
            currency=str(options.get("currency", "EUR")),
        )
        REGISTRY[account] = channel
    return channel
