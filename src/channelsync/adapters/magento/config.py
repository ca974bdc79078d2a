"""``MagentoConfig``: everything one Magento 2 / Adobe Commerce store needs, and nothing else."""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from channelsync.adapters._http import is_loopback_host
from channelsync.core.errors import ConfigError
from channelsync.core.models import currency_code

__all__ = ["DEFAULT_LOCATION", "REST_PATH", "MagentoConfig"]

#: Where the REST API lives below the store's base URL.
REST_PATH = "/rest"
#: The channelsync location a channel without per-location stock pushes from.
DEFAULT_LOCATION = "default"

AuthMode = Literal["auto", "oauth1", "bearer"]
InventoryMode = Literal["auto", "msi", "legacy"]
BulkMode = Literal["auto", "always", "never"]


class MagentoConfig(BaseModel):
    """One Magento 2 (Magento Open Source, Adobe Commerce on premises or on cloud) store.

    Create an integration in *System → Extensions → Integrations* with the resources listed
    in docs/channels/magento.md, activate it, and copy its four credentials.

    Attributes:
        account: the merchant's name for this store (``"magento-main"``).
        url: the store's base URL (``https://shop.example.com``); the REST API is at
            ``{url}/rest``.
        store_code: the store view reads go through (``/rest/{store_code}/V1/...``). Writes of
            global values (stock, base prices) go through ``/rest/all``.
        access_token: the integration's access token.
        consumer_key, consumer_secret, access_token_secret: the integration's OAuth 1.0a
            credentials. With them every request is signed (what Magento 2.4.4 and later
            require unless *Allow OAuth Access Tokens to be used as standalone Bearer tokens*
            is Yes); without them the access token is sent as a Bearer token.
        auth: ``auto`` (sign when the OAuth credentials are given, else Bearer), ``oauth1``
            or ``bearer``.
        signature_method: ``HMAC-SHA256`` (every 2.4 release accepts it) or ``HMAC-SHA1``.
        inventory: ``msi`` writes Multi-Source Inventory source items
            (``POST /V1/inventory/source-items``, many per call), ``legacy`` the single-source
            stock item of each product (``PUT /V1/products/{sku}/stockItems/{id}``, one per
            call: for stores that run without the Inventory modules); ``auto`` asks the store
            once which it has.
        sources: channelsync location name -> Magento source code. The default location
            (``"default"``, else the first one listed) is what a push without a location
            writes and what an import reads.
        currency: the store's base currency (ISO 4217); None takes it from each order's
            ``base_currency_code`` and, for prices, from ``GET /V1/directory/currency``.
        page_size: items per search page (Magento's *Maximum Page Size* is 300 when input
            limits are on; a store that answers with a lower limit is remembered).
        batch_size: items per synchronous stock or price write. 20 is Magento's *Input List
            Limit* default when input limits are on; a store without limits may take more,
            and one that answers with a lower limit is remembered.
        bulk: write stock through the asynchronous bulk API (``POST
            /rest/all/async/bulk/V1/inventory/source-items``): ``auto`` when a push needs more
            than ``bulk_min_calls`` synchronous calls, ``always``, or ``never``. It needs the
            store's ``async.operations.all`` consumer running; channelsync reads each
            operation's status back and falls back to synchronous writes when a bulk stays
            open past ``bulk_timeout``.
        bulk_min_calls: the synchronous calls a push must need before ``auto`` goes async.
        bulk_batch_size: source items per operation of a bulk request (Magento's asynchronous
            input limit is 5,000).
        bulk_poll_interval: seconds between reads of a bulk's status.
        bulk_timeout: seconds to wait for a bulk's operations to finish.
        order_window_seconds: every order search re-reads this far before the time asked
            for: Magento stamps ``updated_at`` when it saves, before the transaction commits.
        compensate_reservations: MSI stores only. Magento shows buyers the source quantity
            minus a reservation for every unit on its own unshipped orders, while
            channelsync's figure already leaves those units out. With this on, each push
            adds the units of Magento's open orders that channelsync has already read
            (``updated_at`` up to the newest order ``fetch_orders`` returned), so buyers see
            exactly channelsync's figure; orders not read yet stay reserved (never shown
            twice). Off, Magento shows less than channelsync's figure until its orders ship.
        requests_per_second: client-side pacing; Magento has no API rate limit of its own,
            but hosts, Fastly (Adobe Commerce on cloud) and WAFs do. None: no pacing.
        allow_insecure_http: allow ``http://`` on a loopback host (the sandbox).
        timeout: seconds per request.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    account: str = Field(min_length=1)
    url: str = Field(min_length=1)
    store_code: str = Field(default="default", pattern=r"^[a-z][a-z0-9_]*$")
    access_token: SecretStr
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    auth: AuthMode = "auto"
    signature_method: Literal["HMAC-SHA256", "HMAC-SHA1"] = "HMAC-SHA256"
    inventory: InventoryMode = "auto"
    sources: dict[str, str] = Field(default_factory=lambda: {DEFAULT_LOCATION: "default"})
    currency: str | None = None
    page_size: int = Field(default=100, ge=1, le=300)
    batch_size: int = Field(default=20, ge=1, le=5000)
    bulk: BulkMode = "auto"
    bulk_min_calls: int = Field(default=4, ge=1)
    bulk_batch_size: int = Field(default=5000, ge=1, le=5000)
    bulk_poll_interval: float = Field(default=1.0, gt=0)
    bulk_timeout: float = Field(default=120.0, gt=0)
    order_window_seconds: int = Field(default=60, ge=0, le=86_400)
    compensate_reservations: bool = True
    requests_per_second: float | None = Field(default=None, gt=0)
    allow_insecure_http: bool = False
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http(s) address of the store, got {value!r}")
        if parts.query or parts.fragment:
            raise ValueError("url must not carry a query or fragment")
        return value.rstrip("/")

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return currency_code(value)

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("sources must map at least one location to a source code")
        for location, code in value.items():
            if not location.strip() or not code.strip():
                raise ValueError("sources: location names and source codes must not be empty")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        if not self.access_token.get_secret_value().strip():
            raise ValueError("access_token must not be empty")
        oauth = (self.consumer_key, self.consumer_secret, self.access_token_secret)
        given = [s is not None and bool(s.get_secret_value().strip()) for s in oauth]
        if any(given) and not all(given):
            raise ValueError(
                "OAuth 1.0a signing needs consumer_key, consumer_secret and access_token_secret"
                " together (give all three, or none to send the access token as a Bearer token)"
            )
        if self.auth == "oauth1" and not all(given):
            raise ValueError(
                "auth = 'oauth1' needs consumer_key, consumer_secret and access_token_secret"
            )
        return self

    @property
    def signs_requests(self) -> bool:
        """Whether requests are signed with OAuth 1.0a (else the token goes as Bearer)."""
        if self.auth == "bearer":
            return False
        return self.consumer_key is not None and self.access_token_secret is not None

    def source_code(self, location: str | None = None) -> str:
        """The Magento source code a push goes to: ``location`` itself where it is one of
        the configured source codes (the engine hands the channel's own location id, from
        the account's ``locations`` mapping), else the source of that channelsync location
        name (the default location's when None).

        Raises ``ConfigError`` naming the known locations when ``location`` has no source.
        """
        if location is not None and location in self.sources.values():
            return location
        if location is None and DEFAULT_LOCATION not in self.sources:
            return next(iter(self.sources.values()))  # the first source is the default one
        name = location or DEFAULT_LOCATION
        try:
            return self.sources[name]
        except KeyError:
            raise ConfigError(
                f"account {self.account!r}: no Magento source for location {name!r}"
                f" (sources: {', '.join(f'{k}={v}' for k, v in self.sources.items())})"
            ) from None

    def rest_root(self, base_url: str | None = None) -> str:
        """``{url}/rest`` (or ``{base_url}/rest``: a sandbox), refusing plain HTTP off loopback."""
        root = (base_url or self.url).rstrip("/")
        if root.endswith(REST_PATH):
            root = root[: -len(REST_PATH)]
        parts = urlsplit(root)
        if parts.scheme == "http":
            if not self.allow_insecure_http:
                raise ConfigError(
                    f"account {self.account!r}: {parts.scheme}://{parts.hostname} is plain HTTP;"
                    " the integration's token must travel over HTTPS (allow_insecure_http=True is"
                    " for the loopback sandbox only)"
                )
            if not is_loopback_host(parts.hostname):
                raise ConfigError(
                    f"account {self.account!r}: allow_insecure_http is limited to loopback hosts;"
                    f" {parts.hostname!r} is not one"
                )
        return root + REST_PATH
