"""How ``channelsync sandbox`` aims a Magento account at the running fake."""

from __future__ import annotations

from typing import Any

from channelsync.plugins import SandboxAccount

__all__ = ["sandbox_account"]


def sandbox_account(fake: Any) -> SandboxAccount:
    """Settings, channel arguments and made-up secrets of an account on ``fake``."""
    return SandboxAccount(
        settings={"url": fake.url, "allow_insecure_http": True, "bulk_poll_interval": 0.05},
        secrets={
            "access_token": fake.access_token,
            "consumer_key": fake.consumer_key,
            "consumer_secret": fake.consumer_secret,
            "access_token_secret": fake.access_token_secret,
        },
    )
