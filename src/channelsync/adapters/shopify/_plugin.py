"""How channelsync finds the Shopify adapter (entry point ``channelsync.adapters``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from channelsync.plugins import AdapterPlugin, DoctorCheck

__all__ = ["PLUGIN", "clock_url", "doctor_checks"]


def clock_url(channel: Any, options: Mapping[str, Any]) -> str | None:
    """The shop's Admin API (its answers carry a ``Date`` header)."""
    cfg = channel.config
    return f"https://{cfg.shop}/admin/api/{cfg.api_version}/shop.json"


def doctor_checks(channel: Any, options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
    """The Admin API version against Shopify's 12 months of support."""
    from channelsync.adapters.shopify.config import API_VERSION

    version = str(options.get("api_version") or API_VERSION)
    if version == "unstable":
        return [
            DoctorCheck(
                "API version", "warn", "Admin API 'unstable'", "use a stable version in production"
            )
        ]
    year, month = (int(p) for p in version.split("-"))
    released = date(year, month, 1)
    # Shopify supports each quarterly version for at least 12 months after release.
    end = date(year + 1, month, 1)
    if today >= end:
        return [
            DoctorCheck(
                "API version",
                "fail",
                f"Admin API {version} is past its 12 months of support",
                "upgrade channelsync (or set a newer api_version)",
            )
        ]
    if today >= end - timedelta(days=90):
        return [
            DoctorCheck(
                "API version",
                "warn",
                f"Admin API {version} leaves support on {end.isoformat()}",
                "upgrade channelsync before then",
            )
        ]
    return [
        DoctorCheck("API version", "ok", f"Admin API {version} (released {released.isoformat()})")
    ]


PLUGIN = AdapterPlugin(
    kind="shopify",
    title="Shopify",
    config="channelsync.adapters.shopify.config:ShopifyConfig",
    channel="channelsync.adapters.shopify.channel:ShopifyChannel",
    fake="channelsync.sandbox.shopify:ShopifyFake",
    sandbox_account="channelsync.sandbox.shopify._account:sandbox_account",
    doctor="channelsync.adapters.shopify._plugin:doctor_checks",
    clock_url="channelsync.adapters.shopify._plugin:clock_url",
    permissions="give the custom app the Admin API scopes read_products, write_products,"
    " read_inventory, write_inventory, read_locations, read_orders, write_orders,"
    " read_merchant_managed_fulfillment_orders and write_merchant_managed_fulfillment_orders,"
    " then reinstall it and use the new access token",
    webhooks=True,
    demo_account="shopify-main",
    demo_traffic=0.3,
    demo_fee_percent="2.9",
)
