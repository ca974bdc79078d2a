"""Shopify, through the Admin GraphQL API (version pinned in ``config.API_VERSION``).

::

    from channelsync.adapters.shopify import ShopifyChannel, ShopifyConfig

    shop = ShopifyChannel(ShopifyConfig(account="shopify-main", shop="x.myshopify.com",
                                        access_token="shpat_...", webhook_secret="..."))
"""

from channelsync.adapters.shopify.channel import ShopifyChannel
from channelsync.adapters.shopify.config import API_VERSION, ShopifyConfig

__all__ = ["API_VERSION", "ShopifyChannel", "ShopifyConfig"]
