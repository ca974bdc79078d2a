"""How channelsync finds the eBay adapter (entry point ``channelsync.adapters``).

Importing this module does not import ebaysdk: the ``channelsync[ebay]`` extra is needed only
once an eBay account is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from channelsync.plugins import AdapterPlugin, DoctorCheck

__all__ = ["PLUGIN", "clock_url", "doctor_checks"]


def clock_url(channel: Any, options: Mapping[str, Any]) -> str | None:
    """The Trading API endpoint."""
    return "https://api.ebay.com/ws/api.dll"


def doctor_checks(channel: Any, options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
    """The Trading API compatibility level in use."""
    from channelsync.adapters.ebay.config import EbayConfig

    level = options.get("compatibility_level") or (
        EbayConfig.model_fields["compatibility_level"].default
    )
    return [
        DoctorCheck(
            "API version", "ok", f"Trading API compatibility level {level}; Inventory API v1"
        )
    ]


PLUGIN = AdapterPlugin(
    kind="ebay",
    title="eBay",
    config="channelsync.adapters.ebay.config:EbayConfig",
    channel="channelsync.adapters.ebay.channel:EbayChannel",
    fake="channelsync.sandbox.ebay:EbayFake",
    sandbox_account="channelsync.sandbox.ebay._account:sandbox_account",
    doctor="channelsync.adapters.ebay._plugin:doctor_checks",
    clock_url="channelsync.adapters.ebay._plugin:clock_url",
    permissions="the user token needs the scopes sell.inventory and sell.fulfillment, and the"
    " Trading API token must belong to the selling account; renew it in the developer portal",
    extra="ebay",
    webhooks=True,
    demo_account="ebay-de",
    demo_traffic=0.13,
    demo_fee_percent="11",
)
