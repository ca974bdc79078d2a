"""How channelsync finds the Shopify adapter (entry point ``channelsync.adapters``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from channelsync.plugins import AdapterPlugin, DoctorCheck

__all__ = ["PLUGIN", "clock_url", "doctor_checks", "location_checks"]


def clock_url(channel: Any, options: Mapping[str, Any]) -> str | None:
    """The shop's Admin API (its answers carry a ``Date`` header)."""
    cfg = channel.config
    return f"https://{cfg.shop}/admin/api/{cfg.api_version}/shop.json"


def doctor_checks(channel: Any, options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
    """The Admin API version against Shopify's 12 months of support, and the locations
    items are stocked at against the ones the account syncs (``location_checks``)."""
    return [*_version_checks(options, today), *location_checks(channel, options)]


def location_checks(channel: Any, options: Mapping[str, Any]) -> list[DoctorCheck]:
    """Every Shopify location where items are stocked, against what the account syncs.

    ``options["locations"]``: the account's mapping (our name -> Shopify location id), or
    a list of names (pooled, which Shopify cannot do: it keeps a quantity per location).
    Without one the account syncs its default location (``location_id``, else the
    primary). A location with stock that is not synced is a warning (its units are
    neither counted nor kept right); a mapped location the shop does not have fails.
    """
    from channelsync.adapters.shopify.mapping import gid
    from channelsync.core.errors import ChannelError, ConfigError

    try:
        shop = channel.locations()
        default = channel.context().location
    except (ChannelError, ConfigError) as exc:
        return [DoctorCheck("locations", "warn", f"could not read the shop's locations: {exc}")]
    names = {loc.id: loc.name or loc.id for loc in shop}
    mapping = options.get("locations")
    checks: list[DoctorCheck] = []
    if isinstance(mapping, Mapping) and mapping:
        synced: dict[str, str] = {}
        for ours, theirs in mapping.items():
            text = str(theirs).strip()
            if not text.startswith("gid://"):
                checks.append(
                    DoctorCheck(
                        "locations",
                        "warn",
                        f"locations.{ours} = {text!r} is not a location GID",
                        f'write it as "{gid("Location", text)}" (what Shopify reports levels and'
                        " orders by)",
                    )
                )
            synced[gid("Location", text)] = str(ours)
        missing = [f"{ours} ({where})" for where, ours in synced.items() if where not in names]
        if missing:
            checks.append(
                DoctorCheck(
                    "locations",
                    "fail",
                    f"the shop has no active location {', '.join(missing)}",
                    "fix the mapping: ShopifyChannel.locations() lists the shop's "
                    + ", ".join(f"{n} ({i})" for i, n in names.items()),
                )
            )
        scope = "this account's locations mapping"
    else:
        if isinstance(mapping, (list, tuple)) and mapping:
            checks.append(
                DoctorCheck(
                    "locations",
                    "warn",
                    "locations is a list of names, but Shopify keeps a quantity per location",
                    "map each name to its Shopify location: locations = { berlin ="
                    ' "gid://shopify/Location/..." }',
                )
            )
        synced = {default.id: "default"} if default is not None else {}
        scope = (
            f"the account's one synced location ({names.get(default.id, default.id)})"
            if (default is not None)
            else "the account"
        )
    unsynced = [
        f"{loc.name} ({loc.id})"
        for loc in shop
        if loc.has_active_inventory and loc.id not in synced
    ]
    if unsynced:
        checks.append(
            DoctorCheck(
                "locations",
                "warn",
                f"items are stocked at Shopify location(s) {', '.join(unsynced)} that {scope}"
                " leaves out: channelsync neither counts nor sets their stock there",
                "map them in this account's locations (our name = the location GID), or stop"
                " stocking items there in Shopify",
            )
        )
    if not checks:
        checks.append(
            DoctorCheck(
                "locations",
                "ok",
                f"{len(shop)} location(s); stock kept at "
                + ", ".join(f"{names.get(i, i)} ({ours})" for i, ours in synced.items()),
            )
        )
    return checks


def _version_checks(options: Mapping[str, Any], today: date) -> list[DoctorCheck]:
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
