"""Magento 2 / Adobe Commerce (REST over httpx) as a channelsync channel.

::

    from channelsync.adapters.magento import MagentoChannel, MagentoConfig

    shop = MagentoChannel(MagentoConfig(
        account="magento-main", url="https://shop.example.com",
        access_token="...", consumer_key="...", consumer_secret="...",
        access_token_secret="...",
    ))

See docs/channels/magento.md for the integration to create, its resources, limits and caveats.
"""

from channelsync.adapters.magento.channel import MagentoChannel
from channelsync.adapters.magento.config import MagentoConfig

__all__ = ["MagentoChannel", "MagentoConfig"]
