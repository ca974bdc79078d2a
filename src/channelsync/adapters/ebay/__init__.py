"""The eBay adapter: Trading API (XML, through ebaysdk) and Sell REST APIs (httpx).

::

    from channelsync.adapters.ebay import EbayChannel, EbayConfig

    ebay = EbayChannel(EbayConfig(account="ebay-de", site_id=77, app_id="...",
                                  cert_id="...", dev_id="...", user_token="...",
                                  refresh_token="..."))

Needs the ``channelsync[ebay]`` extra (ebaysdk, lxml, cryptography). See
docs/channels/ebay.md.
"""

from channelsync.adapters.ebay.channel import EbayChannel
from channelsync.adapters.ebay.config import EbayConfig

__all__ = ["EbayChannel", "EbayConfig"]
