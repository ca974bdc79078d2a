"""How channelsync finds the WooCommerce adapter (entry point ``channelsync.adapters``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from channelsync.plugins import AdapterPlugin, DoctorCheck

__all__ = ["PLUGIN", "clock_url", "doctor_checks"]


def clock_url(channel: Any, options: Mapping[str, Any]) -> str | None:
    """The WordPress REST index of the shop."""
    return f"{str(channel.config.url).rstrip('/')}/wp-json/"


def doctor_checks(channel: Any, options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
    """The REST API version channelsync speaks."""
    return [DoctorCheck("API version", "ok", "WooCommerce REST API v3 (wc/v3)")]


PLUGIN = AdapterPlugin(
    kind="woocommerce",
    title="WooCommerce",
    config="channelsync.adapters.woocommerce.config:WooCommerceConfig",
    channel="channelsync.adapters.woocommerce.channel:WooCommerceChannel",
    fake="channelsync.sandbox.woocommerce:WooCommerceFake",
    sandbox_account="channelsync.sandbox.woocommerce._account:sandbox_account",
    doctor="channelsync.adapters.woocommerce._plugin:doctor_checks",
    clock_url="channelsync.adapters.woocommerce._plugin:clock_url",
    permissions="create the REST API key with Read/Write permission"
    " (WooCommerce > Settings > Advanced > REST API) for a user who can manage the shop",
    webhooks=True,
    demo_account="woo-main",
    demo_traffic=0.18,
    demo_fee_percent="1.5",
)
