"""How ``channelsync sandbox`` aims an Amazon account at the running fake."""

from __future__ import annotations

from typing import Any

from channelsync.plugins import SandboxAccount

__all__ = ["sandbox_account"]


def sandbox_account(fake: Any) -> SandboxAccount:
    """Settings, channel arguments and made-up secrets of an account on ``fake``."""
    url = fake.url
    return SandboxAccount(
        settings={
            "seller_id": fake.seller_id,
            "marketplace_ids": list(fake.marketplace_ids),
            "region": "eu",
            "lwa_client_id": fake.lwa_client_id,
            "feed_poll_interval": 0.05,
        },
        channel_args={"base_url": url, "token_url": f"{url}/auth/o2/token"},
        secrets={"lwa_client_secret": fake.lwa_client_secret, "refresh_token": fake.refresh_token},
    )
