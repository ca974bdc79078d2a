"""``AmazonConfig``: one seller account on one SP-API region, and the marketplaces it sells on.

The marketplace table is our own (not the SDK's ``Marketplaces`` enum, whose hosts switch
to the SP-API sandbox when an ``AWS_ENV`` environment variable says so at import time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = [
    "DEFAULT_INCLUDED_DATA",
    "ENDPOINTS",
    "LWA_TOKEN_URL",
    "MARKETPLACES",
    "AmazonConfig",
    "Marketplace",
    "Region",
]

Region = Literal["na", "eu", "fe"]

#: The SP-API host of each region.
ENDPOINTS: dict[str, str] = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}

#: Login with Amazon's token endpoint (the refresh-token grant).
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 - a URL


@dataclass(frozen=True)
class Marketplace:
    """One Amazon marketplace: its id, country, currency and SP-API region."""

    marketplace_id: str
    country: str
    currency: str
    region: Region
    locale: str


MARKETPLACES: dict[str, Marketplace] = {
    m.marketplace_id: m
    for m in (
        Marketplace("ATVPDKIKX0DER", "US", "USD", "na", "en_US"),
        Marketplace("A2EUQ1WTGCTBG2", "CA", "CAD", "na", "en_CA"),
        Marketplace("A1AM78C64UM0Y8", "MX", "MXN", "na", "es_MX"),
        Marketplace("A2Q3Y263D00KWC", "BR", "BRL", "na", "pt_BR"),
        Marketplace("A1RKKUPIHCS9HS", "ES", "EUR", "eu", "es_ES"),
        Marketplace("A1F83G8C2ARO7P", "GB", "GBP", "eu", "en_GB"),
        Marketplace("A13V1IB3VIYZZH", "FR", "EUR", "eu", "fr_FR"),
        Marketplace("AMEN7PMS3EDWL", "BE", "EUR", "eu", "fr_BE"),
        Marketplace("A1805IZSGTT6HS", "NL", "EUR", "eu", "nl_NL"),
        Marketplace("A1PA6795UKMFR9", "DE", "EUR", "eu", "de_DE"),
        Marketplace("APJ6JRA9NG5V4", "IT", "EUR", "eu", "it_IT"),
        Marketplace("A2NODRKZP88ZB9", "SE", "SEK", "eu", "sv_SE"),
        Marketplace("AE08WJ6YKNBMC", "ZA", "ZAR", "eu", "en_ZA"),
        Marketplace("A1C3SOZRARQ6R3", "PL", "PLN", "eu", "pl_PL"),
        Marketplace("ARBP9OOSHTCHU", "EG", "EGP", "eu", "ar_EG"),
        Marketplace("A33AVAJ2PDY3EV", "TR", "TRY", "eu", "tr_TR"),
        Marketplace("A17E79C6D8DWNP", "SA", "SAR", "eu", "ar_SA"),
        Marketplace("A2VIGQ35RCS4UG", "AE", "AED", "eu", "en_AE"),
        Marketplace("A21TJRUUN4KGV", "IN", "INR", "eu", "en_IN"),
        Marketplace("A28R8C7NBKEWEA", "IE", "EUR", "eu", "en_IE"),
        Marketplace("A19VAU5U5O7RUS", "SG", "SGD", "fe", "en_SG"),
        Marketplace("A39IBJ37TRP1C6", "AU", "AUD", "fe", "en_AU"),
        Marketplace("A1VC38T7YXB528", "JP", "JPY", "fe", "ja_JP"),
    )
}

#: Orders API datasets read by default. ``BUYER`` and ``RECIPIENT`` need the restricted
#: (PII) roles; without them Amazon leaves those fields out and the orders still map.
DEFAULT_INCLUDED_DATA: tuple[str, ...] = (
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
)
_ORDER_DATASETS = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)


class AmazonConfig(BaseModel):
    """One Amazon seller account (one region, one or more marketplaces).

    Attributes:
        account: the merchant's name for this account (``"amazon-eu"``).
        seller_id: the merchant token (Seller Central → Settings → Merchant Token).
        marketplace_ids: the marketplaces this account syncs, all in ``region``
            (``["A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4"]`` for DE, FR, IT).
            The first one is the primary: listing titles and prices are read from it.
        region: ``"na"``, ``"eu"`` or ``"fe"``.
        lwa_client_id: the LWA client id of the developer's app.
        lwa_client_secret: its LWA client secret.
        refresh_token: the refresh token the seller's authorisation of the app produced.
        included_data: Orders API datasets to read (``FULFILLMENT`` is always added: the
            fulfillment status lives there).
        stock_patch_op: ``"merge"`` keeps the listing's other fulfillment fields
            (handling time, restock date); ``"replace"`` rewrites the attribute.
        feed_poll_interval: seconds between ``getFeed`` polls while a feed processes.
        feed_timeout: seconds after which a feed still processing is given up on
            (``Unavailable``; the feed may still apply later, the push is repeated).
        feed_processing_estimate: how long a ``JSON_LISTINGS_FEED`` usually takes to
            process, in seconds: the route planner compares it with the patch route.
        write_settle_seconds: how long Amazon takes to apply an accepted listing patch or
            feed, in seconds (minutes, in practice): until then a read of the listing shows
            the old value and is never taken as what the listing shows.
        order_search_lag_seconds: how long a changed order takes to show in searchOrders
            (Amazon: ``lastUpdatedBefore`` must be two minutes in the past); the engine
            re-reads at least this far behind its cursor.
        notifications_queue_url: the SQS queue ORDER_CHANGE notifications of this seller
            arrive on (``channelsync worker`` reads it; None: orders are polled only).
        notifications_region: the queue's AWS region (default: read from its URL).
        notifications_endpoint_url: another SQS endpoint (the sandbox's local SQS).
        aws_access_key_id: the AWS key reading the queue (default: boto3's usual chain).
        aws_secret_access_key: its secret.
        order_feed_wait: seconds a cancellation or refund waits for its order feed's
            processing report; after that it stays pending (``channelsync orders settle``
            reads the report later). 0 answers pending at once.
        timeout: seconds per HTTP request.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    account: str = Field(min_length=1)
    seller_id: str = Field(min_length=1)
    marketplace_ids: tuple[str, ...] = Field(min_length=1)
    region: Region = "eu"
    lwa_client_id: str = Field(min_length=1)
    lwa_client_secret: SecretStr
    refresh_token: SecretStr
    included_data: tuple[str, ...] = DEFAULT_INCLUDED_DATA
    stock_patch_op: Literal["merge", "replace"] = "merge"
    feed_poll_interval: float = Field(default=30.0, gt=0)
    feed_timeout: float = Field(default=3600.0, gt=0)
    feed_processing_estimate: float = Field(default=300.0, gt=0)
    write_settle_seconds: float = Field(default=900.0, ge=0)
    order_search_lag_seconds: float = Field(default=120.0, ge=0)
    notifications_queue_url: str | None = None
    notifications_region: str | None = None
    notifications_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: SecretStr | None = None
    order_feed_wait: float = Field(default=120.0, ge=0)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("marketplace_ids", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("lwa_client_secret", "refresh_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("included_data")
    @classmethod
    def _datasets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [v for v in value if v not in _ORDER_DATASETS]
        if unknown:
            raise ValueError(f"unknown Orders API dataset(s): {', '.join(unknown)}")
        return value if "FULFILLMENT" in value else (*value, "FULFILLMENT")

    @model_validator(mode="after")
    def _marketplaces_in_region(self) -> AmazonConfig:
        if len(set(self.marketplace_ids)) != len(self.marketplace_ids):
            raise ValueError("marketplace_ids has duplicates")
        for mid in self.marketplace_ids:
            market = MARKETPLACES.get(mid)
            if market is None:
                raise ValueError(f"unknown marketplace id {mid!r}")
            if market.region != self.region:
                raise ValueError(
                    f"marketplace {mid} ({market.country}) is in region {market.region!r},"
                    f" not {self.region!r}: one AmazonConfig per region"
                )
        return self

    @property
    def primary_marketplace(self) -> Marketplace:
        """The first marketplace: titles and prices are read from it."""
        return MARKETPLACES[self.marketplace_ids[0]]

    @property
    def endpoint(self) -> str:
        """The SP-API host of the region."""
        return ENDPOINTS[self.region]

    def currency_of(self, marketplace_id: str) -> str | None:
        """The currency a marketplace sells in."""
        market = MARKETPLACES.get(marketplace_id)
        return market.currency if market else None
