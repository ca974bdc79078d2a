"""The eBay adapter: Trading API (XML, through ebaysdk) and Sell REST APIs (httpx).

::

    from channelsync.adapters.ebay import EbayChannel, EbayConfig

    ebay = EbayChannel(EbayConfig(account="ebay-de", site_id=77, app_id="...",
                                  cert_id="...", dev_id="...", user_token="...",
                                  refresh_token="..."))

Needs the ``channelsync[ebay]`` extra (ebaysdk, lxml, cryptography). See
docs/channels/ebay.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the names below load lazily
    from channelsync.adapters.ebay.channel import EbayChannel
    from channelsync.adapters.ebay.config import EbayConfig

__all__ = ["EbayChannel", "EbayConfig"]


def __getattr__(name: str) -> Any:
    # Lazy, so that the plugin registry can read this adapter's config and plugin modules
    # without its vendor SDK (an optional extra) installed.
    if name == "EbayChannel":
        from channelsync.adapters.ebay.channel import EbayChannel

        return EbayChannel
    if name == "EbayConfig":
        from channelsync.adapters.ebay.config import EbayConfig

        return EbayConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
