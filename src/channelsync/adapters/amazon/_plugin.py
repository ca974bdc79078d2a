"""How channelsync finds the Amazon adapter (entry point ``channelsync.adapters``).

Importing this module does not import the SP-API SDK: the ``channelsync[amazon]`` extra is
needed only once an Amazon account is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from channelsync.plugins import AdapterPlugin, DoctorCheck

__all__ = ["PLUGIN", "clock_url", "doctor_checks"]


def clock_url(channel: Any, options: Mapping[str, Any]) -> str | None:
    """The region's SP-API host."""
    from channelsync.adapters.amazon.config import ENDPOINTS

    return f"{ENDPOINTS[channel.config.region]}/sellers/v1/marketplaceParticipations"


def doctor_checks(channel: Any, options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
    """The API versions channelsync speaks."""
    return [DoctorCheck("API version", "ok", "Orders API v2026-01-01, Listings Items 2021-08-01")]


PLUGIN = AdapterPlugin(
    kind="amazon",
    title="Amazon (Selling Partner API)",
    config="channelsync.adapters.amazon.config:AmazonConfig",
    channel="channelsync.adapters.amazon.channel:AmazonChannel",
    fake="channelsync.sandbox.amazon:AmazonFake",
    sandbox_account="channelsync.sandbox.amazon._account:sandbox_account",
    doctor="channelsync.adapters.amazon._plugin:doctor_checks",
    clock_url="channelsync.adapters.amazon._plugin:clock_url",
    permissions="the SP-API app needs the roles Product Listing, Inventory and Order Tracking and"
    " (for buyer data) Direct-to-Consumer Shipping; authorize it again to get a new refresh token",
    extra="amazon",
    demo_account="amazon-eu",
    demo_traffic=0.27,
    demo_fee_percent="15",
)
