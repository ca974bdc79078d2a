"""Amazon (Selling Partner API, through python-amazon-sp-api): ``AmazonChannel``.

::

    from channelsync.adapters.amazon import AmazonChannel, AmazonConfig

    amazon = AmazonChannel(
        AmazonConfig(
            account="amazon-eu",
            seller_id="A1EXAMPLE",
            marketplace_ids=["A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4"],
            region="eu",
            lwa_client_id="amzn1.application-oa2-client....",
            lwa_client_secret="...",
            refresh_token="Atzr|...",
        )
    )

Needs the ``channelsync[amazon]`` extra; the SQS reader of ``ORDER_CHANGE``
notifications (``channelsync.adapters.amazon.webhooks``) needs ``channelsync[sqs]`` too.
See docs/channels/amazon.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the names below load lazily
    from channelsync.adapters.amazon.channel import AmazonChannel
    from channelsync.adapters.amazon.config import AmazonConfig

__all__ = ["AmazonChannel", "AmazonConfig"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the plugin registry can read this adapter's config and plugin modules
    # without its vendor SDK (an optional extra) installed.
    if name == "AmazonChannel":
        from channelsync.adapters.amazon.channel import AmazonChannel

        return AmazonChannel
    if name == "AmazonConfig":
        from channelsync.adapters.amazon.config import AmazonConfig

        return AmazonConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
