"""The eBay fake: Trading API XML at ``/ws/api.dll``, Sell Inventory and Fulfillment REST,
OAuth, the Notification API public key, Post-Order cancellation, and signed notifications.

::

    with Sandbox(channels=["ebay"]) as sb:
        ebay = sb.ebay.channel(account="ebay-de")
        sb.ebay.seed_listing("SKU-1", quantity=5, price="19.99")                   # Trading
        sb.ebay.seed_listing("SKU-2", quantity=3, price="9.99", world="inventory_api")
        sb.ebay.seed_order(order_xml)        # one Trading <Order> element
        sb.ebay.calls["ReviseInventoryStatus"]
"""

from channelsync.sandbox.ebay._fake import EbayFake

__all__ = ["EbayFake"]
