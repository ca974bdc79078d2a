"""The Magento 2 / Adobe Commerce fake: REST (``/rest/{store}/V1``) on loopback.

``MagentoFake`` is what ``Sandbox(channels=["magento"])`` serves as ``sb.magento``; ``Store``
is its in-memory shop.
"""

from channelsync.sandbox.magento._store import FakeProduct, MagentoError, Store
from channelsync.sandbox.magento.fake import MagentoFake

__all__ = ["FakeProduct", "MagentoError", "MagentoFake", "Store"]
