"""``ShopifyConfig``: everything one Shopify shop account needs, and the pinned API version."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["API_VERSION", "ShopifyConfig", "version_at_least"]

#: The Admin GraphQL API version channelsync speaks (the one place it is pinned).
#: Shopify releases a version each quarter and supports each for a year.
API_VERSION = "2026-10"

_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")


def version_at_least(version: str, floor: str) -> bool:
    """Whether API ``version`` (``"2026-10"``) is ``floor`` or newer (``"unstable"`` is newest)."""
    if version == "unstable":
        return True
    return version >= floor


class ShopifyConfig(BaseModel):
    """One Shopify shop, as a custom app installed on it sees it.

    Attributes:
        account: the merchant's name for this account (``"shopify-main"``).
        shop: the shop's permanent ``*.myshopify.com`` domain.
        access_token: the Admin API access token (``shpat_...``) of the app.
        webhook_secret: the app's client secret, which signs webhook deliveries.
        previous_webhook_secret: the secret before a rotation, accepted until it is removed.
        location_id: the account's default location (a GID or the numeric id): the one a
            stock update without a location sets, and ``Listing.quantity``; ``None`` means
            the shop's primary location. Per-location sync names its locations in the
            engine's ``locations`` mapping instead.
        activate_locations: stock an item at a location where it is not stocked yet
            (``inventoryActivate``) when channelsync sets a quantity above 0 there; off,
            such an update fails saying how to stock the item there.
        api_version: the Admin API version; defaults to ``API_VERSION``.
        timeout: seconds per HTTP request.
        inventory_reason: the ``reason`` recorded on Shopify's inventory history.
        reference_document_uri: the ``referenceDocumentUri`` recorded with every stock write.
        notify_customer: send Shopify's shipping confirmation email on fulfillments.
        cancel_restock: let Shopify restock units of orders channelsync cancels (off: the
            engine owns ``available`` and pushes it itself).
        cancel_refund: refund the original payment methods when cancelling.
        cancel_timeout: the longest wait, in seconds, for Shopify's asynchronous cancel job.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(min_length=1)
    shop: str
    access_token: SecretStr
    webhook_secret: SecretStr | None = None
    previous_webhook_secret: SecretStr | None = None
    location_id: str | None = None
    activate_locations: bool = False
    api_version: str = API_VERSION
    timeout: float = Field(default=30.0, gt=0)
    inventory_reason: str = "correction"
    reference_document_uri: str = "gid://channelsync/StockSync/push"
    notify_customer: bool = False
    cancel_restock: bool = False
    cancel_refund: bool = False
    cancel_timeout: float = Field(default=30.0, gt=0)

    @field_validator("shop")
    @classmethod
    def _shop_domain(cls, value: str) -> str:
        shop = value.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
        if not _SHOP.match(shop):
            raise ValueError(
                f"shop must be the permanent *.myshopify.com domain, got {value!r}"
                " (a custom domain will not do: the Admin API lives on myshopify.com)"
            )
        return shop

    @field_validator("api_version")
    @classmethod
    def _api_version(cls, value: str) -> str:
        if value != "unstable" and not _VERSION.match(value):
            raise ValueError(
                f"api_version must look like '2026-10' or be 'unstable', got {value!r}"
            )
        return value

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("access_token is empty")
        return value

    @property
    def cas_field(self) -> str:
        """The compare-and-swap field of ``InventoryQuantityInput`` on this API version.

        ``changeFromQuantity`` arrived in 2026-01 and is mandatory (null opts out) from
        2026-04, when ``compareQuantity`` and ``ignoreCompareQuantity`` were removed.
        """
        if version_at_least(self.api_version, "2026-01"):
            return "changeFromQuantity"
        return "compareQuantity"

    @property
    def needs_idempotency_key(self) -> bool:
        """Inventory mutations require ``@idempotent(key:)`` from 2026-04 (optional in 2026-01)."""
        return version_at_least(self.api_version, "2026-01")
