"""``WooCommerceConfig``: everything one WooCommerce shop account needs, and nothing else."""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from channelsync.adapters._http import is_loopback_host
from channelsync.core.errors import ConfigError
from channelsync.core.models import currency_code

__all__ = ["API_PATH", "WooCommerceConfig", "is_loopback_host"]

#: Where the REST API v3 lives below the shop's URL.
API_PATH = "/wp-json/wc/v3"


class WooCommerceConfig(BaseModel):
    """One WooCommerce shop, reached over the REST API v3 with a consumer key and secret.

    Create the key in *WooCommerce → Settings → Advanced → REST API* with Read/Write
    permission for a user who can manage WooCommerce (docs/channels/woocommerce.md).

    Attributes:
        account: the merchant's name for this shop (``"woo-main"``).
        url: the shop's address (``https://shop.example.com``, or with the WordPress
            subdirectory); the API is at ``{url}/wp-json/wc/v3``.
        consumer_key: ``ck_...``.
        consumer_secret: ``cs_...``.
        webhook_secret: the secret set on the shop's webhooks (verifies
            ``X-WC-Webhook-Signature``); None refuses every signed delivery.
        previous_webhook_secret: accepted as well while webhooks are being moved to a new
            secret.
        auth_in_query: send the key and secret as ``consumer_key``/``consumer_secret`` query
            parameters instead of HTTP Basic, for servers (some CGI/FastCGI setups) that strip
            the ``Authorization`` header. HTTPS only, like Basic.
        allow_insecure_http: allow a plain ``http://`` URL, and only on a loopback host (the
            sandbox). WooCommerce itself refuses key authentication without TLS.
        currency: the shop's currency (ISO 4217). None reads it once from the shop's
            ``woocommerce_currency`` setting.
        page_size: orders, products and variations per page (WooCommerce allows 1 to 100).
        batch_size: items per batch write (WooCommerce's default limit is 100; a shop that
            answers 413 with a lower limit is remembered automatically).
        requests_per_second: client-side pacing. WooCommerce has no API rate limit of its
            own, but many hosts and firewalls do; None sends as fast as answers come back.
        timeout: seconds per request.
        gateway_refund: ``engine.refund`` asks the order's payment gateway to send the money
            back (WooCommerce's ``api_refund``). Orders paid by a gateway without refunds
            (bank transfer, cash on delivery) then fail with a message saying so: refund
            those by hand and set this to false, which records the refund only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    account: str = Field(min_length=1)
    url: str = Field(min_length=1)
    consumer_key: SecretStr
    consumer_secret: SecretStr
    webhook_secret: SecretStr | None = None
    previous_webhook_secret: SecretStr | None = None
    auth_in_query: bool = False
    allow_insecure_http: bool = False
    currency: str | None = None
    page_size: int = Field(default=100, ge=1, le=100)
    batch_size: int = Field(default=100, ge=1, le=100)
    requests_per_second: float | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    gateway_refund: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http(s) address of the shop, got {value!r}")
        if parts.query or parts.fragment:
            raise ValueError("url must not carry a query or fragment")
        return value.rstrip("/")

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return currency_code(value)

    @model_validator(mode="after")
    def _keys_present(self) -> Self:
        for name in ("consumer_key", "consumer_secret"):
            secret: SecretStr = getattr(self, name)
            if not secret.get_secret_value().strip():
                raise ValueError(f"{name} must not be empty")
        return self

    def api_root(self, base_url: str | None = None) -> str:
        """The REST API root: ``base_url`` when given (a sandbox), else ``{url}/wp-json/wc/v3``.

        Raises ``ConfigError`` when credentials would travel over plain HTTP: that is
        allowed only with ``allow_insecure_http`` and only to a loopback host.
        """
        root = (base_url or self.url).rstrip("/")
        if not root.endswith(API_PATH):
            root += API_PATH
        parts = urlsplit(root)
        if parts.scheme == "http":
            if not self.allow_insecure_http:
                raise ConfigError(
                    f"account {self.account!r}: {parts.scheme}://{parts.hostname} is plain HTTP;"
                    " WooCommerce keys must travel over HTTPS (allow_insecure_http=True is for"
                    " the loopback sandbox only)"
                )
            if not is_loopback_host(parts.hostname):
                raise ConfigError(
                    f"account {self.account!r}: allow_insecure_http is limited to loopback hosts;"
                    f" {parts.hostname!r} is not one"
                )
        return root

    def site_root(self, api_root: str) -> str:
        """``{site}/wp-json``: the root other plugins' routes (Shipment Tracking) hang from."""
        return api_root[: -len("/wc/v3")]
