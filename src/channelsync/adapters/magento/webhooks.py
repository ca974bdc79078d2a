"""Webhooks: Magento core sends none, so ``MagentoChannel`` polls orders.

Adobe Commerce has event systems of its own, none of them in Magento Open Source's core
and none signed the way channelsync's receiver verifies deliveries (docs/channels/magento.md
says what each offers): *Adobe I/O Events for Adobe Commerce* (events sent through Adobe
I/O to App Builder or a webhook), *Adobe Commerce Webhooks* (synchronous calls to an
endpoint on chosen events), and the message queue's own topics. Until one of them is wired
in as an adapter of its own, every delivery to this channel is refused, saying why.
"""

from __future__ import annotations

from collections.abc import Mapping

from channelsync.core.channel import WebhookEvent
from channelsync.core.errors import WebhookVerificationError

__all__ = ["MagentoWebhooks"]


class MagentoWebhooks:
    """Refuses every delivery: Magento core has no webhooks to verify."""

    def __init__(self, account: str) -> None:
        self.account = account

    def parse(self, headers: Mapping[str, str], body: bytes) -> list[WebhookEvent]:
        """Raise ``WebhookVerificationError``: Magento is polled, nothing is delivered."""
        raise WebhookVerificationError(
            f"account {self.account!r}: Magento core sends no webhooks; channelsync polls its"
            " orders (see docs/channels/magento.md for Adobe Commerce's event options)"
        )
