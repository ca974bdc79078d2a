"""How channelsync finds the eBay adapter (entry point ``channelsync.adapters``).

Importing this module does not import ebaysdk: the ``channelsync[ebay]`` extra is needed only
once an eBay account is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from channelsync.plugins import AdapterPlugin, DoctorCheck

__all__ = ["PLUGIN", "clock_url", "doctor_checks", "location_checks"]


def clock_url(channel: Any, options: Mapping[str, Any]) -> str | None:
    """The Trading API endpoint."""
    return "https://api.ebay.com/ws/api.dll"


def doctor_checks(channel: Any, options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
    """The Trading API compatibility level in use, and (for an account mapped to merchant
    locations) the mapping against the seller's merchant locations (``location_checks``)."""
    from channelsync.adapters.ebay.config import EbayConfig

    level = options.get("compatibility_level") or (
        EbayConfig.model_fields["compatibility_level"].default
    )
    checks = [
        DoctorCheck(
            "API version", "ok", f"Trading API compatibility level {level}; Inventory API v1"
        )
    ]
    if isinstance(options.get("locations"), Mapping):
        checks.extend(location_checks(channel, options))
    return checks


def location_checks(channel: Any, options: Mapping[str, Any]) -> list[DoctorCheck]:
    """An account's ``locations`` mapping against the seller's merchant locations.

    ``options["locations"]``: our name -> merchant location key (Inventory API listings
    keep a quantity per key), or a list of names (one pooled quantity: nothing to check).
    A mapped key eBay does not have, or has DISABLED (eBay refuses inventory there), fails;
    an enabled location the mapping leaves out is a warning: units stocked there are
    neither counted nor kept right (``listings import`` names the ones with stock).
    """
    from channelsync.core.errors import ChannelError, ConfigError

    mapping = options.get("locations")
    if not isinstance(mapping, Mapping) or not mapping:
        return [
            DoctorCheck(
                "locations",
                "ok",
                "one pooled quantity per listing (no merchant locations mapped)",
            )
        ]
    try:
        found = channel.locations()
    except (ChannelError, ConfigError) as exc:
        return [DoctorCheck("locations", "warn", f"could not read the merchant locations: {exc}")]
    known = {loc.merchantLocationKey: loc for loc in found if loc.merchantLocationKey}
    mapped = {str(key): str(ours) for ours, key in mapping.items()}
    checks: list[DoctorCheck] = []
    missing = [f"{ours} ({key})" for key, ours in mapped.items() if key not in known]
    if missing:
        checks.append(
            DoctorCheck(
                "locations",
                "fail",
                f"eBay has no merchant location {', '.join(missing)}",
                "fix the mapping: the seller's merchant location keys are "
                + (", ".join(sorted(known)) or "none (createInventoryLocation first)"),
            )
        )
    disabled = [
        f"{ours} ({key})"
        for key, ours in mapped.items()
        if key in known and known[key].merchantLocationStatus == "DISABLED"
    ]
    if disabled:
        checks.append(
            DoctorCheck(
                "locations",
                "fail",
                f"merchant location(s) {', '.join(disabled)} are DISABLED: eBay refuses"
                " inventory there",
                "enable them in Seller Hub (enableInventoryLocation) or drop them from the mapping",
            )
        )
    left_out = [
        f"{key} ({loc.name})" if loc.name and loc.name != key else key
        for key, loc in known.items()
        if key not in mapped and loc.merchantLocationStatus != "DISABLED"
    ]
    if left_out:
        checks.append(
            DoctorCheck(
                "locations",
                "warn",
                f"merchant location(s) {', '.join(left_out)} are not in this account's"
                " locations mapping: stock eBay holds there is neither counted nor kept right",
                "map them (our name = the merchant location key), or keep no stock there;"
                " `channelsync listings import` names the keys items are stocked at",
            )
        )
    if not checks:
        checks.append(
            DoctorCheck(
                "locations",
                "ok",
                f"{len(known)} merchant location(s); stock kept per location at "
                + ", ".join(f"{key} ({ours})" for key, ours in mapped.items()),
            )
        )
    return checks


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
