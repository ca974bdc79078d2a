"""How ``channelsync sandbox`` aims an eBay account at the running fake."""

from __future__ import annotations

from typing import Any

from channelsync.plugins import SandboxAccount

__all__ = ["sandbox_account"]


def sandbox_account(fake: Any) -> SandboxAccount:
    """Settings, channel arguments and made-up secrets of an account on ``fake``."""
    return SandboxAccount(
        settings={
            "site_id": fake.site_id,
            "app_id": fake.APP_ID,
            "dev_id": fake.DEV_ID,
            "deletion_endpoint_url": fake.DELETION_ENDPOINT,
            "mod_time_lag_seconds": 0,
        },
        channel_args={"base_url": fake.url},
        secrets={
            "cert_id": fake.CERT_ID,
            "refresh_token": fake.REFRESH_TOKEN,
            "verification_token": fake.VERIFICATION_TOKEN,
        },
    )
