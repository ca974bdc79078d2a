"""How ``channelsync sandbox`` aims an Amazon account at the running fake."""

from __future__ import annotations

from typing import Any

from channelsync.plugins import SandboxAccount

__all__ = ["sandbox_account"]


def sandbox_account(fake: Any) -> SandboxAccount:
    """Settings, channel arguments and made-up secrets of an account on ``fake``."""
    url = fake.url
    settings: dict[str, Any] = {
        "seller_id": fake.seller_id,
        "marketplace_ids": list(fake.marketplace_ids),
        "region": "eu",
        "lwa_client_id": fake.lwa_client_id,
        "feed_poll_interval": 0.05,
        # The fake's own delays: a just-patched listing reads back stale this long, and a
        # changed order reaches searchOrders this late.
        "write_settle_seconds": max(fake.patch_apply_delay, fake.feed_processing_seconds),
        "order_search_lag_seconds": max(fake.order_search_lag),
    }
    secrets = {"lwa_client_secret": fake.lwa_client_secret, "refresh_token": fake.refresh_token}
    sqs = getattr(fake, "notifications_queue", None)
    if sqs is not None and sqs.queue_url:
        settings.update(
            notifications_queue_url=sqs.queue_url,
            notifications_endpoint_url=sqs.endpoint_url,
            notifications_region=sqs.region,
            aws_access_key_id=sqs.access_key_id,
        )
        secrets["aws_secret_access_key"] = sqs.secret_access_key
    return SandboxAccount(
        settings=settings,
        channel_args={"base_url": url, "token_url": f"{url}/auth/o2/token"},
        secrets=secrets,
    )
