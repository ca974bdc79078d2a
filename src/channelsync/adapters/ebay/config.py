"""``EbayConfig``: everything one eBay seller account needs, and nothing else.

An eBay account is reached through two APIs with one keyset (app id, dev id, cert id):
the Trading API (XML, listings created in Seller Hub or through Trading, orders,
``CompleteSale``) and the Sell REST APIs (Inventory API listings, Fulfillment). The
seller's OAuth user token serves both (Trading takes it in ``X-EBAY-API-IAF-TOKEN``); a
legacy Auth'n'Auth token serves Trading only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from channelsync.core.errors import ConfigError

__all__ = [
    "DEFAULT_SCOPES",
    "IDENTITY_URL",
    "REST_URL",
    "SITES",
    "TRADING_URL",
    "EbayConfig",
    "Site",
]

#: Production endpoints (the sandbox fakes and eBay's own sandbox are passed as base URLs).
TRADING_URL = "https://api.ebay.com/ws/api.dll"
REST_URL = "https://api.ebay.com"
IDENTITY_URL = "https://api.ebay.com"

#: Scopes asked for when a user token is refreshed (a subset of those the seller granted).
DEFAULT_SCOPES: tuple[str, ...] = (
    "https://api.ebay.com/oauth/api_scope",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
)


class Site(BaseModel):
    """One eBay site: the Trading API site id, the REST marketplace id and its currency."""

    model_config = ConfigDict(frozen=True)

    site_id: int
    marketplace_id: str
    currency: str
    name: str


#: The sites sellers list on (Trading ``X-EBAY-API-SITEID`` -> REST marketplace id).
SITES: dict[int, Site] = {
    s.site_id: s
    for s in (
        Site(site_id=0, marketplace_id="EBAY_US", currency="USD", name="United States"),
        Site(site_id=2, marketplace_id="EBAY_CA", currency="CAD", name="Canada (English)"),
        Site(site_id=3, marketplace_id="EBAY_GB", currency="GBP", name="United Kingdom"),
        Site(site_id=15, marketplace_id="EBAY_AU", currency="AUD", name="Australia"),
        Site(site_id=16, marketplace_id="EBAY_AT", currency="EUR", name="Austria"),
        Site(site_id=23, marketplace_id="EBAY_BE", currency="EUR", name="Belgium (French)"),
        Site(site_id=71, marketplace_id="EBAY_FR", currency="EUR", name="France"),
        Site(site_id=77, marketplace_id="EBAY_DE", currency="EUR", name="Germany"),
        Site(site_id=100, marketplace_id="EBAY_MOTORS_US", currency="USD", name="eBay Motors"),
        Site(site_id=101, marketplace_id="EBAY_IT", currency="EUR", name="Italy"),
        Site(site_id=123, marketplace_id="EBAY_BE", currency="EUR", name="Belgium (Dutch)"),
        Site(site_id=146, marketplace_id="EBAY_NL", currency="EUR", name="Netherlands"),
        Site(site_id=186, marketplace_id="EBAY_ES", currency="EUR", name="Spain"),
        Site(site_id=193, marketplace_id="EBAY_CH", currency="CHF", name="Switzerland"),
        Site(site_id=201, marketplace_id="EBAY_HK", currency="HKD", name="Hong Kong"),
        Site(site_id=203, marketplace_id="EBAY_IN", currency="INR", name="India"),
        Site(site_id=205, marketplace_id="EBAY_IE", currency="EUR", name="Ireland"),
        Site(site_id=207, marketplace_id="EBAY_MY", currency="MYR", name="Malaysia"),
        Site(site_id=210, marketplace_id="EBAY_CA", currency="CAD", name="Canada (French)"),
        Site(site_id=211, marketplace_id="EBAY_PH", currency="PHP", name="Philippines"),
        Site(site_id=212, marketplace_id="EBAY_PL", currency="PLN", name="Poland"),
        Site(site_id=216, marketplace_id="EBAY_SG", currency="SGD", name="Singapore"),
    )
}


class EbayConfig(BaseModel):
    """One eBay seller account on one site.

    Attributes:
        account: the merchant's name for this account (``"ebay-de"``).
        site_id: the eBay site (77 Germany, 0 US, 3 UK, ...); sets the Trading
            ``X-EBAY-API-SITEID`` header, the REST marketplace id and the listing currency.
        app_id: the keyset's App ID (the OAuth client id).
        cert_id: the keyset's Cert ID (the OAuth client secret).
        dev_id: the keyset's Dev ID.
        user_token: the seller's OAuth user access token (REST ``Bearer``, Trading
            ``X-EBAY-API-IAF-TOKEN``). It lives two hours; with ``refresh_token`` set a new
            one is fetched when it runs out.
        refresh_token: the seller's OAuth refresh token (18 months), for the
            ``refresh_token`` grant against the identity endpoint.
        auth_token: a legacy Auth'n'Auth token; used for Trading calls when no OAuth token
            is configured (it cannot call the REST APIs, so Inventory API listings are then
            out of reach).
        verification_token: the token entered with the Marketplace Account Deletion
            endpoint in the developer portal (32 to 80 characters).
        deletion_endpoint_url: that endpoint's URL exactly as registered (it is part of the
            challenge response).
        platform_notifications: accept Trading Platform Notifications
            (``FixedPriceTransaction``, ``ItemMarkedShipped``) as webhooks.
        compatibility_level: the Trading API schema version sent with every call.
        scopes: the scopes asked for when refreshing the user token.
        order_window_days: the widest ``ModTimeFrom``/``ModTimeTo`` window per GetOrders
            scan (eBay returns orders of the last 90 days at most).
        mod_time_lag_seconds: how far ``ModTimeTo`` stays behind now; eBay advises a couple
            of minutes so that changes still being replicated are not skipped.
        order_page_size: GetOrders ``EntriesPerPage`` (eBay allows 1 to 100).
        listing_page_size: GetMyeBaySelling ``EntriesPerPage`` (1 to 200) and Inventory
            API ``limit`` (1 to 200).
        quota_timezone: where the daily Trading call quota resets at midnight; after error
            518 no Trading call is sent until then.
        read_concurrency: getOffers calls in flight at once while listings are read (the
            Inventory API answers one SKU per getOffers call).
        timeout: seconds per request.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    account: str = Field(min_length=1)
    site_id: int = 0
    app_id: str = Field(min_length=1)
    cert_id: SecretStr
    dev_id: str = Field(min_length=1)
    user_token: SecretStr | None = None
    refresh_token: SecretStr | None = None
    auth_token: SecretStr | None = None
    verification_token: SecretStr | None = None
    deletion_endpoint_url: str | None = None
    platform_notifications: bool = True
    compatibility_level: int = Field(default=1423, ge=1)
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    order_window_days: int = Field(default=90, ge=1, le=90)
    mod_time_lag_seconds: int = Field(default=120, ge=0, le=3600)
    order_page_size: int = Field(default=100, ge=1, le=100)
    listing_page_size: int = Field(default=200, ge=1, le=200)
    quota_timezone: str = "America/Los_Angeles"
    read_concurrency: int = Field(default=8, ge=1, le=32)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("site_id")
    @classmethod
    def _site(cls, value: int) -> int:
        if value not in SITES:
            known = ", ".join(f"{s.site_id} ({s.name})" for s in SITES.values())
            raise ValueError(f"unknown eBay site id {value}; known: {known}")
        return value

    @field_validator("quota_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("verification_token")
    @classmethod
    def _verification(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not 32 <= len(value.get_secret_value()) <= 80:
            raise ValueError("verification_token must be 32 to 80 characters (eBay's rule)")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if self.user_token is None and self.refresh_token is None and self.auth_token is None:
            raise ValueError(
                "give user_token (and refresh_token) for OAuth, or auth_token for Auth'n'Auth"
            )
        if (self.verification_token is None) != (self.deletion_endpoint_url is None):
            raise ValueError(
                "verification_token and deletion_endpoint_url go together (both are part of"
                " the account deletion challenge response)"
            )
        return self

    @property
    def site(self) -> Site:
        """The eBay site of this account."""
        return SITES[self.site_id]

    @property
    def marketplace_id(self) -> str:
        """The REST marketplace id (``EBAY_DE``)."""
        return self.site.marketplace_id

    @property
    def currency(self) -> str:
        """The site's listing currency."""
        return self.site.currency

    @property
    def has_oauth(self) -> bool:
        """Whether an OAuth user token is (or can be) available: needed for the REST APIs."""
        return self.user_token is not None or self.refresh_token is not None

    def require_oauth(self, what: str) -> None:
        """Raise ``ConfigError`` when ``what`` needs an OAuth token and none is configured."""
        if not self.has_oauth:
            raise ConfigError(
                f"{self.account}: {what} needs an OAuth user token (user_token or"
                " refresh_token); an Auth'n'Auth token only reaches the Trading API"
            )

    def next_quota_reset(self, now: datetime) -> datetime:
        """The next midnight in ``quota_timezone`` after ``now`` (aware), as UTC."""
        zone = ZoneInfo(self.quota_timezone)
        local = now.astimezone(zone)
        midnight = datetime(local.year, local.month, local.day, tzinfo=zone) + timedelta(days=1)
        return midnight.astimezone(UTC)
