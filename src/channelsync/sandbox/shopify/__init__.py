"""The Shopify fake: the Admin GraphQL API of one shop (see ``fake.py``)."""

from channelsync.sandbox.shopify.fake import ShopifyFake

__all__ = ["ShopifyFake"]
