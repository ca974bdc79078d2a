"""How ``channelsync sandbox`` aims a Shopify account at the running fake."""

from __future__ import annotations

from typing import Any

from channelsync.plugins import SandboxAccount

__all__ = ["sandbox_account"]


def sandbox_account(fake: Any) -> SandboxAccount:
    """Settings, channel arguments and made-up secrets of an account on ``fake``."""
    return SandboxAccount(
        settings={"shop": fake.shop},
        channel_args={"base_url": fake.url},
        secrets={"access_token": fake.access_token, "webhook_secret": fake.webhook_secret},
    )
