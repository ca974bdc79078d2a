"""How channelsync finds the Magento adapter (entry point ``channelsync.adapters``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from channelsync.plugins import AdapterPlugin, DoctorCheck

__all__ = ["PLUGIN", "clock_url", "doctor_checks"]


def clock_url(channel: Any, options: Mapping[str, Any]) -> str | None:
    """The store's REST root (its answers carry a ``Date`` header)."""
    return f"{str(channel.config.url).rstrip('/')}/rest/V1/store/storeConfigs"


def doctor_checks(channel: Any, options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
    """How requests are authenticated and which inventory the store runs."""
    checks = [
        DoctorCheck(
            "authentication",
            "ok" if channel.config.signs_requests else "warn",
            "OAuth 1.0a signed requests"
            if channel.config.signs_requests
            else "the access token is sent as a Bearer token",
            None
            if channel.config.signs_requests
            else "Magento 2.4.4 and later refuse integration tokens as Bearer tokens unless"
            " 'Allow OAuth Access Tokens to be used as standalone Bearer tokens' is Yes; give"
            " consumer_key, consumer_secret and access_token_secret to sign instead",
        )
    ]
    try:
        mode = channel.inventory_mode()
    except Exception as exc:  # a doctor reports, it does not stop
        checks.append(DoctorCheck("inventory", "fail", f"{type(exc).__name__}: {exc}"))
        return checks
    sources = ", ".join(f"{k} -> {v}" for k, v in channel.config.sources.items())
    detail = (
        f"Multi-Source Inventory, sources {sources}"
        if mode == "msi"
        else "single-source stock items (no Inventory modules)"
    )
    checks.append(DoctorCheck("inventory", "ok", detail))
    return checks


PLUGIN = AdapterPlugin(
    kind="magento",
    title="Magento 2 / Adobe Commerce",
    config="channelsync.adapters.magento.config:MagentoConfig",
    channel="channelsync.adapters.magento.channel:MagentoChannel",
    fake="channelsync.sandbox.magento:MagentoFake",
    sandbox_account="channelsync.sandbox.magento._account:sandbox_account",
    doctor="channelsync.adapters.magento._plugin:doctor_checks",
    clock_url="channelsync.adapters.magento._plugin:clock_url",
    permissions="give the integration the resources Catalog > Inventory > Products,"
    " Stores > Inventory > Sources (Multi-Source Inventory), Sales > Operations > Orders"
    " (with Actions: Cancel, Ship, Credit Memos, Comment), System > Action Logs > Bulk Actions,"
    " and Stores > Settings > Configuration read access; then re-activate it",
    demo_account="magento-main",
    demo_traffic=0.12,
    demo_fee_percent="2",
)
