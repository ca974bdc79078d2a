"""The WooCommerce fake: REST API v3 (``/wp-json/wc/v3``) on loopback.

``WooCommerceFake`` is what ``Sandbox(channels=["woocommerce"])`` serves as
``sb.woocommerce``; ``Shop`` is its in-memory state.
"""

from channelsync.sandbox.woocommerce.fake import WooCommerceFake
from channelsync.sandbox.woocommerce.shop import FakeOrder, FakeProduct, Shop

__all__ = ["FakeOrder", "FakeProduct", "Shop", "WooCommerceFake"]
