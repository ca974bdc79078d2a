"""WooCommerce (REST API v3, ``/wp-json/wc/v3``) as a channelsync channel.

::

    from channelsync.adapters.woocommerce import WooCommerceChannel, WooCommerceConfig

    shop = WooCommerceChannel(WooCommerceConfig(
        account="woo-main", url="https://shop.example.com",
        consumer_key="ck_...", consumer_secret="cs_...", webhook_secret="...",
    ))

See docs/channels/woocommerce.md for the key to create, limits and caveats.
"""

from channelsync.adapters.woocommerce.channel import WooCommerceChannel
from channelsync.adapters.woocommerce.config import WooCommerceConfig

__all__ = ["WooCommerceChannel", "WooCommerceConfig"]
